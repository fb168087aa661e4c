//! TLS at every edge, with certificates made here (rcgen): the gRPC port
//! with mutual TLS (a client certificate must name the token's principal),
//! the workbench over HTTPS, and Redis reached only through its TLS port
//! (`rediss://`, an ACL user, a client certificate).

mod common;

use common::stack::*;
use common::{RedisNode, RedisOptions};
use funnel::client::{ClientTls, Clients};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

/// A test CA and the PEM files it signed, in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "funnel test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let pki = Self {
            dir: tempfile::tempdir().unwrap(),
            ca,
        };
        std::fs::write(pki.path("ca.pem"), pki.ca.pem()).unwrap();
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `name.pem` and `name.key`: a certificate with common name `cn`.
    fn issue(&self, name: &str, cn: &str, usage: ExtendedKeyUsagePurpose) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let (c, k) = (
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}.key")),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    }

    fn client(&self, cn: &str) -> ClientTls {
        let (c, k) = self.issue(cn, cn, ExtendedKeyUsagePurpose::ClientAuth);
        let mut tls =
            ClientTls::from_files(Some(&self.path("ca.pem")), Some(&c), Some(&k)).unwrap();
        tls.domain = Some("localhost".into());
        tls
    }
}

/// A redis-server whose TLS port wants a client certificate, and an ACL
/// user `funnel`; the plain port stays for the harness's own health checks.
fn redis_over_tls(pki: &Pki, tls_port: u16) -> RedisNode {
    let (cert, key) = pki.issue("redis", "localhost", ExtendedKeyUsagePurpose::ServerAuth);
    let ca = pki.path("ca.pem");
    let [cert, key, ca] = [&cert, &key, &ca].map(|p: &PathBuf| p.display().to_string());
    let port = tls_port.to_string();
    RedisNode::start(&RedisOptions::default().with_args(&[
        "--tls-port",
        &port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        "yes",
        "--user",
        "funnel",
        "on",
        ">s3cret@with:odd/chars",
        "~*",
        "&*",
        "+@all",
    ]))
    .unwrap()
}

/// GET `path` over HTTPS (trusting only the test CA): the status line.
async fn https_get(pki: &Pki, port: u16, path: &str, token: &str) -> std::io::Result<String> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // A peer that closes without close_notify is fine for a status line.
    let _ = tls.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    Ok(text.lines().next().unwrap_or_default().to_string())
}

fn stack_over_tls(pki: &Pki, redis_tls_port: u16) -> Stack {
    let (cert, key) = pki.issue("server", "localhost", ExtendedKeyUsagePurpose::ServerAuth);
    let (rc, rk) = pki.issue(
        "funnel-redis",
        "funnel",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let url = format!("rediss://funnel:s3cret%40with%3Aodd%2Fchars@localhost:{redis_tls_port}");
    let ca = pki.path("ca.pem");
    Stack::start(&url, 1, |c| {
        c.tls.cert_file = Some(cert.clone());
        c.tls.key_file = Some(key.clone());
        c.tls.client_ca_file = Some(ca.clone());
        c.redis_tls.ca_file = Some(ca.clone());
        c.redis_tls.client_cert_file = Some(rc.clone());
        c.redis_tls.client_key_file = Some(rk.clone());
    })
}

async fn as_with(s: &Stack, who: usize, tls: &ClientTls) -> anyhow::Result<Clients> {
    let addr = format!("https://localhost:{}", s.servers[0].grpc.port());
    Clients::connect_with(&addr, &s.tokens[who], Some(tls)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_edge_speaks_tls_and_a_certificate_must_name_its_principal() {
    let pki = Pki::new();
    let redis_port = funnel::dev::redis::free_port().unwrap();
    let redis = redis_over_tls(&pki, redis_port);
    let s = stack_over_tls(&pki, redis_port);

    let admin = as_with(&s, ADMIN, &pki.client("admin")).await.unwrap();
    team("east", "east-sh-pudong")
        .register(&admin)
        .await
        .unwrap();
    let robot = as_with(&s, ROBOT, &pki.client("robot")).await.unwrap();
    let calls = calls_of("east-sh-pudong", 2, "tls");
    let r = try_submit(&robot, calls[0].clone()).await.unwrap();
    assert!(!r.lead_id.is_empty(), "submitted over TLS, stored over TLS");
    // What funnel stored went through the TLS port: the plain one sees it.
    let keys = redis.cli(&["--scan", "--pattern", &format!("{}*", s.prefix)]);
    assert!(!keys.is_empty(), "no key under {} in Redis", s.prefix);

    // The robot's token with r1's certificate: a stolen token is not enough.
    let thief = as_with(&s, ROBOT, &pki.client("r1")).await.unwrap();
    let err = try_submit(&thief, calls[1].clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("\"r1\""), "{}", err.message());

    // No client certificate: the handshake itself is refused.
    let mut anonymous = pki.client("robot");
    anonymous.identity = None;
    let refused = match as_with(&s, ROBOT, &anonymous).await {
        Err(_) => true,
        Ok(c) => try_submit(&c, calls[1].clone()).await.is_err(),
    };
    assert!(refused, "a client without a certificate was served");

    // Plain HTTP/2 to the TLS port gets nowhere.
    let plain = format!("http://127.0.0.1:{}", s.servers[0].grpc.port());
    let refused = match Clients::connect(&plain, &s.tokens[ROBOT]).await {
        Err(_) => true,
        Ok(c) => try_submit(&c, calls[1].clone()).await.is_err(),
    };
    assert!(refused, "plain text was served on the TLS port");

    // The workbench answers over HTTPS and not in clear.
    let web = s.servers[0].web.expect("workbench on").port();
    let status = https_get(&pki, web, "/api/me", &s.tokens[R1])
        .await
        .unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let plain = funnel::dev::server::http_get(s.servers[0].web.unwrap(), "/api/me").await;
    assert!(
        !matches!(plain, Ok((200, _))),
        "the workbench answered plain HTTP: {plain:?}"
    );
}

#[test]
fn a_server_with_half_a_tls_config_does_not_start() {
    let pki = Pki::new();
    let (cert, _) = pki.issue("lonely", "localhost", ExtendedKeyUsagePurpose::ServerAuth);
    let config = funnel::config::Config {
        tls: funnel::tls::TlsConfig {
            cert_file: Some(cert),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("key_file"), "{err}");
}
