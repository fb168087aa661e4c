//! Routing: the lead lifecycle as atomic Redis transitions, one Lua script
//! per operation on one shard (see [`keys`] for the key scheme and
//! [`script`] for the Rust↔Lua contract).
//!
//! Idempotency keys and the customer's open-lead index live in the
//! customer's region, so ingestion is one script on one shard. **Trade-off:**
//! a manager's capacity spanning several shards (a remote team serving
//! several regions) is checked by the caller summing the other shards' loads
//! before the pull script runs; two simultaneous pulls by the *same* manager
//! in two shards can overshoot its capacity by at most one pull. Everything
//! within a shard is exact.
//!
//! Every script takes `now` from the caller's [`Clock`]: the system clock in
//! the service (replicas are expected to run NTP), a manual clock in tests.

mod clock;
mod config;
mod conn;
mod error;
mod ingest;
pub mod invariants;
pub mod keys;
mod leads;
mod managers;
pub mod offers;
mod referrals;
mod remote;
pub mod script;
mod stats;
pub mod sweeper;
mod types;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::RoutingConfig;
pub use conn::{RedisConn, RedisTarget};
pub use error::RoutingError;
pub use keys::Keys;
pub use script::{ScriptError, ScriptErrorCode};
pub use types::*;

use crate::domain::{LeadId, RegionId};
use serde_json::value::RawValue;
use std::collections::HashSet;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

/// The routing core: every lead transition, as one Lua script on one shard.
#[derive(Clone)]
pub struct Router {
    conn: RedisConn,
    keys: Keys,
    scripts: Arc<script::Scripts>,
    cfg: Arc<RoutingConfig>,
    cfg_json: Arc<RawValue>,
    clock: Arc<dyn Clock>,
    pull_rotation: Arc<AtomicUsize>,
    noted_regions: Arc<Mutex<HashSet<RegionId>>>,
}

impl Router {
    pub fn new(conn: RedisConn, cfg: RoutingConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            conn,
            keys: Keys::new(&cfg.key_prefix),
            scripts: Arc::new(script::Scripts::load()),
            cfg_json: cfg.script_json().into(),
            cfg: Arc::new(cfg),
            clock,
            pull_rotation: Arc::default(),
            noted_regions: Arc::default(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The shard a lead lives in: the region its id names.
    fn region_of(lead: &LeadId) -> Result<RegionId, RoutingError> {
        lead.region()
            .ok_or_else(|| RoutingError::NotFound(format!("lead {lead} not found")))
    }

    /// Round-trip check for readiness probes.
    pub async fn ping(&self) -> Result<(), RoutingError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}
