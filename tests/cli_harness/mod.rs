//! What tests/cli.rs needs: a server in the test process on a private
//! redis-server, the built `funnel` binary run as each role, and readers of
//! what the verbs print.

use crate::common;
use chrono::{DateTime, FixedOffset, Utc};
use funnel::api::auth::Principal;
use funnel::config::Config;
use funnel::dev::roster::Tokens;
use funnel::dev::server::LocalServer;
use funnel::domain::ManagerId;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub const ROBOT: usize = 0;
pub const ADMIN: usize = 1;
pub const REMOTE: usize = 2;
pub const OFFLINE: usize = 3;
/// The zone the binary is run in, and the offset its times must carry.
pub const TZ: &str = "Asia/Shanghai";
pub const OFFSET: &str = "+08:00";

pub struct Stack {
    server: LocalServer,
    tokens: Tokens,
    pub dir: tempfile::TempDir,
}

impl Stack {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let manager = |m: &str| ManagerId::parse(m).unwrap();
        let principals = [
            Principal::Robot,
            Principal::Admin,
            Principal::RemoteManager(manager("r-cli")),
            Principal::OfflineManager(manager("o-cli")),
        ];
        let tokens = Tokens::write(dir.path(), &principals).unwrap();
        let tokens_file = tokens.path.clone();
        let mut config = Config {
            redis_urls: vec![common::single().url()],
            tokens_file,
            manifest: manifest_path(),
            scoring_threads: 1,
            sweep_interval: Duration::from_millis(100),
            watch_poll: Duration::from_millis(200),
            log_filter: "warn".into(),
            registry: common::sample_registry(),
            ..Config::default()
        };
        config.routing.key_prefix = common::unique_prefix("cli");
        let server = LocalServer::start(config, 2).unwrap();
        Self {
            server,
            tokens,
            dir,
        }
    }

    /// The server's gRPC address and its metrics port.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }
    pub fn metrics(&self) -> std::net::SocketAddr {
        self.server.metrics
    }

    /// `funnel <args>` as `who`, with the address and token from the
    /// environment, as an operator would set them.
    pub fn command(&self, who: usize, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_funnel"));
        c.args(args)
            .env("FUNNEL_ADDR", self.server.endpoint())
            .env("FUNNEL_TOKEN", &self.tokens[who])
            .env("TZ", TZ);
        c
    }

    pub fn run(&self, who: usize, args: &[&str]) -> Output {
        self.command(who, args).output().unwrap()
    }

    /// Runs a verb that must succeed; returns what it printed.
    pub fn ok(&self, who: usize, args: &[&str]) -> String {
        let out = self.run(who, args);
        assert!(
            out.status.success(),
            "funnel {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a verb that must fail; returns its error line.
    pub fn fails(&self, who: usize, args: &[&str]) -> String {
        let out = self.run(who, args);
        assert!(!out.status.success(), "funnel {args:?} succeeded");
        String::from_utf8(out.stderr).unwrap().trim().to_string()
    }
}

pub fn manifest_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/manifest.json")
}

/// The value of a `key   value` line.
pub fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key).filter(|v| v.starts_with(' ')))
        .unwrap_or_else(|| panic!("no {key} in:\n{out}"))
        .trim()
}

/// Cells of a line printed in columns (two or more spaces apart).
pub fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// A printed time: local (`TZ`'s offset), and within `window` of now + `ahead`.
pub fn assert_local_time(s: &str, ahead: chrono::Duration, window: chrono::Duration) {
    let t = DateTime::<FixedOffset>::parse_from_str(s, "%Y-%m-%d %H:%M:%S %:z")
        .unwrap_or_else(|e| panic!("{s:?} is not a local date-time: {e}"));
    assert_eq!(t.offset().to_string(), OFFSET, "{s}");
    let off = t.with_timezone(&Utc) - (Utc::now() + ahead);
    assert!(off.abs() < window, "{s} is {off} away from now + {ahead}");
}

/// The first column of `line` as a local time close to now.
pub fn assert_starts_with_recent_time(line: &str) {
    assert_local_time(
        cells(line)[0],
        chrono::Duration::zero(),
        chrono::Duration::minutes(5),
    );
}

/// Sample calls of one branch (fresh ids): the `high` likeliest to convert,
/// then the `asks` least likely among those asking for a person (the rule
/// lifts them to at least MEDIUM, i.e. the remote queue).
pub fn sample_calls(branch: &str, high: usize, asks: usize, tag: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/holdout_sample.jsonl");
    let mut rows: Vec<Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| r["branch_id"] == branch && r["do_not_contact"] == false)
        .collect();
    let p_star = |r: &Value| r["label"]["p_star"].as_f64().unwrap();
    rows.sort_by(|a, b| p_star(b).total_cmp(&p_star(a)));
    let mut picked: Vec<Value> = rows.iter().take(high).cloned().collect();
    picked.extend(
        rows.iter()
            .rev()
            .filter(|r| r["label"]["intent"] == "asks_for_human")
            .take(asks)
            .cloned(),
    );
    for r in &mut picked {
        for key in ["interaction_id", "customer_id"] {
            r[key] = format!("{}-{tag}", r[key].as_str().unwrap()).into();
        }
    }
    picked
}

/// One line of `submit --each`.
pub struct Submitted {
    pub interaction: String,
    pub lead: String,
    pub destination: String,
}

pub fn parse_submitted(out: &str) -> Vec<Submitted> {
    out.lines()
        .filter(|l| l.contains("  lead "))
        .map(|l| {
            let c = cells(l);
            Submitted {
                interaction: c[0].to_string(),
                lead: c[1].strip_prefix("lead ").unwrap().to_string(),
                destination: c[3].to_string(),
            }
        })
        .collect()
}

/// `funnel watch` until the pending offers are synced: (lead, offer) pairs.
pub fn pending_offers(s: &Stack, who: usize) -> Vec<(String, String)> {
    let mut child = s
        .command(who, &["watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut offers = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("watch printed no `synced` line");
        if line.contains("  synced, ") {
            assert_starts_with_recent_time(&line);
            assert!(line.ends_with(&format!("synced, {} pending", offers.len())));
            break;
        }
        if let Some(c) = Some(cells(&line)).filter(|c| c.len() > 1 && c[1].starts_with("offer ")) {
            assert_starts_with_recent_time(&line);
            // The default SLA: accept within 30 minutes.
            let accept_by = c[3].strip_prefix("accept by ").unwrap();
            assert_local_time(
                accept_by,
                chrono::Duration::minutes(30),
                chrono::Duration::minutes(2),
            );
            let lead = c[2].strip_prefix("lead ").unwrap().to_string();
            offers.push((lead, c[1].strip_prefix("offer ").unwrap().to_string()));
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    offers
}

/// Rows of `funnel audit` (header dropped), each as its cells.
pub fn audit(s: &Stack, lead: &str) -> Vec<Vec<String>> {
    let out = s.ok(ADMIN, &["audit", lead]);
    let mut lines = out.lines();
    assert_eq!(
        cells(lines.next().unwrap()),
        [
            "time",
            "actor",
            "action",
            "from → to",
            "manager",
            "interaction",
            "reason"
        ]
    );
    lines
        .map(|l| {
            assert_starts_with_recent_time(l);
            cells(l).into_iter().map(String::from).collect()
        })
        .collect()
}
