//! A client generated from the proto in another language: Python stubs made
//! by grpcio-tools from `proto/`, then `examples/python/client.py` run
//! against a live server — a submit and its retry, the model, the funnel
//! report as an admin, the same refused to the robot.
//!
//! Needs `examples/python/.venv` (`scripts/setup-python-client.sh`, which
//! `scripts/test.sh` runs); without it the test fails, it is never skipped.

mod common;

use common::stack::*;
use common::web::audit;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_works_against_a_live_server() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("examples/python/.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-python-client.sh",
        python.display()
    );
    let stubs = tempfile::tempdir().unwrap();
    let protos: Vec<String> = std::fs::read_dir(root.join("proto/funnel/v1"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let gen = Command::new(&python)
        .args(["-m", "grpc_tools.protoc", "-I"])
        .arg(root.join("proto"))
        .arg(format!("--python_out={}", stubs.path().display()))
        .arg(format!("--grpc_python_out={}", stubs.path().display()))
        .args(&protos)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "protoc: {}",
        String::from_utf8_lossy(&gen.stderr)
    );

    let mut s = Stack::start(&common::single().url(), 1, |_| {});
    s.setup_managers("east", "east-sh-pudong").await;
    let addr = s.servers[0].endpoint().replace("http://", "");
    let out = tokio::task::block_in_place(|| {
        Command::new(&python)
            .arg(root.join("examples/python/client.py"))
            .args(["--addr", &addr])
            .args(["--robot-token", &s.tokens[ROBOT]])
            .args(["--admin-token", &s.tokens[ADMIN]])
            .args(["--region", "east", "--branch", "east-sh-pudong"])
            .env("PYTHONPATH", stubs.path())
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "client.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let step = |name: &str| {
        steps
            .iter()
            .find(|v| v["step"] == name)
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    let lead = step("submit")["lead_id"].as_str().unwrap().to_string();
    assert!(lead.starts_with("east."), "{lead}");
    assert_eq!(step("submit")["replay_same_lead"], true);
    assert!(!step("model")["model_version"].as_str().unwrap().is_empty());
    assert_eq!(step("report")["ingested"], 1);
    assert_eq!(step("report")["rows"], serde_json::json!(["east"]));
    assert_eq!(step("robot_report")["refused"], "PERMISSION_DENIED");
    // The server saw it as the Rust client would.
    let trail = audit(&s.as_(ADMIN).await, &lead).await;
    assert_eq!(trail[0].action, "ingested");
    s.assert_sound().await;
}
