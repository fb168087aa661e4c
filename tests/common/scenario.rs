//! The routing layer's scenario harness, shared by `tests/routing.rs` and
//! `tests/lifecycle.rs`: a Router on a private single Redis or 3-node
//! cluster with a test clock, roster builders, and `on_both!`, which runs
//! every scenario on both.
#![allow(dead_code)]

use super::{cluster, single, unique_prefix};
use funnel::dev::roster;
use funnel::domain::*;
use funnel::routing::{
    invariants, Completion, IngestRequest, LeaseRef, ManualClock, OfferRef, RedisConn, RedisTarget,
    Router, RoutingConfig, RoutingError, ScriptErrorCode,
};
use std::sync::Arc;
use std::time::Duration;

pub const T0: i64 = 1_800_000_000_000;

pub struct H {
    pub router: Router,
    pub clock: Arc<ManualClock>,
    /// What the router was built from (to build another replica).
    pub conn: RedisConn,
    pub cfg: RoutingConfig,
}

#[derive(Clone, Copy)]
pub enum Kind {
    Single,
    Cluster,
}

/// A connection to this binary's private single Redis or 3-node cluster.
pub async fn connect(kind: Kind, response_timeout: Duration) -> RedisConn {
    let (urls, cluster) = match kind {
        Kind::Single => (vec![single().url()], false),
        Kind::Cluster => (cluster().urls(), true),
    };
    RedisConn::connect(&RedisTarget {
        urls,
        cluster,
        response_timeout,
        connect_timeout: Duration::from_secs(5),
        tls: None,
    })
    .await
    .expect("connect")
}

pub async fn harness(kind: Kind, name: &str) -> H {
    let conn = connect(kind, Duration::from_secs(5)).await;
    let cfg = RoutingConfig {
        key_prefix: unique_prefix(name),
        offer_sla: Duration::from_secs(600),
        backflow_wait: Duration::from_secs(3600),
        lease_default: Duration::from_secs(300),
        lease_max: Duration::from_secs(1800),
        max_attempts: 2,
        incubation_review: Duration::from_secs(86_400),
        incubation_expiry: Duration::from_secs(3 * 86_400),
        ..RoutingConfig::default()
    };
    let clock = Arc::new(ManualClock::new(T0));
    H {
        router: Router::with_test_clock(conn.clone(), cfg.clone(), clock.clone()),
        clock,
        conn,
        cfg,
    }
}

impl H {
    pub async fn assert_sound(&self) {
        let regions = self.router.regions().await.unwrap();
        let v = invariants::check(&self.router, &regions).await.unwrap();
        assert!(v.is_empty(), "invariant violations:\n{}", v.join("\n"));
    }
}

pub fn id<T>(f: fn(String) -> Result<T, DomainError>, s: &str) -> T {
    f(s.to_string()).unwrap()
}
pub fn region(s: &str) -> RegionId {
    id(RegionId::parse, s)
}
pub fn mgr(s: &str) -> ManagerId {
    id(ManagerId::parse, s)
}

pub fn offline(m: &str, reg: &str, branch: &str, capacity: u32) -> Manager {
    Manager {
        qualified_products: vec![Product::Wealth, Product::Fund],
        capacity,
        ..roster::offline(mgr(m), region(reg), BranchId::parse(branch).unwrap())
    }
}

pub fn remote(m: &str, regions: &[&str], capacity: u32) -> Manager {
    Manager {
        team: Some("team-a".into()),
        served_regions: regions.iter().map(|r| region(r)).collect(),
        capacity,
        ..roster::remote(mgr(m), region(regions[0]))
    }
}

pub struct Lead<'a> {
    pub iid: &'a str,
    pub customer: &'a str,
    pub region: &'a str,
    pub route: Route,
    pub score: u8,
    pub product: Product,
    pub rm: Option<&'a str>,
    pub remote: Option<&'a str>,
}

impl<'a> Lead<'a> {
    pub fn new(iid: &'a str, customer: &'a str, route: Route, score: u8) -> Self {
        Self {
            iid,
            customer,
            region: "east",
            route,
            score,
            product: Product::Wealth,
            rm: None,
            remote: None,
        }
    }
    pub fn req(&self) -> IngestRequest {
        let mut req = funnel::dev::sample::ingest_request(
            self.iid,
            self.customer,
            &region(self.region),
            self.product,
            self.route,
            self.score,
        );
        req.relationship_manager = self.rm.map(mgr);
        req.remote_manager = self.remote.map(mgr);
        req
    }
}

pub async fn ingest(h: &H, lead: Lead<'_>) -> funnel::routing::IngestOutcome {
    h.router.ingest(&lead.req()).await.unwrap()
}

pub fn lease<'a>(m: &'a ManagerId, lead: &'a LeadId, lease_id: &'a str) -> LeaseRef<'a> {
    LeaseRef {
        manager: m,
        lead,
        lease_id,
    }
}

pub fn offer_to<'a>(m: &'a ManagerId, lead: &'a LeadId, offer_id: &'a str) -> OfferRef<'a> {
    OfferRef {
        manager: m,
        lead,
        offer_id,
    }
}

pub fn outcome(outcome: RemoteOutcome, callback_at: Option<i64>, note: &str) -> Completion<'_> {
    Completion {
        outcome,
        callback_at,
        note,
    }
}

/// A fresh pull request id (each call of a test is a new request).
pub fn request() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!("t{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// Refused because the lead moved on (lease lost, offer gone, ...) or the
/// request does not apply in its state.
pub fn precondition(e: &RoutingError) -> bool {
    match e {
        RoutingError::FailedPrecondition(_) => true,
        RoutingError::Rejected(s) => matches!(
            s.code,
            ScriptErrorCode::LeaseLost
                | ScriptErrorCode::OfferGone
                | ScriptErrorCode::WrongState
                | ScriptErrorCode::Unavailable
                | ScriptErrorCode::NotRegistered
        ),
        _ => false,
    }
}

pub fn state_of(rec: &funnel::routing::LeadRecord) -> LeadState {
    rec.lead.state
}

// ---------------------------------------------------------------- scenarios

#[macro_export]
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod single {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(harness(Kind::Single, stringify!($name)).await).await }
            )+
        }
        mod cluster {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(harness(Kind::Cluster, stringify!($name)).await).await }
            )+
        }
    };
}
