//! The routing layer against a real redis-server (single node) and a real
//! three-node Redis Cluster: every scenario runs on both, through the same
//! code path. Every test ends with the invariant checker.

mod common;

use common::scenario::*;
use funnel::domain::*;
use funnel::routing::{Clock, RoutingError, ScriptError, ScriptErrorCode};
use std::collections::HashSet;
use std::time::Duration;

async fn ingestion_routes_and_is_idempotent(h: H) {
    let r = &h.router;
    r.upsert_manager(&offline("o1", "east", "east-b1", 5))
        .await
        .unwrap();
    r.upsert_manager(&remote("r1", &["east"], 10))
        .await
        .unwrap();

    let high = ingest(&h, Lead::new("i-high", "c1", Route::Referral, 80)).await;
    assert_eq!(high.destination.kind, DestinationKind::ReferralOffered);
    assert_eq!(high.destination.manager, Some(mgr("o1")));
    assert_eq!(high.state, LeadState::ReferralOffered);

    let again = ingest(&h, Lead::new("i-high", "c1", Route::Referral, 80)).await;
    assert!(again.replayed);
    assert_eq!(again.lead_id, high.lead_id);

    let med = ingest(&h, Lead::new("i-med", "c2", Route::Remote, 40)).await;
    assert_eq!(med.destination.kind, DestinationKind::RemotePool);
    let mut own = Lead::new("i-own", "c3", Route::Remote, 40);
    own.remote = Some("r1");
    let own = ingest(&h, own).await;
    assert_eq!(own.destination.kind, DestinationKind::RemotePersonal);
    assert_eq!(own.destination.manager, Some(mgr("r1")));
    let mut stranger = Lead::new("i-unknown-remote", "c3b", Route::Remote, 40);
    stranger.remote = Some("nobody");
    assert_eq!(
        ingest(&h, stranger).await.destination.kind,
        DestinationKind::RemotePool
    );

    let low = ingest(&h, Lead::new("i-low", "c4", Route::Incubation, 5)).await;
    assert_eq!(low.destination.kind, DestinationKind::Incubation);
    let complaint = ingest(&h, Lead::new("i-cmp", "c5", Route::ServiceFollowup, 70)).await;
    assert_eq!(complaint.destination.kind, DestinationKind::ServiceFollowup);
    let dnc = ingest(&h, Lead::new("i-dnc", "c6", Route::Suppressed, 90)).await;
    assert_eq!(dnc.destination.kind, DestinationKind::Suppressed);
    assert_eq!(dnc.state, LeadState::Suppressed);

    let trail = r.get_lead(&dnc.lead_id).await.unwrap().history;
    assert_eq!(trail.last().unwrap().to, "suppressed");
    assert_eq!(trail.last().unwrap().model_version, "sample-model");
    let rec = r.get_lead(&high.lead_id).await.unwrap();
    assert_eq!(rec.interactions.len(), 1);
    assert_eq!(rec.history[0].action, "ingested");
    h.assert_sound().await;
}

async fn second_interaction_joins_and_promotes_never_takes_held(h: H) {
    let r = &h.router;
    r.upsert_manager(&remote("r1", &["east"], 10))
        .await
        .unwrap();
    let first = ingest(&h, Lead::new("j1", "c1", Route::Incubation, 5)).await;
    let second = ingest(&h, Lead::new("j2", "c1", Route::Remote, 50)).await;
    assert!(second.joined);
    assert_eq!(second.lead_id, first.lead_id);
    assert_eq!(second.destination.kind, DestinationKind::RemotePool);
    // A lower score does not demote.
    let third = ingest(&h, Lead::new("j3", "c1", Route::Incubation, 3)).await;
    assert_eq!(third.state, LeadState::RemoteQueued);
    let leases = r.pull(&mgr("r1"), 5, None, &request()).await.unwrap();
    assert_eq!(leases.len(), 1);
    // Held: a re-score never takes it from the manager.
    let fourth = ingest(&h, Lead::new("j4", "c1", Route::Referral, 95)).await;
    assert_eq!(fourth.destination.kind, DestinationKind::Held);
    assert_eq!(fourth.state, LeadState::RemoteLeased);
    let rec = r.get_lead(&first.lead_id).await.unwrap();
    assert_eq!(rec.interactions.len(), 4);
    assert_eq!(rec.lead.score, 95);
    // ...but do-not-contact does.
    let fifth = ingest(&h, Lead::new("j5", "c1", Route::Suppressed, 95)).await;
    assert_eq!(fifth.state, LeadState::Suppressed);
    // The customer has no open lead any more: the next call opens a new one.
    let sixth = ingest(&h, Lead::new("j6", "c1", Route::Remote, 50)).await;
    assert!(!sixth.joined);
    assert_ne!(sixth.lead_id, first.lead_id);
    h.assert_sound().await;
}

