//! The operations cockpit's JSON (admins only): the funnel report, queue
//! depths and manager loads, the watch lists of stuck work, and the model in
//! use. The page (`static/cockpit.js`) draws them; a lead's drill-down is
//! the workbench's own `/api/leads/{lead}` (masked transcript and trail).

use super::dto::LeadJson;
use super::{Caller, Web, WebResult};
use crate::api::error::ApiError;
use crate::domain::stages::{delay_quantile, Delays, Rates, StageCounts};
use crate::domain::RegionId;
use crate::routing::{ListQuery, WatchList};
use crate::service::{FunnelQuery, Grouping};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelParams {
    /// `YYYY-MM-DD`, the bank's local days; absent: today.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// region | branch | team | manager | product | campaign (default region).
    #[serde(default)]
    group: Option<String>,
    /// One region; absent: every registered one.
    #[serde(default)]
    region: Option<String>,
}

#[derive(Serialize)]
struct DelayJson {
    count: u64,
    /// Upper bound of the bucket holding the percentile, seconds (`null`:
    /// none, or beyond the last bound — `beyond` says which).
    p50_s: Option<u64>,
    p90_s: Option<u64>,
    beyond: bool,
}

fn delays(h: &Delays) -> DelayJson {
    let p90 = delay_quantile(h, 0.9);
    DelayJson {
        count: h.iter().sum(),
        p50_s: delay_quantile(h, 0.5).flatten(),
        p90_s: p90.flatten(),
        beyond: matches!(p90, Some(None)),
    }
}

#[derive(Serialize)]
struct RowJson {
    group: String,
    ingested: u64,
    touched: u64,
    counts: StageCounts,
    rates: Rates,
    time_to_first_touch: DelayJson,
    time_to_accept: DelayJson,
}

fn row(group: &str, c: &StageCounts) -> RowJson {
    RowJson {
        group: group.to_string(),
        ingested: c.ingested(),
        touched: c.touched(),
        counts: c.clone(),
        rates: c.rates(),
        time_to_first_touch: delays(&c.time_to_first_touch),
        time_to_accept: delays(&c.time_to_accept),
    }
}

#[derive(Serialize)]
struct DayJson {
    date: String,
    ingested: u64,
    counts: StageCounts,
}

#[derive(Serialize)]
pub struct FunnelJson {
    from: String,
    to: String,
    group_by: &'static str,
    rows: Vec<RowJson>,
    total: RowJson,
    days: Vec<DayJson>,
}

fn grouping(raw: Option<&str>) -> Result<(Grouping, &'static str), ApiError> {
    Ok(match raw.unwrap_or("region") {
        "region" => (Grouping::Region, "region"),
        "branch" => (Grouping::Branch, "branch"),
        "team" => (Grouping::Team, "team"),
        "manager" => (Grouping::Manager, "manager"),
        "product" => (Grouping::Product, "product"),
        "campaign" => (Grouping::Campaign, "campaign"),
        _ => {
            return Err(ApiError::invalid(
                "group",
                "must be region, branch, team, manager, product or campaign",
            ))
        }
    })
}

fn region(raw: Option<&str>) -> Result<Option<RegionId>, ApiError> {
    raw.filter(|r| !r.is_empty())
        .map(|r| RegionId::parse(r).map_err(|e| ApiError::invalid("region", &e.reason)))
        .transpose()
}

/// The funnel report (GetFunnelReport's twin).
#[tracing::instrument(skip_all, fields(web = "cockpit_funnel"))]
pub async fn funnel(
    web: State<Web>,
    Caller(p): Caller,
    Query(q): Query<FunnelParams>,
) -> WebResult<FunnelJson> {
    p.admin()?;
    let (group_by, group_name) = grouping(q.group.as_deref())?;
    let regions = region(q.region.as_deref())?.into_iter().collect();
    let query = FunnelQuery::parse(&q.from, &q.to, web.funnel.today(), group_by, regions)
        .map_err(|e| ApiError::invalid(&e.field, &e.reason))?;
    let r = web.funnel.funnel_report(&query).await?;
    let date = |d: &chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    Ok(Json(FunnelJson {
        from: date(&r.from),
        to: date(&r.to),
        group_by: group_name,
        rows: r.rows.iter().map(|x| row(&x.group, &x.counts)).collect(),
        total: row("total", &r.total),
        days: r
            .days
            .iter()
            .map(|(d, c)| DayJson {
                date: date(d),
                ingested: c.ingested(),
                counts: c.clone(),
            })
            .collect(),
    }))
}

