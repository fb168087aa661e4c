//! Property test of the lead lifecycle (issue 9): random interleavings of
//! every routing call — ingest (new and joining customers, every route,
//! several products and regions), pull (request ids, some reused), complete
//! (every outcome), release, extend, escalate, accept, decline, complete a
//! referral, availability, qualification changes, an admin's do-not-contact,
//! clock moves and sweeps — with retries of random earlier calls (the same
//! arguments again), on a private single Redis and on a private three-node
//! Redis Cluster.
//!
//! After each of the first steps, then every few steps and at the end,
//! `invariants::check` must find nothing in any region. A model of what
//! happened judges every answer:
//!
//! * a call that succeeded and recorded its result (ingest, pull, complete,
//!   release, escalate, accept, decline, complete referral), retried with the
//!   same arguments, answers that result again (`replayed`), whatever
//!   happened since; a different call on the same fence is refused
//!   (`wrong_state`);
//! * a call on a live lease, offer or acceptance succeeds; on a stale one it
//!   is refused with the code that says so, never any other error; another
//!   manager's call is refused too;
//! * a refused call, and the replay of a recorded answer, writes nothing to
//!   the lead;
//! * what a customer told us is remembered: do-not-contact, complaint
//!   cool-off, the contact cap, the home region;
//! * a remote manager never holds more than its capacity across its shards,
//!   and a pull that grants fewer leads than asked leaves nothing it could
//!   have taken.
//!
//! Knobs (environment variables):
//!
//! | variable | default | what |
//! |---|---|---|
//! | `FUNNEL_PROPTEST_CASES` | 2 | seeds (proptest cases) on the single Redis; the cluster runs half of them, at least 1 |
//! | `FUNNEL_PROPTEST_STEPS` | 10000 | steps per seed |
//! | `FUNNEL_PROPTEST_CHECK_EVERY` | 100 | invariant check interval after the first 100 steps (1: after every step) |
//! | `FUNNEL_PROPTEST_SEED` | random | proptest's RNG seed (printed at the start) to repeat a run |
//! | `FUNNEL_PROPTEST_SHRINK` | 0 | shrink iterations after a failure (each replays a whole case) |
//!
//! A long run: `FUNNEL_PROPTEST_CASES=20 FUNNEL_PROPTEST_CHECK_EVERY=1 cargo
//! test --test properties -- --nocapture`. A failure names its step and the
//! last 40 calls with their answers; the same seed replays the same steps
//! (lead ids are random, nothing else is), so a violation found at a
//! periodic check is pinned to its step with `FUNNEL_PROPTEST_CHECK_EVERY=1`.

mod common;

use common::scenario::{connect, Kind, T0};
use common::unique_prefix;
use funnel::dev::{roster, sample};
use funnel::domain::*;
use funnel::routing::{
    invariants, Clock, Completion, CustomerState, IngestOutcome, IngestRequest, Keys, Lease,
    LeaseRef, ManualClock, Moved, OfferRef, RedisConn, Router, RoutingConfig, RoutingError,
    ScriptErrorCode,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ knobs

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Steps after which the invariant checker runs: each of the first 100 (the
/// shards are small), then every `every` steps, and after the last.
fn check_due(step: usize, steps: usize, every: usize) -> bool {
    step < 100 || (step + 1) % every.max(1) == 0 || step + 1 == steps
}

// ------------------------------------------------------------------ world

const REGIONS: [&str; 3] = ["east", "west", "north"];
const PRODUCTS: [Product; 4] = [
    Product::Wealth,
    Product::Fund,
    Product::Insurance,
    Product::Loan,
];
const CUSTOMERS: usize = 80;
const NOTES: [&str; 3] = ["", "n1", "n2"];
const REASONS: [&str; 2] = ["wants to visit the branch", "asked for a meeting"];

const LEASE_LOST: &[ScriptErrorCode] = &[ScriptErrorCode::LeaseLost];
const OFFER_GONE: &[ScriptErrorCode] = &[ScriptErrorCode::OfferGone];
const STRANGER_ON_LEASE: &[ScriptErrorCode] =
    &[ScriptErrorCode::NotOwner, ScriptErrorCode::LeaseLost];
const STRANGER_ON_OFFER: &[ScriptErrorCode] =
    &[ScriptErrorCode::NotOwner, ScriptErrorCode::OfferGone];

fn config(prefix: String) -> RoutingConfig {
    let h = |n: u64| Duration::from_secs(n * 3600);
    RoutingConfig {
        key_prefix: prefix,
        offer_sla: Duration::from_secs(1800),
        backflow_wait: h(4),
        lease_default: Duration::from_secs(900),
        lease_max: h(1),
        acceptance_followup: h(12),
        acceptance_grace: h(6),
        max_attempts: 2,
        incubation_review: h(12),
        incubation_expiry: h(48),
        complaint_cooloff: h(24),
        contact_cap: 3,
        contact_window: h(24),
        // No folding here (tests/limits.rs covers it): every replay finds
        // its record.
        interactions_per_lead: 100_000,
        ..RoutingConfig::default()
    }
}

/// A stamp unique to an interaction id, put in its stored record so that a
/// replay's answer can be told from another call's.
fn iid_stamp(iid: &str) -> i64 {
    iid.bytes()
        .fold(7i64, |h, b| h.wrapping_mul(31).wrapping_add(i64::from(b)))
}

fn products(mask: u8) -> Vec<Product> {
    PRODUCTS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, p)| *p)
        .collect()
}

/// The cast: per region two branches with two offline managers each and a
/// remote manager; one remote manager serves east and west. Capacities are
/// small and qualifications leave gaps, so full managers, unassigned and
/// unplaceable leads all happen.
fn cast() -> Vec<Manager> {
    let mut out = Vec::new();
    let region = |r: &str| RegionId::parse(r).unwrap();
    for (ri, r) in REGIONS.iter().enumerate() {
        for b in 1..=2 {
            for (k, suffix) in ["a", "b"].iter().enumerate() {
                let branch = BranchId::parse(format!("{r}-b{b}")).unwrap();
                let id = ManagerId::parse(format!("o-{r}-{b}{suffix}")).unwrap();
                let mask = [0b0011, 0b0101, 0b1011, 0b0111][(ri + b + k) % 4];
                out.push(Manager {
                    qualified_products: products(mask),
                    capacity: 2 + (k as u32),
                    ..roster::offline(id, region(r), branch)
                });
            }
        }
        let id = ManagerId::parse(format!("rm-{r}")).unwrap();
        out.push(Manager {
            qualified_products: products([0b0111, 0b1011, 0b0110][ri]),
            capacity: 4,
            team: Some("team-a".into()),
            ..roster::remote(id, region(r))
        });
    }
    out.push(Manager {
        qualified_products: products(0b1001),
        capacity: 5,
        team: Some("team-b".into()),
        served_regions: vec![region("east"), region("west")],
        ..roster::remote(ManagerId::parse("rm-ew").unwrap(), region("east"))
    });
    out
}

// ------------------------------------------------------------------ operations

