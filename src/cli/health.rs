//! `funnel health`: exit 0 if the server's gRPC health check says SERVING
//! (no token needed; the container health check).

use std::time::Duration;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

#[derive(clap::Args)]
pub struct Args {
    /// Server address.
    #[arg(long, env = "FUNNEL_ADDR", default_value = "http://127.0.0.1:50051")]
    addr: String,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let channel = tonic::transport::Endpoint::from_shared(args.addr)?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect()
        .await?;
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "funnel.v1.IntakeService".into(),
        })
        .await?
        .into_inner()
        .status();
    anyhow::ensure!(
        status == ServingStatus::Serving,
        "not serving ({})",
        status.as_str_name()
    );
    println!("serving");
    Ok(())
}