async fn referral_selection_decline_timeout_and_unassigned(h: H) {
    let r = &h.router;
    r.upsert_manager(&offline("o1", "east", "east-b1", 2))
        .await
        .unwrap();
    r.upsert_manager(&offline("o2", "east", "east-b1", 2))
        .await
        .unwrap();
    let mut unqualified = offline("o3", "east", "east-b1", 9);
    unqualified.qualified_products = vec![Product::Loan];
    r.upsert_manager(&unqualified).await.unwrap();

    // The customer's own manager wins even when others are less loaded.
    let mut a = Lead::new("r-a", "c1", Route::Referral, 90);
    a.rm = Some("o2");
    let a = ingest(&h, a).await;
    assert_eq!(a.destination.manager, Some(mgr("o2")));
    // Least loaded next: o1 (0) over o2 (1).
    h.clock.advance(Duration::from_secs(1));
    let b = ingest(&h, Lead::new("r-b", "c2", Route::Referral, 90)).await;
    assert_eq!(b.destination.manager, Some(mgr("o1")));
    // Tie (1 each): the longest idle, o2 (assigned first).
    h.clock.advance(Duration::from_secs(1));
    let c = ingest(&h, Lead::new("r-c", "c3", Route::Referral, 90)).await;
    assert_eq!(c.destination.manager, Some(mgr("o2")));

    // Decline moves to the next eligible, never back to the same one.
    let rec = r.get_lead(&c.lead_id).await.unwrap();
    let offer = rec.lead.offer_id.clone().unwrap();
    let err = r
        .decline(
            offer_to(&mgr("o2"), &c.lead_id, &offer),
            "",
            DeclineCategory::Other,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RoutingError::InvalidArgument { .. }));
    let moved = r
        .decline(
            offer_to(&mgr("o2"), &c.lead_id, &offer),
            "customer is abroad",
            DeclineCategory::NotMyCustomer,
        )
        .await
        .unwrap();
    assert_eq!(moved.destination.manager, Some(mgr("o1")));
    // o1 lets it time out: o2 declined already, o3 is unqualified: unassigned.
    h.clock.advance(Duration::from_secs(601));
    let rep = r.sweep_region(&region("east"), 100).await.unwrap();
    assert!(rep.offers_timed_out >= 1);
    let rec = r.get_lead(&c.lead_id).await.unwrap();
    assert_eq!(state_of(&rec), LeadState::BranchUnassigned);
    assert!(rec.history.iter().any(|e| e.action == "offer_timed_out"));
    // Stale offer ids are refused; a stranger gets PERMISSION_DENIED-class errors.
    let err = r
        .accept(offer_to(&mgr("o1"), &c.lead_id, &offer))
        .await
        .unwrap_err();
    assert!(precondition(&err), "{err:?}");
    let err = r
        .accept(offer_to(&mgr("o3"), &c.lead_id, &offer))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RoutingError::Rejected(ScriptError {
                code: ScriptErrorCode::NotOwner,
                ..
            })
        ),
        "{err:?}"
    );
    let err = r
        .accept(offer_to(
            &mgr("o1"),
            &LeadId::parse("east.nope").unwrap(),
            "x",
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RoutingError::Rejected(s) if s.code == ScriptErrorCode::NotFound),
        "{err:?}"
    );
    h.assert_sound().await;

    // A new manager becoming available takes the unassigned lead.
    let mut o4 = offline("o4", "east", "east-b1", 1);
    o4.available = false;
    r.upsert_manager(&o4).await.unwrap();
    assert_eq!(
        state_of(&r.get_lead(&c.lead_id).await.unwrap()),
        LeadState::BranchUnassigned
    );
    r.set_availability(&mgr("o4"), true).await.unwrap();
    let rec = r.get_lead(&c.lead_id).await.unwrap();
    assert_eq!(state_of(&rec), LeadState::ReferralOffered);
    assert_eq!(rec.lead.owner.clone(), Some(mgr("o4")));
    h.assert_sound().await;

    // Capacity: o4 (cap 1) is full, so the next lead skips it.
    let offers_before = r.pending_offers(&mgr("o4")).await.unwrap();
    assert_eq!(offers_before.len(), 1);
    // Accept, then going away keeps accepted leads and returns pending offers.
    r.accept(offer_to(&mgr("o4"), &c.lead_id, &offers_before[0].offer_id))
        .await
        .unwrap();
    let mut d = Lead::new("r-d", "c4", Route::Referral, 90);
    d.rm = Some("o2");
    let d = ingest(&h, d).await;
    assert_eq!(d.destination.manager, Some(mgr("o2")));
    let d_offer = r.get_lead(&d.lead_id).await.unwrap().lead.offer_id.unwrap();
    r.set_availability(&mgr("o2"), false).await.unwrap();
    let rec_d = r.get_lead(&d.lead_id).await.unwrap();
    assert_ne!(rec_d.lead.owner.clone(), Some(mgr("o2")));
    assert!(rec_d.history.iter().any(|e| e.action == "offer_withdrawn"));
    let err = r
        .accept(offer_to(&mgr("o2"), &d.lead_id, &d_offer))
        .await
        .unwrap_err();
    assert!(precondition(&err));
    assert_eq!(
        state_of(&r.get_lead(&c.lead_id).await.unwrap()),
        LeadState::ReferralAccepted
    );
    h.assert_sound().await;

    // Complete the accepted referral with a back-flow to the remote queue.
    let moved = r
        .complete_referral(
            offer_to(&mgr("o4"), &c.lead_id, &offers_before[0].offer_id),
            ReferralOutcome::ReturnToRemote,
            "wants online follow-up",
        )
        .await
        .unwrap();
    assert_eq!(moved.state, LeadState::RemoteQueued);
    let err = r
        .complete_referral(
            offer_to(&mgr("o4"), &c.lead_id, &offers_before[0].offer_id),
            ReferralOutcome::Converted,
            "",
        )
        .await
        .unwrap_err();
    assert!(precondition(&err));
    h.assert_sound().await;
}

