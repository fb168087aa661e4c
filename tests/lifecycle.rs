//! The lifecycle findings of the review, one scenario each, on a single
//! Redis and on a 3-node cluster. Each scenario states the behaviour that
//! was broken and ends with the invariant checker.

mod common;

use common::scenario::*;
use funnel::domain::*;
use funnel::routing::{
    Clock, ListQuery, ManualClock, Page, Router, RoutingError, ScriptErrorCode, WatchList,
};
use std::sync::Arc;
use std::time::Duration;

fn refused_with(e: &RoutingError, code: ScriptErrorCode) -> bool {
    matches!(e, RoutingError::Rejected(s) if s.code == code)
}

async fn offer_of(h: &H, lead: &LeadId) -> String {
    h.router
        .get_lead(lead)
        .await
        .unwrap()
        .lead
        .offer_id
        .unwrap()
}

fn wealth_only(mut m: Manager) -> Manager {
    m.qualified_products = vec![Product::Wealth];
    m
}

/// Finding 1: a retried AcceptReferral answers the acceptance; an accepted
/// referral is bounded (reminder, then back to the pool) and handed on when
/// its manager goes away.
async fn an_accept_retried_answers_and_an_acceptance_is_bounded(h: H) {
    let r = &h.router;
    r.upsert_manager(&offline("o1", "east", "east-b1", 5))
        .await
        .unwrap();
    let a = ingest(&h, Lead::new("f1-a", "f1-c1", Route::Referral, 90)).await;
    let offer = offer_of(&h, &a.lead_id).await;
    let o1 = mgr("o1");
    r.accept(offer_to(&o1, &a.lead_id, &offer)).await.unwrap();
    // The response was lost: the retry answers the acceptance, no error.
    r.accept(offer_to(&o1, &a.lead_id, &offer)).await.unwrap();
    let work = r.my_work(&o1).await.unwrap();
    assert_eq!(work.held.len(), 1);
    let follow_up = work.held[0].due_at;
    assert_eq!(
        follow_up,
        h.clock.now_ms() + h.cfg.acceptance_followup.as_millis() as i64
    );
    // No outcome: a reminder, then back to the remote pool.
    h.clock
        .advance(h.cfg.acceptance_followup + Duration::from_secs(1));
    r.sweep_region(&region("east"), 10).await.unwrap();
    let rec = r.get_lead(&a.lead_id).await.unwrap();
    assert_eq!(rec.lead.state, LeadState::ReferralAccepted);
    assert!(rec.history.iter().any(|e| e.action == "followup_reminder"));
    h.clock
        .advance(h.cfg.acceptance_grace + Duration::from_secs(1));
    r.sweep_region(&region("east"), 10).await.unwrap();
    let rec = r.get_lead(&a.lead_id).await.unwrap();
    assert_eq!(rec.lead.state, LeadState::RemoteQueued);
    assert!(rec.history.iter().any(|e| e.action == "acceptance_expired"));
    assert!(r.my_work(&o1).await.unwrap().held.is_empty());
    h.assert_sound().await;

    // Going away hands an accepted referral on, like a pending offer.
    r.upsert_manager(&offline("o2", "east", "east-b1", 5))
        .await
        .unwrap();
    let b = ingest(&h, Lead::new("f1-b", "f1-c2", Route::Referral, 90)).await;
    let holder = r.get_lead(&b.lead_id).await.unwrap().lead.owner.unwrap();
    let offer = offer_of(&h, &b.lead_id).await;
    r.accept(offer_to(&holder, &b.lead_id, &offer))
        .await
        .unwrap();
    r.set_availability(&holder, false).await.unwrap();
    let rec = r.get_lead(&b.lead_id).await.unwrap();
    assert_eq!(rec.lead.state, LeadState::ReferralOffered);
    assert_ne!(rec.lead.owner.as_ref(), Some(&holder));
    assert!(rec
        .history
        .iter()
        .any(|e| e.action == "acceptance_handed_on"));
    h.assert_sound().await;
}

