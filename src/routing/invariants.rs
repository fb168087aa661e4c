//! An invariant checker for tests and operations: every lead is in exactly
//! one place, every queue holds only leads that say they are there, and each
//! manager's load equals the leads it really has. Reads whole shards: for
//! tests and offline audits, not for the hot path.

use super::{Router, RoutingError};
use crate::domain::{LeadState, Product, RegionId};
use std::collections::{HashMap, HashSet};

/// Checks every region given; returns the violations found (empty = sound).
pub async fn check(router: &Router, regions: &[RegionId]) -> Result<Vec<String>, RoutingError> {
    let mut violations = Vec::new();
    let mut live_in: HashMap<String, Vec<RegionId>> = HashMap::new();
    for region in regions {
        check_region(router, region, &mut violations, &mut live_in).await?;
    }
    for (lead, regions) in live_in {
        if regions.len() > 1 {
            violations.push(format!(
                "lead {lead} is live in several shards: {regions:?}"
            ));
        }
    }
    Ok(violations)
}

async fn smembers(router: &Router, key: String) -> Result<Vec<String>, RoutingError> {
    let mut conn = router.conn_mut();
    Ok(redis::cmd("SMEMBERS")
        .arg(key)
        .query_async(&mut conn)
        .await?)
}

async fn zmembers(router: &Router, key: &str) -> Result<HashSet<String>, RoutingError> {
    let mut conn = router.conn_mut();
    let v: Vec<String> = redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await?;
    Ok(v.into_iter().collect())
}

