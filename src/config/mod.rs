//! One typed configuration for `funnel serve`, layered with figment:
//! defaults → TOML file (`--config`) → `FUNNEL_*` environment variables
//! (nested keys joined by `__`: `FUNNEL_ROUTING__OFFER_SLA=45m`) → flags
//! (a few common ones, plus `--set key=value` for any field). Durations are
//! human: `"250ms"`, `"30m"`, `"7days"`. Every field is documented here.

mod registry;

pub use registry::{RegistryConfig, RegistrySeed};

use crate::domain::limits::Limits;
use crate::domain::pii::PrivacyConfig;
use crate::domain::{CampaignId, Thresholds};
use crate::routing::RoutingConfig;
use crate::tls::{RedisTlsConfig, TlsConfig};
use crate::web::WebConfig;
use crate::webhooks::WebhooksConfig;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// HTTP listen address of `/metrics`, `/healthz` and `/readyz`.
    pub metrics_listen: SocketAddr,
    /// When set, `/metrics` wants `Authorization: Bearer <token>` (the
    /// probes stay open). Redacted in the start-up log.
    pub metrics_token: Option<String>,
    /// Redis URLs: one for a single server, the seed nodes for a cluster.
    /// May carry a password (`redis://:secret@host:6379`); it is redacted in
    /// logs. A single string is one URL.
    #[serde(deserialize_with = "one_or_many")]
    pub redis_urls: Vec<String>,
    /// Talk to a Redis Cluster.
    pub redis_cluster: bool,
    /// Certificates for `rediss://` URLs (a private CA, a client certificate).
    pub redis_tls: RedisTlsConfig,
    /// Per-command Redis response timeout.
    #[serde(with = "humantime_serde")]
    pub redis_timeout: Duration,
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
    /// Interactions being submitted at once (scoring and Redis); beyond it a
    /// submission is refused at once with RESOURCE_EXHAUSTED, not queued.
    pub max_in_flight: usize,
    /// Reasons reported per direction (up and down).
    pub reasons_per_side: usize,
    /// Probability at which an intent (asks for a human, complaint) counts.
    pub intent_threshold: f64,
    /// Per-campaign bucket thresholds (campaign id → high/medium); others use
    /// the model manifest's defaults.
    pub campaign_thresholds: HashMap<String, Thresholds>,
    /// Bearer-token file (see README: token hashes → principals).
    pub tokens_file: PathBuf,
    /// TLS on the gRPC port and the workbench; optional mutual TLS.
    pub tls: TlsConfig,
    /// Lead lifecycle tunables (SLA, leases, incubation, key prefix...).
    pub routing: RoutingConfig,
    /// Regions and branches registered at start; the default region.
    pub registry: RegistryConfig,
    /// The managers' workbench (web pages and their JSON API).
    pub web: WebConfig,
    /// OpenTelemetry trace export over OTLP/gRPC (off by default).
    pub otlp: crate::telemetry::otlp::OtlpConfig,
    /// Signed POSTs to the bank's endpoints (referral offers, SLA breaches).
    pub webhooks: WebhooksConfig,
    /// Personal data masked before anything is stored, scored or logged.
    pub privacy: PrivacyConfig,
    /// What one call, note or reason may bring.
    pub limits: Limits,
    /// How often the deadline sweeper runs.
    #[serde(with = "humantime_serde")]
    pub sweep_interval: Duration,
    /// Most deadlines of one kind handled per region per sweep.
    pub sweep_batch: u32,
    /// Referral watchers are pushed changes (Redis pub/sub); as a fallback
    /// they also re-read pending offers this often.
    #[serde(with = "humantime_serde")]
    pub watch_poll: Duration,
    /// Queue-depth gauges refresh interval.
    #[serde(with = "humantime_serde")]
    pub stats_interval: Duration,
    /// How long a manager may still read (GetLead) a lead it closed, e.g. to
    /// check the outcome of a call whose answer was lost.
    #[serde(with = "humantime_serde")]
    pub closed_lead_readable_for: Duration,
    /// Items of a streaming upload read ahead of their results (back-pressure).
    pub stream_window: usize,
    /// Longest wait for in-flight requests on shutdown.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
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
            metrics_token: None,
            redis_urls: vec!["redis://127.0.0.1:6379".into()],
            redis_cluster: false,
            redis_tls: RedisTlsConfig::default(),
            redis_timeout: Duration::from_secs(2),
            manifest: "models/manifest.json".into(),
            ort_library: None,
            scoring_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            onnx_threads: 1,
            max_batch: 64,
            scoring_queue: 1024,
            max_in_flight: 256,
            reasons_per_side: 3,
            intent_threshold: 0.5,
            campaign_thresholds: HashMap::new(),
            tokens_file: "config/tokens.toml".into(),
            tls: TlsConfig::default(),
            routing: RoutingConfig::default(),
            registry: RegistryConfig::default(),
            web: WebConfig::default(),
            otlp: Default::default(),
            webhooks: WebhooksConfig::default(),
            privacy: PrivacyConfig::default(),
            limits: Limits::default(),
            sweep_interval: Duration::from_secs(1),
            sweep_batch: 500,
            watch_poll: Duration::from_secs(1),
            closed_lead_readable_for: Duration::from_secs(24 * 3600),
            stats_interval: Duration::from_secs(10),
            stream_window: 256,
            shutdown_grace: Duration::from_secs(30),
            log_format: "pretty".into(),
            log_filter: "info".into(),
        }
    }
}

