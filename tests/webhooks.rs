//! Webhooks end to end: a local receiver that checks every signature, killed
//! and restarted while referrals are made at a steady rate. Every event the
//! audit trails name (offers, offers about to time out, SLA breaches, leads
//! no manager can take) is delivered at least once, submissions never wait
//! on delivery, the delivery log (admin) and the metrics show the failed and
//! the good attempts. A second test interleaves rounds with webhooks on and
//! off and compares the submit p99.
//!
//! Sized for CI by default; `scripts/soak-webhooks.sh` runs the full bars
//! with these knobs (environment):
//! - `FUNNEL_SOAK_RESTARTS` (2), `FUNNEL_SOAK_SECS` (12), `FUNNEL_SOAK_OFFERS_PER_MIN` (500);
//! - `FUNNEL_P99_ROUNDS` (2 per mode), `FUNNEL_P99_ROUND_SECS` (3),
//!   `FUNNEL_P99_OFFERS_PER_MIN` (500), `FUNNEL_P99_RECEIVER_DELAY_MS` (50:
//!   a slow receiver, so a submit that waited on delivery would show).

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::stack::*;
use common::web::*;
use funnel::api::pb;
use funnel::client::Clients;
use funnel::dev::server::{http_get, metric_sum};
use funnel::webhooks::Sink;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "a-shared-secret-of-the-bank";
/// Two managers take every product here; none works in `OTHER` (same
/// region): its high leads are unplaceable.
const BRANCH: &str = "south-gz-tianhe";
const OTHER: &str = "south-sz-futian";

fn knob(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: not a number")),
        Err(_) => default,
    }
}

type Event = (String, String, i64);

