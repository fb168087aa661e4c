//! Personal data never reaches Redis or the logs: calls full of phone, ID,
//! card numbers and e-mail addresses go through the gRPC API, a remote
//! manager completes one with a note and escalates another with a reason
//! full of them, a branch manager declines the referral with one; then every
//! key of the private Redis and every log line (debug level) is scanned.

mod common;

use common::stack::*;
use common::web::{kind, submit};
use funnel::api::pb;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// The identifiers, as said or typed, and as their digits alone.
const SAID: [&str; 7] = [
    "13912345678",
    "139-1234-5678",
    "110101199003071233",
    // Wrong check digit, an ID's structure: the issue's own example.
    "110101199003071234",
    "6222 0200 0000 0000 07",
    "622202000000000007",
    "zhang.san@example.com",
];

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every key of the Redis and everything in it, as text.
fn dump(url: &str) -> String {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    assert!(!keys.is_empty());
    let mut out = String::new();
    for key in keys {
        let t: String = redis::cmd("TYPE").arg(&key).query(&mut c).unwrap();
        let v: redis::Value = match t.as_str() {
            "string" => redis::cmd("GET").arg(&key).query(&mut c).unwrap(),
            "hash" => redis::cmd("HGETALL").arg(&key).query(&mut c).unwrap(),
            "list" => redis::cmd("LRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query(&mut c)
                .unwrap(),
            "set" => redis::cmd("SMEMBERS").arg(&key).query(&mut c).unwrap(),
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query(&mut c)
                .unwrap(),
            "stream" => redis::cmd("XRANGE")
                .arg(&key)
                .arg("-")
                .arg("+")
                .query(&mut c)
                .unwrap(),
            other => panic!("{key}: unexpected type {other}"),
        };
        out.push_str(&key);
        out.push('\n');
        out.push_str(&format!("{v:?}\n"));
        flatten(&v, &mut out);
    }
    out
}

fn flatten(v: &redis::Value, out: &mut String) {
    match v {
        redis::Value::BulkString(b) => {
            out.push_str(&String::from_utf8_lossy(b));
            out.push('\n');
        }
        redis::Value::Array(items) | redis::Value::Set(items) => {
            items.iter().for_each(|i| flatten(i, out))
        }
        redis::Value::Map(kv) => kv.iter().for_each(|(k, v)| {
            flatten(k, out);
            flatten(v, out);
        }),
        redis::Value::SimpleString(s) => {
            out.push_str(s);
            out.push('\n');
        }
        _ => {}
    }
}

fn assert_clean(what: &str, text: &str) {
    for id in SAID {
        assert!(!text.contains(id), "{what} holds {id:?}");
    }
    // JSON escapes nothing in these; Chinese text around them stays as is.
    assert!(text.contains("****5678"), "{what}: no masked phone at all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_raw_identifier_reaches_redis_or_the_logs() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let mut s = Stack::start(&common::single().url(), 1, |c| {
        c.log_filter = "debug".into()
    });
    s.setup_managers("north", "north-bj-haidian").await;
    let robot = s.as_(ROBOT).await;
    let said = format!(
        "我的手机是{}，也可以打{}。身份证{}，不对是{}。卡号{}，另一张{}，邮箱{}",
        SAID[0], SAID[1], SAID[2], SAID[3], SAID[4], SAID[5], SAID[6]
    );
    let mut queued = 0;
    for mut call in calls_of("north-bj-haidian", 40, "pii") {
        call.turns.push(pb::Turn {
            speaker: pb::Speaker::Customer as i32,
            text: said.clone(),
            offset_ms: 0,
        });
        let r = submit(&robot, call).await;
        if matches!(
            kind(&r),
            pb::DestinationKind::RemotePool | pb::DestinationKind::RemotePersonal
        ) {
            queued += 1;
        }
        // Masked tokens never become phrase reasons.
        for reason in &r.score.as_ref().unwrap().reasons {
            for bad in ["＊", "phone", "card", "email", "5678", "1233", "0007"] {
                assert!(!reason.name.contains(bad), "reason {:?}", reason.name);
            }
        }
    }
    assert!(queued >= 2, "only {queued} medium leads");

    // A note and an escalation reason full of identifiers.
    let mut r1 = s.as_(R1).await.desk;
    let leads = r1
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 2,
            lease_seconds: Some(120),
            request_id: "pii-pull".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .leads;
    assert_eq!(leads.len(), 2);
    let lead = |i: usize| leads[i].lead.as_ref().unwrap().lead_id.clone();
    r1.complete_lead(pb::CompleteLeadRequest {
        lead_id: lead(0),
        lease_id: leads[0].lease_id.clone(),
        outcome: pb::Outcome::NotInterested as i32,
        note: said.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    r1.escalate_lead(pb::EscalateLeadRequest {
        lead_id: lead(1),
        lease_id: leads[1].lease_id.clone(),
        reason: said.clone(),
    })
    .await
    .unwrap();

    // The branch manager it went to declines it, with a reason like that.
    let mut declined = false;
    for who in [O1, O2] {
        let mut referrals = s.as_(who).await.referrals;
        let mine = referrals
            .list_my_referrals(pb::ListMyReferralsRequest {})
            .await
            .unwrap()
            .into_inner();
        for offer in mine.offered {
            if offer.lead.as_ref().unwrap().lead_id == lead(1) {
                referrals
                    .decline_referral(pb::DeclineReferralRequest {
                        lead_id: lead(1),
                        offer_id: offer.offer_id.clone(),
                        reason: said.clone(),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                declined = true;
            }
        }
    }
    assert!(declined, "the escalated lead was offered to nobody");

    assert_clean("Redis", &dump(&common::single().url()));
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(logged.len() > 1000, "hardly any logs: {logged}");
    for id in SAID {
        assert!(!logged.contains(id), "the logs hold {id:?}");
    }
    s.assert_sound().await;
}
