//! `funnel audit <lead>`: a lead's audit trail, oldest first, one line per
//! event (admin token).

use super::{show, LeadArgs};
use funnel::api::pb;

pub async fn run(args: LeadArgs) -> anyhow::Result<()> {
    let req = pb::GetAuditTrailRequest {
        lead_id: args.lead_id,
    };
    let mut admin = args.target.admin().await?;
    let events = admin.get_audit_trail(req).await?.into_inner().events;
    print_events(&events);
    Ok(())
}

/// Columns: local time, actor, action, from → to, manager, interaction id,
/// reason; `-` where an event has none.
pub fn print_events(events: &[pb::AuditEvent]) {
    let mut rows = vec![[
        "time",
        "actor",
        "action",
        "from → to",
        "manager",
        "interaction",
        "reason",
    ]
    .map(String::from)
    .to_vec()];
    rows.extend(events.iter().map(|e| {
        vec![
            show::time(e.at.as_ref()),
            e.actor.clone(),
            e.action.clone(),
            format!(
                "{} → {}",
                show::state(e.from_state),
                show::state(e.to_state)
            ),
            show::or_dash(&e.manager_id).to_string(),
            show::or_dash(&e.interaction_id).to_string(),
            show::or_dash(&e.reason).to_string(),
        ]
    }));
    show::print_table(&rows);
}
