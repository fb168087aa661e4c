//! `funnel complete <lead> <lease> <outcome>`: record the outcome of a leased
//! lead (remote manager token).

use super::{show, Target};
use funnel::api::convert::{ms_to_timestamp, remote_outcome_to_pb};
use funnel::api::pb;
use funnel::domain::RemoteOutcome;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    lead_id: String,
    /// The lease id printed by `funnel pull`.
    lease_id: String,
    /// converted | not_interested | call_back | escalate | return_to_incubation
    #[arg(value_parser = |s: &str| RemoteOutcome::parse(s).map_err(|e| e.reason))]
    outcome: RemoteOutcome,
    /// For call_back: seconds from now.
    #[arg(long)]
    call_back_in: Option<i64>,
    /// Note for the audit trail (the reason, for escalate).
    #[arg(long, default_value = "")]
    note: String,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let callback_at = args.call_back_in.map(|s| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        ms_to_timestamp(now + s * 1000)
    });
    let req = pb::CompleteLeadRequest {
        lead_id: args.lead_id,
        lease_id: args.lease_id,
        outcome: remote_outcome_to_pb(args.outcome) as i32,
        callback_at,
        note: args.note,
    };
    let mut desk = args.target.desk().await?;
    let r = desk.complete_lead(req).await?.into_inner();
    show::print_moved(r.state, r.destination.as_ref());
    Ok(())
}
