//! Every conversion between the gRPC messages and the domain, in one place.
//! Proto → domain validates and names the offending field.

use super::error::ApiError;
use super::pb;
use crate::domain::*;
use crate::routing::{AuditEvent as DomainAudit, Destination as DomainDestination, LeadRecord};
use crate::scoring::ScoredLead;
use crate::service::Submitted;

fn bad(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
    ApiError::InvalidArgument {
        field: field.into(),
        reason: reason.into(),
    }
}

fn named<T>(r: Result<T, DomainError>, field: &str) -> Result<T, ApiError> {
    r.map_err(|e| bad(field, e.reason))
}

pub fn ms_to_timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub fn timestamp_to_ms(t: &prost_types::Timestamp) -> i64 {
    t.seconds * 1000 + (t.nanos as i64) / 1_000_000
}

pub fn product_from_pb(v: i32, field: &str) -> Result<Product, ApiError> {
    match pb::Product::try_from(v) {
        Ok(pb::Product::Wealth) => Ok(Product::Wealth),
        Ok(pb::Product::Fund) => Ok(Product::Fund),
        Ok(pb::Product::Deposit) => Ok(Product::Deposit),
        Ok(pb::Product::Insurance) => Ok(Product::Insurance),
        Ok(pb::Product::CreditCard) => Ok(Product::CreditCard),
        Ok(pb::Product::Loan) => Ok(Product::Loan),
        Ok(pb::Product::Unspecified) => Err(bad(field, "is required")),
        Err(_) => Err(bad(field, format!("unknown value {v}"))),
    }
}

pub fn product_to_pb(p: Product) -> pb::Product {
    match p {
        Product::Wealth => pb::Product::Wealth,
        Product::Fund => pb::Product::Fund,
        Product::Deposit => pb::Product::Deposit,
        Product::Insurance => pb::Product::Insurance,
        Product::CreditCard => pb::Product::CreditCard,
        Product::Loan => pb::Product::Loan,
    }
}

fn required_id<T>(
    raw: &str,
    field: &str,
    parse: fn(String) -> Result<T, DomainError>,
) -> Result<T, ApiError> {
    named(parse(raw.to_string()), field)
}

fn optional_id<T>(
    raw: &Option<String>,
    field: &str,
    parse: fn(String) -> Result<T, DomainError>,
) -> Result<Option<T>, ApiError> {
    match raw.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => named(parse(s.to_string()), field).map(Some),
    }
}