async fn unassigned_flows_back_to_remote(h: H) {
    let r = &h.router;
    let lead = ingest(&h, Lead::new("u1", "c1", Route::Referral, 88)).await;
    assert_eq!(lead.destination.kind, DestinationKind::BranchUnassigned);
    let stats = r.queue_stats(Some(&region("east"))).await.unwrap();
    let q = stats
        .queues
        .iter()
        .find(|q| q.queue == "branch_unassigned")
        .unwrap();
    assert_eq!((q.depth, q.buckets.high), (1, 1));
    h.clock.advance(Duration::from_secs(3601));
    let rep = r.sweep_region(&region("east"), 100).await.unwrap();
    assert_eq!(rep.backflowed, 1);
    let rec = r.get_lead(&lead.lead_id).await.unwrap();
    assert_eq!(state_of(&rec), LeadState::RemoteQueued);
    // No remote manager is registered either: the back-flow, then the flag.
    let actions: Vec<&str> = rec.history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions[actions.len() - 2..],
        ["backflow", "flagged_unplaceable"]
    );
    h.assert_sound().await;
}

async fn remote_queue_lease_lifecycle(h: H) {
    let r = &h.router;
    let m1 = mgr("r1");
    r.upsert_manager(&remote("r1", &["east"], 10))
        .await
        .unwrap();
    r.upsert_manager(&remote("r2", &["east"], 10))
        .await
        .unwrap();
    r.upsert_manager(&offline("o1", "east", "east-b1", 5))
        .await
        .unwrap();
    // Priority by score, then age.
    let old_low = ingest(&h, Lead::new("q1", "c1", Route::Remote, 30)).await;
    h.clock.advance(Duration::from_secs(1));
    let new_high = ingest(&h, Lead::new("q2", "c2", Route::Remote, 60)).await;
    h.clock.advance(Duration::from_secs(1));
    let new_low = ingest(&h, Lead::new("q3", "c3", Route::Remote, 30)).await;
    let leases = r.pull(&m1, 2, None, &request()).await.unwrap();
    let got: Vec<_> = leases.iter().map(|l| l.lead.id.clone()).collect();
    assert_eq!(got, vec![new_high.lead_id.clone(), old_low.lead_id.clone()]);
    assert_eq!(leases[0].expires_at, h.clock.now_ms() + 300_000);

    // Another manager's lead: NotOwner. Unknown lead: NotFound.
    let l0 = &leases[0];
    let err = r
        .complete(
            lease(&mgr("r2"), &l0.lead.id, &l0.lease_id),
            outcome(RemoteOutcome::Converted, None, ""),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RoutingError::Rejected(ScriptError {
                code: ScriptErrorCode::NotOwner,
                ..
            })
        ),
        "{err:?}"
    );
    // Call back needs a future time.
    let err = r
        .complete(
            lease(&m1, &l0.lead.id, &l0.lease_id),
            outcome(RemoteOutcome::CallBack, None, ""),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RoutingError::InvalidArgument { .. }));

    // Extend, capped at now + lease_max.
    let exp = r
        .extend(
            lease(&m1, &l0.lead.id, &l0.lease_id),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(exp, l0.expires_at + 60_000);
    let exp = r
        .extend(
            lease(&m1, &l0.lead.id, &l0.lease_id),
            Duration::from_secs(99_999),
        )
        .await
        .unwrap();
    assert_eq!(exp, h.clock.now_ms() + 1_800_000);

    // Converted closes; the lease is then gone.
    let done = r
        .complete(
            lease(&m1, &l0.lead.id, &l0.lease_id),
            outcome(RemoteOutcome::Converted, None, "bought"),
        )
        .await
        .unwrap();
    assert_eq!(done.state, LeadState::ClosedConverted);
    assert_eq!(done.destination.kind, DestinationKind::Closed);
    let err = r
        .complete(
            lease(&m1, &l0.lead.id, &l0.lease_id),
            outcome(RemoteOutcome::Converted, None, ""),
        )
        .await
        .unwrap_err();
    assert!(precondition(&err), "{err:?}");

    // Call back: re-queued to the same manager at T.
    let l1 = &leases[1];
    let at = h.clock.now_ms() + 7_200_000;
    let cb = r
        .complete(
            lease(&m1, &l1.lead.id, &l1.lease_id),
            outcome(RemoteOutcome::CallBack, Some(at), "after work"),
        )
        .await
        .unwrap();
    assert_eq!(cb.state, LeadState::RemoteCallback);
    h.clock.advance(Duration::from_secs(7201));
    assert_eq!(
        r.sweep_region(&region("east"), 100)
            .await
            .unwrap()
            .callbacks_due,
        1
    );
    let rec = r.get_lead(&l1.lead.id).await.unwrap();
    assert_eq!(state_of(&rec), LeadState::RemoteQueued);
    assert_eq!(
        rec.lead
            .queue_manager
            .as_ref()
            .map(|m| m.as_str())
            .unwrap_or(""),
        "r1",
        "call-back returns to the manager's own queue"
    );
    h.assert_sound().await;

    // Release puts it back with no attempt; escalate makes a referral;
    // return to incubation; not interested closes.
    let leases = r.pull(&m1, 10, None, &request()).await.unwrap();
    assert_eq!(leases.len(), 2);
    for l in &leases {
        let rec = r.get_lead(&l.lead.id).await.unwrap();
        assert_eq!(rec.lead.attempts, 0);
    }
    let a = &leases[0];
    r.release(lease(&m1, &a.lead.id, &a.lease_id))
        .await
        .unwrap();
    let b = &leases[1];
    let esc = r
        .escalate(
            lease(&m1, &b.lead.id, &b.lease_id),
            "wants to meet at the branch",
        )
        .await
        .unwrap();
    assert_eq!(esc.destination.kind, DestinationKind::ReferralOffered);
    let l = r.pull(&m1, 1, None, &request()).await.unwrap().remove(0);
    assert_eq!(l.lead.id, a.lead.id);
    let inc = r
        .complete(
            lease(&m1, &l.lead.id, &l.lease_id),
            outcome(RemoteOutcome::ReturnToIncubation, None, ""),
        )
        .await
        .unwrap();
    assert_eq!(inc.state, LeadState::Incubating);
    let _ = new_low;
    h.assert_sound().await;
}

