//! Scoring: tokenizer + text ONNX model + tabular ONNX model → a calibrated
//! probability, a 0–100 score, the intent distribution, a bucket and the top
//! reasons. Sessions live on threads of their own (never on the async
//! runtime); requests reach them through a bounded queue and are batched
//! opportunistically: a worker takes whatever is queued, up to `max_batch`.

pub mod engine;
pub mod input;
pub mod manifest;

pub use engine::{EngineOptions, Models, RawOutputs, StageTimes};
pub use input::{FeatureValue, ScoreRequest, Speaker, Turn};
pub use manifest::Manifest;

use crate::domain::{Bucket, Reason};
use crate::routing::RoutePolicy;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Errors of the scoring layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScoringError {
    /// The input breaks the feature schema; `field` names it.
    #[error("{field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// A model file does not match the manifest, or cannot be loaded.
    #[error("{file}: {msg}")]
    Manifest { file: String, msg: String },
    /// The scoring queue is full.
    #[error("scoring queue is full ({0} batches waiting)")]
    Overloaded(usize),
    /// ONNX Runtime or the tokenizer failed.
    #[error("scoring runtime error: {0}")]
    Runtime(String),
    #[error("the scorer is shut down")]
    Shutdown,
}

/// The score of one lead.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredLead {
    /// Calibrated probability of conversion within 30 days.
    pub probability: f64,
    pub score: u8,
    pub bucket: Bucket,
    /// Intent label → probability, in the manifest's order.
    pub intents: Vec<(String, f64)>,
    pub model_version: String,
    /// Top reasons pushing up, then down (log-odds weights).
    pub reasons: Vec<Reason>,
    /// Features that were missing and took the model's default.
    pub defaulted: Vec<String>,
    /// The transcript was cut (characters or tokens).
    pub truncated: bool,
}

impl ScoredLead {
    pub fn intent(&self, name: &str) -> f64 {
        self.intents
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| *p)
            .unwrap_or(0.0)
    }
}

/// How the scorer runs.
#[derive(Debug, Clone)]
pub struct ScorerConfig {
    pub manifest: PathBuf,
    pub ort_library: Option<PathBuf>,
    /// Scoring threads, each with its own sessions.
    pub threads: usize,
    /// ONNX Runtime intra-op threads per session.
    pub onnx_threads: usize,
    pub max_batch: usize,
    /// Jobs waiting before callers get `Overloaded`.
    pub queue_capacity: usize,
    pub reasons_per_side: usize,
    pub campaign_policies: HashMap<String, RoutePolicy>,
}

/// Cumulative time per stage across all workers (for metrics).
#[derive(Debug, Default)]
pub struct ScoringStats {
    pub batches: AtomicU64,
    pub items: AtomicU64,
    pub tokenize_ns: AtomicU64,
    pub text_model_ns: AtomicU64,
    pub tabular_model_ns: AtomicU64,
    pub reasons_ns: AtomicU64,
    pub total_ns: AtomicU64,
    pub queue_wait_ns: AtomicU64,
}

impl ScoringStats {
    fn record(&self, t: &StageTimes, items: usize, wait_ns: u64) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.items.fetch_add(items as u64, Ordering::Relaxed);
        self.tokenize_ns
            .fetch_add(t.tokenize.as_nanos() as u64, Ordering::Relaxed);
        self.text_model_ns
            .fetch_add(t.text_model.as_nanos() as u64, Ordering::Relaxed);
        self.tabular_model_ns
            .fetch_add(t.tabular_model.as_nanos() as u64, Ordering::Relaxed);
        self.reasons_ns
            .fetch_add(t.reasons.as_nanos() as u64, Ordering::Relaxed);
        self.total_ns
            .fetch_add(t.total.as_nanos() as u64, Ordering::Relaxed);
        self.queue_wait_ns.fetch_add(wait_ns, Ordering::Relaxed);
    }
}

type Item = (ScoreRequest, Option<String>);
type Reply = Vec<Result<ScoredLead, ScoringError>>;