/// A robot's interaction, validated.
pub fn interaction_from_pb(i: pb::Interaction) -> Result<Interaction, ApiError> {
    let mut turns = Vec::with_capacity(i.turns.len());
    for (n, t) in i.turns.into_iter().enumerate() {
        let speaker = match pb::Speaker::try_from(t.speaker) {
            Ok(pb::Speaker::Robot) => Speaker::Robot,
            Ok(pb::Speaker::Customer) => Speaker::Customer,
            _ => {
                return Err(bad(
                    format!("interaction.turns[{n}].speaker"),
                    "must be ROBOT or CUSTOMER",
                ))
            }
        };
        if t.offset_ms < 0 {
            return Err(bad(
                format!("interaction.turns[{n}].offset_ms"),
                "must not be negative",
            ));
        }
        turns.push(TurnRecord {
            speaker,
            text: t.text,
            offset_ms: t.offset_ms,
        });
    }
    let f = i.features.unwrap_or_default();
    let risk = match f.risk_assessment.map(pb::RiskAssessment::try_from) {
        None | Some(Ok(pb::RiskAssessment::Unspecified)) => None,
        Some(Ok(pb::RiskAssessment::None)) => Some("none".to_string()),
        Some(Ok(pb::RiskAssessment::Expired)) => Some("expired".to_string()),
        Some(Ok(pb::RiskAssessment::Valid)) => Some("valid".to_string()),
        Some(Err(_)) => return Err(bad("interaction.features.risk_assessment", "unknown value")),
    };
    let c = i.call.unwrap_or_default();
    let channel = match pb::Channel::try_from(c.channel) {
        Ok(pb::Channel::Unspecified) => None,
        Ok(pb::Channel::OutboundVoice) => Some("outbound_voice".to_string()),
        Ok(pb::Channel::InboundVoice) => Some("inbound_voice".to_string()),
        Ok(pb::Channel::Chat) => Some("chat".to_string()),
        Err(_) => return Err(bad("interaction.call.channel", "unknown value")),
    };
    Ok(Interaction {
        interaction_id: required_id(
            &i.interaction_id,
            "interaction.interaction_id",
            InteractionId::parse,
        )?,
        customer_id: required_id(&i.customer_id, "interaction.customer_id", CustomerId::parse)?,
        campaign_id: required_id(&i.campaign_id, "interaction.campaign_id", CampaignId::parse)?,
        product: product_from_pb(i.product, "interaction.product")?,
        region_id: required_id(&i.region_id, "interaction.region_id", RegionId::parse)?,
        branch_id: required_id(&i.branch_id, "interaction.branch_id", BranchId::parse)?,
        relationship_manager_id: optional_id(
            &i.relationship_manager_id,
            "interaction.relationship_manager_id",
            ManagerId::parse,
        )?,
        remote_manager_id: optional_id(
            &i.remote_manager_id,
            "interaction.remote_manager_id",
            ManagerId::parse,
        )?,
        do_not_contact: i.do_not_contact,
        turns,
        features: CustomerFeatures {
            aum_band: f.aum_band.map(f64::from),
            age_band: f.age_band.map(f64::from),
            tenure_years: f.tenure_years,
            products_held: f.products_held.map(f64::from),
            digital_logins_30d: f.digital_logins_30d,
            past_campaign_contacts: f.past_campaign_contacts.map(f64::from),
            past_campaign_responses: f.past_campaign_responses.map(f64::from),
            risk_assessment: risk,
        },
        call: CallMetadata {
            duration_s: c.duration_seconds,
            hour_of_day: c.hour_of_day.map(f64::from),
            channel,
        },
        started_at_ms: i.started_at.as_ref().map(timestamp_to_ms).unwrap_or(0),
    })
}

/// The domain interaction back to the wire (GetLead, and the CLI client).
pub fn interaction_to_pb(i: &Interaction) -> pb::Interaction {
    let risk = i.features.risk_assessment.as_deref().map(|r| match r {
        "none" => pb::RiskAssessment::None as i32,
        "expired" => pb::RiskAssessment::Expired as i32,
        "valid" => pb::RiskAssessment::Valid as i32,
        _ => pb::RiskAssessment::Unspecified as i32,
    });
    let channel = match i.call.channel.as_deref() {
        Some("outbound_voice") => pb::Channel::OutboundVoice,
        Some("inbound_voice") => pb::Channel::InboundVoice,
        Some("chat") => pb::Channel::Chat,
        _ => pb::Channel::Unspecified,
    };
    // Feature values were validated as whole numbers where the proto has ints.
    let int = |v: Option<f64>| v.map(|x| x as i32);
    pb::Interaction {
        interaction_id: i.interaction_id.to_string(),
        customer_id: i.customer_id.to_string(),
        campaign_id: i.campaign_id.to_string(),
        product: product_to_pb(i.product) as i32,
        region_id: i.region_id.to_string(),
        branch_id: i.branch_id.to_string(),
        relationship_manager_id: i.relationship_manager_id.as_ref().map(|m| m.to_string()),
        remote_manager_id: i.remote_manager_id.as_ref().map(|m| m.to_string()),
        do_not_contact: i.do_not_contact,
        turns: i
            .turns
            .iter()
            .map(|t| pb::Turn {
                speaker: match t.speaker {
                    Speaker::Robot => pb::Speaker::Robot,
                    Speaker::Customer => pb::Speaker::Customer,
                } as i32,
                text: t.text.clone(),
                offset_ms: t.offset_ms,
            })
            .collect(),
        features: Some(pb::CustomerFeatures {
            aum_band: int(i.features.aum_band),
            age_band: int(i.features.age_band),
            tenure_years: i.features.tenure_years,
            products_held: int(i.features.products_held),
            digital_logins_30d: i.features.digital_logins_30d,
            past_campaign_contacts: int(i.features.past_campaign_contacts),
            past_campaign_responses: int(i.features.past_campaign_responses),
            risk_assessment: risk,
        }),
        call: Some(pb::CallMetadata {
            duration_seconds: i.call.duration_s,
            hour_of_day: int(i.call.hour_of_day),
            channel: channel as i32,
        }),
        started_at: (i.started_at_ms != 0).then(|| ms_to_timestamp(i.started_at_ms)),
    }
}

