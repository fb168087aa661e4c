//! Faults of Redis in the large, while robots submit and a remote manager
//! pulls and completes; clients retry a failed call with the same
//! interaction id / lease (idempotent), so only writes Redis acknowledged and
//! then lost can go missing: each is counted and must lie inside the loss
//! window Redis documents for the fault.
//! - (b) one Redis with `appendonly yes`, `appendfsync everysec`, killed with
//!   `kill -9` and restarted from its AOF (`FUNNEL_FAULT_KILLS` times,
//!   default 5): window 1 s, up to 2 s when an fsync is slow;
//! - (c) a Redis Cluster of 3 primaries with one replica each, the primary
//!   of the region's slot killed so that its replica takes over: the window
//!   is asynchronous replication's lag (writes acknowledged just before).

mod common;

use common::stack::*;
use funnel::api::pb;
use funnel::client::Clients;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// AOF everysec loses at most this much acknowledged work on a kill; a
/// replica lags its primary by far less.
const LOSS_WINDOW: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Log {
    /// (interaction id, lead id, when acknowledged)
    submitted: Vec<(String, String, Instant)>,
    /// (lead id, when the completion was acknowledged)
    completed: Vec<(String, Instant)>,
    retries: u64,
}

/// Calls `f` until it succeeds or `deadline` passes (each failure counted).
async fn until_ok<T, F, Fut>(log: &Mutex<Log>, deadline: Instant, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    loop {
        match f().await {
            Ok(v) => return Some(v),
            Err(_) if Instant::now() < deadline => {
                log.lock().unwrap().retries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) => return None,
        }
    }
}

async fn submitter(robot: Clients, tag: String, log: Arc<Mutex<Log>>, stop: CancellationToken) {
    let mut round = 0;
    while !stop.is_cancelled() {
        for call in calls_of("east-sh-pudong", 40, &format!("{tag}-{round}")) {
            if stop.is_cancelled() {
                return;
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            let answer = until_ok(&log, deadline, || {
                let (mut intake, call) = (robot.intake.clone(), call.clone());
                async move {
                    intake
                        .submit_interaction(pb::SubmitInteractionRequest {
                            interaction: Some(call),
                        })
                        .await
                }
            })
            .await
            .expect("a submission never succeeded")
            .into_inner();
            log.lock().unwrap().submitted.push((
                call.interaction_id.clone(),
                answer.lead_id,
                Instant::now(),
            ));
        }
        round += 1;
    }
}

async fn worker(desk: Clients, log: Arc<Mutex<Log>>, stop: CancellationToken) {
    let mut n = 0u64;
    while !stop.is_cancelled() {
        n += 1;
        let request_id = format!("fault-pull-{n}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let leads = until_ok(&log, deadline, || {
            let (mut d, request_id) = (desk.desk.clone(), request_id.clone());
            async move {
                d.pull_leads(pb::PullLeadsRequest {
                    max_leads: 3,
                    lease_seconds: Some(600),
                    request_id,
                })
                .await
            }
        })
        .await
        .expect("a pull never succeeded")
        .into_inner()
        .leads;
        if leads.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for l in leads {
            let lead_id = l.lead.as_ref().unwrap().lead_id.clone();
            let done = until_ok(&log, deadline, || {
                let (mut d, lead_id, lease_id) =
                    (desk.desk.clone(), lead_id.clone(), l.lease_id.clone());
                async move {
                    d.complete_lead(pb::CompleteLeadRequest {
                        lead_id,
                        lease_id,
                        outcome: pb::Outcome::NotInterested as i32,
                        ..Default::default()
                    })
                    .await
                }
            })
            .await;
            if done.is_some() {
                log.lock()
                    .unwrap()
                    .completed
                    .push((lead_id, Instant::now()));
            }
        }
    }
}

/// The load of both tests: three robots and a remote manager.
async fn start_load(
    s: &Stack,
    log: &Arc<Mutex<Log>>,
    stop: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for t in 0..3 {
        tasks.push(tokio::spawn(submitter(
            s.as_(ROBOT).await,
            format!("f{t}"),
            log.clone(),
            stop.clone(),
        )));
    }
    tasks.push(tokio::spawn(worker(
        s.as_(R1).await,
        log.clone(),
        stop.clone(),
    )));
    tasks
}

/// Acknowledged writes that are gone: (all lost, lost outside the window).
async fn lost_writes(s: &Stack, log: &Log, killed_at: &[Instant]) -> (Vec<String>, Vec<String>) {
    let admin = s.as_(ADMIN).await;
    let in_window = |at: Instant| {
        killed_at
            .iter()
            .any(|k| *k >= at && k.duration_since(at) <= LOSS_WINDOW)
    };
    let trail = |lead: String| {
        let mut a = admin.admin.clone();
        async move {
            a.get_audit_trail(pb::GetAuditTrailRequest { lead_id: lead })
                .await
                .map(|r| r.into_inner().events)
        }
    };
    let (mut lost, mut outside) = (Vec::new(), Vec::new());
    for (iid, lead, at) in &log.submitted {
        if trail(lead.clone()).await.is_err() {
            lost.push(format!("submission {iid} → {lead}"));
            if !in_window(*at) {
                outside.push(iid.clone());
            }
        }
    }
    for (lead, at) in &log.completed {
        let last = trail(lead.clone())
            .await
            .ok()
            .and_then(|e| e.last().map(|e| e.to_state));
        if last != Some(pb::LeadState::ClosedNotInterested as i32) {
            lost.push(format!("completion of {lead}"));
            if !in_window(*at) {
                outside.push(lead.clone());
            }
        }
    }
    (lost, outside)
}

