//! What a load phase measured: calls that succeeded (status OK and a whole
//! answer), errors by gRPC code name (and `INCOMPLETE` / `REPLAY_MISMATCH`
//! for answers that came back OK but wrong), latency percentiles, and the
//! server's per-stage time when its /metrics was read. Printed as a human
//! line and as one JSON line (`{"loadgen": ...}`) for scripts.

use crate::dev::server::metric_sum;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

pub fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram")
}

/// One phase's counts, merged from its workers.
#[derive(Clone)]
pub struct Tally {
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    /// The first message seen of each error code (what the status said).
    pub samples: BTreeMap<String, String>,
    /// µs per successful call.
    pub latency: Histogram<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            ok: 0,
            errors: BTreeMap::new(),
            samples: BTreeMap::new(),
            latency: hist(),
        }
    }
}

impl Tally {
    pub fn ok(&mut self, micros: u64) {
        self.ok += 1;
        let _ = self.latency.record(micros.max(1));
    }
    pub fn error(&mut self, code: String) {
        *self.errors.entry(code).or_default() += 1;
    }
    /// An error status: its code counted, its first message kept.
    pub fn status(&mut self, s: &tonic::Status) {
        let code = crate::telemetry::grpc_code_name(s.code());
        self.samples
            .entry(code.clone())
            .or_insert_with(|| s.message().chars().take(200).collect());
        self.error(code);
    }
    pub fn merge(&mut self, other: &Tally) {
        self.ok += other.ok;
        for (code, n) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += n;
        }
        for (code, m) in &other.samples {
            self.samples
                .entry(code.clone())
                .or_insert_with(|| m.clone());
        }
        self.latency
            .add(&other.latency)
            .expect("histograms of one shape");
    }
}

pub struct Report {
    pub name: String,
    pub secs: f64,
    pub tally: Tally,
    /// Mean server µs per interaction by stage, when /metrics was read.
    pub stages: Option<BTreeMap<String, f64>>,
}

impl Report {
    pub fn print(&self) {
        let t = &self.tally;
        let q = |p: f64| t.latency.value_at_quantile(p) as f64 / 1000.0;
        let errors: u64 = t.errors.values().sum();
        println!(
            "{:<38} {:>8.0} ok/s  ok {:>8}  errors {:>6}  latency ms p50 {:>6.2} p90 {:>6.2} p99 {:>6.2} p999 {:>7.2} max {:>7.2}",
            self.name,
            t.ok as f64 / self.secs,
            t.ok,
            errors,
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            t.latency.max() as f64 / 1000.0
        );
        if !t.errors.is_empty() {
            println!("  errors by code: {:?}", t.errors);
            for (code, m) in &t.samples {
                println!("    first {code}: {m}");
            }
        }
        if let Some(stages) = &self.stages {
            let line: Vec<String> = stages
                .iter()
                .map(|(s, us)| format!("{s} {us:.0} µs"))
                .collect();
            println!("  server per interaction: {}", line.join(", "));
        }
        let json = serde_json::json!({ "loadgen": {
            "phase": self.name,
            "seconds": self.secs,
            "ok": t.ok,
            "ok_per_second": t.ok as f64 / self.secs,
            "errors": t.errors,
            "error_samples": t.samples,
            "latency_ms": {
                "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999),
                "max": t.latency.max() as f64 / 1000.0,
            },
            "server_stage_us": self.stages,
        }});
        println!("{json}");
    }
}

/// Mean µs per interaction in each stage between two /metrics pages.
pub fn stages(before: &str, after: &str) -> BTreeMap<String, f64> {
    ["decode", "replay", "scoring", "redis"]
        .iter()
        .map(|s| {
            let sum = format!("funnel_stage_duration_seconds_sum{{stage=\"{s}\"}}");
            let count = format!("funnel_stage_duration_seconds_count{{stage=\"{s}\"}}");
            let ds = metric_sum(after, &sum) - metric_sum(before, &sum);
            let dc = metric_sum(after, &count) - metric_sum(before, &count);
            (s.to_string(), if dc > 0.0 { ds / dc * 1e6 } else { 0.0 })
        })
        .collect()
}