pub fn bucket_to_pb(b: Bucket) -> pb::Bucket {
    match b {
        Bucket::High => pb::Bucket::High,
        Bucket::Medium => pb::Bucket::Medium,
        Bucket::Low => pb::Bucket::Low,
    }
}

fn bucket_name_to_pb(b: &str) -> pb::Bucket {
    Bucket::parse(b)
        .map(bucket_to_pb)
        .unwrap_or(pb::Bucket::Unspecified)
}

pub fn intent_to_pb(name: &str) -> pb::Intent {
    match name {
        "interested" => pb::Intent::Interested,
        "asks_for_human" => pb::Intent::AsksForHuman,
        "call_back_later" => pb::Intent::CallBackLater,
        "not_interested" => pb::Intent::NotInterested,
        "complaint" => pb::Intent::Complaint,
        "no_answer" => pb::Intent::NoAnswer,
        _ => pb::Intent::Unspecified,
    }
}

fn reasons_to_pb(reasons: &[Reason]) -> Vec<pb::Reason> {
    reasons
        .iter()
        .map(|r| pb::Reason {
            kind: match r.kind {
                ReasonKind::Feature => pb::ReasonKind::Feature,
                ReasonKind::Phrase => pb::ReasonKind::Phrase,
            } as i32,
            // Feature names on the wire are the proto field names.
            name: if r.name == "duration_s" {
                "duration_seconds".into()
            } else {
                r.name.clone()
            },
            value: r.value.clone(),
            weight: r.weight,
        })
        .collect()
}

fn intents_to_pb(intents: &[(String, f64)]) -> Vec<pb::IntentScore> {
    intents
        .iter()
        .map(|(n, p)| pb::IntentScore {
            intent: intent_to_pb(n) as i32,
            probability: *p,
        })
        .collect()
}

fn wire_feature_names(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            if n == "duration_s" {
                "duration_seconds".into()
            } else {
                n.clone()
            }
        })
        .collect()
}

pub fn score_to_pb(s: &ScoredLead) -> pb::Score {
    pb::Score {
        probability: s.probability,
        score: s.score as i32,
        bucket: bucket_to_pb(s.bucket) as i32,
        intents: intents_to_pb(&s.intents),
        model_version: s.model_version.clone(),
        reasons: reasons_to_pb(&s.reasons),
        defaulted_features: wire_feature_names(&s.defaulted),
    }
}

fn stored_score_to_pb(s: &StoredInteraction) -> pb::Score {
    pb::Score {
        probability: s.score.probability,
        score: s.score.score as i32,
        bucket: bucket_to_pb(s.score.bucket) as i32,
        intents: intents_to_pb(&s.intents),
        model_version: s.score.model_version.clone(),
        reasons: reasons_to_pb(&s.score.reasons),
        defaulted_features: wire_feature_names(&s.defaulted_features),
    }
}

