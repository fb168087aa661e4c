//! Routing: the lead lifecycle as atomic Redis transitions.
//!
//! # Key scheme
//!
//! The shard unit is a **region**: its branches, the remote team serving it,
//! their managers and the customers homed there. Every key of a region carries
//! the Redis Cluster hash tag `{<region>}`, e.g. `funnel:{east}:lead:<id>`, and
//! every Lua script is called with `KEYS[1] = "funnel:{east}"` and derives all
//! the keys it touches from it, so each script touches ONE slot. The same code
//! therefore runs on one Redis or on a Redis Cluster.
//!
//! | key (after `<prefix>:{<region>}:`) | type | what |
//! |---|---|---|
//! | `lead:<id>` | hash | the lead: ids, product, branch, state, owner, score snapshot, `place`, `deadline` |
//! | `hist:<id>` | list | the lead's audit trail, in order (JSON events) |
//! | `ix:<id>` / `iids:<id>` | list / set | every interaction (transcript + its score) / their ids |
//! | `tried:<id>` / `offered:<id>` | set | offline managers offered this lead in this referral episode / ever |
//! | `idem:<interaction>` | string | the result of ingesting that interaction (idempotency, with TTL) |
//! | `cust:<customer>` | string | the customer's open lead |
//! | `pool:<product>` / `mq:<manager>` | zset | remote team pool / a manager's own queue, by priority |
//! | `offers:<m>` / `held:<m>` | zset | pending offers / leads held (accepted or leased) |
//! | `unassigned:<branch>` | zset | high leads with no eligible branch manager yet |
//! | `incubation`, `callback`, `followup` | zset | incubation pool (by next review), call-backs (by time), service follow-ups |
//! | `dl:offer`, `dl:lease`, `dl:unassigned` | zset | deadlines the sweeper runs |
//! | `mgr:<m>`, `managers`, `branch:<b>:offline`, `branches` | hash/sets | managers present in this shard |
//! | `audit` | stream | append-only audit stream of the shard |
//! | `handoff:<id>`, `handoffs` | string / zset | leads leaving the shard (see [`Router::move_lead`]) |
//!
//! Outside any tag (single-key commands only, never inside a script):
//! `<prefix>:directory:managers` (manager → shards) and `<prefix>:regions`.
//!
//! Idempotency keys and the customer's open-lead index live in the customer's
//! region, so ingestion is one script on one shard. **Trade-off:** a manager's
//! capacity spanning several shards (a remote team serving several regions)
//! is checked by the caller summing the other shards' loads before the pull
//! script runs; two simultaneous pulls by the *same* manager in two shards can
//! overshoot its capacity by at most one pull. Everything within a shard is
//! exact. Moving a lead between shards is an explicit, resumable, three-step
//! hand-off.
//!
//! # Clock
//!
//! Every script takes `now` from the caller ([`Clock`]): the system clock in
//! the service (replicas are expected to run NTP; deadlines are minutes long),
//! a manual clock in tests. Redis's `TIME` is not used so tests can move time.

mod conn;
pub mod invariants;
pub mod offers;
mod policy;
mod scripts;
pub mod sweeper;

pub use conn::{RedisConn, RedisTarget};
pub use policy::{decide_route, RoutePolicy};

use crate::domain::*;
use redis::aio::ConnectionLike;
use serde::{Deserialize, Deserializer, Serialize};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Tunables of the lead lifecycle.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RoutingConfig {
    /// Prefix of every key.
    pub key_prefix: String,
    /// How long an offline manager has to accept a referral.
    #[serde(with = "humantime_ms")]
    pub offer_sla: Duration,
    /// How long a high lead waits in a branch's unassigned list before it
    /// flows back to the remote queue.
    #[serde(with = "humantime_ms")]
    pub backflow_wait: Duration,
    /// Lease length when the puller does not ask for one.
    #[serde(with = "humantime_ms")]
    pub lease_default: Duration,
    /// Longest lease, also the cap of an extension (from now).
    #[serde(with = "humantime_ms")]
    pub lease_max: Duration,
    /// Expired leases before a lead goes to incubation.
    pub max_attempts: u32,
    /// Interval between incubation reviews.
    #[serde(with = "humantime_ms")]
    pub incubation_review: Duration,
    /// Age after which an incubating lead is closed as expired.
    #[serde(with = "humantime_ms")]
    pub incubation_expiry: Duration,
    /// How long an interaction id is remembered for idempotency.
    #[serde(with = "humantime_ms")]
    pub idempotency_ttl: Duration,
    /// Approximate length kept of each shard's audit stream.
    pub audit_stream_maxlen: u64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            key_prefix: "funnel".into(),
            offer_sla: Duration::from_secs(30 * 60),
            backflow_wait: Duration::from_secs(4 * 3600),
            lease_default: Duration::from_secs(15 * 60),
            lease_max: Duration::from_secs(3600),
            max_attempts: 3,
            incubation_review: Duration::from_secs(7 * 24 * 3600),
            incubation_expiry: Duration::from_secs(90 * 24 * 3600),
            idempotency_ttl: Duration::from_secs(30 * 24 * 3600),
            audit_stream_maxlen: 1_000_000,
        }
    }
}

/// Durations in config files as milliseconds.
mod humantime_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

impl RoutingConfig {
    fn script_json(&self) -> String {
        serde_json::json!({
            "offer_sla_ms": self.offer_sla.as_millis() as u64,
            "backflow_ms": self.backflow_wait.as_millis() as u64,
            "lease_max_ms": self.lease_max.as_millis() as u64,
            "max_attempts": self.max_attempts,
            "review_ms": self.incubation_review.as_millis() as u64,
            "incubation_expiry_ms": self.incubation_expiry.as_millis() as u64,
            "idem_ttl_ms": self.idempotency_ttl.as_millis() as u64,
            "audit_maxlen": self.audit_stream_maxlen,
            "reengage_maxlen": 100_000,
        })
        .to_string()
    }
}

