//! What the routing layer takes and answers. Replies of the scripts
//! deserialize straight into these.

use super::script::{lua_list, nonempty};
use crate::domain::*;
use serde::{Deserialize, Serialize};

/// Who is acting, for the audit trail.
#[derive(Debug, Clone)]
pub enum Actor {
    Robot,
    Manager(ManagerId),
    Admin,
    Sweeper,
}

impl Actor {
    pub(crate) fn audit_name(&self) -> String {
        match self {
            Actor::Robot => "robot".into(),
            Actor::Manager(m) => format!("manager:{m}"),
            Actor::Admin => "admin".into(),
            Actor::Sweeper => "sweeper".into(),
        }
    }
}

/// Everything ingestion needs: the interaction's identity, the decision and
/// what to store.
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
    /// Stored with the lead; its score, reasons and intents are what the
    /// robot is answered, and what a replay answers again.
    pub interaction: StoredInteraction,
}

/// Where a lead went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    pub kind: DestinationKind,
    #[serde(default, deserialize_with = "nonempty")]
    pub manager: Option<ManagerId>,
}

/// What ingestion did.
#[derive(Debug, Clone, Deserialize)]
pub struct IngestOutcome {
    /// Where the lead lives: the customer's home region.
    #[serde(skip_deserializing, default = "no_region")]
    pub region: RegionId,
    /// The route taken, after the customer's memory (it may differ from the
    /// request's).
    pub route: Route,
    pub lead_id: LeadId,
    pub destination: Destination,
    pub joined: bool,
    /// The lead was (re)routed by this interaction (a new place), not left
    /// where it was.
    #[serde(default)]
    pub routed: bool,
    pub replayed: bool,
    pub state: LeadState,
    /// On a replay: the interaction's record as the first call stored it
    /// (its answer); `None` if later calls folded it out of the lead's list.
    #[serde(default, deserialize_with = "super::record::optional")]
    pub recorded: Option<StoredInteraction>,
}

// Filled in by `Router::ingest` after the script answers.
fn no_region() -> RegionId {
    RegionId::parse("none").expect("a valid id")
}

/// The lead's own record, typed (what `lua/includes/view.lua` reads).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LeadView {
    pub id: LeadId,
    pub customer: CustomerId,
    pub campaign: CampaignId,
    pub product: Product,
    pub branch: BranchId,
    pub state: LeadState,
    /// The lease holder, or the offline manager it is offered to or accepted by.
    #[serde(default)]
    pub owner: Option<ManagerId>,
    /// The remote manager whose own queue holds it.
    #[serde(default)]
    pub queue_manager: Option<ManagerId>,
    pub bucket: Bucket,
    pub probability: f64,
    pub score: u8,
    pub model_version: String,
    #[serde(default)]
    pub attempts: u32,
    pub created_at: i64,
    pub updated_at: i64,
    /// Scheduled call-back (state `remote_callback`).
    #[serde(default)]
    pub callback_at: Option<i64>,
    #[serde(default)]
    pub offer_id: Option<String>,
    #[serde(default)]
    pub offer_deadline: Option<i64>,
    #[serde(default)]
    pub lease_id: Option<String>,
    /// The manager whose outcome closed it, and when.
    #[serde(default)]
    pub closed_by: Option<ManagerId>,
    #[serde(default)]
    pub closed_at: Option<i64>,
}

impl LeadView {
    /// The manager the lead is with: holder, offeree or own-queue manager.
    pub fn manager(&self) -> Option<&ManagerId> {
        self.owner.as_ref().or(self.queue_manager.as_ref())
    }
}

/// A lead leased to a remote manager.
#[derive(Debug, Clone, Deserialize)]
pub struct Lease {
    pub lead: LeadView,
    pub lease_id: String,
    pub expires_at: i64,
}

/// A lead a manager has, and when its current step is due (lease expiry,
/// follow-up deadline of an acceptance, or accept-by of an offer).
#[derive(Debug, Clone, Deserialize)]
pub struct Assignment {
    pub lead: LeadView,
    pub due_at: i64,
}

/// Everything a manager has right now, in every shard it works in.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MyWork {
    /// Leased (remote) or accepted (offline) leads.
    #[serde(deserialize_with = "lua_list")]
    pub held: Vec<Assignment>,
    /// Offers waiting for an answer (offline managers).
    #[serde(deserialize_with = "lua_list")]
    pub offers: Vec<Assignment>,
    /// Call-backs whose time came, waiting in the manager's own queue (its
    /// next pull takes them first); `due_at` is when each came due. At most
    /// 50 per shard, from the head of the queue.
    #[serde(default, deserialize_with = "lua_list")]
    pub callbacks: Vec<Assignment>,
}