pub fn destination_to_pb(d: &DomainDestination, region: &str, branch: &str) -> pb::Destination {
    let kind = match d.kind {
        DestinationKind::ReferralOffered => pb::DestinationKind::ReferralOffered,
        DestinationKind::BranchUnassigned => pb::DestinationKind::BranchUnassigned,
        DestinationKind::RemotePersonal => pb::DestinationKind::RemotePersonal,
        DestinationKind::RemotePool => pb::DestinationKind::RemotePool,
        DestinationKind::Incubation => pb::DestinationKind::Incubation,
        DestinationKind::ServiceFollowup => pb::DestinationKind::ServiceFollowup,
        DestinationKind::Suppressed => pb::DestinationKind::Suppressed,
        DestinationKind::Held => pb::DestinationKind::Held,
        DestinationKind::InTransit => pb::DestinationKind::Unspecified,
    };
    pb::Destination {
        kind: kind as i32,
        manager_id: d
            .manager
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
        region_id: region.to_string(),
        branch_id: branch.to_string(),
    }
}

pub fn submitted_to_pb(s: &Submitted) -> pb::SubmitInteractionResponse {
    pb::SubmitInteractionResponse {
        lead_id: s.lead_id.to_string(),
        score: Some(score_to_pb(&s.scored)),
        destination: Some(destination_to_pb(
            &s.destination,
            s.region.as_str(),
            s.branch.as_str(),
        )),
        replayed: s.replayed,
        joined_existing_lead: s.joined,
    }
}

pub fn state_to_pb(s: &str) -> pb::LeadState {
    match LeadState::parse(s) {
        Ok(LeadState::ReferralOffered) => pb::LeadState::ReferralOffered,
        Ok(LeadState::ReferralAccepted) => pb::LeadState::ReferralAccepted,
        Ok(LeadState::BranchUnassigned) => pb::LeadState::BranchUnassigned,
        Ok(LeadState::RemoteQueued) => pb::LeadState::RemoteQueued,
        Ok(LeadState::RemoteLeased) => pb::LeadState::RemoteLeased,
        Ok(LeadState::RemoteCallback) => pb::LeadState::RemoteCallback,
        Ok(LeadState::Incubating) => pb::LeadState::Incubating,
        Ok(LeadState::ServiceFollowup) => pb::LeadState::ServiceFollowup,
        Ok(LeadState::Suppressed) => pb::LeadState::Suppressed,
        Ok(LeadState::ClosedConverted) => pb::LeadState::ClosedConverted,
        Ok(LeadState::ClosedNotInterested) => pb::LeadState::ClosedNotInterested,
        Ok(LeadState::ClosedExpired) => pb::LeadState::ClosedExpired,
        Ok(LeadState::MovedOut) | Err(_) => pb::LeadState::Unspecified,
    }
}

fn ms_field(rec: &LeadRecord, name: &str) -> Option<prost_types::Timestamp> {
    rec.field(name)
        .parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .map(ms_to_timestamp)
}

pub fn summary_to_pb(rec: &LeadRecord) -> pb::LeadSummary {
    let latest: Option<StoredInteraction> = rec
        .interactions
        .last()
        .and_then(|j| serde_json::from_str(j).ok());
    let owner = match rec.field("owner") {
        "" => rec.field("queue_manager"),
        o => o,
    };
    pb::LeadSummary {
        lead_id: rec.id.to_string(),
        customer_id: rec.field("customer").into(),
        campaign_id: rec.field("campaign").into(),
        product: Product::parse(rec.field("product"))
            .map(product_to_pb)
            .unwrap_or(pb::Product::Unspecified) as i32,
        region_id: rec.region.to_string(),
        branch_id: rec.field("branch").into(),
        state: state_to_pb(rec.field("state")) as i32,
        owner_manager_id: owner.into(),
        attempts: rec.field("attempts").parse().unwrap_or(0),
        score: latest.as_ref().map(stored_score_to_pb),
        created_at: ms_field(rec, "created_at"),
        updated_at: ms_field(rec, "updated_at"),
        callback_at: if rec.field("state") == "remote_callback" {
            rec.history
                .iter()
                .rev()
                .find(|e| e.action == "call_back_scheduled")
                .and_then(|e| {
                    e.reason
                        .strip_prefix("call back at ")
                        .and_then(|t| t.parse().ok())
                })
                .map(ms_to_timestamp)
        } else {
            None
        },
    }
}

