//! An invariant checker for tests and operations: every lead is in exactly
//! one place, every queue holds only leads that say they are there, each
//! manager's load equals the leads it really has; every held or offered lead
//! has a deadline and a qualified manager; no lead of a do-not-contact
//! customer sits in a sales place; a customer has at most one open lead
//! across regions. Reads whole shards: for tests and offline audits, not for
//! the hot path.

use super::{Router, RoutingError};
use crate::domain::ManagerId;
use crate::domain::{LeadId, LeadState, Product, RegionId};
use std::collections::{HashMap, HashSet};

/// Checks every region given; returns the violations found (empty = sound).
pub async fn check(router: &Router, regions: &[RegionId]) -> Result<Vec<String>, RoutingError> {
    let mut violations = Vec::new();
    let mut open: HashMap<String, Vec<String>> = HashMap::new();
    for region in regions {
        check_region(router, region, &mut violations, &mut open).await?;
    }
    for (customer, leads) in open {
        if leads.len() > 1 {
            violations.push(format!(
                "customer {customer} has several open leads across regions: {leads:?}"
            ));
        }
    }
    Ok(violations)
}

/// A customer's remembered do-not-contact (kept in the lead's shard, the
/// customer's home region).
async fn do_not_contact(
    router: &Router,
    region: &RegionId,
    customer: &str,
) -> Result<bool, RoutingError> {
    let mut conn = router.conn.clone();
    let dnc: Option<String> = redis::cmd("HGET")
        .arg(router.keys().shard(region).customer_record(customer))
        .arg("dnc")
        .query_async(&mut conn)
        .await?;
    Ok(dnc.as_deref() == Some("1"))
}

async fn smembers(router: &Router, key: String) -> Result<Vec<String>, RoutingError> {
    let mut conn = router.conn.clone();
    Ok(redis::cmd("SMEMBERS")
        .arg(key)
        .query_async(&mut conn)
        .await?)
}

/// Every lead id of the shard (`scan_leads.lua`, a page at a time).
pub async fn lead_ids(router: &Router, region: &RegionId) -> Result<Vec<String>, RoutingError> {
    #[derive(serde::Serialize)]
    struct Args<'a> {
        cursor: &'a str,
        count: u32,
    }
    #[derive(serde::Deserialize)]
    struct Page {
        cursor: String,
        #[serde(deserialize_with = "super::script::lua_list")]
        ids: Vec<String>,
    }
    let (mut ids, mut cursor) = (Vec::new(), "0".to_string());
    loop {
        let page: Page = router
            .invoke(
                &router.scripts.scan_leads,
                region,
                &super::Actor::Admin,
                &Args {
                    cursor: &cursor,
                    count: 1000,
                },
            )
            .await?;
        ids.extend(page.ids);
        if page.cursor == "0" {
            break;
        }
        cursor = page.cursor;
    }
    // SCAN may return a key more than once.
    ids.sort();
    ids.dedup();
    Ok(ids)
}

