//! Faults in the large, part (a): three `funnel serve` processes on one
//! private Redis, under load from robots (submit), a remote manager (pull,
//! complete) and two branch managers (accept + complete, decline), while
//! replicas are killed with `kill -9` at random and restarted. Clients move
//! to another replica on a transport error and retry the same call (same
//! interaction id, pull request id, lease or offer). Afterwards: every
//! acknowledged write holds, and the invariant checker finds every lead in
//! exactly one place with at most one owner.
//!
//! `FUNNEL_FAULT_REPLICA_KILLS` (default 10) sets the number of kills; CI
//! runs the default, `scripts/faults.sh` 100.

mod common;

use common::stack::*;
use funnel::api::pb;
use funnel::client::Clients;
use rand::Rng;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tonic::Code;

/// One `funnel serve` process on fixed ports (so clients find it again).
struct Replica {
    grpc: u16,
    metrics: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Replica {
    fn new(dir: &Path, n: usize, redis: &str, tokens: &Path, prefix: &str) -> Self {
        let free = || funnel::dev::redis::free_port().unwrap();
        let (grpc, metrics) = (free(), free());
        let config = dir.join(format!("replica{n}.toml"));
        std::fs::write(
            &config,
            common::serve::serve_toml(grpc, metrics, redis, tokens, prefix, ""),
        )
        .unwrap();
        let mut r = Self {
            grpc,
            metrics,
            config,
            log: dir.join(format!("replica{n}.log")),
            child: None,
        };
        r.start();
        r
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_funnel"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL: no drain, no goodbye.
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }

    async fn ready(&self) {
        let addr = format!("127.0.0.1:{}", self.metrics).parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !matches!(
            funnel::dev::server::http_get(addr, "/readyz").await,
            Ok((200, _))
        ) {
            assert!(
                Instant::now() < deadline,
                "replica not ready: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One principal's clients on every replica; a call that fails on the
/// transport moves on to the next replica and is made again.
struct Pool {
    clients: Vec<Clients>,
    log: Arc<Mutex<Log>>,
}

impl Pool {
    async fn new(endpoints: &[String], token: &str, log: Arc<Mutex<Log>>) -> Self {
        let mut clients = Vec::new();
        for e in endpoints {
            // Lazy: a replica that is down now is connected to when needed.
            let channel = tonic::transport::Endpoint::from_shared(e.clone())
                .unwrap()
                .connect_timeout(Duration::from_millis(500))
                .connect_lazy();
            clients.push(Clients::with_channel(channel, token).unwrap());
        }
        Self { clients, log }
    }

    /// `f` on one replica after the other until it answers something other
    /// than a transport failure (or 60 s pass: then the run failed).
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, tonic::Status>
    where
        F: Fn(Clients) -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut n = rand::rng().random_range(0..self.clients.len());
        loop {
            match f(self.clients[n % self.clients.len()].clone()).await {
                Err(s)
                    if matches!(
                        s.code(),
                        Code::Unavailable | Code::Unknown | Code::Cancelled
                    ) && Instant::now() < deadline =>
                {
                    self.log.lock().unwrap().retries += 1;
                    n += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    }
}

#[derive(Default)]
struct Log {
    submitted: Vec<String>,
    /// Leads whose remote completion or referral completion was acknowledged.
    closed: Vec<String>,
    accepted: u64,
    declined: u64,
    retries: u64,
}

async fn submitter(p: Pool, tag: String, stop: CancellationToken) {
    let mut round = 0;
    while !stop.is_cancelled() {
        for call in calls_of("east-sh-pudong", 30, &format!("{tag}-{round}")) {
            if stop.is_cancelled() {
                return;
            }
            let r = p
                .call(|c| {
                    let call = call.clone();
                    async move {
                        c.intake
                            .clone()
                            .submit_interaction(pb::SubmitInteractionRequest {
                                interaction: Some(call),
                            })
                            .await
                    }
                })
                .await
                .expect("a submission failed on every replica for 60 s");
            p.log.lock().unwrap().submitted.push(r.into_inner().lead_id);
        }
        round += 1;
    }
}

async fn remote_worker(p: Pool, stop: CancellationToken) {
    let mut n = 0u64;
    while !stop.is_cancelled() {
        n += 1;
        let request_id = format!("replica-fault-pull-{n}");
        let pulled = p
            .call(|c| {
                let request_id = request_id.clone();
                async move {
                    c.desk
                        .clone()
                        .pull_leads(pb::PullLeadsRequest {
                            max_leads: 3,
                            lease_seconds: Some(600),
                            request_id,
                        })
                        .await
                }
            })
            .await
            .expect("a pull failed on every replica for 60 s")
            .into_inner()
            .leads;
        if pulled.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for l in pulled {
            let lead_id = l.lead.unwrap().lead_id;
            let done = p
                .call(|c| {
                    let (lead_id, lease_id) = (lead_id.clone(), l.lease_id.clone());
                    async move {
                        c.desk
                            .clone()
                            .complete_lead(pb::CompleteLeadRequest {
                                lead_id,
                                lease_id,
                                outcome: pb::Outcome::NotInterested as i32,
                                ..Default::default()
                            })
                            .await
                    }
                })
                .await;
            if done.is_ok() {
                p.log.lock().unwrap().closed.push(lead_id);
            }
        }
    }
}

/// Accepts and completes (or, `decline`, declines) every offer it is shown.
async fn branch_worker(p: Pool, decline: bool, stop: CancellationToken) {
    while !stop.is_cancelled() {
        let Ok(mine) = p
            .call(|c| async move {
                c.referrals
                    .clone()
                    .list_my_referrals(pb::ListMyReferralsRequest {})
                    .await
            })
            .await
        else {
            continue;
        };
        let offered = mine.into_inner().offered;
        if offered.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for r in offered {
            let (lead_id, offer_id) = (r.lead.unwrap().lead_id, r.offer_id);
            let ids = (lead_id.clone(), offer_id.clone());
            if decline {
                let done = p
                    .call(|c| {
                        let (lead_id, offer_id) = ids.clone();
                        async move {
                            c.referrals
                                .clone()
                                .decline_referral(pb::DeclineReferralRequest {
                                    lead_id,
                                    offer_id,
                                    reason: "branch busy".into(),
                                    category: pb::DeclineCategory::NoCapacity as i32,
                                })
                                .await
                        }
                    })
                    .await;
                p.log.lock().unwrap().declined += u64::from(done.is_ok());
                continue;
            }
            let accepted = p
                .call(|c| {
                    let (lead_id, offer_id) = ids.clone();
                    async move {
                        c.referrals
                            .clone()
                            .accept_referral(pb::AcceptReferralRequest { lead_id, offer_id })
                            .await
                    }
                })
                .await;
            if accepted.is_err() {
                continue; // the offer moved on (timed out, withdrawn)
            }
            p.log.lock().unwrap().accepted += 1;
            let done = p
                .call(|c| {
                    let (lead_id, offer_id) = ids.clone();
                    async move {
                        c.referrals
                            .clone()
                            .complete_referral(pb::CompleteReferralRequest {
                                lead_id,
                                offer_id,
                                outcome: pb::Outcome::Converted as i32,
                                note: String::new(),
                            })
                            .await
                    }
                })
                .await;
            if done.is_ok() {
                p.log.lock().unwrap().closed.push(lead_id);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_killed_under_load_lose_nothing_and_own_nothing_twice() {
    let kills: usize = std::env::var("FUNNEL_FAULT_REPLICA_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let tokens = team("any", "any").write_tokens(dir.path()).unwrap();
    let prefix = common::unique_prefix("replicas");
    let redis = common::single().url();
    let mut replicas: Vec<Replica> = (0..3)
        .map(|n| Replica::new(dir.path(), n, &redis, &tokens.path, &prefix))
        .collect();
    for r in &replicas {
        r.ready().await;
    }
    let endpoints: Vec<String> = replicas.iter().map(Replica::endpoint).collect();
    let log = Arc::new(Mutex::new(Log::default()));
    let pool = |who: usize| Pool::new(&endpoints, &tokens[who], log.clone());
    team("east", "east-sh-pudong")
        .register(&pool(ADMIN).await.clients[0])
        .await
        .unwrap();

    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    for t in 0..2 {
        tasks.push(tokio::spawn(submitter(
            pool(ROBOT).await,
            format!("k{t}"),
            stop.clone(),
        )));
    }
    tasks.push(tokio::spawn(remote_worker(pool(R1).await, stop.clone())));
    tasks.push(tokio::spawn(branch_worker(
        pool(O1).await,
        false,
        stop.clone(),
    )));
    tasks.push(tokio::spawn(branch_worker(
        pool(O2).await,
        true,
        stop.clone(),
    )));

    let t0 = Instant::now();
    for _ in 0..kills {
        let pause = rand::rng().random_range(300..900);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let victim = rand::rng().random_range(0..replicas.len());
        replicas[victim].kill9();
        replicas[victim].start();
    }
    for r in &replicas {
        r.ready().await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();

    let admin = pool(ADMIN).await;
    let log = std::mem::take(&mut *log.lock().unwrap());
    let mut lost = Vec::new();
    let trail = |lead: &String| {
        let lead = lead.clone();
        admin.call(move |c| {
            let lead_id = lead.clone();
            async move {
                c.admin
                    .clone()
                    .get_audit_trail(pb::GetAuditTrailRequest { lead_id })
                    .await
                    .map(|r| r.into_inner().events)
            }
        })
    };
    for lead in &log.submitted {
        if trail(lead).await.is_err() {
            lost.push(format!("lead {lead}"));
        }
    }
    let closed = [
        pb::LeadState::ClosedConverted as i32,
        pb::LeadState::ClosedNotInterested as i32,
    ];
    for lead in &log.closed {
        let last = trail(lead)
            .await
            .ok()
            .and_then(|e| e.last().map(|e| e.to_state));
        if !last.is_some_and(|s| closed.contains(&s)) {
            lost.push(format!("closing of {lead}"));
        }
    }
    println!(
        "{kills} kill -9 of 3 replicas in {secs:.0} s: {} submissions, {} closings, {} accepts, \
         {} declines acknowledged; {} retries on another replica; {} lost",
        log.submitted.len(),
        log.closed.len(),
        log.accepted,
        log.declined,
        log.retries,
        lost.len()
    );
    for r in replicas.iter_mut() {
        r.kill9();
    }
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(
        log.submitted.len() > 30 && !log.closed.is_empty(),
        "too little load"
    );

    // Every lead in exactly one place, with at most one owner.
    assert_invariants(&router_on(vec![redis], false, &prefix).await).await;
}
