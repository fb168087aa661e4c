//! The audit events behind the webhooks that are not a move of the lead:
//! "offer about to time out" (the sweeper's `offer_expiring`, once per
//! offer) and "lead unplaceable" (`flagged_unplaceable`), and the due
//! call-backs of "my leads". Each scenario runs on a single Redis and on a
//! 3-node cluster and ends with the invariant checker.

mod common;

use common::scenario::*;
use funnel::domain::*;
use funnel::routing::AuditEvent;
use std::time::Duration;

fn count(history: &[AuditEvent], action: &str) -> usize {
    history.iter().filter(|e| e.action == action).count()
}

async fn warnings(h: &H, lead: &LeadId) -> Vec<AuditEvent> {
    let rec = h.router.get_lead(lead).await.unwrap();
    rec.history
        .into_iter()
        .filter(|e| e.action == "offer_expiring")
        .collect()
}

async fn an_offer_about_to_time_out_is_warned_of_once(h: H) {
    let r = &h.router;
    // The harness's SLA is 600 s; the default warning (5 min) is capped at half.
    assert_eq!(h.cfg.offer_sla, Duration::from_secs(600));
    let warn = h.cfg.offer_warning.min(h.cfg.offer_sla / 2);
    for m in ["o1", "o2"] {
        r.upsert_manager(&offline(m, "east", "east-b1", 20))
            .await
            .unwrap();
    }
    // Seven offers with one and the same deadline, and a sweep limit of 2:
    // every one is warned, each once, however the passes page through them.
    let mut leads = Vec::new();
    for n in 0..7 {
        let (iid, c) = (format!("x{n}"), format!("xc{n}"));
        let lead = ingest(&h, Lead::new(&iid, &c, Route::Referral, 90)).await;
        assert_eq!(lead.destination.kind, DestinationKind::ReferralOffered);
        leads.push(lead.lead_id);
    }
    let east = region("east");
    assert_eq!(r.sweep_region(&east, 2).await.unwrap().offers_expiring, 0);
    h.clock
        .advance(h.cfg.offer_sla - warn - Duration::from_secs(1));
    assert_eq!(r.sweep_region(&east, 2).await.unwrap().offers_expiring, 0);
    h.clock.advance(Duration::from_secs(2));
    let mut warned = 0;
    for _ in 0..10 {
        warned += r.sweep_region(&east, 2).await.unwrap().offers_expiring;
    }
    assert_eq!(warned, 7);
    for lead in &leads {
        let w = warnings(&h, lead).await;
        assert_eq!(w.len(), 1, "{lead}: {w:?}");
        let rec = r.get_lead(lead).await.unwrap();
        assert_eq!(w[0].manager, rec.lead.owner.as_ref().unwrap().as_str());
        assert_eq!(w[0].to, "referral_offered");
        assert!(w[0].reason.starts_with("accept deadline in"), "{w:?}");
    }
    h.assert_sound().await;

    // One accepted now is never warned again; the others time out, are
    // offered to the other manager, and that new offer is warned of in turn.
    let first = r.get_lead(&leads[0]).await.unwrap().lead;
    r.accept(offer_to(
        first.owner.as_ref().unwrap(),
        &leads[0],
        first.offer_id.as_ref().unwrap(),
    ))
    .await
    .unwrap();
    h.clock.advance(warn);
    let rep = r.sweep_region(&east, 100).await.unwrap();
    assert_eq!(rep.offers_timed_out, 6);
    assert_eq!(rep.offers_expiring, 0);
    h.clock
        .advance(h.cfg.offer_sla - warn + Duration::from_secs(1));
    assert_eq!(r.sweep_region(&east, 100).await.unwrap().offers_expiring, 6);
    assert_eq!(warnings(&h, &leads[0]).await.len(), 1);
    for lead in &leads[1..] {
        let w = warnings(&h, lead).await;
        assert_eq!(w.len(), 2, "{lead}: {w:?}");
        assert_ne!(w[0].manager, w[1].manager);
    }
    h.assert_sound().await;
}