/// A lead with its region, interactions and history.
#[derive(Debug, Clone)]
pub struct LeadRecord {
    pub lead: LeadView,
    pub region: RegionId,
    /// Oldest first.
    pub interactions: Vec<StoredInteraction>,
    pub history: Vec<AuditEvent>,
}

/// One audit event of a lead (written by `lua/includes/audit.lua`).
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
    /// The interaction the event was caused by, if one was.
    #[serde(default)]
    pub interaction: String,
    /// A decline's category.
    #[serde(default)]
    pub category: Option<DeclineCategory>,
}

/// A pending referral offer.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOffer {
    pub lead_id: LeadId,
    pub region: RegionId,
    pub offer_id: String,
    pub accept_by: i64,
}

/// The watch lists of a shard, for operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchList {
    /// High leads waiting for an eligible branch manager.
    Unassigned,
    /// Leads no registered manager of the region could take.
    Unplaceable,
    /// Incubating leads due for re-engagement.
    Reengage,
    /// Remote leases, the soonest to expire first.
    Leases,
    /// Scheduled call-backs, the earliest first.
    Callbacks,
}

/// One lead of a watch list, with why it is there (unplaceable's reason).
#[derive(Debug, Clone, Deserialize)]
pub struct Listed {
    pub lead: LeadView,
    pub note: String,
    /// The list's time for it (ms): back-flow deadline, when flagged, when
    /// due for re-engagement, lease expiry, call-back time.
    pub at: i64,
}

/// A page of a watch list.
#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    #[serde(deserialize_with = "lua_list")]
    pub items: Vec<Listed>,
    /// How many the whole list holds.
    pub total: u64,
}

/// What funnel remembers of a customer, across regions.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CustomerState {
    /// The region all of the customer's leads live in.
    #[serde(skip)]
    pub home: Option<RegionId>,
    pub do_not_contact: bool,
    /// End of the complaint cool-off (ms), 0 if none.
    pub complaint_until: i64,
    pub complaint_active: bool,
    /// Sales hand-offs within the contact window.
    pub recent_sales_contacts: u32,
}

/// A remote manager's lease on a lead: the fence of every call on it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LeaseRef<'a> {
    pub manager: &'a ManagerId,
    pub lead: &'a LeadId,
    pub lease_id: &'a str,
}

/// An offer of a lead to an offline manager: the fence of accept/decline.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OfferRef<'a> {
    pub manager: &'a ManagerId,
    pub lead: &'a LeadId,
    pub offer_id: &'a str,
}

/// A remote manager's outcome for a leased lead.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Completion<'a> {
    pub outcome: RemoteOutcome,
    /// Required for `CallBack`, in the future.
    pub callback_at: Option<i64>,
    pub note: &'a str,
}

/// Result of a transition that moves a lead.
#[derive(Debug, Clone, Deserialize)]
pub struct Moved {
    pub lead_id: LeadId,
    pub state: LeadState,
    pub destination: Destination,
    pub branch: BranchId,
    /// This answer is the recorded one of an earlier identical call.
    #[serde(default)]
    pub replayed: bool,
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

/// `queue_stats.lua`'s reply.
#[derive(Deserialize)]
pub(crate) struct ShardStats {
    #[serde(deserialize_with = "lua_list")]
    pub queues: Vec<QueueStat>,
    #[serde(deserialize_with = "lua_list")]
    pub managers: Vec<ManagerLoad>,
    /// The next page (absent once the shard is done).
    #[serde(default)]
    pub next_phase: Option<super::stats::StatsPhase>,
    #[serde(default)]
    pub next_scan: Option<String>,
}

/// What a sweep pass did, per deadline kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    pub offers_timed_out: u64,
    /// Accepted referrals reminded or returned to the pool.
    pub acceptances_expired: u64,
    pub leases_expired: u64,
    pub callbacks_due: u64,
    pub backflowed: u64,
    /// Unassigned leads offered by the periodic retry.
    pub unassigned_placed: u64,
    pub incubation_reviewed: u64,
    /// Offers warned of as about to time out (`offer_expiring`).
    pub offers_expiring: u64,
    /// Closed leads whose retention ended: moved to the outcome log, deleted.
    pub leads_retired: u64,
}
