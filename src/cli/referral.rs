//! `funnel referral accept | decline | complete`: work a referral offer
//! (offline manager token; offer ids come from `funnel watch`).

use super::{show, Target};
use clap::Subcommand;
use funnel::api::pb;

#[derive(Subcommand)]
pub enum Command {
    /// Accept an offer: you now hold the lead.
    Accept {
        #[command(flatten)]
        target: Target,
        lead_id: String,
        offer_id: String,
    },
    /// Decline an offer; the lead goes to the next eligible manager.
    Decline {
        #[command(flatten)]
        target: Target,
        lead_id: String,
        offer_id: String,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
    },
    /// Record the outcome of a lead you accepted.
    Complete {
        #[command(flatten)]
        target: Target,
        lead_id: String,
        /// The offer you accepted (it fences this call).
        offer_id: String,
        #[arg(value_enum)]
        outcome: Outcome,
        /// Note for the audit trail.
        #[arg(long, default_value = "")]
        note: String,
    },
}

/// Outcomes CompleteReferral accepts.
#[derive(Clone, Copy, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Outcome {
    Converted,
    NotInterested,
    /// Back-flow to the remote queue.
    ReturnToRemote,
    ReturnToIncubation,
}

impl From<Outcome> for pb::Outcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Converted => pb::Outcome::Converted,
            Outcome::NotInterested => pb::Outcome::NotInterested,
            Outcome::ReturnToRemote => pb::Outcome::ReturnToRemote,
            Outcome::ReturnToIncubation => pb::Outcome::ReturnToIncubation,
        }
    }
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Accept {
            target,
            lead_id,
            offer_id,
        } => {
            let lead = target
                .connect()
                .await?
                .referrals
                .accept_referral(pb::AcceptReferralRequest { lead_id, offer_id })
                .await?
                .into_inner()
                .lead;
            println!("accepted");
            if let Some(s) = lead.as_ref().and_then(|l| l.summary.as_ref()) {
                show::print_summary(s);
            }
        }
        Command::Decline {
            target,
            lead_id,
            offer_id,
            reason,
        } => {
            target
                .connect()
                .await?
                .referrals
                .decline_referral(pb::DeclineReferralRequest {
                    lead_id: lead_id.clone(),
                    offer_id,
                    reason,
                })
                .await?;
            println!("declined {lead_id}");
        }
        Command::Complete {
            target,
            lead_id,
            offer_id,
            outcome,
            note,
        } => {
            let r = target
                .connect()
                .await?
                .referrals
                .complete_referral(pb::CompleteReferralRequest {
                    lead_id,
                    offer_id,
                    outcome: pb::Outcome::from(outcome) as i32,
                    note,
                })
                .await?
                .into_inner();
            println!(
                "{}  {}",
                show::state(r.state),
                show::destination(r.destination.as_ref())
            );
        }
    }
    Ok(())
}
