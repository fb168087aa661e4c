//! The robot's load: SubmitInteraction in a closed loop (calls in flight)
//! or an open loop (a rate; latency runs from each call's intended send
//! time, so a server that falls behind cannot hide its queue). Each request
//! is a new interaction of a new customer or, for `replay_share` of them,
//! an interaction already acknowledged, sent again: its answer must be
//! marked replayed and name the same lead. A call counts as OK only when
//! its status is OK and its answer whole (lead, score, destination).

use super::report::Tally;
use crate::api::pb;
use crate::client::Clients;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Acknowledged interactions kept for replays.
const REPLAY_POOL: usize = 4096;
/// Acknowledged interactions before the first replay.
const REPLAY_SEED: usize = 64;

/// The requests of a run.
pub struct Calls {
    protos: Vec<pb::Interaction>,
    /// Makes ids unique across runs against the same server.
    run: String,
    seq: AtomicU64,
    replay_share: f64,
    acked: Mutex<VecDeque<(pb::Interaction, String)>>,
}

impl Calls {
    pub fn new(protos: Vec<pb::Interaction>, replay_share: f64) -> Self {
        Self {
            protos,
            run: format!("lg{:x}", rand::random::<u32>()),
            seq: AtomicU64::new(0),
            replay_share,
            acked: Mutex::new(VecDeque::with_capacity(REPLAY_POOL)),
        }
    }

    /// The next request, and the lead it must answer if it is a replay.
    fn next(&self) -> (pb::Interaction, Option<String>) {
        if self.replay_share > 0.0 && rand::random::<f64>() < self.replay_share {
            let acked = self.acked.lock().expect("replay pool");
            // New calls until a few are acknowledged, so that even a share
            // of 1 replays many interactions, not the first one.
            if acked.len() >= REPLAY_SEED {
                let (i, lead) = &acked[rand::random::<u64>() as usize % acked.len()];
                return (i.clone(), Some(lead.clone()));
            }
        }
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut i = self.protos[(n % self.protos.len() as u64) as usize].clone();
        i.interaction_id = format!("{}-{}-{n}", i.interaction_id, self.run);
        i.customer_id = format!("{}-{}-{n}", i.customer_id, self.run);
        (i, None)
    }

    fn acknowledged(&self, i: pb::Interaction, lead: String) {
        let mut acked = self.acked.lock().expect("replay pool");
        if acked.len() == REPLAY_POOL {
            acked.pop_front();
        }
        acked.push_back((i, lead));
    }
}

/// One call, counted in `tally` with its latency from `since`.
async fn submit(robot: &Clients, calls: &Calls, tally: &mut Tally, since: Instant) {
    let (i, replay_of) = calls.next();
    let req = pb::SubmitInteractionRequest {
        interaction: Some(i.clone()),
    };
    match robot.intake.clone().submit_interaction(req).await {
        Ok(r) => {
            let r = r.into_inner();
            let whole = !r.lead_id.is_empty() && r.score.is_some() && r.destination.is_some();
            match replay_of {
                _ if !whole => tally.error("INCOMPLETE".into()),
                Some(lead) if lead != r.lead_id || !r.replayed => {
                    tally.error("REPLAY_MISMATCH".into())
                }
                Some(_) => tally.ok(since.elapsed().as_micros() as u64),
                None => {
                    tally.ok(since.elapsed().as_micros() as u64);
                    calls.acknowledged(i, r.lead_id);
                }
            }
        }
        Err(s) => tally.status(&s),
    }
}

/// `concurrency` calls in flight over `robots` for `length`.
pub async fn closed(
    robots: &[Clients],
    calls: &Arc<Calls>,
    concurrency: usize,
    length: Duration,
) -> anyhow::Result<(Tally, f64)> {
    let end = Instant::now() + length;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for t in 0..concurrency.max(1) {
        let (robot, calls) = (robots[t % robots.len()].clone(), calls.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < end {
                submit(&robot, &calls, &mut tally, Instant::now()).await;
            }
            tally
        }));
    }
    let mut tally = Tally::default();
    for t in tasks {
        tally.merge(&t.await?);
    }
    Ok((tally, start.elapsed().as_secs_f64()))
}

/// `rate` calls a second over `robots` for `length`, whatever the answers.
pub async fn open(
    robots: &[Clients],
    calls: &Arc<Calls>,
    rate: u64,
    length: Duration,
) -> anyhow::Result<(Tally, f64)> {
    let total = rate.max(1) * length.as_secs().max(1);
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let mut in_flight = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let (robot, calls) = (
            robots[(n % robots.len() as u64) as usize].clone(),
            calls.clone(),
        );
        let tally = tally.clone();
        in_flight.push(tokio::spawn(async move {
            let mut one = Tally::default();
            submit(&robot, &calls, &mut one, due).await;
            tally.lock().expect("tally").merge(&one);
        }));
    }
    for t in in_flight {
        t.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let tally = tally.lock().expect("tally").clone();
    Ok((tally, secs))
}
