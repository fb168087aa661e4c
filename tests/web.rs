//! The workbench's JSON API over real HTTP: a real server (gRPC and web
//! ports) on a private redis-server. Authentication and roles, retry-safe
//! pulls, outcomes that act once, the live referral stream.

mod common;

use common::stack::*;
use common::web::*;
use funnel::api::pb;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn lease_ids(v: &Value) -> BTreeSet<String> {
    v["leases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lease_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_roles_are_checked_like_the_grpc_api() {
    let s = Stack::start(&common::single().url(), 1, |_| {});
    let web = s.servers[0].web.expect("workbench enabled by default");

    // Pages are public (they hold no data); the API is not.
    let (status, head, body) = get_page(web, "/remote").await;
    assert_eq!(status, 200);
    assert!(head.contains("content-security-policy"), "{head}");
    assert!(body.contains("/static/remote.js"));
    assert_eq!(get_page(web, "/nope").await.0, 404);

    let (status, body) = call(web, "GET", "/api/remote/mine", None, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "Unauthenticated");
    let (status, _) = call(web, "GET", "/api/remote/mine", Some("wrong"), None).await;
    assert_eq!(status, 401);

    let (status, me) = call(web, "GET", "/api/me", Some(&s.tokens[R1]), None).await;
    assert_eq!(status, 200);
    assert_eq!(me["manager_id"], "r1");
    assert_eq!(me["page"], "/remote");

    // Wrong role: the same refusal text as the gRPC API's.
    let pull = json!({"max": 1, "request_id": "web-role-1"});
    for who in [ROBOT, ADMIN, O1] {
        let (status, body) = call(
            web,
            "POST",
            "/api/remote/pull",
            Some(&s.tokens[who]),
            Some(&pull),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("is not a remote manager"));
    }
    let (status, _) = call(
        web,
        "GET",
        "/api/branch/referrals",
        Some(&s.tokens[R1]),
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(Events::open(web, &s.tokens[R2]).await.err(), Some(403));
    assert_eq!(Events::open(web, "wrong").await.err(), Some(401));

    // Bad input names the field.
    let (status, body) = call(
        web,
        "POST",
        "/api/remote/pull",
        Some(&s.tokens[R1]),
        Some(&json!({"max": 99, "request_id": "x1"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().starts_with("max:"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_retried_with_its_request_id_answers_the_same_leases() {
    let s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("north", "north-bj-haidian").await;
    let robot = s.as_(ROBOT).await;
    assert_eq!(
        queue_remote(&robot, "north-bj-haidian", 6, "wpull").await,
        6
    );
    let web = s.servers[0].web.unwrap();
    let r1 = Some(&s.tokens[R1][..]);
    let body = json!({"max": 2, "lease_seconds": 300, "request_id": "web-click-1"});

    // A double click: both requests at once, then a late retry.
    let path = "/api/remote/pull";
    let (a, b) = tokio::join!(
        call(web, "POST", path, r1, Some(&body)),
        call(web, "POST", path, r1, Some(&body))
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let first = lease_ids(&a.1);
    assert_eq!(first.len(), 2);
    assert_eq!(lease_ids(&b.1), first);
    let retry = call(web, "POST", path, r1, Some(&body)).await;
    assert_eq!(lease_ids(&retry.1), first);

    // "My leads" shows exactly those; a new click pulls others.
    let mine = call(web, "GET", "/api/remote/mine", r1, None).await.1;
    assert_eq!(lease_ids(&mine), first);
    let other = json!({"max": 2, "request_id": "web-click-2"});
    let next = lease_ids(&call(web, "POST", path, r1, Some(&other)).await.1);
    assert_eq!(next.len(), 2);
    assert!(next.is_disjoint(&first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_submitted_outcome_acts_once() {
    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("north", "north-bj-haidian").await;
    let robot = s.as_(ROBOT).await;
    assert_eq!(
        queue_remote(&robot, "north-bj-haidian", 2, "wdouble").await,
        2
    );
    let web = s.servers[0].web.unwrap();
    let r1 = Some(&s.tokens[R1][..]);
    let pulled = call(
        web,
        "POST",
        "/api/remote/pull",
        r1,
        Some(&json!({"max": 1, "request_id": "web-double"})),
    )
    .await
    .1;
    let lease = &pulled["leases"][0];
    let lead = lease["lead"]["id"].as_str().unwrap().to_string();
    let lease_id = lease["lease_id"].as_str().unwrap();

    // The lead page: transcript, score and reasons, audit trail; another
    // manager may not read it.
    let (status, page) = call(web, "GET", &format!("/api/leads/{lead}"), r1, None).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page["interactions"][0]["interaction"]["turns"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(!page["interactions"][0]["score"]["reasons"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(page["history"].as_array().unwrap().len() >= 2);
    // Server time of the lead page (debug build, a nearly empty Redis;
    // loopback round trips included): reported, bounded loosely.
    let mut took: Vec<Duration> = Vec::new();
    for _ in 0..20 {
        let t0 = Instant::now();
        assert_eq!(
            call(web, "GET", &format!("/api/leads/{lead}"), r1, None)
                .await
                .0,
            200
        );
        took.push(t0.elapsed());
    }
    took.sort();
    eprintln!("lead page GET: median {:?}, max {:?}", took[10], took[19]);
    assert!(took[10] < Duration::from_millis(200), "{took:?}");
    let r2 = Some(&s.tokens[R2][..]);
    let (status, _) = call(web, "GET", &format!("/api/leads/{lead}"), r2, None).await;
    assert_eq!(status, 403);

    // Two identical outcomes at once: one acts, the other is its replay.
    let path = format!("/api/remote/leads/{lead}/complete");
    let done = json!({"lease_id": lease_id, "outcome": "converted", "note": "web"});
    let (a, b) = tokio::join!(
        call(web, "POST", &path, r1, Some(&done)),
        call(web, "POST", &path, r1, Some(&done))
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    assert_eq!(a.1["state"], "closed_converted");
    assert_eq!(b.1["state"], "closed_converted");
    let replays = [&a.1, &b.1]
        .iter()
        .filter(|v| v["replayed"] == true)
        .count();
    assert_eq!(replays, 1, "{a:?} {b:?}");
    // A different outcome on the same lease is refused, naming why.
    let other = json!({"lease_id": lease_id, "outcome": "not_interested"});
    let (status, body) = call(web, "POST", &path, r1, Some(&other)).await;
    assert_eq!(status, 409, "{body}");

    // Redis holds one conversion, read through the admin API.
    let trail = audit(&s.as_(ADMIN).await, &lead).await;
    let closed = trail
        .iter()
        .filter(|e| {
            e.to_state == pb::LeadState::ClosedConverted as i32 && e.from_state != e.to_state
        })
        .count();
    assert_eq!(closed, 1, "{trail:?}");
    s.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_arrives_live_is_declined_and_offered_to_the_next() {
    let mut s = Stack::start(&common::single().url(), 1, |c| {
        // Only the push can deliver within the test's bound.
        c.watch_poll = Duration::from_secs(60);
    });
    s.setup_managers("south", "south-gz-tianhe").await;
    let web = s.servers[0].web.unwrap();
    let mut o1 = Events::open(web, &s.tokens[O1]).await.unwrap();
    let synced = o1.next_named("synced", Duration::from_secs(5)).await;
    assert_eq!(synced.unwrap()["pending"], 0);

    let robot = s.as_(ROBOT).await;
    let mut latencies = Vec::new();
    let mut offered = None;
    for c in calls_of("south-gz-tianhe", 150, "wlive") {
        let t0 = Instant::now();
        let r = submit(&robot, c).await;
        if kind(&r) != pb::DestinationKind::ReferralOffered
            || r.destination.as_ref().unwrap().manager_id != "o1"
        {
            continue;
        }
        let ev = o1.next_named("offered", Duration::from_secs(5)).await;
        let ev = ev.expect("the offer reached the page's stream");
        latencies.push(t0.elapsed());
        assert_eq!(ev["lead"]["id"], r.lead_id.as_str());
        assert!(ev["accept_by"].as_i64().unwrap() > ev["now"].as_i64().unwrap());
        offered = Some(ev);
        if latencies.len() == 3 {
            break;
        }
    }
    let ev = offered.expect("a referral went to o1");
    // Submit → event on the stream (includes scoring and routing).
    let worst = latencies.iter().max().unwrap();
    eprintln!("referral latency submit→SSE: {latencies:?}");
    assert!(*worst < Duration::from_secs(1), "{latencies:?}");

    let lead = ev["lead"]["id"].as_str().unwrap();
    let offer = ev["offer_id"].as_str().unwrap();
    let path = format!("/api/branch/leads/{lead}/decline");
    let no_reason = json!({"offer_id": offer, "reason": " "});
    let o1t = Some(&s.tokens[O1][..]);
    assert_eq!(call(web, "POST", &path, o1t, Some(&no_reason)).await.0, 400);
    let decline = json!({"offer_id": offer, "reason": "customer abroad"});
    let (status, moved) = call(web, "POST", &path, o1t, Some(&decline)).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["manager"], "o2");

    // The next manager has it, accepts and completes it once.
    let o2t = Some(&s.tokens[O2][..]);
    let mine = call(web, "GET", "/api/branch/referrals", o2t, None).await.1;
    let item = mine["offered"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["lead"]["id"] == lead)
        .expect("offered to o2")
        .clone();
    let offer2 = item["lead"]["offer_id"].as_str().unwrap();
    let accept = json!({"offer_id": offer2});
    let url = format!("/api/branch/leads/{lead}/accept");
    let (status, page) = call(web, "POST", &url, o2t, Some(&accept)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["lead"]["state"], "referral_accepted");
    let url = format!("/api/branch/leads/{lead}/complete");
    let done = json!({"offer_id": offer2, "outcome": "converted", "note": "opened"});
    let (a, b) = tokio::join!(
        call(web, "POST", &url, o2t, Some(&done)),
        call(web, "POST", &url, o2t, Some(&done))
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let trail = audit(&s.as_(ADMIN).await, lead).await;
    assert!(trail
        .iter()
        .any(|e| e.action == "declined" && e.reason.contains("abroad")));
    let closed = trail
        .iter()
        .filter(|e| {
            e.to_state == pb::LeadState::ClosedConverted as i32 && e.from_state != e.to_state
        })
        .count();
    assert_eq!(closed, 1, "{trail:?}");
    drop(o1);
    s.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_leads_show_due_call_backs_like_list_my_leads() {
    let s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("west", "west-cq-yuzhong").await;
    let robot = s.as_(ROBOT).await;
    assert_eq!(queue_remote(&robot, "west-cq-yuzhong", 2, "wcb").await, 2);
    let web = s.servers[0].web.unwrap();
    let r1 = Some(&s.tokens[R1][..]);
    let pull = json!({"max": 2, "request_id": "web-cb-1"});
    let (status, got) = call(web, "POST", "/api/remote/pull", r1, Some(&pull)).await;
    assert_eq!(status, 200, "{got}");
    let leases = got["leases"].as_array().unwrap().clone();
    assert_eq!(leases.len(), 2);
    // One call-back due in a second, one tomorrow.
    let now = got["now"].as_i64().unwrap();
    for (l, at) in leases.iter().zip([now + 1000, now + 86_400_000]) {
        let lead = l["lead"]["id"].as_str().unwrap();
        let body = json!({"lease_id": l["lease_id"], "outcome": "call_back",
            "callback_at": at, "note": "after lunch"});
        let path = format!("/api/remote/leads/{lead}/complete");
        let (status, moved) = call(web, "POST", &path, r1, Some(&body)).await;
        assert_eq!(status, 200, "{moved}");
    }
    let due_lead = leases[0]["lead"]["id"].as_str().unwrap();
    let t0 = Instant::now();
    let mine = loop {
        let (status, mine) = call(web, "GET", "/api/remote/mine", r1, None).await;
        assert_eq!(status, 200, "{mine}");
        if !mine["callbacks"].as_array().unwrap().is_empty() || t0.elapsed().as_secs() > 10 {
            break mine;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Only the one whose time came; no lease any more.
    let callbacks = mine["callbacks"].as_array().unwrap();
    assert_eq!(callbacks.len(), 1, "{mine}");
    assert_eq!(callbacks[0]["lead"]["id"], due_lead);
    assert!(callbacks[0]["due_at"].as_i64().unwrap() >= now + 1000);
    assert!(mine["leases"].as_array().unwrap().is_empty());
    // The gRPC twin answers the same.
    let listed = s
        .as_(R1)
        .await
        .desk
        .list_my_leads(pb::ListMyLeadsRequest {})
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = listed
        .due_call_backs
        .iter()
        .map(|c| c.lead.as_ref().unwrap().lead_id.clone())
        .collect();
    assert_eq!(ids, [due_lead]);
    // The next pull takes it first: a lease again, no longer due.
    let pull = json!({"max": 1, "request_id": "web-cb-2"});
    let (_, got) = call(web, "POST", "/api/remote/pull", r1, Some(&pull)).await;
    assert_eq!(got["leases"][0]["lead"]["id"], due_lead);
    let (_, mine) = call(web, "GET", "/api/remote/mine", r1, None).await;
    assert!(mine["callbacks"].as_array().unwrap().is_empty(), "{mine}");

    // Every one of those requests was counted and timed, by route template.
    let (_, head, _) = get_page(web, "/remote").await;
    assert!(head.contains("server-timing: app;dur="), "{head}");
    let (_, page) = funnel::dev::server::http_get(s.servers[0].metrics, "/metrics")
        .await
        .unwrap();
    let metric = |prefix: &str| funnel::dev::server::metric_sum(&page, prefix);
    assert!(
        metric(r#"funnel_http_requests_total{route="/api/remote/mine",status="200"}"#) >= 3.0,
        "{page}"
    );
    assert_eq!(
        metric(
            r#"funnel_http_requests_total{route="/api/remote/leads/{lead}/complete",status="200"}"#
        ),
        2.0
    );
    assert!(
        metric(r#"funnel_http_request_duration_seconds_count{route="/api/remote/pull"}"#) >= 2.0
    );
    assert!(!page.contains(due_lead), "a lead id became a label value");
}
