//! Every Redis key funnel uses, named once. The Rust callers and the
//! invariant checker build keys here; the Lua scripts write `KEY.<part>`,
//! which becomes the part's name when a script is built (see [`lua_part`]).
//!
//! The shard unit is a **region**: its branches, the remote team serving it,
//! their managers and the customers homed there. Every key of a region
//! carries the Redis Cluster hash tag `{<region>}`, e.g.
//! `funnel:{east}:lead:<id>`, and every script is called with
//! `KEYS[1] = "funnel:{east}"` and derives all its keys from it, so each
//! script touches ONE slot and the same code runs on one Redis or a cluster.
//!
//! | key (after `<prefix>:{<region>}:`) | type | what |
//! |---|---|---|
//! | `lead:<id>` | hash | the lead: ids, product, branch, state, owner, score, `place`, `deadline` |
//! | `hist:<id>` | list | the lead's audit trail, in order (JSON events) |
//! | `ix:<id>` | list | every interaction of the lead with its score (JSON) |
//! | `tried:<id>` / `offered:<id>` | set | offline managers offered the lead in this referral episode / ever |
//! | `done:<id>` | hash | results of calls on its leases and offers, by fence id (retries answer them) |
//! | `idem:<interaction>` | string | the recorded result of ingesting that interaction and where its record is in `ix` (`seq`; a replay answers that record), one JSON document (TTL) |
//! | `cmem:<customer>` | hash | the customer's record: open lead (`lead`), do-not-contact, complaint cool-off, recent sales hand-offs (`contacts`) |
//! | `pool:<product>` / `mq:<manager>` | zset | remote team pool / a manager's own queue, by priority |
//! | `offers:<m>` / `held:<m>` | zset | pending offers / leads held (accepted or leased) |
//! | `unassigned:<branch>:<product>` | zset | high leads with no eligible branch manager yet, per product |
//! | `unplaceable` | zset | leads no registered manager here could take (flagged with the reason) |
//! | `reengage` | zset | incubating leads due for re-engagement (until they leave incubation) |
//! | `qual` | hash | per `offline|<branch>|<product>` and `remote|<product>`: managers qualified |
//! | `incubation`, `callback`, `followup` | zset | incubation (by next review), call-backs (by time), service follow-ups |
//! | `dl:offer`, `dl:lease`, `dl:accepted`, `dl:unassigned` | zset | deadlines the sweeper runs |
//! | `cbdue:<m>` | zset | call-backs that came due into manager m's own queue, by when (an index for "my leads"; an entry whose lead left that queue is stale and dropped when seen) |
//! | `retry_scan` | string | the SSCAN cursor of `branches` where the periodic unassigned retry goes on |
//! | `expiring` | string | the latest offer deadline already warned of (`sweep_expiring`'s cursor; each offer's own `warned_offer` field fences a second warning) |
//! | `pulls:<m>:<request>` | string | a pull's answer, for its retries (TTL: the longest lease) |
//! | `mgr:<m>`, `managers`, `branch:<b>:offline`, `branches`, `leads` | hash / sets | managers, branches and leads of this shard |
//! | `qcount` | hash | per queue and bucket, the number of leads in it |
//! | `qage:pool:<product>` / `qage:mq:<m>` | zset | age index of a priority queue: its leads by when they were queued (its oldest is one ZRANGE away) |
//! | `seq:lease` | string | lease id counter |
//! | `audit` | stream | append-only audit stream of the shard (trimmed by length and by age) |
//! | `retire` | zset | closed leads, by when their retention ends (then the sweeper moves each into `outlog` and deletes its keys) |
//! | `outlog` | stream | the outcome log: one record per retired lead (its fields, history and interactions), until exported or too old |
//! | `fc:<day>:<dim>` | hash | the cockpit's funnel counters of a local day (days since 1970-01-01), per dimension `s` (region), `b` (branch), `p` (product), `c` (campaign), `m` (manager); fields `<stage>` or `<id>|<stage>` (`counters.lua`); expire after `counter_retention` |
//! | `exported` | string | the last outcome-log entry an admin acknowledged as exported |
//!
//! A customer's home region has a tag of its own: `<prefix>:{c:<customer>}:home`
//! (string, claimed on its first call; all of its leads live there) and
//! `:dnc` (an admin's do-not-contact for a customer not seen yet). The
//! customer's record (`cmem:<customer>`) lives in the home region's shard,
//! next to its leads.
//!
//! Outside any tag (single-key commands only, never inside a script):
//! `<prefix>:directory:managers` (manager → shards), `<prefix>:regions`
//! (regions holding data), `<prefix>:{registry}:regions` and
//! `<prefix>:{registry}:branches` (what an admin registered, `registry.rs`), and
//! the pub/sub channel `<prefix>:offers`.

