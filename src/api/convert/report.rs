//! The funnel report (GetFunnelReport) both ways.

use super::{bad, region_id};
use crate::api::error::ApiError;
use crate::api::pb;
use crate::domain::stages::{delay_quantile, with_stages, Delays, StageCounts, DELAY_BOUNDS_S};
use crate::service::{FunnelQuery, FunnelReport, FunnelRow, Grouping};
use chrono::NaiveDate;

pub fn grouping_from_pb(v: i32) -> Result<Grouping, ApiError> {
    match pb::FunnelGrouping::try_from(v) {
        Ok(pb::FunnelGrouping::Region) => Ok(Grouping::Region),
        Ok(pb::FunnelGrouping::Branch) => Ok(Grouping::Branch),
        Ok(pb::FunnelGrouping::Team) => Ok(Grouping::Team),
        Ok(pb::FunnelGrouping::Manager) => Ok(Grouping::Manager),
        Ok(pb::FunnelGrouping::Product) => Ok(Grouping::Product),
        Ok(pb::FunnelGrouping::Campaign) => Ok(Grouping::Campaign),
        Ok(pb::FunnelGrouping::Unspecified) => Err(bad("group_by", "is required")),
        Err(_) => Err(bad("group_by", format!("unknown value {v}"))),
    }
}

pub fn funnel_query_from_pb(
    req: pb::GetFunnelReportRequest,
    today: NaiveDate,
) -> Result<FunnelQuery, ApiError> {
    let pb::GetFunnelReportRequest {
        from_date,
        to_date,
        group_by,
        region_ids,
    } = req;
    let group_by = grouping_from_pb(group_by)?;
    let regions = region_ids
        .iter()
        .map(|r| region_id(r, "region_ids"))
        .collect::<Result<Vec<_>, _>>()?;
    FunnelQuery::parse(&from_date, &to_date, today, group_by, regions)
        .map_err(|e| bad(e.field, e.reason))
}

// Built from the domain's one list of stages: a stage without its protobuf
// field, or a protobuf field no stage fills, does not compile.
macro_rules! counts_to_pb {
    ($($(#[$doc:meta])* $name:ident,)+) => {
        pub fn funnel_counts_to_pb(c: &StageCounts) -> pb::FunnelCounts {
            pb::FunnelCounts {
                ingested: c.ingested(),
                touched: c.touched(),
                $($name: c.$name,)+
            }
        }
    };
}
with_stages!(counts_to_pb);

pub fn delays_to_pb(h: &Delays) -> pb::DelaySummary {
    let within = |q| delay_quantile(h, q).flatten();
    pb::DelaySummary {
        count: h.iter().sum(),
        bounds_seconds: DELAY_BOUNDS_S.to_vec(),
        buckets: h.to_vec(),
        p50_within_seconds: within(0.5),
        p90_within_seconds: within(0.9),
    }
}

pub fn funnel_row_to_pb(group: &str, c: &StageCounts) -> pb::FunnelRow {
    let r = c.rates();
    pb::FunnelRow {
        group: group.to_string(),
        counts: Some(funnel_counts_to_pb(c)),
        rates: Some(pb::FunnelRates {
            sales_share: r.sales_share,
            acceptance: r.acceptance,
            decline: r.decline,
            sla_breach: r.sla_breach,
            conversion: r.conversion,
            converted_per_touched: r.converted_per_touched,
        }),
        time_to_first_touch: Some(delays_to_pb(&c.time_to_first_touch)),
        time_to_accept: Some(delays_to_pb(&c.time_to_accept)),
    }
}

pub fn funnel_report_to_pb(r: &FunnelReport) -> pb::GetFunnelReportResponse {
    let date = |d: &NaiveDate| d.format("%Y-%m-%d").to_string();
    pb::GetFunnelReportResponse {
        from_date: date(&r.from),
        to_date: date(&r.to),
        rows: r
            .rows
            .iter()
            .map(|FunnelRow { group, counts }| funnel_row_to_pb(group, counts))
            .collect(),
        total: Some(funnel_row_to_pb("total", &r.total)),
        days: r
            .days
            .iter()
            .map(|(d, c)| pb::FunnelDay {
                date: date(d),
                counts: Some(funnel_counts_to_pb(c)),
            })
            .collect(),
    }
}