/// Finding 2: a pull retried with its request id answers the same leases,
/// across shards too, and the manager can list what it holds.
async fn a_pull_retried_answers_the_same_leases(h: H) {
    let r = &h.router;
    // Queue statistics of "every region" cover the registered ones.
    for reg in ["east", "west"] {
        r.register_region(&region(reg), reg).await.unwrap();
    }
    r.upsert_manager(&remote("rp", &["east", "west"], 10))
        .await
        .unwrap();
    for (i, reg) in ["east", "west", "east", "west"].iter().enumerate() {
        let (iid, cust) = (format!("f2-{i}"), format!("f2-c{i}"));
        let mut l = Lead::new(&iid, &cust, Route::Remote, 50);
        l.region = reg;
        ingest(&h, l).await;
    }
    let m = mgr("rp");
    let first = r.pull(&m, 3, None, "pull-1").await.unwrap();
    assert_eq!(first.len(), 3);
    let again = r.pull(&m, 3, None, "pull-1").await.unwrap();
    let ids = |ls: &[funnel::routing::Lease]| {
        let mut v: Vec<_> = ls.iter().map(|l| l.lease_id.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&first), ids(&again), "a retry grants nothing new");
    let work = r.my_work(&m).await.unwrap();
    assert_eq!(work.held.len(), 3);
    let stats = r.queue_stats(None).await.unwrap();
    let held: u64 = stats
        .managers
        .iter()
        .filter(|l| l.manager == "rp")
        .map(|l| l.held)
        .sum();
    assert_eq!(held, 3, "the listing agrees with the queue statistics");
    // A new request id is a new pull.
    assert_eq!(r.pull(&m, 3, None, "pull-2").await.unwrap().len(), 1);
    h.assert_sound().await;
}

/// Finding 3: a CompleteLead retried after it succeeded answers the
/// recorded result; a different outcome on the same lease is refused.
async fn a_completion_retried_answers_the_recorded_result(h: H) {
    let r = &h.router;
    r.upsert_manager(&remote("rc", &["east"], 5)).await.unwrap();
    ingest(&h, Lead::new("f3-a", "f3-c1", Route::Remote, 50)).await;
    let m = mgr("rc");
    let l = r.pull(&m, 1, None, "f3").await.unwrap().remove(0);
    let done = r
        .complete(
            lease(&m, &l.lead.id, &l.lease_id),
            outcome(RemoteOutcome::Converted, None, "ok"),
        )
        .await
        .unwrap();
    assert!(!done.replayed);
    let retry = r
        .complete(
            lease(&m, &l.lead.id, &l.lease_id),
            outcome(RemoteOutcome::Converted, None, "ok"),
        )
        .await
        .unwrap();
    assert!(retry.replayed);
    assert_eq!(
        (retry.state, retry.destination),
        (done.state, done.destination)
    );
    let other = r
        .complete(
            lease(&m, &l.lead.id, &l.lease_id),
            outcome(RemoteOutcome::NotInterested, None, ""),
        )
        .await
        .unwrap_err();
    assert!(
        refused_with(&other, ScriptErrorCode::WrongState),
        "{other:?}"
    );
    // The closer is recorded (GetLead lets it read the lead for a while).
    let rec = r.get_lead(&l.lead.id).await.unwrap();
    assert_eq!(rec.lead.closed_by, Some(m));
    h.assert_sound().await;
}

/// Finding 4: CompleteReferral is fenced by the acceptance: a stale retry
/// from an earlier acceptance leaves a later acceptance alone.
async fn a_stale_referral_completion_leaves_a_new_acceptance_alone(h: H) {
    let r = &h.router;
    r.upsert_manager(&offline("o1", "east", "east-b1", 5))
        .await
        .unwrap();
    r.upsert_manager(&remote("rr", &["east"], 5)).await.unwrap();
    let a = ingest(&h, Lead::new("f4-a", "f4-c1", Route::Referral, 90)).await;
    let o1 = mgr("o1");
    let first = offer_of(&h, &a.lead_id).await;
    r.accept(offer_to(&o1, &a.lead_id, &first)).await.unwrap();
    let back = offer_to(&o1, &a.lead_id, &first);
    r.complete_referral(back, ReferralOutcome::ReturnToRemote, "phone first")
        .await
        .unwrap();
    // The remote manager escalates it back; o1 accepts again.
    let m = mgr("rr");
    let l = r.pull(&m, 1, None, "f4").await.unwrap().remove(0);
    r.escalate(lease(&m, &l.lead.id, &l.lease_id), "ready to sign")
        .await
        .unwrap();
    let second = offer_of(&h, &a.lead_id).await;
    assert_ne!(first, second);
    r.accept(offer_to(&o1, &a.lead_id, &second)).await.unwrap();
    // The first completion's retry answers what it answered then...
    let stale = r
        .complete_referral(back, ReferralOutcome::ReturnToRemote, "phone first")
        .await
        .unwrap();
    assert!(stale.replayed);
    // ...and anything else on the old acceptance is refused.
    let err = r
        .complete_referral(back, ReferralOutcome::Converted, "")
        .await
        .unwrap_err();
    assert!(precondition(&err), "{err:?}");
    let rec = r.get_lead(&a.lead_id).await.unwrap();
    assert_eq!(rec.lead.state, LeadState::ReferralAccepted);
    assert_eq!(rec.lead.offer_id.as_deref(), Some(second.as_str()));
    h.assert_sound().await;
}

