//! `funnel stats`: queue depths and manager loads (admin token).

use super::{show, Target};
use funnel::api::pb;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Only this region.
    #[arg(long)]
    region: Option<String>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let req = pb::GetQueueStatsRequest {
        region_id: args.region,
    };
    let mut admin = args.target.admin().await?;
    let s = admin.get_queue_stats(req).await?.into_inner();
    let mut rows = vec![
        ["region", "queue", "owner", "bucket", "depth", "oldest (s)"]
            .map(String::from)
            .to_vec(),
    ];
    rows.extend(s.queues.iter().map(|q| {
        vec![
            q.region_id.clone(),
            show::queue(q.queue),
            q.owner_id.clone(),
            show::bucket(q.bucket),
            q.depth.to_string(),
            q.oldest_age_seconds.to_string(),
        ]
    }));
    show::print_table(&rows);
    println!();
    let mut rows = vec![[
        "manager",
        "tier",
        "region",
        "held/capacity",
        "offers",
        "available",
    ]
    .map(String::from)
    .to_vec()];
    rows.extend(s.managers.iter().map(|m| {
        vec![
            m.manager_id.clone(),
            show::tier(m.tier),
            m.region_id.clone(),
            format!("{}/{}", m.held, m.capacity),
            m.pending_offers.to_string(),
            show::yes_no(m.available).into(),
        ]
    }));
    show::print_table(&rows);
    Ok(())
}
