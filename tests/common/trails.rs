//! The funnel as the leads' audit trails tell it, recomputed lead by lead:
//! what the cockpit's counters must equal (tests/cockpit.rs, tests/browser.rs).
#![allow(dead_code)]

use super::web::audit;
use funnel::api::pb;
use funnel::client::Clients;

/// GetFunnelReport of today, every region, grouped by `group_by`.
pub async fn funnel_report(
    admin: &Clients,
    group_by: pb::FunnelGrouping,
) -> pb::GetFunnelReportResponse {
    admin
        .admin
        .clone()
        .get_funnel_report(pb::GetFunnelReportRequest {
            group_by: group_by as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// The funnel as the leads' audit trails tell it.
pub async fn funnel_from_trails(
    admin: &Clients,
    leads: &std::collections::BTreeSet<String>,
) -> pb::FunnelCounts {
    use pb::LeadState as S;
    let mut c = pb::FunnelCounts::default();
    for lead in leads {
        let trail = audit(admin, lead).await;
        let mut touched = false;
        for e in &trail {
            let to = S::try_from(e.to_state).unwrap();
            match e.action.as_str() {
                "ingested" => {
                    c.ingested += 1;
                    match pb::Bucket::try_from(e.bucket).unwrap() {
                        pb::Bucket::High => c.bucket_high += 1,
                        pb::Bucket::Medium => c.bucket_medium += 1,
                        _ => c.bucket_low += 1,
                    }
                    match to {
                        S::ReferralOffered | S::BranchUnassigned => c.route_referral += 1,
                        S::RemoteQueued => c.route_remote += 1,
                        S::Incubating => c.route_incubation += 1,
                        S::ServiceFollowup => c.route_service_followup += 1,
                        S::Suppressed => c.route_suppressed += 1,
                        other => panic!("ingested into {other:?}"),
                    }
                }
                "accepted" => c.accepted += 1,
                "declined" => {
                    c.declined += 1;
                    match pb::DeclineCategory::try_from(e.decline_category).unwrap() {
                        pb::DeclineCategory::NoCapacity => c.declined_no_capacity += 1,
                        pb::DeclineCategory::NotMyCustomer => c.declined_not_my_customer += 1,
                        pb::DeclineCategory::ProductMismatch => c.declined_product_mismatch += 1,
                        pb::DeclineCategory::CustomerUnsuitable => {
                            c.declined_customer_unsuitable += 1
                        }
                        pb::DeclineCategory::Other => c.declined_other += 1,
                        pb::DeclineCategory::Unspecified => panic!("a decline without a category"),
                    }
                }
                "leased" => c.leased += 1,
                "call_back_scheduled" => c.call_back += 1,
                _ => {}
            }
            let about_an_offer = matches!(
                e.action.as_str(),
                "declined" | "offer_expiring" | "offer_timed_out" | "offer_withdrawn" | "rescored"
            );
            if to == S::ReferralOffered && !e.manager_id.is_empty() && !about_an_offer {
                c.offered += 1;
            }
            if to == S::BranchUnassigned && e.from_state != e.to_state {
                c.unassigned += 1;
            }
            if e.from_state != e.to_state && to == S::ClosedConverted {
                c.converted += 1;
            }
            if e.from_state != e.to_state && to == S::ClosedNotInterested {
                c.not_interested += 1;
            }
            if !touched && matches!(e.action.as_str(), "leased" | "accepted") {
                touched = true;
                c.touched += 1;
            }
        }
    }
    c
}