/// Finding 5: qualification is checked at the moment of assignment: a
/// revoked qualification empties the personal queue and the pending offers,
/// and the old offer cannot be accepted.
async fn a_revoked_qualification_is_honoured_at_pull_and_accept(h: H) {
    let r = &h.router;
    r.upsert_manager(&remote("rq", &["east"], 5)).await.unwrap();
    let mut own = Lead::new("f5-a", "f5-c1", Route::Remote, 50);
    own.remote = Some("rq");
    assert_eq!(
        ingest(&h, own).await.destination.kind,
        DestinationKind::RemotePersonal
    );
    let mut m = remote("rq", &["east"], 5);
    m.qualified_products = vec![Product::Loan];
    r.upsert_manager(&m).await.unwrap();
    assert!(r.pull(&mgr("rq"), 5, None, "f5").await.unwrap().is_empty());

    r.upsert_manager(&wealth_only(offline("oq", "east", "east-b1", 5)))
        .await
        .unwrap();
    let b = ingest(&h, Lead::new("f5-b", "f5-c2", Route::Referral, 90)).await;
    let offer = offer_of(&h, &b.lead_id).await;
    let mut o = offline("oq", "east", "east-b1", 5);
    o.qualified_products = vec![Product::Fund];
    r.upsert_manager(&o).await.unwrap();
    let err = r
        .accept(offer_to(&mgr("oq"), &b.lead_id, &offer))
        .await
        .unwrap_err();
    assert!(precondition(&err), "{err:?}");
    let rec = r.get_lead(&b.lead_id).await.unwrap();
    assert_eq!(rec.lead.state, LeadState::BranchUnassigned);
    assert!(rec.history.iter().any(|e| e.action == "assignment_revoked"));
    h.assert_sound().await;
}

/// Finding 6: do-not-contact and complaints are remembered per customer,
/// across regions, and act at once on a lead a manager holds.
async fn do_not_contact_and_complaints_are_remembered(h: H) {
    let r = &h.router;
    r.upsert_manager(&offline("o1", "east", "east-b1", 5))
        .await
        .unwrap();
    // Opted out once: the next call without the flag routes nothing.
    ingest(&h, Lead::new("f6-a1", "f6-c1", Route::Suppressed, 90)).await;
    let next = ingest(&h, Lead::new("f6-a2", "f6-c1", Route::Referral, 90)).await;
    assert_eq!(next.route, Route::Suppressed);
    assert!(r.pending_offers(&mgr("o1")).await.unwrap().is_empty());
    // ...also when the call comes in through another region.
    let mut west = Lead::new("f6-a3", "f6-c1", Route::Referral, 90);
    west.region = "west";
    let w = ingest(&h, west).await;
    assert_eq!(
        (w.route, w.region.clone()),
        (Route::Suppressed, region("east"))
    );

    // A complaint on an accepted referral ends the hold at once...
    let b = ingest(&h, Lead::new("f6-b1", "f6-c2", Route::Referral, 90)).await;
    let o1 = mgr("o1");
    let offer = offer_of(&h, &b.lead_id).await;
    r.accept(offer_to(&o1, &b.lead_id, &offer)).await.unwrap();
    let c = ingest(&h, Lead::new("f6-b2", "f6-c2", Route::ServiceFollowup, 40)).await;
    assert_eq!(c.state, LeadState::ServiceFollowup);
    assert!(r.my_work(&o1).await.unwrap().held.is_empty());
    // ...and the next high call does not take it to sales.
    let d = ingest(&h, Lead::new("f6-b3", "f6-c2", Route::Referral, 95)).await;
    assert_eq!(d.state, LeadState::ServiceFollowup);
    // An admin's do-not-contact suppresses the open lead, whoever holds it.
    let e = ingest(&h, Lead::new("f6-c1x", "f6-c3", Route::Referral, 90)).await;
    assert_eq!(e.state, LeadState::ReferralOffered);
    let state = r
        .customer_set(&CustomerId::parse("f6-c3").unwrap(), Some(true), false)
        .await
        .unwrap();
    assert!(state.do_not_contact);
    assert_eq!(
        r.get_lead(&e.lead_id).await.unwrap().lead.state,
        LeadState::Suppressed
    );
    h.assert_sound().await;
}

