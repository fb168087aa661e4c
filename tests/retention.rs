//! Years of traffic stay bounded: a closed lead is kept for its retention,
//! then its outcome record goes to the shard's outcome log and every key of
//! the lead is deleted; the log is exported as training records and trimmed
//! once acknowledged. Bytes per open lead are measured with `MEMORY USAGE`.

mod common;

use common::scenario::*;
use common::stack::*;
use funnel::api::pb;
use funnel::client::Clients;
use funnel::domain::*;
use funnel::routing::{Keys, RoutingError};
use futures::StreamExt;
use std::collections::HashSet;
use std::time::Duration;

/// A converted lead and an open one; after the retention only the open one
/// and the converted one's outcome record remain; an acknowledged export
/// empties the log.
async fn a_closed_lead_leaves_only_its_outcome_record(h: H) {
    let r = &h.router;
    r.upsert_manager(&remote("ret-r", &["east"], 5))
        .await
        .unwrap();
    ingest(&h, Lead::new("ret-a", "ret-c1", Route::Remote, 60)).await;
    let open = ingest(&h, Lead::new("ret-b", "ret-c2", Route::Remote, 10)).await;
    let m = mgr("ret-r");
    let l = r.pull(&m, 1, None, &request()).await.unwrap().remove(0);
    r.complete(
        lease(&m, &l.lead.id, &l.lease_id),
        outcome(RemoteOutcome::Converted, None, "signed"),
    )
    .await
    .unwrap();
    let sk = Keys::new(&h.cfg.key_prefix).shard(&region("east"));
    h.assert_sound().await;

    // Within the retention: still readable, nothing retired.
    h.clock
        .advance(h.cfg.closed_retention - Duration::from_secs(60));
    let report = r.sweep_region(&region("east"), 10).await.unwrap();
    assert_eq!(report.leads_retired, 0);
    assert!(r.get_lead(&l.lead.id).await.is_ok());

    h.clock.advance(Duration::from_secs(61));
    let report = r.sweep_region(&region("east"), 10).await.unwrap();
    assert_eq!(report.leads_retired, 1);
    assert!(matches!(
        r.get_lead(&l.lead.id).await,
        Err(RoutingError::NotFound(_) | RoutingError::Rejected(_))
    ));
    let mut conn = h.conn.clone();
    for key in [
        sk.lead(l.lead.id.as_str()),
        sk.hist(l.lead.id.as_str()),
        sk.ix(l.lead.id.as_str()),
    ] {
        let n: u64 = redis::cmd("EXISTS")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 0, "{key} outlived the retention");
    }
    // The open lead is untouched; the invariants hold without the retired one.
    assert!(r.get_lead(&open.lead_id).await.is_ok());
    h.assert_sound().await;

    // Its outcome record: fields, history, the interaction.
    let page = r.outcomes_page(&region("east"), "", 10).await.unwrap();
    assert_eq!(page.len(), 1);
    let o = &page[0];
    assert_eq!(o.lead["id"], l.lead.id.as_str());
    assert_eq!(o.lead["state"], "closed_converted");
    assert!(o.history.iter().any(|e| e.action == "leased"));
    assert_eq!(o.interactions.len(), 1);
    let records = funnel::service::training_records(o);
    assert_eq!(records.len(), 1);
    let rec: serde_json::Value = serde_json::from_str(&records[0]).unwrap();
    assert_eq!(rec["label"]["converted"], true);
    assert_eq!(rec["interaction_id"], "ret-a");
    assert_eq!(rec["product"], "wealth");

    // Acknowledged: the next sweep trims the log (and an older cursor never
    // moves the acknowledgement back).
    r.outcomes_acknowledge(&region("east"), &o.cursor)
        .await
        .unwrap();
    let kept = r
        .outcomes_acknowledge(&region("east"), "1-0")
        .await
        .unwrap();
    assert_eq!(kept, o.cursor);
    r.sweep_region(&region("east"), 10).await.unwrap();
    assert_eq!(r.outcomes_len(&region("east")).await.unwrap(), 0);
}

on_both!(a_closed_lead_leaves_only_its_outcome_record);

/// Every key under `prefix` and its `MEMORY USAGE`.
async fn keys_and_bytes(prefix: &str) -> Vec<(String, u64)> {
    let mut conn = connect(Kind::Single, Duration::from_secs(5)).await;
    let mut out = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        for k in keys {
            let bytes: Option<u64> = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&k)
                .arg("SAMPLES")
                .arg(0)
                .query_async(&mut conn)
                .await
                .unwrap();
            out.push((k, bytes.unwrap_or(0)));
        }
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}

fn total(keys: &[(String, u64)]) -> u64 {
    keys.iter().map(|(_, b)| b).sum()
}

