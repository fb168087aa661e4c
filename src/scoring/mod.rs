//! Scoring: tokenizer + text ONNX model + tabular ONNX model → a calibrated
//! probability, a 0–100 score, the intent distribution and the top reasons.
//! Buckets and campaigns are policy (`domain::Policy`), not scoring. Sessions live on threads of their own (never on the async
//! runtime); requests reach them through a bounded queue and are batched
//! opportunistically: a worker takes whatever is queued, up to `max_batch`.

pub mod engine;
pub mod input;
pub mod lexicon;
pub mod manifest;
mod reasons;
pub mod text;

pub use engine::{EngineOptions, Models, RawOutputs, StageTimes};
pub use input::{FeatureValue, ScoreRequest, Speaker, Turn};
pub use lexicon::{Lexicon, LexiconHit, LexiconKind};
pub use manifest::Manifest;

use crate::domain::Reason;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Intent label → probability, most probable first.
    pub intents: Vec<(String, f64)>,
    /// The text model's probability that the customer asked not to be
    /// contacted again.
    pub do_not_contact: f64,
    /// Compliance lexicon hits in the customer's turns (they also lead `reasons`).
    pub lexicon: Vec<LexiconHit>,
    pub model_version: String,
    /// Lexicon hits first (weight 0), then the top reasons, strongest first
    /// either way (log-odds weights).
    pub reasons: Vec<Reason>,
    /// Features that were missing and took the model's default.
    pub defaulted: Vec<String>,
    /// The customer's speech was cut (characters or tokens).
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
#[derive(Clone)]
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
    /// Told of every batch scored (for metrics).
    pub on_batch: Option<BatchObserver>,
}

/// What one batch cost: its size, the time its jobs waited in the queue
/// (the longest), and each stage.
#[derive(Debug, Clone, Copy)]
pub struct BatchReport {
    pub items: usize,
    pub queue_wait: Duration,
    pub times: StageTimes,
}

pub type BatchObserver = Arc<dyn Fn(&BatchReport) + Send + Sync>;

type Reply = Vec<Result<ScoredLead, ScoringError>>;

struct Job {
    items: Vec<ScoreRequest>,
    reply: tokio::sync::oneshot::Sender<Reply>,
    enqueued: Instant,
}

/// The scoring service: a pool of threads owning the models.
pub struct Scorer {
    tx: Option<crossbeam_channel::Sender<Job>>,
    manifest: Arc<Manifest>,
    workers: Vec<std::thread::JoinHandle<()>>,
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
        };
        let (tx, rx) = crossbeam_channel::bounded::<Job>(cfg.queue_capacity.max(1));
        let mut workers = Vec::new();
        for n in 0..cfg.threads.max(1) {
            let models = Models::load(env, manifest.clone(), &opts)?;
            let rx = rx.clone();
            let on_batch = cfg.on_batch.clone();
            let max_batch = cfg.max_batch.max(1);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("funnel-scoring-{n}"))
                    .spawn(move || worker(models, rx, max_batch, on_batch))
                    .map_err(|e| ScoringError::Runtime(e.to_string()))?,
            );
        }
        Ok(Self {
            tx: Some(tx),
            manifest,
            workers,
            capacity: cfg.queue_capacity,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Scores leads, one result per item. Fails as a whole only when
    /// overloaded or shut down.
    pub async fn score(&self, items: Vec<ScoreRequest>) -> Result<Reply, ScoringError> {
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
    on_batch: Option<BatchObserver>,
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
        let queue_wait = jobs
            .iter()
            .map(|j| started.duration_since(j.enqueued))
            .max()
            .unwrap_or_default();
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
        if let Some(observe) = &on_batch {
            observe(&BatchReport {
                items: items.len(),
                queue_wait,
                times,
            });
        }
        for (size, reply) in sizes.into_iter().zip(replies) {
            let part: Reply = results.by_ref().take(size).collect();
            // The caller may have gone away (cancelled request): fine.
            let _ = reply.send(part);
        }
    }
}