/// Errors of the routing layer.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// Redis could not be reached or did not answer in time.
    #[error("redis unavailable: {0}")]
    Unavailable(#[source] redis::RedisError),
    #[error("{0}")]
    NotFound(String),
    /// The lease ran out, the offer moved on, the lead is in another state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The lead belongs to another manager.
    #[error("{0}")]
    NotOwner(String),
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// A Redis error that is not about reachability (a bug or a misconfigured server).
    #[error("redis error: {0}")]
    Redis(#[source] redis::RedisError),
    /// A script answered something this code does not understand.
    #[error("unexpected reply from redis: {0}")]
    Protocol(String),
}

impl From<redis::RedisError> for RoutingError {
    fn from(e: redis::RedisError) -> Self {
        let unreachable = e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout()
            || e.is_unrecoverable_error()
            || matches!(
                e.kind(),
                redis::ErrorKind::Server(redis::ServerErrorKind::ClusterDown)
                    | redis::ErrorKind::Server(redis::ServerErrorKind::TryAgain)
                    | redis::ErrorKind::Server(redis::ServerErrorKind::MasterDown)
                    | redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
            );
        if unreachable {
            Self::Unavailable(e)
        } else {
            Self::Redis(e)
        }
    }
}

/// The clock every transition is stamped with (ms since the epoch).
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

/// Wall clock.
pub struct SystemClock;
impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A clock tests move by hand.
#[derive(Default)]
pub struct ManualClock(AtomicI64);
impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        Self(AtomicI64::new(start_ms))
    }
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_millis() as i64, Ordering::SeqCst);
    }
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}
impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Who is acting, for the audit trail.
#[derive(Debug, Clone)]
pub enum Actor {
    Robot,
    Manager(ManagerId),
    Admin,
    Sweeper,
}

impl Actor {
    fn audit_name(&self) -> String {
        match self {
            Actor::Robot => "robot".into(),
            Actor::Manager(m) => format!("manager:{m}"),
            Actor::Admin => "admin".into(),
            Actor::Sweeper => "sweeper".into(),
        }
    }
}

/// Everything ingestion needs: the interaction's identity and the score.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub interaction_id: InteractionId,
    pub customer: CustomerId,
    pub campaign: CampaignId,
    pub product: Product,
    pub region: RegionId,
    pub branch: BranchId,
    pub relationship_manager: Option<ManagerId>,
    pub remote_manager: Option<ManagerId>,
    pub route: Route,
    /// Why the policy chose the route (kept in the audit trail).
    pub route_reason: String,
    pub score: ScoreSnapshot,
    /// The interaction as it should be shown to managers (JSON, opaque here).
    pub interaction_record: String,
}

/// Where a lead went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    pub kind: DestinationKind,
    pub manager: Option<ManagerId>,
}

#[derive(Debug, Clone)]
pub struct IngestOutcome {
    pub lead_id: LeadId,
    pub destination: Destination,
    pub joined: bool,
    pub replayed: bool,
    pub state: LeadState,
}

/// A lead leased to a remote manager.
#[derive(Debug, Clone)]
pub struct Lease {
    pub lead_id: LeadId,
    pub region: RegionId,
    pub lease_id: String,
    pub expires_at_ms: i64,
    /// The lead as the pull left it, with its latest interaction (no history).
    pub summary: LeadRecord,
}

/// One audit event of a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: i64,
    pub lead: String,
    pub actor: String,
    pub action: String,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub probability: f64,
    pub bucket: String,
    pub model_version: String,
    pub manager: String,
}

/// A lead as stored, with its interactions and history.
#[derive(Debug, Clone)]
pub struct LeadRecord {
    pub id: LeadId,
    pub region: RegionId,
    pub fields: std::collections::HashMap<String, String>,
    /// Interaction records as ingested (JSON, oldest first).
    pub interactions: Vec<String>,
    pub history: Vec<AuditEvent>,
}

