//! `funnel referral accept | decline | complete`: work a referral offer
//! (offline manager token; offer ids come from `funnel watch`).

use super::{show, Target};
use clap::Subcommand;
use funnel::api::convert::{decline_category_to_pb, referral_outcome_to_pb};
use funnel::api::pb;
use funnel::domain::{DeclineCategory, ReferralOutcome};

/// The offer a verb acts on, and where the server is.
#[derive(clap::Args)]
pub struct OfferArgs {
    #[command(flatten)]
    target: Target,
    lead_id: String,
    /// The offer (it fences the call).
    offer_id: String,
}

#[derive(Subcommand)]
pub enum Command {
    /// Accept an offer: you now hold the lead.
    Accept(OfferArgs),
    /// Decline an offer; the lead goes to the next eligible manager.
    Decline {
        #[command(flatten)]
        offer: OfferArgs,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
        /// no_capacity | not_my_customer | product_mismatch |
        /// customer_unsuitable | other (counted in the funnel report).
        #[arg(long, default_value = "other",
              value_parser = |s: &str| DeclineCategory::parse(s).map_err(|e| e.reason))]
        category: DeclineCategory,
    },
    /// Record the outcome of a lead you accepted.
    Complete {
        #[command(flatten)]
        offer: OfferArgs,
        /// converted | not_interested | return_to_remote | return_to_incubation
        #[arg(value_parser = |s: &str| ReferralOutcome::parse(s).map_err(|e| e.reason))]
        outcome: ReferralOutcome,
        /// Note for the audit trail.
        #[arg(long, default_value = "")]
        note: String,
    },
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    let offer = match &command {
        Command::Accept(o)
        | Command::Decline { offer: o, .. }
        | Command::Complete { offer: o, .. } => o,
    };
    let mut referrals = offer.target.referrals().await?;
    let (lead_id, offer_id) = (offer.lead_id.clone(), offer.offer_id.clone());
    match command {
        Command::Accept(_) => {
            let req = pb::AcceptReferralRequest { lead_id, offer_id };
            let lead = referrals.accept_referral(req).await?.into_inner().lead;
            println!("accepted");
            if let Some(s) = lead.as_ref().and_then(|l| l.summary.as_ref()) {
                show::print_summary(s);
            }
        }
        Command::Decline {
            reason, category, ..
        } => {
            let req = pb::DeclineReferralRequest {
                lead_id: lead_id.clone(),
                offer_id,
                reason,
                category: decline_category_to_pb(category) as i32,
            };
            referrals.decline_referral(req).await?;
            println!("declined {lead_id}");
        }
        Command::Complete { outcome, note, .. } => {
            let req = pb::CompleteReferralRequest {
                lead_id,
                offer_id,
                outcome: referral_outcome_to_pb(outcome) as i32,
                note,
            };
            let r = referrals.complete_referral(req).await?.into_inner();
            show::print_moved(r.state, r.destination.as_ref());
        }
    }
    Ok(())
}
