//! The cockpit's funnel counters, end to end through the gRPC API: calls
//! are submitted, offers accepted and declined, leases pulled and closed;
//! GetFunnelReport then answers exactly what the test did, per region,
//! manager, team and product, and refuses bad ranges.

mod common;

use common::stack::*;
use common::trails::{funnel_from_trails, funnel_report};
use common::web::*;
use funnel::api::pb;
use funnel::client::Clients;
use std::collections::BTreeMap;
use tonic::Code;

const REGION: &str = "south";
const BRANCH: &str = "south-gz-tianhe";

fn counts(row: &pb::FunnelRow) -> &pb::FunnelCounts {
    row.counts.as_ref().unwrap()
}

fn rows(r: &pb::GetFunnelReportResponse) -> BTreeMap<String, pb::FunnelCounts> {
    r.rows
        .iter()
        .map(|x| (x.group.clone(), *counts(x)))
        .collect()
}

async fn offers_of(c: &Clients) -> Vec<(String, String)> {
    c.referrals
        .clone()
        .list_my_referrals(pb::ListMyReferralsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .offered
        .into_iter()
        .map(|r| (r.lead.unwrap().lead_id, r.offer_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_counts_what_was_done() {
    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    let mut roster = team(REGION, BRANCH);
    for m in roster.managers.iter_mut() {
        if m.id.as_str() == "r1" {
            m.team = Some("wealth-a".into());
        }
    }
    roster.register(&s.as_(ADMIN).await).await.unwrap();
    let robot = s.as_(ROBOT).await;
    let admin = s.as_(ADMIN).await;

    // What the robot's answers say was routed.
    let mut want = pb::FunnelCounts::default();
    let mut leads = std::collections::BTreeSet::new();
    for c in calls_of(BRANCH, 60, "cockpit") {
        let r = submit(&robot, c).await;
        leads.insert(r.lead_id.clone());
        if r.joined_existing_lead {
            continue;
        }
        want.ingested += 1;
        match pb::Bucket::try_from(r.score.as_ref().unwrap().bucket).unwrap() {
            pb::Bucket::High => want.bucket_high += 1,
            pb::Bucket::Medium => want.bucket_medium += 1,
            pb::Bucket::Low => want.bucket_low += 1,
            pb::Bucket::Unspecified => panic!("no bucket"),
        }
        use pb::DestinationKind as K;
        match kind(&r) {
            K::ReferralOffered => {
                want.route_referral += 1;
                want.offered += 1;
            }
            K::BranchUnassigned => {
                want.route_referral += 1;
                want.unassigned += 1;
            }
            K::RemotePersonal | K::RemotePool => want.route_remote += 1,
            K::Incubation => want.route_incubation += 1,
            K::ServiceFollowup => want.route_service_followup += 1,
            K::Suppressed => want.route_suppressed += 1,
            other => panic!("a new lead went to {other:?}"),
        }
    }
    assert!(want.offered >= 2, "the sample slice has too few high leads");
    assert!(
        want.route_remote >= 3,
        "the sample slice has too few medium leads"
    );

    // o1 accepts one offer; o2 declines one (it is offered on to o1: one
    // more offer, or it waits unassigned).
    let o1 = s.as_(O1).await;
    let o2 = s.as_(O2).await;
    let (lead, offer) = offers_of(&o1)
        .await
        .into_iter()
        .next()
        .expect("o1 was offered a lead");
    o1.referrals
        .clone()
        .accept_referral(pb::AcceptReferralRequest {
            lead_id: lead,
            offer_id: offer,
        })
        .await
        .unwrap();
    want.accepted += 1;
    want.touched += 1;
    if let Some((lead, offer)) = offers_of(&o2).await.into_iter().next() {
        o2.referrals
            .clone()
            .decline_referral(pb::DeclineReferralRequest {
                lead_id: lead.clone(),
                offer_id: offer,
                reason: "customer is abroad".into(),
                category: pb::DeclineCategory::CustomerUnsuitable as i32,
            })
            .await
            .unwrap();
        want.declined += 1;
        want.declined_customer_unsuitable += 1;
        let trail = audit(&admin, &lead).await;
        let last = trail.last().unwrap();
        if last.to_state == pb::LeadState::ReferralOffered as i32 {
            want.offered += 1;
        } else {
            assert_eq!(last.to_state, pb::LeadState::BranchUnassigned as i32);
            want.unassigned += 1;
        }
    }

    // r1 pulls three and records three outcomes.
    let mut r1 = s.as_(R1).await.desk;
    let leases = r1
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 3,
            lease_seconds: Some(300),
            request_id: "cockpit-pull".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .leads;
    assert_eq!(leases.len(), 3);
    want.leased += 3;
    want.touched += 3;
    let at = chrono::Utc::now().timestamp() + 7200;
    for (l, outcome) in leases.iter().zip([
        pb::Outcome::Converted,
        pb::Outcome::NotInterested,
        pb::Outcome::CallBack,
    ]) {
        r1.complete_lead(pb::CompleteLeadRequest {
            lead_id: l.lead.as_ref().unwrap().lead_id.clone(),
            lease_id: l.lease_id.clone(),
            outcome: outcome as i32,
            callback_at: (outcome == pb::Outcome::CallBack).then_some(prost_types::Timestamp {
                seconds: at,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    want.converted += 1;
    want.not_interested += 1;
    want.call_back += 1;

    // The region: everything, exactly.
    let by_region = funnel_report(&admin, pb::FunnelGrouping::Region).await;
    let total = by_region.total.as_ref().unwrap();
    assert_eq!(counts(total), &want);
    assert_eq!(rows(&by_region).get(REGION), Some(&want));
    assert_eq!(by_region.days.len(), 1);
    assert_eq!(by_region.days[0].counts.as_ref(), Some(&want));
    assert_eq!(by_region.from_date, by_region.to_date);
    let rates = total.rates.as_ref().unwrap();
    assert_eq!(
        rates.acceptance,
        Some(want.accepted as f64 / want.offered as f64)
    );
    assert_eq!(rates.conversion, Some(0.5));
    let ttft = total.time_to_first_touch.as_ref().unwrap();
    assert_eq!(ttft.count, want.touched);
    // Touched within a minute of arriving (this test is quick).
    assert_eq!(ttft.p90_within_seconds, Some(60));
    assert_eq!(total.time_to_accept.as_ref().unwrap().count, 1);

    // The same from the audit trails, read lead by lead.
    assert_eq!(funnel_from_trails(&admin, &leads).await, want);

    // Per manager: r1's leases and outcomes, o1's acceptance.
    let by_manager = rows(&funnel_report(&admin, pb::FunnelGrouping::Manager).await);
    let r1_row = &by_manager["r1"];
    assert_eq!(
        (
            r1_row.leased,
            r1_row.converted,
            r1_row.not_interested,
            r1_row.call_back
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(by_manager["o1"].accepted, 1);
    assert_eq!(
        by_manager.values().map(|c| c.offered).sum::<u64>(),
        want.offered
    );
    if want.declined > 0 {
        assert_eq!(by_manager["o2"].declined, 1);
    }
    // Per team: r1's label; offline managers by their branch.
    let by_team = rows(&funnel_report(&admin, pb::FunnelGrouping::Team).await);
    assert_eq!(by_team["wealth-a"].leased, 3);
    assert_eq!(by_team[BRANCH].accepted, 1);
    // Per product: the parts add up to the whole.
    let by_product = rows(&funnel_report(&admin, pb::FunnelGrouping::Product).await);
    assert_eq!(
        by_product.values().map(|c| c.ingested).sum::<u64>(),
        want.ingested
    );
    assert_eq!(by_product.values().map(|c| c.converted).sum::<u64>(), 1);

    // Other days count nothing; bad requests name the field.
    let empty = admin
        .admin
        .clone()
        .get_funnel_report(pb::GetFunnelReportRequest {
            from_date: "2020-01-01".into(),
            to_date: "2020-01-31".into(),
            group_by: pb::FunnelGrouping::Region as i32,
            region_ids: vec![REGION.into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        counts(empty.total.as_ref().unwrap()),
        &pb::FunnelCounts::default()
    );
    assert!(empty.days.is_empty());
    for (from, to, group, field) in [
        ("2026-13-01", "", pb::FunnelGrouping::Region, "from_date"),
        (
            "2020-01-01",
            "2022-01-01",
            pb::FunnelGrouping::Region,
            "to_date",
        ),
        ("", "", pb::FunnelGrouping::Unspecified, "group_by"),
    ] {
        let e = admin
            .admin
            .clone()
            .get_funnel_report(pb::GetFunnelReportRequest {
                from_date: from.into(),
                to_date: to.into(),
                group_by: group as i32,
                region_ids: vec![],
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert!(e.message().contains(field), "{e:?}");
    }
    // Admins only.
    let denied = r1_report_denied(&s).await;
    assert_eq!(denied, Code::PermissionDenied);
    s.assert_sound().await;
}

async fn r1_report_denied(s: &Stack) -> Code {
    s.as_(R1)
        .await
        .admin
        .get_funnel_report(pb::GetFunnelReportRequest {
            group_by: pb::FunnelGrouping::Region as i32,
            ..Default::default()
        })
        .await
        .unwrap_err()
        .code()
}
