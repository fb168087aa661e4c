//! The funnel as operations read it: what each stage counted over some days,
//! the rates between stages, and the delay percentiles. Counted by the
//! routing scripts (`routing/lua/includes/counters.lua`); read and summed
//! by `routing::funnel`. Pure: no Redis here.

use serde::Serialize;

/// Upper bounds (seconds) of the delay histograms (time to first touch,
/// time to accept); one more bucket holds the longer delays. The scripts
/// get the same list (`RoutingConfig::script_lua`).
pub const DELAY_BOUNDS_S: [u64; 12] = [
    60, 300, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 86_400, 172_800, 604_800, 2_592_000,
];

/// A delay histogram: counts per bucket of [`DELAY_BOUNDS_S`] and one more.
pub type Delays = [u64; DELAY_BOUNDS_S.len() + 1];

/// The stage counters, named once: the struct's fields are the stage names
/// the scripts write (`counters.lua`).
macro_rules! stage_counts {
    ($($(#[$doc:meta])* $name:ident,)+) => {
        /// What one group (a region, branch, team, manager, product or
        /// campaign) counted.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
        pub struct StageCounts {
            $($(#[$doc])* pub $name: u64,)+
            /// Time from the lead's arrival to its first touch, and from an
            /// offer to its acceptance.
            pub time_to_first_touch: Delays,
            pub time_to_accept: Delays,
        }

        impl StageCounts {
            const NAMES: &'static [&'static str] = &[$(stringify!($name)),+];
            fn slots(&mut self) -> Vec<&mut u64> {
                vec![$(&mut self.$name),+]
            }
            fn values(&self) -> Vec<u64> {
                vec![$(self.$name),+]
            }
        }
    };
}

/// The one list of stages, handed to a macro: `StageCounts` here, the
/// protobuf conversion in `api::convert::report`, so a new stage reaches
/// both or neither compiles.
macro_rules! with_stages {
    ($m:ident) => {
        $m! {
            /// New leads by bucket.
            bucket_high,
            bucket_medium,
            bucket_low,
            /// New leads by the route they took.
            route_referral,
            route_remote,
            route_incubation,
            route_service_followup,
            route_suppressed,
            /// Offers made to an offline manager (first offers and re-offers).
            offered,
            accepted,
            declined,
            /// Declines by category (`DeclineCategory`).
            declined_no_capacity,
            declined_not_my_customer,
            declined_product_mismatch,
            declined_customer_unsuitable,
            declined_other,
            /// Offers that passed their accept deadline (SLA breaches).
            timed_out,
            /// Offers withdrawn (the manager became unavailable).
            withdrawn,
            /// High leads with no eligible branch manager (waiting).
            unassigned,
            /// Leads no registered manager could take.
            unplaceable,
            /// Remote leases.
            leased,
            lease_expired,
            /// Outcomes.
            converted,
            not_interested,
            call_back,
            /// Remote → branch escalations, hand-backs by offline managers, and
            /// back-flows to the remote tier (unassigned too long, acceptance expired).
            escalated,
            handed_back,
            backflow,
        }
    };
}
pub(crate) use with_stages;

with_stages!(stage_counts);

/// Why a counter field was not understood (a script newer than this binary).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown funnel stage {0:?}")]
pub struct UnknownStage(pub String);

impl StageCounts {
    /// Adds `n` to the stage the scripts call `stage`.
    pub fn add(&mut self, stage: &str, n: u64) -> Result<(), UnknownStage> {
        if let Some(i) = stage.strip_prefix("ttft:") {
            return add_delay(&mut self.time_to_first_touch, stage, i, n);
        }
        if let Some(i) = stage.strip_prefix("tta:") {
            return add_delay(&mut self.time_to_accept, stage, i, n);
        }
        if let Some(i) = stage.strip_prefix("leased:") {
            // A lease that was the lead's first touch, with its delay.
            self.leased += n;
            return add_delay(&mut self.time_to_first_touch, stage, i, n);
        }
        if let Some(rest) = stage.strip_prefix("new:") {
            return self.add_new(stage, rest, n);
        }
        let i = Self::NAMES
            .iter()
            .position(|name| *name == stage)
            .ok_or_else(|| UnknownStage(stage.to_string()))?;
        *self.slots()[i] += n;
        Ok(())
    }

    /// `new:<bucket>:<state>`: a new lead, its bucket and the state it was
    /// routed to (one field per dimension on the ingest path).
    fn add_new(&mut self, stage: &str, rest: &str, n: u64) -> Result<(), UnknownStage> {
        let unknown = || UnknownStage(stage.to_string());
        let (bucket, state) = rest.split_once(':').ok_or_else(unknown)?;
        // Both parts are checked before anything is added.
        if !matches!(bucket, "high" | "medium" | "low") {
            return Err(unknown());
        }
        let (route, also) = match state {
            "referral_offered" => (&mut self.route_referral, Some(&mut self.offered)),
            "branch_unassigned" => (&mut self.route_referral, Some(&mut self.unassigned)),
            "remote_queued" => (&mut self.route_remote, None),
            "incubating" => (&mut self.route_incubation, None),
            "service_followup" => (&mut self.route_service_followup, None),
            "suppressed" => (&mut self.route_suppressed, None),
            _ => return Err(unknown()),
        };
        *route += n;
        if let Some(also) = also {
            *also += n;
        }
        *match bucket {
            "high" => &mut self.bucket_high,
            "medium" => &mut self.bucket_medium,
            _ => &mut self.bucket_low,
        } += n;
        Ok(())
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &StageCounts) {
        for (mine, theirs) in self.slots().into_iter().zip(other.values()) {
            *mine += theirs;
        }
        for (a, b) in self
            .time_to_first_touch
            .iter_mut()
            .zip(&other.time_to_first_touch)
        {
            *a += b;
        }
        for (a, b) in self.time_to_accept.iter_mut().zip(&other.time_to_accept) {
            *a += b;
        }
    }

    /// Leads touched for the first time (first lease or acceptance): each
    /// has its time to first touch.
    pub fn touched(&self) -> u64 {
        self.time_to_first_touch.iter().sum()
    }

    /// Leads that came in (every new lead has one bucket).
    pub fn ingested(&self) -> u64 {
        self.bucket_high + self.bucket_medium + self.bucket_low
    }

    /// The stage-to-stage rates operations watch.
    pub fn rates(&self) -> Rates {
        let r = |n: u64, d: u64| {
            if d == 0 {
                None
            } else {
                Some(n as f64 / d as f64)
            }
        };
        let sales = self.route_referral + self.route_remote;
        let outcomes = self.converted + self.not_interested;
        Rates {
            sales_share: r(sales, self.ingested()),
            acceptance: r(self.accepted, self.offered),
            decline: r(self.declined, self.offered),
            sla_breach: r(self.timed_out, self.offered),
            conversion: r(self.converted, outcomes),
            converted_per_touched: r(self.converted, self.touched()),
        }
    }
}

fn add_delay(h: &mut Delays, stage: &str, i: &str, n: u64) -> Result<(), UnknownStage> {
    // Buckets are numbered from 1 (Lua).
    match i.parse::<usize>() {
        Ok(i) if (1..=h.len()).contains(&i) => {
            h[i - 1] += n;
            Ok(())
        }
        _ => Err(UnknownStage(stage.to_string())),
    }
}

/// Ratios between stages; `None` where the denominator is zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    /// New leads sent to sales (referral or remote) / new leads.
    pub sales_share: Option<f64>,
    /// Accepted / offered, declined / offered, timed out / offered.
    pub acceptance: Option<f64>,
    pub decline: Option<f64>,
    pub sla_breach: Option<f64>,
    /// Converted / (converted + not interested): of the recorded outcomes.
    pub conversion: Option<f64>,
    /// Converted / first touches.
    pub converted_per_touched: Option<f64>,
}

/// The `q` quantile of a delay histogram as the bucket's upper bound in
/// seconds (`None`: empty; `Some(None)`: beyond the last bound).
pub fn delay_quantile(h: &Delays, q: f64) -> Option<Option<u64>> {
    let total: u64 = h.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, n) in h.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(DELAY_BOUNDS_S.get(i).copied());
        }
    }
    Some(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_add_up_and_unknown_ones_are_refused() {
        let mut c = StageCounts::default();
        c.add("new:high:referral_offered", 2).unwrap();
        c.add("offered", 2).unwrap();
        c.add("leased:2", 1).unwrap();
        assert_eq!(
            c.add("new:high:nowhere", 1),
            Err(UnknownStage("new:high:nowhere".into()))
        );
        assert_eq!((c.bucket_high, c.route_referral, c.leased), (2, 2, 1));
        c.add("accepted", 1).unwrap();
        c.add("ttft:1", 3).unwrap();
        c.add("ttft:13", 1).unwrap();
        assert_eq!(c.add("ttft:14", 1), Err(UnknownStage("ttft:14".into())));
        assert_eq!(c.add("ttft:0", 1), Err(UnknownStage("ttft:0".into())));
        assert_eq!(c.add("nonsense", 1), Err(UnknownStage("nonsense".into())));
        let mut sum = StageCounts::default();
        sum.merge(&c);
        sum.merge(&c);
        assert_eq!(sum.ingested(), 4);
        assert_eq!(sum.rates().acceptance, Some(0.25));
        assert_eq!(sum.rates().conversion, None);
        assert_eq!(sum.time_to_first_touch[0], 6);
        assert_eq!(sum.time_to_first_touch[1], 2);
        assert_eq!(sum.touched(), 10);
        assert_eq!(sum.time_to_first_touch[12], 2);
    }

    #[test]
    fn quantiles_are_bucket_bounds() {
        let mut h: Delays = [0; 13];
        assert_eq!(delay_quantile(&h, 0.5), None);
        h[0] = 5; // ≤ 60 s
        h[2] = 4; // ≤ 900 s
        h[12] = 1; // longer than 30 days
        assert_eq!(delay_quantile(&h, 0.5), Some(Some(60)));
        assert_eq!(delay_quantile(&h, 0.9), Some(Some(900)));
        assert_eq!(delay_quantile(&h, 1.0), Some(None));
    }
}