/// One random step, in terms that stay meaningful whatever happened before
/// (indices are taken modulo what exists when the step runs).
#[derive(Debug, Clone)]
enum Op {
    Ingest {
        customer: u8,
        region: u8,
        branch: u8,
        product: u8,
        route: u16,
        score: u8,
        rm: Option<u8>,
        remote: Option<u8>,
    },
    Pull {
        manager: u8,
        max: u8,
        lease_secs: Option<u16>,
        /// Send an earlier pull of this manager again (same request id).
        reuse: Option<u16>,
    },
    OnLease {
        /// A lease still believed held (else any lease ever granted).
        open: bool,
        /// Another remote manager tries it.
        stranger: bool,
        pick: u16,
        action: u8,
        outcome: u8,
        note: u8,
        minutes: u16,
    },
    Accept {
        manager: u8,
        /// An offer seen earlier (probably gone), not a pending one.
        stale: bool,
        /// Another offline manager tries it.
        stranger: bool,
        pick: u16,
    },
    Decline {
        manager: u8,
        stale: bool,
        pick: u16,
        reason: u8,
    },
    CompleteReferral {
        open: bool,
        pick: u16,
        outcome: u8,
        note: u8,
    },
    Availability {
        manager: u8,
        available: bool,
    },
    Requalify {
        manager: u8,
        mask: u8,
    },
    Compliance {
        customer: u8,
        dnc: Option<bool>,
        clear_complaint: bool,
    },
    Advance {
        secs: u32,
    },
    Sweep {
        region: u8,
        limit: u8,
    },
    /// The same call as an earlier step (a recent one, or any).
    Retry {
        recent: bool,
        pick: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let ingest = (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        0u8..100,
        0u16..1000,
        any::<u8>(),
        proptest::option::weighted(0.2, any::<u8>()),
        proptest::option::weighted(0.25, any::<u8>()),
    )
        .prop_map(
            |(customer, region, branch, product, route, score, rm, remote)| Op::Ingest {
                customer,
                region,
                branch,
                product,
                route,
                score,
                rm,
                remote,
            },
        );
    let pull = (
        any::<u8>(),
        any::<u8>(),
        proptest::option::weighted(0.3, any::<u16>()),
        proptest::option::weighted(0.15, any::<u16>()),
    )
        .prop_map(|(manager, max, lease_secs, reuse)| Op::Pull {
            manager,
            max,
            lease_secs,
            reuse,
        });
    let on_lease = (
        proptest::bool::weighted(0.7),
        proptest::bool::weighted(0.1),
        any::<u16>(),
        0u8..100,
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
    )
        .prop_map(
            |(open, stranger, pick, action, outcome, note, minutes)| Op::OnLease {
                open,
                stranger,
                pick,
                action,
                outcome,
                note,
                minutes,
            },
        );
    let accept = (
        any::<u8>(),
        proptest::bool::weighted(0.2),
        proptest::bool::weighted(0.1),
        any::<u16>(),
    )
        .prop_map(|(manager, stale, stranger, pick)| Op::Accept {
            manager,
            stale,
            stranger,
            pick,
        });
    let decline = (
        any::<u8>(),
        proptest::bool::weighted(0.2),
        any::<u16>(),
        any::<u8>(),
    )
        .prop_map(|(manager, stale, pick, reason)| Op::Decline {
            manager,
            stale,
            pick,
            reason,
        });
    let complete_referral = (
        proptest::bool::weighted(0.75),
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(open, pick, outcome, note)| Op::CompleteReferral {
            open,
            pick,
            outcome,
            note,
        });
    let availability = (any::<u8>(), proptest::bool::weighted(0.75))
        .prop_map(|(manager, available)| Op::Availability { manager, available });
    let requalify =
        (any::<u8>(), 1u8..16).prop_map(|(manager, mask)| Op::Requalify { manager, mask });
    let compliance = (
        any::<u8>(),
        prop_oneof![
            7 => Just(None),
            3 => Just(Some(true)),
            10 => Just(Some(false)),
        ],
        proptest::bool::weighted(0.4),
    )
        .prop_map(|(customer, dnc, clear_complaint)| Op::Compliance {
            customer,
            dnc,
            clear_complaint,
        });
    // About two simulated minutes a step on average, with the odd jump of
    // half a day to two days (follow-ups, cool-offs, incubation).
    let advance = prop_oneof![
        60 => 1u32..60,
        25 => 120u32..900,
        10 => 1_800u32..7_200,
        1 => 43_200u32..172_800,
    ]
    .prop_map(|secs| Op::Advance { secs });
    let sweep = (any::<u8>(), 1u8..=50).prop_map(|(region, limit)| Op::Sweep { region, limit });
    let retry = (any::<bool>(), any::<u16>()).prop_map(|(recent, pick)| Op::Retry { recent, pick });
    prop_oneof![
        22 => ingest,
        12 => pull,
        18 => on_lease,
        7 => accept,
        4 => decline,
        6 => complete_referral,
        2 => availability,
        2 => requalify,
        2 => compliance,
        8 => advance,
        6 => sweep,
        11 => retry,
    ]
}

/// A case's steps; printed as a summary (a failure names the step itself).
#[derive(Clone)]
struct Steps(Vec<Op>);

impl fmt::Debug for Steps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Steps({} ops", self.0.len())?;
        if let Some(first) = self.0.first() {
            write!(f, ", first {first:?}")?;
        }
        write!(f, ")")
    }
}

fn steps(n: usize) -> impl Strategy<Value = Steps> {
    proptest::collection::vec(op(), n).prop_map(Steps)
}

// ------------------------------------------------------------------ calls

/// A concrete routing call, kept so that it can be sent again as it was.
#[derive(Debug, Clone)]
enum Call {
    Ingest(Box<IngestRequest>),
    Pull {
        m: usize,
        max: u32,
        lease: Option<Duration>,
        request: String,
    },
    Complete {
        m: usize,
        lead: LeadId,
        lease: String,
        outcome: RemoteOutcome,
        callback_at: Option<i64>,
        note: String,
    },
    Release {
        m: usize,
        lead: LeadId,
        lease: String,
    },
    Extend {
        m: usize,
        lead: LeadId,
        lease: String,
        by: Duration,
    },
    Escalate {
        m: usize,
        lead: LeadId,
        lease: String,
        reason: String,
    },
    Accept {
        m: usize,
        lead: LeadId,
        offer: String,
    },
    Decline {
        m: usize,
        lead: LeadId,
        offer: String,
        reason: String,
    },
    CompleteReferral {
        m: usize,
        lead: LeadId,
        offer: String,
        outcome: ReferralOutcome,
        note: String,
    },
    Availability {
        m: usize,
        available: bool,
    },
    Upsert(Box<Manager>),
    Customer {
        c: usize,
        dnc: Option<bool>,
        clear_complaint: bool,
    },
    Sweep {
        region: usize,
        limit: u32,
    },
}

/// What a call answered.
#[derive(Debug, Clone)]
enum Answer {
    Ingested(Box<IngestOutcome>),
    Leases(Vec<Lease>),
    Moved(Moved),
    Expiry(i64),
    Accepted,
    Customer(CustomerState),
    Done,
}

/// What the model expects of a call.
#[derive(Debug, Clone)]
enum Expect {
    /// Succeeds (a first call on something live, or an admin call).
    Ok,
    /// A first ingest: the route the customer's memory gives, in its home.
    Ingested { route: Route, home: RegionId },
    /// An extension of a live lease, to exactly this expiry.
    Extended(i64),
    /// The customer's state afterwards.
    Customer(CustomerState),
    /// The recorded answer of an earlier identical call, as a replay.
    Replay(Answer),
    /// Refused with one of these codes (the call is stale).
    Refused(&'static [ScriptErrorCode]),
}

/// A call recorded on a fence (lease id, offer id, or `done:<offer id>` of
/// an acceptance): the operation, its fingerprint and its answer.
#[derive(Debug, Clone)]
struct Recorded {
    /// Who made the call (a record answers only its own manager).
    m: usize,
    op: &'static str,
    fp: String,
    answer: Answer,
}

#[derive(Debug, Clone)]
struct LeaseH {
    m: usize,
    lead: LeadId,
    lease: String,
}

#[derive(Debug, Clone)]
struct OfferH {
    m: usize,
    lead: LeadId,
    offer: String,
}

/// A lead's fields as the fences read them.
#[derive(Debug, Default)]
struct Peek {
    state: String,
    owner: String,
    lease_id: String,
    offer_id: String,
    offer_deadline: i64,
    product: String,
    lease_deadline: Option<i64>,
}

#[derive(Default, Debug)]
struct Tally {
    /// Per call kind: succeeded, refused, replayed.
    kinds: std::collections::BTreeMap<&'static str, (u64, u64, u64)>,
    calls: u64,
    retries: u64,
    replays: u64,
    refused: u64,
    checks: u64,
    check_time: Duration,
}

struct World {
    router: Router,
    clock: Arc<ManualClock>,
    conn: RedisConn,
    keys: Keys,
    cfg: RoutingConfig,
    regions: Vec<RegionId>,
    step: usize,
    // The model.
    managers: Vec<Manager>,
    remote: Vec<usize>,
    offline: Vec<usize>,
    customers: Vec<CustomerId>,
    home: Vec<Option<RegionId>>,
    dnc: Vec<bool>,
    complaint_until: Vec<i64>,
    /// Sales hand-offs per customer: interaction → when.
    contacts: Vec<HashMap<String, i64>>,
    ingests: HashMap<String, IngestOutcome>,
    pulls: HashMap<(usize, String), Vec<Lease>>,
    pull_calls: Vec<Vec<Call>>,
    fences: HashMap<(LeadId, String), Recorded>,
    /// Who each lease or offer was granted to.
    owners: HashMap<(LeadId, String), usize>,
    leases: Vec<LeaseH>,
    open_leases: Vec<LeaseH>,
    offers: Vec<OfferH>,
    accepted: Vec<OfferH>,
    open_accepted: Vec<OfferH>,
    journal: Vec<Call>,
    log: VecDeque<String>,
    tally: Tally,
}

fn code(e: &RoutingError) -> Option<ScriptErrorCode> {
    match e {
        RoutingError::Rejected(s) => Some(s.code),
        _ => None,
    }
}

fn moved_eq(a: &Moved, b: &Moved) -> bool {
    a.lead_id == b.lead_id
        && a.state == b.state
        && a.destination == b.destination
        && a.branch == b.branch
}

/// The same leases: leads, lease ids and expiries (a retry shows the leads
/// as they are now).
fn leases_eq(a: &[Lease], b: &[Lease]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.lead.id == y.lead.id && x.lease_id == y.lease_id && x.expires_at == y.expires_at
        })
}

