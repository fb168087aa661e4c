//! Tunables of the lead lifecycle.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Durations are human-readable in config files (`"30m"`, `"4h"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// Prefix of every key.
    pub key_prefix: String,
    /// How long an offline manager has to accept a referral.
    #[serde(with = "humantime_serde")]
    pub offer_sla: Duration,
    /// How long a high lead waits in a branch's unassigned list before it
    /// flows back to the remote queue.
    #[serde(with = "humantime_serde")]
    pub backflow_wait: Duration,
    /// Lease length when the puller does not ask for one.
    #[serde(with = "humantime_serde")]
    pub lease_default: Duration,
    /// Longest lease, also the cap of an extension (from now).
    #[serde(with = "humantime_serde")]
    pub lease_max: Duration,
    /// How long an accepted referral may go without an outcome before the
    /// manager is reminded (an audit event and a nudge on its watch).
    #[serde(with = "humantime_serde")]
    pub acceptance_followup: Duration,
    /// After the reminder, how long until the lead goes back to the remote pool.
    #[serde(with = "humantime_serde")]
    pub acceptance_grace: Duration,
    /// Expired leases before a lead goes to incubation.
    pub max_attempts: u32,
    /// Interval between incubation reviews.
    #[serde(with = "humantime_serde")]
    pub incubation_review: Duration,
    /// Age after which an incubating lead is closed as expired.
    #[serde(with = "humantime_serde")]
    pub incubation_expiry: Duration,
    /// A complaint blocks sales routing of the customer for this long.
    #[serde(with = "humantime_serde")]
    pub complaint_cooloff: Duration,
    /// At most this many sales hand-offs (referral or remote queue) of one
    /// customer per `contact_window`; the excess goes to incubation.
    pub contact_cap: u32,
    #[serde(with = "humantime_serde")]
    pub contact_window: Duration,
    /// How long an interaction id is remembered for idempotency.
    #[serde(with = "humantime_serde")]
    pub idempotency_ttl: Duration,
    /// Approximate length kept of each shard's audit stream.
    pub audit_stream_maxlen: u64,
    /// Interactions kept per lead (the oldest dropped, counted in the lead's
    /// `interactions_folded`): a customer called for years stays bounded.
    pub interactions_per_lead: u32,
    /// Audit events kept in a lead's own history (the oldest dropped,
    /// counted in `history_folded`; the shard's audit stream has them).
    pub history_per_lead: u32,
    /// An offer still unanswered this long before its accept deadline gets
    /// one `offer_expiring` audit event (the `referral.expiring` webhook).
    /// Capped at half of `offer_sla`; zero turns the warning off.
    #[serde(with = "humantime_serde")]
    pub offer_warning: Duration,
    /// How long a closed lead stays in Redis (readable, in its history and
    /// the customer's memory of it). Then its outcome record goes to the
    /// shard's outcome log and every key of the lead is deleted. At least
    /// `idempotency_ttl`, so a lead never outlives the memory of its calls.
    #[serde(with = "humantime_serde")]
    pub closed_retention: Duration,
    /// The shard's audit stream is trimmed to this age (besides
    /// `audit_stream_maxlen`).
    #[serde(with = "humantime_serde")]
    pub audit_max_age: Duration,
    /// Outcome-log entries are trimmed once an admin acknowledged their
    /// export, or at this age even if never exported.
    #[serde(with = "humantime_serde")]
    pub outcome_log_max_age: Duration,
    /// The bank's local day, for the cockpit's daily funnel counters:
    /// minutes east of UTC (Beijing: 480).
    pub day_utc_offset_minutes: i32,
    /// How long a day's funnel counters per region, branch, product and
    /// campaign are kept.
    #[serde(with = "humantime_serde")]
    pub counter_retention: Duration,
    /// How long a day's per-manager counters are kept (the largest ones).
    #[serde(with = "humantime_serde")]
    pub manager_counter_retention: Duration,
    /// Count each transition for the cockpit (GetFunnelReport, `/cockpit`).
    /// Off, the report counts nothing new; it exists to measure what
    /// counting costs (README, "Operations cockpit").
    pub funnel_counters: bool,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            key_prefix: "funnel".into(),
            offer_sla: Duration::from_secs(30 * 60),
            backflow_wait: Duration::from_secs(4 * 3600),
            lease_default: Duration::from_secs(15 * 60),
            lease_max: Duration::from_secs(3600),
            acceptance_followup: Duration::from_secs(3 * 24 * 3600),
            acceptance_grace: Duration::from_secs(24 * 3600),
            max_attempts: 3,
            incubation_review: Duration::from_secs(7 * 24 * 3600),
            incubation_expiry: Duration::from_secs(90 * 24 * 3600),
            complaint_cooloff: Duration::from_secs(30 * 24 * 3600),
            contact_cap: 2,
            contact_window: Duration::from_secs(7 * 24 * 3600),
            idempotency_ttl: Duration::from_secs(30 * 24 * 3600),
            audit_stream_maxlen: 1_000_000,
            interactions_per_lead: 10,
            history_per_lead: 500,
            offer_warning: Duration::from_secs(5 * 60),
            closed_retention: Duration::from_secs(30 * 24 * 3600),
            audit_max_age: Duration::from_secs(90 * 24 * 3600),
            outcome_log_max_age: Duration::from_secs(400 * 24 * 3600),
            day_utc_offset_minutes: 480,
            counter_retention: Duration::from_secs(400 * 24 * 3600),
            manager_counter_retention: Duration::from_secs(92 * 24 * 3600),
            funnel_counters: true,
        }
    }
}