#[derive(Clone, Default)]
struct Received {
    /// (lead, type, at) of every verified delivery, duplicates included.
    events: Arc<Mutex<Vec<Event>>>,
    bad_signatures: Arc<Mutex<usize>>,
    /// How long the receiver takes to answer.
    delay: Duration,
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
    assert_eq!(v["type"], header("x-funnel-event"));
    let key = (
        v["lead"].as_str().unwrap().to_string(),
        v["type"].as_str().unwrap().to_string(),
        v["at"].as_i64().unwrap(),
    );
    if !r.delay.is_zero() {
        tokio::time::sleep(r.delay).await;
    }
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

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A stack whose offers time out in `sla` (warned `warn` before), with a
/// sink to `addr` if given.
fn stack(sink: Option<SocketAddr>, sla: Duration, warn: Duration) -> Stack {
    Stack::start(&common::single().url(), 1, |c| {
        c.routing.offer_sla = sla;
        c.routing.offer_warning = warn;
        c.webhooks.sinks = sink
            .map(|addr| Sink {
                name: "wecom".into(),
                url: format!("http://{addr}/hook"),
                secret: SECRET.into(),
                events: vec![],
            })
            .into_iter()
            .collect();
        c.webhooks.poll = Duration::from_millis(100);
        c.webhooks.retry_after = Duration::from_millis(800);
        c.webhooks.timeout = Duration::from_millis(500);
        c.webhooks.attempts = 2;
    })
}

/// What the audit trails say should have been sent. Written out here rather
/// than taken from `funnel::webhooks`, so a wrong mapping there fails.
async fn expected(admin: &Clients, leads: &[String]) -> BTreeSet<Event> {
    let mut out = BTreeSet::new();
    for lead in leads {
        for e in audit(admin, lead).await {
            let at =
                e.at.as_ref()
                    .map_or(0, |t| t.seconds * 1000 + t.nanos as i64 / 1_000_000);
            let offered =
                e.to_state == pb::LeadState::ReferralOffered as i32 && !e.manager_id.is_empty();
            let kind = match e.action.as_str() {
                "offer_expiring" => "referral.expiring",
                "offer_timed_out" => "referral.sla_breached",
                "flagged_unplaceable" => "lead.unplaceable",
                "rescored" => continue,
                _ if offered => "referral.offered",
                _ => continue,
            };
            out.insert((lead.clone(), kind.to_string(), at));
        }
    }
    out
}

/// Endless fresh calls: the branch's sample calls under a new tag each time
/// round, every fourth from `OTHER`.
struct Calls {
    tag: String,
    round: usize,
    buf: Vec<pb::Interaction>,
    other: Vec<pb::Interaction>,
    n: usize,
}

impl Calls {
    fn new(tag: &str) -> Self {
        Self {
            tag: tag.into(),
            round: 0,
            buf: Vec::new(),
            other: Vec::new(),
            n: 0,
        }
    }
    fn next(&mut self) -> pb::Interaction {
        self.n += 1;
        if self.buf.is_empty() || self.other.is_empty() {
            self.round += 1;
            let tag = format!("{}{}", self.tag, self.round);
            self.buf = calls_of(BRANCH, 1000, &tag);
            self.other = calls_of(OTHER, 1000, &tag);
        }
        match self.n % 4 {
            0 => self.other.pop().unwrap(),
            _ => self.buf.pop().unwrap(),
        }
    }
}

/// Submits for `secs` at `offers_per_min` referral offers: while behind
/// that pace, up to 8 calls in flight (most calls are not offers). Answers
/// each submit's latency, the leads offered or left unassigned, and the
/// number of offers.
async fn submit_paced(
    robot: &Clients,
    calls: &mut Calls,
    secs: f64,
    offers_per_min: f64,
) -> (Vec<Duration>, Vec<String>, usize) {
    let (mut latencies, mut leads, mut offers) = (Vec::new(), Vec::new(), 0usize);
    let mut flying = tokio::task::JoinSet::new();
    let t0 = Instant::now();
    loop {
        let running = t0.elapsed().as_secs_f64() < secs;
        let behind = (offers as f64) < offers_per_min * t0.elapsed().as_secs_f64() / 60.0;
        if running && behind && flying.len() < 8 {
            let (robot, call) = (robot.clone(), calls.next());
            flying.spawn(async move {
                let t = Instant::now();
                let r = submit(&robot, call).await;
                (t.elapsed(), r)
            });
            continue;
        }
        if flying.is_empty() {
            if !running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        let done = tokio::select! {
            done = flying.join_next() => done,
            _ = tokio::time::sleep(Duration::from_millis(5)), if running => None,
        };
        if let Some(done) = done {
            let (took, r) = done.unwrap();
            latencies.push(took);
            match kind(&r) {
                pb::DestinationKind::ReferralOffered => {
                    offers += 1;
                    leads.push(r.lead_id);
                }
                pb::DestinationKind::BranchUnassigned => leads.push(r.lead_id),
                _ => {}
            }
        }
    }
    (latencies, leads, offers)
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_delivered_across_receiver_restarts() {
    let restarts = knob("FUNNEL_SOAK_RESTARTS", 2.0) as usize;
    let secs = knob("FUNNEL_SOAK_SECS", 12.0);
    let rate = knob("FUNNEL_SOAK_OFFERS_PER_MIN", 500.0);
    let addr = free_addr();
    let got = Received::default();
    let mut s = stack(Some(addr), Duration::from_secs(2), Duration::from_secs(1));
    s.setup_managers("south", BRANCH).await;
    // The sink's reader joins the region's stream on its next poll.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let robot = s.as_(ROBOT).await;
    let admin = s.as_(ADMIN).await;

    // The receiver crashes `restarts` times, evenly over the run, and stays
    // down a while each time (offers, warnings and breaches pile up).
    let cycle = secs / restarts.max(1) as f64;
    let down = Duration::from_secs_f64((cycle / 3.0).min(1.5));
    let crasher = {
        let got = got.clone();
        tokio::spawn(async move {
            let mut up = receiver(addr, got.clone()).await;
            for _ in 0..restarts {
                tokio::time::sleep(Duration::from_secs_f64(cycle) - down).await;
                up.abort();
                let _ = (&mut up).await;
                tokio::time::sleep(down).await;
                up = receiver(addr, got.clone()).await;
            }
            // The receiver that stays up (not a future to await here).
            Some(up)
        })
    };
    let mut calls = Calls::new("soak");
    let t0 = Instant::now();
    let (mut latencies, leads, offers) = submit_paced(&robot, &mut calls, secs, rate).await;
    let took = t0.elapsed();
    let up = crasher.await.unwrap().unwrap();
    let achieved = offers as f64 * 60.0 / took.as_secs_f64();
    assert!(
        achieved >= rate * 0.9,
        "only {achieved:.0} offers/min of {rate}"
    );
    latencies.sort();
    let slowest = *latencies.last().unwrap();
    // Submissions went on while the receiver was down: never waited on it.
    assert!(
        slowest < Duration::from_secs(1),
        "slowest submit {slowest:?}"
    );

    // Offers time out after 2 s and move on: wait until the trails settle
    // and everything they name has arrived.
    let t1 = Instant::now();
    let (want, missing) = loop {
        let want = expected(&admin, &leads).await;
        let have: BTreeSet<_> = got.events.lock().unwrap().iter().cloned().collect();
        let missing: Vec<_> = want.difference(&have).cloned().collect();
        if (missing.is_empty() && t1.elapsed() > Duration::from_secs(8))
            || t1.elapsed() > Duration::from_secs(60)
        {
            break (want, missing);
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    };
    assert!(
        missing.is_empty(),
        "{} of {} never delivered: {:?}",
        missing.len(),
        want.len(),
        &missing[..missing.len().min(20)]
    );
    assert_eq!(*got.bad_signatures.lock().unwrap(), 0);
    let received = got.events.lock().unwrap().clone();
    let types: BTreeSet<&str> = received.iter().map(|e| e.1.as_str()).collect();
    for t in funnel::webhooks::EVENT_TYPES {
        assert!(types.contains(t), "no {t} delivered: {types:?}");
    }
    println!(
        "webhook soak: {restarts} receiver restarts in {:.1} s, {offers} offers \
         ({achieved:.0}/min), {} submits (p99 {:?}, max {slowest:?}); {} events \
         expected, 0 lost, {} deliveries ({} duplicates)",
        took.as_secs_f64(),
        latencies.len(),
        quantile(&latencies, 0.99),
        want.len(),
        received.len(),
        received.len() - received.iter().collect::<BTreeSet<_>>().len(),
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
    let (status, _) = call(web, "GET", "/api/admin/webhooks", Some(&s.tokens[R1]), None).await;
    assert_eq!(status, 403);
    // The metrics: every delivery counted, the outages' failures and retries.
    let (_, page) = http_get(s.servers[0].metrics, "/metrics").await.unwrap();
    let delivered = metric_sum(&page, "funnel_webhook_delivered_total{");
    assert!(
        delivered >= want.len() as f64,
        "{delivered} < {}",
        want.len()
    );
    if restarts > 0 {
        assert!(metric_sum(&page, "funnel_webhook_failed_attempts_total{") > 0.0);
        assert!(metric_sum(&page, "funnel_webhook_retried_attempts_total{") > 0.0);
    }
    assert!(metric_sum(&page, "funnel_webhook_delivery_latency_seconds_count{") >= delivered);
    up.abort();
    s.assert_sound().await;
}

/// Routing p99 with webhooks on (a receiver that is up) and off, in
/// alternating rounds of the same window against the same Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_p99_is_the_same_with_webhooks_on_and_off() {
    let rounds = knob("FUNNEL_P99_ROUNDS", 2.0) as usize;
    let round_secs = knob("FUNNEL_P99_ROUND_SECS", 3.0);
    let rate = knob("FUNNEL_P99_OFFERS_PER_MIN", 500.0);
    let delay = Duration::from_millis(knob("FUNNEL_P99_RECEIVER_DELAY_MS", 50.0) as u64);
    let addr = free_addr();
    let got = Received {
        delay,
        ..Received::default()
    };
    let up = receiver(addr, got.clone()).await;
    let (sla, warn) = (Duration::from_secs(5), Duration::from_secs(2));
    let mut on = stack(Some(addr), sla, warn);
    let mut off = stack(None, sla, warn);
    on.setup_managers("south", BRANCH).await;
    off.setup_managers("south", BRANCH).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let robots = [on.as_(ROBOT).await, off.as_(ROBOT).await];
    let mut calls = [Calls::new("p99on"), Calls::new("p99off")];
    // Warm both up (connections, scripts loaded), unmeasured.
    for (robot, calls) in robots.iter().zip(calls.iter_mut()) {
        submit_paced(robot, calls, 1.0, rate).await;
    }
    let mut lat: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds * 2 {
        // on, off, off, on, on, off...: neither always goes first.
        let mode = (round + round / 2) % 2;
        let (l, _, _) = submit_paced(&robots[mode], &mut calls[mode], round_secs, rate).await;
        lat[mode].extend(l);
    }
    let mut report = Vec::new();
    for l in lat.iter_mut() {
        l.sort();
        report.push((quantile(l, 0.5), quantile(l, 0.99), l.len()));
    }
    let delivered = got.events.lock().unwrap().len();
    println!(
        "submit latency, webhooks on (receiver answering in {delay:?}): p50 {:?} p99 {:?} \
         ({} submits, {delivered} deliveries); off: p50 {:?} p99 {:?} ({} submits); \
         {rounds} rounds of {round_secs} s each, at {rate} offers/min",
        report[0].0, report[0].1, report[0].2, report[1].0, report[1].1, report[1].2,
    );
    assert!(delivered > 0, "the sink received nothing");
    // A submit that waited on a delivery would take the receiver's delay.
    let (p99_on, p99_off) = (report[0].1, report[1].1);
    assert!(
        p99_on <= (p99_off * 2).max(p99_off + Duration::from_millis(20)),
        "p99 with webhooks {p99_on:?}, without {p99_off:?}"
    );
    up.abort();
    on.assert_sound().await;
    off.assert_sound().await;
}