fn short(a: &Result<Answer, RoutingError>) -> String {
    match a {
        Ok(Answer::Ingested(o)) => format!(
            "ok {} {:?}/{:?} {} joined={} routed={} replayed={}",
            o.lead_id, o.route, o.destination.kind, o.state, o.joined, o.routed, o.replayed
        ),
        Ok(Answer::Leases(l)) => format!(
            "ok leases {:?}",
            l.iter()
                .map(|l| format!("{}#{}", l.lead.id, l.lease_id))
                .collect::<Vec<_>>()
        ),
        Ok(Answer::Moved(m)) => format!(
            "ok {} {} {:?} {:?} replayed={}",
            m.lead_id, m.state, m.destination.kind, m.destination.manager, m.replayed
        ),
        Ok(other) => format!("ok {other:?}"),
        Err(e) => format!("err {:?}: {e}", code(e)),
    }
}

impl World {
    async fn new(kind: Kind, name: &str) -> Self {
        let conn = connect(kind, Duration::from_secs(10)).await;
        let cfg = config(unique_prefix(name));
        let clock = Arc::new(ManualClock::new(T0));
        let router = Router::with_test_clock(conn.clone(), cfg.clone(), clock.clone());
        let managers = cast();
        for m in &managers {
            router.upsert_manager(m).await.expect("register the cast");
        }
        let tier = |t: ManagerTier| {
            (0..managers.len())
                .filter(|i| managers[*i].tier == t)
                .collect::<Vec<_>>()
        };
        let (remote, offline) = (tier(ManagerTier::Remote), tier(ManagerTier::Offline));
        Self {
            keys: router.keys().clone(),
            router,
            clock,
            conn,
            cfg,
            regions: REGIONS
                .iter()
                .map(|r| RegionId::parse(*r).unwrap())
                .collect(),
            step: 0,
            pull_calls: vec![Vec::new(); managers.len()],
            managers,
            remote,
            offline,
            customers: (0..CUSTOMERS)
                .map(|c| CustomerId::parse(format!("c{c}")).unwrap())
                .collect(),
            home: vec![None; CUSTOMERS],
            dnc: vec![false; CUSTOMERS],
            complaint_until: vec![0; CUSTOMERS],
            contacts: vec![HashMap::new(); CUSTOMERS],
            ingests: HashMap::new(),
            pulls: HashMap::new(),
            fences: HashMap::new(),
            owners: HashMap::new(),
            leases: Vec::new(),
            open_leases: Vec::new(),
            offers: Vec::new(),
            accepted: Vec::new(),
            open_accepted: Vec::new(),
            journal: Vec::new(),
            log: VecDeque::new(),
            tally: Tally::default(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn mid(&self, m: usize) -> &ManagerId {
        &self.managers[m].id
    }

    fn index_of(&self, id: &ManagerId) -> usize {
        self.managers
            .iter()
            .position(|m| &m.id == id)
            .expect("a manager of the cast")
    }

    fn note(&mut self, line: String) {
        if self.log.len() == 40 {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// The lead's fence fields, read straight from its shard.
    async fn peek(&self, lead: &LeadId) -> Peek {
        let region = lead.region().expect("a lead id names its region");
        let sk = self.keys.shard(&region);
        let mut conn = self.conn.clone();
        let (f, dl): (Vec<Option<String>>, Option<f64>) = redis::pipe()
            .cmd("HMGET")
            .arg(sk.lead(lead.as_str()))
            .arg(&[
                "state",
                "owner",
                "lease_id",
                "offer_id",
                "offer_deadline",
                "product",
            ])
            .cmd("ZSCORE")
            .arg(sk.lease_deadlines())
            .arg(lead.as_str())
            .query_async(&mut conn)
            .await
            .expect("peek");
        let s = |i: usize| f[i].clone().unwrap_or_default();
        Peek {
            state: s(0),
            owner: s(1),
            lease_id: s(2),
            offer_id: s(3),
            offer_deadline: s(4).parse().unwrap_or(0),
            product: s(5),
            lease_deadline: dl.map(|d| d as i64),
        }
    }

    /// A lead's whole record and the length of its audit trail.
    async fn snapshot(&self, lead: &LeadId) -> (std::collections::BTreeMap<String, String>, u64) {
        let sk = self
            .keys
            .shard(&lead.region().expect("a lead id names its region"));
        let mut conn = self.conn.clone();
        redis::pipe()
            .cmd("HGETALL")
            .arg(sk.lead(lead.as_str()))
            .cmd("LLEN")
            .arg(sk.hist(lead.as_str()))
            .query_async(&mut conn)
            .await
            .expect("snapshot")
    }

    /// Reads back what is remembered of customer `c` (after a replayed
    /// ingest, which may note what its interaction said again).
    async fn resync(&mut self, c: usize) {
        let Some(home) = &self.home[c] else { return };
        let (shard, id) = (self.keys.shard(home), self.customers[c].as_str());
        let mut conn = self.conn.clone();
        let f: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(shard.customer_record(id))
            .arg(&["dnc", "complaint_until", "contacts"])
            .query_async(&mut conn)
            .await
            .expect("customer memory");
        self.dnc[c] = f[0].as_deref() == Some("1");
        self.complaint_until[c] = f[1].as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
        // `contacts`: JSON [[interaction, ms], ...] (see lua/includes/memory.lua).
        let contacts: Vec<(String, i64)> = f[2]
            .as_deref()
            .map(|j| serde_json::from_str(j).expect("contacts are JSON pairs"))
            .unwrap_or_default();
        self.contacts[c] = contacts.into_iter().collect();
    }

    /// Leads a remote manager holds, in all its shards.
    async fn held(&self, m: usize) -> u64 {
        let mut conn = self.conn.clone();
        let mut total = 0;
        for r in self.managers[m].shards() {
            let n: u64 = redis::cmd("ZCARD")
                .arg(self.keys.shard(&r).held(self.mid(m).as_str()))
                .query_async(&mut conn)
                .await
                .expect("zcard");
            total += n;
        }
        total
    }

    /// Leads a remote manager could take now: its own queues and the pools
    /// of its products, in all its shards.
    async fn takeable(&self, m: usize) -> u64 {
        let mut conn = self.conn.clone();
        let mut total = 0;
        for r in self.managers[m].shards() {
            let sk = self.keys.shard(&r);
            let mut keys = vec![sk.personal_queue(self.mid(m).as_str())];
            keys.extend(
                self.managers[m]
                    .qualified_products
                    .iter()
                    .map(|p| sk.pool(*p)),
            );
            for k in keys {
                let n: u64 = redis::cmd("ZCARD")
                    .arg(k)
                    .query_async(&mut conn)
                    .await
                    .expect("zcard");
                total += n;
            }
        }
        total
    }

    // -------------------------------------------------------------- planning

    /// The call a random step makes (None: nothing to act on yet).
    async fn plan(&mut self, op: &Op) -> Option<Call> {
        let now = self.now();
        match op {
            Op::Ingest {
                customer,
                region,
                branch,
                product,
                route,
                score,
                rm,
                remote,
            } => {
                let c = *customer as usize % CUSTOMERS;
                let region = &self.regions[*region as usize % self.regions.len()];
                let b = *branch % 2 + 1;
                let product = match product {
                    0..=34 => Product::Wealth,
                    35..=64 => Product::Fund,
                    65..=84 => Product::Insurance,
                    _ => Product::Loan,
                };
                let route = match route {
                    0..=299 => Route::Referral,
                    300..=619 => Route::Remote,
                    620..=949 => Route::Incubation,
                    950..=992 => Route::ServiceFollowup,
                    _ => Route::Suppressed,
                };
                let score = match route {
                    Route::Referral => 70 + score % 30,
                    Route::Remote => 30 + score % 40,
                    Route::Incubation => score % 30,
                    _ => score % 100,
                };
                let iid = format!("i{}", self.step);
                let mut req = sample::ingest_request(
                    &iid,
                    self.customers[c].as_str(),
                    region,
                    product,
                    route,
                    score,
                );
                let branch = BranchId::parse(format!("{region}-b{b}")).unwrap();
                req.branch = branch.clone();
                req.interaction.interaction.branch_id = branch;
                req.relationship_manager = rm.map(|k| {
                    ManagerId::parse(format!("o-{region}-{b}{}", ["a", "b"][k as usize % 2]))
                        .unwrap()
                });
                req.remote_manager = remote.map(|k| {
                    self.mid(self.remote[k as usize % self.remote.len()])
                        .clone()
                });
                // What a replay must answer: this call's own record.
                req.interaction.received_at_ms = iid_stamp(&iid);
                Some(Call::Ingest(Box::new(req)))
            }
            Op::Pull {
                manager,
                max,
                lease_secs,
                reuse,
            } => {
                let m = self.remote[*manager as usize % self.remote.len()];
                if let Some(k) = reuse {
                    let earlier = &self.pull_calls[m];
                    if !earlier.is_empty() {
                        return Some(earlier[*k as usize % earlier.len()].clone());
                    }
                }
                Some(Call::Pull {
                    m,
                    max: 1 + (*max as u32 % 3),
                    lease: lease_secs.map(|s| Duration::from_secs(60 + s as u64 % 1800)),
                    request: format!("p{}", self.step),
                })
            }
            Op::OnLease {
                open,
                stranger,
                pick,
                action,
                outcome,
                note,
                minutes,
            } => {
                let pool = if *open && !self.open_leases.is_empty() {
                    &self.open_leases
                } else {
                    &self.leases
                };
                if pool.is_empty() {
                    return None;
                }
                let mut h = pool[*pick as usize % pool.len()].clone();
                if *stranger {
                    h.m = self.other(&self.remote, h.m, *pick);
                }
                let note = NOTES[*note as usize % NOTES.len()].to_string();
                Some(match action {
                    0..=49 => {
                        let outcome = RemoteOutcome::ALL[*outcome as usize % 5];
                        Call::Complete {
                            m: h.m,
                            lead: h.lead,
                            lease: h.lease,
                            outcome,
                            callback_at: (outcome == RemoteOutcome::CallBack)
                                .then(|| now + 60_000 * (1 + *minutes as i64 % 2880)),
                            note,
                        }
                    }
                    50..=69 => Call::Release {
                        m: h.m,
                        lead: h.lead,
                        lease: h.lease,
                    },
                    70..=84 => Call::Extend {
                        m: h.m,
                        lead: h.lead,
                        lease: h.lease,
                        by: Duration::from_secs(60 * (1 + *minutes as u64 % 30)),
                    },
                    _ => Call::Escalate {
                        m: h.m,
                        lead: h.lead,
                        lease: h.lease,
                        reason: REASONS[*outcome as usize % REASONS.len()].into(),
                    },
                })
            }
            Op::Accept {
                manager,
                stale,
                stranger,
                pick,
            } => {
                let mut h = self.pick_offer(*manager, *stale, *pick).await?;
                if *stranger {
                    h.m = self.other(&self.offline, h.m, *pick);
                }
                Some(Call::Accept {
                    m: h.m,
                    lead: h.lead,
                    offer: h.offer,
                })
            }
            Op::Decline {
                manager,
                stale,
                pick,
                reason,
            } => {
                let h = self.pick_offer(*manager, *stale, *pick).await?;
                Some(Call::Decline {
                    m: h.m,
                    lead: h.lead,
                    offer: h.offer,
                    reason: REASONS[*reason as usize % REASONS.len()].into(),
                })
            }
            Op::CompleteReferral {
                open,
                pick,
                outcome,
                note,
            } => {
                let pool = if *open && !self.open_accepted.is_empty() {
                    &self.open_accepted
                } else {
                    &self.accepted
                };
                if pool.is_empty() {
                    return None;
                }
                let h = pool[*pick as usize % pool.len()].clone();
                Some(Call::CompleteReferral {
                    m: h.m,
                    lead: h.lead,
                    offer: h.offer,
                    outcome: ReferralOutcome::ALL[*outcome as usize % ReferralOutcome::ALL.len()],
                    note: NOTES[*note as usize % NOTES.len()].into(),
                })
            }
            Op::Availability { manager, available } => Some(Call::Availability {
                m: *manager as usize % self.managers.len(),
                available: *available,
            }),
            Op::Requalify { manager, mask } => {
                let mut m = self.managers[*manager as usize % self.managers.len()].clone();
                m.qualified_products = products(*mask);
                Some(Call::Upsert(Box::new(m)))
            }
            Op::Compliance {
                customer,
                dnc,
                clear_complaint,
            } => {
                // Clearing do-not-contact mostly targets customers who are.
                let flagged: Vec<usize> = (0..CUSTOMERS).filter(|c| self.dnc[*c]).collect();
                let c = match dnc {
                    Some(false) if !flagged.is_empty() && customer % 4 != 0 => {
                        flagged[*customer as usize % flagged.len()]
                    }
                    _ => *customer as usize % CUSTOMERS,
                };
                Some(Call::Customer {
                    c,
                    dnc: *dnc,
                    clear_complaint: *clear_complaint,
                })
            }
            Op::Advance { secs } => {
                self.clock.advance(Duration::from_secs(*secs as u64));
                None
            }
            Op::Sweep { region, limit } => Some(Call::Sweep {
                region: *region as usize % self.regions.len(),
                limit: *limit as u32,
            }),
            Op::Retry { recent, pick } => {
                if self.journal.is_empty() {
                    return None;
                }
                let n = self.journal.len();
                let i = if *recent {
                    n - 1 - (*pick as usize % n.min(6))
                } else {
                    *pick as usize % n
                };
                self.tally.retries += 1;
                Some(self.journal[i].clone())
            }
        }
    }

    /// A manager of `tier` other than `m`.
    fn other(&self, tier: &[usize], m: usize, pick: u16) -> usize {
        let others: Vec<usize> = tier.iter().copied().filter(|x| *x != m).collect();
        others[pick as usize % others.len()]
    }

    /// A pending offer of an offline manager (the first of a few managers
    /// from `manager` that has one), or, if `stale`, any offer seen before.
    async fn pick_offer(&mut self, manager: u8, stale: bool, pick: u16) -> Option<OfferH> {
        if !stale {
            for k in 0..4 {
                let m = self.offline[(manager as usize + k) % self.offline.len()];
                let pending = self
                    .router
                    .pending_offers(self.mid(m))
                    .await
                    .expect("pending offers");
                if pending.is_empty() {
                    continue;
                }
                for p in &pending {
                    if !self
                        .offers
                        .iter()
                        .any(|o| o.offer == p.offer_id && o.lead == p.lead_id)
                    {
                        self.owners
                            .insert((p.lead_id.clone(), p.offer_id.clone()), m);
                        self.offers.push(OfferH {
                            m,
                            lead: p.lead_id.clone(),
                            offer: p.offer_id.clone(),
                        });
                    }
                }
                let p = &pending[pick as usize % pending.len()];
                return Some(OfferH {
                    m,
                    lead: p.lead_id.clone(),
                    offer: p.offer_id.clone(),
                });
            }
        }
        if self.offers.is_empty() {
            return None;
        }
        Some(self.offers[pick as usize % self.offers.len()].clone())
    }

    // -------------------------------------------------------------- expectations

    fn recorded(&self, m: usize, lead: &LeadId, fence: &str) -> Option<&Recorded> {
        self.fences
            .get(&(lead.clone(), fence.to_string()))
            .filter(|r| r.m == m)
    }

    /// The codes a call on a fence that is not (or no longer) live gets:
    /// its own manager hears it moved on; anyone else may also hear that it
    /// was never theirs.
    fn stale(
        &self,
        m: usize,
        lead: &LeadId,
        fence: &str,
        moved_on: &'static [ScriptErrorCode],
    ) -> &'static [ScriptErrorCode] {
        if self.owners.get(&(lead.clone(), fence.to_string())) == Some(&m) {
            moved_on
        } else if moved_on == LEASE_LOST {
            STRANGER_ON_LEASE
        } else {
            STRANGER_ON_OFFER
        }
    }

    /// A call on a lease: the recorded answer if this very call ended it, a
    /// refusal if another call ended it; otherwise it succeeds exactly when
    /// the lease is live.
    async fn on_lease(
        &self,
        m: usize,
        lead: &LeadId,
        lease: &str,
        op: &'static str,
        fp: &str,
    ) -> (Expect, Peek) {
        let peek = self.peek(lead).await;
        if let Some(r) = self.recorded(m, lead, lease) {
            if r.op == op && r.fp == fp {
                return (Expect::Replay(r.answer.clone()), peek);
            }
            return (Expect::Refused(&[ScriptErrorCode::WrongState]), peek);
        }
        let live = peek.state == "remote_leased"
            && peek.owner == self.mid(m).as_str()
            && peek.lease_id == lease
            && peek.lease_deadline.is_some_and(|d| d > self.now());
        if live {
            (Expect::Ok, peek)
        } else {
            (
                Expect::Refused(self.stale(m, lead, lease, LEASE_LOST)),
                peek,
            )
        }
    }

    fn memory(&self, c: usize) -> (bool, bool, u32) {
        let now = self.now();
        let window = self.cfg.contact_window.as_millis() as i64;
        let recent = self.contacts[c]
            .values()
            .filter(|t| **t > now - window)
            .count() as u32;
        (self.dnc[c], now < self.complaint_until[c], recent)
    }

    async fn expect(&self, call: &Call) -> Expect {
        let now = self.now();
        match call {
            Call::Ingest(req) => {
                if let Some(o) = self.ingests.get(req.interaction_id.as_str()) {
                    return Expect::Replay(Answer::Ingested(Box::new(o.clone())));
                }
                let c = self.customer_index(&req.customer);
                let (dnc, complaint, recent) = self.memory(c);
                let route = if dnc {
                    Route::Suppressed
                } else if complaint && is_sales(req.route) {
                    Route::ServiceFollowup
                } else if is_sales(req.route) && recent >= self.cfg.contact_cap {
                    Route::Incubation
                } else {
                    req.route
                };
                let home = self.home[c].clone().unwrap_or_else(|| req.region.clone());
                Expect::Ingested { route, home }
            }
            Call::Pull { m, request, .. } => {
                if let Some(leases) = self.pulls.get(&(*m, request.clone())) {
                    Expect::Replay(Answer::Leases(leases.clone()))
                } else if self.managers[*m].available {
                    Expect::Ok
                } else {
                    Expect::Refused(&[ScriptErrorCode::Unavailable])
                }
            }
            Call::Complete {
                m,
                lead,
                lease,
                outcome,
                callback_at,
                note,
            } => {
                let fp = format!("{outcome}|{callback_at:?}|{note}");
                self.on_lease(*m, lead, lease, "complete", &fp).await.0
            }
            Call::Release { m, lead, lease } => {
                self.on_lease(*m, lead, lease, "release", "").await.0
            }
            Call::Escalate {
                m,
                lead,
                lease,
                reason,
            } => self.on_lease(*m, lead, lease, "escalate", reason).await.0,
            Call::Extend { m, lead, lease, by } => {
                // Not recorded: a retry extends again, up to the cap.
                match self.on_lease(*m, lead, lease, "extend", "").await {
                    (Expect::Ok, peek) => {
                        let cur = peek.lease_deadline.expect("live");
                        let cap = now + self.cfg.lease_max.as_millis() as i64;
                        Expect::Extended(cur.max((cur + by.as_millis() as i64).min(cap)))
                    }
                    (other, _) => other,
                }
            }
            Call::Accept { m, lead, offer } => {
                self.on_offer(*m, lead, offer, "accept", "", true).await
            }
            Call::Decline {
                m,
                lead,
                offer,
                reason,
            } => {
                self.on_offer(*m, lead, offer, "decline", reason, false)
                    .await
            }
            Call::CompleteReferral {
                m,
                lead,
                offer,
                outcome,
                note,
            } => {
                let fence = format!("done:{offer}");
                let fp = format!("{outcome}|{note}");
                if let Some(r) = self.recorded(*m, lead, &fence) {
                    if r.op == "complete_referral" && r.fp == fp {
                        return Expect::Replay(r.answer.clone());
                    }
                    return Expect::Refused(&[ScriptErrorCode::WrongState]);
                }
                let p = self.peek(lead).await;
                if p.state == "referral_accepted"
                    && p.owner == self.mid(*m).as_str()
                    && p.offer_id == *offer
                {
                    Expect::Ok
                } else {
                    Expect::Refused(self.stale(*m, lead, offer, OFFER_GONE))
                }
            }
            Call::Customer {
                c,
                dnc,
                clear_complaint,
            } => {
                let window = self.cfg.contact_window.as_millis() as i64;
                let until = if *clear_complaint {
                    0
                } else {
                    self.complaint_until[*c]
                };
                Expect::Customer(CustomerState {
                    home: self.home[*c].clone(),
                    do_not_contact: dnc.unwrap_or(self.dnc[*c]),
                    complaint_until: until,
                    complaint_active: until > now,
                    recent_sales_contacts: self.contacts[*c]
                        .values()
                        .filter(|t| **t > now - window)
                        .count() as u32,
                })
            }
            Call::Availability { .. } | Call::Upsert(_) | Call::Sweep { .. } => Expect::Ok,
        }
    }

    /// Accept or decline: the recorded answer, a refusal naming what ended
    /// the offer, or — on a live offer — success (an accept also needs the
    /// manager available and qualified at that moment).
    async fn on_offer(
        &self,
        m: usize,
        lead: &LeadId,
        offer: &str,
        op: &'static str,
        fp: &str,
        accept: bool,
    ) -> Expect {
        if let Some(r) = self.recorded(m, lead, offer) {
            if r.op == op && r.fp == fp {
                return Expect::Replay(r.answer.clone());
            }
            return Expect::Refused(&[ScriptErrorCode::WrongState]);
        }
        let p = self.peek(lead).await;
        let mgr = &self.managers[m];
        let live = p.state == "referral_offered"
            && p.owner == mgr.id.as_str()
            && p.offer_id == offer
            && p.offer_deadline > self.now();
        if !live {
            Expect::Refused(self.stale(m, lead, offer, OFFER_GONE))
        } else if accept && !mgr.available {
            Expect::Refused(&[ScriptErrorCode::Unavailable])
        } else if accept
            && !mgr
                .qualified_products
                .iter()
                .any(|q| q.as_str() == p.product)
        {
            Expect::Refused(&[ScriptErrorCode::NotQualified])
        } else {
            Expect::Ok
        }
    }

    fn customer_index(&self, c: &CustomerId) -> usize {
        self.customers
            .iter()
            .position(|x| x == c)
            .expect("a customer of the cast")
    }

    // -------------------------------------------------------------- execution

    async fn exec(&self, call: &Call) -> Result<Answer, RoutingError> {
        let r = &self.router;
        match call {
            Call::Ingest(req) => r.ingest(req).await.map(|o| Answer::Ingested(Box::new(o))),
            Call::Pull {
                m,
                max,
                lease,
                request,
            } => r
                .pull(self.mid(*m), *max, *lease, request)
                .await
                .map(Answer::Leases),
            Call::Complete {
                m,
                lead,
                lease,
                outcome,
                callback_at,
                note,
            } => r
                .complete(
                    LeaseRef {
                        manager: self.mid(*m),
                        lead,
                        lease_id: lease,
                    },
                    Completion {
                        outcome: *outcome,
                        callback_at: *callback_at,
                        note,
                    },
                )
                .await
                .map(Answer::Moved),
            Call::Release { m, lead, lease } => r
                .release(LeaseRef {
                    manager: self.mid(*m),
                    lead,
                    lease_id: lease,
                })
                .await
                .map(Answer::Moved),
            Call::Extend { m, lead, lease, by } => r
                .extend(
                    LeaseRef {
                        manager: self.mid(*m),
                        lead,
                        lease_id: lease,
                    },
                    *by,
                )
                .await
                .map(Answer::Expiry),
            Call::Escalate {
                m,
                lead,
                lease,
                reason,
            } => r
                .escalate(
                    LeaseRef {
                        manager: self.mid(*m),
                        lead,
                        lease_id: lease,
                    },
                    reason,
                )
                .await
                .map(Answer::Moved),
            Call::Accept { m, lead, offer } => r
                .accept(OfferRef {
                    manager: self.mid(*m),
                    lead,
                    offer_id: offer,
                })
                .await
                .map(|()| Answer::Accepted),
            Call::Decline {
                m,
                lead,
                offer,
                reason,
            } => r
                .decline(
                    OfferRef {
                        manager: self.mid(*m),
                        lead,
                        offer_id: offer,
                    },
                    reason,
                    DeclineCategory::Other,
                )
                .await
                .map(Answer::Moved),
            Call::CompleteReferral {
                m,
                lead,
                offer,
                outcome,
                note,
            } => r
                .complete_referral(
                    OfferRef {
                        manager: self.mid(*m),
                        lead,
                        offer_id: offer,
                    },
                    *outcome,
                    note,
                )
                .await
                .map(Answer::Moved),
            Call::Availability { m, available } => r
                .set_availability(self.mid(*m), *available)
                .await
                .map(|()| Answer::Done),
            Call::Upsert(m) => r.upsert_manager(m).await.map(|()| Answer::Done),
            Call::Customer {
                c,
                dnc,
                clear_complaint,
            } => r
                .customer_set(&self.customers[*c], *dnc, *clear_complaint)
                .await
                .map(Answer::Customer),
            Call::Sweep { region, limit } => r
                .sweep_region(&self.regions[*region], *limit)
                .await
                .map(|_| Answer::Done),
        }
    }

    // -------------------------------------------------------------- judging

    fn judge(
        &self,
        call: &Call,
        expect: &Expect,
        got: &Result<Answer, RoutingError>,
    ) -> Result<(), String> {
        let fail = |why: &str| Err(format!("{why}: expected {expect:?}, got {}", short(got)));
        match (expect, got) {
            (Expect::Refused(codes), Err(e)) => {
                let stale_call_back = matches!(
                    call,
                    Call::Complete { callback_at: Some(at), .. } if *at <= self.now()
                ) && matches!(e, RoutingError::InvalidArgument { .. });
                if code(e).is_some_and(|c| codes.contains(&c)) || stale_call_back {
                    Ok(())
                } else {
                    fail("refused, but not as a stale call is")
                }
            }
            (Expect::Refused(_), Ok(_)) => fail("a stale call succeeded"),
            (Expect::Replay(_), Err(_)) => fail(
                "a retry of a call that succeeded returned an error instead of the recorded answer",
            ),
            (_, Err(_)) => fail("a call that must succeed failed"),
            (Expect::Ok, Ok(_)) => Ok(()),
            (Expect::Extended(at), Ok(Answer::Expiry(got_at))) => {
                if at == got_at {
                    Ok(())
                } else {
                    fail("the lease was extended to another time")
                }
            }
            (Expect::Customer(want), Ok(Answer::Customer(state))) => {
                if want == state {
                    Ok(())
                } else {
                    fail("the customer's remembered state differs")
                }
            }
            (Expect::Ingested { route, home }, Ok(Answer::Ingested(o))) => {
                let dest = o.destination.kind;
                if o.replayed {
                    fail("a first ingest answered as a replay")
                } else if o.route != *route {
                    fail("the customer's memory did not decide the route")
                } else if o.region != *home || o.lead_id.region().as_ref() != Some(home) {
                    fail("the lead does not live in the customer's home region")
                } else if *route == Route::Suppressed
                    && (o.state != LeadState::Suppressed || dest != DestinationKind::Suppressed)
                {
                    fail("a do-not-contact call left the lead open")
                } else if *route == Route::ServiceFollowup && o.state != LeadState::ServiceFollowup
                {
                    fail("a complaint (or its cool-off) left the lead in sales")
                } else {
                    Ok(())
                }
            }
            (Expect::Replay(Answer::Ingested(a)), Ok(Answer::Ingested(b))) => {
                let Call::Ingest(req) = call else {
                    unreachable!()
                };
                if !b.replayed {
                    fail("a replayed ingest is not marked replayed")
                } else if (&a.lead_id, &a.destination, a.joined, a.routed, a.state)
                    != (&b.lead_id, &b.destination, b.joined, b.routed, b.state)
                    || b.recorded.as_ref().map(|r| r.received_at_ms)
                        != Some(req.interaction.received_at_ms)
                {
                    fail("a replayed ingest answered something else")
                } else {
                    Ok(())
                }
            }
            (Expect::Replay(Answer::Leases(a)), Ok(Answer::Leases(b))) => {
                if leases_eq(a, b) {
                    Ok(())
                } else {
                    fail("a retried pull answered other leases")
                }
            }
            (Expect::Replay(Answer::Moved(a)), Ok(Answer::Moved(b))) => {
                if !b.replayed {
                    fail("a retry ran again instead of answering the recorded result")
                } else if !moved_eq(a, b) {
                    fail("a retry answered something else than the first call")
                } else {
                    Ok(())
                }
            }
            (Expect::Replay(Answer::Accepted), Ok(Answer::Accepted)) => Ok(()),
            _ => fail("an answer of the wrong kind"),
        }
    }

    /// The model learns what a call did.
    fn learn(&mut self, call: &Call, expect: &Expect, got: &Result<Answer, RoutingError>) {
        let now = self.now();
        let replay = matches!(expect, Expect::Replay(_));
        let kind = self.tally.kinds.entry(kind(call)).or_default();
        match got {
            Err(_) => kind.1 += 1,
            Ok(_) => kind.0 += 1,
        }
        if replay {
            kind.2 += 1;
        }
        if got.is_err() {
            self.tally.refused += 1;
        }
        if replay {
            self.tally.replays += 1;
        }
        let Ok(answer) = got else {
            // A stale lease or acceptance is no longer worth picking.
            match call {
                Call::Complete { lead, lease, .. }
                | Call::Release { lead, lease, .. }
                | Call::Extend { lead, lease, .. }
                | Call::Escalate { lead, lease, .. } => self
                    .open_leases
                    .retain(|h| !(h.lead == *lead && h.lease == *lease)),
                Call::CompleteReferral { lead, offer, .. } => self
                    .open_accepted
                    .retain(|h| !(h.lead == *lead && h.offer == *offer)),
                _ => {}
            }
            return;
        };
        let record = |w: &mut World, m: &usize, lead: &LeadId, fence: String, op, fp: String| {
            if !replay {
                w.fences.insert(
                    (lead.clone(), fence),
                    Recorded {
                        m: *m,
                        op,
                        fp,
                        answer: answer.clone(),
                    },
                );
            }
        };
        match call {
            Call::Ingest(req) => {
                let Answer::Ingested(o) = answer else { return };
                let c = self.customer_index(&req.customer);
                self.home[c].get_or_insert_with(|| req.region.clone());
                let window = self.cfg.contact_window.as_millis() as i64;
                self.contacts[c].retain(|_, t| *t > now - window);
                if replay {
                    // What a replay notes again is not the model's to say
                    // (`resync` reads it back); the checker judges it.
                    return;
                }
                if req.route == Route::Suppressed {
                    self.dnc[c] = true;
                }
                if req.route == Route::ServiceFollowup {
                    let until = now + self.cfg.complaint_cooloff.as_millis() as i64;
                    self.complaint_until[c] = self.complaint_until[c].max(until);
                }
                if o.routed && is_sales(o.route) {
                    self.contacts[c]
                        .entry(req.interaction_id.to_string())
                        .or_insert(now);
                }
                self.ingests
                    .insert(req.interaction_id.to_string(), (**o).clone());
            }
            Call::Pull { m, request, .. } => {
                let Answer::Leases(leases) = answer else {
                    return;
                };
                if !replay {
                    self.pulls.insert((*m, request.clone()), leases.clone());
                    self.pull_calls[*m].push(call.clone());
                    for l in leases {
                        let h = LeaseH {
                            m: *m,
                            lead: l.lead.id.clone(),
                            lease: l.lease_id.clone(),
                        };
                        self.owners.insert((h.lead.clone(), h.lease.clone()), h.m);
                        self.leases.push(h.clone());
                        self.open_leases.push(h);
                    }
                }
            }
            Call::Complete {
                m,
                lead,
                lease,
                outcome,
                callback_at,
                note,
            } => {
                let fp = format!("{outcome}|{callback_at:?}|{note}");
                record(self, m, lead, lease.clone(), "complete", fp);
                self.open_leases
                    .retain(|h| !(h.lead == *lead && h.lease == *lease));
            }
            Call::Release { m, lead, lease } => {
                record(self, m, lead, lease.clone(), "release", String::new());
                self.open_leases
                    .retain(|h| !(h.lead == *lead && h.lease == *lease));
            }
            Call::Escalate {
                m,
                lead,
                lease,
                reason,
            } => {
                record(self, m, lead, lease.clone(), "escalate", reason.clone());
                self.open_leases
                    .retain(|h| !(h.lead == *lead && h.lease == *lease));
            }
            Call::Extend { .. } => {}
            Call::Accept { m, lead, offer } => {
                record(self, m, lead, offer.clone(), "accept", String::new());
                if !replay {
                    let h = OfferH {
                        m: *m,
                        lead: lead.clone(),
                        offer: offer.clone(),
                    };
                    self.accepted.push(h.clone());
                    self.open_accepted.push(h);
                }
            }
            Call::Decline {
                m,
                lead,
                offer,
                reason,
            } => record(self, m, lead, offer.clone(), "decline", reason.clone()),
            Call::CompleteReferral {
                m,
                lead,
                offer,
                outcome,
                note,
            } => {
                let fp = format!("{outcome}|{note}");
                record(
                    self,
                    m,
                    lead,
                    format!("done:{offer}"),
                    "complete_referral",
                    fp,
                );
                self.open_accepted
                    .retain(|h| !(h.lead == *lead && h.offer == *offer));
            }
            Call::Availability { m, available } => self.managers[*m].available = *available,
            Call::Upsert(m) => {
                let i = self.index_of(&m.id);
                self.managers[i] = (**m).clone();
            }
            Call::Customer {
                c,
                dnc,
                clear_complaint,
            } => {
                if let Some(d) = dnc {
                    self.dnc[*c] = *d;
                }
                if *clear_complaint {
                    self.complaint_until[*c] = 0;
                }
            }
            Call::Sweep { .. } => {}
        }
    }

    /// After a pull: never over capacity across shards; fewer leads than
    /// asked only when full or when nothing takeable is left.
    async fn after_pull(
        &self,
        call: &Call,
        expect: &Expect,
        got: &Result<Answer, RoutingError>,
    ) -> Result<(), String> {
        let (Call::Pull { m, max, .. }, Ok(Answer::Leases(leases))) = (call, got) else {
            return Ok(());
        };
        if leases.len() > *max as usize {
            return Err(format!("pull of {max} granted {}", leases.len()));
        }
        let held = self.held(*m).await;
        let cap = self.managers[*m].capacity as u64;
        if held > cap {
            return Err(format!(
                "{} holds {held} leads, capacity {cap}",
                self.mid(*m)
            ));
        }
        if matches!(expect, Expect::Ok) && leases.len() < *max as usize && held < cap {
            let left = self.takeable(*m).await;
            if left > 0 {
                return Err(format!(
                    "pull of {max} granted {} with room ({held}/{cap}) while {left} leads it could take wait",
                    leases.len()
                ));
            }
        }
        Ok(())
    }

    /// One step: plan, expect, call, judge, learn.
    async fn step(&mut self, op: &Op) -> Result<(), String> {
        // Every step takes a second of the test clock.
        self.clock.advance(Duration::from_secs(1));
        let retry = matches!(op, Op::Retry { .. });
        let Some(call) = self.plan(op).await else {
            return Ok(());
        };
        let expect = self.expect(&call).await;
        let lead = lead_of(&call).or_else(|| match &expect {
            Expect::Replay(Answer::Ingested(o)) => Some(o.lead_id.clone()),
            _ => None,
        });
        let before = match &lead {
            Some(l) => Some(self.snapshot(l).await),
            None => None,
        };
        let got = self.exec(&call).await;
        self.tally.calls += 1;
        self.note(format!(
            "step {} (t+{}s){}: {} -> {}",
            self.step,
            (self.now() - T0) / 1000,
            if retry { " RETRY" } else { "" },
            describe(&call, &self.managers),
            short(&got)
        ));
        self.judge(&call, &expect, &got)?;
        // A refusal, or the replay of a recorded answer, writes nothing.
        if let (Some(lead), Some(before)) = (&lead, before) {
            if got.is_err() || matches!(expect, Expect::Replay(_)) {
                let after = self.snapshot(lead).await;
                if after != before {
                    return Err(format!(
                        "a refused or replayed call changed lead {lead}:\n  before {before:?}\n  after  {after:?}"
                    ));
                }
            }
        }
        self.after_pull(&call, &expect, &got).await?;
        self.learn(&call, &expect, &got);
        if let (Call::Ingest(req), Expect::Replay(_)) = (&call, &expect) {
            self.resync(self.customer_index(&req.customer)).await;
        }
        self.journal.push(call);
        Ok(())
    }

    async fn check(&mut self) -> Result<(), String> {
        let t = Instant::now();
        let regions = self.router.regions().await.map_err(|e| e.to_string())?;
        let v = invariants::check(&self.router, &regions)
            .await
            .map_err(|e| e.to_string())?;
        if !v.is_empty() {
            return Err(format!("invariant violations:\n  {}", v.join("\n  ")));
        }
        for &m in &self.remote {
            let (held, cap) = (self.held(m).await, self.managers[m].capacity as u64);
            if held > cap {
                return Err(format!(
                    "{} holds {held} leads, capacity {cap}",
                    self.mid(m)
                ));
            }
        }
        self.tally.checks += 1;
        self.tally.check_time += t.elapsed();
        Ok(())
    }

    fn report(&self, op: &Op, why: String) -> String {
        format!(
            "step {} ({op:?}): {why}\nlast calls:\n  {}",
            self.step,
            self.log.iter().cloned().collect::<Vec<_>>().join("\n  ")
        )
    }
}

/// A route that hands the lead to sales (a branch or the remote team).
fn is_sales(r: Route) -> bool {
    matches!(r, Route::Referral | Route::Remote)
}

/// The lead a call acts on, if it names one.
fn lead_of(call: &Call) -> Option<LeadId> {
    match call {
        Call::Complete { lead, .. }
        | Call::Release { lead, .. }
        | Call::Extend { lead, .. }
        | Call::Escalate { lead, .. }
        | Call::Accept { lead, .. }
        | Call::Decline { lead, .. }
        | Call::CompleteReferral { lead, .. } => Some(lead.clone()),
        _ => None,
    }
}

fn kind(call: &Call) -> &'static str {
    match call {
        Call::Ingest(_) => "ingest",
        Call::Pull { .. } => "pull",
        Call::Complete { .. } => "complete",
        Call::Release { .. } => "release",
        Call::Extend { .. } => "extend",
        Call::Escalate { .. } => "escalate",
        Call::Accept { .. } => "accept",
        Call::Decline { .. } => "decline",
        Call::CompleteReferral { .. } => "complete_referral",
        Call::Availability { .. } => "availability",
        Call::Upsert(_) => "upsert",
        Call::Customer { .. } => "customer",
        Call::Sweep { .. } => "sweep",
    }
}

fn describe(call: &Call, managers: &[Manager]) -> String {
    let m = |i: &usize| managers[*i].id.as_str().to_string();
    match call {
        Call::Ingest(r) => format!(
            "ingest {} customer {} {} {} {} {} score {} rm {:?} remote {:?}",
            r.interaction_id,
            r.customer,
            r.region,
            r.branch,
            r.product,
            r.route,
            r.score.score,
            r.relationship_manager.as_ref().map(|x| x.to_string()),
            r.remote_manager.as_ref().map(|x| x.to_string()),
        ),
        Call::Pull {
            m: i,
            max,
            lease,
            request,
        } => format!("pull {} max {max} lease {lease:?} request {request}", m(i)),
        Call::Complete {
            m: i,
            lead,
            lease,
            outcome,
            callback_at,
            note,
        } => format!(
            "complete {lead}#{lease} by {} {outcome} at {callback_at:?} note {note:?}",
            m(i)
        ),
        Call::Release { m: i, lead, lease } => format!("release {lead}#{lease} by {}", m(i)),
        Call::Extend {
            m: i,
            lead,
            lease,
            by,
        } => format!("extend {lead}#{lease} by {} {by:?}", m(i)),
        Call::Escalate {
            m: i,
            lead,
            lease,
            reason,
        } => format!("escalate {lead}#{lease} by {} {reason:?}", m(i)),
        Call::Accept { m: i, lead, offer } => format!("accept {lead} offer {offer} by {}", m(i)),
        Call::Decline {
            m: i,
            lead,
            offer,
            reason,
        } => format!("decline {lead} offer {offer} by {} {reason:?}", m(i)),
        Call::CompleteReferral {
            m: i,
            lead,
            offer,
            outcome,
            note,
        } => format!(
            "complete referral {lead} offer {offer} by {} {outcome} note {note:?}",
            m(i)
        ),
        Call::Availability { m: i, available } => format!("availability {} {available}", m(i)),
        Call::Upsert(mgr) => format!(
            "upsert {} products {:?} available {}",
            mgr.id, mgr.qualified_products, mgr.available
        ),
        Call::Customer {
            c,
            dnc,
            clear_complaint,
        } => format!("customer c{c} do-not-contact {dnc:?} clear complaint {clear_complaint}"),
        Call::Sweep { region, limit } => format!("sweep {} limit {limit}", REGIONS[*region]),
    }
}

// ------------------------------------------------------------------ runner

async fn case(kind: Kind, name: &str, steps: &Steps, check_every: usize) -> Result<(), String> {
    let t0 = Instant::now();
    let mut w = World::new(kind, name).await;
    let n = steps.0.len();
    for (i, op) in steps.0.iter().enumerate() {
        w.step = i;
        if let Err(why) = w.step(op).await {
            return Err(w.report(op, why));
        }
        if check_due(i, n, check_every) {
            if let Err(why) = w.check().await {
                return Err(w.report(op, why));
            }
        }
    }
    let mut conn = w.conn.clone();
    let mut leads = 0u64;
    let mut states: std::collections::BTreeMap<String, u64> = Default::default();
    for r in &w.regions {
        let ids = funnel::routing::invariants::lead_ids(&w.router, r)
            .await
            .expect("lead ids");
        leads += ids.len() as u64;
        for id in ids {
            let st: String = redis::cmd("HGET")
                .arg(w.keys.shard(r).lead(&id))
                .arg("state")
                .query_async(&mut conn)
                .await
                .expect("hget");
            *states.entry(st).or_default() += 1;
        }
    }
    eprintln!(
        "{name}: states {states:?}, leases granted {}",
        w.leases.len()
    );
    eprintln!(
        "{name}: {n} steps in {:.1?} (simulated {:.1} days), {leads} leads: {:?}",
        t0.elapsed(),
        (w.now() - T0) as f64 / 86_400_000.0,
        w.tally
    );
    Ok(())
}

fn run(kind: Kind, name: &str, cases: u32) {
    let n = env_num("FUNNEL_PROPTEST_STEPS", 10_000usize);
    let check_every = env_num("FUNNEL_PROPTEST_CHECK_EVERY", 100usize);
    let seed: u64 = env_num("FUNNEL_PROPTEST_SEED", rand::random());
    eprintln!(
        "{name}: {cases} case(s) of {n} steps, invariants every {check_every} steps after 100; \
         FUNNEL_PROPTEST_SEED={seed} repeats this run"
    );
    let config = Config {
        cases,
        max_shrink_iters: env_num("FUNNEL_PROPTEST_SHRINK", 0u32),
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut runner = TestRunner::new(config);
    let result = runner.run(&steps(n), |s| {
        rt.block_on(case(kind, name, &s, check_every))
            .map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{name} (FUNNEL_PROPTEST_SEED={seed}): {e}");
    }
}

fn cases() -> u32 {
    env_num("FUNNEL_PROPTEST_CASES", 2u32).max(1)
}

#[test]
fn random_interleavings_on_a_single_redis_keep_every_invariant() {
    run(Kind::Single, "prop-single", cases());
}

#[test]
fn random_interleavings_on_a_cluster_keep_every_invariant() {
    run(Kind::Cluster, "prop-cluster", cases().div_ceil(2));
}

// ------------------------------------------------------------------ findings

/// Found by the property test on 37054d8 (seed 100, step 4628): the robot's
/// retry of an old do-not-contact call — after an admin cleared the flag
/// and the customer called again — answered the recorded result and, on
/// the way, set do-not-contact again (`Router::ingest` noted what a replayed
/// interaction said) without suppressing the customer's open lead, which
/// stayed with a branch. Main has since moved the memory into the ingest
/// script (0b94bcc), where a replay notes nothing; this keeps it so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_do_not_contact_call_leaves_no_lead_in_sales() {
    for (kind, name) in [(Kind::Single, "single"), (Kind::Cluster, "cluster")] {
        let h = common::scenario::harness(kind, "dnc-replay").await;
        let r = &h.router;
        r.upsert_manager(&common::scenario::offline("o1", "east", "east-b1", 5))
            .await
            .unwrap();
        let call = |iid: &str, route| common::scenario::Lead::new(iid, "c1", route, 90).req();
        let opt_out = call("dnc-1", Route::Suppressed);
        assert_eq!(
            r.ingest(&opt_out).await.unwrap().state,
            LeadState::Suppressed
        );
        let c1 = CustomerId::parse("c1").unwrap();
        r.customer_set(&c1, Some(false), false).await.unwrap();
        let again = r.ingest(&call("dnc-2", Route::Referral)).await.unwrap();
        assert_eq!(again.state, LeadState::ReferralOffered);
        // The first call's response was lost; the robot retries it.
        let replay = r.ingest(&opt_out).await.unwrap();
        assert!(replay.replayed);
        let remembered = r.customer_state(&c1).await.unwrap().do_not_contact;
        let lead = r.get_lead(&again.lead_id).await.unwrap().lead.state;
        let regions = r.regions().await.unwrap();
        let v = invariants::check(r, &regions).await.unwrap();
        assert!(
            v.is_empty(),
            "BUG ({name}): after a replayed do-not-contact call the customer is \
             do-not-contact={remembered} while its open lead is {lead}:\n{}",
            v.join("\n")
        );
    }
}
