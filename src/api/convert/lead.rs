//! Scores, leads, audit events and destinations: domain → wire.

use super::*;
use crate::routing::{AuditEvent, Destination, LeadRecord, LeadView, Moved};
use crate::service::{Answer, Submitted};

pub fn bucket_to_pb(b: Bucket) -> pb::Bucket {
    match b {
        Bucket::High => pb::Bucket::High,
        Bucket::Medium => pb::Bucket::Medium,
        Bucket::Low => pb::Bucket::Low,
    }
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

/// Feature names on the wire are the proto field names.
pub fn wire_feature(name: &str) -> String {
    if name == "duration_s" {
        "duration_seconds".into()
    } else {
        name.to_string()
    }
}

fn reasons_to_pb(reasons: &[Reason]) -> Vec<pb::Reason> {
    reasons
        .iter()
        .map(|r| pb::Reason {
            kind: match r.kind {
                ReasonKind::Feature => pb::ReasonKind::Feature,
                ReasonKind::Phrase => pb::ReasonKind::Phrase,
                ReasonKind::Lexicon => pb::ReasonKind::Lexicon,
            } as i32,
            name: wire_feature(&r.name),
            value: r.value.clone(),
            weight: r.weight,
        })
        .collect()
}

fn score_parts_to_pb(
    s: &ScoreSnapshot,
    intents: &[(String, f64)],
    defaulted: &[String],
) -> pb::Score {
    pb::Score {
        probability: s.probability,
        score: s.score as i32,
        bucket: bucket_to_pb(s.bucket) as i32,
        intents: intents
            .iter()
            .map(|(n, p)| pb::IntentScore {
                intent: intent_to_pb(n) as i32,
                probability: *p,
            })
            .collect(),
        model_version: s.model_version.clone(),
        reasons: reasons_to_pb(&s.reasons),
        defaulted_features: defaulted.iter().map(|n| wire_feature(n)).collect(),
    }
}

pub fn answer_to_pb(a: &Answer) -> pb::Score {
    score_parts_to_pb(&a.score, &a.intents, &a.defaulted)
}

fn stored_score_to_pb(s: &StoredInteraction) -> pb::Score {
    score_parts_to_pb(&s.score, &s.intents, &s.defaulted_features)
}

pub fn destination_to_pb(d: &Destination, region: &RegionId, branch: &BranchId) -> pb::Destination {
    let kind = match d.kind {
        DestinationKind::ReferralOffered => pb::DestinationKind::ReferralOffered,
        DestinationKind::BranchUnassigned => pb::DestinationKind::BranchUnassigned,
        DestinationKind::RemotePersonal => pb::DestinationKind::RemotePersonal,
        DestinationKind::RemotePool => pb::DestinationKind::RemotePool,
        DestinationKind::Incubation => pb::DestinationKind::Incubation,
        DestinationKind::ServiceFollowup => pb::DestinationKind::ServiceFollowup,
        DestinationKind::Suppressed => pb::DestinationKind::Suppressed,
        DestinationKind::Held => pb::DestinationKind::Held,
        DestinationKind::Closed => pb::DestinationKind::Closed,
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

/// Where a manager's action sent the lead: its region and branch as they are now.
pub fn moved_to_pb(m: &Moved) -> (pb::LeadState, Option<pb::Destination>) {
    let region = m.lead_id.region();
    let destination = region.map(|r| destination_to_pb(&m.destination, &r, &m.branch));
    (state_to_pb(m.state), destination)
}

pub fn submitted_to_pb(s: &Submitted) -> pb::SubmitInteractionResponse {
    pb::SubmitInteractionResponse {
        lead_id: s.lead_id.to_string(),
        score: Some(answer_to_pb(&s.answer)),
        destination: Some(destination_to_pb(&s.destination, &s.region, &s.branch)),
        replayed: s.replayed,
        joined_existing_lead: s.joined,
    }
}

pub fn state_to_pb(s: LeadState) -> pb::LeadState {
    match s {
        LeadState::ReferralOffered => pb::LeadState::ReferralOffered,
        LeadState::ReferralAccepted => pb::LeadState::ReferralAccepted,
        LeadState::BranchUnassigned => pb::LeadState::BranchUnassigned,
        LeadState::RemoteQueued => pb::LeadState::RemoteQueued,
        LeadState::RemoteLeased => pb::LeadState::RemoteLeased,
        LeadState::RemoteCallback => pb::LeadState::RemoteCallback,
        LeadState::Incubating => pb::LeadState::Incubating,
        LeadState::ServiceFollowup => pb::LeadState::ServiceFollowup,
        LeadState::Suppressed => pb::LeadState::Suppressed,
        LeadState::ClosedConverted => pb::LeadState::ClosedConverted,
        LeadState::ClosedNotInterested => pb::LeadState::ClosedNotInterested,
        LeadState::ClosedExpired => pb::LeadState::ClosedExpired,
    }
}

/// Audit events name states as text ("" before the lead existed).
fn state_name_to_pb(s: &str) -> pb::LeadState {
    LeadState::parse(s)
        .map(state_to_pb)
        .unwrap_or(pb::LeadState::Unspecified)
}

/// The lead's essentials; `latest` is its most recent interaction (the
/// score shown with intents), else the score kept on the lead.
pub fn summary_to_pb(l: &LeadView, latest: Option<&StoredInteraction>) -> pb::LeadSummary {
    let score = match latest {
        Some(s) => stored_score_to_pb(s),
        None => score_parts_to_pb(
            &ScoreSnapshot {
                probability: l.probability,
                score: l.score,
                bucket: l.bucket,
                model_version: l.model_version.clone(),
                reasons: vec![],
            },
            &[],
            &[],
        ),
    };
    pb::LeadSummary {
        lead_id: l.id.to_string(),
        customer_id: l.customer.to_string(),
        campaign_id: l.campaign.to_string(),
        product: product_to_pb(l.product) as i32,
        region_id: l.id.region().map(|r| r.to_string()).unwrap_or_default(),
        branch_id: l.branch.to_string(),
        state: state_to_pb(l.state) as i32,
        owner_manager_id: l.manager().map(|m| m.to_string()).unwrap_or_default(),
        attempts: l.attempts as i32,
        score: Some(score),
        created_at: Some(ms_to_timestamp(l.created_at)),
        updated_at: Some(ms_to_timestamp(l.updated_at)),
        callback_at: l.callback_at.map(ms_to_timestamp),
    }
}

pub fn audit_to_pb(e: &AuditEvent) -> pb::AuditEvent {
    pb::AuditEvent {
        at: Some(ms_to_timestamp(e.at)),
        actor: e.actor.clone(),
        action: e.action.clone(),
        from_state: state_name_to_pb(&e.from) as i32,
        to_state: state_name_to_pb(&e.to) as i32,
        reason: e.reason.clone(),
        probability: (!e.bucket.is_empty()).then_some(e.probability),
        bucket: Bucket::parse(&e.bucket)
            .map(bucket_to_pb)
            .unwrap_or(pb::Bucket::Unspecified) as i32,
        model_version: e.model_version.clone(),
        manager_id: e.manager.clone(),
        interaction_id: e.interaction.clone(),
        decline_category: e
            .category
            .map_or(pb::DeclineCategory::Unspecified, decline_category_to_pb)
            as i32,
    }
}

pub fn lead_to_pb(rec: &LeadRecord) -> pb::Lead {
    pb::Lead {
        summary: Some(summary_to_pb(&rec.lead, rec.interactions.last())),
        interactions: rec
            .interactions
            .iter()
            .map(|s| pb::InteractionRecord {
                interaction: Some(interaction_to_pb(&s.interaction)),
                score: Some(stored_score_to_pb(s)),
                received_at: Some(ms_to_timestamp(s.received_at_ms)),
                transcript_cut_chars: s.transcript_cut_chars,
            })
            .collect(),
        history: rec.history.iter().map(audit_to_pb).collect(),
    }
}
