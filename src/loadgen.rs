//! `funnel loadgen`: drives SubmitInteraction (closed loop at a concurrency,
//! then open loop at a rate, with remote managers pulling 10 leads at a time
//! meanwhile) against a funnel server started in this process on a private
//! Redis, and reports throughput, latency percentiles and the server's
//! per-stage timing (decode, scoring, redis) read from its /metrics.
//! Client and server share this machine's cores: the figures include the
//! load generator's own cost.

use crate::api::auth::Principal;
use crate::api::pb;
use crate::client::{read_interactions, Clients};
use crate::config::Config;
use crate::dev::roster::{principal_of, Roster};
use crate::dev::server::{metric_sum, scrape, LocalFunnel};
use crate::domain::{BranchId, ManagerTier, RegionId};
use hdrhistogram::Histogram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Closed loop: requests in flight.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Open loop: requests per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Seconds per phase.
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
    /// Remote managers pulling 10 leads at a time during the open loop.
    #[arg(long, default_value_t = 4)]
    pub pullers: usize,
    /// Use this Redis instead of starting a private one.
    #[arg(long)]
    pub redis_url: Option<String>,
    #[arg(long, default_value = "models/manifest.json")]
    pub manifest: PathBuf,
    #[arg(long, default_value = "models/holdout_sample.jsonl")]
    pub calls_file: PathBuf,
    /// Skip a phase: "closed" or "open".
    #[arg(long)]
    pub only: Option<String>,
}

struct Report {
    name: String,
    ok: u64,
    errors: u64,
    secs: f64,
    latency: Histogram<u64>,
}

impl Report {
    fn print(&self) {
        let q = |p: f64| self.latency.value_at_quantile(p) as f64 / 1000.0;
        println!(
            "{:<34} {:>8.0} req/s  ok {:>7}  errors {:>5}  latency ms p50 {:>6.2} p90 {:>6.2} p99 {:>6.2} max {:>7.2}",
            self.name,
            self.ok as f64 / self.secs,
            self.ok,
            self.errors,
            q(0.5),
            q(0.9),
            q(0.99),
            self.latency.max() as f64 / 1000.0
        );
    }
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram")
}

struct Stages {
    page: String,
}

