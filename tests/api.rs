//! The service over real gRPC: a real server on port 0 against a real,
//! private redis-server. Each role's journey, idempotency, two replicas,
//! authentication and authorisation, malformed requests, and Redis dying
//! mid-run.

mod common;

use common::stack::*;

use funnel::api::pb;
use funnel::client::Clients;

use funnel::dev::server::{http_get, scrape};
use funnel::domain::RegionId;
use funnel::routing::invariants;
use futures::StreamExt;
use std::collections::HashSet;
use std::time::Duration;
use tonic::Code;

fn kind(r: &pb::SubmitInteractionResponse) -> pb::DestinationKind {
    pb::DestinationKind::try_from(r.destination.as_ref().unwrap().kind).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robot_submits_idempotently_and_in_bulk() {
    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("east", "east-sh-pudong").await;
    let robot = s.as_(ROBOT).await;
    let calls = calls_of("east-sh-pudong", 60, "robot");
    let first = try_submit(&robot, calls[0].clone()).await.unwrap();
    let score = first.score.clone().unwrap();
    assert!(!first.lead_id.is_empty() && !first.replayed);
    assert!((0.0..=1.0).contains(&score.probability));
    assert_eq!(score.intents.len(), 6);
    assert!(!score.reasons.is_empty() && !score.model_version.is_empty());
    let again = try_submit(&robot, calls[0].clone()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.lead_id, first.lead_id);
    assert_eq!(again.destination, first.destination);

    // A missing feature is defaulted and reported by its wire name.
    let mut partial = calls[1].clone();
    partial.features.as_mut().unwrap().aum_band = None;
    partial.call.as_mut().unwrap().duration_seconds = None;
    let r = try_submit(&robot, partial).await.unwrap();
    let defaulted = r.score.unwrap().defaulted_features;
    assert!(
        defaulted.contains(&"aum_band".to_string())
            && defaulted.contains(&"duration_seconds".to_string()),
        "{defaulted:?}"
    );

    // Bulk: one result per item, by sequence, errors per item.
    let mut items: Vec<_> = calls[2..]
        .iter()
        .enumerate()
        .map(|(i, c)| pb::SubmitInteractionsRequest {
            sequence: i as i64,
            interaction: Some(c.clone()),
        })
        .collect();
    let mut bad = calls[3].clone();
    bad.interaction_id = "bad{id}".into();
    items.push(pb::SubmitInteractionsRequest {
        sequence: 999,
        interaction: Some(bad),
    });
    let mut out = robot
        .intake
        .clone()
        .submit_interactions(futures::stream::iter(items.clone()))
        .await
        .unwrap()
        .into_inner();
    let mut seen = HashSet::new();
    let mut errors = 0;
    while let Some(r) = out.next().await {
        let r = r.unwrap();
        assert!(seen.insert(r.sequence));
        match r.item_result.unwrap() {
            pb::submit_interactions_response::ItemResult::Result(res) => {
                assert!(!res.lead_id.is_empty())
            }
            pb::submit_interactions_response::ItemResult::Error(e) => {
                assert_eq!(r.sequence, 999);
                assert_eq!(e.code, Code::InvalidArgument as i32);
                assert!(e.message.contains("interaction_id"), "{}", e.message);
                errors += 1;
            }
        }
    }
    assert_eq!(seen.len(), items.len());
    assert_eq!(errors, 1);
    s.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_manager_journey_and_cross_manager_denial() {
    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("north", "north-bj-haidian").await;
    let robot = s.as_(ROBOT).await;
    let mut queued = 0;
    for c in calls_of("north-bj-haidian", 80, "remote") {
        let r = try_submit(&robot, c).await.unwrap();
        if matches!(
            kind(&r),
            pb::DestinationKind::RemotePool | pb::DestinationKind::RemotePersonal
        ) {
            queued += 1;
        }
    }
    assert!(
        queued >= 4,
        "only {queued} medium leads in the sample slice"
    );
    let mut r1 = s.as_(R1).await.desk;
    let mut r2 = s.as_(R2).await.desk;
    let leads = r1
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 4,
            lease_seconds: Some(120),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .leads;
    assert_eq!(leads.len(), 4);
    let scores: Vec<i32> = leads
        .iter()
        .map(|l| l.lead.as_ref().unwrap().score.as_ref().unwrap().score)
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );

    // The whole history: transcripts, reasons, audit.
    let l0 = &leads[0];
    let id0 = l0.lead.as_ref().unwrap().lead_id.clone();
    let full = r1
        .get_lead(pb::GetLeadRequest {
            lead_id: id0.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(full.interactions.len(), 1);
    assert!(!full.interactions[0]
        .interaction
        .as_ref()
        .unwrap()
        .turns
        .is_empty());
    assert!(!full.interactions[0]
        .score
        .as_ref()
        .unwrap()
        .reasons
        .is_empty());
    assert!(full.history.iter().any(|e| e.action == "leased"));

    // Another manager may neither read nor complete it.
    let denied = r2
        .get_lead(pb::GetLeadRequest {
            lead_id: id0.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = r2
        .complete_lead(pb::CompleteLeadRequest {
            lead_id: id0.clone(),
            lease_id: l0.lease_id.clone(),
            outcome: pb::Outcome::Converted as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    // Extend, release, escalate, call back, complete.
    let ext = r1
        .extend_lease(pb::ExtendLeaseRequest {
            lead_id: id0.clone(),
            lease_id: l0.lease_id.clone(),
            extend_seconds: 60,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ext.lease_expires_at.unwrap().seconds > l0.lease_expires_at.unwrap().seconds);
    let l1 = &leads[1];
    let id1 = l1.lead.as_ref().unwrap().lead_id.clone();
    r1.release_lead(pb::ReleaseLeadRequest {
        lead_id: id1.clone(),
        lease_id: l1.lease_id.clone(),
    })
    .await
    .unwrap();
    let stale = r1
        .complete_lead(pb::CompleteLeadRequest {
            lead_id: id1,
            lease_id: l1.lease_id.clone(),
            outcome: pb::Outcome::Converted as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let l2 = &leads[2];
    let esc = r1
        .escalate_lead(pb::EscalateLeadRequest {
            lead_id: l2.lead.as_ref().unwrap().lead_id.clone(),
            lease_id: l2.lease_id.clone(),
            reason: "wants to visit the branch".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let dk = pb::DestinationKind::try_from(esc.destination.unwrap().kind).unwrap();
    assert!(matches!(
        dk,
        pb::DestinationKind::ReferralOffered | pb::DestinationKind::BranchUnassigned
    ));
    let l3 = &leads[3];
    let soon = funnel::api::convert::ms_to_timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + 3_600_000,
    );
    let cb = r1
        .complete_lead(pb::CompleteLeadRequest {
            lead_id: l3.lead.as_ref().unwrap().lead_id.clone(),
            lease_id: l3.lease_id.clone(),
            outcome: pb::Outcome::CallBack as i32,
            callback_at: Some(soon),
            note: "after work".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cb.state, pb::LeadState::RemoteCallback as i32);
    let done = r1
        .complete_lead(pb::CompleteLeadRequest {
            lead_id: id0,
            lease_id: l0.lease_id.clone(),
            outcome: pb::Outcome::Converted as i32,
            note: "bought".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.state, pb::LeadState::ClosedConverted as i32);
    assert_eq!(
        done.destination.unwrap().kind,
        pb::DestinationKind::Closed as i32
    );
    s.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branch_manager_watches_accepts_declines_and_reconnects() {
    // Two replicas, and a poll far longer than the test: offers made through
    // replica 1 reach the watcher on replica 0 only by the Redis push.
    let mut s = Stack::start(&common::single().url(), 2, |c| {
        c.routing.offer_sla = Duration::from_secs(3);
        c.watch_poll = Duration::from_secs(60);
    });
    s.setup_managers("south", "south-gz-tianhe").await;
    let robot = s.as_on(1, ROBOT).await;
    let mut high = Vec::new();
    for c in calls_of("south-gz-tianhe", 102, "branch") {
        let r = try_submit(&robot, c).await.unwrap();
        if kind(&r) == pb::DestinationKind::ReferralOffered {
            high.push(r);
            if high
                .iter()
                .filter(|r| r.destination.as_ref().unwrap().manager_id == "o1")
                .count()
                >= 2
            {
                break;
            }
        }
    }
    let o1_offers: HashSet<String> = high
        .iter()
        .filter(|r| r.destination.as_ref().unwrap().manager_id == "o1")
        .map(|r| r.lead_id.clone())
        .collect();
    assert!(!o1_offers.is_empty(), "no referral went to o1");

    // Pending offers arrive on connect, then `synced`.
    let mut o1 = s.as_(O1).await.referrals;
    let mut events = o1
        .watch_referrals(pb::WatchReferralsRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut offers = Vec::new();
    loop {
        match events.next().await.unwrap().unwrap().event.unwrap() {
            pb::watch_referrals_response::Event::Offered(o) => offers.push(o),
            pb::watch_referrals_response::Event::Synced(sy) => {
                assert_eq!(sy.pending_offers as usize, offers.len());
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Well within the SLA: exactly the offers made to o1.
    let pending: HashSet<String> = offers
        .iter()
        .map(|o| {
            o.lead
                .as_ref()
                .unwrap()
                .summary
                .as_ref()
                .unwrap()
                .lead_id
                .clone()
        })
        .collect();
    assert_eq!(pending, o1_offers);
    let first = &offers[0];
    let lead = first
        .lead
        .as_ref()
        .unwrap()
        .summary
        .as_ref()
        .unwrap()
        .lead_id
        .clone();
    assert!(
        !first.lead.as_ref().unwrap().interactions.is_empty(),
        "the offer carries the conversation"
    );

    // o2 cannot act on o1's offer.
    let mut o2 = s.as_(O2).await.referrals;
    let denied = o2
        .accept_referral(pb::AcceptReferralRequest {
            lead_id: lead.clone(),
            offer_id: first.offer_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let accepted = o1
        .accept_referral(pb::AcceptReferralRequest {
            lead_id: lead.clone(),
            offer_id: first.offer_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        accepted.lead.unwrap().summary.unwrap().state,
        pb::LeadState::ReferralAccepted as i32
    );
    let done = o1
        .complete_referral(pb::CompleteReferralRequest {
            lead_id: lead,
            outcome: pb::Outcome::ReturnToRemote as i32,
            note: "prefers phone".into(),
            offer_id: first.offer_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.state, pb::LeadState::RemoteQueued as i32);
    let bad = o1
        .decline_referral(pb::DeclineReferralRequest {
            lead_id: "south.x".into(),
            offer_id: "x".into(),
            reason: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("reason"));

    // A new referral arrives live; an ignored one is withdrawn as timed out.
    let late = calls_of("south-gz-tianhe", 102, "branch-late");
    let mut live = None;
    for c in late {
        let r = try_submit(&robot, c).await.unwrap();
        if kind(&r) == pb::DestinationKind::ReferralOffered
            && r.destination.as_ref().unwrap().manager_id == "o1"
        {
            live = Some(r.lead_id);
            break;
        }
    }
    let live = live.expect("a live referral to o1");
    let mut got_live = false;
    let mut timed_out = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline && !(got_live && timed_out) {
        let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(1), events.next()).await else {
            continue;
        };
        match ev.unwrap().event.unwrap() {
            pb::watch_referrals_response::Event::Offered(o) => {
                got_live |= o.lead.unwrap().summary.unwrap().lead_id == live
            }
            pb::watch_referrals_response::Event::Withdrawn(w) => {
                assert_ne!(w.reason, pb::WithdrawReason::Superseded as i32, "{w:?}");
                timed_out |= w.reason == pb::WithdrawReason::TimedOut as i32
            }
            _ => {}
        }
    }
    assert!(got_live, "the new referral was not pushed");
    assert!(timed_out, "no time-out withdrawal was pushed");

    // Reconnecting resends whatever is pending now.
    drop(events);
    let mut again = o1
        .watch_referrals(pb::WatchReferralsRequest {})
        .await
        .unwrap()
        .into_inner();
    loop {
        if let pb::watch_referrals_response::Event::Synced(_) =
            again.next().await.unwrap().unwrap().event.unwrap()
        {
            break;
        }
    }
    s.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tokens_and_wrong_roles_are_refused() {
    let s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("west", "west-xa-yanta").await;
    let call = calls_of("west-xa-yanta", 1, "auth").remove(0);

    let nobody = Clients::connect(&s.servers[0].endpoint(), "not-a-token")
        .await
        .unwrap();
    assert_eq!(
        try_submit(&nobody, call.clone()).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let channel = tonic::transport::Endpoint::from_shared(s.servers[0].endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut bare = pb::intake_service_client::IntakeServiceClient::new(channel);
    let e = bare
        .submit_interaction(pb::SubmitInteractionRequest {
            interaction: Some(call.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);

    let r1 = s.as_(R1).await;
    assert_eq!(
        try_submit(&r1, call.clone()).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let robot = s.as_(ROBOT).await;
    let e = robot
        .desk
        .clone()
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 1,
            lease_seconds: None,
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = r1
        .admin
        .clone()
        .get_queue_stats(pb::GetQueueStatsRequest { region_id: None })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = s
        .as_(O1)
        .await
        .desk
        .clone()
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 1,
            lease_seconds: None,
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_naming_the_field() {
    let s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("west", "west-xa-yanta").await;
    let call = calls_of("west-xa-yanta", 1, "bad").remove(0);
    let (robot, r1) = (s.as_(ROBOT).await, s.as_(R1).await);
    let invalid = |field: &'static str| {
        move |e: tonic::Status| {
            assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
            assert!(
                e.message().contains(field),
                "{field} not named in {:?}",
                e.message()
            );
        }
    };
    let e = robot
        .intake
        .clone()
        .submit_interaction(pb::SubmitInteractionRequest { interaction: None })
        .await
        .unwrap_err();
    invalid("interaction")(e);
    let mut c = call.clone();
    c.region_id = "we{st}".into();
    invalid("interaction.region_id")(try_submit(&robot, c).await.unwrap_err());
    let mut c = call.clone();
    c.product = 0;
    invalid("interaction.product")(try_submit(&robot, c).await.unwrap_err());
    let mut c = call.clone();
    c.turns.clear();
    invalid("turns")(try_submit(&robot, c).await.unwrap_err());
    let mut c = call.clone();
    c.features.as_mut().unwrap().tenure_years = Some(f64::NAN);
    invalid("tenure_years")(try_submit(&robot, c).await.unwrap_err());
    let mut c = call.clone();
    c.call.as_mut().unwrap().hour_of_day = Some(25);
    invalid("hour_of_day")(try_submit(&robot, c).await.unwrap_err());
    let e = r1
        .desk
        .clone()
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 0,
            lease_seconds: None,
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    invalid("max_leads")(e);
    let e = r1
        .desk
        .clone()
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 1,
            lease_seconds: Some(5),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    invalid("lease_seconds")(e);
    let e = r1
        .desk
        .clone()
        .complete_lead(pb::CompleteLeadRequest {
            lead_id: "west.1".into(),
            lease_id: "1".into(),
            outcome: pb::Outcome::ReturnToRemote as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    invalid("outcome")(e);
    let admin = s.as_(ADMIN).await;
    let e = admin
        .admin
        .clone()
        .get_audit_trail(pb::GetAuditTrailRequest {
            lead_id: "west.doesnotexist".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = admin
        .admin
        .clone()
        .upsert_manager(pb::UpsertManagerRequest {
            manager: Some(pb::Manager {
                manager_id: "x".into(),
                tier: pb::ManagerTier::Offline as i32,
                region_id: "west".into(),
                capacity: 1,
                qualified_products: vec![1],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    invalid("manager.branch_id")(e);
    let info = r1
        .admin
        .clone()
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.intents.len(), 6);
    assert!(info.evaluation.contains_key("roc_auc"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reflection_and_metrics_are_served() {
    let s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("west", "west-xa-yanta").await;
    // One refused call, so the metrics have a non-OK code to show.
    let call = calls_of("west-xa-yanta", 1, "metrics").remove(0);
    let r1 = s.as_(R1).await;
    assert_eq!(
        try_submit(&r1, call).await.unwrap_err().code(),
        Code::PermissionDenied
    );

    // Health and metrics are served.
    let channel = tonic::transport::Endpoint::from_shared(s.servers[0].endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let h = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "funnel.v1.IntakeService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        h.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    // Reflection, both versions (grpcurl and Python's client speak v1alpha).
    use tonic_reflection::pb::{v1, v1alpha};
    let channel = tonic::transport::Endpoint::from_shared(s.servers[0].endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut r1 = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut out = r1
        .server_reflection_info(futures::stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        out.next().await.unwrap().unwrap().message_response
    else {
        panic!("no list of services")
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for svc in [
        "funnel.v1.IntakeService",
        "funnel.v1.RemoteDeskService",
        "funnel.v1.ReferralsService",
        "funnel.v1.AdminService",
        "grpc.health.v1.Health",
    ] {
        assert!(names.contains(&svc), "{svc} not listed: {names:?}");
    }
    let mut ra = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "funnel.v1.IntakeService".into(),
            ),
        ),
    };
    let mut out = ra
        .server_reflection_info(futures::stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        out.next().await.unwrap().unwrap().message_response,
        Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
    ));
    let page = scrape(s.servers[0].metrics).await.unwrap();
    assert!(
        page.contains("funnel_grpc_requests_total{code=\"PERMISSION_DENIED\""),
        "{}",
        &page[..page.len().min(400)]
    );
    assert!(page.contains("funnel_grpc_request_duration_seconds_bucket"));
    let metrics = s.servers[0].metrics;
    let (status, _) = http_get(metrics, "/healthz").await.unwrap();
    assert_eq!(status, 200);
    let (status, body) = http_get(metrics, "/readyz").await.unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"ready":true}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_work_without_double_assignment() {
    let mut s = Stack::start(&common::single().url(), 2, |_| {});
    s.setup_managers("east", "east-hz-xihu").await;
    let robots = [s.as_on(0, ROBOT).await, s.as_on(1, ROBOT).await];
    let mut queued = HashSet::new();
    for (i, c) in calls_of("east-hz-xihu", 158, "replicas")
        .into_iter()
        .enumerate()
    {
        let r = try_submit(&robots[i % 2], c).await.unwrap();
        if matches!(
            kind(&r),
            pb::DestinationKind::RemotePool | pb::DestinationKind::RemotePersonal
        ) {
            queued.insert(r.lead_id);
        }
    }
    let mut tasks = Vec::new();
    for (i, who) in [(0, R1), (1, R2), (1, R1), (0, R2)] {
        let c = s.as_on(i, who).await;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let leads = c
                    .desk
                    .clone()
                    .pull_leads(pb::PullLeadsRequest {
                        max_leads: 3,
                        lease_seconds: None,
                        request_id: String::new(),
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .leads;
                if leads.is_empty() {
                    return got;
                }
                got.extend(leads.into_iter().map(|l| l.lead.unwrap().lead_id));
            }
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        for lead in t.await.unwrap() {
            assert!(seen.insert(lead.clone()), "{lead} leased twice");
        }
    }
    assert_eq!(seen, queued);
    s.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_dies_mid_run_unavailable_then_recovers_without_losing_leads() {
    let redis = common::RedisNode::start(&common::RedisOptions {
        aof: true,
        ..Default::default()
    })
    .unwrap();
    let s = Stack::start(&redis.url(), 1, |_| {});
    s.setup_managers("north", "north-tj-heping").await;
    let robot = s.as_(ROBOT).await;
    let calls = calls_of("north-tj-heping", 60, "outage");
    let mut before = Vec::new();
    for c in &calls[..20] {
        before.push(try_submit(&robot, c.clone()).await.unwrap().lead_id);
    }
    redis.stop();
    let mut refused = Vec::new();
    for c in &calls[20..30] {
        let e = try_submit(&robot, c.clone()).await.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{e:?}");
        refused.push(c.clone());
    }
    let e = s
        .as_(R1)
        .await
        .desk
        .clone()
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 1,
            lease_seconds: None,
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    // Alive but not ready, and it says why.
    let metrics = s.servers[0].metrics;
    let (status, _) = http_get(metrics, "/healthz").await.unwrap();
    assert_eq!(status, 200);
    let (status, body) = http_get(metrics, "/readyz").await.unwrap();
    assert_eq!(status, 503, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(body["failed"]["redis"].is_string(), "{body}");
    assert!(body["failed"].get("scorer").is_none(), "{body}");

    redis.restart().unwrap();
    // The connection comes back by itself; retries of refused calls succeed.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut after = Vec::new();
    for c in refused.into_iter().chain(calls[30..].iter().cloned()) {
        loop {
            match try_submit(&robot, c.clone()).await {
                Ok(r) => {
                    after.push(r.lead_id);
                    break;
                }
                Err(e) if e.code() == Code::Unavailable && std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                Err(e) => panic!("no recovery: {e:?}"),
            }
        }
    }
    let admin = s.as_(ADMIN).await;
    for lead in before.iter().chain(&after) {
        admin
            .admin
            .clone()
            .get_audit_trail(pb::GetAuditTrailRequest {
                lead_id: lead.clone(),
            })
            .await
            .unwrap();
    }
    // Resubmitting the pre-outage calls finds the same leads: nothing lost.
    for (c, lead) in calls[..20].iter().zip(&before) {
        let r = try_submit(&robot, c.clone()).await.unwrap();
        assert!(r.replayed);
        assert_eq!(&r.lead_id, lead);
    }
    let router = s.router().await;
    let v = invariants::check(&router, &[RegionId::parse("north").unwrap()])
        .await
        .unwrap();
    assert!(v.is_empty(), "{v:?}");
    let (status, body) = http_get(s.servers[0].metrics, "/readyz").await.unwrap();
    assert_eq!(status, 200, "{body}");
    drop(s);
    redis.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("east", "east-nj-gulou").await;
    let robot = s.as_(ROBOT).await;
    let calls = calls_of("east-nj-gulou", 40, "drain");
    let tasks: Vec<_> = calls
        .iter()
        .cloned()
        .map(|c| {
            let robot = robot.clone();
            tokio::spawn(async move { try_submit(&robot, c).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let server = s.servers.remove(0);
    tokio::task::spawn_blocking(move || server.stop().unwrap())
        .await
        .unwrap();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            // Requests that arrived after the listener closed are refused cleanly.
            Err(e) => assert!(
                matches!(
                    e.code(),
                    Code::Unavailable | Code::Unknown | Code::Cancelled
                ),
                "{e:?}"
            ),
        }
    }
    assert!(ok > 0, "nothing in flight completed");
    // Whatever was accepted is fully written.
    s.assert_sound().await;
}
