//! The workbench in headless Chromium, as managers use it: a remote manager
//! pulls, reads a lead and records each outcome; a branch manager sees a
//! referral appear live, declines it and the next manager gets it; a
//! double-submitted outcome acts once; operations read the cockpit, whose
//! numbers are the admin RPC's. Every test checks Redis's state
//! through the admin API and saves screenshots in `docs/screenshots/`.

mod common;

use common::browser::Browser;
use common::stack::*;
use common::web::*;
use funnel::api::pb;
use funnel::client::Clients;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The state the lead's last audit event left it in (admin API).
async fn state_of(admin: &Clients, lead: &str) -> pb::LeadState {
    let trail = audit(admin, lead).await;
    pb::LeadState::try_from(trail.last().unwrap().to_state).unwrap()
}

/// Audit events that moved the lead into `state`.
async fn entered(admin: &Clients, lead: &str, state: pb::LeadState) -> usize {
    audit(admin, lead)
        .await
        .iter()
        .filter(|e| e.to_state == state as i32 && e.from_state != e.to_state)
        .count()
}

async fn leads_listed(b: &Browser) -> Vec<String> {
    let v = b
        .js(
            "return [...document.querySelectorAll('#mine li[data-lead]')].map(e => e.dataset.lead)",
            vec![],
        )
        .await;
    serde_json::from_value(v).unwrap()
}

/// Pulls `n` through the page and waits until "my leads" lists them.
async fn pull(b: &Browser, n: usize) -> Vec<String> {
    b.type_into("#pull-max", &n.to_string()).await;
    b.click("#pull").await;
    b.until(&format!(
        "return document.getElementById('status').textContent.startsWith('pulled {n}')"
    ))
    .await;
    b.until(&format!(
        "return document.querySelectorAll('#mine li[data-lead]').length === {n}"
    ))
    .await;
    leads_listed(b).await
}

/// Opens `lead` from "my leads" and waits for its page and its buttons.
async fn open(b: &Browser, lead: &str) {
    b.click(&format!("#mine li[data-lead='{lead}'] .open-lead"))
        .await;
    b.until(&format!(
        "const h = document.querySelector('#lead h2'); \
         return !!h && h.textContent === 'Lead {lead}' && !!document.getElementById('actions')"
    ))
    .await;
}