async fn export(admin: &Clients) -> Vec<pb::ExportOutcomesResponse> {
    let mut stream = admin
        .admin
        .clone()
        .export_outcomes(pb::ExportOutcomesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(o) = stream.next().await {
        out.push(o.unwrap());
    }
    out
}

/// The whole path over gRPC with real scoring on sample calls: bytes per
/// open lead, nothing left of a closed lead after its retention, and the
/// export read as `training/run.sh --input` reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_bounds_redis_and_the_export_feeds_training() {
    let s = Stack::start(&common::single().url(), 1, |c| {
        c.routing.idempotency_ttl = Duration::from_secs(1);
        c.routing.closed_retention = Duration::from_secs(2);
    });
    s.setup_managers("east", "east-sh-pudong").await;
    let before = total(&keys_and_bytes(&s.prefix).await);
    let robot = s.as_(ROBOT).await;
    let calls = calls_of("east-sh-pudong", 120, "ret");
    let mut leads = Vec::new();
    for c in &calls {
        let r = robot
            .intake
            .clone()
            .submit_interaction(pb::SubmitInteractionRequest {
                interaction: Some(c.clone()),
            })
            .await
            .unwrap()
            .into_inner();
        leads.push(r.lead_id);
    }
    let distinct: HashSet<&String> = leads.iter().collect();
    let all = keys_and_bytes(&s.prefix).await;
    let open = total(&all) - before;
    // Where the bytes are, per kind of key (the part after the hash tag).
    let mut kinds: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for (k, b) in &all {
        let kind = k.rsplit_once("}:").map_or(k.as_str(), |(_, rest)| rest);
        let kind = kind.split(':').next().unwrap_or(kind).to_string();
        let e = kinds.entry(kind).or_default();
        e.0 += 1;
        e.1 += b;
    }
    for (kind, (n, b)) in &kinds {
        println!(
            "  {kind}: {n} keys, {} bytes per lead",
            b / distinct.len() as u64
        );
    }
    let per_open = open / distinct.len() as u64;
    println!(
        "bytes per open lead: {per_open} ({} leads, {open} bytes in all, every key under the prefix)",
        distinct.len()
    );
    // The bar: a typical call's open lead costs Redis at most 4 KB.
    assert!(per_open <= 4096, "{per_open} bytes per open lead");

    // Close every lead: a few converted by a remote manager, the rest
    // suppressed by an admin's do-not-contact (whoever holds them).
    let mut r1 = s.as_(R1).await.desk;
    let pulled = r1
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 5,
            lease_seconds: Some(120),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .leads;
    for l in &pulled {
        r1.complete_lead(pb::CompleteLeadRequest {
            lead_id: l.lead.as_ref().unwrap().lead_id.clone(),
            lease_id: l.lease_id.clone(),
            outcome: pb::Outcome::Converted as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let admin = s.as_(ADMIN).await;
    for c in &calls {
        admin
            .admin
            .clone()
            .set_customer_compliance(pb::SetCustomerComplianceRequest {
                customer_id: c.customer_id.clone(),
                do_not_contact: Some(true),
                clear_complaint: false,
            })
            .await
            .unwrap();
    }

    // After the retention (and the idempotency records' TTL): no key names
    // a closed lead any more.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let leftover = loop {
        let keys = keys_and_bytes(&s.prefix).await;
        let left: Vec<String> = keys
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| distinct.iter().any(|id| k.contains(id.as_str())))
            .collect();
        if left.is_empty() || std::time::Instant::now() > deadline {
            break left;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(leftover.is_empty(), "left after retention: {leftover:?}");
    let idem: Vec<String> = keys_and_bytes(&s.prefix)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.contains(":idem:"))
        .collect();
    assert!(
        idem.is_empty(),
        "idempotency records outlived their TTL: {idem:?}"
    );

    // The export: one record per lead, in the form the training loader wants.
    let exported = export(&admin).await;
    let records: Vec<serde_json::Value> = exported
        .iter()
        .flat_map(|o| o.training_records.iter())
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    assert_eq!(exported.len(), distinct.len());
    assert_eq!(records.len(), calls.len());
    // The six intents of training/funnel_training/schema.py.
    let intents = [
        "interested",
        "asks_for_human",
        "call_back_later",
        "not_interested",
        "complaint",
        "no_answer",
    ];
    for r in &records {
        assert!(
            intents.contains(&r["label"]["intent"].as_str().unwrap()),
            "{r}"
        );
        assert!(r["label"]["converted"].is_boolean(), "{r}");
        assert!(
            Product::parse(r["product"].as_str().unwrap()).is_ok(),
            "{r}"
        );
        assert!(!r["turns"].as_array().unwrap().is_empty(), "{r}");
    }
    // Kept for a look with training/run.sh --input (see the README).
    let file = std::env::temp_dir().join("funnel-retention-export.jsonl");
    let lines: Vec<&String> = exported.iter().flat_map(|o| &o.training_records).collect();
    std::fs::write(
        &file,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    println!("export written to {}", file.display());
    let converted = exported
        .iter()
        .filter(|o| o.final_state == pb::LeadState::ClosedConverted as i32)
        .count();
    assert_eq!(converted, pulled.len());
    assert!(records.iter().any(
        |r| r["label"]["converted"] == true && r["label"]["final_state"] == "closed_converted"
    ));

    // Acknowledged: trimmed by the next sweeps; a second export is empty.
    let last = exported.last().unwrap();
    admin
        .admin
        .clone()
        .acknowledge_export(pb::AcknowledgeExportRequest {
            region_id: last.region_id.clone(),
            cursor: last.cursor.clone(),
        })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !export(&admin).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "outcome log not trimmed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let bad = admin
        .admin
        .clone()
        .acknowledge_export(pb::AcknowledgeExportRequest {
            region_id: "east".into(),
            cursor: "yesterday".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
}