/// Finding 7: deadlines follow Redis's clock, not a replica's.
async fn a_replica_with_a_wrong_clock_writes_no_wrong_deadline(h: H) {
    // Another replica on the same Redis, two days fast (the harness's own
    // router runs on a test clock, so this one reads Redis's TIME).
    let fast = Arc::new(ManualClock::new(
        funnel::routing::SystemClock.now_ms() + 2 * 86_400_000,
    ));
    let replica = Router::with_replica_clock(h.conn.clone(), h.cfg.clone(), fast);
    replica
        .upsert_manager(&offline("o1", "east", "east-b1", 5))
        .await
        .unwrap();
    let before = funnel::routing::SystemClock.now_ms();
    let req = Lead::new("f7-a", "f7-c1", Route::Referral, 90).req();
    let a = replica.ingest(&req).await.unwrap();
    let rec = replica.get_lead(&a.lead_id).await.unwrap();
    let sla = h.cfg.offer_sla.as_millis() as i64;
    let deadline = rec.lead.offer_deadline.unwrap();
    assert!(
        deadline >= before + sla - 5_000 && deadline <= before + sla + 60_000,
        "the offer deadline {deadline} came from the replica's clock"
    );
    // A sweep by the fast replica expires nothing that is not due.
    let swept = replica.sweep_region(&region("east"), 10).await.unwrap();
    assert_eq!(swept.offers_timed_out, 0);
    assert_eq!(
        replica.get_lead(&a.lead_id).await.unwrap().lead.state,
        LeadState::ReferralOffered
    );
}

/// Finding 8: leads nobody can take do not keep others waiting.
async fn unplaceable_leads_do_not_block_the_unassigned_list(h: H) {
    let r = &h.router;
    let mut o = wealth_only(offline("o8", "east", "east-b1", 5));
    o.available = false;
    r.upsert_manager(&o).await.unwrap();
    for i in 0..25 {
        let (iid, cust) = (format!("f8-loan-{i}"), format!("f8-l{i}"));
        let mut l = Lead::new(&iid, &cust, Route::Referral, 90);
        l.product = Product::Loan;
        ingest(&h, l).await;
        h.clock.advance(Duration::from_millis(10));
    }
    let wealth = ingest(&h, Lead::new("f8-w", "f8-w1", Route::Referral, 90)).await;
    assert_eq!(wealth.state, LeadState::BranchUnassigned);
    r.set_availability(&mgr("o8"), true).await.unwrap();
    let rec = r.get_lead(&wealth.lead_id).await.unwrap();
    assert_eq!(rec.lead.state, LeadState::ReferralOffered);
    assert_eq!(rec.lead.owner, Some(mgr("o8")));
    // Listed with pagination.
    let page = east_list(r, WatchList::Unassigned, 0).await;
    assert_eq!((page.items.len(), page.total), (10, 25));
    let last = east_list(r, WatchList::Unassigned, 20).await;
    assert_eq!(last.items.len(), 5);
    h.assert_sound().await;
}

/// Finding 9 (the hand-off was removed): a customer's leads live in its
/// home region, so a call through another region joins the open lead.
async fn a_customer_has_one_open_lead_across_regions(h: H) {
    let first = ingest(&h, Lead::new("f9-a", "f9-c1", Route::Remote, 50)).await;
    let mut west = Lead::new("f9-b", "f9-c1", Route::Referral, 90);
    west.region = "west";
    let second = ingest(&h, west).await;
    assert!(second.joined);
    assert_eq!(second.lead_id, first.lead_id);
    assert_eq!(second.region, region("east"));
    h.assert_sound().await;
}

