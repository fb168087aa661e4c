//! A funnel server running in this process on its own runtime, on
//! 127.0.0.1 ports chosen by the system; the whole funnel on one machine
//! (Redis, tokens, server) for the demo and the load generator; and plain
//! HTTP reads of the metrics port (`/metrics`, `/healthz`, `/readyz`).

use super::redis::{RedisNode, RedisOptions};
use super::roster::{Roster, Tokens};
use crate::config::Config;
use std::net::SocketAddr;
use std::time::Duration;

/// The whole funnel on one machine (`funnel demo`, `funnel loadgen`): the
/// given Redis or a private one, a tokens file for a roster, and a server.
pub struct LocalFunnel {
    pub server: LocalServer,
    pub tokens: Tokens,
    redis: Option<RedisNode>,
    _dir: tempfile::TempDir,
}

impl LocalFunnel {
    /// Starts a server with `config`, whose Redis URLs become `redis_url`
    /// (or a private redis-server's) and whose tokens file is written here
    /// for `roster`.
    pub fn start(
        redis_url: Option<&str>,
        roster: &Roster,
        mut config: Config,
        threads: usize,
    ) -> anyhow::Result<Self> {
        let redis = match redis_url {
            Some(_) => None,
            None => Some(RedisNode::start(&RedisOptions::default())?),
        };
        let url = redis_url.map(str::to_string);
        config.redis_urls = vec![url.unwrap_or_else(|| redis.as_ref().expect("redis").url())];
        let dir = tempfile::tempdir()?;
        let tokens = roster.write_tokens(dir.path())?;
        config.tokens_file = tokens.path.clone();
        Ok(Self {
            server: LocalServer::start(config, threads)?,
            tokens,
            redis,
            _dir: dir,
        })
    }

    /// Stops the server gracefully, then the private Redis.
    pub fn stop(self) -> anyhow::Result<()> {
        self.server.stop()?;
        drop(self.redis);
        Ok(())
    }
}

/// A server running in this process on its own runtime.
pub struct LocalServer {
    pub grpc: SocketAddr,
    pub metrics: SocketAddr,
    /// The workbench (`web.enabled`).
    pub web: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl LocalServer {
    /// Starts `run` with `config` on 127.0.0.1:0 and waits until it listens.
    pub fn start(mut config: Config, threads: usize) -> anyhow::Result<Self> {
        config.listen = "127.0.0.1:0".parse()?;
        config.metrics_listen = "127.0.0.1:0".parse()?;
        config.web.listen = "127.0.0.1:0".parse()?;
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
                web: b.web,
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
