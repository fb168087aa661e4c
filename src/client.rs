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

/// TLS towards an `https://` server: the CA that signs its certificate
/// (unset: the address must be plain `http://`), and a client certificate
/// when the server wants mutual TLS.
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    pub ca_pem: Option<Vec<u8>>,
    /// Certificate and key (PEM) whose common name is our principal.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    /// The name the server's certificate must carry, when not the
    /// address's host.
    pub domain: Option<String>,
}

impl ClientTls {
    /// Reads the PEM files named on a command line.
    pub fn from_files(
        ca: Option<&std::path::Path>,
        cert: Option<&std::path::Path>,
        key: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
        };
        let identity = match (cert, key) {
            (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
            (None, None) => None,
            _ => anyhow::bail!("a client certificate needs its key, and the reverse"),
        };
        Ok(Self {
            ca_pem: ca.map(read).transpose()?,
            identity,
            domain: None,
        })
    }

    fn config(&self) -> tonic::transport::ClientTlsConfig {
        use tonic::transport::{Certificate, ClientTlsConfig, Identity};
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = &self.ca_pem {
            config = config.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        if let Some(domain) = &self.domain {
            config = config.domain_name(domain.clone());
        }
        config
    }
}

impl Clients {
    pub async fn connect(addr: &str, token: &str) -> anyhow::Result<Self> {
        Self::connect_with(addr, token, None).await
    }

    /// `connect`, over TLS when `tls` is given.
    pub async fn connect_with(
        addr: &str,
        token: &str,
        tls: Option<&ClientTls>,
    ) -> anyhow::Result<Self> {
        let mut endpoint = Endpoint::from_shared(addr.to_string())?
            .tcp_nodelay(true)
            .connect_timeout(std::time::Duration::from_secs(5));
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls.config())?;
        }
        Self::with_channel(endpoint.connect().await?, token)
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
