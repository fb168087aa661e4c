//! Every complaint of the hand-written calls — the dev split
//! (`training/eval/handwritten.jsonl`) and the blind test split
//! (`training/eval/blind.jsonl`, which nothing was tuned on) — is submitted
//! through gRPC to a real server (private redis-server). Each must land
//! outside sales: service follow-up, or suppressed when the customer also
//! asked not to be called. The service must also do exactly what the model
//! card reports for the test split
//! (`evaluation.handwritten.test.complaint_routed_outside_sales`). Lexicon
//! hits come back as reasons and reach the audit trail. Every call with a
//! reviewer's tier is routed by the service to the tier the model card's
//! agreement figure counts (the pipeline mirrors `domain::Policy`; this
//! holds the mirror to the real thing).

mod common;

use funnel::api::auth::Principal;
use funnel::api::convert::interaction_to_pb;
use funnel::api::pb;
use funnel::client::Clients;
use funnel::config::Config;
use funnel::dev::roster::Tokens;
use funnel::dev::server::LocalServer;
use funnel::domain::Interaction;
use std::time::Duration;

#[derive(serde::Deserialize)]
struct Labelled {
    #[serde(flatten)]
    interaction: Interaction,
    label: Label,
    split: String,
}

#[derive(serde::Deserialize)]
struct Label {
    intent: String,
    do_not_contact_request: bool,
    /// The reviewer's tier: high, medium, low, service_followup,
    /// suppressed (unset where no reviewer would say).
    #[serde(default)]
    tier: Option<String>,
}

/// The complaints of one file; every record must carry the file's split.
fn complaints(file: &str, split: &str) -> Vec<(Interaction, bool, String)> {
    labelled(file, split)
        .into_iter()
        .filter(|r| r.label.intent == "complaint")
        .map(|r| (r.interaction, r.label.do_not_contact_request, r.split))
        .collect()
}

/// Every record of one file, which must all carry the file's split.
fn labelled(file: &str, split: &str) -> Vec<Labelled> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let records: Vec<Labelled> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Labelled>(l).unwrap())
        .collect();
    assert!(
        records.iter().all(|r| r.split == split),
        "{file}: not all {split}"
    );
    records
}

/// A server on a private Redis, with the robot's and the admin's clients
/// (and the directory of its tokens file, to keep while it runs).
async fn serve(tag: &str) -> (LocalServer, Clients, Clients, tempfile::TempDir) {
    let redis = common::single();
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::write(dir.path(), &[Principal::Robot, Principal::Admin]).unwrap();
    let mut config = Config {
        redis_urls: vec![redis.url()],
        tokens_file: tokens.path.clone(),
        manifest: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/manifest.json"),
        scoring_threads: 1,
        sweep_interval: Duration::from_millis(200),
        redis_timeout: Duration::from_secs(1),
        log_filter: "warn".into(),
        registry: common::sample_registry(),
        ..Config::default()
    };
    config.routing.key_prefix = common::unique_prefix(tag);
    let server = LocalServer::start(config, 2).unwrap();
    let robot = Clients::connect(&server.endpoint(), &tokens[0])
        .await
        .unwrap();
    let admin = Clients::connect(&server.endpoint(), &tokens[1])
        .await
        .unwrap();
    (server, robot, admin, dir)
}

