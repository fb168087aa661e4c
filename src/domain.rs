//! Plain domain types shared by every layer. No gRPC, ONNX or Redis here.
//!
//! Identifiers are validated newtypes with a `parse` constructor: once a value
//! of one of these types exists it is known to be safe to put into a Redis key
//! (no hash-tag braces, no separators, bounded length).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an identifier or enum value was rejected. `field` names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct DomainError {
    pub field: String,
    pub reason: String,
}

impl DomainError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

const MAX_ID_LEN: usize = 128;

fn check_id(field: &str, raw: &str) -> Result<(), DomainError> {
    if raw.is_empty() {
        return Err(DomainError::new(field, "must not be empty"));
    }
    if raw.len() > MAX_ID_LEN {
        return Err(DomainError::new(
            field,
            format!("longer than {MAX_ID_LEN} bytes"),
        ));
    }
    // Keys are built as `prefix:{region}:kind:id`; braces would change the
    // Redis Cluster hash tag and ':' would make keys ambiguous.
    if let Some(c) = raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@')))
    {
        return Err(DomainError::new(
            field,
            format!("character {c:?} is not allowed (use letters, digits, '-', '_', '.', '@')"),
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
                let raw = raw.into();
                check_id($field, &raw)?;
                Ok(Self(raw))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

id_type!(
    /// A region: the unit of sharding (its branches, the remote team serving
    /// them, their managers and the customers homed there).
    RegionId,
    "region_id"
);
id_type!(
    /// A branch (offline managers work in one).
    BranchId,
    "branch_id"
);
id_type!(
    /// A relationship manager, remote or offline.
    ManagerId,
    "manager_id"
);
id_type!(
    /// A bank customer.
    CustomerId,
    "customer_id"
);
id_type!(
    /// The robot's id of one conversation: the idempotency key of ingestion.
    InteractionId,
    "interaction_id"
);
id_type!(
    /// A marketing campaign.
    CampaignId,
    "campaign_id"
);
id_type!(
    /// A lead. Opaque to clients; internally `<region>.<unique>` so a lead can
    /// be found without a global index (a re-homed lead leaves a forward).
    LeadId,
    "lead_id"
);

impl LeadId {
    /// A new lead id in `region`: region, millisecond time, randomness.
    pub fn generate(region: &RegionId, now_ms: i64) -> Self {
        let r: u64 = rand::random();
        Self(format!("{}.{:011x}{:016x}", region.as_str(), now_ms, r))
    }

    /// The region the lead was created in (it may have moved since).
    pub fn origin_region(&self) -> Option<RegionId> {
        let (region, _) = self.0.rsplit_once('.')?;
        RegionId::parse(region).ok()
    }
}

macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                match raw {
                    $($s => Ok($name::$variant),)+
                    other => Err(DomainError::new($field, format!("unknown value {other:?}"))),
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(
    /// The products a campaign sells; managers are qualified per product.
    Product, "product" {
        Wealth => "wealth",
        Fund => "fund",
        Deposit => "deposit",
        Insurance => "insurance",
        CreditCard => "credit_card",
        Loan => "loan",
    }
);

str_enum!(
    /// The funnel tier a score falls into.
    Bucket, "bucket" {
        High => "high",
        Medium => "medium",
        Low => "low",
    }
);

str_enum!(
    /// Remote (pulls a nurture queue) or offline (branch; receives referrals).
    ManagerTier, "tier" {
        Remote => "remote",
        Offline => "offline",
    }
);

str_enum!(
    /// Where a lead is in its lifecycle. Exactly one state, one place.
    LeadState, "state" {
        /// Offered to an offline manager, waiting for accept/decline within the SLA.
        ReferralOffered => "referral_offered",
        /// Accepted by an offline manager, who holds it.
        ReferralAccepted => "referral_accepted",
        /// High score but no eligible offline manager in the branch yet.
        BranchUnassigned => "branch_unassigned",
        /// In a remote nurture queue (a manager's own, or the region's pool).
        RemoteQueued => "remote_queued",
        /// Pulled by a remote manager under a lease.
        RemoteLeased => "remote_leased",
        /// A remote manager asked to call back at a set time.
        RemoteCallback => "remote_callback",
        /// Low score: parked for re-engagement.
        Incubating => "incubating",
        /// Complaint: no sales routing, a service follow-up instead.
        ServiceFollowup => "service_followup",
        /// Do-not-contact: nothing is routed.
        Suppressed => "suppressed",
        ClosedConverted => "closed_converted",
        ClosedNotInterested => "closed_not_interested",
        /// Incubated for longer than the configured age.
        ClosedExpired => "closed_expired",
        /// Moved to another shard; this copy is a forward (see routing::handoff).
        MovedOut => "moved_out",
    }
);

impl LeadState {
    /// A manager holds the lead: it is never taken away by a re-score.
    pub fn is_held(self) -> bool {
        matches!(self, Self::ReferralAccepted | Self::RemoteLeased)
    }
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Self::Suppressed
                | Self::ClosedConverted
                | Self::ClosedNotInterested
                | Self::ClosedExpired
                | Self::MovedOut
        )
    }
}

str_enum!(
    /// What a remote manager records when done with a leased lead.
    RemoteOutcome, "outcome" {
        Converted => "converted",
        NotInterested => "not_interested",
        /// Re-queued to the same manager at the given time.
        CallBack => "call_back",
        /// Becomes a referral to an offline manager of the customer's branch.
        Escalate => "escalate",
        ReturnToIncubation => "return_to_incubation",
    }
);

str_enum!(
    /// What an offline manager records on an accepted referral.
    ReferralOutcome, "outcome" {
        Converted => "converted",
        NotInterested => "not_interested",
        /// Back-flow: hand the lead back to the remote nurture queue.
        ReturnToRemote => "return_to_remote",
        ReturnToIncubation => "return_to_incubation",
    }
);

str_enum!(
    /// Where the routing policy sends a freshly scored lead.
    Route, "route" {
        Referral => "referral",
        Remote => "remote",
        Incubation => "incubation",
        ServiceFollowup => "service_followup",
        Suppressed => "suppressed",
    }
);

str_enum!(
    /// Where a lead ended up after ingestion, as reported to the robot.
    DestinationKind, "destination" {
        ReferralOffered => "referral_offered",
        BranchUnassigned => "branch_unassigned",
        RemotePersonal => "remote_personal",
        RemotePool => "remote_pool",
        Incubation => "incubation",
        ServiceFollowup => "service_followup",
        Suppressed => "suppressed",
        /// A manager already holds the customer's lead; the new score was
        /// recorded but the lead was not moved.
        Held => "held",
        /// The lead is being handed between shards; resolved by the hand-off.
        InTransit => "in_transit",
    }
);

str_enum!(
    /// Who spoke a turn of a conversation.
    Speaker, "speaker" {
        Robot => "robot",
        Customer => "customer",
    }
);

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
    #[serde(default)]
    pub relationship_manager_id: Option<ManagerId>,
    #[serde(default)]
    pub remote_manager_id: Option<ManagerId>,
    #[serde(default)]
    pub do_not_contact: bool,
    pub turns: Vec<TurnRecord>,
    #[serde(default)]
    pub features: CustomerFeatures,
    #[serde(default)]
    pub call: CallMetadata,
    /// When the call started (ms since the epoch); 0 if unknown.
    #[serde(default)]
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

/// A relationship manager as operations registers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manager {
    pub id: ManagerId,
    pub display_name: String,
    pub tier: ManagerTier,
    /// Home shard.
    pub region: RegionId,
    /// Offline managers: their branch.
    pub branch: Option<BranchId>,
    /// Remote managers: their team (a label for operations).
    pub team: Option<String>,
    /// Remote managers: the regions whose pools they pull from (home included).
    pub served_regions: Vec<RegionId>,
    pub qualified_products: Vec<Product>,
    /// Leads held (accepted or leased) plus pending offers, at most.
    pub capacity: u32,
    pub available: bool,
}

impl Manager {
    /// Every shard this manager's record must be present in.
    pub fn shards(&self) -> Vec<RegionId> {
        let mut shards = vec![self.region.clone()];
        for r in &self.served_regions {
            if !shards.contains(r) {
                shards.push(r.clone());
            }
        }
        shards
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_hash_tag_and_separator_characters() {
        assert!(RegionId::parse("east").is_ok());
        for bad in ["", "ea{st", "a:b", "a b", "}"] {
            let err = RegionId::parse(bad).unwrap_err();
            assert_eq!(err.field, "region_id", "{bad}");
        }
        assert!(ManagerId::parse("x".repeat(129)).is_err());
    }

    #[test]
    fn lead_id_keeps_its_origin_region() {
        let r = RegionId::parse("east-2").unwrap();
        let id = LeadId::generate(&r, 1_700_000_000_000);
        assert_eq!(id.origin_region(), Some(r));
        assert!(LeadId::parse(id.as_str()).is_ok());
    }

    #[test]
    fn enums_round_trip_and_name_the_field() {
        for p in Product::ALL {
            assert_eq!(Product::parse(p.as_str()).unwrap(), *p);
        }
        assert_eq!(Product::parse("gold").unwrap_err().field, "product");
        assert!(LeadState::RemoteLeased.is_held());
        assert!(!LeadState::ReferralOffered.is_held());
    }
}