async fn finish(
    s: &Stack,
    log: Arc<Mutex<Log>>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    killed_at: &[Instant],
    what: &str,
) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    let log = std::mem::take(&mut *log.lock().unwrap());
    let (lost, outside) = lost_writes(s, &log, killed_at).await;
    println!(
        "{what}: {} submissions and {} completions acknowledged, {} retries, \
         {} acknowledged writes lost ({} outside the {:?} window): {lost:?}",
        log.submitted.len(),
        log.completed.len(),
        log.retries,
        lost.len(),
        outside.len(),
        LOSS_WINDOW,
    );
    assert!(
        log.submitted.len() > 50 && !log.completed.is_empty(),
        "too little load"
    );
    assert!(
        outside.is_empty(),
        "acknowledged writes lost outside the documented window: {outside:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_load_loses_only_inside_the_aof_window() {
    let kills: usize = std::env::var("FUNNEL_FAULT_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let redis = common::RedisNode::start(
        &common::RedisOptions {
            aof: true,
            ..Default::default()
        }
        .with_args(&["--appendfsync", "everysec"]),
    )
    .unwrap();
    let mut s = Stack::start(&redis.url(), 1, |c| {
        c.redis_timeout = Duration::from_millis(500);
    });
    s.setup_managers("east", "east-sh-pudong").await;
    let log = Arc::new(Mutex::new(Log::default()));
    let stop = CancellationToken::new();
    let tasks = start_load(&s, &log, &stop).await;
    let mut killed_at = Vec::new();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        killed_at.push(Instant::now());
        tokio::task::block_in_place(|| {
            redis.kill9().unwrap();
            redis.restart().unwrap();
        });
    }
    let what = format!("{kills} kill -9 of Redis (AOF everysec)");
    finish(&s, log, stop, tasks, &killed_at, &what).await;
    s.assert_sound().await;
}

/// The node that serves `slot` as a primary now, if one does.
fn primary_of(cluster: &common::RedisCluster, slot: u16) -> Option<usize> {
    // Asked of the first node that answers (a killed one answers nothing).
    let nodes = cluster
        .nodes
        .iter()
        .map(|n| n.cli(&["CLUSTER", "NODES"]))
        .find(|answer| !answer.is_empty())?;
    for line in nodes.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 9 || !f[2].contains("master") || f[2].contains("fail") {
            continue;
        }
        let serves = f[8..].iter().any(|r| match r.split_once('-') {
            Some((a, b)) => {
                (a.parse().unwrap_or(u16::MAX)..=b.parse().unwrap_or(0)).contains(&slot)
            }
            None => r.parse() == Ok(slot),
        });
        let port = f[1].split(['@', ':']).nth(1).and_then(|p| p.parse().ok());
        if serves {
            return cluster.nodes.iter().position(|n| Some(n.port()) == port);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_primary_fails_over_to_its_replica_under_load() {
    let cluster = common::RedisCluster::start(3, 1, &common::RedisOptions::default()).unwrap();
    let urls = cluster.urls();
    let s = Stack::start(&urls[0], 1, |c| {
        c.redis_urls = urls.clone();
        c.redis_cluster = true;
        c.redis_timeout = Duration::from_millis(1000);
    });
    s.setup_managers("east", "east-sh-pudong").await;
    let log = Arc::new(Mutex::new(Log::default()));
    let stop = CancellationToken::new();
    let tasks = start_load(&s, &log, &stop).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let slot: u16 = cluster.nodes[0]
        .cli(&["CLUSTER", "KEYSLOT", &format!("{}:{{east}}", s.prefix)])
        .parse()
        .unwrap();
    let victim = primary_of(&cluster, slot).expect("a primary for the slot");
    let killed_at = vec![Instant::now()];
    tokio::task::block_in_place(|| cluster.nodes[victim].kill9().unwrap());
    // The replica is promoted after the node timeout (5 s) and an election.
    let t0 = Instant::now();
    let promoted = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(p) = primary_of(&cluster, slot).filter(|p| *p != victim) {
            break p;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no fail-over");
    };
    println!(
        "fail-over of slot {slot}: node {victim} → {promoted} in {:?}",
        t0.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    finish(&s, log, stop, tasks, &killed_at, "a cluster primary killed").await;

    // Every lead in exactly one place, on the promoted replica.
    let live: Vec<String> = cluster
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != victim)
        .map(|(_, n)| n.url())
        .collect();
    assert_invariants(&router_on(live, true, &s.prefix).await).await;
}
