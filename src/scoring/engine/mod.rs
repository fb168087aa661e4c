//! One set of models (tokenizer + both ONNX sessions) and the batch scoring
//! path. `Session::run` needs `&mut self`, so each scoring thread owns its own
//! `Models`; nothing here is shared or locked.

use super::input::{customer_turns, prepare, Prepared, ScoreRequest};
use super::lexicon::{Lexicon, LexiconHit};
use super::manifest::Manifest;
use super::reasons;
use super::text::{customer_texts, CallText, NgramTable};
use super::{ScoredLead, ScoringError};
use crate::domain::{Reason, ReasonKind};
use ndarray::{Array2, ArrayView2};
use ort::session::Session;
use ort::value::TensorRef;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Token strings by id (phrase reasons are rebuilt from them).
    vocab: Vec<String>,
    table: NgramTable,
    lexicon: Lexicon,
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
        let mut vocab = vec![String::new(); tokenizer.get_vocab_size(true)];
        for (token, id) in tokenizer.get_vocab(true) {
            if let Some(slot) = vocab.get_mut(id as usize) {
                *slot = token;
            }
        }
        let ngram_path = manifest.path_of(&manifest.files.ngrams.path);
        let bytes = std::fs::read(&ngram_path).map_err(|e| ScoringError::Manifest {
            file: ngram_path.display().to_string(),
            msg: e.to_string(),
        })?;
        let table = NgramTable::from_bytes(&bytes, manifest.text_features)?;
        if table.len() != manifest.files.ngrams.features {
            return Err(ScoringError::Manifest {
                file: ngram_path.display().to_string(),
                msg: format!(
                    "{} n-grams, the manifest says {}",
                    table.len(),
                    manifest.files.ngrams.features
                ),
            });
        }
        let lex_path = manifest.path_of(&manifest.files.lexicon.path);
        let lexicon = std::fs::read_to_string(&lex_path)
            .map_err(|e| e.to_string())
            .and_then(|raw| Lexicon::parse(&raw))
            .map_err(|msg| ScoringError::Manifest {
                file: lex_path.display().to_string(),
                msg: format!("lexicon: {msg}"),
            })?;
        if lexicon.version != manifest.files.lexicon.version {
            return Err(ScoringError::Manifest {
                file: lex_path.display().to_string(),
                msg: format!(
                    "lexicon: version {:?}, the manifest says {:?}; run `python3 training/lexicon.py {}`",
                    lexicon.version,
                    manifest.files.lexicon.version,
                    manifest.dir.display()
                ),
            });
        }
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
            vocab,
            table,
            lexicon,
            text,
            tabular,
            slots,
            reasons_per_side: opts.reasons_per_side,
        })
    }

    /// The customer's turns as token ids (each turn alone, no offsets), cut
    /// to the manifest's character then token budget.
    fn tokenize(&self, req: &ScoreRequest) -> Result<(Vec<Vec<u32>>, bool), ScoringError> {
        let t = &self.manifest.transcript;
        let (texts, mut cut) = customer_texts(customer_turns(&req.turns), t.max_chars);
        let mut left = t.max_tokens;
        let mut turns = Vec::with_capacity(texts.len());
        for text in texts {
            if left == 0 {
                cut = true;
                break;
            }
            let enc = self
                .tokenizer
                .encode_fast(text, false)
                .map_err(|e| ScoringError::Runtime(format!("tokenizer: {e}")))?;
            let mut ids = enc.get_ids().to_vec();
            if ids.len() > left {
                ids.truncate(left);
                cut = true;
            }
            left -= ids.len();
            turns.push(ids);
        }
        Ok((turns, cut))
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
        let mut ok: Vec<Item> = Vec::with_capacity(batch.len());
        for (i, req) in batch.iter().enumerate() {
            match prepare(&self.manifest, req) {
                Err(e) => results[i] = Some(Err(e)),
                Ok(p) => {
                    let t0 = Instant::now();
                    let tokens = self.tokenize(req);
                    times.tokenize += t0.elapsed();
                    match tokens {
                        Ok((turns, cut)) => {
                            let text = self.table.features(&turns, cut);
                            let hits = self.lexicon.match_turns(customer_turns(&req.turns));
                            ok.push(Item {
                                index: i,
                                prepared: p,
                                text,
                                hits,
                            });
                        }
                        Err(e) => results[i] = Some(Err(e)),
                    }
                }
            }
        }
        if !ok.is_empty() {
            match self.run_models(&ok, times) {
                Ok(scored) => {
                    for (item, s) in ok.iter().zip(scored) {
                        results[item.index] = Some(Ok(s));
                    }
                }
                Err(e) => {
                    for item in &ok {
                        results[item.index] = Some(Err(ScoringError::Runtime(e.to_string())));
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

    /// Both models over a batch: padded feature ids, the text model, the
    /// tabular rows with the text outputs filled in, the tabular model.
    /// Shared by scoring and the parity check.
    fn forward(&mut self, ok: &[Item], times: &mut StageTimes) -> Result<Forward, ScoringError> {
        let n = ok.len();
        let len = ok
            .iter()
            .map(|it| it.text.features.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let mut ids = Array2::<i64>::zeros((n, len));
        let mut mask = Array2::<i64>::zeros((n, len));
        for (r, it) in ok.iter().enumerate() {
            for (c, f) in it.text.features.iter().enumerate() {
                ids[[r, c]] = i64::from(f.index);
                mask[[r, c]] = 1;
            }
        }
        let rt = |e: ort::Error| ScoringError::Runtime(e.to_string());

        let t0 = Instant::now();
        let text_out = self
            .text
            .run(ort::inputs![
                "feature_ids" => TensorRef::from_array_view(&ids).map_err(rt)?,
                "feature_mask" => TensorRef::from_array_view(&mask).map_err(rt)?,
            ])
            .map_err(rt)?;
        let extract = |name: &str| -> Result<Vec<f32>, ScoringError> {
            Ok(text_out[name]
                .try_extract_tensor::<f32>()
                .map_err(rt)?
                .1
                .to_vec())
        };
        let intents = extract("intent_probabilities")?;
        let text_logit = extract("text_logit")?;
        let dnc = extract("do_not_contact")?;
        let feature_contrib = extract("feature_contributions")?;
        drop(text_out);
        times.text_model += t0.elapsed();

        let k = self.manifest.intents.len();
        let f = self.manifest.features.len();
        let mut rows = Array2::<f32>::zeros((n, f));
        for (r, it) in ok.iter().enumerate() {
            for (c, v) in it.prepared.row.iter().enumerate() {
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
            dnc,
            feature_contrib,
            rows,
            prob,
            contrib,
        })
    }

    fn run_models(
        &mut self,
        ok: &[Item],
        times: &mut StageTimes,
    ) -> Result<Vec<ScoredLead>, ScoringError> {
        let fw = self.forward(ok, times)?;
        let (len, k, f) = (fw.len, fw.k, fw.f);
        let t0 = Instant::now();
        let mut out = Vec::with_capacity(ok.len());
        for (r, it) in ok.iter().enumerate() {
            let probability = fw.prob[r] as f64;
            let mut reasons = reasons::lexicon_reasons(&it.hits);
            reasons.extend(self.reasons(
                it,
                fw.rows.row(r).as_slice().unwrap_or_default(),
                &fw.contrib[r * f..(r + 1) * f],
                &fw.feature_contrib[r * len..(r + 1) * len],
                fw.text_logit[r] as f64,
            ));
            out.push(ScoredLead {
                probability,
                score: (probability * 100.0).round().clamp(0.0, 100.0) as u8,
                intents: highest_first(
                    self.manifest
                        .intents
                        .iter()
                        .enumerate()
                        .map(|(j, name)| (name.clone(), fw.intents[r * k + j] as f64))
                        .collect(),
                ),
                do_not_contact: fw.dnc[r] as f64,
                lexicon: it.hits.clone(),
                model_version: self.manifest.model_version.clone(),
                reasons,
                defaulted: it.prepared.defaulted.clone(),
                truncated: it.text.truncated,
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
    /// text model is additive over n-gram features, so `text_logit`'s
    /// contribution is split over them in proportion to their contributions,
    /// scaled by the secant slope of the tabular shape between the baseline
    /// and the actual `text_logit`. Each n-gram's share is spread evenly over
    /// its tokens; a phrase is a run of up to `PHRASE_MAX_TOKENS` consecutive
    /// tokens of one clause of a customer turn pushing the same way, named by
    /// its (normalised) tokens. A phrase said several times is summed.
    fn reasons(
        &self,
        it: &Item,
        row: &[f32],
        contrib: &[f32],
        feature_contrib: &[f32],
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
                it.prepared.shown[j].clone()
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
            all.extend(reasons::phrases(
                &it.text,
                feature_contrib,
                slope,
                &self.vocab,
                self.manifest.text_features.unk_id,
            ));
        }
        reasons::select(&all, self.reasons_per_side)
    }
}

/// One valid request of a batch, ready for the models.
struct Item {
    index: usize,
    prepared: Prepared,
    text: CallText,
    hits: Vec<LexiconHit>,
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
    dnc: Vec<f32>,
    feature_contrib: Vec<f32>,
    rows: Array2<f32>,
    prob: Vec<f32>,
    contrib: Vec<f32>,
}

mod parity;
mod runtime;
pub use parity::RawOutputs;
pub use runtime::environment;
use runtime::open_session;
