//! The JSON the pages read. Domain values that already serialize (stored
//! interactions, audit events) go out as they are; a lead's own record is
//! spelled out here so the routing layer's types stay free of a web contract.

use crate::domain::StoredInteraction;
use crate::routing::{Assignment, AuditEvent, LeadRecord, LeadView, Lease, Moved};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct LeadJson {
    pub id: String,
    pub customer: String,
    pub campaign: String,
    pub product: &'static str,
    pub branch: String,
    pub state: &'static str,
    pub owner: Option<String>,
    pub bucket: &'static str,
    pub probability: f64,
    pub score: u8,
    pub model_version: String,
    pub attempts: u32,
    pub created_at: i64,
    pub updated_at: i64,
    pub callback_at: Option<i64>,
    pub offer_id: Option<String>,
    pub offer_deadline: Option<i64>,
    pub lease_id: Option<String>,
}

impl From<&LeadView> for LeadJson {
    fn from(l: &LeadView) -> Self {
        Self {
            id: l.id.to_string(),
            customer: l.customer.to_string(),
            campaign: l.campaign.to_string(),
            product: l.product.as_str(),
            branch: l.branch.to_string(),
            state: l.state.as_str(),
            owner: l.owner.as_ref().map(|m| m.to_string()),
            bucket: l.bucket.as_str(),
            probability: l.probability,
            score: l.score,
            model_version: l.model_version.clone(),
            attempts: l.attempts,
            created_at: l.created_at,
            updated_at: l.updated_at,
            callback_at: l.callback_at,
            offer_id: l.offer_id.clone(),
            offer_deadline: l.offer_deadline,
            lease_id: l.lease_id.clone(),
        }
    }
}

/// A lead under a lease (pulled, or in "my leads").
#[derive(Debug, Serialize)]
pub struct LeaseJson {
    pub lead: LeadJson,
    pub lease_id: String,
    pub expires_at: i64,
}

impl From<&Lease> for LeaseJson {
    fn from(l: &Lease) -> Self {
        Self {
            lead: (&l.lead).into(),
            lease_id: l.lease_id.clone(),
            expires_at: l.expires_at,
        }
    }
}

/// A held lead or an offer, and when its current step is due.
#[derive(Debug, Serialize)]
pub struct AssignmentJson {
    pub lead: LeadJson,
    pub due_at: i64,
}

impl From<&Assignment> for AssignmentJson {
    fn from(a: &Assignment) -> Self {
        Self {
            lead: (&a.lead).into(),
            due_at: a.due_at,
        }
    }
}

/// The whole lead: transcript(s), scores, reasons, intents, features, trail.
#[derive(Debug, Serialize)]
pub struct LeadPage<'a> {
    pub lead: LeadJson,
    pub region: String,
    /// Oldest first; personal data was masked before it was stored.
    pub interactions: &'a [StoredInteraction],
    pub history: &'a [AuditEvent],
    pub now: i64,
}

impl<'a> LeadPage<'a> {
    pub fn new(rec: &'a LeadRecord, now: i64) -> Self {
        Self {
            lead: (&rec.lead).into(),
            region: rec.region.to_string(),
            interactions: &rec.interactions,
            history: &rec.history,
            now,
        }
    }
}

/// Where an action moved the lead.
#[derive(Debug, Serialize)]
pub struct MovedJson {
    pub lead_id: String,
    pub state: &'static str,
    pub destination: &'static str,
    pub manager: Option<String>,
    /// The recorded answer of an earlier identical call: nothing was done again.
    pub replayed: bool,
}

impl From<&Moved> for MovedJson {
    fn from(m: &Moved) -> Self {
        Self {
            lead_id: m.lead_id.to_string(),
            state: m.state.as_str(),
            destination: m.destination.kind.as_str(),
            manager: m.destination.manager.as_ref().map(|m| m.to_string()),
            replayed: m.replayed,
        }
    }
}
