//! What the workbench tests share: plain HTTP/1.1 to the web port (JSON
//! calls and an event-stream reader), and sample calls of one branch.
#![allow(dead_code)]

use super::stack::calls_of;
use funnel::api::pb;
use funnel::client::Clients;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One plain HTTP/1.1 request: the response's head and body, and the time
/// from connecting to the last byte.
pub async fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (String, String, Duration) {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: funnel\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let took = t0.elapsed();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string(), took)
}

/// A JSON call: the status and the body (JSON, or the text as a string).
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let (head, body, _) = exchange(addr, method, path, token, body).await;
    let body = body.as_str();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let value = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.into()));
    (status, value)
}

/// `GET path`: the status, the headers (lowercase) and the body.
pub async fn get_page(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: funnel\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// An open `/api/branch/events` stream.
pub struct Events {
    lines: BufReader<TcpStream>,
}

impl Events {
    /// Opens the stream; answers the status when it is refused.
    pub async fn open(addr: SocketAddr, token: &str) -> Result<Self, u16> {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "GET /api/branch/events HTTP/1.1\r\nHost: funnel\r\nAuthorization: Bearer {token}\r\n\
             Accept: text/event-stream\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut lines = BufReader::new(s);
        let mut status = String::new();
        lines.read_line(&mut status).await.unwrap();
        let code: u16 = status.split_whitespace().nth(1).unwrap().parse().unwrap();
        // The rest of the head.
        loop {
            let mut l = String::new();
            lines.read_line(&mut l).await.unwrap();
            if l == "\r\n" || l.is_empty() {
                break;
            }
        }
        if code != 200 {
            return Err(code);
        }
        Ok(Self { lines })
    }

    /// The next event (name, data) within `within`. The body is chunked:
    /// chunk-size lines are skipped, they never start with `event:`/`data:`.
    pub async fn next(&mut self, within: Duration) -> Option<(String, Value)> {
        let deadline = Instant::now() + within;
        let mut name = String::new();
        loop {
            let mut l = String::new();
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.lines.read_line(&mut l)).await {
                Ok(Ok(0)) | Err(_) => return None,
                Ok(r) => {
                    r.unwrap();
                }
            }
            let l = l.trim_end();
            if let Some(n) = l.strip_prefix("event: ") {
                name = n.to_string();
            } else if let Some(d) = l.strip_prefix("data: ") {
                let v = serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.into()));
                return Some((name, v));
            }
        }
    }

    /// Skips to the next event named `name`.
    pub async fn next_named(&mut self, name: &str, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (n, v) = self.next(left).await?;
            if n == name {
                return Some(v);
            }
        }
    }
}

pub async fn submit(robot: &Clients, i: pb::Interaction) -> pb::SubmitInteractionResponse {
    super::stack::try_submit(robot, i).await.unwrap()
}

pub fn kind(r: &pb::SubmitInteractionResponse) -> pb::DestinationKind {
    pb::DestinationKind::try_from(r.destination.as_ref().unwrap().kind).unwrap()
}

/// Submits calls of `branch` until `n` went to the remote queues.
pub async fn queue_remote(robot: &Clients, branch: &str, n: usize, tag: &str) -> usize {
    let mut queued = 0;
    for c in calls_of(branch, 200, tag) {
        let r = submit(robot, c).await;
        if matches!(
            kind(&r),
            pb::DestinationKind::RemotePool | pb::DestinationKind::RemotePersonal
        ) {
            queued += 1;
            if queued == n {
                break;
            }
        }
    }
    queued
}

/// The audit trail of a lead, through the admin API.
pub async fn audit(admin: &Clients, lead: &str) -> Vec<pb::AuditEvent> {
    admin
        .admin
        .clone()
        .get_audit_trail(pb::GetAuditTrailRequest {
            lead_id: lead.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .events
}
