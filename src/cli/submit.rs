//! `funnel submit <file>`: the robot's bulk upload over one
//! SubmitInteractions stream, with a progress bar (robot token).

use super::{show, Target};
use funnel::api::convert::interaction_to_pb;
use funnel::api::pb;
use funnel::client::read_interactions;
use futures::StreamExt;
use pb::submit_interactions_response::ItemResult;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// JSON array or JSON Lines, one interaction per line, in the format of
    /// models/holdout_sample.jsonl.
    file: PathBuf,
    /// Print one line per interaction: its id, lead, score, bucket and
    /// destination (in the order the server answers).
    #[arg(long)]
    each: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let calls = read_interactions(&args.file)?;
    let c = args.target.connect().await?;
    let bar = indicatif::ProgressBar::new(calls.len() as u64);
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} {per_sec} eta {eta}",
    )?);
    let items: Vec<_> = calls
        .iter()
        .enumerate()
        .map(|(i, x)| pb::SubmitInteractionsRequest {
            sequence: i as i64,
            interaction: Some(interaction_to_pb(x)),
        })
        .collect();
    let mut out = c
        .intake
        .clone()
        .submit_interactions(futures::stream::iter(items))
        .await?
        .into_inner();
    let mut by_destination = BTreeMap::<String, u64>::new();
    let mut errors = Vec::new();
    while let Some(r) = out.next().await {
        let r = r?;
        bar.inc(1);
        match r.item_result {
            Some(ItemResult::Result(res)) => {
                let d = res.destination.as_ref();
                if args.each {
                    bar.suspend(|| print_item(&r.interaction_id, &res));
                }
                *by_destination
                    .entry(show::destination_kind(d.map_or(0, |d| d.kind)))
                    .or_default() += 1;
            }
            Some(ItemResult::Error(e)) => errors.push(format!(
                "{}: {}: {}",
                r.interaction_id,
                funnel::telemetry::grpc_code_name(tonic::Code::from_i32(e.code)),
                e.message
            )),
            None => {}
        }
    }
    bar.finish_and_clear();
    for (kind, n) in by_destination {
        println!("{kind:<24} {n}");
    }
    for e in errors.iter().take(20) {
        eprintln!("refused {e}");
    }
    anyhow::ensure!(
        errors.is_empty(),
        "{} of {} interactions were refused",
        errors.len(),
        calls.len()
    );
    Ok(())
}

fn print_item(interaction: &str, res: &pb::SubmitInteractionResponse) {
    let score = res.score.as_ref();
    println!(
        "{interaction}  lead {}  score {} ({})  {}{}",
        res.lead_id,
        score.map_or("-".into(), |s| s.score.to_string()),
        score.map_or("-".into(), |s| show::bucket(s.bucket)),
        show::destination(res.destination.as_ref()),
        if res.replayed { "  (replayed)" } else { "" }
    );
}