async fn check_region(
    router: &Router,
    region: &RegionId,
    violations: &mut Vec<String>,
    live_in: &mut HashMap<String, Vec<RegionId>>,
) -> Result<(), RoutingError> {
    let k = |rest: &str| router.shard_key(region, rest);
    let mut conn = router.conn_mut();
    let leads = smembers(router, k("leads")).await?;
    let managers = smembers(router, k("managers")).await?;
    let branches = smembers(router, k("branches")).await?;

    // Every container of the shard, and who should be in it.
    let mut containers: Vec<String> = Product::ALL
        .iter()
        .map(|p| k(&format!("pool:{p}")))
        .collect();
    for m in &managers {
        for c in ["mq", "offers", "held"] {
            containers.push(k(&format!("{c}:{m}")));
        }
    }
    for b in &branches {
        containers.push(k(&format!("unassigned:{b}")));
    }
    for c in [
        "incubation",
        "callback",
        "followup",
        "dl:offer",
        "dl:lease",
        "dl:unassigned",
    ] {
        containers.push(k(c));
    }
    let mut expected: HashMap<String, HashSet<String>> = containers
        .iter()
        .map(|c| (c.clone(), HashSet::new()))
        .collect();
    let mut owned: HashMap<String, u64> = HashMap::new();
    let mut bucket_counts: HashMap<String, i64> = HashMap::new();
    let mut open_by_customer: HashMap<String, Vec<String>> = HashMap::new();

    for id in &leads {
        let f: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(k(&format!("lead:{id}")))
            .query_async(&mut conn)
            .await?;
        let get = |n: &str| f.get(n).cloned().unwrap_or_default();
        let Ok(state) = LeadState::parse(&get("state")) else {
            violations.push(format!("{region}/{id}: unknown state {:?}", get("state")));
            continue;
        };
        let (place, deadline, owner) = (get("place"), get("deadline"), get("owner"));
        if state == LeadState::RemoteQueued && !owner.is_empty() {
            violations.push(format!("{region}/{id}: queued but owned by {owner}"));
        }
        let want_place: Option<String> = match state {
            LeadState::ReferralOffered => Some(k(&format!("offers:{owner}"))),
            LeadState::ReferralAccepted | LeadState::RemoteLeased => {
                Some(k(&format!("held:{owner}")))
            }
            LeadState::BranchUnassigned => Some(k(&format!("unassigned:{}", get("branch")))),
            LeadState::RemoteQueued => {
                let pool = k(&format!("pool:{}", get("product")));
                let qm = get("queue_manager");
                Some(if qm.is_empty() {
                    pool
                } else {
                    k(&format!("mq:{qm}"))
                })
            }
            LeadState::RemoteCallback => Some(k("callback")),
            LeadState::Incubating => Some(k("incubation")),
            LeadState::ServiceFollowup => Some(k("followup")),
            _ => None,
        };
        let want_deadline = match state {
            LeadState::ReferralOffered => k("dl:offer"),
            LeadState::RemoteLeased => k("dl:lease"),
            LeadState::BranchUnassigned => k("dl:unassigned"),
            _ => String::new(),
        };
        match &want_place {
            Some(p) if *p != place => violations.push(format!(
                "{region}/{id}: state {state} but place {place:?}, expected {p:?}"
            )),
            None if !place.is_empty() => violations.push(format!(
                "{region}/{id}: closed ({state}) but still in {place:?}"
            )),
            _ => {}
        }
        if deadline != want_deadline {
            violations.push(format!(
                "{region}/{id}: state {state} with deadline set {deadline:?}, expected {want_deadline:?}"
            ));
        }
        if !place.is_empty() {
            *bucket_counts
                .entry(format!("{place}|{}", get("bucket")))
                .or_default() += 1;
            match expected.get_mut(&place) {
                Some(set) => {
                    set.insert(id.clone());
                }
                None => violations.push(format!(
                    "{region}/{id}: place {place:?} is not a known queue"
                )),
            }
        }
        if !deadline.is_empty() {
            if let Some(set) = expected.get_mut(&deadline) {
                set.insert(id.clone());
            }
        }
        if matches!(
            state,
            LeadState::ReferralOffered | LeadState::ReferralAccepted | LeadState::RemoteLeased
        ) {
            *owned.entry(owner.clone()).or_default() += 1;
        }
        if !state.is_closed() {
            live_in.entry(id.clone()).or_default().push(region.clone());
            open_by_customer
                .entry(get("customer"))
                .or_default()
                .push(id.clone());
        }
    }

    for c in &containers {
        let actual = zmembers(router, c).await?;
        let want = &expected[c];
        for extra in actual.difference(want) {
            violations.push(format!(
                "{c}: holds {extra}, whose lead record says otherwise"
            ));
        }
        for missing in want.difference(&actual) {
            violations.push(format!(
                "{c}: missing {missing}, whose lead record says it is there"
            ));
        }
    }

    // The per-queue bucket counts kept by the scripts equal the real ones.
    let kept: HashMap<String, i64> = redis::cmd("HGETALL")
        .arg(k("qcount"))
        .query_async(&mut conn)
        .await?;
    for key in kept
        .keys()
        .chain(bucket_counts.keys())
        .collect::<HashSet<_>>()
    {
        let (have, want) = (
            kept.get(key).copied().unwrap_or(0),
            bucket_counts.get(key).copied().unwrap_or(0),
        );
        if have != want {
            violations.push(format!(
                "{region}: queue count {key} is {have}, really {want}"
            ));
        }
    }

    for m in &managers {
        let (held, offers, capacity, tier): (u64, u64, Option<u64>, Option<String>) = redis::pipe()
            .cmd("ZCARD")
            .arg(k(&format!("held:{m}")))
            .cmd("ZCARD")
            .arg(k(&format!("offers:{m}")))
            .cmd("HGET")
            .arg(k(&format!("mgr:{m}")))
            .arg("capacity")
            .cmd("HGET")
            .arg(k(&format!("mgr:{m}")))
            .arg("tier")
            .query_async(&mut conn)
            .await?;
        let real = owned.get(m).copied().unwrap_or(0);
        if held + offers != real {
            violations.push(format!(
                "{region}: manager {m} load {} but owns {real} leads",
                held + offers
            ));
        }
        // Remote capacity spans shards and is checked by the caller.
        if tier.as_deref() == Some("offline") && held + offers > capacity.unwrap_or(0) {
            violations.push(format!(
                "{region}: manager {m} load {} over capacity {capacity:?}",
                held + offers
            ));
        }
    }

    for (customer, open) in open_by_customer {
        let indexed: Option<String> = redis::cmd("GET")
            .arg(k(&format!("cust:{customer}")))
            .query_async(&mut conn)
            .await?;
        if open.len() > 1 {
            violations.push(format!(
                "{region}: customer {customer} has several open leads {open:?}"
            ));
        }
        if indexed.as_deref() != open.first().map(String::as_str) {
            violations.push(format!(
                "{region}: customer {customer} index points to {indexed:?}, open lead is {open:?}"
            ));
        }
    }
    Ok(())
}
