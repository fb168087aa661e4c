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
pub mod stack;
pub mod web;
