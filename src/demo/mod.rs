//! `funnel demo`: the whole scene on a laptop. A private Redis and a funnel
//! server start; a robot submits a few hundred synthetic calls; remote
//! managers pull and complete; branch managers watch, accept, decline or let
//! offers time out; then the funnel is printed.

use crate::api::auth::Principal;
use crate::api::pb;
use crate::client::{read_interactions, Clients};
use crate::config::Config;
use crate::dev::roster::{principal_of, Roster, Tokens};
use crate::dev::server::{metric_sum, scrape, LocalFunnel};
use crate::domain::{BranchId, ManagerTier, Product, RegionId};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Calls the robot submits.
    #[arg(long, default_value_t = 300)]
    pub calls: usize,
    /// Use this Redis instead of starting a private one.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Referral accept SLA in the demo, seconds (short, so time-outs happen).
    #[arg(long, default_value_t = 4)]
    pub offer_sla_secs: u64,
    /// How long managers keep working after the robot is done, seconds.
    #[arg(long, default_value_t = 12)]
    pub work_secs: u64,
    /// The model manifest.
    #[arg(long, default_value = "models/manifest.json")]
    pub manifest: PathBuf,
    /// Synthetic calls (generator records).
    #[arg(long, default_value = "models/holdout_sample.jsonl")]
    pub calls_file: PathBuf,
}

#[derive(Default, Debug, Clone)]
struct Tally {
    offered: u32,
    accepted: u32,
    declined: u32,
    ignored: u32,
    pulled: u32,
    converted: u32,
    not_interested: u32,
    call_backs: u32,
    escalated: u32,
    handed_back: u32,
    /// Calls the server refused or that failed (not counted above).
    failed: u32,
}

type Tallies = Arc<Mutex<BTreeMap<String, Tally>>>;

/// A lead worth showing the audit trail of (one that was declined).
type Story = Arc<Mutex<Option<String>>>;

fn tally(t: &Tallies, who: &str, f: impl FnOnce(&mut Tally)) {
    f(t.lock()
        .expect("tally lock")
        .entry(who.to_string())
        .or_default());
}

fn chance(key: &str, salt: u64) -> f64 {
    // Deterministic per lead, so a rerun tells the same story.
    let mut h: u64 = 1469598103934665603 ^ salt;
    for b in key.bytes() {
        h = (h ^ b as u64).wrapping_mul(1099511628211);
    }
    (h % 10_000) as f64 / 10_000.0
}