/// Finding 10: a cap on sales hand-offs per customer and window.
async fn sales_contacts_are_capped(h: H) {
    let r = &h.router;
    r.upsert_manager(&remote("rk", &["east"], 10))
        .await
        .unwrap();
    let m = mgr("rk");
    for i in 0..2 {
        let (iid, req_id) = (format!("f10-{i}"), format!("f10-{i}"));
        let a = ingest(&h, Lead::new(&iid, "f10-c", Route::Remote, 50)).await;
        assert_eq!(a.route, Route::Remote);
        let l = r.pull(&m, 1, None, &req_id).await.unwrap().remove(0);
        let done = outcome(RemoteOutcome::NotInterested, None, "");
        r.complete(lease(&m, &l.lead.id, &l.lease_id), done)
            .await
            .unwrap();
    }
    let third = ingest(&h, Lead::new("f10-2", "f10-c", Route::Referral, 90)).await;
    assert_eq!(third.route, Route::Incubation);
    let rec = r.get_lead(&third.lead_id).await.unwrap();
    assert!(rec
        .history
        .iter()
        .any(|e| e.reason.starts_with("contact cap")));
    // A week later the cap no longer applies.
    h.clock
        .advance(h.cfg.contact_window + Duration::from_secs(1));
    let later = ingest(&h, Lead::new("f10-3", "f10-c", Route::Referral, 90)).await;
    assert_eq!(later.route, Route::Referral);
    h.assert_sound().await;
}

/// Finding 11: work nobody can take is flagged, listed and counted, and
/// unflagged once a qualified manager is registered.
async fn work_nobody_can_take_is_never_invisible(h: H) {
    let r = &h.router;
    r.upsert_manager(&wealth_only(offline("o11", "east", "east-b1", 5)))
        .await
        .unwrap();
    r.upsert_manager(&wealth_only(remote("r11", &["east"], 5)))
        .await
        .unwrap();
    let mut l = Lead::new("f11-a", "f11-c1", Route::Referral, 90);
    l.product = Product::Loan;
    let a = ingest(&h, l).await;
    let rec = r.get_lead(&a.lead_id).await.unwrap();
    assert_eq!(rec.lead.state, LeadState::BranchUnassigned);
    let page = east_list(r, WatchList::Unplaceable, 0).await;
    assert_eq!(page.total, 1);
    assert!(
        page.items[0].note.contains("loan"),
        "{}",
        page.items[0].note
    );
    // Back-flow to a loan pool nobody may pull: still flagged.
    h.clock
        .advance(h.cfg.backflow_wait + Duration::from_secs(1));
    r.sweep_region(&region("east"), 10).await.unwrap();
    let rec = r.get_lead(&a.lead_id).await.unwrap();
    assert_eq!(rec.lead.state, LeadState::RemoteQueued);
    let stats = r.queue_stats(Some(&region("east"))).await.unwrap();
    assert!(stats
        .queues
        .iter()
        .any(|q| q.queue == "unplaceable" && q.depth == 1));
    h.assert_sound().await;
    // A loan-qualified remote manager is registered: placeable again.
    r.upsert_manager(&remote("r12", &["east"], 5))
        .await
        .unwrap();
    let page = east_list(r, WatchList::Unplaceable, 0).await;
    assert_eq!(page.total, 0);
    assert_eq!(r.pull(&mgr("r12"), 5, None, "f11").await.unwrap().len(), 1);
    h.assert_sound().await;
}

on_both!(
    an_accept_retried_answers_and_an_acceptance_is_bounded,
    a_pull_retried_answers_the_same_leases,
    a_completion_retried_answers_the_recorded_result,
    a_stale_referral_completion_leaves_a_new_acceptance_alone,
    a_revoked_qualification_is_honoured_at_pull_and_accept,
    do_not_contact_and_complaints_are_remembered,
    a_replica_with_a_wrong_clock_writes_no_wrong_deadline,
    unplaceable_leads_do_not_block_the_unassigned_list,
    a_customer_has_one_open_lead_across_regions,
    sales_contacts_are_capped,
    work_nobody_can_take_is_never_invisible,
);

/// Ten leads of east's `list`, from `offset`.
async fn east_list(r: &Router, list: WatchList, offset: u64) -> Page {
    let q = ListQuery {
        list,
        offset,
        count: 10,
    };
    r.list_leads(&region("east"), q).await.unwrap()
}