impl RoutingConfig {
    /// The rules between fields; `Err` names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.lease_default > self.lease_max {
            return Err((
                "routing.lease_default",
                "longer than routing.lease_max".into(),
            ));
        }
        if self.closed_retention < self.idempotency_ttl {
            return Err((
                "routing.closed_retention",
                "shorter than routing.idempotency_ttl (a retried call would find its lead gone)"
                    .into(),
            ));
        }
        if self.day_utc_offset_minutes.abs() > 14 * 60 {
            return Err((
                "routing.day_utc_offset_minutes",
                "more than 14 hours from UTC".into(),
            ));
        }
        Ok(())
    }

    /// What the scripts read as `CFG` (milliseconds): a Lua table literal
    /// built into each script, so no call sends or decodes it.
    pub(crate) fn script_lua(&self) -> String {
        let ms = |d: Duration| d.as_millis() as u64;
        let fields: [(&str, u64); 19] = [
            ("offer_sla_ms", ms(self.offer_sla)),
            ("backflow_ms", ms(self.backflow_wait)),
            ("lease_max_ms", ms(self.lease_max)),
            ("accepted_followup_ms", ms(self.acceptance_followup)),
            ("accepted_grace_ms", ms(self.acceptance_grace)),
            ("max_attempts", u64::from(self.max_attempts)),
            ("review_ms", ms(self.incubation_review)),
            ("incubation_expiry_ms", ms(self.incubation_expiry)),
            ("idem_ttl_ms", ms(self.idempotency_ttl)),
            ("complaint_cooloff_ms", ms(self.complaint_cooloff)),
            ("contact_window_ms", ms(self.contact_window)),
            ("contact_cap", u64::from(self.contact_cap)),
            ("audit_maxlen", self.audit_stream_maxlen),
            (
                "interactions_per_lead",
                u64::from(self.interactions_per_lead.max(1)),
            ),
            ("history_per_lead", u64::from(self.history_per_lead.max(1))),
            (
                "offer_warn_ms",
                ms(self.offer_warning.min(self.offer_sla / 2)),
            ),
            ("retention_ms", ms(self.closed_retention)),
            ("audit_max_age_ms", ms(self.audit_max_age)),
            ("outlog_max_age_ms", ms(self.outcome_log_max_age)),
        ];
        let mut lua = String::from("local CFG = {");
        for (name, value) in fields {
            lua.push_str(&format!("{name} = {value}, "));
        }
        // The funnel counters (counters.lua, routing/counters.rs).
        lua.push_str(&format!(
            "fc_on = {}, fc_offset_ms = {}, fc_keep_ms = {}, fc_keep_m_ms = {}, fc_bounds_s = {{",
            self.funnel_counters,
            i64::from(self.day_utc_offset_minutes) * 60_000,
            ms(self.counter_retention),
            ms(self.manager_counter_retention),
        ));
        for b in crate::domain::stages::DELAY_BOUNDS_S {
            lua.push_str(&format!("{b}, "));
        }
        lua.push_str("}, }\n");
        lua
    }
}
