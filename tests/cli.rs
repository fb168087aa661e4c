//! The `funnel` binary's client verbs against a real server (in this process)
//! on a private redis-server: each test runs the built binary and reads what
//! it prints. Times must come out as local date-times in the zone of `TZ`.

mod cli_harness;
mod common;

use cli_harness::*;
use serde_json::Value;

#[test]
fn managers_are_registered_changed_and_shown() {
    let s = Stack::start();
    let upsert = [
        "manager",
        "upsert",
        "--id",
        "o-cli",
        "--name",
        "Li Wei",
        "--tier",
        "offline",
        "--region",
        "east",
        "--branch",
        "east-sh-xuhui",
        "--products",
        "wealth,insurance",
        "--capacity",
        "7",
    ];
    let out = s.ok(ADMIN, &upsert);
    assert_eq!(field(&out, "manager"), "o-cli");
    assert_eq!(field(&out, "name"), "Li Wei");
    assert_eq!(field(&out, "tier"), "offline");
    assert_eq!(field(&out, "branch"), "east-sh-xuhui");
    assert_eq!(field(&out, "products"), "wealth, insurance");
    assert_eq!(field(&out, "capacity"), "7");
    assert_eq!(field(&out, "available"), "yes");
    assert_eq!(s.ok(ADMIN, &["manager", "show", "o-cli"]), out);

    let out = s.ok(
        ADMIN,
        &["manager", "availability", "o-cli", "--available", "false"],
    );
    assert_eq!(field(&out, "available"), "no");
    let shown = s.ok(ADMIN, &["manager", "show", "o-cli"]);
    assert_eq!(field(&shown, "available"), "no");
    assert_eq!(field(&shown, "products"), "wealth, insurance");

    let out = s.ok(
        ADMIN,
        &[
            "manager",
            "upsert",
            "--id=r-cli",
            "--tier=remote",
            "--region=east",
            "--team=wealth-1",
            "--served-regions=east,north",
            "--products=credit_card",
            "--capacity=3",
            "--available=false",
        ],
    );
    assert_eq!(field(&out, "tier"), "remote");
    assert_eq!(field(&out, "team"), "wealth-1");
    assert_eq!(field(&out, "serves"), "east, north");
    assert_eq!(field(&out, "products"), "credit_card");
    assert_eq!(field(&out, "available"), "no");

    // Failures: the status code's name and the server's message, exit 1.
    let err = s.fails(ADMIN, &["manager", "show", "nobody"]);
    assert!(err.starts_with("error: NOT_FOUND: "), "{err}");
    let err = s.fails(ROBOT, &["manager", "show", "o-cli"]);
    assert!(err.starts_with("error: PERMISSION_DENIED: "), "{err}");
    let err = s.fails(ADMIN, &["model", "--token", "wrong"]);
    assert!(err.starts_with("error: UNAUTHENTICATED: "), "{err}");
    let mut no_branch = upsert.to_vec();
    no_branch.drain(10..12);
    let err = s.fails(ADMIN, &no_branch);
    assert!(
        err.starts_with("error: INVALID_ARGUMENT: ") && err.contains("manager.branch_id"),
        "{err}"
    );
    assert_eq!(
        s.run(ADMIN, &["manager", "show", "nobody"]).status.code(),
        Some(1)
    );
}

