//! A whole funnel for gRPC tests: `replicas` servers in this process (real
//! ports, real scoring) against one private redis-server, a tokens file for
//! a small roster, and a `Router` on the same keys for setup and for the
//! invariant checker. The same stack as `tests/api.rs` builds for itself.
#![allow(dead_code)]

use funnel::api::convert::interaction_to_pb;
use funnel::api::pb;
use funnel::client::{read_interactions, Clients};
use funnel::config::Config;
use funnel::dev::roster::{Roster, Tokens};
use funnel::dev::server::LocalServer;
use funnel::routing::{invariants, RedisConn, RedisTarget, Router, RoutingConfig};
use std::time::Duration;

/// Indices of the principals in the tokens file: the robot, the admin,
/// then the roster of [`team`] in order.
pub const ROBOT: usize = 0;
pub const ADMIN: usize = 1;
pub const R1: usize = 2;
pub const R2: usize = 3;
pub const O1: usize = 4;
pub const O2: usize = 5;

/// Remote managers r1, r2 of `region` and offline managers o1, o2 of
/// `branch` (every product, capacity 100, available).
pub fn team(region: &str, branch: &str) -> Roster {
    let mut roster = Roster::default();
    for id in ["r1", "r2"] {
        roster.remote(id, region).unwrap();
    }
    for id in ["o1", "o2"] {
        roster.offline(id, region, branch).unwrap();
    }
    roster
}

pub struct Stack {
    pub servers: Vec<LocalServer>,
    pub tokens: Tokens,
    pub prefix: String,
    pub redis_url: String,
    _dir: tempfile::TempDir,
}

impl Stack {
    pub fn start(redis_url: &str, replicas: usize, tune: impl Fn(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Tokens name managers, not where they work.
        let tokens = team("any", "any").write_tokens(dir.path()).unwrap();
        let prefix = super::unique_prefix("stack");
        let mut config = Config {
            redis_urls: vec![redis_url.to_string()],
            tokens_file: tokens.path.clone(),
            manifest: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/manifest.json"),
            scoring_threads: 1,
            sweep_interval: Duration::from_millis(100),
            watch_poll: Duration::from_millis(200),
            stats_interval: Duration::from_millis(500),
            redis_timeout: Duration::from_secs(1),
            log_filter: "warn".into(),
            registry: super::sample_registry(),
            ..Config::default()
        };
        config.routing.key_prefix = prefix.clone();
        tune(&mut config);
        let servers = (0..replicas)
            .map(|_| LocalServer::start(config.clone(), 2).unwrap())
            .collect();
        Self {
            servers,
            tokens,
            prefix,
            redis_url: redis_url.to_string(),
            _dir: dir,
        }
    }

    /// `who`'s clients on replica 0.
    pub async fn as_(&self, who: usize) -> Clients {
        self.as_on(0, who).await
    }

    /// `who`'s clients on `replica`.
    pub async fn as_on(&self, replica: usize, who: usize) -> Clients {
        Clients::connect(&self.servers[replica].endpoint(), &self.tokens[who])
            .await
            .unwrap()
    }

    /// A router on the stack's keys (Redis's clock, like the servers).
    pub async fn router(&self) -> Router {
        router_on(vec![self.redis_url.clone()], false, &self.prefix).await
    }

    /// Stops the servers (their sweepers keep moving leads, and the checker
    /// reads shard by shard), then checks every invariant.
    pub async fn assert_sound(&mut self) {
        for server in self.servers.drain(..) {
            tokio::task::spawn_blocking(move || server.stop().unwrap())
                .await
                .unwrap();
        }
        assert_invariants(&self.router().await).await;
    }

    /// Registers [`team`]`(region, branch)` through the Admin API.
    pub async fn setup_managers(&self, region: &str, branch: &str) {
        team(region, branch)
            .register(&self.as_(ADMIN).await)
            .await
            .unwrap();
    }
}

/// A router on `prefix`'s keys of a single Redis or a cluster (for setup
/// and for the invariant checker).
pub async fn router_on(urls: Vec<String>, cluster: bool, prefix: &str) -> Router {
    let conn = RedisConn::connect(&RedisTarget {
        urls,
        cluster,
        response_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        tls: None,
    })
    .await
    .unwrap();
    Router::new(
        conn,
        RoutingConfig {
            key_prefix: prefix.to_string(),
            ..RoutingConfig::default()
        },
    )
}

/// Every violation of the invariants under `router`'s prefix, as a failure.
pub async fn assert_invariants(router: &Router) {
    let regions = router.regions().await.unwrap();
    let v = invariants::check(router, &regions).await.unwrap();
    assert!(v.is_empty(), "invariant violations:\n{}", v.join("\n"));
}

/// SubmitInteraction, its refusal kept.
pub async fn try_submit(
    robot: &Clients,
    i: pb::Interaction,
) -> Result<pb::SubmitInteractionResponse, tonic::Status> {
    robot
        .intake
        .clone()
        .submit_interaction(pb::SubmitInteractionRequest {
            interaction: Some(i),
        })
        .await
        .map(|r| r.into_inner())
}

/// Sample calls of one branch (the shipped held-out sample), with fresh ids
/// so each test has its own leads. The 3 MB sample is parsed once per test
/// binary: a paced test that asks for calls mid-run must not stall on it.
pub fn calls_of(branch: &str, n: usize, tag: &str) -> Vec<pb::Interaction> {
    static SAMPLE: std::sync::OnceLock<Vec<pb::Interaction>> = std::sync::OnceLock::new();
    SAMPLE
        .get_or_init(|| {
            read_interactions(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("models/holdout_sample.jsonl"),
            )
            .unwrap()
            .iter()
            .map(interaction_to_pb)
            .collect()
        })
        .iter()
        .filter(|c| c.branch_id == branch)
        .take(n)
        .map(|c| {
            let mut p = c.clone();
            p.interaction_id = format!("{}-{tag}", p.interaction_id);
            p.customer_id = format!("{}-{tag}", p.customer_id);
            p
        })
        .collect()
}
