//! `models/manifest.json`: what the models are, how to feed them, and the
//! checks that the files on disk are the ones the manifest describes.

use super::ScoringError;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub model_version: String,
    pub transcript: TranscriptSpec,
    pub text_features: TextFeatureSpec,
    pub files: Files,
    pub intents: Vec<String>,
    pub features: Vec<FeatureSpec>,
    /// Default bucket thresholds found in training (the routing policy's
    /// default; campaigns may override them).
    pub buckets: crate::domain::Thresholds,
    #[serde(default)]
    pub evaluation: serde_json::Value,
    /// The directory the manifest was read from (files are relative to it).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// How much of the conversation the text model reads: the customer's turns
/// only, each tokenized alone.
#[derive(Debug, Clone, Deserialize)]
pub struct TranscriptSpec {
    /// Customer speech is cut to this many characters (Unicode scalar values) in total.
    pub max_chars: usize,
    /// ... then to this many tokens in total (the head is kept).
    pub max_tokens: usize,
}

/// The n-gram features (see `scoring::text`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct TextFeatureSpec {
    pub ngram_max: usize,
    pub id_bits: u32,
    pub unk_id: u32,
    /// Token ids `[first, end)` that are punctuation (dropped; n-grams bridge them).
    pub punctuation_ids: [u32; 2],
    /// The feature of a call with no known n-gram.
    pub empty_feature: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Files {
    pub tokenizer: FileRef,
    pub ngrams: NgramFile,
    pub text_model: ModelFile,
    pub tabular_model: ModelFile,
    pub lexicon: LexiconFile,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NgramFile {
    pub path: String,
    pub sha256: String,
    /// Number of keys (= rows of the text model's weight table).
    pub features: usize,
}

/// The compliance lexicon; edited by a bank's compliance team, so a
/// mismatch says how to record the edit (`training/lexicon.py`).
#[derive(Debug, Clone, Deserialize)]
pub struct LexiconFile {
    pub path: String,
    pub sha256: String,
    pub version: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileRef {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelFile {
    pub path: String,
    pub sha256: String,
    pub version: String,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    pub dtype: String,
    /// -1 for a dynamic dimension.
    pub shape: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FeatureSpec {
    pub name: String,
    /// customer | call | derived | interaction | text
    pub source: String,
    /// int | float | category
    #[serde(rename = "type")]
    pub value_type: String,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    /// What a missing input takes; null = required or always computed.
    #[serde(default)]
    pub default: serde_json::Value,
    /// The reference value reasons are measured from.
    #[serde(default)]
    pub baseline: serde_json::Value,
    #[serde(default)]
    pub monotone: Option<String>,
    #[serde(default)]
    pub description: String,
}

fn manifest_err(path: &Path, msg: impl Into<String>) -> ScoringError {
    ScoringError::Manifest {
        file: path.display().to_string(),
        msg: msg.into(),
    }
}

impl Manifest {
    /// Reads the manifest and checks every file's sha256 and the feature schema.
    pub fn load(path: &Path) -> Result<Self, ScoringError> {
        let raw = std::fs::read_to_string(path).map_err(|e| manifest_err(path, e.to_string()))?;
        let mut m: Manifest = serde_json::from_str(&raw)
            .map_err(|e| manifest_err(path, format!("invalid manifest: {e}")))?;
        m.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if m.schema_version != 2 {
            return Err(manifest_err(
                path,
                format!("schema_version {} (this build reads 2)", m.schema_version),
            ));
        }
        let files = [
            (
                "tokenizer",
                &m.files.tokenizer.path,
                &m.files.tokenizer.sha256,
            ),
            ("ngrams", &m.files.ngrams.path, &m.files.ngrams.sha256),
            (
                "text_model",
                &m.files.text_model.path,
                &m.files.text_model.sha256,
            ),
            (
                "tabular_model",
                &m.files.tabular_model.path,
                &m.files.tabular_model.sha256,
            ),
            ("lexicon", &m.files.lexicon.path, &m.files.lexicon.sha256),
        ];
        for (what, rel, want) in files {
            let file = m.dir.join(rel);
            let bytes =
                std::fs::read(&file).map_err(|e| manifest_err(&file, format!("{what}: {e}")))?;
            let digest = hex::encode(Sha256::digest(&bytes));
            if digest.eq_ignore_ascii_case(want) {
                continue;
            }
            let msg = if what == "lexicon" {
                format!(
                    "lexicon: sha256 {digest} does not match the manifest's {want}: the lexicon was \
                     edited; check it and record the edit with `python3 training/lexicon.py {}` \
                     (no retraining needed), then restart",
                    m.dir.display()
                )
            } else {
                format!("{what}: sha256 {digest} does not match the manifest's {want}")
            };
            return Err(manifest_err(&file, msg));
        }
        for f in &m.features {
            match f.value_type.as_str() {
                "int" | "float" => {}
                "category" if f.categories.as_ref().is_some_and(|c| !c.is_empty()) => {}
                other => {
                    return Err(manifest_err(
                        path,
                        format!("feature {}: type {other:?} (or no categories)", f.name),
                    ))
                }
            }
        }
        // The schema and the declared tensors must agree with each other.
        let width = |specs: &[TensorSpec], name: &str| {
            specs
                .iter()
                .find(|t| t.name == name)
                .and_then(|t| t.shape.get(1).copied())
        };
        if let Some(w) = width(&m.files.tabular_model.inputs, "features") {
            if w != -1 && w as usize != m.features.len() {
                return Err(manifest_err(
                    path,
                    format!(
                        "features: {} listed, tabular input \"features\" is {w} wide",
                        m.features.len()
                    ),
                ));
            }
        }
        if let Some(w) = width(&m.files.text_model.outputs, "intent_probabilities") {
            if w != -1 && w as usize != m.intents.len() {
                return Err(manifest_err(
                    path,
                    format!(
                        "intents: {} listed, output \"intent_probabilities\" is {w} wide",
                        m.intents.len()
                    ),
                ));
            }
        }
        let tf = &m.text_features;
        if tf.ngram_max == 0 || tf.id_bits == 0 || u64::from(tf.id_bits) * tf.ngram_max as u64 > 64
        {
            return Err(manifest_err(
                path,
                format!(
                    "text_features: ngram_max {} x id_bits {} does not fit a u64 key",
                    tf.ngram_max, tf.id_bits
                ),
            ));
        }
        Ok(m)
    }

    pub fn path_of(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Checks a loaded ONNX session against the manifest's declared I/O.
    pub fn check_session(
        &self,
        file: &str,
        declared: &ModelFile,
        session: &ort::session::Session,
    ) -> Result<(), ScoringError> {
        let path = self.path_of(file);
        let check = |kind: &str,
                     want: &[TensorSpec],
                     got: &[ort::value::Outlet]|
         -> Result<(), ScoringError> {
            for spec in want {
                let Some(outlet) = got.iter().find(|o| o.name() == spec.name) else {
                    let names: Vec<_> = got.iter().map(|o| o.name().to_string()).collect();
                    return Err(manifest_err(
                        &path,
                        format!(
                            "{kind} {:?} is not in the model (it has {names:?})",
                            spec.name
                        ),
                    ));
                };
                match outlet.dtype() {
                    ort::value::ValueType::Tensor { ty, shape, .. } => {
                        let dtype = format!("{ty:?}").to_lowercase();
                        let want_dtype = spec.dtype.to_lowercase();
                        let same = matches!(
                            (want_dtype.as_str(), dtype.as_str()),
                            ("float32", "float32") | ("int64", "int64") | ("float", "float32")
                        );
                        if !same {
                            return Err(manifest_err(
                                &path,
                                format!(
                                    "{kind} {:?}: dtype {dtype}, manifest says {}",
                                    spec.name, spec.dtype
                                ),
                            ));
                        }
                        let dims: Vec<i64> = shape.iter().copied().collect();
                        let fits = dims.len() == spec.shape.len()
                            && dims
                                .iter()
                                .zip(&spec.shape)
                                .all(|(g, w)| *w == -1 || *g == -1 || g == w);
                        if !fits {
                            return Err(manifest_err(
                                &path,
                                format!(
                                    "{kind} {:?}: shape {dims:?}, manifest says {:?}",
                                    spec.name, spec.shape
                                ),
                            ));
                        }
                    }
                    other => {
                        return Err(manifest_err(
                            &path,
                            format!("{kind} {:?} is a {other:?}, not a tensor", spec.name),
                        ))
                    }
                }
            }
            Ok(())
        };
        check("input", &declared.inputs, session.inputs())?;
        check("output", &declared.outputs, session.outputs())?;
        Ok(())
    }
}