/// Flags of `funnel serve`: the common fields by name, any field by `--set`.
/// Each overrides the file and the environment.
#[derive(Debug, Clone, Default, clap::Args, Serialize)]
pub struct ServeFlags {
    /// TOML config file.
    #[arg(long, env = "FUNNEL_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// gRPC listen address.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// HTTP address of /metrics, /healthz and /readyz.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
    /// Comma-separated Redis URLs.
    #[arg(long, value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_urls: Option<Vec<String>>,
    /// The model manifest.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<PathBuf>,
    /// Bearer-token file.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_file: Option<PathBuf>,
    /// json or pretty.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// Log filter (tracing EnvFilter syntax).
    #[arg(long, visible_alias = "log")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_filter: Option<String>,
    /// Any field by its dotted key, the value as TOML (a bare word is a
    /// string): `--set routing.offer_sla=45m --set redis_cluster=true`.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    #[serde(skip)]
    pub set: Vec<(String, toml::Value)>,
}

/// `key=value` of `--set`.
pub fn parse_set(arg: &str) -> Result<(String, toml::Value), String> {
    let (key, raw) = arg
        .split_once('=')
        .ok_or_else(|| format!("{arg:?}: expected KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!("{arg:?}: bad key"));
    }
    // A TOML value if it is one, else the text itself, so that strings need
    // no quotes on a command line (`--set log_format=json`).
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .filter(|t| t.len() == 1)
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    Ok((key.to_string(), value))
}

/// A layer named our way in errors, with its keys spelled as the user
/// wrote them (figment would name `Serialized` after its Rust type and
/// prefix keys with the profile).
struct Layer<P> {
    name: &'static str,
    spell: fn(&[&str]) -> String,
    provider: P,
}

impl<P: Provider> Provider for Layer<P> {
    fn metadata(&self) -> Metadata {
        let spell = self.spell;
        let mut md = self
            .provider
            .metadata()
            .interpolater(move |_, keys| spell(keys));
        md.name = self.name.into();
        // A file is worth naming; figment's code locations are not.
        md.source = md.source.filter(|s| matches!(s, Source::File(_)));
        md
    }

    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        self.provider.data()
    }
}

fn dotted(keys: &[&str]) -> String {
    keys.join(".")
}

/// `FUNNEL_*` variables that are not config fields: the client verbs' and
/// the test and bench scripts' own.
const NOT_CONFIG_ENV: &[&str] = &[
    "config",
    "addr",
    "token",
    "tls_ca",
    "tls_cert",
    "tls_key",
    "bench_leads",
    "bench_commandstats",
    "fault_kills",
    "fault_replica_kills",
    "fuzz_cases",
    "fuzz_seed",
    "soak_calls",
    "scale_leads",
    "scale_managers",
    "skip_training_check",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error(transparent)]
    Layer(#[from] Box<figment::Error>),
    #[error("unknown setting {key} (from {from})")]
    Unknown { key: String, from: String },
    #[error("invalid setting {0}: {1}")]
    Invalid(&'static str, String),
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        Self::Layer(Box::new(e))
    }
}

