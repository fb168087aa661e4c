//! The Rust↔Lua contract. Each operation is one file under `lua/` naming
//! the shared code it uses with `--- @include "name"` lines (files under
//! `lua/includes/`). All of them are built into ONE Redis function library:
//! the configuration's `CFG` table, every include once, in order, then each
//! operation registered as a function; every `KEY.<part>` is replaced by the
//! part's name from `keys.rs`. The shared code is thus compiled and set up
//! once per Redis server, not on every call as with EVAL (about 5 µs per
//! call, measured with `benches/routing.rs`).
//!
//! An operation gets ONE JSON argument with named fields and answers
//! `{"ok": reply}` or `{"err": code, "msg": text}`; replies deserialize
//! straight into Rust types and codes into [`ScriptErrorCode`]. The library
//! is loaded (`FUNCTION LOAD REPLACE`, on every primary of a cluster) the
//! first time a call finds it missing, e.g. after a restart without
//! persistence; its name and its functions' names carry a hash of its text,
//! so replicas with another configuration or version load their own.

use super::{keys, Actor, Router, RoutingError};
use crate::domain::RegionId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

const INCLUDES: &[(&str, &str)] = &[
    ("prelude", include_str!("lua/includes/prelude.lua")),
    ("counters", include_str!("lua/includes/counters.lua")),
    ("audit", include_str!("lua/includes/audit.lua")),
    ("places", include_str!("lua/includes/places.lua")),
    ("offline", include_str!("lua/includes/offline.lua")),
    ("lifecycle", include_str!("lua/includes/lifecycle.lua")),
    ("lease", include_str!("lua/includes/lease.lua")),
    ("offer", include_str!("lua/includes/offer.lua")),
    ("record", include_str!("lua/includes/record.lua")),
    ("managers", include_str!("lua/includes/managers.lua")),
    ("sweep", include_str!("lua/includes/sweep.lua")),
    ("view", include_str!("lua/includes/view.lua")),
    ("memory", include_str!("lua/includes/memory.lua")),
];

