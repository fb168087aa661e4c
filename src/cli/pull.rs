//! `funnel pull`: lease leads from the caller's queues (remote manager token).

use super::{show, Target};
use funnel::api::pb;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// How many leads at most (1..50).
    #[arg(long, default_value_t = 5)]
    max: i32,
    /// Lease length in seconds (60..3600; server default 900).
    #[arg(long)]
    lease_seconds: Option<i32>,
    /// Id of this pull: a retry with the same id answers the same leases
    /// (unset: the server picks one).
    #[arg(long, default_value = "")]
    request_id: String,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let req = pb::PullLeadsRequest {
        max_leads: args.max,
        lease_seconds: args.lease_seconds,
        request_id: args.request_id,
    };
    let mut desk = args.target.desk().await?;
    let leads = desk.pull_leads(req).await?.into_inner().leads;
    if leads.is_empty() {
        println!("no leads");
    }
    for l in leads {
        println!(
            "lease {} until {}",
            l.lease_id,
            show::time(l.lease_expires_at.as_ref())
        );
        if let Some(s) = &l.lead {
            show::print_summary(s);
        }
    }
    Ok(())
}