async fn zmembers(router: &Router, key: &str) -> Result<HashSet<String>, RoutingError> {
    let mut conn = router.conn.clone();
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
    open_anywhere: &mut HashMap<String, Vec<String>>,
) -> Result<(), RoutingError> {
    let sk = router.keys().shard(region);
    let mut conn = router.conn.clone();
    let leads = lead_ids(router, region).await?;
    let managers = smembers(router, sk.managers()).await?;
    let branches = smembers(router, sk.branches()).await?;

    // Every container of the shard, and who should be in it.
    let mut containers: Vec<String> = Product::ALL.iter().map(|p| sk.pool(*p)).collect();
    for m in &managers {
        containers.push(sk.personal_queue(m));
        containers.push(sk.offers(m));
        containers.push(sk.held(m));
    }
    for b in &branches {
        containers.extend(Product::ALL.iter().map(|p| sk.unassigned(b, *p)));
    }
    containers.extend([
        sk.incubation(),
        sk.callback(),
        sk.followup(),
        sk.offer_deadlines(),
        sk.lease_deadlines(),
        sk.acceptance_deadlines(),
        sk.unassigned_deadlines(),
        sk.retire(),
    ]);
    let mut expected: HashMap<String, HashSet<String>> = containers
        .iter()
        .map(|c| (c.clone(), HashSet::new()))
        .collect();
    let mut owned: HashMap<String, u64> = HashMap::new();
    let mut bucket_counts: HashMap<String, i64> = HashMap::new();
    let mut open_by_customer: HashMap<String, Vec<String>> = HashMap::new();
    let (mut flagged, mut incubating) = (HashSet::new(), HashSet::new());

    for id in &leads {
        let f: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(sk.lead(id))
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
            LeadState::ReferralOffered => Some(sk.offers(&owner)),
            LeadState::ReferralAccepted | LeadState::RemoteLeased => Some(sk.held(&owner)),
            LeadState::BranchUnassigned => Product::parse(&get("product"))
                .ok()
                .map(|p| sk.unassigned(&get("branch"), p)),
            LeadState::RemoteQueued => {
                let pool = Product::parse(&get("product"))
                    .map(|p| sk.pool(p))
                    .unwrap_or_default();
                let qm = get("queue_manager");
                Some(if qm.is_empty() {
                    pool
                } else {
                    sk.personal_queue(&qm)
                })
            }
            LeadState::RemoteCallback => Some(sk.callback()),
            LeadState::Incubating => Some(sk.incubation()),
            LeadState::ServiceFollowup => Some(sk.followup()),
            _ => None,
        };
        let want_deadline = match state {
            LeadState::ReferralOffered => sk.offer_deadlines(),
            LeadState::RemoteLeased => sk.lease_deadlines(),
            LeadState::ReferralAccepted => sk.acceptance_deadlines(),
            LeadState::BranchUnassigned => sk.unassigned_deadlines(),
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
        if LeadId::parse(id.as_str())
            .ok()
            .and_then(|l| l.region())
            .as_ref()
            != Some(region)
        {
            violations.push(format!("{region}/{id}: the lead's id names another region"));
        }
        if state.is_closed() {
            // Until its retention ends; then the lead is gone.
            if let Some(set) = expected.get_mut(&sk.retire()) {
                set.insert(id.clone());
            }
        } else {
            open_by_customer
                .entry(get("customer"))
                .or_default()
                .push(id.clone());
            open_anywhere
                .entry(get("customer"))
                .or_default()
                .push(format!("{region}/{id}"));
        }
        let sales = matches!(
            state,
            LeadState::ReferralOffered
                | LeadState::ReferralAccepted
                | LeadState::BranchUnassigned
                | LeadState::RemoteQueued
                | LeadState::RemoteLeased
                | LeadState::RemoteCallback
        );
        if sales && do_not_contact(router, region, &get("customer")).await? {
            violations.push(format!(
                "{region}/{id}: customer {} is do-not-contact but the lead is {state}",
                get("customer")
            ));
        }
        if matches!(
            state,
            LeadState::ReferralOffered | LeadState::ReferralAccepted | LeadState::RemoteLeased
        ) {
            let products: Option<String> = redis::cmd("HGET")
                .arg(sk.manager(&manager_id(&owner)?))
                .arg("products")
                .query_async(&mut conn)
                .await?;
            let product = get("product");
            if !products
                .unwrap_or_default()
                .contains(&format!(",{product},"))
            {
                violations.push(format!(
                    "{region}/{id}: {state} with {owner}, who is not qualified for {product}"
                ));
            }
        }
        if !get("unplaceable").is_empty() {
            flagged.insert(id.clone());
        }
        if state == LeadState::Incubating {
            incubating.insert(id.clone());
        }
    }
    // The watch lists say what the leads say.
    let unplaceable = zmembers(router, &sk.unplaceable()).await?;
    if unplaceable != flagged {
        violations.push(format!(
            "{region}: unplaceable list {unplaceable:?} but flagged leads {flagged:?}"
        ));
    }
    for id in zmembers(router, &sk.reengage()).await? {
        if !incubating.contains(&id) {
            violations.push(format!(
                "{region}/{id}: due for re-engagement but not incubating"
            ));
        }
    }

    // A priority queue's age index holds exactly the queue's leads.
    let priority_queues = Product::ALL
        .iter()
        .map(|p| sk.pool(*p))
        .chain(managers.iter().map(|m| sk.personal_queue(m)));
    for q in priority_queues {
        let (queue, index) = (
            zmembers(router, &q).await?,
            zmembers(router, &sk.queue_age(&q)).await?,
        );
        if queue != index {
            violations.push(format!(
                "{q}: age index differs: {:?} only in the queue, {:?} only in the index",
                queue.difference(&index).collect::<Vec<_>>(),
                index.difference(&queue).collect::<Vec<_>>()
            ));
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
        .arg(sk.qcount())
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
        let (held, offers, (capacity, tier)): (u64, u64, (Option<u64>, Option<String>)) =
            redis::pipe()
                .cmd("ZCARD")
                .arg(sk.held(m))
                .cmd("ZCARD")
                .arg(sk.offers(m))
                .cmd("HMGET")
                .arg(sk.manager(&manager_id(m)?))
                .arg("capacity")
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
        let indexed: Option<String> = redis::cmd("HGET")
            .arg(sk.customer_record(&customer))
            .arg("lead")
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

fn manager_id(m: &str) -> Result<ManagerId, RoutingError> {
    ManagerId::parse(m).map_err(|e| RoutingError::Protocol(e.to_string()))
}