#[derive(Serialize)]
pub struct QueueJson {
    region: String,
    queue: String,
    owner: String,
    depth: u64,
    oldest_age_ms: i64,
    high: u64,
    medium: u64,
    low: u64,
}

#[derive(Serialize)]
pub struct LoadJson {
    region: String,
    manager: String,
    tier: String,
    capacity: u32,
    available: bool,
    held: u64,
    pending_offers: u64,
}

#[derive(Serialize)]
pub struct QueuesJson {
    queues: Vec<QueueJson>,
    managers: Vec<LoadJson>,
}

/// Queue depths, oldest ages and manager loads (GetQueueStats' twin).
#[tracing::instrument(skip_all, fields(web = "cockpit_queues"))]
pub async fn queues(web: State<Web>, Caller(p): Caller) -> WebResult<QueuesJson> {
    p.admin()?;
    let s = web.funnel.queue_stats(None).await?;
    Ok(Json(QueuesJson {
        queues: s
            .queues
            .into_iter()
            .map(|q| QueueJson {
                region: q.region,
                queue: q.queue,
                owner: q.owner,
                depth: q.depth,
                oldest_age_ms: q.oldest_age_ms,
                high: q.buckets.high,
                medium: q.buckets.medium,
                low: q.buckets.low,
            })
            .collect(),
        managers: s
            .managers
            .into_iter()
            .map(|m| LoadJson {
                region: m.region,
                manager: m.manager,
                tier: m.tier,
                capacity: m.capacity,
                available: m.available,
                held: m.held,
                pending_offers: m.pending_offers,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    region: Option<String>,
    /// Per region (1..=50, default 20).
    #[serde(default)]
    count: Option<u64>,
}

#[derive(Serialize)]
struct ListedJson {
    region: String,
    lead: LeadJson,
    note: String,
    at: i64,
}

#[derive(Serialize)]
pub struct ListJson {
    list: String,
    /// How many the lists hold in all (the items are the first of each region).
    total: u64,
    items: Vec<ListedJson>,
    now: i64,
}

/// The first leads of a watch list, per region (ListLeads' twin).
#[tracing::instrument(skip_all, fields(web = "cockpit_list", list = %list))]
pub async fn list(
    web: State<Web>,
    Caller(p): Caller,
    Path(list): Path<String>,
    Query(q): Query<ListParams>,
) -> WebResult<ListJson> {
    p.admin()?;
    let which = match list.as_str() {
        "unassigned" => WatchList::Unassigned,
        "unplaceable" => WatchList::Unplaceable,
        "reengagement" => WatchList::Reengage,
        "leases" => WatchList::Leases,
        "callbacks" => WatchList::Callbacks,
        _ => {
            return Err(ApiError::invalid(
                "list",
                "must be unassigned, unplaceable, reengagement, leases or callbacks",
            )
            .into())
        }
    };
    let count = q.count.unwrap_or(20).clamp(1, 50);
    let regions = match region(q.region.as_deref())? {
        Some(r) => vec![r],
        None => web.funnel.regions().await?.regions.into_keys().collect(),
    };
    let (mut total, mut items) = (0, Vec::new());
    for r in regions {
        let page = web
            .funnel
            .list_leads(
                &r,
                ListQuery {
                    list: which,
                    offset: 0,
                    count,
                },
            )
            .await?;
        total += page.total;
        items.extend(page.items.iter().map(|i| ListedJson {
            region: r.to_string(),
            lead: (&i.lead).into(),
            note: i.note.clone(),
            at: i.at,
        }));
    }
    items.sort_by_key(|i| i.at);
    Ok(Json(ListJson {
        list,
        total,
        items,
        now: web.funnel.now_ms(),
    }))
}

#[derive(Serialize)]
pub struct ModelJson {
    model_version: String,
    text_model: String,
    tabular_model: String,
    lexicon: String,
    high: f64,
    medium: f64,
}

/// The model set in use.
pub async fn model(web: State<Web>, Caller(p): Caller) -> WebResult<ModelJson> {
    p.admin()?;
    let m = web.funnel.model();
    Ok(Json(ModelJson {
        model_version: m.model_version.clone(),
        text_model: m.files.text_model.version.clone(),
        tabular_model: m.files.tabular_model.version.clone(),
        lexicon: m.files.lexicon.version.clone(),
        high: m.buckets.high,
        medium: m.buckets.medium,
    }))
}
