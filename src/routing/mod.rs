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
//! Time: every deadline is computed inside the scripts from Redis's `TIME`,
//! one clock for all replicas; tests move time with a [`ManualClock`].

mod clock;
mod config;
mod conn;
pub mod counters;
mod customers;
mod error;
mod ingest;
pub mod invariants;
pub mod keys;
mod leads;
mod managers;
pub mod offers;
pub mod outbox;
mod outcomes;
mod record;
mod referrals;
pub mod registry;
mod remote;
pub mod script;
mod stats;
pub mod sweeper;
mod types;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::RoutingConfig;
pub use conn::{RedisConn, RedisTarget};
pub use customers::Home;
pub use error::RoutingError;
pub use keys::Keys;
pub use outcomes::OutcomeRecord;
pub use registry::{RegisteredRegion, Registry};
pub use script::{ScriptError, ScriptErrorCode};
pub use stats::ListQuery;
pub use types::*;

use crate::domain::{LeadId, RegionId};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The routing core: every lead transition, as one Lua script on one shard.
#[derive(Clone)]
pub struct Router {
    conn: RedisConn,
    keys: Keys,
    scripts: Arc<script::Scripts>,
    cfg: Arc<RoutingConfig>,
    clock: Arc<dyn Clock>,
    /// Tests only: the scripts take `now` from `clock` instead of Redis.
    test_clock: bool,
    noted_regions: Arc<Mutex<HashSet<RegionId>>>,
    /// This replica's copy of the registered regions and branches.
    registry: Arc<registry::RegistryCache>,
}

impl Router {
    /// A router whose deadlines follow Redis's clock.
    pub fn new(conn: RedisConn, cfg: RoutingConfig) -> Self {
        Self::build(conn, cfg, Arc::new(SystemClock), false)
    }

    /// A router whose own clock (lead ids, display times) is `clock`, while
    /// deadlines still follow Redis: what a replica with a wrong clock does.
    pub fn with_replica_clock(conn: RedisConn, cfg: RoutingConfig, clock: Arc<dyn Clock>) -> Self {
        Self::build(conn, cfg, clock, false)
    }

    /// Tests only: the scripts run at `clock`'s time, which the test moves.
    pub fn with_test_clock(conn: RedisConn, cfg: RoutingConfig, clock: Arc<ManualClock>) -> Self {
        Self::build(conn, cfg, clock, true)
    }

    fn build(conn: RedisConn, cfg: RoutingConfig, clock: Arc<dyn Clock>, test_clock: bool) -> Self {
        Self {
            conn,
            keys: Keys::new(&cfg.key_prefix),
            scripts: Arc::new(script::Scripts::load(&cfg.script_lua())),
            cfg: Arc::new(cfg),
            clock,
            test_clock,
            noted_regions: Arc::default(),
            registry: Arc::default(),
        }
    }

    /// This replica's clock (or the test clock): for ids and display only.
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
}