async fn expired_leases_count_attempts_then_incubate(h: H) {
    let r = &h.router;
    let m1 = mgr("r1");
    r.upsert_manager(&remote("r1", &["east"], 10))
        .await
        .unwrap();
    let lead = ingest(&h, Lead::new("e1", "c1", Route::Remote, 50)).await;
    for attempt in 1..=2 {
        let l = r
            .pull(&m1, 1, Some(Duration::from_secs(60)), &request())
            .await
            .unwrap()
            .remove(0);
        assert_eq!(l.lead.id, lead.lead_id);
        h.clock.advance(Duration::from_secs(61));
        // Past the deadline but before the sweeper: the manager is refused.
        let err = r
            .complete(
                lease(&m1, &l.lead.id, &l.lease_id),
                outcome(RemoteOutcome::Converted, None, ""),
            )
            .await
            .unwrap_err();
        assert!(precondition(&err), "{err:?}");
        assert_eq!(
            r.sweep_region(&region("east"), 100)
                .await
                .unwrap()
                .leases_expired,
            1
        );
        let rec = r.get_lead(&lead.lead_id).await.unwrap();
        assert_eq!(rec.lead.attempts, attempt);
        let want = if attempt < 2 {
            LeadState::RemoteQueued
        } else {
            LeadState::Incubating
        };
        assert_eq!(state_of(&rec), want);
        h.assert_sound().await;
    }
    // Incubation: reviewed, then expired after the configured age.
    h.clock.advance(Duration::from_secs(86_401));
    assert_eq!(
        r.sweep_region(&region("east"), 100)
            .await
            .unwrap()
            .incubation_reviewed,
        1
    );
    assert_eq!(
        state_of(&r.get_lead(&lead.lead_id).await.unwrap()),
        LeadState::Incubating
    );
    for _ in 0..3 {
        h.clock.advance(Duration::from_secs(86_401));
        r.sweep_region(&region("east"), 100).await.unwrap();
    }
    assert_eq!(
        state_of(&r.get_lead(&lead.lead_id).await.unwrap()),
        LeadState::ClosedExpired
    );
    h.assert_sound().await;
}

