//! `funnel report`: the funnel over some days, grouped (admin token).

use super::{show, Target};
use funnel::api::pb;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// First day, YYYY-MM-DD in the bank's time zone (default: today).
    #[arg(long, default_value = "")]
    from: String,
    /// Last day (default: today).
    #[arg(long, default_value = "")]
    to: String,
    /// region | branch | team | manager | product | campaign.
    #[arg(long, default_value = "region")]
    by: String,
    /// Only these regions (repeatable; default: every registered one).
    #[arg(long)]
    region: Vec<String>,
}

fn grouping(by: &str) -> anyhow::Result<pb::FunnelGrouping> {
    pb::FunnelGrouping::from_str_name(&format!("FUNNEL_GROUPING_{}", by.to_uppercase()))
        .filter(|g| *g != pb::FunnelGrouping::Unspecified)
        .ok_or_else(|| {
            anyhow::anyhow!("--by: one of region, branch, team, manager, product, campaign")
        })
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{:.1}%", 100.0 * x))
}

fn within(s: Option<u64>, count: u64) -> String {
    match (s, count) {
        (_, 0) => "-".into(),
        (Some(s), _) if s < 3600 => format!("<= {} min", s / 60),
        (Some(s), _) if s < 86_400 => format!("<= {} h", s / 3600),
        (Some(s), _) => format!("<= {} d", s / 86_400),
        (None, _) => "> 30 d".into(),
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let req = pb::GetFunnelReportRequest {
        from_date: args.from,
        to_date: args.to,
        group_by: grouping(&args.by)? as i32,
        region_ids: args.region,
    };
    let mut admin = args.target.admin().await?;
    let r = admin.get_funnel_report(req).await?.into_inner();
    println!("{} .. {}, by {}", r.from_date, r.to_date, args.by);
    let mut rows = vec![[
        args.by.as_str(),
        "calls",
        "high",
        "medium",
        "offered",
        "accepted",
        "declined",
        "timed out",
        "leased",
        "touched",
        "converted",
        "back-flows",
        "accept %",
        "convert %",
        "first touch p50",
    ]
    .map(String::from)
    .to_vec()];
    for row in r.rows.iter().chain(r.total.as_ref()) {
        let (Some(n), Some(rates), Some(ttft)) = (
            row.counts.as_ref(),
            row.rates.as_ref(),
            row.time_to_first_touch.as_ref(),
        ) else {
            continue;
        };
        rows.push(vec![
            row.group.clone(),
            n.ingested.to_string(),
            n.bucket_high.to_string(),
            n.bucket_medium.to_string(),
            n.offered.to_string(),
            n.accepted.to_string(),
            n.declined.to_string(),
            n.timed_out.to_string(),
            n.leased.to_string(),
            n.touched.to_string(),
            n.converted.to_string(),
            n.backflow.to_string(),
            pct(rates.acceptance),
            pct(rates.conversion),
            within(ttft.p50_within_seconds, ttft.count),
        ]);
    }
    show::print_table(&rows);
    Ok(())
}
