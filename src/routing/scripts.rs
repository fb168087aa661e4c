//! The Lua scripts, each in its own `.lua` file under `lua/`, with the shared
//! prelude `common.lua` prepended. `redis::Script` sends EVALSHA and loads the
//! script on NOSCRIPT by itself (also after a server restart).

use redis::Script;

const COMMON: &str = include_str!("lua/common.lua");

pub(crate) struct Scripts {
    pub ingest: Script,
    pub pull: Script,
    pub lease: Script,
    pub referral: Script,
    pub manager: Script,
    pub sweep: Script,
    pub stats: Script,
    pub handoff_out: Script,
    pub handoff_in: Script,
    pub handoff_done: Script,
}

fn with_prelude(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

impl Scripts {
    pub fn load() -> Self {
        Self {
            ingest: with_prelude(include_str!("lua/ingest.lua")),
            pull: with_prelude(include_str!("lua/pull.lua")),
            lease: with_prelude(include_str!("lua/lease.lua")),
            referral: with_prelude(include_str!("lua/referral.lua")),
            manager: with_prelude(include_str!("lua/manager.lua")),
            sweep: with_prelude(include_str!("lua/sweep.lua")),
            stats: with_prelude(include_str!("lua/stats.lua")),
            handoff_out: with_prelude(include_str!("lua/handoff_out.lua")),
            handoff_in: with_prelude(include_str!("lua/handoff_in.lua")),
            handoff_done: with_prelude(include_str!("lua/handoff_done.lua")),
        }
    }
}