mod actors;
use actors::{branch_manager, remote_manager};

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let run_id = format!("{:x}", rand::random::<u32>());
    let mut calls = read_interactions(&args.calls_file)?;
    calls.truncate(args.calls);
    anyhow::ensure!(
        !calls.is_empty(),
        "no calls in {}",
        args.calls_file.display()
    );

    // The cast: two branch managers per branch, one remote manager per
    // region, and one that serves two regions.
    let branches: BTreeSet<(RegionId, BranchId)> = calls
        .iter()
        .map(|c| (c.region_id.clone(), c.branch_id.clone()))
        .collect();
    let regions: BTreeSet<RegionId> = branches.iter().map(|(r, _)| r.clone()).collect();
    let mut roster = Roster::default();
    for (region, branch) in &branches {
        for n in 1..=2 {
            let m = roster.offline(&format!("o-{branch}-{n}"), region.as_str(), branch.as_str())?;
            m.display_name = format!("Branch manager {n} of {branch}");
            m.capacity = 3;
            if n != 1 {
                m.qualified_products.retain(|p| *p != Product::Loan);
            }
        }
    }
    for region in &regions {
        let m = roster.remote(&format!("r-{region}"), region.as_str())?;
        m.display_name = format!("Remote wealth manager, {region}");
        m.team = Some("remote-team".into());
        m.capacity = 15;
    }
    let first_two: Vec<RegionId> = regions.iter().take(2).cloned().collect();
    let m = roster.remote("r-roaming", first_two[0].as_str())?;
    m.display_name = "Remote wealth manager serving two regions".into();
    m.team = Some("remote-team".into());
    m.served_regions = first_two.clone();
    m.capacity = 15;

    for (i, c) in calls.iter_mut().enumerate() {
        c.interaction_id =
            crate::domain::InteractionId::parse(format!("{}-{run_id}", c.interaction_id))?;
        c.customer_id = crate::domain::CustomerId::parse(format!("{}-{run_id}", c.customer_id))?;
        if i % 7 == 0 {
            c.relationship_manager_id = Some(crate::domain::ManagerId::parse(format!(
                "o-{}-2",
                c.branch_id
            ))?);
        }
        if i % 9 == 0 {
            c.remote_manager_id = Some(crate::domain::ManagerId::parse(format!(
                "r-{}",
                c.region_id
            ))?);
        }
    }

    let mut config = Config {
        manifest: args.manifest.clone(),
        sweep_interval: Duration::from_millis(250),
        watch_poll: Duration::from_millis(500),
        stats_interval: Duration::from_secs(1),
        log_filter: "warn".into(),
        ..Config::default()
    };
    config.routing.key_prefix = format!("demo-{run_id}");
    config.routing.offer_sla = Duration::from_secs(args.offer_sla_secs);
    config.routing.backflow_wait = Duration::from_secs(args.offer_sla_secs * 2);
    config.routing.lease_default = Duration::from_secs(60);
    println!(
        "funnel demo: starting a private redis-server and the funnel server (models: {})",
        args.manifest.display()
    );
    let local = LocalFunnel::start(args.redis_url.as_deref(), &roster, config, 2)?;
    let server = &local.server;
    println!(
        "  server on {} (metrics on http://{}/metrics)",
        server.grpc, server.metrics
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let endpoint = server.endpoint();
    let metrics_addr = server.metrics;
    let result = rt.block_on(scene(
        endpoint,
        metrics_addr,
        calls,
        roster,
        local.tokens.clone(),
        args.work_secs,
    ));
    local.stop()?;
    result?;
    println!("\ndemo finished in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(())
}

async fn scene(
    endpoint: String,
    metrics_addr: std::net::SocketAddr,
    calls: Vec<crate::domain::Interaction>,
    roster: Roster,
    tokens: Tokens,
    work_secs: u64,
) -> anyhow::Result<()> {
    let admin = Clients::connect(&endpoint, tokens.get(&Principal::Admin)?).await?;
    roster.register(&admin).await?;
    println!(
        "  registered {} managers ({} branch, {} remote)",
        roster.managers.len(),
        roster.of_tier(ManagerTier::Offline).count(),
        roster.of_tier(ManagerTier::Remote).count()
    );

    let tallies: Tallies = Arc::default();
    let story: Story = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();

    for m in roster.of_tier(ManagerTier::Offline) {
        let c = Clients::connect(&endpoint, tokens.get(&principal_of(m))?).await?;
        let (id, tallies, stop, story) = (
            m.id.to_string(),
            tallies.clone(),
            stop.clone(),
            story.clone(),
        );
        workers.push(tokio::spawn(async move {
            branch_manager(c, id, tallies, stop, story).await
        }));
    }
    for m in roster.of_tier(ManagerTier::Remote) {
        let c = Clients::connect(&endpoint, tokens.get(&principal_of(m))?).await?;
        let (id, tallies, stop) = (m.id.to_string(), tallies.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            remote_manager(c, id, tallies, stop).await
        }));
    }

    // The robot uploads the campaign over one stream.
    let robot = Clients::connect(&endpoint, tokens.get(&Principal::Robot)?).await?;
    let n = calls.len();
    let items: Vec<pb::SubmitInteractionsRequest> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| pb::SubmitInteractionsRequest {
            sequence: i as i64,
            interaction: Some(crate::api::convert::interaction_to_pb(c)),
        })
        .collect();
    let started = Instant::now();
    let mut responses = robot
        .intake
        .clone()
        .submit_interactions(futures::stream::iter(items))
        .await?
        .into_inner();
    let mut by_bucket: BTreeMap<String, u32> = BTreeMap::new();
    let mut by_destination: BTreeMap<String, u32> = BTreeMap::new();
    let mut errors = 0;
    while let Some(r) = responses.next().await {
        match r?.item_result {
            Some(pb::submit_interactions_response::ItemResult::Result(res)) => {
                let bucket = res
                    .score
                    .map(|s| {
                        pb::Bucket::try_from(s.bucket)
                            .map(|b| b.as_str_name())
                            .unwrap_or("?")
                    })
                    .unwrap_or("?");
                *by_bucket
                    .entry(bucket.trim_start_matches("BUCKET_").to_lowercase())
                    .or_default() += 1;
                let dest = res
                    .destination
                    .map(|d| {
                        pb::DestinationKind::try_from(d.kind)
                            .map(|k| k.as_str_name())
                            .unwrap_or("?")
                    })
                    .unwrap_or("?");
                *by_destination
                    .entry(dest.trim_start_matches("DESTINATION_KIND_").to_lowercase())
                    .or_default() += 1;
            }
            _ => errors += 1,
        }
    }
    println!(
        "  robot submitted {n} calls in {:.2} s ({errors} errors)",
        started.elapsed().as_secs_f64()
    );
    // Idempotency: a replay returns the original lead.
    let replay = robot
        .intake
        .clone()
        .submit_interaction(pb::SubmitInteractionRequest {
            interaction: Some(crate::api::convert::interaction_to_pb(&calls[0])),
        })
        .await?
        .into_inner();
    println!(
        "  replaying {} → replayed={}, lead {}",
        calls[0].interaction_id, replay.replayed, replay.lead_id
    );

    println!(
        "  managers at work for {work_secs} s (offer SLA is short, so some offers time out)..."
    );
    tokio::time::sleep(Duration::from_secs(work_secs)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(5), w).await;
    }

    // The funnel.
    println!("\n== funnel: {n} calls ==");
    println!("  by bucket:      {}", fmt_map(&by_bucket));
    println!("  by destination: {}", fmt_map(&by_destination));
    let page = scrape(metrics_addr).await.unwrap_or_default();
    println!(
        "  SLA time-outs: {} offers; back-flows to remote: {}; expired leases: {}",
        metric_sum(&page, "funnel_offer_timeouts_total"),
        metric_sum(&page, "funnel_backflows_total"),
        metric_sum(&page, "funnel_lease_expirations_total")
    );
    println!("\n== per manager ==");
    println!(
        "  {:<28} {:>7} {:>8} {:>8} {:>7} {:>6} {:>9} {:>8} {:>9} {:>9} {:>9} {:>6}",
        "manager",
        "offered",
        "accepted",
        "declined",
        "ignored",
        "pulled",
        "converted",
        "not-int.",
        "call-back",
        "escalated",
        "handed-bk",
        "failed"
    );
    for (m, t) in tallies.lock().expect("tally lock").iter() {
        println!(
            "  {:<28} {:>7} {:>8} {:>8} {:>7} {:>6} {:>9} {:>8} {:>9} {:>9} {:>9} {:>6}",
            m,
            t.offered,
            t.accepted,
            t.declined,
            t.ignored,
            t.pulled,
            t.converted,
            t.not_interested,
            t.call_backs,
            t.escalated,
            t.handed_back,
            t.failed
        );
    }
    let stats = admin
        .admin
        .clone()
        .get_queue_stats(pb::GetQueueStatsRequest { region_id: None })
        .await?
        .into_inner();
    let mut depth: BTreeMap<String, i64> = BTreeMap::new();
    for q in &stats.queues {
        let name = pb::QueueKind::try_from(q.queue)
            .map(|k| k.as_str_name())
            .unwrap_or("?");
        *depth
            .entry(name.trim_start_matches("QUEUE_KIND_").to_lowercase())
            .or_default() += q.depth;
    }
    println!("\n== still waiting, by queue ==\n  {}", fmt_map(&depth));
    // One lead's audit trail, for the consumer-protection record.
    let shown = story
        .lock()
        .expect("story lock")
        .clone()
        .unwrap_or(replay.lead_id.clone());
    if let Some(first) = by_lead_with_history(&admin, &shown).await {
        println!("\n== audit trail of lead {shown} (declined once) ==");
        for e in first {
            println!(
                "  {:<22} {:<16} {:<42} {}",
                e.action,
                e.actor,
                e.reason.chars().take(42).collect::<String>(),
                e.manager_id
            );
        }
    }
    Ok(())
}

async fn by_lead_with_history(admin: &Clients, lead: &str) -> Option<Vec<pb::AuditEvent>> {
    admin
        .admin
        .clone()
        .get_audit_trail(pb::GetAuditTrailRequest {
            lead_id: lead.to_string(),
        })
        .await
        .ok()
        .map(|r| r.into_inner().events)
}

fn fmt_map<V: std::fmt::Display>(m: &BTreeMap<String, V>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("  ")
}
