//! The outcome log: one entry per retired lead (written by
//! `lua/sweep_retire.lua`), read page by page for export; an acknowledged
//! export lets the sweeper trim what was exported.

use super::{AuditEvent, Router, RoutingError};
use crate::domain::{RegionId, StoredInteraction};
use redis::streams::{StreamId, StreamRangeReply};
use std::collections::HashMap;

/// One retired lead as the outcome log keeps it.
#[derive(Debug, Clone)]
pub struct OutcomeRecord {
    pub region: RegionId,
    /// The entry's stream id: pass it as `after` for the next page, and to
    /// `outcomes_acknowledge` once exported.
    pub cursor: String,
    /// The lead's fields when it was retired (state, ids, score, times).
    pub lead: HashMap<String, String>,
    /// Its audit trail, oldest first (the newest `history_per_lead`).
    pub history: Vec<AuditEvent>,
    /// Its interactions as stored (masked, cut to the limits), oldest first.
    pub interactions: Vec<StoredInteraction>,
}

impl Router {
    /// Up to `count` outcome records of `region` after the cursor `after`
    /// ("" = from the oldest kept), oldest first.
    pub async fn outcomes_page(
        &self,
        region: &RegionId,
        after: &str,
        count: usize,
    ) -> Result<Vec<OutcomeRecord>, RoutingError> {
        let mut conn = self.conn.clone();
        let start = match after {
            "" => "-".to_string(),
            a => format!("({a}"),
        };
        let page: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.keys.shard(region).outcome_log())
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await?;
        page.ids.iter().map(|e| record(region, e)).collect()
    }

    /// Marks everything of `region` up to `cursor` as exported: the sweeper
    /// then trims it from the outcome log. Never moves backwards.
    pub async fn outcomes_acknowledge(
        &self,
        region: &RegionId,
        cursor: &str,
    ) -> Result<String, RoutingError> {
        let key = self.keys.shard(region).exported();
        let mut conn = self.conn.clone();
        let current: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut conn).await?;
        let (new, old) = (
            stream_id(cursor)?,
            current.as_deref().map(stream_id).transpose()?,
        );
        if old.is_some_and(|old| old >= new) {
            return Ok(current.unwrap_or_default());
        }
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(cursor)
            .query_async(&mut conn)
            .await?;
        Ok(cursor.to_string())
    }

    /// Entries in the outcome log of `region` now.
    pub async fn outcomes_len(&self, region: &RegionId) -> Result<u64, RoutingError> {
        let mut conn = self.conn.clone();
        Ok(redis::cmd("XLEN")
            .arg(self.keys.shard(region).outcome_log())
            .query_async(&mut conn)
            .await?)
    }
}

/// A Redis stream id, `<ms>-<seq>`, as a comparable pair.
fn stream_id(id: &str) -> Result<(u64, u64), RoutingError> {
    id.split_once('-')
        .and_then(|(ms, seq)| Some((ms.parse().ok()?, seq.parse().ok()?)))
        .ok_or_else(|| RoutingError::Protocol(format!("{id:?} is not an outcome-log cursor")))
}

/// The outcome log's `interactions` field: a JSON array of stored records.
#[derive(serde::Deserialize)]
#[serde(transparent)]
struct Interactions(#[serde(deserialize_with = "super::record::list")] Vec<StoredInteraction>);

fn record(region: &RegionId, e: &StreamId) -> Result<OutcomeRecord, RoutingError> {
    fn field<T: serde::de::DeserializeOwned>(e: &StreamId, name: &str) -> Result<T, RoutingError> {
        let raw: String = e
            .get(name)
            .ok_or_else(|| RoutingError::Protocol(format!("outcome {}: no {name}", e.id)))?;
        serde_json::from_str(&raw)
            .map_err(|err| RoutingError::Protocol(format!("outcome {} {name}: {err}", e.id)))
    }
    Ok(OutcomeRecord {
        region: region.clone(),
        cursor: e.id.clone(),
        lead: field(e, "fields")?,
        history: field(e, "history")?,
        interactions: field::<Interactions>(e, "interactions")?.0,
    })
}

#[cfg(test)]
mod tests {
    use super::stream_id;

    #[test]
    fn cursors_compare_as_stream_ids() {
        assert!(stream_id("1700000000000-2").unwrap() > stream_id("1700000000000-1").unwrap());
        assert!(stream_id("999-9").unwrap() < stream_id("1000-0").unwrap());
        assert!(stream_id("nope").is_err());
        assert!(stream_id("1-x").is_err());
    }
}
