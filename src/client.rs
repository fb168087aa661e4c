//! gRPC clients with a bearer token, for the CLI verbs, the demo and the
//! load generator.

use crate::api::pb;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;

/// One connection and a client of every service over it.
#[derive(Clone)]
pub struct Clients {
    pub intake: pb::intake_service_client::IntakeServiceClient<Authed>,
    pub desk: pb::remote_desk_service_client::RemoteDeskServiceClient<Authed>,
    pub referrals: pb::referrals_service_client::ReferralsServiceClient<Authed>,
    pub admin: pb::admin_service_client::AdminServiceClient<Authed>,
}

impl Clients {
    pub async fn connect(addr: &str, token: &str) -> anyhow::Result<Self> {
        let channel = Endpoint::from_shared(addr.to_string())?
            .tcp_nodelay(true)
            .connect_timeout(std::time::Duration::from_secs(5))
            .connect()
            .await?;
        Self::with_channel(channel, token)
    }

    pub fn with_channel(channel: Channel, token: &str) -> anyhow::Result<Self> {
        let bearer = Bearer(format!("Bearer {token}").parse()?);
        Ok(Self {
            intake: pb::intake_service_client::IntakeServiceClient::with_interceptor(
                channel.clone(),
                bearer.clone(),
            ),
            desk: pb::remote_desk_service_client::RemoteDeskServiceClient::with_interceptor(
                channel.clone(),
                bearer.clone(),
            ),
            referrals: pb::referrals_service_client::ReferralsServiceClient::with_interceptor(
                channel.clone(),
                bearer.clone(),
            ),
            admin: pb::admin_service_client::AdminServiceClient::with_interceptor(channel, bearer),
        })
    }
}

/// Reads interactions from a JSON array or JSON Lines file.
pub fn read_interactions(
    path: &std::path::Path,
) -> anyhow::Result<Vec<crate::domain::Interaction>> {
    let raw = std::fs::read_to_string(path)?;
    let trimmed = raw.trim_start();
    if trimmed.starts_with('[') {
        return Ok(serde_json::from_str(trimmed)?);
    }
    raw.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1))
        })
        .collect()
}
