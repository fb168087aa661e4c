//! Webhooks end to end: a local receiver that checks every signature, killed
//! and restarted while referrals are made. Every offer and SLA breach is
//! delivered at least once, submissions never wait on delivery, and the
//! delivery log (admin) shows the failed and the good attempts.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::stack::*;
use common::web::*;
use funnel::webhooks::Sink;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "a-shared-secret-of-the-bank";

#[derive(Clone, Default)]
struct Received {
    /// (lead, type, at) of every verified delivery.
    events: Arc<Mutex<Vec<(String, String, i64)>>>,
    bad_signatures: Arc<Mutex<usize>>,
}

/// Checks the signature the way a bank's receiver would: HMAC-SHA256 over
/// "<timestamp>.<body>", timestamp within 5 minutes.
async fn hook(State(r): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ts: i64 = header("x-funnel-timestamp").parse().unwrap_or(0);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&body);
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    let fresh = (chrono::Utc::now().timestamp() - ts).abs() < 300;
    if header("x-funnel-signature") != expected || !fresh {
        *r.bad_signatures.lock().unwrap() += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["id"], header("x-funnel-delivery"));
    let key = (
        v["lead"].as_str().unwrap().to_string(),
        v["type"].as_str().unwrap().to_string(),
        v["at"].as_i64().unwrap(),
    );
    r.events.lock().unwrap().push(key);
    StatusCode::OK
}

/// The receiver on `addr` until the returned handle is aborted (a crash).
async fn receiver(addr: SocketAddr, r: Received) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(r);
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    })
}

/// What the audit trails say should have been sent: offers and SLA breaches.
async fn expected(
    admin: &funnel::client::Clients,
    leads: &[String],
) -> BTreeSet<(String, String, i64)> {
    let mut out = BTreeSet::new();
    for lead in leads {
        for e in audit(admin, lead).await {
            let at =
                e.at.as_ref()
                    .map_or(0, |t| t.seconds * 1000 + t.nanos as i64 / 1_000_000);
            let offered = e.to_state == funnel::api::pb::LeadState::ReferralOffered as i32
                && !e.manager_id.is_empty()
                && e.action != "offer_timed_out";
            if offered {
                out.insert((lead.clone(), "referral.offered".to_string(), at));
            } else if e.action == "offer_timed_out" {
                out.insert((lead.clone(), "referral.sla_breached".to_string(), at));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_offer_and_breach_is_delivered_across_receiver_restarts() {
    let addr: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let got = Received::default();
    let mut s = Stack::start(&common::single().url(), 1, |c| {
        c.routing.offer_sla = Duration::from_secs(2);
        c.webhooks.sinks = vec![Sink {
            name: "wecom".into(),
            url: format!("http://{addr}/hook"),
            secret: SECRET.into(),
            events: vec![],
        }];
        c.webhooks.poll = Duration::from_millis(100);
        c.webhooks.retry_after = Duration::from_millis(800);
        c.webhooks.timeout = Duration::from_millis(500);
        c.webhooks.attempts = 2;
    });
    s.setup_managers("south", "south-gz-tianhe").await;
    // The sink's reader joins the region's stream on its next poll.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let robot = s.as_(ROBOT).await;
    let admin = s.as_(ADMIN).await;
    let mut leads = Vec::new();
    let mut slowest = Duration::ZERO;
    let calls = calls_of("south-gz-tianhe", 90, "hook");
    let mut phases = calls.chunks(30);

    let mut up = receiver(addr, got.clone()).await;
    for round in 0..3 {
        for c in phases.next().unwrap() {
            let t0 = Instant::now();
            let r = submit(&robot, c.clone()).await;
            slowest = slowest.max(t0.elapsed());
            if kind(&r) == funnel::api::pb::DestinationKind::ReferralOffered {
                leads.push(r.lead_id);
            }
        }
        if round < 2 {
            // Crash the receiver, let offers and SLA breaches pile up, restart.
            up.abort();
            let _ = (&mut up).await;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            up = receiver(addr, got.clone()).await;
        }
    }
    assert!(leads.len() >= 3, "only {} referrals", leads.len());
    // Submissions went on while the receiver was down: never waited on it.
    assert!(
        slowest < Duration::from_secs(1),
        "slowest submit {slowest:?}"
    );

    // Offers time out after 2 s and move on: wait until the trails settle
    // and everything they name has arrived.
    let t0 = Instant::now();
    let missing = loop {
        let want = expected(&admin, &leads).await;
        let have: BTreeSet<_> = got.events.lock().unwrap().iter().cloned().collect();
        let missing: Vec<_> = want.difference(&have).cloned().collect();
        if (missing.is_empty() && t0.elapsed() > Duration::from_secs(8))
            || t0.elapsed() > Duration::from_secs(40)
        {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    assert_eq!(*got.bad_signatures.lock().unwrap(), 0);
    let types: BTreeSet<String> = got
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.1.clone())
        .collect();
    assert!(
        types.contains("referral.offered") && types.contains("referral.sla_breached"),
        "{types:?}"
    );

    // The delivery log: the outage's failures and the deliveries, for admins only.
    let web = s.servers[0].web.unwrap();
    let (status, log) = call(
        web,
        "GET",
        "/api/admin/webhooks?count=1000",
        Some(&s.tokens[ADMIN]),
        None,
    )
    .await;
    assert_eq!(status, 200, "{log}");
    let lines = log["deliveries"].as_array().unwrap();
    assert!(lines.iter().any(|l| l["status"] == "200"));
    assert!(
        lines.iter().any(|l| l["status"] == "error"),
        "no failed attempt logged"
    );
    let (status, _) = call(web, "GET", "/api/admin/webhooks", Some(&s.tokens[R1]), None).await;
    assert_eq!(status, 403);
    up.abort();
    s.assert_sound().await;
}
