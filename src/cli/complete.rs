//! `funnel complete <lead> <lease> <outcome>`: record the outcome of a leased
//! lead (remote manager token).

use super::{show, Target};
use funnel::api::convert::ms_to_timestamp;
use funnel::api::pb;

/// Outcomes CompleteLead accepts.
#[derive(Clone, Copy, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Outcome {
    Converted,
    NotInterested,
    CallBack,
    Escalate,
    ReturnToIncubation,
}

impl From<Outcome> for pb::Outcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Converted => pb::Outcome::Converted,
            Outcome::NotInterested => pb::Outcome::NotInterested,
            Outcome::CallBack => pb::Outcome::CallBack,
            Outcome::Escalate => pb::Outcome::Escalate,
            Outcome::ReturnToIncubation => pb::Outcome::ReturnToIncubation,
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    lead_id: String,
    /// The lease id printed by `funnel pull`.
    lease_id: String,
    #[arg(value_enum)]
    outcome: Outcome,
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
    let c = args.target.connect().await?;
    let r = c
        .desk
        .clone()
        .complete_lead(pb::CompleteLeadRequest {
            lead_id: args.lead_id,
            lease_id: args.lease_id,
            outcome: pb::Outcome::from(args.outcome) as i32,
            callback_at,
            note: args.note,
        })
        .await?
        .into_inner();
    println!(
        "{}  {}",
        show::state(r.state),
        show::destination(r.destination.as_ref())
    );
    Ok(())
}