async fn concurrent_pullers_never_share_a_lead(h: H) {
    let r = &h.router;
    for i in 0..32 {
        r.upsert_manager(&remote(&format!("p{i}"), &["east"], 1000))
            .await
            .unwrap();
    }
    let mut ids = HashSet::new();
    for i in 0..400 {
        let lead = ingest(
            &h,
            Lead::new(
                &format!("cc{i}"),
                &format!("cust{i}"),
                Route::Remote,
                (i % 90) as u8,
            ),
        )
        .await;
        ids.insert(lead.lead_id);
    }
    let mut tasks = Vec::new();
    for i in 0..32 {
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let m = mgr(&format!("p{i}"));
            let mut mine = Vec::new();
            loop {
                let got = r.pull(&m, 3, None, &request()).await.unwrap();
                if got.is_empty() {
                    break;
                }
                mine.extend(got.into_iter().map(|l| l.lead.id));
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        for lead in t.await.unwrap() {
            assert!(seen.insert(lead.clone()), "lead {lead} leased twice");
        }
    }
    assert_eq!(seen, ids, "every lead leased exactly once, none lost");
    h.assert_sound().await;
}

async fn sweeper_racing_completions(h: H) {
    let r = &h.router;
    let m1 = mgr("r1");
    r.upsert_manager(&remote("r1", &["east"], 1000))
        .await
        .unwrap();
    for i in 0..200 {
        ingest(
            &h,
            Lead::new(&format!("s{i}"), &format!("cust{i}"), Route::Remote, 50),
        )
        .await;
    }
    let leases = r
        .pull(&m1, 50, Some(Duration::from_secs(60)), &request())
        .await
        .unwrap();
    let mut leases = leases;
    while leases.len() < 200 {
        leases.extend(
            r.pull(&m1, 50, Some(Duration::from_secs(60)), &request())
                .await
                .unwrap(),
        );
    }
    // Exactly at the deadline race: completions and several sweepers at once.
    h.clock.advance(Duration::from_millis(59_999));
    let mut tasks = Vec::new();
    for chunk in leases.chunks(20) {
        let r = r.clone();
        let m = m1.clone();
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut won = 0;
            for l in chunk {
                match r
                    .complete(
                        lease(&m, &l.lead.id, &l.lease_id),
                        outcome(RemoteOutcome::NotInterested, None, ""),
                    )
                    .await
                {
                    Ok(_) => won += 1,
                    Err(e) if precondition(&e) => {}
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            won
        }));
    }
    let clock = h.clock.clone();
    let sweepers: Vec<_> = (0..4)
        .map(|_| {
            let r = r.clone();
            let clock = clock.clone();
            tokio::spawn(async move {
                let mut expired = 0;
                for _ in 0..10 {
                    clock.advance(Duration::from_micros(200));
                    expired += r
                        .sweep_region(&region("east"), 7)
                        .await
                        .unwrap()
                        .leases_expired;
                }
                expired
            })
        })
        .collect();
    let mut completed = 0;
    for t in tasks {
        completed += t.await.unwrap();
    }
    let mut expired = 0;
    for s in sweepers {
        expired += s.await.unwrap();
    }
    // Finish the sweep, then every lead is either completed or expired, once.
    h.clock.advance(Duration::from_secs(1));
    expired += r
        .sweep_region(&region("east"), 1000)
        .await
        .unwrap()
        .leases_expired;
    assert_eq!(
        completed + expired,
        200,
        "completed {completed} + expired {expired}"
    );
    h.assert_sound().await;
}

