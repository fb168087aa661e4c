//! Routing throughput against a private local redis-server, over ONE
//! multiplexed connection with 64 concurrent tasks: ingest+route (the ingest
//! script, medium leads into the pool) and pull+complete (pull 1 lead,
//! complete it as not interested); plus Redis's own CPU cost per script call
//! from `INFO commandstats`, and `redis-benchmark -t set` on the same server
//! as the ceiling.
//!
//! Run: `cargo bench --bench routing` (env `FUNNEL_BENCH_LEADS`, default 50000).

use funnel::dev::redis::{RedisNode, RedisOptions};
use funnel::dev::roster::Roster;
use funnel::domain::*;
use funnel::routing::{
    Completion, IngestRequest, LeaseRef, RedisConn, RedisTarget, Router, RoutingConfig,
};
use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TASKS: usize = 64;

/// `usec_per_call` and `calls` of every routing operation (commandstats lumps
/// them as `fcall`), so each phase resets stats first.
fn fcall_stats(server: &RedisNode) -> (u64, f64) {
    let info = server.cli(&["INFO", "commandstats"]);
    for line in info.lines() {
        if let Some(rest) = line.strip_prefix("cmdstat_fcall:") {
            let kv: HashMap<&str, &str> =
                rest.split(',').filter_map(|p| p.split_once('=')).collect();
            return (
                kv["calls"].parse().unwrap(),
                kv["usec_per_call"].parse().unwrap(),
            );
        }
    }
    (0, 0.0)
}

/// CPU seconds so far of this process (the client: router, tokio, redis-rs)
/// and of the redis-server (`INFO cpu`), to say who spent the shared cores.
fn cpu(server: &RedisNode) -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name: utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0; // USER_HZ on Linux
    let client = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    let info = server.cli(&["INFO", "cpu"]);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (client, field("used_cpu_user:") + field("used_cpu_sys:"))
}

/// With `FUNNEL_BENCH_COMMANDSTATS` set: the phase's commands (those run
/// inside scripts included) by total Redis CPU, to see where a script spends.
fn commandstats(server: &RedisNode, phase: &str) {
    if std::env::var("FUNNEL_BENCH_COMMANDSTATS").is_err() {
        return;
    }
    let info = server.cli(&["INFO", "commandstats"]);
    let mut rows: Vec<(String, u64, f64)> = info
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let kv: HashMap<&str, &str> =
                rest.split(',').filter_map(|p| p.split_once('=')).collect();
            Some((
                name.to_string(),
                kv.get("calls")?.parse().ok()?,
                kv.get("usec")?.parse().ok()?,
            ))
        })
        .collect();
    rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    println!("commandstats after {phase} (command, calls, total ms, us/call):");
    for (name, calls, usec) in rows {
        println!(
            "  {name:24} {calls:>9} {:>10.1} {:>8.2}",
            usec / 1e3,
            usec / calls.max(1) as f64
        );
    }
}

fn interaction(i: usize) -> IngestRequest {
    funnel::dev::sample::ingest_request(
        &format!("bench-{i}"),
        &format!("cust-{i}"),
        &RegionId::parse("east").unwrap(),
        Product::ALL[i % Product::ALL.len()],
        Route::Remote,
        (i % 100) as u8,
    )
}

/// A fresh pull request id.
fn request() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("b{}", N.fetch_add(1, Ordering::Relaxed))
}