use crate::domain::{BranchId, CustomerId, ManagerId, Product, RegionId};

/// Key-part names shared with Lua (`KEY.<name>`).
const PARTS: &[&str] = &[
    "lead",
    "hist",
    "ix",
    "tried",
    "offered",
    "idem",
    "pool",
    "mq",
    "offers",
    "held",
    "unassigned",
    "incubation",
    "callback",
    "followup",
    "dl",
    "offer",
    "lease",
    "mgr",
    "managers",
    "branch",
    "offline",
    "branches",
    "qcount",
    "seq",
    "audit",
    "done",
    "pulls",
    "accepted",
    "cmem",
    "qual",
    "unplaceable",
    "reengage",
    "expiring",
    "cbdue",
    "retire",
    "outlog",
    "exported",
    "qage",
    "retry_scan",
    "fc",
];
const OFFERS_CHANNEL: &str = "offers";

/// The key-part name `KEY.<name>` stands for in a script (`None`: no such
/// part, a mistake caught when the scripts are built). Substituted as a
/// literal, so no script builds a table on every call.
pub(crate) fn lua_part(name: &str) -> Option<&'static str> {
    if name == "offers_channel" {
        return Some(OFFERS_CHANNEL);
    }
    PARTS.iter().find(|p| **p == name).copied()
}

/// Key builder for one key prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    /// The customer's home region (claimed on its first call).
    pub fn customer_home(&self, c: &CustomerId) -> String {
        format!("{}:{{c:{}}}:home", self.prefix, c)
    }

    /// An admin's do-not-contact for a customer with no home region yet.
    pub fn customer_pending_dnc(&self, c: &CustomerId) -> String {
        format!("{}:{{c:{}}}:dnc", self.prefix, c)
    }

    /// The keys of one region's shard.
    pub fn shard(&self, region: &RegionId) -> ShardKeys {
        ShardKeys {
            anchor: format!("{}:{{{}}}", self.prefix, region),
        }
    }

    /// Manager → the shards it works in (JSON).
    pub fn directory(&self) -> String {
        format!("{}:directory:managers", self.prefix)
    }

    /// Registered regions (region → display name). Both registry keys share
    /// one hash tag, so they are read in one pipeline on a cluster too.
    pub fn registry_regions(&self) -> String {
        format!("{}:{{registry}}:regions", self.prefix)
    }

    /// Registered branches (branch → its region).
    pub fn registry_branches(&self) -> String {
        format!("{}:{{registry}}:branches", self.prefix)
    }

    /// Every region that has seen a lead or a manager.
    pub fn regions(&self) -> String {
        format!("{}:regions", self.prefix)
    }

    /// A capped log stream outside the shards (the webhook delivery log).
    pub fn log(&self, name: &str) -> String {
        format!("{}:log:{name}", self.prefix)
    }

    /// Pub/sub channel the scripts nudge offline managers' watchers on.
    pub fn offers_channel(&self) -> String {
        format!("{}:{OFFERS_CHANNEL}", self.prefix)
    }
}

/// The keys of one shard; `anchor()` is what scripts get as `KEYS[1]`.
#[derive(Debug, Clone)]
pub struct ShardKeys {
    anchor: String,
}

