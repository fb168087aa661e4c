//! OTLP trace export: a `funnel serve` process with `[otlp] endpoint` set
//! sends its spans to a collector (here a TraceService of the test's own,
//! from the OpenTelemetry protos) under the configured `service.name`; one
//! submitted call shows up as the gRPC request's span and the spans inside it,
//! in one trace.

mod common;

use common::stack::*;
use funnel::api::pb;
use funnel::client::Clients;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// (service.name, span name, trace id) of a span received.
type Received = (String, String, Vec<u8>);

/// Every span received.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Received>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut got = self.0.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.as_ref())
                .map(|v| format!("{:?}", v.value))
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for span in ss.spans {
                    got.push((service.clone(), span.name, span.trace_id));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_collector() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let redis = common::single();
    let dir = tempfile::tempdir().unwrap();
    let tokens = team("east", "east-sh-pudong")
        .write_tokens(dir.path())
        .unwrap();
    let free = || funnel::dev::redis::free_port().unwrap();
    let (grpc, metrics) = (free(), free());
    let config = dir.path().join("funnel.toml");
    let otlp_table =
        format!("[otlp]\nendpoint = \"http://{otlp}\"\nservice_name = \"funnel-otlp-test\"\n");
    std::fs::write(
        &config,
        common::serve::serve_toml(
            grpc,
            metrics,
            &redis.url(),
            &tokens.path,
            &common::unique_prefix("otlp"),
            &otlp_table,
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_funnel"))
        .args(["serve", "--config"])
        .arg(&config)
        // The SDK's batch delay (default 5 s), so the test is quick.
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{grpc}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let robot = loop {
        if let Ok(c) = Clients::connect(&endpoint, &tokens[ROBOT]).await {
            break c;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let call = calls_of("east-sh-pudong", 1, "otlp").remove(0);
    let r = robot
        .intake
        .clone()
        .submit_interaction(pb::SubmitInteractionRequest {
            interaction: Some(call),
        })
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let spans = collector.0.lock().unwrap().clone();
        if spans.iter().any(|s| s.1 == "SubmitInteraction") || Instant::now() > deadline {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    r.expect("the submit succeeded");
    let names: Vec<&str> = spans.iter().map(|s| s.1.as_str()).collect();
    let root = spans
        .iter()
        .find(|s| s.1 == "SubmitInteraction")
        .unwrap_or_else(|| panic!("no SubmitInteraction span in {names:?}"));
    assert!(root.0.contains("funnel-otlp-test"), "{:?}", root.0);
    // The spans inside the request share its trace.
    let inside = spans.iter().filter(|s| s.2 == root.2).count();
    assert!(inside >= 2, "one span in the request's trace: {names:?}");
}