async fn a_lead_no_manager_can_take_is_flagged_in_its_trail(h: H) {
    let r = &h.router;
    // No offline manager in the branch: unassigned and flagged.
    let high = ingest(&h, Lead::new("u1", "uc1", Route::Referral, 88)).await;
    assert_eq!(high.destination.kind, DestinationKind::BranchUnassigned);
    let trail = r.get_lead(&high.lead_id).await.unwrap().history;
    let flag = trail.last().unwrap();
    assert_eq!(flag.action, "flagged_unplaceable");
    assert_eq!(
        (flag.from.as_str(), flag.to.as_str()),
        ("branch_unassigned", "branch_unassigned")
    );
    assert!(flag.reason.contains("no offline manager"), "{flag:?}");
    // No remote manager either: after the back-flow it is flagged again.
    h.clock.advance(Duration::from_secs(3601));
    assert_eq!(
        r.sweep_region(&region("east"), 100)
            .await
            .unwrap()
            .backflowed,
        1
    );
    let trail = r.get_lead(&high.lead_id).await.unwrap().history;
    assert_eq!(count(&trail, "flagged_unplaceable"), 2);
    let flag = trail.last().unwrap();
    assert_eq!(flag.to, "remote_queued");
    assert!(flag.reason.contains("no remote manager"), "{flag:?}");
    // A placeable lead carries no flag.
    r.upsert_manager(&remote("r1", &["east"], 10))
        .await
        .unwrap();
    let med = ingest(&h, Lead::new("u2", "uc2", Route::Remote, 40)).await;
    let trail = r.get_lead(&med.lead_id).await.unwrap().history;
    assert_eq!(count(&trail, "flagged_unplaceable"), 0);
    h.assert_sound().await;
}

async fn my_work_lists_due_call_backs(h: H) {
    let r = &h.router;
    let me = mgr("r1");
    r.upsert_manager(&remote("r1", &["east"], 10))
        .await
        .unwrap();
    ingest(&h, Lead::new("cb1", "cbc1", Route::Remote, 40)).await;
    ingest(&h, Lead::new("cb2", "cbc2", Route::Remote, 40)).await;
    let leases = r.pull(&me, 2, None, &request()).await.unwrap();
    assert_eq!(leases.len(), 2);
    let at = |secs: i64| T0 + secs * 1000;
    for (l, secs) in leases.iter().zip([60, 120]) {
        r.complete(
            lease(&me, &l.lead.id, &l.lease_id),
            outcome(RemoteOutcome::CallBack, Some(at(secs)), "after lunch"),
        )
        .await
        .unwrap();
    }
    // Scheduled, not due: nothing listed yet.
    let work = r.my_work(&me).await.unwrap();
    assert!(work.held.is_empty() && work.callbacks.is_empty());
    h.clock.advance(Duration::from_secs(61));
    r.sweep_region(&region("east"), 100).await.unwrap();
    let work = r.my_work(&me).await.unwrap();
    let first_due = leases[0].lead.id.clone();
    assert_eq!(work.callbacks.len(), 1, "{:?}", work.callbacks);
    assert_eq!(work.callbacks[0].lead.id, first_due);
    assert!(work.callbacks[0].due_at >= at(60));
    h.clock.advance(Duration::from_secs(60));
    r.sweep_region(&region("east"), 100).await.unwrap();
    // The customer calls again: a re-score does not hide the call-back.
    ingest(&h, Lead::new("cb1-again", "cbc1", Route::Remote, 45)).await;
    let work = r.my_work(&me).await.unwrap();
    assert_eq!(work.callbacks.len(), 2, "{:?}", work.callbacks);
    assert!(work.callbacks[0].due_at <= work.callbacks[1].due_at);
    // Pulled: no longer a due call-back but a lease.
    let pulled = r.pull(&me, 5, None, &request()).await.unwrap();
    assert_eq!(pulled.len(), 2);
    let work = r.my_work(&me).await.unwrap();
    assert!(work.callbacks.is_empty());
    assert_eq!(work.held.len(), 2);
    h.assert_sound().await;
}

async fn a_due_call_back_is_listed_behind_a_long_own_queue(h: H) {
    let r = &h.router;
    let me = mgr("r1");
    r.upsert_manager(&remote("r1", &["east"], 10))
        .await
        .unwrap();
    ingest(&h, Lead::new("lq0", "lqc0", Route::Remote, 40)).await;
    let l = r.pull(&me, 1, None, &request()).await.unwrap().remove(0);
    r.complete(
        lease(&me, &l.lead.id, &l.lease_id),
        outcome(RemoteOutcome::CallBack, Some(T0 + 60_000), ""),
    )
    .await
    .unwrap();
    // 300 of the manager's own customers with better scores: they sort
    // ahead of the call-back in its queue.
    for n in 1..=300 {
        let (iid, c) = (format!("lq{n}"), format!("lqc{n}"));
        let mut lead = Lead::new(&iid, &c, Route::Remote, 69);
        lead.remote = Some("r1");
        ingest(&h, lead).await;
    }
    h.clock.advance(Duration::from_secs(61));
    r.sweep_region(&region("east"), 100).await.unwrap();
    let work = r.my_work(&me).await.unwrap();
    assert_eq!(work.callbacks.len(), 1);
    assert_eq!(work.callbacks[0].lead.id, l.lead.id);
    h.assert_sound().await;
}

on_both!(
    a_due_call_back_is_listed_behind_a_long_own_queue,
    an_offer_about_to_time_out_is_warned_of_once,
    a_lead_no_manager_can_take_is_flagged_in_its_trail,
    my_work_lists_due_call_backs,
);