fn main() {
    let n: usize = std::env::var("FUNNEL_BENCH_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let server = RedisNode::start(&RedisOptions::default()).expect("redis-server");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = RedisConn::connect(&RedisTarget {
            urls: vec![server.url()],
            cluster: false,
            response_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            tls: None,
        })
        .await
        .unwrap();
        // FUNNEL_BENCH_COUNTERS=off: without the cockpit's funnel counters,
        // to measure what counting costs (scripts/bench-counters.sh).
        let counters = std::env::var("FUNNEL_BENCH_COUNTERS").map_or(true, |v| v != "off");
        println!("funnel counters: {}", if counters { "on" } else { "off" });
        let router = Router::new(
            conn,
            RoutingConfig {
                funnel_counters: counters,
                ..RoutingConfig::default()
            },
        );
        let mut managers = Roster::default();
        for m in 0..TASKS {
            managers.remote(&format!("r{m}"), "east").unwrap().capacity = 1_000_000;
        }
        managers.upsert_into(&router).await.unwrap();
        let requests: Arc<Vec<IngestRequest>> = Arc::new((0..n).map(interaction).collect());

        // Phase 1: ingest+route.
        server.cli(&["CONFIG", "RESETSTAT"]);
        let next = Arc::new(AtomicUsize::new(0));
        let cpu0 = cpu(&server);
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (router, next, requests) = (router.clone(), next.clone(), requests.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= requests.len() {
                            break;
                        }
                        router.ingest(&requests[i]).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let ingest_secs = start.elapsed().as_secs_f64();
        let cpu1 = cpu(&server);
        let (ingest_calls, ingest_usec) = fcall_stats(&server);
        commandstats(&server, "ingest+route");

        // Phase 2: pull one + complete it, 64 managers at once.
        server.cli(&["CONFIG", "RESETSTAT"]);
        let done = Arc::new(AtomicUsize::new(0));
        let cpu2 = cpu(&server);
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|m| {
                let (router, done) = (router.clone(), done.clone());
                tokio::spawn(async move {
                    let me = ManagerId::parse(format!("r{m}")).unwrap();
                    loop {
                        let leases = router.pull(&me, 1, None, &request()).await.unwrap();
                        let Some(l) = leases.into_iter().next() else { break };
                        router
                            .complete(
                                LeaseRef { manager: &me, lead: &l.lead.id, lease_id: &l.lease_id },
                                Completion { outcome: RemoteOutcome::NotInterested, callback_at: None, note: "" },
                            )
                            .await
                            .unwrap();
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let pair_secs = start.elapsed().as_secs_f64();
        let cpu3 = cpu(&server);
        let pairs = done.load(Ordering::Relaxed);
        let (pc_calls, pc_usec) = fcall_stats(&server);
        commandstats(&server, "pull+complete");

        // Phase 3: pull script cost alone, 10 leads per pull.
        for i in 0..n.min(20_000) {
            let mut r = requests[i].clone();
            r.interaction_id = InteractionId::parse(format!("again-{i}")).unwrap();
            r.customer = CustomerId::parse(format!("again-{i}")).unwrap();
            router.ingest(&r).await.unwrap();
        }
        server.cli(&["CONFIG", "RESETSTAT"]);
        let me = ManagerId::parse("r0").unwrap();
        let mut leased = 0usize;
        loop {
            let got = router.pull(&me, 10, None, &request()).await.unwrap().len();
            if got == 0 {
                break;
            }
            leased += got;
        }
        let (pull_calls, pull_usec) = fcall_stats(&server);
        commandstats(&server, "pull 10");

        // The ceiling on the same server.
        let bench = Command::new("redis-benchmark")
            .args(["-p", &server.port().to_string(), "-t", "set", "-n", "200000", "-c", "64", "-P", "1", "-q"])
            .output()
            .expect("redis-benchmark");
        let ceiling = String::from_utf8_lossy(&bench.stdout).replace('\r', "\n");
        let ceiling = ceiling.lines().rfind(|l| l.contains("requests per second")).unwrap_or("").trim().to_string();

        println!("machine: {} cores; redis-server {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            server.cli(&["INFO", "server"]).lines().find(|l| l.starts_with("redis_version")).unwrap_or(""));
        println!("ingest+route:   {n} leads in {ingest_secs:.2}s = {:.0} leads/s (64 tasks, 1 connection)", n as f64 / ingest_secs);
        println!("                redis CPU {ingest_usec:.2} us/call over {ingest_calls} script calls");
        println!("                CPU per lead: client {:.1} us, redis-server {:.1} us (both on the same cores)",
            (cpu1.0 - cpu0.0) * 1e6 / n as f64, (cpu1.1 - cpu0.1) * 1e6 / n as f64);
        println!("pull+complete:  {pairs} pairs in {pair_secs:.2}s = {:.0} pairs/s", pairs as f64 / pair_secs);
        println!("                redis CPU {pc_usec:.2} us/call over {pc_calls} script calls (pull 1 + complete)");
        println!("                CPU per pair: client {:.1} us, redis-server {:.1} us",
            (cpu3.0 - cpu2.0) * 1e6 / pairs.max(1) as f64, (cpu3.1 - cpu2.1) * 1e6 / pairs.max(1) as f64);
        println!("pull (10/call): {leased} leads in {pull_calls} calls, redis CPU {pull_usec:.2} us/call = {:.2} us per leased lead",
            pull_usec * pull_calls as f64 / leased.max(1) as f64);
        println!("ceiling:        redis-benchmark -t set -c 64 -P 1: {ceiling}");
    });
}
