//! Regions and branches are registered by an admin: the robot cannot create
//! a shard by naming a region, a call for an unregistered region or branch
//! is INVALID_ARGUMENT naming the field (or goes to the configured default
//! region), managers need registered places, and the sweeper's list of
//! regions is the registered one.

mod common;

use common::stack::*;
use funnel::api::pb;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_registered_regions_and_branches_take_calls_and_managers() {
    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    let robot = s.as_(ROBOT).await;
    let mut admin = s.as_(ADMIN).await.admin;
    let base = calls_of("north-bj-haidian", 1, "reg").remove(0);

    // A region nobody registered: refused, naming the field; no shard made.
    let mut ghost = base.clone();
    ghost.interaction_id = "reg-ghost".into();
    ghost.region_id = "ghost".into();
    ghost.branch_id = "ghost-b1".into();
    let e = try_submit(&robot, ghost.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().contains("interaction.region_id"),
        "{}",
        e.message()
    );

    // A registered region, a branch not registered in it: refused.
    let mut stray = base.clone();
    stray.interaction_id = "reg-stray".into();
    stray.branch_id = "north-nowhere".into();
    let e = try_submit(&robot, stray.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("interaction.branch_id"),
        "{}",
        e.message()
    );
    // Nor in another region than its own.
    let mut crossed = base.clone();
    crossed.interaction_id = "reg-crossed".into();
    crossed.branch_id = "east-sh-pudong".into();
    let e = try_submit(&robot, crossed).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // A manager of an unregistered region or branch: refused.
    let roster = team("ghost", "ghost-b1");
    for m in &roster.managers {
        let e = admin
            .upsert_manager(pb::UpsertManagerRequest {
                manager: Some(funnel::api::convert::manager_to_pb(m)),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains("manager.region_id"), "{}", e.message());
    }

    // Registered by an admin: the region, then its branch; both calls are
    // safe to repeat.
    for _ in 0..2 {
        let r = admin
            .register_region(pb::RegisterRegionRequest {
                region_id: "ghost".into(),
                display_name: "Ghost town".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.region.unwrap().display_name, "Ghost town");
        let r = admin
            .register_branch(pb::RegisterBranchRequest {
                region_id: "ghost".into(),
                branch_id: "ghost-b1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.region.unwrap().branch_ids, vec!["ghost-b1".to_string()]);
    }
    // A branch belongs to one region.
    let e = admin
        .register_branch(pb::RegisterBranchRequest {
            region_id: "ghost".into(),
            branch_id: "north-bj-haidian".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    // A branch of a region nobody registered.
    let e = admin
        .register_branch(pb::RegisterBranchRequest {
            region_id: "nowhere".into(),
            branch_id: "nowhere-b1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("region_id"), "{}", e.message());

    // Now the same call and the same managers are taken.
    roster.register(&s.as_(ADMIN).await).await.unwrap();
    let r = try_submit(&robot, ghost).await.unwrap();
    assert_eq!(r.destination.unwrap().region_id, "ghost");
    let listed = admin
        .list_regions(pb::ListRegionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .regions;
    let names: Vec<&str> = listed.iter().map(|r| r.region_id.as_str()).collect();
    assert!(
        names.contains(&"ghost") && names.contains(&"north"),
        "{names:?}"
    );

    // The sweeper walks registered regions only: a shard written behind
    // the service's back (straight through a router) is not one of them.
    let router = s.router().await;
    let mut req = funnel::dev::sample::ingest_request(
        "reg-behind",
        "reg-behind-c",
        &funnel::domain::RegionId::parse("shadow".to_string()).unwrap(),
        funnel::domain::Product::Wealth,
        funnel::domain::Route::Incubation,
        10,
    );
    req.route_reason = "written behind the service".into();
    router.ingest(&req).await.unwrap();
    let swept: Vec<String> = router
        .registered_regions()
        .await
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert!(swept.contains(&"ghost".to_string()), "{swept:?}");
    assert!(!swept.contains(&"shadow".to_string()), "{swept:?}");
    s.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_for_an_unknown_region_goes_to_the_default_region_when_configured() {
    let mut s = Stack::start(&common::single().url(), 1, |c| {
        c.registry.default_region = Some("north".into());
    });
    s.setup_managers("north", "north-bj-haidian").await;
    let robot = s.as_(ROBOT).await;
    let mut call = calls_of("north-bj-haidian", 1, "dflt").remove(0);
    call.region_id = "atlantis".into();
    let r = try_submit(&robot, call).await.unwrap();
    assert_eq!(r.destination.unwrap().region_id, "north");
    let (_, metrics) = funnel::dev::server::http_get(s.servers[0].metrics, "/metrics")
        .await
        .unwrap();
    assert!(
        metrics.contains("funnel_region_defaulted_total 1"),
        "the default region is counted"
    );
    s.assert_sound().await;
}
