//! The whole scoring path (validation, tokenization, both models, reasons) at
//! batch 1, 16, 64 and 256 on held-out transcripts, beside raw
//! `Session::run` of the same two models on the same inputs (the ceiling);
//! then a stage breakdown and the 2-thread throughput at batch 64.
//!
//! Run: `cargo bench --bench scoring` (ORT_DYLIB_PATH from .cargo/config.toml).

use criterion::{BenchmarkId, Criterion, Throughput};
use funnel::domain::Interaction;
use funnel::scoring::{
    engine, EngineOptions, Manifest, Models, ScoreRequest, Scorer, ScorerConfig, StageTimes,
};
use ndarray::Array2;
use ort::session::Session;
use ort::value::TensorRef;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn models_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models"))
}

fn holdout() -> Vec<ScoreRequest> {
    std::fs::read_to_string(models_dir().join("holdout_sample.jsonl"))
        .expect("models/holdout_sample.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Interaction>(l).unwrap())
        .map(|i| ScoreRequest::from(&i))
        .collect()
}

fn options() -> EngineOptions {
    EngineOptions {
        onnx_threads: 1,
        reasons_per_side: 3,
    }
}

/// Raw sessions on the same model files, fed pre-built tensors.
struct Raw {
    text: Session,
    tabular: Session,
}

impl Raw {
    fn open(manifest: &Manifest) -> Self {
        let env = engine::environment(None).unwrap();
        let open = |p: &str| -> Session {
            Session::builder(env)
                .unwrap()
                .with_intra_threads(1)
                .unwrap()
                .commit_from_file(manifest.path_of(p))
                .unwrap()
        };
        Self {
            text: open(&manifest.files.text_model.path),
            tabular: open(&manifest.files.tabular_model.path),
        }
    }

    fn run(&mut self, ids: &Array2<i64>, mask: &Array2<i64>, rows: &Array2<f32>) {
        let out = self
            .text
            .run(ort::inputs!["feature_ids" => TensorRef::from_array_view(ids).unwrap(), "feature_mask" => TensorRef::from_array_view(mask).unwrap()])
            .unwrap();
        std::hint::black_box(out["text_logit"].try_extract_tensor::<f32>().unwrap().1[0]);
        drop(out);
        let out = self
            .tabular
            .run(ort::inputs!["features" => TensorRef::from_array_view(rows).unwrap()])
            .unwrap();
        std::hint::black_box(out["probability"].try_extract_tensor::<f32>().unwrap().1[0]);
    }
}

fn tensors(
    manifest: &Manifest,
    models: &mut Models,
    reqs: &[ScoreRequest],
) -> (Array2<i64>, Array2<i64>, Array2<f32>) {
    let raw = models.raw_outputs(reqs).unwrap();
    let len = raw.iter().map(|r| r.feature_ids.len()).max().unwrap_or(1);
    let mut ids = Array2::<i64>::zeros((reqs.len(), len));
    let mut mask = Array2::<i64>::zeros((reqs.len(), len));
    for (r, o) in raw.iter().enumerate() {
        for (c, id) in o.feature_ids.iter().enumerate() {
            ids[[r, c]] = *id;
            mask[[r, c]] = 1;
        }
    }
    let rows = Array2::<f32>::from_elem((reqs.len(), manifest.features.len()), 1.0);
    (ids, mask, rows)
}

fn main() {
    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let reqs = holdout();
    let manifest = Arc::new(Manifest::load(&models_dir().join("manifest.json")).unwrap());
    let env = engine::environment(None).unwrap();
    let mut models = Models::load(env, manifest.clone(), &options()).unwrap();
    let mut raw = Raw::open(&manifest);

    // Characters of every turn (robot and customer) and of the customer's alone.
    let chars: Vec<usize> = reqs
        .iter()
        .map(|r| r.turns.iter().map(|t| t.text.chars().count()).sum())
        .collect();
    let customer: Vec<usize> = reqs
        .iter()
        .map(|r| {
            funnel::scoring::input::customer_turns(&r.turns)
                .map(|t| t.chars().count())
                .sum()
        })
        .collect();
    let mut customer_sorted = customer.clone();
    customer_sorted.sort_unstable();
    let mut sorted = chars.clone();
    sorted.sort_unstable();

    let mut group = criterion.benchmark_group("scoring");
    for &bs in &[1usize, 16, 64, 256] {
        let batch: Vec<_> = reqs.iter().take(bs).cloned().collect();
        group.throughput(Throughput::Elements(bs as u64));
        group.bench_with_input(BenchmarkId::new("whole_path", bs), &batch, |b, batch| {
            b.iter(|| models.score_batch(batch, &mut StageTimes::default()))
        });
        let (ids, mask, rows) = tensors(&manifest, &mut models, &reqs[..bs]);
        group.bench_with_input(BenchmarkId::new("raw_session_run", bs), &bs, |b, _| {
            b.iter(|| raw.run(&ids, &mask, &rows))
        });
    }
    group.finish();

    // Stage breakdown over the whole sample, batch 64, one thread.
    println!(
        "\nheld-out sample: {} calls, median {} chars (p5 {}, p95 {}), of which the customer's median {} (p95 {})",
        reqs.len(),
        sorted[sorted.len() / 2],
        sorted[sorted.len() / 20],
        sorted[sorted.len() * 19 / 20],
        customer_sorted[customer_sorted.len() / 2],
        customer_sorted[customer_sorted.len() * 19 / 20]
    );
    for &bs in &[1usize, 16, 64, 256] {
        let mut t = StageTimes::default();
        let rounds = 3;
        let start = Instant::now();
        for _ in 0..rounds {
            for chunk in reqs.chunks(bs) {
                let batch: Vec<_> = chunk.to_vec();
                models.score_batch(&batch, &mut t);
            }
        }
        let n = (reqs.len() * rounds) as f64;
        let us = |d: Duration| d.as_secs_f64() * 1e6 / n;
        let total = t.total.as_secs_f64();
        println!(
            "batch {bs:>3}: {:>7.0} leads/s/thread | per lead µs: tokenize {:.1}, text model {:.1}, tabular model {:.1}, reasons {:.1}, other {:.1} | not tokenize/run: {:.1}% (wall {:.2}s)",
            n / total,
            us(t.tokenize),
            us(t.text_model),
            us(t.tabular_model),
            us(t.reasons),
            us(t.overhead().saturating_sub(t.reasons)),
            100.0 * t.overhead().as_secs_f64() / total,
            start.elapsed().as_secs_f64()
        );
    }

    // Throughput of the service's scorer: 2 threads, batch 64, many callers.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let scorer = Arc::new(
        Scorer::start(&ScorerConfig {
            manifest: models_dir().join("manifest.json"),
            ort_library: None,
            threads,
            onnx_threads: 1,
            max_batch: 64,
            queue_capacity: 64,
            reasons_per_side: 3,
            on_batch: None,
        })
        .unwrap(),
    );
    let leads = rt.block_on(async {
        let start = Instant::now();
        let mut done = 0usize;
        while start.elapsed() < Duration::from_secs(5) {
            let calls: Vec<_> = reqs
                .chunks(64)
                .map(|c| {
                    let s = scorer.clone();
                    let batch: Vec<_> = c.to_vec();
                    tokio::spawn(async move { s.score(batch).await.unwrap().len() })
                })
                .collect();
            for c in calls {
                done += c.await.unwrap();
            }
        }
        done as f64 / start.elapsed().as_secs_f64()
    });
    println!("scorer, {threads} threads, batches of 64 (reasons included): {leads:.0} leads/s");
    criterion.final_summary();
}