/// An operation's body without its `--- @include` lines; panics on an
/// unknown include (a build-time mistake, caught by the first test that
/// builds the library).
fn body(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    for line in src.lines() {
        match line
            .strip_prefix("--- @include \"")
            .and_then(|l| l.strip_suffix('"'))
        {
            Some(name) => {
                if !INCLUDES.iter().any(|(n, _)| *n == name) {
                    panic!("unknown Lua include {name:?}");
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The library's text for `cfg` (the `CFG` table) and `ops` (name, source),
/// and the hash that names it and its functions.
fn library(cfg: &str, ops: &[(&str, &str)]) -> (String, String) {
    let mut code = String::from(cfg);
    for (_, src) in INCLUDES {
        code.push_str(src);
        code.push('\n');
    }
    let bodies: Vec<(&str, String)> = ops.iter().map(|(n, src)| (*n, body(src))).collect();
    let mut hash = Sha256::new();
    hash.update(code.as_bytes());
    for (name, b) in &bodies {
        hash.update(name.as_bytes());
        hash.update(b.as_bytes());
    }
    let tag = hex::encode(&hash.finalize()[..6]);
    let mut text = format!("#!lua name=funnel_{tag}\n{code}");
    for (name, b) in &bodies {
        text.push_str(&format!(
            "redis.register_function('{name}_{tag}', function(keys, argv)\nbegin(keys, argv)\n\
             local reply = (function()\n{b}end)()\nflush_counts()\nreturn reply\nend)\n"
        ));
    }
    (key_parts(&text), tag)
}

/// Replaces each `KEY.<part>` with the part's name as a Lua string.
fn key_parts(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(at) = rest.find("KEY.") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 4..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 {
            // Not a name (e.g. `KEY.<part>` in a comment).
            out.push_str("KEY.");
            rest = after;
            continue;
        }
        let part = keys::lua_part(&after[..len])
            .unwrap_or_else(|| panic!("unknown key part KEY.{}", &after[..len]));
        out.push('\'');
        out.push_str(part);
        out.push('\'');
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// One operation of the library, called by its registered name.
pub(crate) struct Function {
    name: String,
}

macro_rules! scripts {
    ($($name:ident),+ $(,)?) => {
        /// Every operation, and the library they are loaded from; built once
        /// per process.
        pub(crate) struct Scripts {
            /// `FUNCTION LOAD`'s argument.
            library: String,
            $(pub $name: Function),+
        }
        impl Scripts {
            /// Every operation with `cfg` (the `CFG` table) built in.
            pub fn load(cfg: &str) -> Self {
                let ops = [$((stringify!($name), include_str!(concat!("lua/", stringify!($name), ".lua")))),+];
                let (library, tag) = library(cfg, &ops);
                Self {
                    library,
                    $($name: Function { name: format!("{}_{tag}", stringify!($name)) }),+
                }
            }
        }
    };
}

scripts!(
    ingest,
    replay,
    pull,
    complete_lead,
    release_lead,
    extend_lease,
    escalate_lead,
    accept_referral,
    decline_referral,
    complete_referral,
    upsert_manager,
    set_availability,
    sweep_offers,
    sweep_accepted,
    sweep_leases,
    sweep_callbacks,
    sweep_unassigned,
    sweep_retry,
    sweep_incubation,
    sweep_expiring,
    sweep_retire,
    queue_stats,
    get_lead,
    pending_offers,
    my_work,
    customer_set,
    list_leads,
    scan_leads,
);

/// Why a script refused, as enumerated in `lua/includes/prelude.lua`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptErrorCode {
    NotFound,
    /// The lead is not (and never was) the caller's.
    NotOwner,
    /// The caller's lease ran out or was released.
    LeaseLost,
    /// The caller's offer moved on (declined, timed out, withdrawn).
    OfferGone,
    WrongState,
    /// The manager is marked unavailable.
    Unavailable,
    /// The manager is not registered in the shard.
    NotRegistered,
    /// The manager is not qualified for the lead's product.
    NotQualified,
    InvalidArgument,
}

/// A script's refusal: its code and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{msg}")]
pub struct ScriptError {
    pub code: ScriptErrorCode,
    pub msg: String,
}

#[derive(Serialize)]
struct Call<'a, A> {
    #[serde(skip_serializing_if = "Option::is_none")]
    now: Option<i64>,
    actor: &'a str,
    args: &'a A,
}

/// A script's answer before its `ok` part is typed. (Not an untagged enum:
/// serde would buffer the whole reply and try each variant in turn.)
#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow, default)]
    ok: Option<&'a RawValue>,
    #[serde(default)]
    err: Option<ScriptErrorCode>,
    #[serde(default)]
    msg: String,
}

/// Decodes a script's answer: its typed `ok` part, or its refusal.
fn decode<R: DeserializeOwned>(raw: &str) -> Result<R, RoutingError> {
    let protocol = |e: serde_json::Error| RoutingError::Protocol(format!("{e}: {raw}"));
    let reply: Reply = serde_json::from_str(raw).map_err(protocol)?;
    match (reply.ok, reply.err) {
        (_, Some(code)) => Err(RoutingError::Rejected(ScriptError {
            code,
            msg: reply.msg,
        })),
        (Some(ok), None) => serde_json::from_str(ok.get()).map_err(protocol),
        // Lua's cjson drops a nil `ok`: the reply is `{}`.
        (None, None) => serde_json::from_str("null").map_err(protocol),
    }
}

impl Router {
    /// Runs `script` on `region`'s shard with named `args`.
    pub(crate) async fn invoke<A: Serialize, R: DeserializeOwned>(
        &self,
        function: &Function,
        region: &RegionId,
        actor: &Actor,
        args: &A,
    ) -> Result<R, RoutingError> {
        let shard = self.keys.shard(region);
        self.invoke_at(function, shard.anchor(), actor, args).await
    }

    /// Runs `script` with `anchor` as its `KEYS[1]` (a region's shard or a
    /// customer's).
    pub(crate) async fn invoke_at<A: Serialize, R: DeserializeOwned>(
        &self,
        function: &Function,
        anchor: &str,
        actor: &Actor,
        args: &A,
    ) -> Result<R, RoutingError> {
        self.invoke_with(function, anchor, actor, args, &[]).await
    }

    /// As [`Router::invoke_at`], with opaque payloads (stored documents the
    /// script keeps but never reads) as `ARGV[2..]`, so Redis does not parse
    /// them as part of the arguments.
    pub(crate) async fn invoke_with<A: Serialize, R: DeserializeOwned>(
        &self,
        function: &Function,
        anchor: &str,
        actor: &Actor,
        args: &A,
        payloads: &[&str],
    ) -> Result<R, RoutingError> {
        let actor = actor.audit_name();
        let call = serde_json::to_string(&Call {
            now: self.test_clock.then(|| self.now_ms()),
            actor: &actor,
            args,
        })
        .map_err(|e| RoutingError::Protocol(format!("cannot encode arguments: {e}")))?;
        let mut fcall = redis::cmd("FCALL");
        fcall.arg(&function.name).arg(1).arg(anchor).arg(call);
        for p in payloads {
            fcall.arg(*p);
        }
        let mut conn = self.conn.clone();
        // Missing again after loading it: someone flushed functions in between.
        let mut loads = 0;
        let raw: String = loop {
            match fcall.query_async(&mut conn).await {
                Err(e) if missing_function(&e) && loads < 3 => {
                    self.load_library().await?;
                    loads += 1;
                }
                other => break other?,
            }
        };
        decode(&raw)
    }

    /// Loads (or replaces) the library on the server, on every primary of a
    /// cluster. Idempotent: concurrent calls that all found it missing load
    /// the same text.
    async fn load_library(&self) -> Result<(), RoutingError> {
        let mut conn = self.conn.clone();
        let _: redis::Value = redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg("REPLACE")
            .arg(&self.scripts.library)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }
}

/// The server does not have the library (first use, or a restart without
/// persistence).
fn missing_function(e: &redis::RedisError) -> bool {
    e.detail()
        .is_some_and(|d| d.starts_with("Function not found"))
}

/// Lua's cjson encodes an empty array as `{}`: read either as a list.
pub(crate) fn lua_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrEmpty<T> {
        List(Vec<T>),
        Empty(serde_json::Map<String, serde_json::Value>),
    }
    match ListOrEmpty::<T>::deserialize(d)? {
        ListOrEmpty::List(v) => Ok(v),
        ListOrEmpty::Empty(m) if m.is_empty() => Ok(Vec::new()),
        ListOrEmpty::Empty(_) => Err(serde::de::Error::custom("expected a list")),
    }
}

/// An optional id that Lua may send as `""`.
pub(crate) fn nonempty<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String>,
    T::Error: std::fmt::Display,
{
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => T::try_from(s).map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_has_every_include_once_then_each_operation_named_by_its_hash() {
        let ops = [("one", "--- @include \"prelude\"\nreturn k(KEY.lead, 'x')\n")];
        let (text, tag) = library("local CFG = {}\n", &ops);
        assert!(text.starts_with(&format!(
            "#!lua name=funnel_{tag}\nlocal CFG = {{}}\n-- Shared by every"
        )));
        assert_eq!(text.matches("local function begin").count(), 1);
        assert!(text.contains(&format!(
            "redis.register_function('one_{tag}', function(keys, argv)\nbegin(keys, argv)\n\
             local reply = (function()\nreturn k('lead', 'x')\nend)()\nflush_counts()\nreturn reply\nend)"
        )));
        assert!(!text.contains("KEY.lead") && !text.contains("@include"));
        // Another configuration is another library.
        let (_, other) = library("local CFG = {x = 1}\n", &ops);
        assert_ne!(tag, other);
    }

    #[test]
    #[should_panic(expected = "unknown key part KEY.nope")]
    fn an_unknown_key_part_is_refused() {
        library("", &[("x", "return KEY.nope\n")]);
    }

    #[test]
    #[should_panic(expected = "unknown Lua include")]
    fn an_unknown_include_is_refused() {
        library("", &[("x", "--- @include \"nope\"\n")]);
    }

    #[test]
    fn every_operation_builds() {
        Scripts::load(&crate::routing::RoutingConfig::default().script_lua());
    }

    #[test]
    fn replies_decode_into_types_and_codes() {
        assert_eq!(decode::<u32>(r#"{"ok": 3}"#).unwrap(), 3);
        assert_eq!(decode::<Option<u32>>("{}").unwrap(), None);
        match decode::<u32>(r#"{"err": "lease_lost", "msg": "gone"}"#) {
            Err(RoutingError::Rejected(e)) => {
                assert_eq!(e.code, ScriptErrorCode::LeaseLost);
                assert_eq!(e.msg, "gone");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // A code Rust does not know is a contract violation, not a guess.
        assert!(matches!(
            decode::<u32>(r#"{"err": "oops", "msg": ""}"#),
            Err(RoutingError::Protocol(_))
        ));
        // So is an `ok` of the wrong type.
        assert!(matches!(
            decode::<u32>(r#"{"ok": "three"}"#),
            Err(RoutingError::Protocol(_))
        ));
    }
}
