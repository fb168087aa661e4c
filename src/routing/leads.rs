//! Reading a lead: its record, interactions and audit trail.

use super::script::lua_list;
use super::{Actor, AuditEvent, LeadRecord, LeadView, Router, RoutingError};
use crate::domain::{LeadId, StoredInteraction};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct LeadArg<'a> {
    lead: &'a LeadId,
}

/// `get_lead.lua`'s reply: interactions as stored by Rust (`record.rs`) and
/// events as the JSON documents `audit.lua` stored (`AuditEvent`).
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
            interactions: raw
                .interactions
                .iter()
                .map(|r| super::record::decode(r))
                .collect::<Result<Vec<StoredInteraction>, _>>()?,
            history: decode::<AuditEvent>(&raw.history)?,
        })
    }
}
