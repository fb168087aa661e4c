//! One set of models (tokenizer + both ONNX sessions) and the batch scoring
//! path. `Session::run` needs `&mut self`, so each scoring thread owns its own
//! `Models`; nothing here is shared or locked.

use super::input::{prepare, Prepared, ScoreRequest};
use super::manifest::Manifest;
use super::{ScoredLead, ScoringError};
use crate::domain::{Reason, ReasonKind};
use ndarray::{Array2, ArrayView2};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The process's one ONNX Runtime environment (a second one cannot be made).
static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Initialises ONNX Runtime once, from `library` if given, else from
/// `ORT_DYLIB_PATH` or a `libonnxruntime.so` next to the executable.
pub fn environment(
    library: Option<&std::path::Path>,
) -> Result<&'static ort::environment::Environment, ScoringError> {
    ENVIRONMENT
        .get_or_init(|| {
            let builder = match library {
                Some(path) => {
                    ort::init_from(path).map_err(|e| format!("{}: {e}", path.display()))?
                }
                None => ort::init(),
            };
            builder
                .with_name("funnel")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ScoringError::Runtime(format!("cannot initialise ONNX Runtime: {e}")))
}

fn open_session(
    env: &ort::environment::Environment,
    path: &std::path::Path,
    threads: usize,
) -> ort::Result<Session> {
    Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_threads(threads)?
        .with_inter_threads(1)?
        .commit_from_file(path)
}

/// Time spent per stage of one batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    pub tokenize: Duration,
    pub text_model: Duration,
    pub tabular_model: Duration,
    pub reasons: Duration,
    pub total: Duration,
}

impl StageTimes {
    /// Everything that is not tokenization or a `Session::run`.
    pub fn overhead(&self) -> Duration {
        self.total
            .saturating_sub(self.tokenize + self.text_model + self.tabular_model)
    }
}

/// Where the text-model outputs go in the tabular row.
struct TextSlots {
    intents: Vec<Option<usize>>,
    text_logit: usize,
    /// Baseline of text_logit (reasons are measured from it).
    text_logit_baseline: f64,
}

pub struct Models {
    pub manifest: Arc<Manifest>,
    tokenizer: tokenizers::Tokenizer,
    text: Session,
    tabular: Session,
    slots: TextSlots,
    reasons_per_side: usize,
}

/// Tuning of the scoring path.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub onnx_threads: usize,
    pub reasons_per_side: usize,
}

impl Models {
    pub fn load(
        env: &ort::environment::Environment,
        manifest: Arc<Manifest>,
        opts: &EngineOptions,
    ) -> Result<Self, ScoringError> {
        let tok_path = manifest.path_of(&manifest.files.tokenizer.path);
        let mut tokenizer =
            tokenizers::Tokenizer::from_file(&tok_path).map_err(|e| ScoringError::Manifest {
                file: tok_path.display().to_string(),
                msg: format!("cannot load tokenizer: {e}"),
            })?;
        // Padding and truncation are done here, whatever the file says.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| ScoringError::Runtime(e.to_string()))?;
        let load = |file: &str| -> Result<Session, ScoringError> {
            let p = manifest.path_of(file);
            open_session(env, &p, opts.onnx_threads).map_err(|e| ScoringError::Manifest {
                file: p.display().to_string(),
                msg: format!("cannot load ONNX model: {e}"),
            })
        };
        let text = load(&manifest.files.text_model.path)?;
        let tabular = load(&manifest.files.tabular_model.path)?;
        manifest.check_session(
            &manifest.files.text_model.path,
            &manifest.files.text_model,
            &text,
        )?;
        manifest.check_session(
            &manifest.files.tabular_model.path,
            &manifest.files.tabular_model,
            &tabular,
        )?;

        let position = |name: &str| manifest.features.iter().position(|f| f.name == name);
        let text_logit = position("text_logit").ok_or_else(|| ScoringError::Manifest {
            file: "manifest.json".into(),
            msg: "features: no text_logit".into(),
        })?;
        let slots = TextSlots {
            intents: manifest
                .intents
                .iter()
                .map(|i| position(&format!("intent_{i}")))
                .collect(),
            text_logit,
            text_logit_baseline: manifest.features[text_logit]
                .baseline
                .as_f64()
                .unwrap_or(0.0),
        };
        Ok(Self {
            manifest,
            tokenizer,
            text,
            tabular,
            slots,
            reasons_per_side: opts.reasons_per_side,
        })
    }

