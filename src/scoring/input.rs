//! Validation of one lead's scoring input against the manifest's feature
//! schema.

use super::manifest::{FeatureSpec, Manifest};
use super::ScoringError;
use crate::domain::Product;

#[derive(Debug, Clone)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
}

/// A provided feature value: numbers for int/float features, names for
/// categories.
pub use crate::domain::FeatureInput as FeatureValue;
pub use crate::domain::Speaker;

/// One lead to score.
#[derive(Debug, Clone)]
pub struct ScoreRequest {
    pub turns: Vec<Turn>,
    pub product: Product,
    /// Customer features and call metadata by manifest name; absent ones take
    /// the manifest default (and are reported as defaulted).
    pub features: Vec<(String, FeatureValue)>,
}

impl From<&crate::domain::Interaction> for ScoreRequest {
    fn from(i: &crate::domain::Interaction) -> Self {
        Self {
            turns: i
                .turns
                .iter()
                .map(|t| Turn {
                    speaker: t.speaker,
                    // Masked identifiers are read as a symbol: never a phrase.
                    text: crate::domain::pii::unscored(&t.text).into_owned(),
                })
                .collect(),
            product: i.product,
            features: i
                .feature_values()
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
        }
    }
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ScoringError {
    ScoringError::InvalidInput {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The validated, model-ready form of a request.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Tabular row with the text-derived slots still zero.
    pub row: Vec<f32>,
    pub defaulted: Vec<String>,
    /// Human-readable value of every feature (for reasons).
    pub shown: Vec<String>,
}

/// The customer's turn texts in order (what the text model and the lexicon read).
pub fn customer_turns(turns: &[Turn]) -> impl Iterator<Item = &str> {
    turns
        .iter()
        .filter(|t| t.speaker == Speaker::Customer)
        .map(|t| t.text.as_str())
}

fn render_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

fn default_of(spec: &FeatureSpec) -> Option<FeatureValue> {
    match &spec.default {
        serde_json::Value::Number(n) => n.as_f64().map(FeatureValue::Number),
        serde_json::Value::String(s) => Some(FeatureValue::Category(s.clone())),
        _ => None,
    }
}

/// Encodes one feature value, checking it against the schema.
fn encode(spec: &FeatureSpec, value: &FeatureValue) -> Result<(f32, String), ScoringError> {
    match (spec.value_type.as_str(), value) {
        ("category", FeatureValue::Category(name)) => {
            let cats = spec.categories.as_deref().unwrap_or_default();
            match cats.iter().position(|c| c == name) {
                Some(code) => Ok((code as f32, name.clone())),
                None => Err(invalid(
                    &spec.name,
                    format!("unknown value {name:?}; allowed: {}", cats.join(", ")),
                )),
            }
        }
        ("category", FeatureValue::Number(_)) => {
            Err(invalid(&spec.name, "expects a category name"))
        }
        (_, FeatureValue::Category(_)) => Err(invalid(&spec.name, "expects a number")),
        (kind, FeatureValue::Number(v)) => {
            let v = *v;
            if !v.is_finite() {
                return Err(invalid(
                    &spec.name,
                    format!("must be a finite number, got {v}"),
                ));
            }
            if kind == "int" && v.fract() != 0.0 {
                return Err(invalid(
                    &spec.name,
                    format!("must be a whole number, got {v}"),
                ));
            }
            if let Some(min) = spec.min {
                if v < min {
                    return Err(invalid(
                        &spec.name,
                        format!("{v} is below the minimum {min}"),
                    ));
                }
            }
            if let Some(max) = spec.max {
                if v > max {
                    return Err(invalid(
                        &spec.name,
                        format!("{v} is above the maximum {max}"),
                    ));
                }
            }
            Ok((v as f32, render_number(v)))
        }
    }
}

/// Validates a request and builds its tabular row (text slots left at 0).
pub fn prepare(manifest: &Manifest, req: &ScoreRequest) -> Result<Prepared, ScoringError> {
    if req.turns.iter().all(|t| t.text.trim().is_empty()) {
        return Err(invalid("turns", "the transcript is empty"));
    }
    for (name, _) in &req.features {
        let known = manifest
            .features
            .iter()
            .any(|f| &f.name == name && matches!(f.source.as_str(), "customer" | "call"));
        if !known {
            return Err(invalid(name.as_str(), "is not a feature of this model"));
        }
        if req.features.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(invalid(name.as_str(), "given twice"));
        }
    }
    let mut row = Vec::with_capacity(manifest.features.len());
    let mut shown = Vec::with_capacity(manifest.features.len());
    let mut defaulted = Vec::new();
    for spec in &manifest.features {
        let (x, s) = match spec.source.as_str() {
            "text" => (0.0, String::new()),
            "derived" if spec.name == "turn_count" => {
                let n = req.turns.len() as f64;
                encode(spec, &FeatureValue::Number(n))?
            }
            "interaction" if spec.name == "product" => encode(
                spec,
                &FeatureValue::Category(req.product.as_str().to_string()),
            )?,
            "customer" | "call" => match req.features.iter().find(|(n, _)| n == &spec.name) {
                Some((_, v)) => encode(spec, v)?,
                None => {
                    let d = default_of(spec).ok_or_else(|| {
                        invalid(&spec.name, "is required (the model has no default for it)")
                    })?;
                    defaulted.push(spec.name.clone());
                    encode(spec, &d)?
                }
            },
            other => {
                return Err(ScoringError::Manifest {
                    file: "manifest.json".into(),
                    msg: format!("feature {}: source {other:?} is not computable", spec.name),
                })
            }
        };
        row.push(x);
        shown.push(s);
    }
    Ok(Prepared {
        row,
        defaulted,
        shown,
    })
}
