//! Whatever the input, what is stored stays bounded: a customer who calls
//! twelve times with 3.5 MB transcripts leaves a lead whose GetLead answer is
//! under 1 MB, with the last 10 interactions, each cut and the cut recorded;
//! too many turns and a note over its limit are INVALID_ARGUMENT naming the
//! field.

mod common;

use common::stack::*;
use funnel::api::pb;
use prost::Message;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_input_is_bounded_whatever_is_sent() {
    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("north", "north-bj-haidian").await;
    let robot = s.as_(ROBOT).await;
    let base = calls_of("north-bj-haidian", 1, "lim").remove(0);

    // More turns than the limit: refused, naming the field.
    let mut many = base.clone();
    many.interaction_id = "lim-many".into();
    many.turns = (0..501).map(|_| base.turns[0].clone()).collect();
    let e = try_submit(&robot, many).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("interaction.turns"), "{}", e.message());

    // Twelve calls of one customer, the first three 3.5 MB each.
    let huge = "我想了解一下理财产品的收益情况。".repeat(3_500_000 / 48);
    assert!(huge.len() > 3_400_000);
    let mut lead_id = String::new();
    for n in 0..12 {
        let mut call = base.clone();
        call.interaction_id = format!("lim-{n}");
        if n < 3 {
            call.turns.push(pb::Turn {
                speaker: pb::Speaker::Customer as i32,
                text: huge.clone(),
                offset_ms: 0,
            });
        }
        let r = try_submit(&robot, call).await.unwrap();
        if n > 0 {
            assert_eq!(r.lead_id, lead_id, "call {n} joins the customer's lead");
        }
        lead_id = r.lead_id;
    }
    let mut admin = s.as_(ADMIN).await.desk;
    let lead = admin
        .get_lead(pb::GetLeadRequest {
            lead_id: lead_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let bytes = lead.encoded_len();
    assert!(bytes < 1_000_000, "GetLead answered {bytes} bytes");
    let l = lead.lead.unwrap();
    assert_eq!(
        l.interactions.len(),
        10,
        "the last 10 interactions are kept"
    );
    // The third call (lim-2) is the oldest kept: cut, and the cut recorded.
    let oldest = &l.interactions[0];
    assert_eq!(oldest.interaction.as_ref().unwrap().interaction_id, "lim-2");
    assert!(oldest.transcript_cut_chars > 1_000_000);
    let stored: usize = oldest
        .interaction
        .as_ref()
        .unwrap()
        .turns
        .iter()
        .map(|t| t.text.chars().count())
        .sum();
    assert!(stored <= 16_000, "{stored} characters stored");

    // A note over its limit: refused, naming the field.
    for call in calls_of("north-bj-haidian", 40, "limn") {
        let r = try_submit(&robot, call).await.unwrap();
        let kind = pb::DestinationKind::try_from(r.destination.unwrap().kind).unwrap();
        if kind == pb::DestinationKind::RemotePool {
            break;
        }
    }
    let mut r1 = s.as_(R1).await.desk;
    let l = r1
        .pull_leads(pb::PullLeadsRequest {
            max_leads: 1,
            lease_seconds: Some(120),
            request_id: "lim-pull".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .leads
        .remove(0);
    let e = r1
        .complete_lead(pb::CompleteLeadRequest {
            lead_id: l.lead.as_ref().unwrap().lead_id.clone(),
            lease_id: l.lease_id.clone(),
            outcome: pb::Outcome::NotInterested as i32,
            note: "很长的备注".repeat(401),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("note:"), "{}", e.message());
    s.assert_sound().await;
}

/// More interactions in flight than `max_in_flight`: the excess is refused
/// at once with RESOURCE_EXHAUSTED (the robot backs off and retries), the
/// rest succeed; nothing else fails and nothing waits behind a queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_beyond_max_in_flight_are_refused_at_once() {
    let mut s = Stack::start(&common::single().url(), 1, |c| c.max_in_flight = 2);
    s.setup_managers("north", "north-bj-haidian").await;
    let robot = s.as_(ROBOT).await;
    let calls = calls_of("north-bj-haidian", 40, "inflight");
    assert_eq!(calls.len(), 40);
    let answers = futures::future::join_all(calls.into_iter().map(|c| {
        let robot = robot.clone();
        async move {
            let t0 = std::time::Instant::now();
            (try_submit(&robot, c).await, t0.elapsed())
        }
    }))
    .await;
    let (mut ok, mut refused) = (0, 0);
    for (answer, took) in answers {
        match answer {
            Ok(_) => ok += 1,
            Err(e) if e.code() == Code::ResourceExhausted => {
                refused += 1;
                assert!(e.message().contains("in flight"), "{}", e.message());
                assert!(
                    took < std::time::Duration::from_secs(2),
                    "refused after {took:?}"
                );
            }
            Err(e) => panic!("only RESOURCE_EXHAUSTED may fail: {e:?}"),
        }
    }
    assert!(ok >= 2 && refused >= 1, "{ok} ok, {refused} refused");
    s.assert_sound().await;
}
