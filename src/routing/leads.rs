//! Reading a lead: its record, interactions and audit trail.

use super::script::lua_list;
use super::{Actor, AuditEvent, LeadRecord, LeadView, Router, RoutingError};
use crate::domain::{LeadId, StoredInteraction};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct LeadArg<'a> {
    lead: &'a LeadId,
}

/// `get_lead.lua`'s reply: interactions and events are the JSON documents
/// stored by Rust (`StoredInteraction`) and by `audit.lua` (`AuditEvent`).
#[derive(Deserialize)]
struct Raw {
    lead: LeadView,
    #[serde(deserialize_with = "lua_list")]
    interactions: Vec<String>,
    #[serde(deserialize_with = "lua_list")]
    history: Vec<String>,
}

fn decode<T: for<'de> Deserialize<'de>>(raw: &[String]) -> Result<Vec<T>, RoutingError> {
    raw.iter()
        .map(|r| serde_json::from_str(r).map_err(|e| RoutingError::Protocol(e.to_string())))
        .collect()
}

impl Router {
    /// A lead with its interactions and history.
    pub async fn get_lead(&self, lead: &LeadId) -> Result<LeadRecord, RoutingError> {
        let region = Self::region_of(lead)?;
        let raw: Raw = self
            .invoke(
                &self.scripts.get_lead,
                &region,
                &Actor::Admin,
                &LeadArg { lead },
            )
            .await?;
        Ok(LeadRecord {
            lead: raw.lead,
            region,
            interactions: decode::<StoredInteraction>(&raw.interactions)?,
            history: decode::<AuditEvent>(&raw.history)?,
        })
    }
}