impl Stages {
    async fn take(metrics: std::net::SocketAddr) -> Self {
        Self {
            page: scrape(metrics).await.unwrap_or_default(),
        }
    }
    /// Mean µs per interaction in each stage between two scrapes.
    fn diff(&self, before: &Stages) -> String {
        ["decode", "scoring", "redis"]
            .iter()
            .map(|s| {
                let sum = format!("funnel_stage_duration_seconds_sum{{stage=\"{s}\"}}");
                let count = format!("funnel_stage_duration_seconds_count{{stage=\"{s}\"}}");
                let ds = metric_sum(&self.page, &sum) - metric_sum(&before.page, &sum);
                let dc = metric_sum(&self.page, &count) - metric_sum(&before.page, &count);
                format!("{s} {:.0} µs", if dc > 0.0 { ds / dc * 1e6 } else { 0.0 })
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub fn run(args: LoadArgs) -> anyhow::Result<()> {
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
        for _ in 0..4 {
            robots.push(Clients::connect(&endpoint, tokens.get(&Principal::Robot)?).await?);
        }
        let protos: Arc<Vec<pb::Interaction>> = Arc::new(
            calls
                .iter()
                .map(crate::api::convert::interaction_to_pb)
                .collect(),
        );
        let seq = Arc::new(AtomicU64::new(0));
        let next = move |protos: &Arc<Vec<pb::Interaction>>, seq: &AtomicU64| {
            let n = seq.fetch_add(1, Ordering::Relaxed);
            let mut i = protos[(n % protos.len() as u64) as usize].clone();
            // Every request is a new interaction of a new customer.
            i.interaction_id = format!("{}-lg{n}", i.interaction_id);
            i.customer_id = format!("{}-lg{n}", i.customer_id);
            i
        };

        if args.only.as_deref() != Some("open") {
            // Warm-up, then the closed loop.
            let before = Stages::take(metrics).await;
            let report = Arc::new(Mutex::new(hist()));
            let (ok, err) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
            let end = Instant::now() + Duration::from_secs(args.seconds);
            let start = Instant::now();
            let mut tasks = Vec::new();
            for t in 0..args.concurrency {
                let mut client = robots[t % robots.len()].intake.clone();
                let (protos, seq, report, ok, err) = (
                    protos.clone(),
                    seq.clone(),
                    report.clone(),
                    ok.clone(),
                    err.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut local = hist();
                    while Instant::now() < end {
                        let i = next(&protos, &seq);
                        let t0 = Instant::now();
                        match client
                            .submit_interaction(pb::SubmitInteractionRequest {
                                interaction: Some(i),
                            })
                            .await
                        {
                            Ok(_) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                                let _ = local.record(t0.elapsed().as_micros() as u64);
                            }
                            Err(_) => {
                                err.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    report.lock().expect("hist").add(&local).expect("hist add");
                }));
            }
            for t in tasks {
                t.await?;
            }
            let secs = start.elapsed().as_secs_f64();
            let after = Stages::take(metrics).await;
            let latency = report.lock().expect("hist").clone();
            Report {
                name: format!("SubmitInteraction closed, {} in flight", args.concurrency),
                ok: ok.load(Ordering::Relaxed),
                errors: err.load(Ordering::Relaxed),
                secs,
                latency,
            }
            .print();
            println!("  server per interaction: {}", after.diff(&before));
        }

        if args.only.as_deref() != Some("closed") {
            let before = Stages::take(metrics).await;
            let stop = Arc::new(AtomicBool::new(false));
            // Pullers: each remote manager pulls 10, completes them, repeats.
            let pull_hist = Arc::new(Mutex::new(hist()));
            let pulled = Arc::new(AtomicU64::new(0));
            let (pull_errors, complete_errors) =
                (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
            let mut puller_tasks = Vec::new();
            for m in roster.of_tier(ManagerTier::Remote) {
                let c = Clients::connect(&endpoint, tokens.get(&principal_of(m))?).await?;
                let (stop, pull_hist, pulled) = (stop.clone(), pull_hist.clone(), pulled.clone());
                let (pull_errors, complete_errors) = (pull_errors.clone(), complete_errors.clone());
                puller_tasks.push(tokio::spawn(async move {
                    let mut desk = c.desk.clone();
                    let mut local = hist();
                    while !stop.load(Ordering::Relaxed) {
                        let t0 = Instant::now();
                        // Only successful pulls count, and only their latency is recorded.
                        let leads = match desk
                            .pull_leads(pb::PullLeadsRequest {
                                max_leads: 10,
                                lease_seconds: None,
                                request_id: String::new(),
                            })
                            .await
                        {
                            Ok(r) => {
                                let _ = local.record(t0.elapsed().as_micros() as u64);
                                r.into_inner().leads
                            }
                            Err(_) => {
                                pull_errors.fetch_add(1, Ordering::Relaxed);
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
                    pull_hist
                        .lock()
                        .expect("hist")
                        .add(&local)
                        .expect("hist add");
                }));
            }
            // Open loop: one request every 1/rate s, latency from the
            // intended send time (no coordinated omission).
            let report = Arc::new(Mutex::new(hist()));
            let (ok, err) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
            let total = args.rate * args.seconds;
            let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
            let start = Instant::now();
            let mut in_flight = Vec::with_capacity(total as usize);
            for n in 0..total {
                let due = start + interval * n as u32;
                tokio::time::sleep_until(due.into()).await;
                let mut client = robots[(n % robots.len() as u64) as usize].intake.clone();
                let i = next(&protos, &seq);
                let (report, ok, err) = (report.clone(), ok.clone(), err.clone());
                in_flight.push(tokio::spawn(async move {
                    match client
                        .submit_interaction(pb::SubmitInteractionRequest {
                            interaction: Some(i),
                        })
                        .await
                    {
                        Ok(_) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            let _ = report
                                .lock()
                                .expect("hist")
                                .record(due.elapsed().as_micros() as u64);
                        }
                        Err(_) => {
                            err.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }));
            }
            for t in in_flight {
                t.await?;
            }
            let secs = start.elapsed().as_secs_f64();
            stop.store(true, Ordering::Relaxed);
            for t in puller_tasks {
                t.await?;
            }
            let after = Stages::take(metrics).await;
            let latency = report.lock().expect("hist").clone();
            Report {
                name: format!("SubmitInteraction open, {}/s", args.rate),
                ok: ok.load(Ordering::Relaxed),
                errors: err.load(Ordering::Relaxed),
                secs,
                latency,
            }
            .print();
            println!("  server per interaction: {}", after.diff(&before));
            let pulls = pull_hist.lock().expect("hist").clone();
            Report {
                name: format!(
                    "PullLeads(10), {} managers, same time",
                    roster.of_tier(ManagerTier::Remote).count()
                ),
                ok: pulls.len(),
                errors: pull_errors.load(Ordering::Relaxed),
                secs,
                latency: pulls,
            }
            .print();
            println!(
                "  leads pulled: {}, completions that failed: {}",
                pulled.load(Ordering::Relaxed),
                complete_errors.load(Ordering::Relaxed)
            );
        }
        anyhow::Ok(())
    });
    local.stop()?;
    result
}
