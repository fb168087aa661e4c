//! A conversation as the robot posts it, and the score it is stored with.

use super::*;
use serde::{Deserialize, Serialize};

/// Left out of stored JSON (every stored byte is kept per lead).
fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    pub speaker: Speaker,
    pub text: String,
    /// Milliseconds since the call started.
    #[serde(default)]
    pub offset_ms: i64,
}

/// Customer features as the robot knows them; `None` = not known (the model
/// default applies and is reported). Names are the model's feature names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerFeatures {
    pub aum_band: Option<f64>,
    pub age_band: Option<f64>,
    pub tenure_years: Option<f64>,
    pub products_held: Option<f64>,
    pub digital_logins_30d: Option<f64>,
    pub past_campaign_contacts: Option<f64>,
    pub past_campaign_responses: Option<f64>,
    /// none | expired | valid
    pub risk_assessment: Option<String>,
}

/// Call metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallMetadata {
    pub duration_s: Option<f64>,
    pub hour_of_day: Option<f64>,
    /// outbound_voice | inbound_voice | chat
    pub channel: Option<String>,
}

/// One conversation as the robot posts it (also the JSONL format of
/// `funnel submit` and of the training generator's records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub interaction_id: InteractionId,
    pub customer_id: CustomerId,
    pub campaign_id: CampaignId,
    pub product: Product,
    pub region_id: RegionId,
    pub branch_id: BranchId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship_manager_id: Option<ManagerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_manager_id: Option<ManagerId>,
    #[serde(default)]
    pub do_not_contact: bool,
    pub turns: Vec<TurnRecord>,
    #[serde(default)]
    pub features: CustomerFeatures,
    #[serde(default)]
    pub call: CallMetadata,
    /// When the call started (ms since the epoch); 0 if unknown.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub started_at_ms: i64,
}

impl Interaction {
    /// The provided model features by name (absent ones are left out).
    pub fn feature_values(&self) -> Vec<(&'static str, FeatureInput)> {
        let f = &self.features;
        let c = &self.call;
        let mut out = Vec::new();
        let mut num = |name: &'static str, v: Option<f64>| {
            if let Some(v) = v {
                out.push((name, FeatureInput::Number(v)));
            }
        };
        num("aum_band", f.aum_band);
        num("age_band", f.age_band);
        num("tenure_years", f.tenure_years);
        num("products_held", f.products_held);
        num("digital_logins_30d", f.digital_logins_30d);
        num("past_campaign_contacts", f.past_campaign_contacts);
        num("past_campaign_responses", f.past_campaign_responses);
        num("duration_s", c.duration_s);
        num("hour_of_day", c.hour_of_day);
        if let Some(r) = &f.risk_assessment {
            out.push(("risk_assessment", FeatureInput::Category(r.clone())));
        }
        if let Some(ch) = &c.channel {
            out.push(("channel", FeatureInput::Category(ch.clone())));
        }
        out
    }
}

/// A feature value as provided: a number, or a category's name.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureInput {
    Number(f64),
    Category(String),
}

/// What is stored (and shown to managers) for each interaction of a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredInteraction {
    pub interaction: Interaction,
    pub score: ScoreSnapshot,
    /// Intent label → probability.
    pub intents: Vec<(String, f64)>,
    pub defaulted_features: Vec<String>,
    pub received_at_ms: i64,
    /// Transcript characters over the limit, not stored.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub transcript_cut_chars: u64,
}

/// One reason behind a score: a feature or a phrase and its pull on the
/// log-odds (positive pushes the score up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub kind: ReasonKind,
    pub name: String,
    pub value: String,
    pub weight: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    Feature,
    Phrase,
    /// A compliance lexicon hit: `name` is the pattern, `value` the rule id,
    /// `weight` 0 (it decides the route, not the probability).
    Lexicon,
}

/// The score a lead carries: what routing decided on, kept in the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreSnapshot {
    pub probability: f64,
    pub score: u8,
    pub bucket: Bucket,
    pub model_version: String,
    pub reasons: Vec<Reason>,
}