fn manifest() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/manifest.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Each labelled call, as a first call of a customer of its own (the
/// pipeline judges every call alone, with no memory of earlier ones), is
/// routed to a tier; the number that agree with the reviewer must be the
/// model card's, split by split.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_routes_hand_written_calls_to_the_tiers_the_model_card_counts() {
    let (server, robot, _admin, _dir) = serve("tiers").await;
    let manifest = manifest();
    for (file, split) in [
        ("training/eval/handwritten.jsonl", "dev"),
        ("training/eval/blind.jsonl", "test"),
    ] {
        let (mut labelled_n, mut agree) = (0u64, 0u64);
        for r in labelled(file, split) {
            let Some(want) = r.label.tier.as_deref() else {
                continue;
            };
            let mut call = interaction_to_pb(&r.interaction);
            call.customer_id = format!("tier-{}", call.interaction_id);
            let res = robot
                .intake
                .clone()
                .submit_interaction(pb::SubmitInteractionRequest {
                    interaction: Some(call),
                })
                .await
                .unwrap()
                .into_inner();
            let kind = res.destination.as_ref().unwrap().kind();
            let bucket = res.score.as_ref().unwrap().bucket();
            let tier = match (kind, bucket) {
                (pb::DestinationKind::Suppressed, _) => "suppressed",
                (pb::DestinationKind::ServiceFollowup, _) => "service_followup",
                (_, pb::Bucket::High) => "high",
                (_, pb::Bucket::Medium) => "medium",
                (_, pb::Bucket::Low) => "low",
                (_, b) => panic!("{}: bucket {b:?}", r.interaction.interaction_id),
            };
            labelled_n += 1;
            agree += u64::from(tier == want);
        }
        let card = &manifest["evaluation"]["handwritten"][split];
        assert_eq!(card["tier_labelled"].as_u64(), Some(labelled_n), "{split}");
        let reported = card["tier_agreement"].as_f64().unwrap();
        assert!(
            (reported * labelled_n as f64 - agree as f64).abs() < 0.5,
            "{split}: the service agrees with the reviewers on {agree} of {labelled_n} \
             calls, the model card says {reported}"
        );
    }
    tokio::task::spawn_blocking(move || server.stop().unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hand_written_complaint_lands_in_a_sales_destination() {
    let (server, robot, admin, _dir) = serve("complaints").await;
    // Managers everywhere, so a sales route would succeed if it were chosen.
    for region in ["east", "north", "south", "west"] {
        admin
            .admin
            .clone()
            .upsert_manager(pb::UpsertManagerRequest {
                manager: Some(pb::Manager {
                    manager_id: format!("r-{region}"),
                    display_name: region.into(),
                    tier: pb::ManagerTier::Remote as i32,
                    region_id: region.into(),
                    qualified_products: (1..=6).collect(),
                    capacity: 1000,
                    available: true,
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
    }

    let mut calls = complaints("training/eval/handwritten.jsonl", "dev");
    assert_eq!(calls.len(), 40, "the dev set has 40 complaints");
    let test = complaints("training/eval/blind.jsonl", "test");
    assert!(
        test.len() >= 10,
        "the blind test set has {} complaints",
        test.len()
    );
    calls.extend(test);
    let mut with_lexicon = 0;
    let mut in_sales: Vec<(String, String, pb::DestinationKind)> = Vec::new();
    for (call, dnc, split) in &calls {
        let id = call.interaction_id.to_string();
        let res = robot
            .intake
            .clone()
            .submit_interaction(pb::SubmitInteractionRequest {
                interaction: Some(interaction_to_pb(call)),
            })
            .await
            .unwrap()
            .into_inner();
        let kind = pb::DestinationKind::try_from(res.destination.as_ref().unwrap().kind).unwrap();
        let want: &[pb::DestinationKind] = if *dnc {
            &[pb::DestinationKind::Suppressed]
        } else {
            &[
                pb::DestinationKind::ServiceFollowup,
                pb::DestinationKind::Suppressed,
            ]
        };
        if !want.contains(&kind) {
            in_sales.push((split.clone(), id.clone(), kind));
        }
        let score = res.score.unwrap();
        let lexicon: Vec<_> = score
            .reasons
            .iter()
            .filter(|r| r.kind == pb::ReasonKind::Lexicon as i32)
            .collect();
        if lexicon.is_empty() {
            continue;
        }
        with_lexicon += 1;
        // Lexicon reasons lead, name a pattern and a rule, and are in the audit trail.
        assert_eq!(
            score.reasons[0].kind,
            pb::ReasonKind::Lexicon as i32,
            "{id}"
        );
        assert!(lexicon
            .iter()
            .all(|r| !r.name.is_empty() && r.value.contains('.') && r.weight == 0.0));
        // The lead record (what managers and auditors read) keeps the lexicon
        // reasons with the interaction's score, and its history names the rule
        // that decided the route.
        let lead = admin
            .desk
            .clone()
            .get_lead(pb::GetLeadRequest {
                lead_id: res.lead_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .lead
            .unwrap();
        let stored = lead.interactions.last().unwrap().score.as_ref().unwrap();
        assert!(
            stored
                .reasons
                .iter()
                .any(|r| r.kind == pb::ReasonKind::Lexicon as i32),
            "{id}: stored score lost its lexicon reasons"
        );
        let reasons: Vec<_> = lead.history.iter().map(|e| e.reason.as_str()).collect();
        assert!(
            reasons.iter().any(|r| r.contains("lexicon")
                || r.contains("do-not-contact request (")
                || r.contains("complaint (")),
            "{id}: {reasons:?}"
        );
    }
    assert!(
        with_lexicon >= 20,
        "only {with_lexicon} complaints hit the lexicon"
    );
    for (split, id, kind) in &in_sales {
        println!("complaint {id} ({split} split) routed to {kind:?}");
    }
    let manifest = manifest();
    let reported = &manifest["evaluation"]["handwritten"]["test"]["complaint_routed_outside_sales"];
    let test_total = calls.iter().filter(|c| c.2 == "test").count() as u64;
    let test_missed = in_sales.iter().filter(|m| m.0 == "test").count() as u64;
    assert_eq!(
        reported["found"].as_u64(),
        Some(test_total - test_missed),
        "the service and the model card disagree on the test split"
    );
    tokio::task::spawn_blocking(move || server.stop().unwrap())
        .await
        .unwrap();
    assert!(
        in_sales.is_empty(),
        "complaints in a sales destination: {in_sales:?}"
    );
}
