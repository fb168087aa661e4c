//! One typed configuration for `funnel serve`: defaults, then a TOML file
//! (`--config`), then environment variables (`FUNNEL_*`), then flags. Every
//! field is documented here; `funnel serve --help` lists the flags.

use crate::domain::{CampaignId, Thresholds};
use crate::routing::RoutingConfig;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// Prometheus `/metrics` listen address.
    pub metrics_listen: SocketAddr,
    /// Redis URLs: one for a single server, the seed nodes for a cluster.
    /// May carry a password (`redis://:secret@host:6379`); it is redacted in logs.
    pub redis_urls: Vec<String>,
    /// Talk to a Redis Cluster.
    pub redis_cluster: bool,
    /// Per-command Redis response timeout, ms.
    pub redis_timeout_ms: u64,
    /// The model manifest; model files are found next to it.
    pub manifest: PathBuf,
    /// ONNX Runtime shared library; unset = `ORT_DYLIB_PATH` or next to the binary.
    pub ort_library: Option<PathBuf>,
    /// Scoring threads (each owns its ONNX sessions and tokenizer).
    pub scoring_threads: usize,
    /// ONNX Runtime intra-op threads per session.
    pub onnx_threads: usize,
    /// Most leads scored in one batch.
    pub max_batch: usize,
    /// Scoring jobs allowed to wait; beyond it requests get RESOURCE_EXHAUSTED.
    pub scoring_queue: usize,
    /// Reasons reported per direction (up and down).
    pub reasons_per_side: usize,
    /// Probability at which an intent (asks for a human, complaint) counts.
    pub intent_threshold: f64,
    /// Per-campaign bucket thresholds (campaign id → high/medium); others use
    /// the model manifest's defaults.
    pub campaign_thresholds: HashMap<String, Thresholds>,
    /// Bearer-token file (see README: token hashes → principals).
    pub tokens_file: PathBuf,
    /// Lead lifecycle tunables (SLA, leases, incubation, key prefix...).
    pub routing: RoutingConfig,
    /// How often the deadline sweeper runs, ms.
    pub sweep_interval_ms: u64,
    /// Most deadlines of one kind handled per region per sweep.
    pub sweep_batch: u32,
    /// Referral watchers are pushed changes (Redis pub/sub); as a fallback
    /// they also re-read pending offers this often, ms.
    pub watch_poll_ms: u64,
    /// Queue-depth gauges refresh interval, ms.
    pub stats_interval_ms: u64,
    /// Items of a streaming upload read ahead of their results (back-pressure).
    pub stream_window: usize,
    /// Longest wait for in-flight requests on shutdown, s.
    pub shutdown_grace_secs: u64,
    /// Log format: "json" or "pretty".
    pub log_format: String,
    /// Log filter (tracing EnvFilter syntax).
    pub log_filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:50051".parse().expect("addr"),
            metrics_listen: "0.0.0.0:9090".parse().expect("addr"),
            redis_urls: vec!["redis://127.0.0.1:6379".into()],
            redis_cluster: false,
            redis_timeout_ms: 2000,
            manifest: "models/manifest.json".into(),
            ort_library: None,
            scoring_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            onnx_threads: 1,
            max_batch: 64,
            scoring_queue: 1024,
            reasons_per_side: 3,
            intent_threshold: 0.5,
            campaign_thresholds: HashMap::new(),
            tokens_file: "config/tokens.toml".into(),
            routing: RoutingConfig::default(),
            sweep_interval_ms: 1000,
            sweep_batch: 500,
            watch_poll_ms: 1000,
            stats_interval_ms: 10_000,
            stream_window: 256,
            shutdown_grace_secs: 30,
            log_format: "pretty".into(),
            log_filter: "info".into(),
        }
    }
}