async fn multi_region_manager_pulls_fairly(h: H) {
    let r = &h.router;
    let m = mgr("rx");
    r.upsert_manager(&remote("rx", &["east", "west"], 100))
        .await
        .unwrap();
    for i in 0..20 {
        let (fe, ce, fw, cw) = (
            format!("fe{i}"),
            format!("ce{i}"),
            format!("fw{i}"),
            format!("cw{i}"),
        );
        let mut e = Lead::new(&fe, &ce, Route::Remote, 90);
        e.region = "east";
        ingest(&h, e).await;
        let mut w = Lead::new(&fw, &cw, Route::Remote, 10);
        w.region = "west";
        ingest(&h, w).await;
    }
    // East scores are all higher, yet each pull takes an even share of both.
    let mut per_region = std::collections::HashMap::new();
    for _ in 0..5 {
        for l in r.pull(&m, 4, None, &request()).await.unwrap() {
            *per_region
                .entry(l.lead.id.region().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    assert_eq!(per_region.get("east"), Some(&10));
    assert_eq!(per_region.get("west"), Some(&10));
    // Capacity spans shards.
    let mut small = remote("ry", &["east", "west"], 3);
    small.id = mgr("ry");
    r.upsert_manager(&small).await.unwrap();
    let got = r.pull(&mgr("ry"), 10, None, &request()).await.unwrap();
    assert_eq!(got.len(), 3);
    assert!(r
        .pull(&mgr("ry"), 10, None, &request())
        .await
        .unwrap()
        .is_empty());
    // Unavailable remote managers cannot pull.
    r.set_availability(&mgr("ry"), false).await.unwrap();
    let err = r.pull(&mgr("ry"), 1, None, &request()).await.unwrap_err();
    assert!(
        matches!(&err, RoutingError::Rejected(s) if s.code == ScriptErrorCode::Unavailable),
        "{err:?}"
    );
    h.assert_sound().await;
}

async fn an_unplaceable_lead_does_not_block_the_unassigned_list(h: H) {
    let r = &h.router;
    // An unplaceable lead at the head of the unassigned list does not block others.
    let mut loan = Lead::new("ua1", "ua-c1", Route::Referral, 90);
    loan.product = Product::Loan;
    let loan = ingest(&h, loan).await;
    h.clock.advance(Duration::from_secs(1));
    let wealth = ingest(&h, Lead::new("ua2", "ua-c2", Route::Referral, 90)).await;
    assert_eq!(loan.destination.kind, DestinationKind::BranchUnassigned);
    assert_eq!(wealth.destination.kind, DestinationKind::BranchUnassigned);
    let mut o = offline("o9", "east", "east-b1", 5); // wealth and fund only
    o.available = false;
    r.upsert_manager(&o).await.unwrap();
    r.set_availability(&mgr("o9"), true).await.unwrap();
    assert_eq!(
        state_of(&r.get_lead(&wealth.lead_id).await.unwrap()),
        LeadState::ReferralOffered
    );
    assert_eq!(
        state_of(&r.get_lead(&loan.lead_id).await.unwrap()),
        LeadState::BranchUnassigned
    );
    h.assert_sound().await;

    // After leaving the referral tier, the same manager may be offered it again.
    let w_offer = r
        .get_lead(&wealth.lead_id)
        .await
        .unwrap()
        .lead
        .offer_id
        .unwrap();
    r.accept(offer_to(&mgr("o9"), &wealth.lead_id, &w_offer))
        .await
        .unwrap();
    r.complete_referral(
        offer_to(&mgr("o9"), &wealth.lead_id, &w_offer),
        ReferralOutcome::ReturnToRemote,
        "phone first",
    )
    .await
    .unwrap();
    r.upsert_manager(&remote("rz", &["east"], 10))
        .await
        .unwrap();
    let l = r.pull(&mgr("rz"), 10, None, &request()).await.unwrap();
    let mine = l.iter().find(|x| x.lead.id == wealth.lead_id).unwrap();
    let esc = r
        .escalate(
            lease(&mgr("rz"), &mine.lead.id, &mine.lease_id),
            "ready to sign",
        )
        .await
        .unwrap();
    assert_eq!(esc.destination.manager, Some(mgr("o9")));
    h.assert_sound().await;
}

async fn a_remote_manager_leaving_gives_its_queue_to_the_pool(h: H) {
    let r = &h.router;
    let (east, west) = (region("east"), region("west"));
    r.upsert_manager(&remote("rz", &["east"], 10))
        .await
        .unwrap();
    // A remote manager going away: its own queue goes to the pool; new leads too.
    let mut own = Lead::new("pq1", "pq-c1", Route::Remote, 40);
    own.remote = Some("rz");
    assert_eq!(
        ingest(&h, own).await.destination.kind,
        DestinationKind::RemotePersonal
    );
    r.set_availability(&mgr("rz"), false).await.unwrap();
    let mut own2 = Lead::new("pq2", "pq-c2", Route::Remote, 40);
    own2.remote = Some("rz");
    assert_eq!(
        ingest(&h, own2).await.destination.kind,
        DestinationKind::RemotePool
    );
    let stats = r.queue_stats(Some(&east)).await.unwrap();
    assert!(stats
        .queues
        .iter()
        .all(|q| !(q.queue == "remote_personal" && q.owner == "rz")));
    h.assert_sound().await;

    // A remote manager who stops serving a region leaves its queue there.
    r.upsert_manager(&remote("rw2", &["east", "west"], 10))
        .await
        .unwrap();
    let mut w = Lead::new("dr1", "dr-c1", Route::Remote, 40);
    w.region = "west";
    w.remote = Some("rw2");
    assert_eq!(
        ingest(&h, w).await.destination.kind,
        DestinationKind::RemotePersonal
    );
    r.upsert_manager(&remote("rw2", &["east"], 10))
        .await
        .unwrap();
    let west_stats = r.queue_stats(Some(&west)).await.unwrap();
    assert!(west_stats
        .queues
        .iter()
        .all(|q| !(q.queue == "remote_personal" && q.owner == "rw2")));
    assert!(west_stats.queues.iter().any(|q| q.queue == "remote_pool"));
    h.assert_sound().await;
}

async fn a_complaint_cools_off_sales_then_a_calm_call_routes_again(h: H) {
    let c = ingest(&h, Lead::new("sf1", "sf-c1", Route::ServiceFollowup, 60)).await;
    assert_eq!(c.state, LeadState::ServiceFollowup);
    // Within the cool-off a calm, interested call stays with service.
    let calm = ingest(&h, Lead::new("sf2", "sf-c1", Route::Referral, 90)).await;
    assert!(calm.joined);
    assert_eq!(calm.state, LeadState::ServiceFollowup);
    assert_eq!(calm.route, Route::ServiceFollowup);
    // After it (30 days by default) sales may call again.
    h.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let later = ingest(&h, Lead::new("sf3", "sf-c1", Route::Remote, 60)).await;
    assert!(later.joined);
    assert_eq!(later.state, LeadState::RemoteQueued);
    h.assert_sound().await;
}

async fn a_call_back_keeps_its_time_on_the_lead(h: H) {
    let r = &h.router;
    let m = mgr("cb1");
    r.upsert_manager(&remote("cb1", &["east"], 5))
        .await
        .unwrap();
    let lead = ingest(&h, Lead::new("cb-i1", "cb-c1", Route::Remote, 40)).await;
    let l = r
        .pull(&m, 1, None, &request())
        .await
        .unwrap()
        .pop()
        .unwrap();
    let at = h.clock.now_ms() + 3_600_000;
    // With a note: the time is a field of its own, not parsed from text.
    r.complete(
        lease(&m, &l.lead.id, &l.lease_id),
        outcome(RemoteOutcome::CallBack, Some(at), "after lunch"),
    )
    .await
    .unwrap();
    let rec = r.get_lead(&lead.lead_id).await.unwrap();
    assert_eq!(rec.lead.state, LeadState::RemoteCallback);
    assert_eq!(rec.lead.callback_at, Some(at));
    assert_eq!(rec.history.last().unwrap().reason, "after lunch");
    h.clock.advance(Duration::from_secs(3601));
    r.sweep_region(&region("east"), 10).await.unwrap();
    let rec = r.get_lead(&lead.lead_id).await.unwrap();
    assert_eq!(rec.lead.state, LeadState::RemoteQueued);
    assert_eq!(rec.lead.callback_at, None);
    h.assert_sound().await;
}

async fn audit_events_name_the_interaction_that_caused_them(h: H) {
    let r = &h.router;
    let first = ingest(&h, Lead::new("ax-1", "ax-c1", Route::Incubation, 5)).await;
    ingest(&h, Lead::new("ax-2", "ax-c1", Route::Remote, 40)).await;
    let trail = r.get_lead(&first.lead_id).await.unwrap().history;
    let by = |action: &str| {
        trail
            .iter()
            .filter(|e| e.action == action)
            .map(|e| e.interaction.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(by("ingested"), vec!["ax-1"]);
    assert_eq!(by("rescored"), vec!["ax-2"]);
    assert_eq!(by("promoted"), vec!["ax-2"]);
    h.assert_sound().await;
}

async fn a_replayed_ingest_answers_what_was_recorded(h: H) {
    let mut first = Lead::new("rp-1", "rp-c1", Route::Remote, 40).req();
    first.interaction.received_at_ms = 111;
    let a = h.router.ingest(&first).await.unwrap();
    assert!(!a.replayed && a.recorded.is_none());
    let mut again = Lead::new("rp-1", "rp-c1", Route::Referral, 90).req();
    again.interaction.received_at_ms = 222;
    let b = h.router.ingest(&again).await.unwrap();
    assert!(b.replayed);
    // The record the first call stored, not the replay's.
    assert_eq!(b.recorded.as_ref().map(|r| r.received_at_ms), Some(111));
    assert_eq!(b.recorded.unwrap().score, first.interaction.score);
    assert_eq!((b.lead_id, b.destination), (a.lead_id, a.destination));
    h.assert_sound().await;
}

/// Redis lost the function library (a restart without persistence, an
/// operator's FUNCTION FLUSH): the next call loads it again and succeeds.
async fn a_lost_function_library_is_loaded_again(h: H) {
    ingest(&h, Lead::new("fl-1", "fl-c1", Route::Remote, 40)).await;
    let mut conn = h.conn.clone();
    let _: () = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    // (Not checked that the library is gone now: tests running beside this
    // one on the same Redis may load it again at once.)
    let b = h
        .router
        .ingest(&Lead::new("fl-2", "fl-c2", Route::Remote, 40).req())
        .await
        .unwrap();
    assert!(!b.replayed);
    h.assert_sound().await;
}

/// The checker is only as good as what it reads: it finds every lead of the
/// shard (by SCAN, the shard keeps no set of them) and reports a broken one.
async fn the_invariant_checker_sees_every_lead_and_reports_a_broken_one(h: H) {
    let mut made = Vec::new();
    for i in 0..3 {
        let (iid, c) = (format!("ic-{i}"), format!("ic-c{i}"));
        made.push(
            ingest(&h, Lead::new(&iid, &c, Route::Remote, 40))
                .await
                .lead_id
                .to_string(),
        );
    }
    let mut found = funnel::routing::invariants::lead_ids(&h.router, &region("east"))
        .await
        .unwrap();
    found.sort();
    made.sort();
    assert_eq!(found, made);
    h.assert_sound().await;
    // Take one out of its queue behind the scripts' back.
    let key = h.router.keys().shard(&region("east")).lead(&made[1]);
    let mut conn = h.conn.clone();
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("place")
        .arg("")
        .query_async(&mut conn)
        .await
        .unwrap();
    let v = funnel::routing::invariants::check(&h.router, &[region("east")])
        .await
        .unwrap();
    assert!(
        v.iter().any(|v| v.contains(&made[1])),
        "not reported: {v:?}"
    );
}

on_both!(
    the_invariant_checker_sees_every_lead_and_reports_a_broken_one,
    a_lost_function_library_is_loaded_again,
    ingestion_routes_and_is_idempotent,
    second_interaction_joins_and_promotes_never_takes_held,
    referral_selection_decline_timeout_and_unassigned,
    unassigned_flows_back_to_remote,
    remote_queue_lease_lifecycle,
    expired_leases_count_attempts_then_incubate,
    concurrent_pullers_never_share_a_lead,
    sweeper_racing_completions,
    multi_region_manager_pulls_fairly,
    an_unplaceable_lead_does_not_block_the_unassigned_list,
    a_remote_manager_leaving_gives_its_queue_to_the_pool,
    a_complaint_cools_off_sales_then_a_calm_call_routes_again,
    a_call_back_keeps_its_time_on_the_lead,
    audit_events_name_the_interaction_that_caused_them,
    a_replayed_ingest_answers_what_was_recorded,
);
