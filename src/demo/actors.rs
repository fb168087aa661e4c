//! What the demo's managers do: branch managers answer offers on their
//! stream, remote managers pull and work their queue. Each outcome is
//! tallied only once the server recorded it.

use super::*;

pub(super) async fn branch_manager(
    c: Clients,
    me: String,
    tallies: Tallies,
    stop: Arc<std::sync::atomic::AtomicBool>,
    story: Story,
) {
    let Ok(resp) = c
        .referrals
        .clone()
        .watch_referrals(pb::WatchReferralsRequest {})
        .await
    else {
        return;
    };
    let mut events = resp.into_inner();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let next = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
        let Ok(Some(Ok(ev))) = next else { continue };
        let Some(pb::watch_referrals_response::Event::Offered(offer)) = ev.event else {
            continue;
        };
        let Some(lead) = offer.lead.and_then(|l| l.summary) else {
            continue;
        };
        tally(&tallies, &me, |t| t.offered += 1);
        let roll = chance(&offer.offer_id, 1);
        let mut referrals = c.referrals.clone();
        if roll < 0.55 {
            let accepted = referrals
                .accept_referral(pb::AcceptReferralRequest {
                    lead_id: lead.lead_id.clone(),
                    offer_id: offer.offer_id.clone(),
                })
                .await;
            if accepted.is_err() {
                tally(&tallies, &me, |t| t.failed += 1);
                continue;
            }
            tally(&tallies, &me, |t| t.accepted += 1);
            let p = lead.score.map(|s| s.probability).unwrap_or(0.0);
            let r = chance(&lead.lead_id, 2);
            let outcome = if r < 0.1 {
                pb::Outcome::ReturnToRemote
            } else if r < p + 0.1 {
                pb::Outcome::Converted
            } else {
                pb::Outcome::NotInterested
            };
            let done = referrals
                .complete_referral(pb::CompleteReferralRequest {
                    lead_id: lead.lead_id,
                    outcome: outcome as i32,
                    note: "met at the branch".into(),
                    offer_id: offer.offer_id.clone(),
                })
                .await;
            // Counted only once the server recorded it.
            tally(&tallies, &me, |t| match (done.is_ok(), outcome) {
                (false, _) => t.failed += 1,
                (true, pb::Outcome::ReturnToRemote) => t.handed_back += 1,
                (true, pb::Outcome::Converted) => t.converted += 1,
                (true, _) => t.not_interested += 1,
            });
        } else if roll < 0.75 {
            story
                .lock()
                .expect("story lock")
                .get_or_insert_with(|| lead.lead_id.clone());
            let declined = referrals
                .decline_referral(pb::DeclineReferralRequest {
                    lead_id: lead.lead_id,
                    offer_id: offer.offer_id,
                    reason: "fully booked this week".into(),
                    category: pb::DeclineCategory::NoCapacity as i32,
                })
                .await;
            tally(&tallies, &me, |t| match declined {
                Ok(_) => t.declined += 1,
                Err(_) => t.failed += 1,
            });
        } else {
            tally(&tallies, &me, |t| t.ignored += 1); // the SLA will run out
        }
    }
}

pub(super) async fn remote_manager(
    c: Clients,
    me: String,
    tallies: Tallies,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut desk = c.desk.clone();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let leads = match desk
            .pull_leads(pb::PullLeadsRequest {
                max_leads: 5,
                lease_seconds: None,
                request_id: String::new(),
            })
            .await
        {
            Ok(r) => r.into_inner().leads,
            Err(_) => {
                tally(&tallies, &me, |t| t.failed += 1);
                Vec::new()
            }
        };
        if leads.is_empty() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        }
        for l in leads {
            let Some(lead) = l.lead else { continue };
            tally(&tallies, &me, |t| t.pulled += 1);
            // Reading the whole history is what a manager does first.
            let _ = desk
                .get_lead(pb::GetLeadRequest {
                    lead_id: lead.lead_id.clone(),
                })
                .await;
            let p = lead.score.map(|s| s.probability).unwrap_or(0.0);
            // Rolled per lease: a called-back lead gets a fresh outcome.
            let r = chance(&l.lease_id, 3);
            let (outcome, callback_at) = if r < 0.08 {
                let at = std::time::SystemTime::now() + Duration::from_secs(2);
                let ms = at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                (
                    pb::Outcome::CallBack,
                    Some(crate::api::convert::ms_to_timestamp(ms)),
                )
            } else if r < 0.14 {
                (pb::Outcome::Escalate, None)
            } else if r < 0.14 + p {
                (pb::Outcome::Converted, None)
            } else {
                (pb::Outcome::NotInterested, None)
            };
            let done = desk
                .complete_lead(pb::CompleteLeadRequest {
                    lead_id: lead.lead_id,
                    lease_id: l.lease_id,
                    outcome: outcome as i32,
                    callback_at,
                    note: "called the customer".into(),
                })
                .await;
            // Counted only once the server recorded it.
            tally(&tallies, &me, |t| match (done.is_ok(), outcome) {
                (false, _) => t.failed += 1,
                (true, pb::Outcome::CallBack) => t.call_backs += 1,
                (true, pb::Outcome::Escalate) => t.escalated += 1,
                (true, pb::Outcome::Converted) => t.converted += 1,
                (true, _) => t.not_interested += 1,
            });
        }
    }
}
