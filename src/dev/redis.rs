//! Private `redis-server` processes on free ports: one node, with or without
//! an append-only file, or a cluster (see [`RedisCluster`]). Never the
//! machine's shared Redis.
//!
//! Each server runs in the foreground under a small `sh` watchdog that kills
//! it (and removes its directory) once this process is gone, so a server
//! kept in a `static` (tests have no global teardown) or left behind by a
//! crash does not outlive us. Dropping a [`RedisNode`] shuts it down at once.
//!
//! A node can be stopped gracefully ([`RedisNode::stop`]), killed with
//! SIGKILL ([`RedisNode::kill9`]) and restarted where it was
//! ([`RedisNode::restart`]): same port, same directory, so it reloads its
//! AOF (with `aof: true`) or, in a cluster, its `nodes.conf`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::cluster::RedisCluster;

/// How to install the binaries when they are missing.
const INSTALL: &str = "install redis with scripts/setup-redis.sh \
     (Debian/Ubuntu: apt-get install redis-server redis-tools), \
     or point REDIS_SERVER and REDIS_CLI at the binaries to use";

/// What kind of server to start.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// Append-only file, fsynced on every write: what was acknowledged
    /// survives `kill9` and comes back on `restart`.
    pub aof: bool,
    /// Further `redis-server` arguments (e.g. `["--maxmemory", "64mb"]`).
    pub extra: Vec<String>,
}

impl RedisOptions {
    /// The same options with more `redis-server` arguments.
    pub fn with_args(mut self, args: &[&str]) -> Self {
        self.extra.extend(args.iter().map(|a| a.to_string()));
        self
    }
}

/// One private `redis-server` on 127.0.0.1.
pub struct RedisNode {
    port: u16,
    dir: tempfile::TempDir,
    args: Vec<String>,
}

impl RedisNode {
    /// A single server on a free port, in a fresh temporary directory.
    pub fn start(options: &RedisOptions) -> anyhow::Result<Self> {
        let server = binary("REDIS_SERVER", "redis-server")?;
        binary("REDIS_CLI", "redis-cli")?;
        let mut args = vec![
            server.display().to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            if options.aof { "yes" } else { "no" }.into(),
        ];
        if options.aof {
            args.extend(["--appendfsync".into(), "always".into()]);
        }
        args.extend(options.extra.iter().cloned());
        // A free port may be taken again before the server binds it: retry.
        let mut last = None;
        for _ in 0..3 {
            let node = Self {
                port: free_port()?,
                dir: tempfile::Builder::new().prefix("funnel-redis-").tempdir()?,
                args: args.clone(),
            };
            match node.spawn() {
                Ok(()) => return Ok(node),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr())
    }

    /// The working directory: logs, AOF, `nodes.conf`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `redis-cli` against this server; its trimmed output ("" if it
    /// could not run).
    pub fn cli(&self, args: &[&str]) -> String {
        Command::new(cli_binary())
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }

    pub fn is_up(&self) -> bool {
        self.cli(&["PING"]) == "PONG"
    }

    /// Graceful stop (`SHUTDOWN NOSAVE`); returns once the process is gone.
    pub fn stop(&self) {
        let pid = self.pid();
        self.cli(&["SHUTDOWN", "NOSAVE"]);
        self.wait_down(pid);
    }

    /// SIGKILL: no shutdown, no final write; only what is already in the
    /// AOF survives.
    pub fn kill9(&self) -> anyhow::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| anyhow::anyhow!("redis-server on port {} is not running", self.port))?;
        let status = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -9 {pid} failed");
        self.wait_down(Some(pid));
        Ok(())
    }

    /// Starts the server again on the same port and directory (stopping it
    /// first if it still runs).
    pub fn restart(&self) -> anyhow::Result<()> {
        if self.is_up() {
            self.stop();
        }
        self.spawn()
    }

    fn pidfile(&self) -> PathBuf {
        self.dir().join("redis.pid")
    }

    /// The server's pid while it runs.
    fn pid(&self) -> Option<u32> {
        let pid = std::fs::read_to_string(self.pidfile())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    fn log(&self) -> PathBuf {
        self.dir().join("redis.log")
    }

    /// Starts `redis-server` under the watchdog and waits until it answers.
    fn spawn(&self) -> anyhow::Result<()> {
        let dir = self.dir().display().to_string();
        // $1 = our pid, $2 = the directory, the rest = the server's command.
        let script = "P=$1; D=$2; shift 2; \"$@\" & R=$!; \
             while kill -0 $P 2>/dev/null && kill -0 $R 2>/dev/null; do sleep 0.5; done; \
             if ! kill -0 $P 2>/dev/null; then kill $R 2>/dev/null; wait $R; rm -rf \"$D\"; fi";
        let mut watchdog = Command::new("sh")
            .args(["-c", script, "funnel-redis-watchdog"])
            .arg(std::process::id().to_string())
            .arg(&dir)
            .args(&self.args)
            .args(["--port", &self.port.to_string(), "--dir", &dir])
            .arg("--pidfile")
            .arg(self.pidfile())
            .arg("--logfile")
            .arg(self.log())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start sh for redis-server: {e}"))?;
        // Reaped when it exits, with the server; an early exit is a failure.
        let exited = Arc::new(AtomicBool::new(false));
        let flag = exited.clone();
        std::thread::spawn(move || {
            let _ = watchdog.wait();
            flag.store(true, Ordering::SeqCst);
        });
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.is_up() {
                return Ok(());
            }
            if exited.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        anyhow::bail!(
            "redis-server on port {} did not start (log {}):\n{}",
            self.port,
            self.log().display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    /// Until the port is closed and the process (once reaped) is gone.
    fn wait_down(&self, pid: Option<u32>) {
        let proc = pid.map(|p| PathBuf::from(format!("/proc/{p}")));
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5)
            && (self.is_up() || proc.as_ref().is_some_and(|p| p.exists()))
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RedisNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(super) fn cli_binary() -> String {
    std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".into())
}

/// `$env` if set, else `name` found on PATH; the error says how to install.
fn binary(env: &str, name: &str) -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        let path = PathBuf::from(path);
        anyhow::ensure!(path.is_file(), "{env}={} is not a file", path.display());
        return Ok(path);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow::anyhow!("{name} is not on PATH: {INSTALL}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aof_survives_kill9_and_restart() {
        let node = RedisNode::start(&RedisOptions {
            aof: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(node.cli(&["SET", "k", "v"]), "OK");
        node.kill9().unwrap();
        assert!(!node.is_up());
        node.restart().unwrap();
        assert_eq!(node.cli(&["GET", "k"]), "v");
        let dir = node.dir().to_path_buf();
        drop(node);
        assert!(!dir.exists());
    }

    #[test]
    fn a_missing_binary_says_how_to_install_it() {
        let e = binary("FUNNEL_TEST_UNSET_VAR", "redis-server-that-does-not-exist")
            .unwrap_err()
            .to_string();
        assert!(e.contains("scripts/setup-redis.sh"), "{e}");
        assert!(e.contains("apt-get install redis-server"), "{e}");
    }
}
