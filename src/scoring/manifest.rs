//! `models/manifest.json`: what the models are, how to feed them, and the
//! checks that the files on disk are the ones the manifest describes.

use super::ScoringError;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub model_version: String,
    pub transcript: TranscriptSpec,
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

#[derive(Debug, Clone, Deserialize)]
pub struct TranscriptSpec {
    /// Prefix of each turn by speaker ("robot", "customer").
    pub speaker_prefixes: HashMap<String, String>,
    pub turn_separator: String,
    /// Transcripts are cut to this many characters (Unicode scalar values).
    pub max_chars: usize,
    /// Token sequences are cut to this many tokens (the head is kept).
    pub max_tokens: usize,
    pub pad_id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Files {
    pub tokenizer: FileRef,
    pub text_model: ModelFile,
    pub tabular_model: ModelFile,
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
        if m.schema_version != 1 {
            return Err(manifest_err(
                path,
                format!("schema_version {} (this build reads 1)", m.schema_version),
            ));
        }
        for (what, f) in [
            ("tokenizer", &m.files.tokenizer),
            (
                "text_model",
                &FileRef {
                    path: m.files.text_model.path.clone(),
                    sha256: m.files.text_model.sha256.clone(),
                },
            ),
            (
                "tabular_model",
                &FileRef {
                    path: m.files.tabular_model.path.clone(),
                    sha256: m.files.tabular_model.sha256.clone(),
                },
            ),
        ] {
            let file = m.dir.join(&f.path);
            let bytes =
                std::fs::read(&file).map_err(|e| manifest_err(&file, format!("{what}: {e}")))?;
            let digest = hex::encode(Sha256::digest(&bytes));
            if !digest.eq_ignore_ascii_case(&f.sha256) {
                return Err(manifest_err(
                    &file,
                    format!(
                        "{what}: sha256 {digest} does not match the manifest's {}",
                        f.sha256
                    ),
                ));
            }
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
        for name in ["robot", "customer"] {
            if !m.transcript.speaker_prefixes.contains_key(name) {
                return Err(manifest_err(
                    path,
                    format!("transcript.speaker_prefixes has no {name:?}"),
                ));
            }
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