pub fn audit_to_pb(e: &DomainAudit) -> pb::AuditEvent {
    pb::AuditEvent {
        at: Some(ms_to_timestamp(e.at)),
        actor: e.actor.clone(),
        action: e.action.clone(),
        from_state: state_to_pb(&e.from) as i32,
        to_state: state_to_pb(&e.to) as i32,
        reason: e.reason.clone(),
        probability: (e.probability > 0.0 || !e.bucket.is_empty()).then_some(e.probability),
        bucket: bucket_name_to_pb(&e.bucket) as i32,
        model_version: e.model_version.clone(),
        manager_id: e.manager.clone(),
        interaction_id: e
            .reason
            .strip_prefix("interaction ")
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_default()
            .to_string(),
    }
}

pub fn lead_to_pb(rec: &LeadRecord) -> pb::Lead {
    pb::Lead {
        summary: Some(summary_to_pb(rec)),
        interactions: rec
            .interactions
            .iter()
            .filter_map(|j| serde_json::from_str::<StoredInteraction>(j).ok())
            .map(|s| pb::InteractionRecord {
                interaction: Some(interaction_to_pb(&s.interaction)),
                score: Some(stored_score_to_pb(&s)),
                received_at: Some(ms_to_timestamp(s.received_at_ms)),
            })
            .collect(),
        history: rec.history.iter().map(audit_to_pb).collect(),
    }
}

pub fn tier_from_pb(v: i32) -> Result<ManagerTier, ApiError> {
    match pb::ManagerTier::try_from(v) {
        Ok(pb::ManagerTier::Remote) => Ok(ManagerTier::Remote),
        Ok(pb::ManagerTier::Offline) => Ok(ManagerTier::Offline),
        _ => Err(bad("manager.tier", "must be REMOTE or OFFLINE")),
    }
}

pub fn tier_to_pb(t: ManagerTier) -> pb::ManagerTier {
    match t {
        ManagerTier::Remote => pb::ManagerTier::Remote,
        ManagerTier::Offline => pb::ManagerTier::Offline,
    }
}

pub fn manager_from_pb(m: pb::Manager) -> Result<Manager, ApiError> {
    let tier = tier_from_pb(m.tier)?;
    let region = required_id(&m.region_id, "manager.region_id", RegionId::parse)?;
    let branch = optional_id(&Some(m.branch_id), "manager.branch_id", BranchId::parse)?;
    match (tier, &branch) {
        (ManagerTier::Offline, None) => {
            return Err(bad("manager.branch_id", "required for an offline manager"))
        }
        (ManagerTier::Remote, Some(_)) => {
            return Err(bad("manager.branch_id", "not allowed for a remote manager"))
        }
        _ => {}
    }
    if tier == ManagerTier::Offline && !m.team_id.is_empty() {
        return Err(bad("manager.team_id", "not allowed for an offline manager"));
    }
    if m.capacity < 1 {
        return Err(bad("manager.capacity", "must be at least 1"));
    }
    if m.qualified_products.is_empty() {
        return Err(bad("manager.qualified_products", "at least one product"));
    }
    let mut products = Vec::new();
    for (i, p) in m.qualified_products.iter().enumerate() {
        products.push(product_from_pb(
            *p,
            &format!("manager.qualified_products[{i}]"),
        )?);
    }
    let mut served = Vec::new();
    for (i, r) in m.served_region_ids.iter().enumerate() {
        served.push(required_id(
            r,
            &format!("manager.served_region_ids[{i}]"),
            RegionId::parse,
        )?);
    }
    if tier == ManagerTier::Offline && !served.is_empty() {
        return Err(bad(
            "manager.served_region_ids",
            "only remote managers serve other regions",
        ));
    }
    Ok(Manager {
        id: required_id(&m.manager_id, "manager.manager_id", ManagerId::parse)?,
        display_name: m.display_name,
        tier,
        region,
        branch,
        team: Some(m.team_id).filter(|t| !t.is_empty()),
        served_regions: served,
        qualified_products: products,
        capacity: m.capacity as u32,
        available: m.available,
    })
}

