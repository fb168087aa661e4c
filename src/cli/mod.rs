//! The verbs of the `funnel` binary, one file each. Client verbs are thin
//! gRPC calls through the generated clients with a bearer token; they print
//! times as local date-times and fail with the gRPC status code's name.

pub mod audit;
pub mod complete;
pub mod export;
pub mod hash_token;
pub mod health;
pub mod lead;
pub mod manager;
pub mod model;
pub mod pull;
pub mod referral;
pub mod region;
pub mod report;
pub mod serve;
pub mod show;
pub mod stats;
pub mod submit;
pub mod watch;

use anyhow::Context;
use clap::Subcommand;
use funnel::api::pb::admin_service_client::AdminServiceClient;
use funnel::api::pb::referrals_service_client::ReferralsServiceClient;
use funnel::api::pb::remote_desk_service_client::RemoteDeskServiceClient;
use funnel::client::{Authed, ClientTls, Clients};
use std::future::Future;

/// Where the server is and who we are, for the client verbs.
#[derive(clap::Args, Clone, Debug)]
pub struct Target {
    /// Server address.
    #[arg(long, env = "FUNNEL_ADDR", default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// Bearer token (its role decides what the server allows).
    #[arg(long, env = "FUNNEL_TOKEN", hide_env_values = true)]
    pub token: String,
    /// CA (PEM) of an `https://` server's certificate (unset: the system's
    /// roots are not used; give the bank's CA).
    #[arg(long, env = "FUNNEL_TLS_CA")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// Client certificate (PEM) for a server with mutual TLS; its common
    /// name must be the token's principal.
    #[arg(long, env = "FUNNEL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, env = "FUNNEL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

/// A verb about one lead: where the server is, and the lead.
#[derive(clap::Args, Clone, Debug)]
pub struct LeadArgs {
    #[command(flatten)]
    pub target: Target,
    pub lead_id: String,
}

impl Target {
    pub async fn admin(&self) -> anyhow::Result<AdminServiceClient<Authed>> {
        Ok(self.connect().await?.admin)
    }

    pub async fn desk(&self) -> anyhow::Result<RemoteDeskServiceClient<Authed>> {
        Ok(self.connect().await?.desk)
    }

    pub async fn referrals(&self) -> anyhow::Result<ReferralsServiceClient<Authed>> {
        Ok(self.connect().await?.referrals)
    }

    /// One connection with a client of every service, each call carrying
    /// `authorization: Bearer <token>`.
    pub async fn connect(&self) -> anyhow::Result<Clients> {
        let tls = match self.addr.starts_with("https://") {
            true => Some(ClientTls::from_files(
                self.tls_ca.as_deref(),
                self.tls_cert.as_deref(),
                self.tls_key.as_deref(),
            )?),
            false => None,
        };
        Clients::connect_with(&self.addr, &self.token, tls.as_ref())
            .await
            .with_context(|| format!("cannot connect to {}", self.addr))
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the gRPC server.
    Serve(funnel::config::ServeFlags),
    /// Submit interactions from a JSON or JSON Lines file (robot token).
    Submit(submit::Args),
    /// Pull leads under a lease (remote manager token).
    Pull(pull::Args),
    /// Record the outcome of a leased lead (remote manager token).
    Complete(complete::Args),
    /// Print referrals as they are offered (offline manager token).
    Watch(watch::Args),
    /// Accept, decline or complete a referral (offline manager token).
    #[command(subcommand)]
    Referral(referral::Command),
    /// A lead with its transcripts, scores and history.
    Lead(LeadArgs),
    /// A lead's audit trail, one line per event (admin token).
    Audit(LeadArgs),
    /// Register managers, mark them (un)available, show one (admin token).
    #[command(subcommand)]
    Manager(manager::Command),
    /// Register regions and branches, list them (admin token).
    #[command(subcommand)]
    Region(region::Command),
    /// Queue depths and manager loads (admin token).
    Stats(stats::Args),
    /// The funnel over some days, per region, branch, team, manager, product
    /// or campaign (admin token).
    Report(report::Args),
    /// Retired leads as training records (JSON Lines), optionally
    /// acknowledged so the server trims its outcome log (admin token).
    ExportOutcomes(export::Args),
    /// The model bundle in use: versions, thresholds, features, evaluation (any token).
    Model(model::Args),
    /// Exit 0 if the server reports SERVING (gRPC health; for container health checks).
    Health(health::Args),
    /// Print the SHA-256 of a token, for the tokens file.
    HashToken(hash_token::Args),
    /// The whole scene on this machine: robot, remote and branch managers.
    Demo(funnel::demo::DemoArgs),
    /// Load generator against a server started in this process.
    Loadgen(funnel::loadgen::LoadArgs),
}

/// Runs a client verb on a small runtime of its own.
pub fn block_on(verb: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(verb)
}

/// The one line printed for a failed verb: a gRPC status as its code's
/// standard name and message (`NOT_FOUND: manager x`), anything else with
/// its causes.
pub fn error_line(e: &anyhow::Error) -> String {
    match e.chain().find_map(|c| c.downcast_ref::<tonic::Status>()) {
        Some(s) => format!(
            "error: {}: {}",
            funnel::telemetry::grpc_code_name(s.code()),
            s.message()
        ),
        None => format!("error: {e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::error_line;

    #[test]
    fn a_status_prints_its_code_name_and_message() {
        let e = anyhow::Error::from(tonic::Status::not_found("manager m-9"));
        assert_eq!(error_line(&e), "error: NOT_FOUND: manager m-9");
        let e = anyhow::Error::from(tonic::Status::failed_precondition("lease expired"))
            .context("completing lead l-1");
        assert_eq!(error_line(&e), "error: FAILED_PRECONDITION: lease expired");
        let e = anyhow::anyhow!("no such file").context("reading calls.jsonl");
        assert_eq!(error_line(&e), "error: reading calls.jsonl: no such file");
    }
}
