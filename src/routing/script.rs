//! The Rust↔Lua contract. Each operation is one script under `lua/`, built
//! from its `--- @include "name"` lines (shared functions under
//! `lua/includes/`, each included once, in order) after the generated `KEY`
//! table. A script gets ONE JSON argument with named fields and answers
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

/// Expands `--- @include "name"` lines; panics on an unknown include (a
/// build-time mistake, caught by the first test that loads the scripts).
fn expand(body: &str) -> String {
    let mut out = keys::lua_table();
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
    out
}

macro_rules! scripts {
    ($($name:ident),+ $(,)?) => {
        /// Every script, built once per process.
        pub(crate) struct Scripts { $(pub $name: Script),+ }
        impl Scripts {
            pub fn load() -> Self {
                Self { $($name: Script::new(&expand(include_str!(concat!("lua/", stringify!($name), ".lua"))))),+ }
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
    cfg: &'a RawValue,
    args: &'a A,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Reply<T> {
    Ok { ok: T },
    Err { err: ScriptErrorCode, msg: String },
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
            cfg: &self.cfg_json,
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
        match serde_json::from_str::<Reply<R>>(&raw) {
            Ok(Reply::Ok { ok }) => Ok(ok),
            Ok(Reply::Err { err, msg }) => {
                Err(RoutingError::Rejected(ScriptError { code: err, msg }))
            }
            Err(e) => Err(RoutingError::Protocol(format!("{e}: {raw}"))),
        }
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
    fn includes_expand_once_in_order_after_the_key_table() {
        let s = expand("--- @include \"prelude\"\n--- @include \"prelude\"\nreturn 1\n");
        assert!(s.starts_with("local KEY = {"));
        assert_eq!(s.matches("local CALL = cjson.decode").count(), 1);
        assert!(s.trim_end().ends_with("return 1"));
    }

    #[test]
    fn replies_decode_into_types_and_codes() {
        let ok: Reply<u32> = serde_json::from_str(r#"{"ok": 3}"#).unwrap();
        assert!(matches!(ok, Reply::Ok { ok: 3 }));
        let err: Reply<u32> =
            serde_json::from_str(r#"{"err": "lease_lost", "msg": "gone"}"#).unwrap();
        assert!(matches!(
            err,
            Reply::Err {
                err: ScriptErrorCode::LeaseLost,
                ..
            }
        ));
        // A code Rust does not know is a contract violation, not a guess.
        assert!(serde_json::from_str::<Reply<u32>>(r#"{"err": "oops", "msg": ""}"#).is_err());
    }
}