#[test]
fn model_shows_the_bundle_in_use() {
    let s = Stack::start();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(manifest_path()).unwrap()).unwrap();
    // Any principal may read it.
    let out = s.ok(REMOTE, &["model"]);
    assert_eq!(
        field(&out, "model version"),
        manifest["model_version"].as_str().unwrap()
    );
    let (high, medium) = (
        manifest["buckets"]["high"].as_f64().unwrap(),
        manifest["buckets"]["medium"].as_f64().unwrap(),
    );
    assert_eq!(
        field(&out, "thresholds"),
        format!("high >= {high}, medium >= {medium} (campaigns may override)")
    );
    let intents = field(&out, "intents");
    for intent in manifest["intents"].as_array().unwrap() {
        assert!(intents.contains(intent.as_str().unwrap()), "{intents}");
    }
    let aum = out
        .lines()
        .find(|l| l.trim_start().starts_with("aum_band "))
        .unwrap_or_else(|| panic!("no aum_band feature in:\n{out}"));
    assert_eq!(&cells(aum)[1..4], ["customer", "int", "0..5"], "{aum}");
    let auc = manifest["evaluation"]["roc_auc"].as_f64().unwrap();
    assert_eq!(field(&out, "  roc_auc"), auc.to_string());
}
#[test]
fn submitted_leads_are_worked_and_audited_from_the_command_line() {
    let s = Stack::start();
    let branch = "east-nj-gulou";
    for (id, tier, place) in [
        ("o-cli", "offline", "--branch=east-nj-gulou"),
        ("r-cli", "remote", "--team=remote-east"),
    ] {
        s.ok(
            ADMIN,
            &[
                "manager",
                "upsert",
                &format!("--id={id}"),
                &format!("--tier={tier}"),
                "--region=east",
                place,
                "--products=wealth,fund,deposit,insurance,credit_card,loan",
                "--capacity=20",
            ],
        );
    }
    let calls = sample_calls(branch, 3, 3, "cli");
    let file = s.dir.path().join("calls.jsonl");
    let jsonl: Vec<String> = calls.iter().map(|c| c.to_string()).collect();
    std::fs::write(&file, jsonl.join("\n")).unwrap();
    let out = s.ok(ROBOT, &["submit", file.to_str().unwrap(), "--each"]);
    let submitted = parse_submitted(&out);
    assert_eq!(submitted.len(), calls.len(), "{out}");

    // The audit trail: the lead was created by the robot from this interaction.
    let first = &submitted[0];
    let rows = audit(&s, &first.lead);
    let ingested = rows
        .iter()
        .find(|r| r[2] == "ingested")
        .unwrap_or_else(|| panic!("no ingested event: {rows:?}"));
    assert_eq!(ingested[1], "robot");
    assert_eq!(ingested[5], first.interaction);
    assert!(ingested[3].starts_with("- → "), "{ingested:?}");

    // Branch manager: the offers made to it arrive on `watch`; accept and
    // close one, decline another.
    let offered: Vec<&Submitted> = submitted
        .iter()
        .filter(|x| x.destination.starts_with("referral_offered to o-cli "))
        .collect();
    assert!(offered.len() >= 2, "fewer than 2 referrals:\n{out}");
    let offers = pending_offers(&s, OFFLINE);
    let mut pending: Vec<&str> = offers.iter().map(|(l, _)| l.as_str()).collect();
    let mut expected: Vec<&str> = offered.iter().map(|x| x.lead.as_str()).collect();
    pending.sort();
    expected.sort();
    assert_eq!(pending, expected);
    let (won, won_offer) = &offers[0];
    let (lost, lost_offer) = &offers[1];
    let out = s.ok(OFFLINE, &["referral", "accept", won, won_offer]);
    assert!(
        out.contains(&format!("lead {won}  referral_accepted ")),
        "{out}"
    );
    let out = s.ok(
        OFFLINE,
        &[
            "referral",
            "complete",
            won,
            won_offer,
            "converted",
            "--note",
            "opened an account",
        ],
    );
    assert!(out.starts_with("closed_converted  closed"), "{out}");
    let out = s.ok(
        OFFLINE,
        &[
            "referral",
            "decline",
            lost,
            lost_offer,
            "--reason",
            "customer abroad",
        ],
    );
    assert_eq!(out.trim(), format!("declined {lost}"));
    let err = s.fails(OFFLINE, &["referral", "accept", lost, lost_offer]);
    assert!(err.starts_with("error: FAILED_PRECONDITION: "), "{err}");

    let rows = audit(&s, won);
    let actions: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert!(actions.ends_with(&["accepted", "completed"]), "{rows:?}");
    let completed = rows.last().unwrap();
    assert_eq!(completed[1], "manager:o-cli");
    assert_eq!(completed[3], "referral_accepted → closed_converted");
    assert_eq!(completed.last().unwrap(), "opened an account");
    let rows = audit(&s, lost);
    let declined = rows.iter().find(|r| r[2] == "declined").unwrap();
    assert_eq!(declined[4], "o-cli");
    assert_eq!(declined.last().unwrap(), "customer abroad");

    // Remote manager: pull what asked for a person, schedule a call-back in
    // an hour; the lead shows it as a local time.
    let queued = submitted
        .iter()
        .filter(|x| x.destination.starts_with("remote_pool "))
        .count();
    assert!(queued >= 1, "nothing went to the remote pool:\n{out}");
    let out = s.ok(REMOTE, &["pull", "--max", "10"]);
    let leases: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.starts_with("lease "))
        .map(|l| l.split(' ').collect())
        .collect();
    assert_eq!(leases.len(), queued, "{out}");
    let (lease, until) = (leases[0][1], leases[0][3..].join(" "));
    assert_local_time(
        &until,
        chrono::Duration::minutes(15),
        chrono::Duration::minutes(2),
    );
    let lead = out
        .lines()
        .find_map(|l| l.strip_prefix("lead "))
        .and_then(|l| l.split(' ').next())
        .unwrap();
    let out = s.ok(
        REMOTE,
        &[
            "complete",
            lead,
            lease,
            "call_back",
            "--call-back-in",
            "3600",
        ],
    );
    assert!(out.starts_with("remote_callback  "), "{out}");
    let out = s.ok(ADMIN, &["lead", lead]);
    let call_back = out
        .lines()
        .find_map(|l| l.split_once("call back ").map(|(_, t)| t))
        .unwrap_or_else(|| panic!("no call-back time in:\n{out}"));
    assert_local_time(
        call_back,
        chrono::Duration::hours(1),
        chrono::Duration::minutes(2),
    );
    assert!(out.contains("-- audit trail"), "{out}");

    // Stats: the declined referral waits for another branch manager; the
    // third offer is still pending; one remote lease is still held.
    let out = s.ok(ADMIN, &["stats", "--region", "east"]);
    let row = |first: &str| {
        out.lines()
            .map(cells)
            .find(|c| c.first() == Some(&first) || c.get(1) == Some(&first))
            .unwrap_or_else(|| panic!("no {first} in:\n{out}"))
    };
    // Unassigned lists are kept per branch and product.
    let unassigned = row("branch_unassigned");
    assert!(
        unassigned[2].starts_with(&format!("{branch}/")),
        "{unassigned:?}"
    );
    assert_eq!(unassigned[3..], ["high", "1", "0"]);
    let pending = (offered.len() - 2).to_string();
    assert_eq!(
        row("o-cli")[1..],
        ["offline", "east", "0/20", pending.as_str(), "yes"]
    );
    let held = format!("{}/20", queued - 1);
    assert_eq!(
        row("r-cli")[1..],
        ["remote", "east", held.as_str(), "0", "yes"]
    );

    // The funnel report: the one region is the whole; r-cli's leases.
    let out = s.ok(ADMIN, &["report"]);
    let rows: Vec<Vec<&str>> = out.lines().map(cells).collect();
    let of = |first: &str| {
        rows.iter()
            .find(|c| c.first() == Some(&first))
            .unwrap_or_else(|| panic!("no {first} in:\n{out}"))
    };
    assert_eq!(of("east")[1..], of("total")[1..], "{out}");
    let out = s.ok(ADMIN, &["report", "--by", "manager"]);
    let leased = out
        .lines()
        .map(cells)
        .find(|c| c.first() == Some(&"r-cli"))
        .unwrap_or_else(|| panic!("no r-cli in:\n{out}"))[8]
        .to_string();
    assert!(leased.parse::<u64>().unwrap() >= 1, "{out}");
    let err = s.fails(ADMIN, &["report", "--by", "desk"]);
    assert!(err.contains("--by"), "{err}");
}

