//! The `funnel` binary: the server and its client verbs.

use clap::{Parser, Subcommand};
use funnel::api::convert::{interaction_to_pb, ms_to_timestamp};
use funnel::api::pb;
use funnel::client::{read_interactions, Clients};
use funnel::config::{Config, ServeFlags};
use futures::StreamExt;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "funnel",
    version,
    about = "Scores robot conversations and routes leads down a three-tier funnel"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the server is and who we are, for the client verbs.
#[derive(clap::Args, Clone)]
struct Target {
    /// Server address.
    #[arg(long, env = "FUNNEL_ADDR", default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Bearer token.
    #[arg(long, env = "FUNNEL_TOKEN", hide_env_values = true)]
    token: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC server.
    Serve(ServeFlags),
    /// Submit interactions from a JSON or JSON Lines file (robot token).
    Submit {
        #[command(flatten)]
        target: Target,
        file: PathBuf,
    },
    /// Pull leads under a lease (remote manager token).
    Pull {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 5)]
        max: i32,
        #[arg(long)]
        lease_seconds: Option<i32>,
    },
    /// Record the outcome of a leased lead (remote manager token).
    Complete {
        #[command(flatten)]
        target: Target,
        lead_id: String,
        lease_id: String,
        /// converted | not_interested | call_back | escalate | return_to_incubation
        outcome: String,
        /// For call_back: seconds from now.
        #[arg(long)]
        call_back_in: Option<i64>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Print referrals as they are offered (offline manager token).
    Watch {
        #[command(flatten)]
        target: Target,
    },
    /// Queue depths and manager loads (admin token).
    Stats {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        region: Option<String>,
    },
    /// A lead with its transcripts, scores and history.
    Lead {
        #[command(flatten)]
        target: Target,
        lead_id: String,
    },
    /// The whole scene on this machine: robot, remote and branch managers.
    Demo(funnel::demo::DemoArgs),
    /// Load generator against a server started in this process.
    Loadgen(funnel::loadgen::LoadArgs),
    /// Print the SHA-256 of a token, for the tokens file.
    HashToken { token: String },
    /// Exit 0 if the server reports SERVING (gRPC health; for container health checks).
    Health {
        #[arg(long, env = "FUNNEL_ADDR", default_value = "http://127.0.0.1:50051")]
        addr: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(flags) => serve(flags),
        Command::Demo(args) => funnel::demo::run(args),
        Command::Loadgen(args) => funnel::loadgen::run(args),
        Command::HashToken { token } => {
            println!("{}", funnel::api::auth::hash_token(&token));
            Ok(())
        }
        other => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(client(other)),
    }
}

fn serve(flags: ServeFlags) -> anyhow::Result<()> {
    let config = Config::resolve(&flags)?;
    funnel::telemetry::init_logging(&config.log_format, &config.log_filter);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("funnel-rt")
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        funnel::app::run(config, listener, shutdown_signal(), |_| {}).await
    })
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

fn name<E: Copy>(v: i32, f: impl Fn(i32) -> Option<E>, n: impl Fn(E) -> &'static str) -> String {
    f(v).map(n).unwrap_or("?").to_string()
}

fn print_lead(l: &pb::LeadSummary) {
    let score = l.score.as_ref();
    println!(
        "{}  {}  {}  score {} ({})  owner {}  attempts {}",
        l.lead_id,
        name(
            l.state,
            |v| pb::LeadState::try_from(v).ok(),
            |e| e.as_str_name()
        ),
        name(
            l.product,
            |v| pb::Product::try_from(v).ok(),
            |e| e.as_str_name()
        ),
        score.map(|s| s.score).unwrap_or(0),
        score
            .map(|s| name(
                s.bucket,
                |v| pb::Bucket::try_from(v).ok(),
                |e| e.as_str_name()
            ))
            .unwrap_or_default(),
        l.owner_manager_id,
        l.attempts
    );
    for r in score.map(|s| s.reasons.as_slice()).unwrap_or_default() {
        println!("    {:+.3}  {} {}", r.weight, r.name, r.value);
    }
}