struct Job {
    items: Vec<Item>,
    reply: tokio::sync::oneshot::Sender<Reply>,
    enqueued: Instant,
}

/// The scoring service: a pool of threads owning the models.
pub struct Scorer {
    tx: Option<crossbeam_channel::Sender<Job>>,
    manifest: Arc<Manifest>,
    workers: Vec<std::thread::JoinHandle<()>>,
    stats: Arc<ScoringStats>,
    capacity: usize,
}

impl Scorer {
    /// Loads the manifest and models (checked) on every worker; fails with
    /// the first load error.
    pub fn start(cfg: &ScorerConfig) -> Result<Self, ScoringError> {
        let manifest = Arc::new(Manifest::load(&cfg.manifest)?);
        let env = engine::environment(cfg.ort_library.as_deref())?;
        let opts = EngineOptions {
            onnx_threads: cfg.onnx_threads.max(1),
            reasons_per_side: cfg.reasons_per_side,
            campaign_policies: Arc::new(cfg.campaign_policies.clone()),
        };
        let (tx, rx) = crossbeam_channel::bounded::<Job>(cfg.queue_capacity.max(1));
        let stats = Arc::new(ScoringStats::default());
        let mut workers = Vec::new();
        for n in 0..cfg.threads.max(1) {
            let models = Models::load(env, manifest.clone(), &opts)?;
            let rx = rx.clone();
            let stats = stats.clone();
            let max_batch = cfg.max_batch.max(1);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("funnel-scoring-{n}"))
                    .spawn(move || worker(models, rx, max_batch, stats))
                    .map_err(|e| ScoringError::Runtime(e.to_string()))?,
            );
        }
        Ok(Self {
            tx: Some(tx),
            manifest,
            workers,
            stats,
            capacity: cfg.queue_capacity,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn stats(&self) -> &ScoringStats {
        &self.stats
    }

    /// Scores leads (each with its campaign id for per-campaign thresholds).
    /// Fails as a whole only when overloaded or shut down.
    pub async fn score(&self, items: Vec<Item>) -> Result<Reply, ScoringError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let tx = self.tx.as_ref().ok_or(ScoringError::Shutdown)?;
        tx.try_send(Job {
            items,
            reply,
            enqueued: Instant::now(),
        })
        .map_err(|e| match e {
            crossbeam_channel::TrySendError::Full(_) => ScoringError::Overloaded(self.capacity),
            crossbeam_channel::TrySendError::Disconnected(_) => ScoringError::Shutdown,
        })?;
        rx.await.map_err(|_| ScoringError::Shutdown)
    }

    /// Taking work, with every worker alive (a panicked worker has ended).
    pub fn is_running(&self) -> bool {
        self.tx.is_some() && self.workers.iter().all(|w| !w.is_finished())
    }

    /// Stops taking work, lets the workers finish what is queued, joins them.
    pub fn shutdown(&mut self) {
        self.tx.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for Scorer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn worker(
    mut models: Models,
    rx: crossbeam_channel::Receiver<Job>,
    max_batch: usize,
    stats: Arc<ScoringStats>,
) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let mut n = jobs[0].items.len();
        while n < max_batch {
            match rx.try_recv() {
                Ok(j) => {
                    n += j.items.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let wait_ns: u64 = jobs
            .iter()
            .map(|j| started.duration_since(j.enqueued).as_nanos() as u64)
            .sum();
        let mut sizes = Vec::with_capacity(jobs.len());
        let mut items = Vec::with_capacity(n);
        let mut replies = Vec::with_capacity(jobs.len());
        for j in jobs {
            sizes.push(j.items.len());
            items.extend(j.items);
            replies.push(j.reply);
        }
        let mut times = StageTimes::default();
        let mut results = models.score_batch(&items, &mut times).into_iter();
        stats.record(&times, items.len(), wait_ns);
        for (size, reply) in sizes.into_iter().zip(replies) {
            let part: Reply = results.by_ref().take(size).collect();
            // The caller may have gone away (cancelled request): fine.
            let _ = reply.send(part);
        }
    }
}
