//! Faults in the large, part (b): Redis with `appendonly yes` and
//! `appendfsync everysec`, killed with `kill -9` and restarted from its AOF
//! while robots submit and a remote manager pulls and completes. Clients
//! retry a failed call with the same interaction id / lease (idempotent), so
//! only writes Redis acknowledged and then lost before its next fsync can go
//! missing: each is counted and must lie inside AOF everysec's documented
//! window before a kill (1 s; up to 2 s when an fsync is slow).
//!
//! `FUNNEL_FAULT_KILLS` (default 5) sets the number of kills; CI runs the
//! default, `scripts/faults.sh` a longer run.

mod common;

use common::stack::*;
use funnel::api::pb;
use funnel::client::Clients;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// AOF everysec loses at most this much acknowledged work on a kill.
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

    let mut killed_at = Vec::new();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let r = &redis;
        killed_at.push(Instant::now());
        tokio::task::block_in_place(|| {
            r.kill9().unwrap();
            r.restart().unwrap();
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }

    // Every acknowledged submission has its lead; every acknowledged
    // completion left its lead closed, unless lost inside the window.
    let admin = s.as_(ADMIN).await;
    let log = Arc::try_unwrap(log).ok().unwrap().into_inner().unwrap();
    let in_window = |at: Instant| {
        killed_at
            .iter()
            .any(|k| *k >= at && k.duration_since(at) <= LOSS_WINDOW)
    };
    let (mut lost, mut outside) = (Vec::new(), Vec::new());
    for (iid, lead, at) in &log.submitted {
        let found = admin
            .admin
            .clone()
            .get_audit_trail(pb::GetAuditTrailRequest {
                lead_id: lead.clone(),
            })
            .await;
        if found.is_err() {
            lost.push(format!("submission {iid} → {lead}"));
            if !in_window(*at) {
                outside.push(iid.clone());
            }
        }
    }
    for (lead, at) in &log.completed {
        let state = admin
            .admin
            .clone()
            .get_audit_trail(pb::GetAuditTrailRequest {
                lead_id: lead.clone(),
            })
            .await
            .map(|r| r.into_inner().events.last().map(|e| e.to_state));
        let closed = matches!(state, Ok(Some(s)) if s == pb::LeadState::ClosedNotInterested as i32);
        if !closed {
            lost.push(format!("completion of {lead}"));
            if !in_window(*at) {
                outside.push(lead.clone());
            }
        }
    }
    println!(
        "{kills} kill -9 of Redis (AOF everysec): {} submissions and {} completions acknowledged, \
         {} retries, {} acknowledged writes lost ({} outside the {:?} window): {lost:?}",
        log.submitted.len(),
        log.completed.len(),
        log.retries,
        lost.len(),
        outside.len(),
        LOSS_WINDOW,
    );
    assert!(log.submitted.len() > 50 && !log.completed.is_empty());
    assert!(
        outside.is_empty(),
        "acknowledged writes lost outside AOF everysec's window: {outside:?}"
    );
    s.assert_sound().await;
}
