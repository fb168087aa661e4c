//! The shards' audit streams read as an outbox: one consumer group per
//! reader (a webhook sink), so each reader resumes where it stopped after a
//! restart, replicas share the work, and an entry stays pending until it is
//! acknowledged (at least once). Entries a dead or failing consumer left
//! pending are claimed again once idle for `retry_after`.

use super::{AuditEvent, Router, RoutingError};
use crate::domain::RegionId;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadOptions, StreamReadReply};
use std::time::Duration;

/// One audit event with its place in the shard's stream.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub region: RegionId,
    /// The stream id: unique within the shard, the delivery's idempotency key.
    pub id: String,
    pub event: AuditEvent,
    /// Claimed again after another try left it pending (a retry).
    pub reclaimed: bool,
}

impl Router {
    /// Creates `group` on the shard's stream if it has none. A new group
    /// starts at the stream's end: history older than the reader is not sent.
    pub async fn outbox_join(&self, region: &RegionId, group: &str) -> Result<(), RoutingError> {
        let mut conn = self.conn.clone();
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.keys.shard(region).audit())
            .arg(group)
            .arg("$")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => Ok(other?),
        }
    }

    /// Up to `count` entries for `consumer`: first those left pending for
    /// longer than `retry_after` (by anyone), then new ones.
    pub async fn outbox_read(
        &self,
        region: &RegionId,
        group: &str,
        consumer: &str,
        count: usize,
        retry_after: Duration,
    ) -> Result<Vec<OutboxEntry>, RoutingError> {
        let key = self.keys.shard(region).audit();
        let mut conn = self.conn.clone();
        let claimed: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&key)
            .arg(group)
            .arg(consumer)
            .arg(retry_after.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await?;
        let reclaimed = claimed.claimed.len();
        let mut ids = claimed.claimed;
        if ids.len() < count {
            let opts = StreamReadOptions::default()
                .group(group, consumer)
                .count(count - ids.len());
            let read: StreamReadReply = redis::cmd("XREADGROUP")
                .arg(&opts)
                .arg("STREAMS")
                .arg(&key)
                .arg(">")
                .query_async(&mut conn)
                .await?;
            ids.extend(read.keys.into_iter().flat_map(|k| k.ids));
        }
        Ok(ids
            .iter()
            .enumerate()
            .filter_map(|(n, s)| entry(region, s, n < reclaimed))
            .collect())
    }

    /// Marks entries done for `group`.
    pub async fn outbox_ack(
        &self,
        region: &RegionId,
        group: &str,
        ids: &[String],
    ) -> Result<(), RoutingError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let _: u64 = redis::cmd("XACK")
            .arg(self.keys.shard(region).audit())
            .arg(group)
            .arg(ids)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Appends a line to a capped log stream (`<prefix>:<name>`, no shard).
    pub async fn log_append(
        &self,
        name: &str,
        max_len: usize,
        fields: &[(&str, String)],
    ) -> Result<(), RoutingError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("XADD");
        cmd.arg(self.keys.log(name))
            .arg("MAXLEN")
            .arg("~")
            .arg(max_len)
            .arg("*");
        for (k, v) in fields {
            cmd.arg(*k).arg(v);
        }
        let _: String = cmd.query_async(&mut conn).await?;
        Ok(())
    }

    /// The newest `count` lines of a log stream, newest first.
    pub async fn log_tail(
        &self,
        name: &str,
        count: usize,
    ) -> Result<Vec<Vec<(String, String)>>, RoutingError> {
        let mut conn = self.conn.clone();
        let lines: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.keys.log(name))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await?;
        Ok(lines
            .ids
            .iter()
            .map(|s| {
                let mut fields: Vec<(String, String)> = s
                    .map
                    .iter()
                    .filter_map(|(k, v)| {
                        redis::from_redis_value::<String>(v.clone())
                            .ok()
                            .map(|v| (k.clone(), v))
                    })
                    .collect();
                fields.sort();
                fields.insert(0, ("id".into(), s.id.clone()));
                fields
            })
            .collect())
    }
}

/// A stream entry as written by `lua/includes/audit.lua` (`event` = JSON).
/// An entry trimmed away while pending comes back without fields: skipped.
fn entry(region: &RegionId, s: &StreamId, reclaimed: bool) -> Option<OutboxEntry> {
    let raw: String = s.get("event")?;
    let event = serde_json::from_str(&raw).ok()?;
    Some(OutboxEntry {
        region: region.clone(),
        id: s.id.clone(),
        event,
        reclaimed,
    })
}
