//! The Rust↔Lua contract. Each operation is one script under `lua/`, built
//! from its `--- @include "name"` lines (shared functions under
//! `lua/includes/`, each included once, in order), with every `KEY.<part>`
//! replaced by the part's name from `keys.rs`. A script gets ONE JSON argument with named fields and answers
//! `{"ok": reply}` or `{"err": code, "msg": text}`; replies deserialize
//! straight into Rust types and codes into [`ScriptErrorCode`].
//! `redis::Script` sends EVALSHA and loads the script on NOSCRIPT by itself.

use super::{keys, Actor, Router, RoutingError};
use crate::domain::RegionId;
use redis::Script;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

const INCLUDES: &[(&str, &str)] = &[
    ("prelude", include_str!("lua/includes/prelude.lua")),
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

/// Expands `--- @include "name"` lines and `KEY.<part>` names, after the
/// configuration's `CFG` table (`cfg`); panics on an unknown include or part
/// (a build-time mistake, caught by the first test that loads the scripts).
fn expand(body: &str, cfg: &str) -> String {
    let mut out = String::from(cfg);
    let mut seen: Vec<&str> = Vec::new();
    for line in body.lines() {
        match line
            .strip_prefix("--- @include \"")
            .and_then(|l| l.strip_suffix('"'))
        {
            Some(name) if seen.contains(&name) => {}
            Some(name) => {
                let (_, src) = INCLUDES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .unwrap_or_else(|| panic!("unknown Lua include {name:?}"));
                out.push_str(src);
                out.push('\n');
                seen.push(name);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    key_parts(&out)
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

macro_rules! scripts {
    ($($name:ident),+ $(,)?) => {
        /// Every script, built once per process.
        pub(crate) struct Scripts { $(pub $name: Script),+ }
        impl Scripts {
            /// Every script with `cfg` (the `CFG` table) built in.
            pub fn load(cfg: &str) -> Self {
                Self { $($name: Script::new(&expand(include_str!(concat!("lua/", stringify!($name), ".lua")), cfg))),+ }
            }
        }
    };
}

scripts!(
    ingest,
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
    queue_stats,
    get_lead,
    pending_offers,
    my_work,
    customer_set,
    list_leads,
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
        script: &Script,
        region: &RegionId,
        actor: &Actor,
        args: &A,
    ) -> Result<R, RoutingError> {
        let shard = self.keys.shard(region);
        self.invoke_at(script, shard.anchor(), actor, args).await
    }

    /// Runs `script` with `anchor` as its `KEYS[1]` (a region's shard or a
    /// customer's).
    pub(crate) async fn invoke_at<A: Serialize, R: DeserializeOwned>(
        &self,
        script: &Script,
        anchor: &str,
        actor: &Actor,
        args: &A,
    ) -> Result<R, RoutingError> {
        self.invoke_with(script, anchor, actor, args, &[]).await
    }

    /// As [`Router::invoke_at`], with opaque payloads (stored documents the
    /// script keeps but never reads) as `ARGV[2..]`, so Redis does not parse
    /// them as part of the arguments.
    pub(crate) async fn invoke_with<A: Serialize, R: DeserializeOwned>(
        &self,
        script: &Script,
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
        let mut conn = self.conn.clone();
        let mut invocation = script.key(anchor);
        invocation.arg(call);
        for p in payloads {
            invocation.arg(*p);
        }
        let raw: String = invocation.invoke_async(&mut conn).await?;
        decode(&raw)
    }
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
    fn includes_expand_once_in_order_with_key_parts_named() {
        let s = expand(
            "--- @include \"prelude\"\n--- @include \"prelude\"\nreturn k(KEY.lead, 'x')\n",
            "local CFG = {}\n",
        );
        assert!(s.starts_with("local CFG = {}\n-- Shared by every script"));
        assert_eq!(s.matches("local CALL = cjson.decode").count(), 1);
        assert!(s.trim_end().ends_with("return k('lead', 'x')"));
        assert!(!s.contains("KEY.lead") && !s.contains("KEY.offers_channel"));
    }

    #[test]
    #[should_panic(expected = "unknown key part KEY.nope")]
    fn an_unknown_key_part_is_refused() {
        expand("return KEY.nope\n", "");
    }

    #[test]
    fn every_script_builds() {
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