async fn wait_done(b: &Browser, lead: &str) {
    b.until(&format!(
        "const d = document.getElementById('done'); return !!d && d.textContent.startsWith('Lead {lead}')"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_manager_pulls_reads_a_lead_and_records_each_outcome() {
    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("north", "north-bj-haidian").await;
    let robot = s.as_(ROBOT).await;
    assert_eq!(queue_remote(&robot, "north-bj-haidian", 6, "brem").await, 6);
    let admin = s.as_(ADMIN).await;
    let base = format!("http://{}", s.servers[0].web.unwrap());
    let b = Browser::start().await;
    b.sign_in(&base, &s.tokens[R1], "/remote").await;

    let leads = pull(&b, 3).await;
    // The pull opens the first lead: transcript, reason bars, trail.
    b.until(
        "return document.querySelectorAll('#lead .turn.customer').length > 0 \
         && document.querySelectorAll('#reasons .bar').length > 0 \
         && document.querySelectorAll('#audit tr[data-action]').length >= 2 \
         && document.querySelectorAll('#features tr').length > 0",
    )
    .await;
    b.screenshot("remote-desk").await;
    let shown = b
        .js(
            "return document.querySelector('#lead h2').textContent.slice(5)",
            vec![],
        )
        .await;
    let shown = shown.as_str().unwrap().to_string();
    assert!(leads.contains(&shown), "{shown} not in {leads:?}");
    b.click("#extend").await;
    b.until("return document.getElementById('status').textContent.startsWith('lease extended')")
        .await;
    assert!(audit(&admin, &shown)
        .await
        .iter()
        .any(|e| e.action == "lease_extended"));

    open(&b, &leads[0]).await;
    b.click("#converted").await;
    wait_done(&b, &leads[0]).await;
    open(&b, &leads[1]).await;
    b.click("#not-interested").await;
    wait_done(&b, &leads[1]).await;
    open(&b, &leads[2]).await;
    // The date-time picker, two hours ahead in the browser's zone.
    b.js(
        "const d = new Date(Date.now() + 7200e3); const p = n => String(n).padStart(2, '0'); \
         document.getElementById('callback-at').value = d.getFullYear() + '-' + p(d.getMonth() + 1) \
         + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()); return true",
        vec![],
    )
    .await;
    b.click("#call-back").await;
    wait_done(&b, &leads[2]).await;
    use pb::LeadState::*;
    assert_eq!(state_of(&admin, &leads[0]).await, ClosedConverted);
    assert_eq!(state_of(&admin, &leads[1]).await, ClosedNotInterested);
    assert_eq!(state_of(&admin, &leads[2]).await, RemoteCallback);

    let more = pull(&b, 3).await;
    open(&b, &more[0]).await;
    b.type_into("#escalate-note", "wants a branch visit on Saturday")
        .await;
    b.click("#escalate").await;
    wait_done(&b, &more[0]).await;
    open(&b, &more[1]).await;
    b.click("#incubate").await;
    wait_done(&b, &more[1]).await;
    open(&b, &more[2]).await;
    b.click("#release").await;
    wait_done(&b, &more[2]).await;
    assert!(matches!(
        state_of(&admin, &more[0]).await,
        ReferralOffered | BranchUnassigned
    ));
    assert!(audit(&admin, &more[0])
        .await
        .iter()
        .any(|e| e.reason.contains("Saturday")));
    assert_eq!(state_of(&admin, &more[1]).await, Incubating);
    assert_eq!(state_of(&admin, &more[2]).await, RemoteQueued);
    b.until("return document.querySelectorAll('#mine li[data-lead]').length === 0")
        .await;
    b.stop().await;
    s.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branch_manager_sees_a_referral_live_declines_it_and_the_next_gets_it() {
    let mut s = Stack::start(&common::single().url(), 1, |c| {
        // Only the push can make it in time.
        c.watch_poll = Duration::from_secs(60);
    });
    s.setup_managers("south", "south-gz-tianhe").await;
    let admin = s.as_(ADMIN).await;
    let base = format!("http://{}", s.servers[0].web.unwrap());
    let b = Browser::start().await;
    b.sign_in(&base, &s.tokens[O1], "/branch").await;
    b.until("return document.getElementById('live').textContent === 'live'")
        .await;

    let robot = s.as_(ROBOT).await;
    let mut found = None;
    for c in calls_of("south-gz-tianhe", 150, "blive") {
        let t0 = Instant::now();
        let r = submit(&robot, c).await;
        if kind(&r) == pb::DestinationKind::ReferralOffered
            && r.destination.as_ref().unwrap().manager_id == "o1"
        {
            found = Some((r.lead_id, t0));
            break;
        }
    }
    let (lead, t0) = found.expect("a referral went to o1");
    let row = format!("#offers li[data-lead='{lead}']");
    b.until(&format!("return !!document.querySelector(\"{row}\")"))
        .await;
    let shown = t0.elapsed();
    eprintln!("referral on the page {shown:?} after SubmitInteraction was called");
    assert!(shown < Duration::from_secs(1), "{shown:?}");
    b.until(&format!(
        "return document.querySelector(\"{row} .countdown\").textContent.startsWith('SLA ')"
    ))
    .await;
    b.click(&format!("{row} .open-lead")).await;
    b.until("return document.querySelectorAll('#lead .turn').length > 0")
        .await;
    b.screenshot("branch-referrals").await;

    b.type_into(
        &format!("{row} .decline-reason"),
        "customer is abroad until May",
    )
    .await;
    b.click(&format!("{row} .decline")).await;
    b.until(&format!(
        "return !document.querySelector(\"{row}\") \
         && document.getElementById('status').textContent.startsWith('declined')"
    ))
    .await;
    let trail = audit(&admin, &lead).await;
    assert!(trail
        .iter()
        .any(|e| e.action == "declined" && e.reason.contains("abroad")));
    assert_eq!(
        state_of(&admin, &lead).await,
        pb::LeadState::ReferralOffered
    );

    // The next manager signs in and finds it waiting, accepts, completes.
    b.click("#signout").await;
    b.sign_in(&base, &s.tokens[O2], "/branch").await;
    b.until(&format!("return !!document.querySelector(\"{row}\")"))
        .await;
    b.click(&format!("{row} .accept")).await;
    b.until("return !!document.getElementById('outcome-converted')")
        .await;
    b.type_into("#complete-note", "opened a wealth account")
        .await;
    b.click("#outcome-converted").await;
    wait_done(&b, &lead).await;
    assert_eq!(
        state_of(&admin, &lead).await,
        pb::LeadState::ClosedConverted
    );
    b.stop().await;
    s.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_submitted_outcome_acts_once_in_the_browser() {
    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("north", "north-bj-haidian").await;
    let robot = s.as_(ROBOT).await;
    assert_eq!(queue_remote(&robot, "north-bj-haidian", 2, "bdbl").await, 2);
    let admin = s.as_(ADMIN).await;
    let base = format!("http://{}", s.servers[0].web.unwrap());
    let b = Browser::start().await;
    b.sign_in(&base, &s.tokens[R1], "/remote").await;
    let leads = pull(&b, 2).await;

    // A double click on the button.
    open(&b, &leads[0]).await;
    b.js(
        "const c = document.getElementById('converted'); c.click(); c.click(); return true",
        vec![],
    )
    .await;
    wait_done(&b, &leads[0]).await;
    let converted = pb::LeadState::ClosedConverted;
    assert_eq!(entered(&admin, &leads[0], converted).await, 1);

    // Two identical requests racing from the page (a retry crossing the
    // first answer): one acts, the other answers the recorded result.
    let mine = b
        .js("return Funnel.call('GET', '/api/remote/mine')", vec![])
        .await;
    let lease = mine["leases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["lead"]["id"] == leads[1].as_str())
        .unwrap()["lease_id"]
        .clone();
    let replayed = b
        .js(
            "const [lead, lease] = arguments; \
             const path = '/api/remote/leads/' + lead + '/complete'; \
             const body = {lease_id: lease, outcome: 'not_interested', note: 'twice'}; \
             return Promise.all([Funnel.call('POST', path, body), Funnel.call('POST', path, body)]) \
               .then(rs => rs.map(r => r.replayed));",
            vec![json!(leads[1]), lease],
        )
        .await;
    let mut flags: Vec<bool> = serde_json::from_value(replayed).unwrap();
    flags.sort();
    assert_eq!(flags, vec![false, true]);
    let closed = pb::LeadState::ClosedNotInterested;
    assert_eq!(entered(&admin, &leads[1], closed).await, 1);
    assert_eq!(
        b.js(
            "return Funnel.call('GET', '/api/remote/mine').then(m => m.leases.length)",
            vec![]
        )
        .await,
        Value::from(0)
    );
    b.stop().await;
    s.assert_sound().await;
}

/// A stage's number as the cockpit shows it.
async fn shown(b: &Browser, stage: &str) -> u64 {
    let v = b
        .js(
            &format!("return document.getElementById('stage-{stage}').dataset.value"),
            vec![],
        )
        .await;
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cockpit_shows_what_the_admin_rpc_counts() {
    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("north", "north-bj-haidian").await;
    let robot = s.as_(ROBOT).await;
    let admin = s.as_(ADMIN).await;
    // Demo traffic: calls of one branch, some pulled and closed, an offer accepted.
    let mut leads = std::collections::BTreeSet::new();
    for c in calls_of("north-bj-haidian", 80, "cockpit") {
        leads.insert(submit(&robot, c).await.lead_id);
    }
    let mut r1 = s.as_(R1).await.desk;
    let leases = r1
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 3,
            lease_seconds: Some(600),
            request_id: "cockpit-b".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .leads;
    assert_eq!(leases.len(), 3);
    r1.complete_lead(pb::CompleteLeadRequest {
        lead_id: leases[0].lead.as_ref().unwrap().lead_id.clone(),
        lease_id: leases[0].lease_id.clone(),
        outcome: pb::Outcome::Converted as i32,
        ..Default::default()
    })
    .await
    .unwrap();
    let o1 = s.as_(O1).await.referrals;
    let offered = o1
        .clone()
        .list_my_referrals(pb::ListMyReferralsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .offered;
    let first = offered.first().expect("o1 was offered a lead");
    o1.clone()
        .accept_referral(pb::AcceptReferralRequest {
            lead_id: first.lead.as_ref().unwrap().lead_id.clone(),
            offer_id: first.offer_id.clone(),
        })
        .await
        .unwrap();

    let base = format!("http://{}", s.servers[0].web.unwrap());
    let b = Browser::start().await;
    b.sign_in(&base, &s.tokens[ADMIN], "/cockpit").await;
    b.until("return !!document.getElementById('stage-ingested')")
        .await;
    let rpc = common::trails::funnel_report(&admin, pb::FunnelGrouping::Region).await;
    let t = rpc.total.unwrap().counts.unwrap();
    for (stage, want) in [
        ("ingested", t.ingested),
        ("high", t.bucket_high),
        ("medium", t.bucket_medium),
        ("sales", t.route_referral + t.route_remote),
        ("offered", t.offered),
        ("leased", t.leased),
        ("touched", t.touched),
        ("accepted", t.accepted),
        ("converted", t.converted),
    ] {
        assert_eq!(shown(&b, stage).await, want, "stage {stage}");
    }
    assert_eq!((t.leased, t.accepted, t.converted), (3, 1, 1));
    // ... and what the leads' audit trails say, lead by lead.
    assert_eq!(common::trails::funnel_from_trails(&admin, &leads).await, t);

    // Per manager, as the RPC groups it; sorted by a click on a heading.
    b.js(
        "document.getElementById('group').value = 'manager'; return true",
        vec![],
    )
    .await;
    b.click("#refresh").await;
    b.until("return !!document.querySelector(\"#groups tr[data-group='r1']\")")
        .await;
    let by_manager = common::trails::funnel_report(&admin, pb::FunnelGrouping::Manager).await;
    for row in &by_manager.rows {
        let c = row.counts.as_ref().unwrap();
        let cells = b
            .js(
                "const r = document.querySelector(`#groups tr[data-group='${arguments[0]}']`); \
                 return ['offered', 'accepted', 'leased', 'converted'] \
                   .map(k => Number(r.querySelector(`td[data-col='${k}']`).textContent));",
                vec![json!(row.group)],
            )
            .await;
        let cells: Vec<u64> = serde_json::from_value(cells).unwrap();
        assert_eq!(
            cells,
            vec![c.offered, c.accepted, c.leased, c.converted],
            "manager {}",
            row.group
        );
    }
    b.click("#groups th[data-sort='leased']").await;
    b.until("return document.querySelector('#groups tr[data-group]').dataset.group === 'r1'")
        .await;

    // Stuck work: the two open leases, one opened to its trail and transcript.
    b.click("#list-tabs button[data-list='leases']").await;
    b.until("return document.querySelectorAll('#stuck li[data-lead]').length === 2")
        .await;
    b.click("#stuck li[data-lead] .open-lead").await;
    b.until(
        "return document.querySelectorAll('#lead .turn.customer').length > 0 \
         && document.querySelectorAll('#audit tr[data-action=\"leased\"]').length > 0",
    )
    .await;
    b.js("window.scrollTo(0, 0); return true", vec![]).await;
    b.screenshot("cockpit").await;

    // It refreshes by itself: new calls show within one refresh.
    let before = shown(&b, "ingested").await;
    for c in calls_of("north-bj-haidian", 90, "cockpit2")
        .into_iter()
        .skip(80)
    {
        submit(&robot, c).await;
    }
    let now = common::trails::funnel_report(&admin, pb::FunnelGrouping::Region)
        .await
        .total
        .unwrap()
        .counts
        .unwrap()
        .ingested;
    assert!(now > before);
    // One refresh is 15 s; `until` waits 15 s at most, so two rounds.
    let t0 = Instant::now();
    while shown(&b, "ingested").await != now {
        assert!(t0.elapsed() < Duration::from_secs(40), "not refreshed");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Other roles are sent to their own desk; the API refuses them.
    let (status, _) = call(
        s.servers[0].web.unwrap(),
        "GET",
        "/api/admin/funnel",
        Some(&s.tokens[R1]),
        None,
    )
    .await;
    assert_eq!(status, 403);
    b.stop().await;
    s.assert_sound().await;
}
