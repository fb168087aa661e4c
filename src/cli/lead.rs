//! `funnel lead <id>`: a lead with its transcripts, scores and audit trail
//! (admin token, or the manager holding or offered it).

use super::{audit, show, LeadArgs};
use funnel::api::pb;

pub async fn run(args: LeadArgs) -> anyhow::Result<()> {
    let req = pb::GetLeadRequest {
        lead_id: args.lead_id,
    };
    let mut desk = args.target.desk().await?;
    let lead = desk
        .get_lead(req)
        .await?
        .into_inner()
        .lead
        .unwrap_or_default();
    if let Some(s) = &lead.summary {
        show::print_summary(s);
    }
    for rec in &lead.interactions {
        let Some(i) = &rec.interaction else { continue };
        let score = rec.score.as_ref();
        println!(
            "-- interaction {}  received {}  score {} ({})",
            i.interaction_id,
            show::time(rec.received_at.as_ref()),
            score.map_or("-".into(), |s| s.score.to_string()),
            score.map_or("-".into(), |s| show::bucket(s.bucket)),
        );
        for t in &i.turns {
            let who = if t.speaker == pb::Speaker::Robot as i32 {
                "robot"
            } else {
                "customer"
            };
            println!("   {who:>8}: {}", t.text);
        }
    }
    println!("-- audit trail");
    audit::print_events(&lead.history);
    Ok(())
}