async fn client(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Submit { target, file } => {
            let calls = read_interactions(&file)?;
            let c = Clients::connect(&target.addr, &target.token).await?;
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
            let mut dest = std::collections::BTreeMap::<String, u64>::new();
            let mut errors = Vec::new();
            while let Some(r) = out.next().await {
                let r = r?;
                bar.inc(1);
                match r.item_result {
                    Some(pb::submit_interactions_response::ItemResult::Result(res)) => {
                        let kind = res
                            .destination
                            .map(|d| {
                                name(
                                    d.kind,
                                    |v| pb::DestinationKind::try_from(v).ok(),
                                    |e| e.as_str_name(),
                                )
                            })
                            .unwrap_or_default();
                        *dest.entry(kind).or_default() += 1;
                    }
                    Some(pb::submit_interactions_response::ItemResult::Error(e)) => {
                        errors.push(format!("{}: {}", r.interaction_id, e.message))
                    }
                    None => {}
                }
            }
            bar.finish();
            for (k, v) in dest {
                println!("{k:<40} {v}");
            }
            for e in errors.iter().take(20) {
                eprintln!("error {e}");
            }
            anyhow::ensure!(
                errors.is_empty(),
                "{} interactions were refused",
                errors.len()
            );
        }
        Command::Pull {
            target,
            max,
            lease_seconds,
        } => {
            let c = Clients::connect(&target.addr, &target.token).await?;
            let leads = c
                .desk
                .clone()
                .pull_leads(pb::PullLeadsRequest {
                    max_leads: max,
                    lease_seconds,
                    request_id: String::new(),
                })
                .await?
                .into_inner()
                .leads;
            for l in leads {
                println!(
                    "lease {} until {:?}",
                    l.lease_id,
                    l.lease_expires_at.map(|t| t.seconds)
                );
                if let Some(s) = &l.lead {
                    print_lead(s);
                }
            }
        }
        Command::Complete {
            target,
            lead_id,
            lease_id,
            outcome,
            call_back_in,
            note,
        } => {
            let outcome = match outcome.as_str() {
                "converted" => pb::Outcome::Converted,
                "not_interested" => pb::Outcome::NotInterested,
                "call_back" => pb::Outcome::CallBack,
                "escalate" => pb::Outcome::Escalate,
                "return_to_incubation" => pb::Outcome::ReturnToIncubation,
                other => anyhow::bail!("unknown outcome {other}"),
            };
            let callback_at = call_back_in.map(|s| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                ms_to_timestamp(now + s * 1000)
            });
            let c = Clients::connect(&target.addr, &target.token).await?;
            let r = c
                .desk
                .clone()
                .complete_lead(pb::CompleteLeadRequest {
                    lead_id,
                    lease_id,
                    outcome: outcome as i32,
                    callback_at,
                    note,
                })
                .await?
                .into_inner();
            println!(
                "{}",
                name(
                    r.state,
                    |v| pb::LeadState::try_from(v).ok(),
                    |e| e.as_str_name()
                )
            );
        }
        Command::Watch { target } => {
            let c = Clients::connect(&target.addr, &target.token).await?;
            let mut events = c
                .referrals
                .clone()
                .watch_referrals(pb::WatchReferralsRequest {})
                .await?
                .into_inner();
            while let Some(ev) = events.next().await {
                match ev?.event {
                    Some(pb::watch_referrals_response::Event::Offered(o)) => {
                        println!(
                            "OFFER {} accept by {:?}",
                            o.offer_id,
                            o.accept_by.map(|t| t.seconds)
                        );
                        if let Some(s) = o.lead.and_then(|l| l.summary) {
                            print_lead(&s);
                        }
                    }
                    Some(pb::watch_referrals_response::Event::Withdrawn(w)) => println!(
                        "WITHDRAWN {} ({})",
                        w.offer_id,
                        name(
                            w.reason,
                            |v| pb::WithdrawReason::try_from(v).ok(),
                            |e| e.as_str_name()
                        )
                    ),
                    Some(pb::watch_referrals_response::Event::Synced(s)) => {
                        println!("SYNCED {} pending", s.pending_offers)
                    }
                    None => {}
                }
            }
        }
        Command::Stats { target, region } => {
            let c = Clients::connect(&target.addr, &target.token).await?;
            let s = c
                .admin
                .clone()
                .get_queue_stats(pb::GetQueueStatsRequest { region_id: region })
                .await?
                .into_inner();
            println!(
                "{:<10} {:<24} {:<28} {:<8} {:>7} {:>10}",
                "region", "queue", "owner", "bucket", "depth", "oldest(s)"
            );
            for q in s.queues {
                println!(
                    "{:<10} {:<24} {:<28} {:<8} {:>7} {:>10}",
                    q.region_id,
                    name(
                        q.queue,
                        |v| pb::QueueKind::try_from(v).ok(),
                        |e| e.as_str_name()
                    )
                    .trim_start_matches("QUEUE_KIND_"),
                    q.owner_id,
                    name(
                        q.bucket,
                        |v| pb::Bucket::try_from(v).ok(),
                        |e| e.as_str_name()
                    )
                    .trim_start_matches("BUCKET_"),
                    q.depth,
                    q.oldest_age_seconds
                );
            }
            for m in s.managers {
                println!(
                    "manager {:<28} held {:>3}/{:<3} offers {:>3} available {}",
                    m.manager_id, m.held, m.capacity, m.pending_offers, m.available
                );
            }
        }
        Command::Lead { target, lead_id } => {
            let c = Clients::connect(&target.addr, &target.token).await?;
            let lead = c
                .desk
                .clone()
                .get_lead(pb::GetLeadRequest { lead_id })
                .await?
                .into_inner()
                .lead
                .unwrap_or_default();
            if let Some(s) = &lead.summary {
                print_lead(s);
            }
            for ix in &lead.interactions {
                if let Some(i) = &ix.interaction {
                    println!("-- interaction {}", i.interaction_id);
                    for t in &i.turns {
                        let who = if t.speaker == pb::Speaker::Robot as i32 {
                            "robot"
                        } else {
                            "customer"
                        };
                        println!("   {who:>8}: {}", t.text);
                    }
                }
            }
            for e in &lead.history {
                println!(
                    "   {:?} {} {} {}",
                    e.at.as_ref().map(|t| t.seconds),
                    e.actor,
                    e.action,
                    e.reason
                );
            }
        }
        Command::Health { addr } => {
            let channel = tonic::transport::Endpoint::from_shared(addr)?
                .connect_timeout(std::time::Duration::from_secs(2))
                .timeout(std::time::Duration::from_secs(2))
                .connect()
                .await?;
            let status = tonic_health::pb::health_client::HealthClient::new(channel)
                .check(tonic_health::pb::HealthCheckRequest {
                    service: "funnel.v1.IntakeService".into(),
                })
                .await?
                .into_inner()
                .status;
            anyhow::ensure!(
                status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
                "not serving (status {status})"
            );
            println!("serving");
        }
        Command::Serve(_) | Command::Demo(_) | Command::Loadgen(_) | Command::HashToken { .. } => {
            unreachable!("handled in main")
        }
    }
    Ok(())
}
