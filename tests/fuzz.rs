//! Malformed and random input, part (e) of the fault suite:
//! - every decode path in the process: valid requests of each kind, encoded
//!   and then mutated (bit flips, random bytes, cuts, splices, repeats),
//!   decoded by prost and, when that succeeds, converted and validated the
//!   way the handlers do (conversions, limits, masking), and the robot's
//!   JSON Lines format decoded by serde;
//! - the gRPC port itself: mutated messages to every unary rpc with a token
//!   of the role it wants, and random bytes (with and without the HTTP/2
//!   preface) on raw connections.
//!
//! Nothing may panic; no malformed request may be answered INTERNAL or
//! UNKNOWN (those mean a bug, not bad input); the server must still answer
//! afterwards. Random but reproducible (`FUNNEL_FUZZ_SEED`, default 1);
//! `FUNNEL_FUZZ_CASES` (default 1,000,000) sets the in-process cases and a
//! fiftieth of it the gRPC requests.

mod common;

use bytes::{Buf, BufMut};
use common::stack::*;
use funnel::api::convert::{interaction_from_pb, manager_from_pb, manager_to_pb};
use funnel::api::pb;
use funnel::domain::limits::Limits;
use funnel::domain::pii::{Masker, PrivacyConfig};
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

fn cases() -> u64 {
    std::env::var("FUNNEL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn rng() -> StdRng {
    let seed = std::env::var("FUNNEL_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    StdRng::seed_from_u64(seed)
}

/// Panics on the in-process server's threads (a handler's panic would be
/// caught by the runtime and only logged) are counted here.
fn server_panics() -> &'static AtomicU64 {
    static N: AtomicU64 = AtomicU64::new(0);
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let server = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("funnel-server"));
            if server {
                N.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
    &N
}

/// One random change (or a few) to an encoded message.
fn mutate(seed: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..rng.random_range(1..=2) {
        let len = b.len();
        match rng.random_range(0..7) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                b[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                b[i] = rng.random();
            }
            2 => {
                let i = rng.random_range(0..=len);
                let junk: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
                b.splice(i..i, junk);
            }
            3 if len > 0 => {
                let i = rng.random_range(0..len);
                let j = rng.random_range(i..=len.min(i + 32));
                b.drain(i..j);
            }
            4 => b.truncate(rng.random_range(0..=len)),
            5 if len > 0 => {
                // A chunk repeated: fields given twice, nested messages grown.
                let i = rng.random_range(0..len);
                let j = rng.random_range(i..=len.min(i + 64));
                let chunk = b[i..j].to_vec();
                let at = rng.random_range(0..=b.len());
                b.splice(at..at, chunk);
            }
            _ => {
                // A varint forced large (lengths, enums, numbers).
                let i = rng.random_range(0..=len);
                b.splice(i..i, [0xff, 0xff, 0xff, 0xff, 0x0f]);
            }
        }
    }
    b
}

fn seed_interaction() -> pb::SubmitInteractionRequest {
    let mut call = calls_of("east-sh-pudong", 1, "fuzz").remove(0);
    // Personal data, so that masking runs on every case too.
    if let Some(t) = call.turns.first_mut() {
        t.text
            .push_str(" 我的手机是13812345678，身份证110101199003071234");
    }
    pb::SubmitInteractionRequest {
        interaction: Some(call),
    }
}

fn seed_manager() -> pb::UpsertManagerRequest {
    let roster = team("east", "east-sh-pudong");
    pb::UpsertManagerRequest {
        manager: Some(manager_to_pb(&roster.managers[0])),
    }
}