/// The JSON lines of a loadgen run, one per phase.
fn loadgen_phases(out: &str) -> Vec<Value> {
    out.lines()
        .filter(|l| l.starts_with("{\"loadgen\""))
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["loadgen"].clone())
        .collect()
}

#[test]
fn loadgen_drives_a_running_server_and_counts_only_whole_answers() {
    let s = Stack::start();
    let sample =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/holdout_sample.jsonl");
    let (endpoint, metrics) = (s.endpoint(), s.metrics().to_string());
    let run = |calls: &str| {
        s.ok(
            ROBOT,
            &[
                "loadgen",
                "--addr",
                &endpoint,
                "--metrics",
                &metrics,
                "--calls-file",
                calls,
                "--seconds",
                "1",
                "--warmup",
                "1",
                "--concurrency",
                "4",
                "--rate",
                "40",
                "--replay-share",
                "0.3",
                "--connections",
                "2",
            ],
        )
    };
    let out = run(sample.to_str().unwrap());
    let phases = loadgen_phases(&out);
    assert_eq!(phases.len(), 2, "a closed and an open phase:\n{out}");
    for p in &phases {
        assert!(p["ok"].as_u64().unwrap() > 0, "{p}");
        assert_eq!(p["errors"], serde_json::json!({}), "{p}");
        assert!(p["latency_ms"]["p999"].as_f64().unwrap() > 0.0, "{p}");
        assert!(
            p["server_stage_us"]["scoring"].as_f64().unwrap() > 0.0,
            "{p}"
        );
    }
    // Calls the server refuses (their region is not registered) are errors
    // by code, never OK.
    let line = std::fs::read_to_string(&sample)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let mut call: Value = serde_json::from_str(&line).unwrap();
    call["region_id"] = "mars".into();
    let refused = s.dir.path().join("refused.jsonl");
    std::fs::write(&refused, format!("{call}\n")).unwrap();
    let out = run(refused.to_str().unwrap());
    for p in loadgen_phases(&out) {
        assert_eq!(p["ok"], 0, "{p}");
        assert!(p["errors"]["INVALID_ARGUMENT"].as_u64().unwrap() > 0, "{p}");
    }
}
