//! `funnel watch`: print referral offers and withdrawals as they happen, until
//! interrupted (offline manager token).

use super::{show, Target};
use funnel::api::pb;
use futures::StreamExt;
use pb::watch_referrals_response::Event;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let req = pb::WatchReferralsRequest {};
    let mut referrals = args.target.referrals().await?;
    let mut events = referrals.watch_referrals(req).await?.into_inner();
    while let Some(ev) = events.next().await {
        let ev = ev?;
        let at = show::time(ev.at.as_ref());
        match ev.event {
            Some(Event::Offered(o)) => {
                let summary = o.lead.and_then(|l| l.summary);
                println!(
                    "{at}  offer {}  lead {}  accept by {}  ({})",
                    o.offer_id,
                    summary.as_ref().map_or("-", |s| &s.lead_id),
                    show::time(o.accept_by.as_ref()),
                    show::or_dash(&o.reason)
                );
                if let Some(s) = &summary {
                    show::print_summary(s);
                }
            }
            Some(Event::Withdrawn(w)) => println!(
                "{at}  withdrawn {}  lead {}  ({})",
                w.offer_id,
                w.lead_id,
                show::withdraw_reason(w.reason)
            ),
            Some(Event::Synced(s)) => println!("{at}  synced, {} pending", s.pending_offers),
            None => {}
        }
    }
    anyhow::bail!("the server ended the stream")
}