/// The in-process decode paths, `cases()` times in all.
#[test]
fn every_decode_path_survives_mutated_input() {
    // A panic here fails this test by itself.
    let mut rng = rng();
    let masker = Masker::new(&PrivacyConfig::default()).unwrap();
    let limits = Limits::default();
    let interaction = seed_interaction().encode_to_vec();
    let manager = seed_manager().encode_to_vec();
    let json =
        serde_json::to_vec(&interaction_from_pb(seed_interaction().interaction.unwrap()).unwrap())
            .unwrap();
    let complete = pb::CompleteLeadRequest {
        lead_id: "east.0123456789abcdef".into(),
        lease_id: "l-1".into(),
        outcome: pb::Outcome::CallBack as i32,
        callback_at: Some(prost_types::Timestamp {
            seconds: 1_800_000_000,
            nanos: 0,
        }),
        note: "after 3 pm".into(),
    }
    .encode_to_vec();
    let (mut decoded, mut converted) = (0u64, 0u64);
    for n in 0..cases() {
        match n % 4 {
            0 => {
                let bytes = mutate(&interaction, &mut rng);
                if let Ok(req) = pb::SubmitInteractionRequest::decode(bytes.as_slice()) {
                    decoded += 1;
                    if let Some(Ok(mut i)) = req.interaction.map(interaction_from_pb) {
                        converted += 1;
                        masker.mask_interaction(&mut i);
                        let _ = limits.admit(&mut i);
                    }
                }
            }
            1 => {
                let bytes = mutate(&manager, &mut rng);
                if let Ok(req) = pb::UpsertManagerRequest::decode(bytes.as_slice()) {
                    decoded += 1;
                    if let Some(Ok(_)) = req.manager.map(manager_from_pb) {
                        converted += 1;
                    }
                }
            }
            2 => {
                let bytes = mutate(&complete, &mut rng);
                if let Ok(req) = pb::CompleteLeadRequest::decode(bytes.as_slice()) {
                    decoded += 1;
                    let ok = funnel::api::convert::lead_id(&req.lead_id).is_ok()
                        && funnel::api::convert::remote_outcome_from_pb(req.outcome).is_ok();
                    converted += u64::from(ok);
                    let _ = limits.check_note("note", &req.note);
                    let _ = masker.mask(&req.note);
                }
            }
            _ => {
                let bytes = mutate(&json, &mut rng);
                if let Ok(mut i) = serde_json::from_slice::<funnel::domain::Interaction>(&bytes) {
                    decoded += 1;
                    converted += 1;
                    masker.mask_interaction(&mut i);
                    let _ = limits.admit(&mut i);
                }
            }
        }
    }
    println!(
        "{} mutated inputs: {decoded} decoded, {converted} passed conversion and validation",
        cases()
    );
    // The mutations must reach past the decoders, or the test proves little.
    assert!(
        converted > cases() / 50,
        "only {converted} inputs got past decoding"
    );
}

/// Raw bytes in, raw bytes out: a gRPC call with any payload.
#[derive(Clone, Default)]
struct Raw;