impl Config {
    /// Defaults ← file ← env ← flags, checked.
    pub fn resolve(flags: &ServeFlags) -> Result<Self, ConfigError> {
        let mut layers = Figment::from(Layer {
            name: "defaults",
            spell: dotted,
            provider: Serialized::defaults(Config::default()),
        });
        if let Some(path) = &flags.config {
            // figment reads a missing file as empty; a named one must exist.
            std::fs::metadata(path).map_err(|e| ConfigError::Read(path.clone(), e))?;
            layers = layers.merge(Layer {
                name: "TOML file",
                spell: dotted,
                provider: Toml::file_exact(path),
            });
        }
        layers = layers
            .merge(Layer {
                name: "environment",
                spell: |k| format!("FUNNEL_{}", k.join("__").to_ascii_uppercase()),
                provider: Env::prefixed("FUNNEL_").split("__").ignore(NOT_CONFIG_ENV),
            })
            .merge(Layer {
                name: "flags",
                spell: |k| format!("--{}", dotted(k).replace('_', "-")),
                provider: Serialized::defaults(flags),
            });
        for (key, value) in &flags.set {
            layers = layers.merge(Layer {
                name: "flags",
                spell: |k| format!("--set {}", dotted(k)),
                provider: Serialized::default(key, value),
            });
        }
        let config: Config = layers.extract()?;
        reject_unknown(&layers, &config)?;
        config.validate()?;
        Ok(config)
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
        // Timers tick at these intervals: zero would panic or spin.
        for (key, d) in [
            ("sweep_interval", self.sweep_interval),
            ("stats_interval", self.stats_interval),
            ("watch_poll", self.watch_poll),
        ] {
            if d.is_zero() {
                return Err(ConfigError::Invalid(key, "must be longer than 0".into()));
            }
        }
        for (campaign, t) in &self.campaign_thresholds {
            if !(0.0..=1.0).contains(&t.medium) || !(t.medium..=1.0).contains(&t.high) {
                return Err(ConfigError::Invalid(
                    "campaign_thresholds",
                    format!("{campaign}: need 0 ≤ medium ≤ high ≤ 1"),
                ));
            }
        }
        self.webhooks
            .validate()
            .map_err(|e| ConfigError::Invalid("webhooks.sinks", e))?;
        if self.limits.max_turns == 0 || self.limits.transcript_chars == 0 {
            return Err(ConfigError::Invalid(
                "limits",
                "max_turns and transcript_chars must be at least 1".into(),
            ));
        }
        self.tls
            .load()
            .map_err(|e| ConfigError::Invalid("tls", e.to_string()))?;
        self.redis_tls
            .load()
            .map_err(|e| ConfigError::Invalid("redis_tls", e.to_string()))?;
        crate::domain::pii::Masker::new(&self.privacy)
            .map_err(|e| ConfigError::Invalid("privacy", e.to_string()))?;
        self.routing
            .validate()
            .map_err(|(key, why)| ConfigError::Invalid(key, why))?;
        self.registry
            .seed()
            .map_err(|e| ConfigError::Invalid("registry", e.to_string()))?;
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
        for sink in &mut c.webhooks.sinks {
            sink.secret = "***".into();
        }
        if c.metrics_token.is_some() {
            c.metrics_token = Some("***".into());
        }
        c
    }
}

/// Fails on a key that no field took. serde drops unknown keys of nested
/// tables unless each struct denies them, so compare the given keys with
/// those of the result serialized back, at every depth.
fn reject_unknown(layers: &Figment, config: &Config) -> Result<(), ConfigError> {
    fn first_unknown(given: &Dict, known: &Dict, path: &mut Vec<String>) -> bool {
        for (key, value) in given {
            path.push(key.clone());
            match (value, known.get(key)) {
                (_, None) => return true,
                (Value::Dict(_, g), Some(Value::Dict(_, k))) if first_unknown(g, k, path) => {
                    return true
                }
                _ => {}
            }
            path.pop();
        }
        false
    }
    let given: Dict = layers.extract()?;
    let known = Value::serialize(config)?
        .into_dict()
        .expect("a struct serializes to a dict");
    let mut path = Vec::new();
    if !first_unknown(&given, &known, &mut path) {
        return Ok(());
    }
    let key = path.join(".");
    let from = match layers.find_metadata(&key) {
        Some(md) => match &md.source {
            Some(file) => format!("{} {file}", md.name),
            None => md.interpolate(&Profile::Default, &path),
        },
        None => "?".into(),
    };
    Err(ConfigError::Unknown { key, from })
}

/// A list, or a single string as a list of one.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// `redis://user:secret@host` → `redis://user:***@host`. Parsed as a URL
/// (the user info ends at the last '@'), so no part of a password with '@'
/// in it leaks; `?pass=`/`?password=` (Unix-socket URLs) are hidden too.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return "<unparsable URL>".into();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let secret = |k: &str| matches!(k, "pass" | "password");
    if url.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) { "***".into() } else { v.into() };
                (k.into(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

// figment's test jail returns its large error type by value.
#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests;
