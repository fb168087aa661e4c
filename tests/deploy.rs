//! The deployment files hold what this binary accepts: the ConfigMap's
//! `funnel.toml` resolves as a configuration (unknown keys are refused), and
//! the Secret's `tokens.toml` parses as a tokens file. Their Kubernetes
//! schemas and the alert rules are checked by `scripts/check-deploy.sh`
//! (kubernetes-validate, promtool), which `.ci/run` runs.

use funnel::api::auth::Tokens;
use funnel::config::{Config, ServeFlags};

/// The literal block `key: |` of a manifest, unindented.
fn block(manifest: &str, key: &str) -> String {
    let mut lines = manifest
        .lines()
        .skip_while(|l| l.trim() != format!("{key}: |"));
    let head = lines.next().unwrap_or_else(|| panic!("no {key}: | block"));
    let outer = head.len() - head.trim_start().len();
    let body: Vec<&str> = lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > outer)
        .collect();
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap();
    body.iter()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_configmap_is_a_valid_configuration() {
    let toml = block(include_str!("../deploy/k8s/configmap.yaml"), "funnel.toml");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("funnel.toml");
    std::fs::write(&path, &toml).unwrap();
    let config = Config::resolve(&ServeFlags {
        config: Some(path),
        ..ServeFlags::default()
    })
    .unwrap_or_else(|e| panic!("deploy/k8s/configmap.yaml: {e}\n{toml}"));
    assert_eq!(config.listen.port(), 50051);
    assert_eq!(config.metrics_listen.port(), 9090);
    assert_eq!(config.web.listen.port(), 8080);
}

#[test]
fn the_secret_is_a_valid_tokens_file() {
    let tokens = block(include_str!("../deploy/k8s/secret.yaml"), "tokens.toml");
    Tokens::parse(&tokens).unwrap_or_else(|e| panic!("deploy/k8s/secret.yaml: {e}"));
}