impl tonic::codec::Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl tonic::codec::Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// The gRPC port under random input; the server still answers after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_port_survives_random_requests_and_bytes() {
    let panics = server_panics();
    let s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("east", "east-sh-pudong").await;
    let mut rng = rng();
    // Every unary rpc, a valid-ish message to start from, and who may call it.
    let seeds: Vec<(&str, Vec<u8>, usize)> = vec![
        (
            "/funnel.v1.IntakeService/SubmitInteraction",
            seed_interaction().encode_to_vec(),
            ROBOT,
        ),
        (
            "/funnel.v1.AdminService/UpsertManager",
            seed_manager().encode_to_vec(),
            ADMIN,
        ),
        (
            "/funnel.v1.AdminService/SetAvailability",
            vec![0x0a, 0x02, b'r', b'1', 0x10, 0x01],
            ADMIN,
        ),
        (
            "/funnel.v1.AdminService/GetManager",
            vec![0x0a, 0x02, b'r', b'1'],
            ADMIN,
        ),
        (
            "/funnel.v1.AdminService/GetQueueStats",
            vec![0x0a, 0x04, b'e', b'a', b's', b't'],
            ADMIN,
        ),
        (
            "/funnel.v1.AdminService/GetAuditTrail",
            vec![0x0a, 0x06, b'e', b'a', b's', b't', b'.', b'1'],
            ADMIN,
        ),
        ("/funnel.v1.AdminService/GetModelInfo", vec![], ADMIN),
        (
            "/funnel.v1.AdminService/ListLeads",
            vec![0x0a, 0x04, b'e', b'a', b's', b't', 0x10, 0x01, 0x18, 0x05],
            ADMIN,
        ),
        (
            "/funnel.v1.AdminService/GetCustomerCompliance",
            vec![0x0a, 0x03, b'c', b'-', b'1'],
            ADMIN,
        ),
        (
            "/funnel.v1.AdminService/SetCustomerCompliance",
            vec![0x0a, 0x03, b'c', b'-', b'1', 0x10, 0x01],
            ADMIN,
        ),
        (
            "/funnel.v1.AdminService/AcknowledgeExport",
            vec![
                0x0a, 0x04, b'e', b'a', b's', b't', 0x12, 0x03, b'1', b'-', b'0',
            ],
            ADMIN,
        ),
        (
            "/funnel.v1.RemoteDeskService/PullLeads",
            vec![0x08, 0x02],
            R1,
        ),
        ("/funnel.v1.RemoteDeskService/ListMyLeads", vec![], R1),
        (
            "/funnel.v1.RemoteDeskService/GetLead",
            vec![0x0a, 0x06, b'e', b'a', b's', b't', b'.', b'1'],
            R1,
        ),
        (
            "/funnel.v1.RemoteDeskService/CompleteLead",
            pb::CompleteLeadRequest {
                lead_id: "east.1".into(),
                lease_id: "l-1".into(),
                outcome: 1,
                ..Default::default()
            }
            .encode_to_vec(),
            R1,
        ),
        (
            "/funnel.v1.RemoteDeskService/ReleaseLead",
            vec![
                0x0a, 0x06, b'e', b'a', b's', b't', b'.', b'1', 0x12, 0x01, b'l',
            ],
            R1,
        ),
        (
            "/funnel.v1.RemoteDeskService/ExtendLease",
            vec![
                0x0a, 0x06, b'e', b'a', b's', b't', b'.', b'1', 0x12, 0x01, b'l', 0x18, 0x3c,
            ],
            R1,
        ),
        (
            "/funnel.v1.RemoteDeskService/EscalateLead",
            vec![
                0x0a, 0x06, b'e', b'a', b's', b't', b'.', b'1', 0x12, 0x01, b'l', 0x1a, 0x01, b'n',
            ],
            R1,
        ),
        ("/funnel.v1.ReferralsService/ListMyReferrals", vec![], O1),
        (
            "/funnel.v1.ReferralsService/AcceptReferral",
            vec![
                0x0a, 0x06, b'e', b'a', b's', b't', b'.', b'1', 0x12, 0x01, b'o',
            ],
            O1,
        ),
        (
            "/funnel.v1.ReferralsService/DeclineReferral",
            vec![
                0x0a, 0x06, b'e', b'a', b's', b't', b'.', b'1', 0x12, 0x01, b'o', 0x1a, 0x01, b'r',
            ],
            O1,
        ),
        (
            "/funnel.v1.ReferralsService/CompleteReferral",
            vec![
                0x0a, 0x06, b'e', b'a', b's', b't', b'.', b'1', 0x12, 0x01, b'o', 0x18, 0x01,
            ],
            O1,
        ),
    ];
    let channel = tonic::transport::Endpoint::from_shared(s.servers[0].endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let requests = (cases() / 50).max(seeds.len() as u64);
    let mut by_code: std::collections::BTreeMap<String, u64> = Default::default();
    let mut bugs = Vec::new();
    for n in 0..requests {
        let (path, seed, who) = &seeds[n as usize % seeds.len()];
        let body = mutate(seed, &mut rng);
        let mut req = tonic::Request::new(body.clone());
        req.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", &s.tokens[*who]).parse().unwrap(),
        );
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await.unwrap();
        let answer = grpc
            .unary::<Vec<u8>, Vec<u8>, Raw>(req, path.parse().unwrap(), Raw)
            .await;
        let code = answer
            .as_ref()
            .map_or_else(|s| s.code(), |_| tonic::Code::Ok);
        *by_code.entry(format!("{code:?}")).or_default() += 1;
        if matches!(code, tonic::Code::Internal | tonic::Code::Unknown) {
            let status = answer.unwrap_err();
            // Bytes that are not a protobuf message at all: tonic answers
            // INTERNAL before any code of ours runs, as gRPC's status-code
            // table prescribes for a request that cannot be parsed.
            if !status
                .message()
                .starts_with("failed to decode Protobuf message")
            {
                bugs.push(format!("{path} {}: {}", hex(&body), status.message()));
            }
        }
    }
    // Random bytes on raw connections, some after the HTTP/2 preface.
    let addr = s.servers[0].grpc;
    for n in 0..200 {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        if n % 2 == 0 {
            let _ = tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
        }
        let junk: Vec<u8> = (0..rng.random_range(1..2048))
            .map(|_| rng.random())
            .collect();
        let _ = tcp.write_all(&junk).await;
        let _ = tokio::time::timeout(Duration::from_millis(20), tcp.shutdown()).await;
    }
    println!("{requests} mutated gRPC requests, answered: {by_code:?}; 200 raw junk connections");
    // Still serving.
    let model = s
        .as_(ROBOT)
        .await
        .admin
        .clone()
        .get_model_info(pb::GetModelInfoRequest {})
        .await;
    assert!(model.is_ok(), "the server stopped answering: {model:?}");
    assert_eq!(panics.load(Ordering::SeqCst), 0, "the server panicked");
    assert!(
        bugs.is_empty(),
        "{} malformed requests answered INTERNAL/UNKNOWN: {:?}",
        bugs.len(),
        &bugs[..bugs.len().min(5)]
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().take(64).map(|x| format!("{x:02x}")).collect()
}
