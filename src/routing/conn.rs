//! One connection type for a single Redis or a Redis Cluster, so every script
//! runs through the same code path on both.

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};
use std::time::Duration;

/// A multiplexed connection that reconnects by itself: `ConnectionManager` on
/// one server, the cluster client's connection on a cluster. Cheap to clone.
#[derive(Clone)]
pub enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisTarget {
    /// `redis://host:port` URLs: one for a single server, any number of seed
    /// nodes for a cluster.
    pub urls: Vec<String>,
    pub cluster: bool,
    /// Per-command response timeout.
    pub response_timeout: Duration,
    pub connect_timeout: Duration,
    /// Certificates for `rediss://` URLs beyond the system's roots (a
    /// private CA, a client certificate); the URL's scheme turns TLS on.
    pub tls: Option<redis::TlsCertificates>,
}

impl RedisTarget {
    /// A client of one node, with this target's certificates.
    pub fn client(&self, url: &str) -> RedisResult<redis::Client> {
        match &self.tls {
            Some(certs) => redis::Client::build_with_tls(url, certs.clone()),
            None => redis::Client::open(url),
        }
    }
}

impl RedisConn {
    pub async fn connect(target: &RedisTarget) -> RedisResult<Self> {
        if target.cluster {
            let mut builder = ClusterClient::builder(target.urls.clone())
                .connection_timeout(target.connect_timeout)
                .response_timeout(target.response_timeout)
                .retries(3);
            if let Some(certs) = &target.tls {
                builder = builder.certs(certs.clone());
            }
            let client = builder.build()?;
            Ok(Self::Cluster(client.get_async_connection().await?))
        } else {
            let url = target.urls.first().ok_or_else(|| {
                redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "no redis url"))
            })?;
            let client = target.client(url)?;
            let config = ConnectionManagerConfig::new()
                .set_response_timeout(Some(target.response_timeout))
                .set_connection_timeout(Some(target.connect_timeout))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_millis(500));
            Ok(Self::Single(
                ConnectionManager::new_with_config(client, config).await?,
            ))
        }
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}