impl LeadRecord {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
    pub fn state(&self) -> Option<LeadState> {
        LeadState::parse(self.field("state")).ok()
    }
    pub fn owner(&self) -> Option<ManagerId> {
        ManagerId::parse(self.field("owner")).ok()
    }
    /// Managers this lead was ever offered to.
    pub fn offered_to(&self) -> Vec<String> {
        self.fields
            .get("_tried")
            .map(|s| {
                s.split(',')
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A pending referral offer.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOffer {
    pub lead_id: LeadId,
    pub region: RegionId,
    pub offer_id: String,
    pub accept_by_ms: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct QueueStat {
    #[serde(skip_deserializing)]
    pub region: String,
    pub queue: String,
    pub owner: String,
    pub depth: u64,
    pub oldest_age_ms: i64,
    pub buckets: BucketCounts,
    pub sampled: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BucketCounts {
    pub high: u64,
    pub medium: u64,
    pub low: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ManagerLoad {
    #[serde(skip_deserializing)]
    pub region: String,
    pub manager: String,
    #[serde(default)]
    pub tier: String,
    pub capacity: u32,
    pub available: bool,
    pub held: u64,
    pub pending_offers: u64,
}

#[derive(Debug, Clone, Default)]
pub struct QueueStats {
    pub queues: Vec<QueueStat>,
    pub managers: Vec<ManagerLoad>,
}

/// What a sweep pass did, per deadline kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    pub offers_timed_out: u64,
    pub leases_expired: u64,
    pub callbacks_due: u64,
    pub backflowed: u64,
    pub incubation_reviewed: u64,
    pub handoffs_resumed: u64,
}

/// Where a manager's records live.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DirectoryEntry {
    home: RegionId,
    shards: Vec<RegionId>,
    tier: ManagerTier,
}

/// Script results are JSON; Lua's cjson encodes an empty array as `{}`.
fn lua_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrEmpty<T> {
        List(Vec<T>),
        Empty(serde_json::Map<String, serde_json::Value>),
    }
    match ListOrEmpty::<T>::deserialize(d)? {
        ListOrEmpty::List(v) => Ok(v),
        ListOrEmpty::Empty(m) if m.is_empty() => Ok(Vec::new()),
        ListOrEmpty::Empty(m) => Err(serde::de::Error::custom(format!(
            "expected a list, got an object with {} fields",
            m.len()
        ))),
    }
}

#[derive(Deserialize)]
struct ScriptError {
    err: String,
    msg: String,
}

#[derive(Deserialize)]
struct RawDestination {
    kind: String,
    #[serde(default)]
    manager: String,
}

impl RawDestination {
    /// `None` when the lead was closed.
    fn into_destination(self) -> Result<Option<Destination>, RoutingError> {
        if self.kind == "closed" {
            return Ok(None);
        }
        let kind = DestinationKind::parse(&self.kind)
            .map_err(|_| RoutingError::Protocol(format!("destination kind {:?}", self.kind)))?;
        let manager = if self.manager.is_empty() {
            None
        } else {
            Some(
                ManagerId::parse(self.manager)
                    .map_err(|e| RoutingError::Protocol(e.to_string()))?,
            )
        };
        Ok(Some(Destination { kind, manager }))
    }
}

/// What a remote manager does to a leased lead (see `lua/lease.lua`).
enum LeaseOp<'a> {
    Complete {
        outcome: RemoteOutcome,
        callback_at_ms: i64,
        note: &'a str,
    },
    Release,
    Extend(Duration),
    Escalate {
        reason: &'a str,
    },
}

/// Result of a transition that moves a lead.
#[derive(Debug, Clone)]
pub struct Moved {
    pub lead_id: LeadId,
    pub state: LeadState,
    /// `None` when the lead was closed.
    pub destination: Option<Destination>,
}

/// The routing core: every lead transition, as one Lua script on one shard.
#[derive(Clone)]
pub struct Router {
    conn: RedisConn,
    scripts: Arc<scripts::Scripts>,
    cfg: Arc<RoutingConfig>,
    cfg_json: Arc<str>,
    clock: Arc<dyn Clock>,
    pull_rotation: Arc<AtomicUsize>,
    noted_regions: Arc<std::sync::Mutex<std::collections::HashSet<RegionId>>>,
}

impl Router {
    pub fn new(conn: RedisConn, cfg: RoutingConfig, clock: Arc<dyn Clock>) -> Self {
        let cfg_json = cfg.script_json().into();
        Self {
            conn,
            scripts: Arc::new(scripts::Scripts::load()),
            cfg: Arc::new(cfg),
            cfg_json,
            clock,
            pull_rotation: Arc::new(AtomicUsize::new(0)),
            noted_regions: Arc::default(),
        }
    }

    pub fn config(&self) -> &RoutingConfig {
        &self.cfg
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The connection (for health checks and tests).
    pub fn connection(&self) -> RedisConn {
        self.conn.clone()
    }

    fn anchor(&self, region: &RegionId) -> String {
        format!("{}:{{{}}}", self.cfg.key_prefix, region)
    }

    fn key(&self, region: &RegionId, rest: &str) -> String {
        format!("{}:{}", self.anchor(region), rest)
    }

    fn directory_key(&self) -> String {
        format!("{}:directory:managers", self.cfg.key_prefix)
    }

    fn regions_key(&self) -> String {
        format!("{}:regions", self.cfg.key_prefix)
    }

    /// Runs a script on `region`'s shard and returns its JSON, turning
    /// `{"err": ..}` replies into typed errors.
    async fn run(
        &self,
        script: &redis::Script,
        region: &RegionId,
        actor: &Actor,
        args: &[&str],
    ) -> Result<serde_json::Value, RoutingError> {
        let mut inv = script.key(self.anchor(region));
        inv.arg(self.clock.now_ms())
            .arg(actor.audit_name())
            .arg(&*self.cfg_json);
        for a in args {
            inv.arg(*a);
        }
        let mut conn = self.conn.clone();
        let raw: String = inv.invoke_async(&mut conn).await?;
        let value: serde_json::Value = serde_json::from_str(&raw)
            .map_err(|e| RoutingError::Protocol(format!("{e}: {raw}")))?;
        if value.get("err").is_some() {
            let e: ScriptError =
                serde_json::from_value(value).map_err(|e| RoutingError::Protocol(e.to_string()))?;
            return Err(match e.err.as_str() {
                "not_found" => RoutingError::NotFound(e.msg),
                "not_owner" => RoutingError::NotOwner(e.msg),
                "lease_lost" | "offer_gone" | "held" | "closed" | "already_moved"
                | "handoff_pending" | "unavailable" | "not_registered" => {
                    RoutingError::FailedPrecondition(e.msg)
                }
                _ => RoutingError::Protocol(format!("{}: {}", e.err, e.msg)),
            });
        }
        Ok(value)
    }

    fn parse<T: for<'de> Deserialize<'de>>(v: serde_json::Value) -> Result<T, RoutingError> {
        serde_json::from_value(v).map_err(|e| RoutingError::Protocol(e.to_string()))
    }

    /// Adds a region to the set the sweeper walks. Done before a region's
    /// first write (idempotent); remembered per process to save round trips.
    async fn note_region(&self, region: &RegionId) -> Result<(), RoutingError> {
        if self
            .noted_regions
            .lock()
            .map(|s| s.contains(region))
            .unwrap_or(false)
        {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("SADD")
            .arg(self.regions_key())
            .arg(region.as_str())
            .query_async(&mut conn)
            .await?;
        if let Ok(mut s) = self.noted_regions.lock() {
            s.insert(region.clone());
        }
        Ok(())
    }

    /// Every region that has seen a lead or a manager.
    pub async fn regions(&self) -> Result<Vec<RegionId>, RoutingError> {
        let mut conn = self.conn.clone();
        let names: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.regions_key())
            .query_async(&mut conn)
            .await?;
        let mut regions: Vec<RegionId> = names
            .into_iter()
            .filter_map(|n| RegionId::parse(n).ok())
            .collect();
        regions.sort();
        Ok(regions)
    }

    /// Ingests one scored interaction (see `lua/ingest.lua`).
    #[tracing::instrument(skip_all, fields(interaction = %req.interaction_id, region = %req.region))]
    pub async fn ingest(&self, req: &IngestRequest) -> Result<IngestOutcome, RoutingError> {
        let lead_id = LeadId::generate(&req.region, self.clock.now_ms());
        let probability = format!("{:.6}", req.score.probability);
        let score = req.score.score.to_string();
        let reasons = serde_json::to_string(&req.score.reasons)
            .map_err(|e| RoutingError::Protocol(e.to_string()))?;
        let rm = req
            .relationship_manager
            .as_ref()
            .map(|m| m.as_str())
            .unwrap_or("");
        let remote = req
            .remote_manager
            .as_ref()
            .map(|m| m.as_str())
            .unwrap_or("");
        self.note_region(&req.region).await?;
        let v = self
            .run(
                &self.scripts.ingest,
                &req.region,
                &Actor::Robot,
                &[
                    req.interaction_id.as_str(),
                    lead_id.as_str(),
                    req.customer.as_str(),
                    req.product.as_str(),
                    req.campaign.as_str(),
                    req.branch.as_str(),
                    rm,
                    remote,
                    req.route.as_str(),
                    req.score.bucket.as_str(),
                    &probability,
                    &score,
                    &req.score.model_version,
                    &reasons,
                    &req.interaction_record,
                    &req.route_reason,
                ],
            )
            .await?;
        #[derive(Deserialize)]
        struct Raw {
            lead_id: String,
            destination: RawDestination,
            joined: bool,
            replayed: bool,
            state: String,
        }
        let raw: Raw = Self::parse(v)?;
        let outcome = IngestOutcome {
            lead_id: LeadId::parse(raw.lead_id)
                .map_err(|e| RoutingError::Protocol(e.to_string()))?,
            destination: raw.destination.into_destination()?.unwrap_or(Destination {
                kind: DestinationKind::Suppressed,
                manager: None,
            }),
            joined: raw.joined,
            replayed: raw.replayed,
            state: LeadState::parse(&raw.state)
                .map_err(|e| RoutingError::Protocol(e.to_string()))?,
        };
        Ok(outcome)
    }

    /// Registers or updates a manager in every shard it works in.
    #[tracing::instrument(skip_all, fields(manager = %m.id))]
    pub async fn upsert_manager(&self, m: &Manager) -> Result<(), RoutingError> {
        if m.tier == ManagerTier::Offline && m.branch.is_none() {
            return Err(RoutingError::InvalidArgument {
                field: "branch_id".into(),
                reason: "an offline manager needs a branch".into(),
            });
        }
        if m.capacity == 0 {
            return Err(RoutingError::InvalidArgument {
                field: "capacity".into(),
                reason: "must be at least 1".into(),
            });
        }
        let products = format!(
            ",{},",
            m.qualified_products
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        let shards = match m.tier {
            ManagerTier::Offline => vec![m.region.clone()],
            ManagerTier::Remote => m.shards(),
        };
        let old = self.directory_entry(&m.id).await?;
        if let Some(old) = &old {
            if old.tier != m.tier || old.home != m.region {
                return Err(RoutingError::FailedPrecondition(format!(
                    "manager {} exists as {} in {}; tier and home region cannot change",
                    m.id, old.tier, old.home
                )));
            }
        }
        // The directory first: a crash after it leaves a record that the
        // next upsert completes (every step is idempotent).
        let entry = DirectoryEntry {
            home: m.region.clone(),
            shards: shards.clone(),
            tier: m.tier,
        };
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("HSET")
            .arg(self.directory_key())
            .arg(m.id.as_str())
            .arg(serde_json::to_string(&entry).map_err(|e| RoutingError::Protocol(e.to_string()))?)
            .query_async(&mut conn)
            .await?;
        for region in &shards {
            let body = serde_json::json!({
                "id": m.id.as_str(),
                "display_name": m.display_name,
                "tier": m.tier.as_str(),
                "branch": m.branch.as_ref().map(|b| b.as_str()).unwrap_or(""),
                "team": m.team.clone().unwrap_or_default(),
                "products": products,
                "capacity": m.capacity,
                "available": m.available,
                "home_region": m.region.as_str(),
            })
            .to_string();
            self.run(
                &self.scripts.manager,
                region,
                &Actor::Admin,
                &["upsert", &body],
            )
            .await?;
            self.note_region(region).await?;
        }
        // Regions no longer served: the manager is unavailable there, so its
        // own queue there goes to the pool (its open leases end as usual).
        let dropped = old
            .map(|o| {
                o.shards
                    .into_iter()
                    .filter(|r| !shards.contains(r))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for region in &dropped {
            self.run(
                &self.scripts.manager,
                region,
                &Actor::Admin,
                &["availability", m.id.as_str(), "0"],
            )
            .await?;
        }
        Ok(())
    }

    async fn directory_entry(&self, m: &ManagerId) -> Result<Option<DirectoryEntry>, RoutingError> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = redis::cmd("HGET")
            .arg(self.directory_key())
            .arg(m.as_str())
            .query_async(&mut conn)
            .await?;
        raw.map(|r| serde_json::from_str(&r).map_err(|e| RoutingError::Protocol(e.to_string())))
            .transpose()
    }

    async fn require_directory(&self, m: &ManagerId) -> Result<DirectoryEntry, RoutingError> {
        self.directory_entry(m)
            .await?
            .ok_or_else(|| RoutingError::NotFound(format!("manager {m} is not registered")))
    }

    /// A manager as registered (read from its home shard).
    pub async fn get_manager(&self, m: &ManagerId) -> Result<Manager, RoutingError> {
        let entry = self.require_directory(m).await?;
        let mut conn = self.conn.clone();
        let h: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.key(&entry.home, &format!("mgr:{m}")))
            .query_async(&mut conn)
            .await?;
        let get = |f: &str| h.get(f).cloned().unwrap_or_default();
        Ok(Manager {
            id: m.clone(),
            display_name: get("display_name"),
            tier: entry.tier,
            region: entry.home.clone(),
            branch: BranchId::parse(get("branch")).ok(),
            team: Some(get("team")).filter(|t| !t.is_empty()),
            served_regions: entry.shards.clone(),
            qualified_products: get("products")
                .split(',')
                .filter_map(|p| Product::parse(p).ok())
                .collect(),
            capacity: get("capacity").parse().unwrap_or(0),
            available: get("available") == "1",
        })
    }

    /// Marks a manager (un)available in every shard. Going away returns its
    /// pending offers to others; becoming available retries unassigned leads.
    #[tracing::instrument(skip_all, fields(manager = %m, available))]
    pub async fn set_availability(
        &self,
        m: &ManagerId,
        available: bool,
    ) -> Result<(), RoutingError> {
        let entry = self.require_directory(m).await?;
        for region in &entry.shards {
            self.run(
                &self.scripts.manager,
                region,
                &Actor::Admin,
                &[
                    "availability",
                    m.as_str(),
                    if available { "1" } else { "0" },
                ],
            )
            .await?;
        }
        Ok(())
    }

    async fn load_in(&self, region: &RegionId, m: &ManagerId) -> Result<u64, RoutingError> {
        let mut conn = self.conn.clone();
        let (held, offers): (u64, u64) = redis::pipe()
            .cmd("ZCARD")
            .arg(self.key(region, &format!("held:{m}")))
            .cmd("ZCARD")
            .arg(self.key(region, &format!("offers:{m}")))
            .query_async(&mut conn)
            .await?;
        Ok(held + offers)
    }

    /// Pulls up to `max` leads under a lease, fairly across the shards the
    /// manager serves: every shard is first asked for an even share (all at
    /// once), then, if some had fewer, the rest is filled up shard by shard,
    /// starting at the next shard in rotation.
    ///
    /// Capacity spans shards: each shard's script is told the load held
    /// elsewhere *plus* the shares asked of the other shards at the same
    /// time, so concurrent shares never overshoot the manager's capacity.
    #[tracing::instrument(skip_all, fields(manager = %m, max))]
    pub async fn pull(
        &self,
        m: &ManagerId,
        max: u32,
        lease: Option<Duration>,
    ) -> Result<Vec<Lease>, RoutingError> {
        let entry = self.require_directory(m).await?;
        if entry.tier != ManagerTier::Remote {
            return Err(RoutingError::FailedPrecondition(format!(
                "{m} is not a remote manager"
            )));
        }
        let lease = lease
            .unwrap_or(self.cfg.lease_default)
            .min(self.cfg.lease_max);
        let n = entry.shards.len();
        let start = self.pull_rotation.fetch_add(1, Ordering::Relaxed) % n;
        let order: Vec<&RegionId> = (0..n).map(|i| &entry.shards[(start + i) % n]).collect();
        let max = max as usize;
        if n == 1 {
            // Within one shard the script counts the load itself.
            return self.pull_in(order[0], m, max, 0, lease).await;
        }
        let loads = futures::future::try_join_all(order.iter().map(|r| self.load_in(r, m))).await?;
        let total_load: u64 = loads.iter().sum();
        let share = max.div_ceil(n);
        let shares: Vec<usize> = (0..n)
            .map(|i| share.min(max.saturating_sub(i * share)))
            .collect();
        let asked: usize = shares.iter().sum();
        let first = futures::future::try_join_all(order.iter().enumerate().map(|(i, r)| {
            let elsewhere = total_load - loads[i] + (asked - shares[i]) as u64;
            self.pull_in(r, m, shares[i], elsewhere, lease)
        }))
        .await?;
        let mut leases: Vec<Lease> = first.into_iter().flatten().collect();
        for (i, region) in order.iter().enumerate() {
            let want = max - leases.len();
            if want == 0 {
                break;
            }
            let here = leases.iter().filter(|l| &l.region == *region).count() as u64;
            let elsewhere = total_load - loads[i] + leases.len() as u64 - here;
            leases.extend(self.pull_in(region, m, want, elsewhere, lease).await?);
        }
        Ok(leases)
    }

    /// One shard's part of a pull: the script, then the latest interaction of
    /// each leased lead (its score, shown in the list) in one pipelined read,
    /// kept out of the script's CPU time.
    async fn pull_in(
        &self,
        region: &RegionId,
        m: &ManagerId,
        want: usize,
        elsewhere: u64,
        lease: Duration,
    ) -> Result<Vec<Lease>, RoutingError> {
        if want == 0 {
            return Ok(vec![]);
        }
        let v = self
            .run(
                &self.scripts.pull,
                region,
                &Actor::Manager(m.clone()),
                &[
                    m.as_str(),
                    &want.to_string(),
                    &lease.as_millis().to_string(),
                    &elsewhere.to_string(),
                ],
            )
            .await?;
        #[derive(Deserialize)]
        struct RawLease {
            lead_id: String,
            lease_id: String,
            expires_at: i64,
            fields: std::collections::HashMap<String, String>,
        }
        #[derive(Deserialize)]
        struct Raw {
            #[serde(deserialize_with = "lua_list")]
            leases: Vec<RawLease>,
        }
        let raw: Raw = Self::parse(v)?;
        if raw.leases.is_empty() {
            return Ok(vec![]);
        }
        let mut latest_read = redis::pipe();
        for l in &raw.leases {
            latest_read
                .cmd("LINDEX")
                .arg(self.key(region, &format!("ix:{}", l.lead_id)))
                .arg(-1);
        }
        let latest: Vec<Option<String>> = latest_read.query_async(&mut self.conn.clone()).await?;
        raw.leases
            .into_iter()
            .zip(latest)
            .map(|(l, latest)| {
                let lead_id =
                    LeadId::parse(l.lead_id).map_err(|e| RoutingError::Protocol(e.to_string()))?;
                Ok(Lease {
                    summary: LeadRecord {
                        id: lead_id.clone(),
                        region: region.clone(),
                        fields: l.fields,
                        interactions: latest.into_iter().collect(),
                        history: vec![],
                    },
                    lead_id,
                    region: region.clone(),
                    lease_id: l.lease_id,
                    expires_at_ms: l.expires_at,
                })
            })
            .collect()
    }

    /// Finds the shard a lead lives in now, following hand-off forwards.
    pub async fn locate(&self, lead: &LeadId) -> Result<RegionId, RoutingError> {
        let mut region = lead
            .origin_region()
            .ok_or_else(|| RoutingError::NotFound(format!("lead {lead} not found")))?;
        let mut conn = self.conn.clone();
        for _ in 0..4 {
            let (state, forward): (Option<String>, Option<String>) = redis::cmd("HMGET")
                .arg(self.key(&region, &format!("lead:{lead}")))
                .arg("state")
                .arg("forward")
                .query_async(&mut conn)
                .await?;
            match state.as_deref() {
                None => return Err(RoutingError::NotFound(format!("lead {lead} not found"))),
                Some("moved_out") => match forward.and_then(|f| RegionId::parse(f).ok()) {
                    Some(next) => region = next,
                    None => {
                        return Err(RoutingError::Protocol(format!(
                            "lead {lead} has no forward"
                        )))
                    }
                },
                Some(_) => return Ok(region),
            }
        }
        Err(RoutingError::Protocol(format!(
            "lead {lead}: too many forwards"
        )))
    }

    async fn lease_op(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
        op: LeaseOp<'_>,
    ) -> Result<serde_json::Value, RoutingError> {
        let (name, outcome, callback_at_ms, note, extend) = match op {
            LeaseOp::Complete {
                outcome,
                callback_at_ms,
                note,
            } => (
                "complete",
                outcome.as_str(),
                callback_at_ms,
                note,
                Duration::ZERO,
            ),
            LeaseOp::Release => ("release", "", 0, "released by manager", Duration::ZERO),
            LeaseOp::Extend(by) => ("extend", "", 0, "", by),
            LeaseOp::Escalate { reason } => ("escalate", "", 0, reason, Duration::ZERO),
        };
        let region = self.locate(lead).await?;
        self.run(
            &self.scripts.lease,
            &region,
            &Actor::Manager(m.clone()),
            &[
                m.as_str(),
                lead.as_str(),
                lease_id,
                name,
                outcome,
                &callback_at_ms.to_string(),
                note,
                &extend.as_millis().to_string(),
            ],
        )
        .await
    }

    fn moved(v: serde_json::Value) -> Result<Moved, RoutingError> {
        #[derive(Deserialize)]
        struct Raw {
            lead_id: String,
            state: String,
            destination: Option<RawDestination>,
        }
        let raw: Raw = Self::parse(v)?;
        Ok(Moved {
            lead_id: LeadId::parse(raw.lead_id)
                .map_err(|e| RoutingError::Protocol(e.to_string()))?,
            state: LeadState::parse(&raw.state)
                .map_err(|e| RoutingError::Protocol(e.to_string()))?,
            destination: match raw.destination {
                Some(d) => d.into_destination()?,
                None => None,
            },
        })
    }

    /// Records the outcome of a leased lead.
    #[tracing::instrument(skip_all, fields(manager = %m, lead = %lead, outcome = %outcome))]
    pub async fn complete(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
        outcome: RemoteOutcome,
        callback_at_ms: Option<i64>,
        note: &str,
    ) -> Result<Moved, RoutingError> {
        let callback = match (outcome, callback_at_ms) {
            (RemoteOutcome::CallBack, Some(t)) if t > self.clock.now_ms() => t,
            (RemoteOutcome::CallBack, _) => {
                return Err(RoutingError::InvalidArgument {
                    field: "callback_at".into(),
                    reason: "a call-back needs a time in the future".into(),
                })
            }
            _ => 0,
        };
        let v = self
            .lease_op(
                m,
                lead,
                lease_id,
                LeaseOp::Complete {
                    outcome,
                    callback_at_ms: callback,
                    note,
                },
            )
            .await?;
        Self::moved(v)
    }

    /// Puts a leased lead back where it came from, no attempt counted.
    pub async fn release(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
    ) -> Result<Moved, RoutingError> {
        let v = self.lease_op(m, lead, lease_id, LeaseOp::Release).await?;
        Self::moved(v)
    }

    /// Extends a lease; returns the new expiry (capped at now + lease_max).
    pub async fn extend(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
        by: Duration,
    ) -> Result<i64, RoutingError> {
        let v = self
            .lease_op(m, lead, lease_id, LeaseOp::Extend(by))
            .await?;
        v.get("expires_at")
            .and_then(|e| e.as_i64())
            .ok_or_else(|| RoutingError::Protocol(v.to_string()))
    }

    /// Turns a leased lead into a referral to the customer's branch.
    pub async fn escalate(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
        reason: &str,
    ) -> Result<Moved, RoutingError> {
        let v = self
            .lease_op(m, lead, lease_id, LeaseOp::Escalate { reason })
            .await?;
        Self::moved(v)
    }

    async fn referral_op(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        op: &str,
        offer_id: &str,
        note: &str,
        outcome: &str,
    ) -> Result<serde_json::Value, RoutingError> {
        let region = self.locate(lead).await?;
        self.run(
            &self.scripts.referral,
            &region,
            &Actor::Manager(m.clone()),
            &[m.as_str(), lead.as_str(), op, offer_id, note, outcome],
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(manager = %m, lead = %lead))]
    pub async fn accept(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        offer_id: &str,
    ) -> Result<(), RoutingError> {
        self.referral_op(m, lead, "accept", offer_id, "", "")
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(manager = %m, lead = %lead))]
    pub async fn decline(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        offer_id: &str,
        reason: &str,
    ) -> Result<Moved, RoutingError> {
        if reason.trim().is_empty() {
            return Err(RoutingError::InvalidArgument {
                field: "reason".into(),
                reason: "a decline needs a reason".into(),
            });
        }
        let v = self
            .referral_op(m, lead, "decline", offer_id, reason, "")
            .await?;
        Self::moved(v)
    }

    #[tracing::instrument(skip_all, fields(manager = %m, lead = %lead, outcome = %outcome))]
    pub async fn complete_referral(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        outcome: ReferralOutcome,
        note: &str,
    ) -> Result<Moved, RoutingError> {
        let v = self
            .referral_op(m, lead, "complete", "", note, outcome.as_str())
            .await?;
        Self::moved(v)
    }

    /// The referrals currently offered to an offline manager, oldest first.
    pub async fn pending_offers(&self, m: &ManagerId) -> Result<Vec<PendingOffer>, RoutingError> {
        let entry = self.require_directory(m).await?;
        let mut conn = self.conn.clone();
        let mut out = Vec::new();
        for region in &entry.shards {
            let ids: Vec<(String, f64)> = redis::cmd("ZRANGE")
                .arg(self.key(region, &format!("offers:{m}")))
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query_async(&mut conn)
                .await?;
            for (id, deadline) in ids {
                let offer_id: Option<String> = redis::cmd("HGET")
                    .arg(self.key(region, &format!("lead:{id}")))
                    .arg("offer_id")
                    .query_async(&mut conn)
                    .await?;
                if let (Ok(lead_id), Some(offer_id)) = (LeadId::parse(id), offer_id) {
                    out.push(PendingOffer {
                        lead_id,
                        region: region.clone(),
                        offer_id,
                        accept_by_ms: deadline as i64,
                    });
                }
            }
        }
        Ok(out)
    }

    /// A lead with its interactions and history.
    pub async fn get_lead(&self, lead: &LeadId) -> Result<LeadRecord, RoutingError> {
        let region = self.locate(lead).await?;
        let mut conn = self.conn.clone();
        let (fields, interactions, history, tried): (
            std::collections::HashMap<String, String>,
            Vec<String>,
            Vec<String>,
            Vec<String>,
        ) = redis::pipe()
            .cmd("HGETALL")
            .arg(self.key(&region, &format!("lead:{lead}")))
            .cmd("LRANGE")
            .arg(self.key(&region, &format!("ix:{lead}")))
            .arg(0)
            .arg(-1)
            .cmd("LRANGE")
            .arg(self.key(&region, &format!("hist:{lead}")))
            .arg(0)
            .arg(-1)
            .cmd("SMEMBERS")
            .arg(self.key(&region, &format!("tried:{lead}")))
            .query_async(&mut conn)
            .await?;
        if fields.is_empty() {
            return Err(RoutingError::NotFound(format!("lead {lead} not found")));
        }
        let mut fields = fields;
        fields.insert("_tried".into(), tried.join(","));
        let history = history
            .iter()
            .map(|h| serde_json::from_str(h).map_err(|e| RoutingError::Protocol(e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(LeadRecord {
            id: lead.clone(),
            region,
            fields,
            interactions,
            history,
        })
    }

    /// The audit trail of a lead, in order.
    pub async fn audit_trail(&self, lead: &LeadId) -> Result<Vec<AuditEvent>, RoutingError> {
        Ok(self.get_lead(lead).await?.history)
    }

    /// Queue depths and manager loads of one region or of all.
    pub async fn queue_stats(&self, region: Option<&RegionId>) -> Result<QueueStats, RoutingError> {
        let regions = match region {
            Some(r) => vec![r.clone()],
            None => self.regions().await?,
        };
        let mut stats = QueueStats::default();
        for r in regions {
            let v = self
                .run(&self.scripts.stats, &r, &Actor::Admin, &[])
                .await?;
            #[derive(Deserialize)]
            struct Raw {
                #[serde(deserialize_with = "lua_list")]
                queues: Vec<QueueStat>,
                #[serde(deserialize_with = "lua_list")]
                managers: Vec<ManagerLoad>,
            }
            let raw: Raw = Self::parse(v)?;
            stats.queues.extend(raw.queues.into_iter().map(|mut q| {
                q.region = r.to_string();
                q
            }));
            stats.managers.extend(raw.managers.into_iter().map(|mut m| {
                m.region = r.to_string();
                m
            }));
        }
        Ok(stats)
    }

    /// Runs every kind of due deadline of one region, up to `limit` each.
    pub async fn sweep_region(
        &self,
        region: &RegionId,
        limit: u32,
    ) -> Result<SweepReport, RoutingError> {
        let mut report = SweepReport::default();
        let limit = limit.to_string();
        for kind in ["offer", "lease", "callback", "unassigned", "incubation"] {
            let v = self
                .run(
                    &self.scripts.sweep,
                    region,
                    &Actor::Sweeper,
                    &[kind, &limit],
                )
                .await?;
            let done = v.get("done").and_then(|d| d.as_u64()).unwrap_or(0);
            match kind {
                "offer" => report.offers_timed_out += done,
                "lease" => report.leases_expired += done,
                "callback" => report.callbacks_due += done,
                "unassigned" => report.backflowed += done,
                _ => report.incubation_reviewed += done,
            }
        }
        report.handoffs_resumed += self.resume_handoffs(region).await?;
        Ok(report)
    }

    /// Moves a lead to another region (a customer re-homed): three idempotent
    /// steps — out of the source (snapshot + forward), into the destination,
    /// clean-up at the source. Interrupted anywhere, calling it again (or the
    /// sweeper's [`Router::resume_handoffs`]) finishes the move; the lead is
    /// never routable in two shards, and never lost.
    #[tracing::instrument(skip_all, fields(lead = %lead, to = %to))]
    pub async fn move_lead(
        &self,
        lead: &LeadId,
        to: &RegionId,
        to_branch: &BranchId,
    ) -> Result<Moved, RoutingError> {
        let from = self.locate_source(lead).await?;
        if &from == to {
            return Err(RoutingError::FailedPrecondition(format!(
                "lead {lead} is already in {to}"
            )));
        }
        let snapshot = self.handoff_out(&from, lead, to, to_branch).await?;
        self.finish_handoff(&from, lead, &snapshot).await
    }

    /// Where a lead's hand-off starts: its current shard, or the shard still
    /// holding an unfinished hand-off snapshot for it.
    async fn locate_source(&self, lead: &LeadId) -> Result<RegionId, RoutingError> {
        let mut region = lead
            .origin_region()
            .ok_or_else(|| RoutingError::NotFound(format!("lead {lead} not found")))?;
        let mut conn = self.conn.clone();
        for _ in 0..4 {
            let (state, forward, pending): (Option<String>, Option<String>, bool) = redis::pipe()
                .cmd("HGET")
                .arg(self.key(&region, &format!("lead:{lead}")))
                .arg("state")
                .cmd("HGET")
                .arg(self.key(&region, &format!("lead:{lead}")))
                .arg("forward")
                .cmd("EXISTS")
                .arg(self.key(&region, &format!("handoff:{lead}")))
                .query_async(&mut conn)
                .await?;
            if pending {
                return Ok(region);
            }
            match (state.as_deref(), forward) {
                (None, _) => return Err(RoutingError::NotFound(format!("lead {lead} not found"))),
                (Some("moved_out"), Some(f)) => {
                    region =
                        RegionId::parse(f).map_err(|e| RoutingError::Protocol(e.to_string()))?
                }
                _ => return Ok(region),
            }
        }
        Err(RoutingError::Protocol(format!(
            "lead {lead}: too many forwards"
        )))
    }

    /// Step 1 alone (public for tests of an interrupted hand-off).
    pub async fn handoff_out(
        &self,
        from: &RegionId,
        lead: &LeadId,
        to: &RegionId,
        to_branch: &BranchId,
    ) -> Result<String, RoutingError> {
        self.note_region(to).await?;
        let v = self
            .run(
                &self.scripts.handoff_out,
                from,
                &Actor::Admin,
                &[lead.as_str(), to.as_str(), to_branch.as_str()],
            )
            .await?;
        Ok(v.to_string())
    }

    async fn finish_handoff(
        &self,
        from: &RegionId,
        lead: &LeadId,
        snapshot: &str,
    ) -> Result<Moved, RoutingError> {
        let to = serde_json::from_str::<serde_json::Value>(snapshot)
            .ok()
            .and_then(|v| v.get("to").and_then(|t| t.as_str()).map(String::from))
            .and_then(|t| RegionId::parse(t).ok())
            .ok_or_else(|| {
                RoutingError::Protocol("hand-off snapshot without destination".into())
            })?;
        let v = self
            .run(&self.scripts.handoff_in, &to, &Actor::Admin, &[snapshot])
            .await?;
        self.run(
            &self.scripts.handoff_done,
            from,
            &Actor::Admin,
            &[lead.as_str()],
        )
        .await?;
        Self::moved(v)
    }

    /// Finishes every hand-off that left `region` and did not complete.
    pub async fn resume_handoffs(&self, region: &RegionId) -> Result<u64, RoutingError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.key(region, "handoffs"))
            .arg(0)
            .arg(99)
            .query_async(&mut conn)
            .await?;
        let mut resumed = 0;
        for id in ids {
            let snapshot: Option<String> = redis::cmd("GET")
                .arg(self.key(region, &format!("handoff:{id}")))
                .query_async(&mut conn)
                .await?;
            let lead = LeadId::parse(id).map_err(|e| RoutingError::Protocol(e.to_string()))?;
            match snapshot {
                Some(s) => {
                    self.finish_handoff(region, &lead, &s).await?;
                }
                None => {
                    self.run(
                        &self.scripts.handoff_done,
                        region,
                        &Actor::Sweeper,
                        &[lead.as_str()],
                    )
                    .await?;
                }
            }
            resumed += 1;
        }
        Ok(resumed)
    }

    /// Round-trip check for readiness probes.
    pub async fn ping(&self) -> Result<(), RoutingError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    pub(crate) fn shard_key(&self, region: &RegionId, rest: &str) -> String {
        self.key(region, rest)
    }

    pub(crate) fn conn_mut(&self) -> impl ConnectionLike + Clone {
        self.conn.clone()
    }
}