    /// Scores a batch. Each item fails or succeeds on its own: one bad input
    /// does not fail its neighbours.
    pub fn score_batch(
        &mut self,
        batch: &[ScoreRequest],
        times: &mut StageTimes,
    ) -> Vec<Result<ScoredLead, ScoringError>> {
        let start = Instant::now();
        let mut results: Vec<Option<Result<ScoredLead, ScoringError>>> =
            (0..batch.len()).map(|_| None).collect();
        let mut ok: Vec<(usize, Prepared, tokenizers::Encoding, bool)> =
            Vec::with_capacity(batch.len());
        let max_tokens = self.manifest.transcript.max_tokens;
        for (i, req) in batch.iter().enumerate() {
            match prepare(&self.manifest, req) {
                Err(e) => results[i] = Some(Err(e)),
                Ok(p) => {
                    let t0 = Instant::now();
                    let enc = self.tokenizer.encode(p.transcript.as_str(), false);
                    times.tokenize += t0.elapsed();
                    match enc {
                        Ok(enc) if !enc.get_ids().is_empty() => {
                            let cut = enc.get_ids().len() > max_tokens;
                            ok.push((i, p, enc, cut));
                        }
                        Ok(_) => {
                            results[i] = Some(Err(ScoringError::InvalidInput {
                                field: "turns".into(),
                                reason: "the transcript has no text the model can read".into(),
                            }))
                        }
                        Err(e) => {
                            results[i] = Some(Err(ScoringError::Runtime(format!("tokenizer: {e}"))))
                        }
                    }
                }
            }
        }
        if !ok.is_empty() {
            match self.run_models(&mut ok, times) {
                Ok(scored) => {
                    for ((i, ..), s) in ok.iter().zip(scored) {
                        results[*i] = Some(Ok(s));
                    }
                }
                Err(e) => {
                    for (i, ..) in &ok {
                        results[*i] = Some(Err(ScoringError::Runtime(e.to_string())));
                    }
                }
            }
        }
        times.total += start.elapsed();
        results
            .into_iter()
            .map(|r| r.expect("every item has a result"))
            .collect()
    }

    /// Both models over a batch of tokenized inputs: padded ids, the text
    /// model, the tabular rows with the text outputs filled in, the tabular
    /// model. Shared by scoring and the parity check.
    fn forward(
        &mut self,
        ok: &[(usize, Prepared, tokenizers::Encoding, bool)],
        times: &mut StageTimes,
    ) -> Result<Forward, ScoringError> {
        let n = ok.len();
        let max_tokens = self.manifest.transcript.max_tokens;
        let len = ok
            .iter()
            .map(|(_, _, e, _)| e.get_ids().len().min(max_tokens))
            .max()
            .unwrap_or(1);
        let mut ids = Array2::<i64>::from_elem((n, len), self.manifest.transcript.pad_id);
        let mut mask = Array2::<i64>::zeros((n, len));
        for (r, (_, _, enc, _)) in ok.iter().enumerate() {
            for (c, id) in enc.get_ids().iter().take(max_tokens).enumerate() {
                ids[[r, c]] = *id as i64;
                mask[[r, c]] = 1;
            }
        }
        let rt = |e: ort::Error| ScoringError::Runtime(e.to_string());

        let t0 = Instant::now();
        let text_out = self
            .text
            .run(ort::inputs![
                "input_ids" => TensorRef::from_array_view(&ids).map_err(rt)?,
                "attention_mask" => TensorRef::from_array_view(&mask).map_err(rt)?,
            ])
            .map_err(rt)?;
        let intents = text_out["intent_probabilities"]
            .try_extract_tensor::<f32>()
            .map_err(rt)?
            .1
            .to_vec();
        let text_logit = text_out["text_logit"]
            .try_extract_tensor::<f32>()
            .map_err(rt)?
            .1
            .to_vec();
        let token_contrib = text_out["token_contributions"]
            .try_extract_tensor::<f32>()
            .map_err(rt)?
            .1
            .to_vec();
        drop(text_out);
        times.text_model += t0.elapsed();

        let k = self.manifest.intents.len();
        let f = self.manifest.features.len();
        let mut rows = Array2::<f32>::zeros((n, f));
        for (r, (_, p, _, _)) in ok.iter().enumerate() {
            for (c, v) in p.row.iter().enumerate() {
                rows[[r, c]] = *v;
            }
            for (j, slot) in self.slots.intents.iter().enumerate() {
                if let Some(c) = slot {
                    rows[[r, *c]] = intents[r * k + j];
                }
            }
            rows[[r, self.slots.text_logit]] = text_logit[r];
        }

        let t0 = Instant::now();
        let view: ArrayView2<f32> = rows.view();
        let tab_out = self
            .tabular
            .run(ort::inputs!["features" => TensorRef::from_array_view(view).map_err(rt)?])
            .map_err(rt)?;
        let prob = tab_out["probability"]
            .try_extract_tensor::<f32>()
            .map_err(rt)?
            .1
            .to_vec();
        let contrib = tab_out["contributions"]
            .try_extract_tensor::<f32>()
            .map_err(rt)?
            .1
            .to_vec();
        drop(tab_out);
        times.tabular_model += t0.elapsed();
        Ok(Forward {
            len,
            k,
            f,
            intents,
            text_logit,
            token_contrib,
            rows,
            prob,
            contrib,
        })
    }

