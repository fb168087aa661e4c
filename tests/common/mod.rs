//! Test harness: private `redis-server` processes on free ports (one single
//! server and one three-node cluster per test binary, shared by its tests,
//! each test isolated by its own key prefix). Never the machine's shared Redis.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn redis_server_bin() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

/// A redis-server child that dies with this test process: a shell watchdog
/// kills it once our pid is gone (tests have no global teardown).
pub struct RedisProcess {
    pub port: u16,
    pub dir: PathBuf,
}

impl RedisProcess {
    pub fn start(extra: &[&str]) -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("funnel-redis-{}-{port}", std::process::id()));
        Self::start_at(port, dir, extra)
    }

    /// On a given port and directory (to restart a server where it was).
    pub fn start_at(port: u16, dir: PathBuf, extra: &[&str]) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let mut args = vec![
            redis_server_bin(),
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            "''".into(),
            "--appendonly".into(),
            "no".into(),
            "--dir".into(),
            dir.display().to_string(),
            "--logfile".into(),
            dir.join("redis.log").display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let script = format!(
            "{} & R=$!; while kill -0 {} 2>/dev/null && kill -0 $R 2>/dev/null; do sleep 0.5; done; kill $R 2>/dev/null",
            args.join(" "),
            std::process::id()
        );
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "cannot start redis-server (is it installed? scripts/setup-redis.sh installs it)",
            );
        // Reap the watchdog when it exits (with the server).
        std::thread::spawn(move || {
            let _ = watchdog.wait();
        });
        let p = Self { port, dir };
        p.wait_ready();
        p
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.cli(&["PING"]) == "PONG" {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "redis-server on port {} did not start; log in {}",
            self.port,
            self.dir.display()
        );
    }

    /// Stops the server (SHUTDOWN NOSAVE); the watchdog exits with it.
    pub fn kill(&self) {
        let _ = self.cli(&["SHUTDOWN", "NOSAVE"]);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) && self.cli(&["PING"]) == "PONG" {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

pub fn single() -> &'static RedisProcess {
    static S: OnceLock<RedisProcess> = OnceLock::new();
    S.get_or_init(|| RedisProcess::start(&[]))
}

pub struct Cluster {
    pub nodes: Vec<RedisProcess>,
}

impl Cluster {
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url()).collect()
    }
}

pub fn cluster() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| {
        let nodes: Vec<RedisProcess> = (0..3)
            .map(|_| {
                RedisProcess::start(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                ])
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let start = Instant::now();
        loop {
            let ok = nodes
                .iter()
                .all(|n| n.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"));
            if ok {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "cluster did not become ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Cluster { nodes }
    })
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
pub mod scenario;