pub fn manager_to_pb(m: &Manager) -> pb::Manager {
    pb::Manager {
        manager_id: m.id.to_string(),
        display_name: m.display_name.clone(),
        tier: tier_to_pb(m.tier) as i32,
        region_id: m.region.to_string(),
        branch_id: m.branch.as_ref().map(|b| b.to_string()).unwrap_or_default(),
        team_id: m.team.clone().unwrap_or_default(),
        served_region_ids: m.served_regions.iter().map(|r| r.to_string()).collect(),
        qualified_products: m
            .qualified_products
            .iter()
            .map(|p| product_to_pb(*p) as i32)
            .collect(),
        capacity: m.capacity as i32,
        available: m.available,
    }
}

pub fn queue_kind_to_pb(q: &str) -> pb::QueueKind {
    match q {
        "referral_offered" => pb::QueueKind::ReferralOffered,
        "branch_unassigned" => pb::QueueKind::BranchUnassigned,
        "remote_pool" => pb::QueueKind::RemotePool,
        "remote_personal" => pb::QueueKind::RemotePersonal,
        "incubation" => pb::QueueKind::Incubation,
        "service_followup" => pb::QueueKind::ServiceFollowup,
        "remote_callback" => pb::QueueKind::RemoteCallback,
        _ => pb::QueueKind::Unspecified,
    }
}

pub fn lead_id(raw: &str) -> Result<LeadId, ApiError> {
    required_id(raw, "lead_id", LeadId::parse)
}

pub fn manager_id(raw: &str, field: &str) -> Result<ManagerId, ApiError> {
    required_id(raw, field, ManagerId::parse)
}

pub fn region_id(raw: &str, field: &str) -> Result<RegionId, ApiError> {
    required_id(raw, field, RegionId::parse)
}

pub fn remote_outcome_from_pb(v: i32) -> Result<RemoteOutcome, ApiError> {
    match pb::Outcome::try_from(v) {
        Ok(pb::Outcome::Converted) => Ok(RemoteOutcome::Converted),
        Ok(pb::Outcome::NotInterested) => Ok(RemoteOutcome::NotInterested),
        Ok(pb::Outcome::CallBack) => Ok(RemoteOutcome::CallBack),
        Ok(pb::Outcome::Escalate) => Ok(RemoteOutcome::Escalate),
        Ok(pb::Outcome::ReturnToIncubation) => Ok(RemoteOutcome::ReturnToIncubation),
        _ => Err(bad("outcome", "CompleteLead accepts CONVERTED, NOT_INTERESTED, CALL_BACK, ESCALATE, RETURN_TO_INCUBATION")),
    }
}

pub fn referral_outcome_from_pb(v: i32) -> Result<ReferralOutcome, ApiError> {
    match pb::Outcome::try_from(v) {
        Ok(pb::Outcome::Converted) => Ok(ReferralOutcome::Converted),
        Ok(pb::Outcome::NotInterested) => Ok(ReferralOutcome::NotInterested),
        Ok(pb::Outcome::ReturnToRemote) => Ok(ReferralOutcome::ReturnToRemote),
        Ok(pb::Outcome::ReturnToIncubation) => Ok(ReferralOutcome::ReturnToIncubation),
        _ => Err(bad("outcome", "CompleteReferral accepts CONVERTED, NOT_INTERESTED, RETURN_TO_REMOTE, RETURN_TO_INCUBATION")),
    }
}

/// The request field a model feature comes from (for error messages).
pub fn wire_field(feature: &str) -> String {
    match feature {
        "turns" | "turn_count" => "interaction.turns".into(),
        "product" => "interaction.product".into(),
        "duration_s" => "interaction.call.duration_seconds".into(),
        "hour_of_day" | "channel" => format!("interaction.call.{feature}"),
        "aum_band"
        | "age_band"
        | "tenure_years"
        | "products_held"
        | "digital_logins_30d"
        | "past_campaign_contacts"
        | "past_campaign_responses"
        | "risk_assessment" => format!("interaction.features.{feature}"),
        other => other.to_string(),
    }
}