impl ShardKeys {
    pub fn anchor(&self) -> &str {
        &self.anchor
    }
    fn key(&self, parts: &[&str]) -> String {
        let mut s = self.anchor.clone();
        for p in parts {
            s.push(':');
            s.push_str(p);
        }
        s
    }
    pub fn lead(&self, id: &str) -> String {
        self.key(&["lead", id])
    }
    pub fn hist(&self, id: &str) -> String {
        self.key(&["hist", id])
    }
    pub fn ix(&self, id: &str) -> String {
        self.key(&["ix", id])
    }
    pub fn idem(&self, interaction: &str) -> String {
        self.key(&["idem", interaction])
    }
    pub fn pool(&self, p: Product) -> String {
        self.key(&["pool", p.as_str()])
    }
    pub fn personal_queue(&self, m: &str) -> String {
        self.key(&["mq", m])
    }
    pub fn offers(&self, m: &str) -> String {
        self.key(&["offers", m])
    }
    pub fn held(&self, m: &str) -> String {
        self.key(&["held", m])
    }
    pub fn unassigned(&self, b: &str, p: Product) -> String {
        self.key(&["unassigned", b, p.as_str()])
    }
    pub fn unplaceable(&self) -> String {
        self.key(&["unplaceable"])
    }
    /// Call-backs that came due into `m`'s own queue (lead → when).
    pub fn due_callbacks(&self, m: &str) -> String {
        self.key(&["cbdue", m])
    }
    /// Cursor of the "offer about to time out" sweep (a deadline, ms).
    pub fn expiring_cursor(&self) -> String {
        self.key(&["expiring"])
    }
    pub fn reengage(&self) -> String {
        self.key(&["reengage"])
    }
    pub fn incubation(&self) -> String {
        self.key(&["incubation"])
    }
    pub fn callback(&self) -> String {
        self.key(&["callback"])
    }
    pub fn followup(&self) -> String {
        self.key(&["followup"])
    }
    pub fn offer_deadlines(&self) -> String {
        self.key(&["dl", "offer"])
    }
    pub fn lease_deadlines(&self) -> String {
        self.key(&["dl", "lease"])
    }
    pub fn acceptance_deadlines(&self) -> String {
        self.key(&["dl", "accepted"])
    }
    pub fn unassigned_deadlines(&self) -> String {
        self.key(&["dl", "unassigned"])
    }
    pub fn manager(&self, m: &ManagerId) -> String {
        self.key(&["mgr", m.as_str()])
    }
    pub fn managers(&self) -> String {
        self.key(&["managers"])
    }
    pub fn branch_offline(&self, b: &BranchId) -> String {
        self.key(&["branch", b.as_str(), "offline"])
    }
    pub fn branches(&self) -> String {
        self.key(&["branches"])
    }
    /// The shard's append-only audit stream (read as the webhooks' outbox).
    pub fn audit(&self) -> String {
        self.key(&["audit"])
    }
    /// Closed leads by the end of their retention.
    pub fn retire(&self) -> String {
        self.key(&["retire"])
    }
    /// The outcome log: one entry per retired lead.
    pub fn outcome_log(&self) -> String {
        self.key(&["outlog"])
    }
    /// The last outcome-log entry acknowledged as exported.
    pub fn exported(&self) -> String {
        self.key(&["exported"])
    }
    pub fn qcount(&self) -> String {
        self.key(&["qcount"])
    }
    /// The age index of a priority queue (`pool(..)` or `personal_queue(..)`).
    pub fn queue_age(&self, queue: &str) -> String {
        let rest = queue
            .strip_prefix(&format!("{}:", self.anchor))
            .unwrap_or(queue);
        format!("{}:qage:{rest}", self.anchor)
    }
    /// The funnel counters of local day `day` (days since the epoch) for
    /// one dimension (`counters::Dimension::part`).
    pub fn funnel_counts(&self, day: i64, dim: &str) -> String {
        self.key(&["fc", &day.to_string(), dim])
    }
    /// The customer's record: open lead, compliance memory, recent contacts.
    pub fn customer_record(&self, c: &str) -> String {
        self.key(&["cmem", c])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shard_key_carries_the_regions_hash_tag() {
        let s = Keys::new("funnel").shard(&RegionId::parse("east").unwrap());
        assert_eq!(s.anchor(), "funnel:{east}");
        assert_eq!(s.lead("east.1"), "funnel:{east}:lead:east.1");
        assert_eq!(s.offer_deadlines(), "funnel:{east}:dl:offer");
        assert_eq!(
            s.pool(Product::CreditCard),
            "funnel:{east}:pool:credit_card"
        );
    }

    #[test]
    fn every_part_has_its_lua_name() {
        for p in PARTS {
            assert_eq!(lua_part(p), Some(*p));
        }
        assert_eq!(lua_part("offers_channel"), Some(OFFERS_CHANNEL));
        assert_eq!(lua_part("no_such_part"), None);
    }
}
