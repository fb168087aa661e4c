//! `funnel loadgen`: drives SubmitInteraction (a warm-up, then a closed
//! loop at a concurrency, then an open loop at a rate) and reports, per
//! phase, calls that succeeded (status OK and a whole answer) per second,
//! errors by code, latency percentiles and the server's per-stage timing
//! read from its /metrics; a human line and a JSON line each.
//!
//! - `--addr URL` (repeatable): any running server or servers, with the
//!   robot's token (`--token` / `FUNNEL_TOKEN`); connections are spread over
//!   them; `--metrics HOST:PORT` (repeatable) names their metrics ports.
//! - Without `--addr`: a server and a private Redis started in this process,
//!   with remote managers pulling 10 leads at a time during the open loop.
//!   Client and server then share this machine's cores: the figures include
//!   the load generator's own cost.

mod drive;
mod report;

use crate::api::auth::Principal;
use crate::api::pb;
use crate::client::{read_interactions, ClientTls, Clients};
use crate::config::Config;
use crate::dev::roster::{principal_of, Roster};
use crate::dev::server::{scrape, LocalFunnel};
use crate::domain::{BranchId, ManagerTier, RegionId};
use drive::Calls;
use report::{Report, Tally};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Drive this running server (repeatable: connections are spread over
    /// all). Unset: a server and a private Redis start in this process.
    #[arg(long)]
    pub addr: Vec<String>,
    /// The robot's bearer token, for `--addr`.
    #[arg(long, env = "FUNNEL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA (PEM) of `https://` servers' certificates.
    #[arg(long, env = "FUNNEL_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Metrics ports (host:port) of the `--addr` servers, read before and
    /// after each phase for the server's per-stage timing (plain HTTP,
    /// without a metrics token).
    #[arg(long)]
    pub metrics: Vec<SocketAddr>,
    /// Connections per server.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Seconds of closed-loop load before the phases, not counted.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Share of requests (0..=1) that resend an interaction already
    /// acknowledged; their answer must be the recorded one. Requests are
    /// new until 64 are acknowledged (1: only replays after that).
    #[arg(long, default_value_t = 0.0)]
    pub replay_share: f64,
    /// Closed loop: requests in flight.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Open loop: requests per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Seconds per phase.
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
    /// In-process server only: remote managers pulling 10 leads at a time
    /// during the open loop.
    #[arg(long, default_value_t = 4)]
    pub pullers: usize,
    /// In-process server only: use this Redis instead of a private one.
    #[arg(long)]
    pub redis_url: Option<String>,
    #[arg(long, default_value = "models/manifest.json")]
    pub manifest: PathBuf,
    /// The calls sent (each with fresh ids); their regions and branches
    /// must be registered on an `--addr` server.
    #[arg(long, default_value = "models/holdout_sample.jsonl")]
    pub calls_file: PathBuf,
    /// Run only this phase: "closed" or "open".
    #[arg(long)]
    pub only: Option<String>,
}

/// The /metrics pages of every server, joined (sums add up across them).
async fn metrics_pages(addrs: &[SocketAddr]) -> String {
    let mut all = String::new();
    for a in addrs {
        all.push_str(&scrape(*a).await.unwrap_or_default());
        all.push('\n');
    }
    all
}

/// Warm-up, then the closed and open submit phases, reported.
async fn submit_phases(
    args: &LoadArgs,
    robots: &[Clients],
    calls: &Arc<Calls>,
    metrics: &[SocketAddr],
    during_open: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    if args.warmup > 0 {
        drive::closed(
            robots,
            calls,
            args.concurrency,
            Duration::from_secs(args.warmup),
        )
        .await?;
    }
    let length = Duration::from_secs(args.seconds);
    let stages =
        |before: &str, after: &str| (!metrics.is_empty()).then(|| report::stages(before, after));
    if args.only.as_deref() != Some("open") {
        let before = metrics_pages(metrics).await;
        let (tally, secs) = drive::closed(robots, calls, args.concurrency, length).await?;
        let after = metrics_pages(metrics).await;
        Report {
            name: format!("SubmitInteraction closed, {} in flight", args.concurrency),
            secs,
            tally,
            stages: stages(&before, &after),
        }
        .print();
    }
    if args.only.as_deref() != Some("closed") {
        let before = metrics_pages(metrics).await;
        let (result, ()) = tokio::join!(drive::open(robots, calls, args.rate, length), during_open);
        let (tally, secs) = result?;
        let after = metrics_pages(metrics).await;
        Report {
            name: format!("SubmitInteraction open, {}/s", args.rate),
            secs,
            tally,
            stages: stages(&before, &after),
        }
        .print();
    }
    Ok(())
}

/// The calls of `args.calls_file` as requests.
fn protos(calls: &[crate::domain::Interaction]) -> Vec<pb::Interaction> {
    calls
        .iter()
        .map(crate::api::convert::interaction_to_pb)
        .collect()
}

pub fn run(args: LoadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.replay_share),
        "--replay-share must be in 0..=1"
    );
    if args.addr.is_empty() {
        run_in_process(args)
    } else {
        run_against(args)
    }
}