    fn run_models(
        &mut self,
        ok: &mut [(usize, Prepared, tokenizers::Encoding, bool)],
        times: &mut StageTimes,
    ) -> Result<Vec<ScoredLead>, ScoringError> {
        let Forward {
            len,
            k,
            f,
            intents,
            text_logit,
            token_contrib,
            prob,
            contrib,
            rows,
        } = self.forward(ok, times)?;
        let n = ok.len();
        let t0 = Instant::now();
        let mut out = Vec::with_capacity(n);
        for (r, (_, p, enc, cut)) in ok.iter().enumerate() {
            let probability = prob[r] as f64;
            let reasons = self.reasons(
                p,
                enc,
                rows.row(r).as_slice().unwrap_or_default(),
                &contrib[r * f..(r + 1) * f],
                &token_contrib[r * len..(r + 1) * len],
                text_logit[r] as f64,
            );
            out.push(ScoredLead {
                probability,
                score: (probability * 100.0).round().clamp(0.0, 100.0) as u8,
                intents: highest_first(
                    self.manifest
                        .intents
                        .iter()
                        .enumerate()
                        .map(|(j, name)| (name.clone(), intents[r * k + j] as f64))
                        .collect(),
                ),
                model_version: self.manifest.model_version.clone(),
                reasons,
                defaulted: p.defaulted.clone(),
                truncated: p.truncated_chars || *cut,
            });
        }
        times.reasons += t0.elapsed();
        Ok(out)
    }

    /// Top reasons: the strongest features and the strongest phrases, each
    /// up to `reasons_per_side` pushing up and as many pushing down.
    ///
    /// Method: the tabular model is additive in the log-odds, so each
    /// feature's contribution (its shape function at the value minus at the
    /// baseline) is exact and sign-consistent. Text enters it through
    /// `text_logit` (and the intent probabilities, reported as features); the
    /// text model is additive over tokens, so `text_logit`'s contribution is
    /// split over the phrases in proportion to their token contributions,
    /// scaled by the secant slope of the tabular shape between the baseline
    /// and the actual `text_logit`. A phrase seen several times is summed.
    fn reasons(
        &self,
        p: &Prepared,
        enc: &tokenizers::Encoding,
        row: &[f32],
        contrib: &[f32],
        token_contrib: &[f32],
        text_logit: f64,
    ) -> Vec<Reason> {
        let mut all: Vec<Reason> = Vec::with_capacity(contrib.len() + 8);
        for (j, spec) in self.manifest.features.iter().enumerate() {
            if j == self.slots.text_logit {
                continue;
            }
            let value = if spec.source == "text" {
                format!("{:.2}", row.get(j).copied().unwrap_or(0.0))
            } else {
                p.shown[j].clone()
            };
            all.push(Reason {
                kind: ReasonKind::Feature,
                name: spec.name.clone(),
                value,
                weight: contrib[j] as f64,
            });
        }
        let delta = text_logit - self.slots.text_logit_baseline;
        let text_effect = contrib[self.slots.text_logit] as f64;
        if delta.abs() > 1e-6 {
            let slope = text_effect / delta;
            let mut phrases: HashMap<String, f64> = HashMap::new();
            for (t, (start, end)) in enc
                .get_offsets()
                .iter()
                .enumerate()
                .take(token_contrib.len())
            {
                let w = token_contrib[t] as f64 * slope;
                if w == 0.0 {
                    continue;
                }
                if p.prefix_spans.iter().any(|(a, b)| start < b && end > a) {
                    continue;
                }
                if let Some(text) = p.transcript.get(*start..*end) {
                    let text = text.trim();
                    // Punctuation alone is not a reason anyone can act on.
                    if text.chars().any(|c| c.is_alphanumeric()) {
                        *phrases.entry(text.to_string()).or_default() += w;
                    }
                }
            }
            all.extend(phrases.into_iter().map(|(name, weight)| Reason {
                kind: ReasonKind::Phrase,
                name,
                value: String::new(),
                weight,
            }));
        }
        let k = self.reasons_per_side;
        let mut chosen = Vec::with_capacity(4 * k);
        for kind in [ReasonKind::Feature, ReasonKind::Phrase] {
            let mut up: Vec<&Reason> = all
                .iter()
                .filter(|r| r.kind == kind && r.weight > 0.0)
                .collect();
            let mut down: Vec<&Reason> = all
                .iter()
                .filter(|r| r.kind == kind && r.weight < 0.0)
                .collect();
            up.sort_by(|a, b| {
                b.weight
                    .total_cmp(&a.weight)
                    .then_with(|| a.name.cmp(&b.name))
            });
            down.sort_by(|a, b| {
                a.weight
                    .total_cmp(&b.weight)
                    .then_with(|| a.name.cmp(&b.name))
            });
            chosen.extend(up.into_iter().take(k).cloned());
            chosen.extend(down.into_iter().take(k).cloned());
        }
        // Strongest first, whichever way they push.
        chosen.sort_by(|a, b| {
            b.weight
                .abs()
                .total_cmp(&a.weight.abs())
                .then_with(|| a.name.cmp(&b.name))
        });
        chosen
    }

