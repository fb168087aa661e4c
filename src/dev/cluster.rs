//! A private Redis Cluster: N primaries, each with R replicas, on free ports.

use super::redis::{cli_binary, RedisNode, RedisOptions};
use std::process::Command;
use std::time::{Duration, Instant};

/// A cluster of private `redis-server` nodes. Any node can be stopped,
/// killed or restarted through [`RedisCluster::nodes`]; a restarted node
/// rejoins from its `nodes.conf`.
pub struct RedisCluster {
    /// Every node: the first `primaries` were created as primaries, the rest
    /// as their replicas (roles can change after a fail-over).
    pub nodes: Vec<RedisNode>,
}

impl RedisCluster {
    /// `primaries` (at least 3, as `redis-cli --cluster create` demands),
    /// each with `replicas` replicas; returns once every node reports
    /// `cluster_state:ok` and sees every replica, and every replica has
    /// synced with its primary.
    pub fn start(
        primaries: usize,
        replicas: usize,
        options: &RedisOptions,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(primaries >= 3, "a Redis Cluster needs at least 3 primaries");
        let options = options.clone().with_args(&[
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
            // A replica's first full sync starts at once (the default waits
            // 5 s for more replicas to share one transfer).
            "--repl-diskless-sync-delay",
            "0",
        ]);
        let nodes = (0..primaries * (1 + replicas))
            .map(|_| RedisNode::start(&options))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let out = Command::new(cli_binary())
            .args(["--cluster", "create"])
            .args(nodes.iter().map(|n| n.addr()))
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Self { nodes };
        let start = Instant::now();
        let want = primaries * replicas;
        // A replica that never finished its first sync does not stand for
        // election when its primary dies: wait for every link to be up.
        while !(cluster.is_ok()
            && cluster.nodes.iter().all(|n| n.replicas_seen() == want)
            && cluster.nodes.iter().all(RedisNode::synced))
        {
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(30),
                "cluster did not become ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(cluster)
    }

    /// Every node's URL (any of them is a seed).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url()).collect()
    }

    /// Every node answers `cluster_state:ok`.
    pub fn is_ok(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| n.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"))
    }
}

impl RedisNode {
    /// A primary, or a replica whose link to its primary is up.
    fn synced(&self) -> bool {
        let info = self.cli(&["INFO", "replication"]);
        info.contains("role:master") || info.contains("master_link_status:up")
    }

    /// How many replicas this node's `CLUSTER NODES` lists.
    fn replicas_seen(&self) -> usize {
        let nodes = self.cli(&["CLUSTER", "NODES"]);
        nodes.lines().filter(|l| l.contains("slave")).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_primaries_with_a_replica_each() {
        let c = RedisCluster::start(3, 1, &RedisOptions::default()).unwrap();
        assert_eq!(c.urls().len(), 6);
        for node in &c.nodes {
            let nodes = node.cli(&["CLUSTER", "NODES"]);
            assert_eq!(nodes.matches("master").count(), 3, "{nodes}");
            assert_eq!(nodes.matches("slave").count(), 3, "{nodes}");
        }
    }
}
