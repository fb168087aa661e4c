//! The cockpit's funnel counters: read the day hashes `counters.lua` keeps,
//! in HSCAN pages (a region with thousands of managers has a large
//! manager hash; no single call reads it whole), and sum them per group.

use super::{Router, RoutingError};
use crate::domain::stages::StageCounts;
use crate::domain::{ManagerId, RegionId};
use std::collections::{BTreeMap, HashSet};

/// What the counters are grouped by, as stored (teams are managers grouped
/// by the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Region,
    Branch,
    Product,
    Campaign,
    Manager,
}

impl Dimension {
    /// The key's last part (`fc:<day>:<part>`, counters.lua).
    fn part(self) -> &'static str {
        match self {
            Self::Region => "s",
            Self::Branch => "b",
            Self::Product => "p",
            Self::Campaign => "c",
            Self::Manager => "m",
        }
    }
}

/// Fields read per HSCAN call.
const SCAN_PAGE: usize = 500;

/// Counts per group, and per day of the range (all groups together).
#[derive(Debug, Clone, Default)]
pub struct FunnelCounts {
    pub groups: BTreeMap<String, StageCounts>,
    pub days: BTreeMap<i64, StageCounts>,
    /// Fields a newer script wrote that this binary does not know (skipped).
    pub unknown_fields: u64,
}

impl Router {
    /// The local day (days since 1970-01-01 in the bank's time zone) that
    /// `ms` falls on, as the scripts count it.
    pub fn local_day(&self, ms: i64) -> i64 {
        (ms + i64::from(self.cfg.day_utc_offset_minutes) * 60_000).div_euclid(86_400_000)
    }

    /// The counters of `regions` over local days `from..=to`, grouped by `dim`.
    pub async fn funnel_counts(
        &self,
        regions: &[RegionId],
        from: i64,
        to: i64,
        dim: Dimension,
    ) -> Result<FunnelCounts, RoutingError> {
        let mut out = FunnelCounts::default();
        let mut conn = self.conn.clone();
        for r in regions {
            let shard = self.keys.shard(r);
            for day in from..=to {
                let key = shard.funnel_counts(day, dim.part());
                let mut cursor = 0u64;
                // HSCAN may return a field twice (when the hash is
                // rehashed between calls): each field counts once.
                let mut seen = HashSet::new();
                loop {
                    let (next, fields): (u64, Vec<(String, u64)>) = redis::cmd("HSCAN")
                        .arg(&key)
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(SCAN_PAGE)
                        .query_async(&mut conn)
                        .await?;
                    for (field, n) in fields {
                        if !seen.insert(field.clone()) {
                            continue;
                        }
                        let (group, stage) = match dim {
                            Dimension::Region => (r.as_str(), field.as_str()),
                            _ => match field.split_once('|') {
                                Some(gs) => gs,
                                None => {
                                    out.unknown_fields += 1;
                                    continue;
                                }
                            },
                        };
                        let g = out.groups.entry(group.to_string()).or_default();
                        if g.add(stage, n).is_err() {
                            out.unknown_fields += 1;
                            continue;
                        }
                        let _ = out.days.entry(day).or_default().add(stage, n);
                    }
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
            }
        }
        Ok(out)
    }

    /// The team of each manager (its `team` label; an offline manager's
    /// branch), read from the manager's home shard record.
    pub async fn teams_of(
        &self,
        regions: &[RegionId],
        managers: &[ManagerId],
    ) -> Result<BTreeMap<ManagerId, String>, RoutingError> {
        let mut out = BTreeMap::new();
        let mut conn = self.conn.clone();
        for r in regions {
            let shard = self.keys.shard(r);
            let mut pipe = redis::pipe();
            let todo: Vec<&ManagerId> = managers.iter().filter(|m| !out.contains_key(*m)).collect();
            if todo.is_empty() {
                break;
            }
            for m in &todo {
                pipe.cmd("HMGET")
                    .arg(shard.manager(m))
                    .arg("team")
                    .arg("branch");
            }
            let rows: Vec<(Option<String>, Option<String>)> = pipe.query_async(&mut conn).await?;
            for (m, (team, branch)) in todo.into_iter().zip(rows) {
                let label = team
                    .filter(|t| !t.is_empty())
                    .or(branch.filter(|b| !b.is_empty()));
                if let Some(label) = label {
                    out.insert(m.clone(), label);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::stages::StageCounts;

    /// Every stage name `counters.lua` writes is one `StageCounts` knows.
    #[test]
    fn every_stage_the_script_writes_is_known() {
        let lua = include_str!("lua/includes/counters.lua");
        let re = regex::Regex::new(
            r"(?:(?:^|[,{\n])\s*[a-z_]+ = '([a-z_]+)'|stages\[#stages \+ 1\] = '([a-z_]+)')",
        )
        .unwrap();
        let mut names: Vec<String> = re
            .captures_iter(lua)
            .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_string()))
            // `'declined_' .. CATEGORY`: prefixes, added whole below.
            .filter(|n| !n.ends_with('_'))
            .collect();
        // The composed ones, as the script builds them.
        names.extend(
            [
                "new:high:referral_offered",
                "new:medium:remote_queued",
                "new:low:incubating",
                "new:high:branch_unassigned",
                "new:medium:service_followup",
                "new:low:suppressed",
                "leased",
                "leased:3",
                "ttft:1",
                "tta:13",
                "declined_no_capacity",
            ]
            .map(String::from),
        );
        assert!(names.len() > 20, "{names:?}");
        let mut c = StageCounts::default();
        for n in &names {
            c.add(n, 1)
                .unwrap_or_else(|e| panic!("{e} (from counters.lua)"));
        }
    }
}
