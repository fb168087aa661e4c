//! A whole funnel on one machine, for `funnel demo` and `funnel loadgen`:
//! generated bearer tokens, and the server running in this process on its
//! own runtime.

use crate::api::auth::hash_token;
use crate::config::Config;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Who gets a token in a local setup.
#[derive(Debug, Clone)]
pub enum Role {
    Robot,
    Admin,
    Remote(String),
    Offline(String),
}

/// Writes a token file for `roles`; returns its path and each role's token.
pub fn write_tokens(
    dir: &std::path::Path,
    roles: &[Role],
) -> anyhow::Result<(PathBuf, Vec<String>)> {
    let mut toml = String::new();
    let mut tokens = Vec::new();
    for role in roles {
        let token = format!("{:032x}", rand::random::<u128>());
        let (name, manager) = match role {
            Role::Robot => ("robot", None),
            Role::Admin => ("admin", None),
            Role::Remote(m) => ("remote_manager", Some(m)),
            Role::Offline(m) => ("offline_manager", Some(m)),
        };
        toml.push_str(&format!(
            "[[principal]]\ntoken_sha256 = \"{}\"\nrole = \"{name}\"\n",
            hash_token(&token)
        ));
        if let Some(m) = manager {
            toml.push_str(&format!("manager_id = \"{m}\"\n"));
        }
        toml.push('\n');
        tokens.push(token);
    }
    let path = dir.join("tokens.toml");
    std::fs::write(&path, toml)?;
    Ok((path, tokens))
}

/// A server running in this process on its own runtime.
pub struct LocalServer {
    pub grpc: SocketAddr,
    pub metrics: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl LocalServer {
    /// Starts `run` with `config` on 127.0.0.1:0 and waits until it listens.
    pub fn start(mut config: Config, threads: usize) -> anyhow::Result<Self> {
        config.listen = "127.0.0.1:0".parse()?;
        config.metrics_listen = "127.0.0.1:0".parse()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("funnel-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads.max(1))
                    .thread_name("funnel-server-rt")
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind(config.listen).await?;
                    let fail_tx = bound_tx.clone();
                    let result = crate::app::run(
                        config,
                        listener,
                        async move {
                            let _ = stop_rx.await;
                        },
                        move |b| {
                            let _ = bound_tx.send(Ok(b));
                        },
                    )
                    .await;
                    if let Err(e) = &result {
                        let _ = fail_tx.send(Err(e.to_string()));
                    }
                    result
                })
            })?;
        match bound_rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Ok(b)) => Ok(Self {
                grpc: b.grpc,
                metrics: b.metrics,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => anyhow::bail!("server failed to start: {e}"),
            Err(_) => anyhow::bail!("server did not start within 120 s"),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// Graceful stop: drains in-flight work, stops sweepers and scoring.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("server thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Reads a Prometheus text page from the metrics port.
pub async fn scrape(addr: SocketAddr) -> anyhow::Result<String> {
    Ok(http_get(addr, "/metrics").await?.1)
}

/// `GET path` on the metrics port: the status code and the body. Plain
/// HTTP/1.1 with `Connection: close` is all these few-KB pages need.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: funnel\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut page = String::new();
    s.read_to_string(&mut page).await?;
    let (head, body) = page
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no HTTP response from {addr}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("bad status line from {addr}: {head}"))?;
    Ok((status, body.to_string()))
}

/// Sum of a metric's samples whose line starts with `prefix` (labels included).
pub fn metric_sum(page: &str, prefix: &str) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
