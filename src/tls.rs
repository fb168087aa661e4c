//! TLS at the three network edges: the gRPC port (a server certificate, and
//! optionally client certificates that must name the bearer token's
//! principal), the workbench, and the connection to Redis (`rediss://`).
//! Certificates are PEM files named in config; funnel never makes them.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[tls]` of the config: the server side. Unset = plain TCP (for a service
/// behind a TLS-terminating mesh or on a test machine only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// Server certificate chain (PEM). With `key_file`, the gRPC port and
    /// the workbench speak TLS only.
    pub cert_file: Option<PathBuf>,
    /// The certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
    /// CA (PEM) that signs client certificates. When set, every gRPC client
    /// must present one (mutual TLS), and its subject common name must be the
    /// principal of the bearer token it sends: `robot`, `admin` or the
    /// manager's id. The workbench (browsers) keeps server TLS only.
    pub client_ca_file: Option<PathBuf>,
}

/// `[redis_tls]` of the config, used for `rediss://` URLs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisTlsConfig {
    /// CA (PEM) that signs Redis's certificate; unset = the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM), when Redis asks for one
    /// (`tls-auth-clients yes`); with `client_key_file`.
    pub client_cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub client_key_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0}")]
    Incomplete(&'static str),
    #[error("TLS setup: {0}")]
    Setup(String),
}

/// The server's certificate material, read once at start.
#[derive(Clone)]
pub struct ServerTls {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("mutual", &self.client_ca.is_some())
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read(path.to_path_buf(), e))
}

fn read_opt(path: &Option<PathBuf>) -> Result<Option<Vec<u8>>, TlsError> {
    path.as_deref().map(read).transpose()
}

impl TlsConfig {
    /// The files read, or `None` when TLS is off. A key without a
    /// certificate (or the reverse), or a client CA without either, is an
    /// error: a half-configured TLS must not start as plain TCP.
    pub fn load(&self) -> Result<Option<ServerTls>, TlsError> {
        let (cert, key) = match (read_opt(&self.cert_file)?, read_opt(&self.key_file)?) {
            (Some(cert), Some(key)) => (cert, key),
            (None, None) if self.client_ca_file.is_none() => return Ok(None),
            _ => {
                return Err(TlsError::Incomplete(
                    "tls: cert_file and key_file go together (and client_ca_file needs both)",
                ))
            }
        };
        Ok(Some(ServerTls {
            cert,
            key,
            client_ca: read_opt(&self.client_ca_file)?,
        }))
    }
}

impl ServerTls {
    /// Whether clients must present a certificate naming their principal.
    pub fn mutual(&self) -> bool {
        self.client_ca.is_some()
    }

    /// tonic's server TLS: the identity, and the client CA when mutual.
    pub fn grpc(&self) -> tonic::transport::ServerTlsConfig {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let config = ServerTlsConfig::new().identity(Identity::from_pem(&self.cert, &self.key));
        match &self.client_ca {
            Some(ca) => config.client_ca_root(Certificate::from_pem(ca)),
            None => config,
        }
    }

    /// The workbench's rustls config (server certificate only).
    pub async fn web(&self) -> Result<axum_server::tls_rustls::RustlsConfig, TlsError> {
        axum_server::tls_rustls::RustlsConfig::from_pem(self.cert.clone(), self.key.clone())
            .await
            .map_err(|e| TlsError::Setup(e.to_string()))
    }
}

impl RedisTlsConfig {
    /// What redis-rs needs for `rediss://` beyond the URL, or `None` when
    /// nothing is configured (system roots, no client certificate).
    pub fn load(&self) -> Result<Option<redis::TlsCertificates>, TlsError> {
        let root_cert = read_opt(&self.ca_file)?;
        let client_tls = match (
            read_opt(&self.client_cert_file)?,
            read_opt(&self.client_key_file)?,
        ) {
            (Some(client_cert), Some(client_key)) => Some(redis::ClientTlsConfig {
                client_cert,
                client_key,
            }),
            (None, None) => None,
            _ => {
                return Err(TlsError::Incomplete(
                    "redis_tls: client_cert_file and client_key_file go together",
                ))
            }
        };
        Ok(
            (root_cert.is_some() || client_tls.is_some()).then_some(redis::TlsCertificates {
                client_tls,
                root_cert,
            }),
        )
    }
}

/// The subject common name of the leaf certificate a client presented.
pub fn peer_common_name(certs: &[tonic::transport::CertificateDer<'_>]) -> Option<String> {
    let leaf = certs.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_a_server_config_is_refused_and_none_is_plain() {
        assert!(TlsConfig::default().load().unwrap().is_none());
        let only_ca = TlsConfig {
            client_ca_file: Some("/nonexistent".into()),
            ..TlsConfig::default()
        };
        assert!(only_ca.load().is_err());
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        std::fs::write(&cert, "x").unwrap();
        let no_key = TlsConfig {
            cert_file: Some(cert),
            ..TlsConfig::default()
        };
        assert!(matches!(no_key.load(), Err(TlsError::Incomplete(_))));
    }

    #[test]
    fn the_common_name_is_read_from_the_leaf_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "rm-0042");
        let cert = params.self_signed(&key).unwrap();
        let der = tonic::transport::CertificateDer::from(cert.der().to_vec());
        assert_eq!(peer_common_name(&[der]).as_deref(), Some("rm-0042"));
        assert_eq!(peer_common_name(&[]), None);
        let junk = tonic::transport::CertificateDer::from(vec![1u8, 2, 3]);
        assert_eq!(peer_common_name(&[junk]), None);
    }
}