/// Flags (and their environment variables) of `funnel serve`; each
/// overrides the file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeFlags {
    /// TOML config file.
    #[arg(long, env = "FUNNEL_CONFIG")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "FUNNEL_LISTEN")]
    pub listen: Option<SocketAddr>,
    #[arg(long, env = "FUNNEL_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Comma-separated Redis URLs.
    #[arg(long, env = "FUNNEL_REDIS_URLS", value_delimiter = ',')]
    pub redis_urls: Option<Vec<String>>,
    #[arg(long, env = "FUNNEL_REDIS_CLUSTER")]
    pub redis_cluster: Option<bool>,
    #[arg(long, env = "FUNNEL_MANIFEST")]
    pub manifest: Option<PathBuf>,
    #[arg(long, env = "FUNNEL_ORT_LIBRARY")]
    pub ort_library: Option<PathBuf>,
    #[arg(long, env = "FUNNEL_SCORING_THREADS")]
    pub scoring_threads: Option<usize>,
    #[arg(long, env = "FUNNEL_MAX_BATCH")]
    pub max_batch: Option<usize>,
    #[arg(long, env = "FUNNEL_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Referral accept SLA, seconds.
    #[arg(long, env = "FUNNEL_OFFER_SLA_SECS")]
    pub offer_sla_secs: Option<u64>,
    /// Default remote lease, seconds.
    #[arg(long, env = "FUNNEL_LEASE_SECS")]
    pub lease_secs: Option<u64>,
    #[arg(long, env = "FUNNEL_LOG_FORMAT")]
    pub log_format: Option<String>,
    #[arg(long, env = "FUNNEL_LOG")]
    pub log_filter: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("invalid config file {0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    #[error("invalid setting {0}: {1}")]
    Invalid(&'static str, String),
}

impl Config {
    /// Defaults ← file ← env/flags.
    pub fn resolve(flags: &ServeFlags) -> Result<Self, ConfigError> {
        let mut c = match &flags.config {
            Some(path) => {
                let raw = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.clone(), e))?;
                toml::from_str(&raw).map_err(|e| ConfigError::Parse(path.clone(), e))?
            }
            None => Config::default(),
        };
        macro_rules! take {
            ($($f:ident),+) => { $(if let Some(v) = &flags.$f { c.$f = v.clone().into(); })+ };
        }
        take!(
            listen,
            metrics_listen,
            redis_urls,
            redis_cluster,
            manifest,
            scoring_threads,
            max_batch,
            tokens_file,
            log_format,
            log_filter
        );
        if let Some(p) = &flags.ort_library {
            c.ort_library = Some(p.clone());
        }
        if let Some(s) = flags.offer_sla_secs {
            c.routing.offer_sla = Duration::from_secs(s);
        }
        if let Some(s) = flags.lease_secs {
            c.routing.lease_default = Duration::from_secs(s);
        }
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.redis_urls.is_empty() {
            return Err(ConfigError::Invalid(
                "redis_urls",
                "at least one URL".into(),
            ));
        }
        if !matches!(self.log_format.as_str(), "json" | "pretty") {
            return Err(ConfigError::Invalid(
                "log_format",
                format!("{:?} (json or pretty)", self.log_format),
            ));
        }
        if self.scoring_threads == 0 || self.max_batch == 0 {
            return Err(ConfigError::Invalid(
                "scoring_threads/max_batch",
                "must be at least 1".into(),
            ));
        }
        for (campaign, t) in &self.campaign_thresholds {
            if !(0.0..=1.0).contains(&t.medium) || !(t.medium..=1.0).contains(&t.high) {
                return Err(ConfigError::Invalid(
                    "campaign_thresholds",
                    format!("{campaign}: need 0 ≤ medium ≤ high ≤ 1"),
                ));
            }
        }
        if self.routing.lease_default > self.routing.lease_max {
            return Err(ConfigError::Invalid(
                "routing.lease_default",
                "longer than routing.lease_max".into(),
            ));
        }
        Ok(())
    }

    /// Per-campaign thresholds, with campaign ids validated.
    pub fn campaign_thresholds(&self) -> anyhow::Result<HashMap<CampaignId, Thresholds>> {
        self.campaign_thresholds
            .iter()
            .map(|(c, t)| {
                let id = CampaignId::parse(c.as_str())
                    .map_err(|e| anyhow::anyhow!("campaign_thresholds.{c}: {e}"))?;
                Ok((id, *t))
            })
            .collect()
    }

    /// The config as it is logged at start: passwords in Redis URLs hidden.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        c.redis_urls = c.redis_urls.iter().map(|u| redact_url(u)).collect();
        c
    }
}

/// `redis://user:secret@host` → `redis://user:***@host`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((auth, host)) => match auth.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://***@{host}"),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("redis://:s3cret@db:6379"),
            "redis://:***@db:6379"
        );
        assert_eq!(
            redact_url("redis://app:s3cret@db:6379/0"),
            "redis://app:***@db:6379/0"
        );
        assert_eq!(redact_url("redis://db:6379"), "redis://db:6379");
        let c = Config {
            redis_urls: vec!["redis://:pw@x:1".into()],
            ..Config::default()
        };
        assert!(!format!("{:?}", c.redacted()).contains("pw"));
    }

    #[test]
    fn flags_override_file_and_validation_names_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.toml");
        std::fs::write(
            &file,
            "max_batch = 16\nlog_format = \"json\"\n[routing]\nmax_attempts = 5\n",
        )
        .unwrap();
        let flags = ServeFlags {
            config: Some(file.clone()),
            max_batch: Some(32),
            ..Default::default()
        };
        let c = Config::resolve(&flags).unwrap();
        assert_eq!(
            (c.max_batch, c.log_format.as_str(), c.routing.max_attempts),
            (32, "json", 5)
        );
        std::fs::write(&file, "log_format = \"xml\"\n").unwrap();
        let err = Config::resolve(&ServeFlags {
            config: Some(file),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("log_format"), "{err}");
    }
}
