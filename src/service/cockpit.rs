//! The operations cockpit's use case: the funnel over a range of the bank's
//! local days, grouped by region, branch, team, manager, product or campaign.

use super::{Funnel, FunnelError};
use crate::domain::stages::StageCounts;
use crate::domain::{DomainError, ManagerId, RegionId};
use crate::routing::counters::Dimension;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// What the funnel is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Region,
    Branch,
    /// Managers by their team label (offline managers: their branch).
    Team,
    Manager,
    Product,
    Campaign,
}

/// Longest range one report reads (the counters' default retention).
pub const MAX_DAYS: i64 = 400;

/// A validated report request.
#[derive(Debug, Clone)]
pub struct FunnelQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: Grouping,
    /// Empty: every registered region.
    pub regions: Vec<RegionId>,
}

impl FunnelQuery {
    /// `from`/`to` as `YYYY-MM-DD` (empty: today, the bank's local day).
    pub fn parse(
        from: &str,
        to: &str,
        today: NaiveDate,
        group_by: Grouping,
        regions: Vec<RegionId>,
    ) -> Result<Self, DomainError> {
        let date = |field: &str, raw: &str| {
            if raw.is_empty() {
                return Ok(today);
            }
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| DomainError::new(field, "not a date (YYYY-MM-DD)"))
        };
        let (from, to) = (date("from_date", from)?, date("to_date", to)?);
        if from > to {
            return Err(DomainError::new("from_date", "after to_date"));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(DomainError::new(
                "to_date",
                format!("more than {MAX_DAYS} days after from_date"),
            ));
        }
        Ok(Self {
            from,
            to,
            group_by,
            regions,
        })
    }
}

/// One group's row.
#[derive(Debug, Clone)]
pub struct FunnelRow {
    pub group: String,
    pub counts: StageCounts,
}

/// The report: rows (largest intake first), their total, and the total per day.
#[derive(Debug, Clone)]
pub struct FunnelReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rows: Vec<FunnelRow>,
    pub total: StageCounts,
    pub days: Vec<(NaiveDate, StageCounts)>,
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date")
}

fn day_number(d: NaiveDate) -> i64 {
    (d - epoch()).num_days()
}

impl Funnel {
    /// Today in the bank's local time zone (the counters' day).
    pub fn today(&self) -> NaiveDate {
        epoch() + chrono::Days::new(self.router.local_day(self.now_ms()).max(0) as u64)
    }

    /// The funnel of `q`'s days and regions, grouped.
    pub async fn funnel_report(&self, q: &FunnelQuery) -> Result<FunnelReport, FunnelError> {
        let regions = if q.regions.is_empty() {
            self.router.registered_regions().await?
        } else {
            q.regions.clone()
        };
        let dim = match q.group_by {
            Grouping::Region => Dimension::Region,
            Grouping::Branch => Dimension::Branch,
            Grouping::Team | Grouping::Manager => Dimension::Manager,
            Grouping::Product => Dimension::Product,
            Grouping::Campaign => Dimension::Campaign,
        };
        let (from, to) = (day_number(q.from), day_number(q.to));
        let counts = self.router.funnel_counts(&regions, from, to, dim).await?;
        if counts.unknown_fields > 0 {
            tracing::warn!(
                fields = counts.unknown_fields,
                "funnel counters this binary does not know (a newer replica's?) were skipped"
            );
        }
        let mut groups = counts.groups;
        if q.group_by == Grouping::Team {
            groups = self.by_team(&regions, groups).await?;
        }
        // The region totals: every counted event, whatever the grouping
        // (a manager-less event has no manager row).
        let totals = if dim == Dimension::Region {
            None
        } else {
            Some(
                self.router
                    .funnel_counts(&regions, from, to, Dimension::Region)
                    .await?,
            )
        };
        let mut total = StageCounts::default();
        let days_src = match &totals {
            Some(t) => {
                t.groups.values().for_each(|c| total.merge(c));
                &t.days
            }
            None => {
                groups.values().for_each(|c| total.merge(c));
                &counts.days
            }
        };
        let days = days_src
            .iter()
            .map(|(d, c)| (epoch() + chrono::Days::new(*d as u64), c.clone()))
            .collect();
        let mut rows: Vec<FunnelRow> = groups
            .into_iter()
            .map(|(group, counts)| FunnelRow { group, counts })
            .collect();
        rows.sort_by(|a, b| {
            let key = |r: &FunnelRow| r.counts.ingested() + r.counts.offered + r.counts.leased;
            key(b).cmp(&key(a)).then_with(|| a.group.cmp(&b.group))
        });
        Ok(FunnelReport {
            from: q.from,
            to: q.to,
            rows,
            total,
            days,
        })
    }

    async fn by_team(
        &self,
        regions: &[RegionId],
        managers: BTreeMap<String, StageCounts>,
    ) -> Result<BTreeMap<String, StageCounts>, FunnelError> {
        let ids: Vec<ManagerId> = managers
            .keys()
            .filter_map(|m| ManagerId::parse(m.clone()).ok())
            .collect();
        let teams = self.router.teams_of(regions, &ids).await?;
        let mut out: BTreeMap<String, StageCounts> = BTreeMap::new();
        for (m, counts) in managers {
            let team = ManagerId::parse(m)
                .ok()
                .and_then(|id| teams.get(&id).cloned())
                .unwrap_or_else(|| "(no team)".to_string());
            out.entry(team).or_default().merge(&counts);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let q = FunnelQuery::parse("", "", today, Grouping::Region, vec![]).unwrap();
        assert_eq!((q.from, q.to), (today, today));
        let q = FunnelQuery::parse("2026-11-01", "2026-11-25", today, Grouping::Manager, vec![])
            .unwrap();
        assert_eq!((q.to - q.from).num_days(), 24);
        let err = |f: &str, t: &str| {
            FunnelQuery::parse(f, t, today, Grouping::Region, vec![])
                .unwrap_err()
                .field
        };
        assert_eq!(err("2026-11-26", "2026-11-25"), "from_date");
        assert_eq!(err("25/11/2026", ""), "from_date");
        assert_eq!(err("2024-01-01", "2026-11-25"), "to_date");
        assert_eq!(day_number(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
    }
}