/// Drives the servers at `args.addr`.
fn run_against(args: LoadArgs) -> anyhow::Result<()> {
    let token = args.token.clone().ok_or_else(|| {
        anyhow::anyhow!("--addr needs the robot's token (--token or FUNNEL_TOKEN)")
    })?;
    let calls = read_interactions(&args.calls_file)?;
    anyhow::ensure!(
        !calls.is_empty(),
        "no calls in {}",
        args.calls_file.display()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut robots = Vec::new();
        for addr in &args.addr {
            let tls = match addr.starts_with("https://") {
                true => Some(ClientTls::from_files(args.tls_ca.as_deref(), None, None)?),
                false => None,
            };
            for _ in 0..args.connections.max(1) {
                robots.push(Clients::connect_with(addr, &token, tls.as_ref()).await?);
            }
        }
        println!(
            "loadgen: {} server(s) {:?}, {} connections, {} distinct calls, replay share {}",
            args.addr.len(),
            args.addr,
            robots.len(),
            calls.len(),
            args.replay_share
        );
        let calls = Arc::new(Calls::new(protos(&calls), args.replay_share));
        submit_phases(&args, &robots, &calls, &args.metrics, async {}).await
    })
}

fn run_in_process(args: LoadArgs) -> anyhow::Result<()> {
    let calls = read_interactions(&args.calls_file)?;
    // Remote managers that pull from every region, and one branch manager
    // per branch.
    let regions: std::collections::BTreeSet<RegionId> =
        calls.iter().map(|c| c.region_id.clone()).collect();
    let branches: std::collections::BTreeSet<(RegionId, BranchId)> = calls
        .iter()
        .map(|c| (c.region_id.clone(), c.branch_id.clone()))
        .collect();
    let home = regions
        .iter()
        .next()
        .map(|r| r.as_str())
        .unwrap_or_default();
    let mut roster = Roster::default();
    for i in 0..args.pullers.max(1) {
        let m = roster.remote(&format!("lg-r-{i}"), home)?;
        m.served_regions = regions.iter().cloned().collect();
        m.capacity = 1_000_000;
    }
    for (region, branch) in &branches {
        let m = roster.offline(&format!("lg-o-{branch}"), region.as_str(), branch.as_str())?;
        m.display_name = branch.to_string();
        m.capacity = 1_000_000;
    }
    let mut config = Config {
        manifest: args.manifest.clone(),
        log_filter: "warn".into(),
        ..Config::default()
    };
    config.routing.key_prefix = format!("lg-{:x}", rand::random::<u32>());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let local = LocalFunnel::start(args.redis_url.as_deref(), &roster, config, cores)?;
    let (server, tokens) = (&local.server, local.tokens.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()?;
    let endpoint = server.endpoint();
    let metrics = server.metrics;
    println!(
        "loadgen: server {} on this machine ({cores} cores shared with the load generator), {} distinct calls",
        server.grpc,
        calls.len()
    );
    let result = rt.block_on(async move {
        let admin = Clients::connect(&endpoint, tokens.get(&Principal::Admin)?).await?;
        roster.register(&admin).await?;
        // Several connections, as a robot fleet would have.
        let mut robots = Vec::new();
        for _ in 0..args.connections.max(1) {
            robots.push(Clients::connect(&endpoint, tokens.get(&Principal::Robot)?).await?);
        }
        let calls = Arc::new(Calls::new(protos(&calls), args.replay_share));
        let mut desks = Vec::new();
        for m in roster.of_tier(ManagerTier::Remote) {
            desks.push(Clients::connect(&endpoint, tokens.get(&principal_of(m))?).await?);
        }
        let length = Duration::from_secs(args.seconds);
        submit_phases(
            &args,
            &robots,
            &calls,
            &[metrics],
            pull_and_complete(desks, length),
        )
        .await
    });
    local.stop()?;
    result
}

/// Remote managers each pulling 10 leads, completing them, and again, for
/// `length`; reported as one phase.
async fn pull_and_complete(desks: Vec<Clients>, length: Duration) {
    let managers = desks.len();
    let stop = Arc::new(AtomicBool::new(false));
    let (pulled, complete_errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut tasks = Vec::new();
    for c in desks {
        let (stop, pulled, complete_errors, tally) = (
            stop.clone(),
            pulled.clone(),
            complete_errors.clone(),
            tally.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut desk = c.desk.clone();
            let mut local = Tally::default();
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                let req = pb::PullLeadsRequest {
                    max_leads: 10,
                    lease_seconds: None,
                    request_id: String::new(),
                };
                let leads = match desk.pull_leads(req).await {
                    Ok(r) => {
                        local.ok(t0.elapsed().as_micros() as u64);
                        r.into_inner().leads
                    }
                    Err(e) => {
                        local.status(&e);
                        Vec::new()
                    }
                };
                pulled.fetch_add(leads.len() as u64, Ordering::Relaxed);
                if leads.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                for l in leads {
                    let Some(lead) = l.lead else { continue };
                    let done = desk
                        .complete_lead(pb::CompleteLeadRequest {
                            lead_id: lead.lead_id,
                            lease_id: l.lease_id,
                            outcome: pb::Outcome::NotInterested as i32,
                            callback_at: None,
                            note: String::new(),
                        })
                        .await;
                    if done.is_err() {
                        complete_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            tally.lock().expect("tally").merge(&local);
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let tally = tally.lock().expect("tally").clone();
    Report {
        name: format!("PullLeads(10), {managers} managers, same time"),
        secs: start.elapsed().as_secs_f64(),
        tally,
        stages: None,
    }
    .print();
    println!(
        "  leads pulled: {}, completions that failed: {}",
        pulled.load(Ordering::Relaxed),
        complete_errors.load(Ordering::Relaxed)
    );
}