    /// The raw model outputs for one batch (for the parity test).
    pub fn raw_outputs(&mut self, reqs: &[ScoreRequest]) -> Result<Vec<RawOutputs>, ScoringError> {
        let mut ok = Vec::with_capacity(reqs.len());
        for (i, req) in reqs.iter().enumerate() {
            let p = prepare(&self.manifest, req)?;
            let enc = self
                .tokenizer
                .encode(p.transcript.as_str(), false)
                .map_err(|e| ScoringError::Runtime(e.to_string()))?;
            ok.push((i, p, enc, false));
        }
        let fw = self.forward(&ok, &mut StageTimes::default())?;
        let max_tokens = self.manifest.transcript.max_tokens;
        let (len, k, f) = (fw.len, fw.k, fw.f);
        Ok(ok
            .iter()
            .enumerate()
            .map(|(r, (_, p, enc, _))| {
                let l = enc.get_ids().len().min(max_tokens);
                RawOutputs {
                    transcript: p.transcript.clone(),
                    input_ids: enc
                        .get_ids()
                        .iter()
                        .take(max_tokens)
                        .map(|i| *i as i64)
                        .collect(),
                    intent_probabilities: fw.intents[r * k..(r + 1) * k].to_vec(),
                    text_logit: fw.text_logit[r],
                    token_contributions: fw.token_contrib[r * len..r * len + l].to_vec(),
                    tabular_input: fw.rows.row(r).to_vec(),
                    probability: fw.prob[r],
                    contributions: fw.contrib[r * f..(r + 1) * f].to_vec(),
                }
            })
            .collect())
    }
}

/// Intents, most probable first (ties in the manifest's order).
fn highest_first(mut intents: Vec<(String, f64)>) -> Vec<(String, f64)> {
    intents.sort_by(|a, b| b.1.total_cmp(&a.1));
    intents
}

/// Outputs of both models for a batch (row-major, `len` = padded length).
struct Forward {
    len: usize,
    k: usize,
    f: usize,
    intents: Vec<f32>,
    text_logit: Vec<f32>,
    token_contrib: Vec<f32>,
    rows: Array2<f32>,
    prob: Vec<f32>,
    contrib: Vec<f32>,
}

/// Every model output for one input, as the parity test compares them.
#[derive(Debug, Clone)]
pub struct RawOutputs {
    pub transcript: String,
    pub input_ids: Vec<i64>,
    pub intent_probabilities: Vec<f32>,
    pub text_logit: f32,
    pub token_contributions: Vec<f32>,
    pub tabular_input: Vec<f32>,
    pub probability: f32,
    pub contributions: Vec<f32>,
}
