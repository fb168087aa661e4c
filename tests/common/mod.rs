//! Test harness: one private single `redis-server` and one three-node
//! cluster per test binary (from `funnel::dev`), shared by its tests, each
//! test isolated by its own key prefix. Never the machine's shared Redis.
#![allow(dead_code)]

pub use funnel::dev::redis::{RedisCluster, RedisNode, RedisOptions};
use std::sync::OnceLock;

pub fn single() -> &'static RedisNode {
    static S: OnceLock<RedisNode> = OnceLock::new();
    S.get_or_init(|| RedisNode::start(&RedisOptions::default()).expect("redis-server"))
}

pub fn cluster() -> &'static RedisCluster {
    static C: OnceLock<RedisCluster> = OnceLock::new();
    C.get_or_init(|| RedisCluster::start(3, 0, &RedisOptions::default()).expect("redis cluster"))
}

pub fn unique_prefix(name: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "t{}-{}-{}",
        std::process::id(),
        name,
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}
pub mod browser;
pub mod scenario;
pub mod serve;
pub mod stack;
pub mod trails;
pub mod web;

/// A registry of every region and branch of the shipped sample calls (the
/// ones the tests send), for a test server's configuration.
pub fn sample_registry() -> funnel::config::RegistryConfig {
    let calls = funnel::client::read_interactions(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/holdout_sample.jsonl"),
    )
    .expect("the sample calls");
    funnel::dev::sample::registry_of(&calls)
}

/// The same, as the `[registry.regions]` table of a TOML configuration.
pub fn sample_registry_toml() -> String {
    let mut out = String::from("[registry.regions]\n");
    for (region, branches) in sample_registry().regions {
        let quoted: Vec<String> = branches.iter().map(|b| format!("\"{b}\"")).collect();
        out.push_str(&format!("{region} = [{}]\n", quoted.join(", ")));
    }
    out
}
