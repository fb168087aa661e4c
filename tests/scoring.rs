//! The scoring layer against the shipped models: parity with Python
//! onnxruntime on the golden fixtures, manifest/model mismatch errors, every
//! validation error, sign-consistent reasons, and the threaded scorer.

use funnel::domain::{Interaction, Product, ReasonKind};
use funnel::scoring::{
    engine, EngineOptions, FeatureValue, Manifest, Models, ScoreRequest, Scorer, ScorerConfig,
    ScoringError, Speaker, Turn,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn options() -> EngineOptions {
    EngineOptions {
        onnx_threads: 1,
        reasons_per_side: 3,
    }
}

fn load_models(dir: &Path) -> Result<Models, ScoringError> {
    let manifest = Arc::new(Manifest::load(&dir.join("manifest.json"))?);
    Models::load(engine::environment(None)?, manifest, &options())
}

fn request_of(i: &Interaction) -> ScoreRequest {
    ScoreRequest::from(i)
}

#[derive(serde::Deserialize)]
struct Golden {
    case: String,
    record: Interaction,
    customer_token_ids: Vec<Vec<u32>>,
    feature_ids: Vec<i64>,
    truncated: bool,
    intent_probabilities: Vec<f32>,
    text_logit: f32,
    do_not_contact: f32,
    feature_contributions: Vec<f32>,
    tabular_input: Vec<f32>,
    probability: f32,
    contributions: Vec<f32>,
    lexicon_hits: Vec<GoldenHit>,
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct GoldenHit {
    rule: String,
    kind: String,
    pattern: String,
}

fn golden() -> Vec<Golden> {
    std::fs::read_to_string(models_dir().join("golden.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn close(what: &str, case: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{case}: {what} length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5,
            "{case}: {what}[{i}] rust {x} vs python {y}"
        );
    }
}

#[test]
fn parity_with_python_onnxruntime_on_golden_fixtures() {
    let fixtures = golden();
    assert!(fixtures.len() >= 200, "only {} fixtures", fixtures.len());
    let total = fixtures.len();
    let mut models = load_models(&models_dir()).unwrap();
    // Python scores an empty transcript; funnel refuses it by design (tested
    // here, not skipped): those fixtures must fail validation on "turns".
    let (fixtures, empty): (Vec<_>, Vec<_>) = fixtures
        .into_iter()
        .partition(|g| g.record.turns.iter().any(|t| !t.text.trim().is_empty()));
    for g in &empty {
        let err = models.raw_outputs(&[request_of(&g.record)]).unwrap_err();
        assert_eq!(field_of(err), "turns", "{}", g.case);
    }
    let reqs: Vec<_> = fixtures.iter().map(|g| request_of(&g.record)).collect();
    // One batch padded to the longest, as the fixtures were computed.
    let out = models.raw_outputs(&reqs).unwrap();
    let mut worst = 0f32;
    for (g, o) in fixtures.iter().zip(&out) {
        assert_eq!(
            o.customer_token_ids, g.customer_token_ids,
            "{}: customer token ids",
            g.case
        );
        assert_eq!(o.feature_ids, g.feature_ids, "{}: feature ids", g.case);
        assert_eq!(o.truncated, g.truncated, "{}: truncated", g.case);
        let hits: Vec<_> = o
            .lexicon_hits
            .iter()
            .map(|h| GoldenHit {
                rule: h.rule.clone(),
                kind: h.kind.as_str().to_string(),
                pattern: h.pattern.clone(),
            })
            .collect();
        assert_eq!(hits, g.lexicon_hits, "{}: lexicon hits", g.case);
        close(
            "intent_probabilities",
            &g.case,
            &o.intent_probabilities,
            &g.intent_probabilities,
        );
        close("text_logit", &g.case, &[o.text_logit], &[g.text_logit]);
        close(
            "do_not_contact",
            &g.case,
            &[o.do_not_contact],
            &[g.do_not_contact],
        );
        close(
            "feature_contributions",
            &g.case,
            &o.feature_contributions,
            &g.feature_contributions,
        );
        close("tabular_input", &g.case, &o.tabular_input, &g.tabular_input);
        close("probability", &g.case, &[o.probability], &[g.probability]);
        close("contributions", &g.case, &o.contributions, &g.contributions);
        worst = worst.max((o.probability - g.probability).abs());
    }
    // The refusal path above ran, and parity ran on all the others,
    // including lexicon hits in both languages.
    assert!(!empty.is_empty(), "no empty-transcript fixture was checked");
    for case in ["lexicon_zh", "lexicon_en", "lexicon_spaced", "robot_only"] {
        assert!(fixtures.iter().any(|g| g.case == case), "no {case} fixture");
    }
    assert!(fixtures.iter().any(|g| !g.lexicon_hits.is_empty()));
    assert_eq!(fixtures.len(), total - empty.len());
    println!(
        "parity: {} fixtures, worst probability difference {worst:e}",
        fixtures.len()
    );
}

fn base_request() -> ScoreRequest {
    ScoreRequest {
        turns: vec![
            Turn {
                speaker: Speaker::Robot,
                text: "您好，我们有一款稳健的理财产品，想跟您介绍一下。".into(),
            },
            Turn {
                speaker: Speaker::Customer,
                text: "嗯，听起来不错，收益大概多少？可以，你详细介绍一下。".into(),
            },
        ],
        product: Product::Wealth,
        features: vec![
            ("aum_band".into(), FeatureValue::Number(2.0)),
            ("digital_logins_30d".into(), FeatureValue::Number(10.0)),
            (
                "risk_assessment".into(),
                FeatureValue::Category("valid".into()),
            ),
        ],
    }
}

fn score_one(
    models: &mut Models,
    req: ScoreRequest,
) -> Result<funnel::scoring::ScoredLead, ScoringError> {
    let mut times = funnel::scoring::StageTimes::default();
    models.score_batch(&[req], &mut times).pop().unwrap()
}

fn field_of(e: ScoringError) -> String {
    match e {
        ScoringError::InvalidInput { field, .. } => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn every_validation_error_names_its_field() {
    let mut models = load_models(&models_dir()).unwrap();
    let with = |name: &str, v: FeatureValue| {
        let mut r = base_request();
        r.features.retain(|(n, _)| n != name);
        r.features.push((name.to_string(), v));
        r
    };
    let cases = [
        (with("aum_band", FeatureValue::Number(f64::NAN)), "aum_band"),
        (
            with("tenure_years", FeatureValue::Number(f64::INFINITY)),
            "tenure_years",
        ),
        (
            with("digital_logins_30d", FeatureValue::Number(-1.0)),
            "digital_logins_30d",
        ),
        (with("aum_band", FeatureValue::Number(6.0)), "aum_band"),
        (with("aum_band", FeatureValue::Number(2.5)), "aum_band"),
        (
            with("hour_of_day", FeatureValue::Number(24.0)),
            "hour_of_day",
        ),
        (
            with("risk_assessment", FeatureValue::Category("maybe".into())),
            "risk_assessment",
        ),
        (with("channel", FeatureValue::Number(1.0)), "channel"),
        (
            with("aum_band", FeatureValue::Category("rich".into())),
            "aum_band",
        ),
        (with("shoe_size", FeatureValue::Number(42.0)), "shoe_size"),
        (with("text_logit", FeatureValue::Number(1.0)), "text_logit"),
    ];
    for (req, field) in cases {
        assert_eq!(field_of(score_one(&mut models, req).unwrap_err()), field);
    }
    let mut dup = base_request();
    dup.features
        .push(("aum_band".into(), FeatureValue::Number(1.0)));
    assert_eq!(
        field_of(score_one(&mut models, dup).unwrap_err()),
        "aum_band"
    );
    let mut empty = base_request();
    empty.turns = vec![];
    assert_eq!(
        field_of(score_one(&mut models, empty).unwrap_err()),
        "turns"
    );
    let mut blank = base_request();
    for t in &mut blank.turns {
        t.text = "   ".into();
    }
    assert_eq!(
        field_of(score_one(&mut models, blank).unwrap_err()),
        "turns"
    );

    // One bad item does not fail its neighbours.
    let mut times = funnel::scoring::StageTimes::default();
    let out = models.score_batch(
        &[
            base_request(),
            with("aum_band", FeatureValue::Number(-3.0)),
            base_request(),
        ],
        &mut times,
    );
    assert!(out[0].is_ok() && out[1].is_err() && out[2].is_ok());
    assert_eq!(out[0].as_ref().unwrap(), out[2].as_ref().unwrap());
}

#[test]
fn defaults_are_reported_and_overlong_transcripts_cut() {
    let mut models = load_models(&models_dir()).unwrap();
    let scored = score_one(&mut models, base_request()).unwrap();
    for name in ["age_band", "tenure_years", "duration_s", "channel"] {
        assert!(
            scored.defaulted.contains(&name.to_string()),
            "{name} not reported as defaulted"
        );
    }
    assert!(!scored.defaulted.contains(&"aum_band".to_string()));
    assert!(!scored.truncated);
    assert!((0.0..=1.0).contains(&scored.probability));
    assert_eq!(scored.score, (scored.probability * 100.0).round() as u8);
    assert_eq!(scored.intents.len(), 6);
    assert!((scored.intents.iter().map(|(_, p)| p).sum::<f64>() - 1.0).abs() < 1e-4);

    let manifest = Manifest::load(&models_dir().join("manifest.json")).unwrap();
    let mut long = base_request();
    long.turns[1].text = "我想了解一下这个产品，".repeat(manifest.transcript.max_chars);
    let scored_long = score_one(&mut models, long.clone()).unwrap();
    assert!(scored_long.truncated);
    // Only the customer's speech counts: a long robot turn is not a cut.
    let mut robot_long = base_request();
    robot_long.turns[0].text = "我们的产品很好。".repeat(manifest.transcript.max_chars);
    assert!(!score_one(&mut models, robot_long).unwrap().truncated);
}

#[test]
fn intents_come_most_probable_first_and_reasons_strongest_first() {
    let mut models = load_models(&models_dir()).unwrap();
    for g in golden().iter().take(40) {
        let Ok(s) = score_one(&mut models, request_of(&g.record)) else {
            continue;
        };
        assert!(
            s.intents.windows(2).all(|w| w[0].1 >= w[1].1),
            "{}: {:?}",
            g.case,
            s.intents
        );
        // Lexicon hits lead (weight 0); the model's reasons follow, strongest first.
        let lexicon = s
            .reasons
            .iter()
            .take_while(|r| r.kind == ReasonKind::Lexicon)
            .count();
        assert_eq!(lexicon, s.lexicon.len(), "{}", g.case);
        let model = &s.reasons[lexicon..];
        assert!(model.iter().all(|r| r.kind != ReasonKind::Lexicon));
        assert!(
            model
                .windows(2)
                .all(|w| w[0].weight.abs() >= w[1].weight.abs()),
            "{}: {:?}",
            g.case,
            s.reasons
        );
    }
}

#[test]
fn reasons_are_sign_consistent() {
    let mut models = load_models(&models_dir()).unwrap();
    let manifest = Manifest::load(&models_dir().join("manifest.json")).unwrap();
    let monotone: Vec<_> = manifest
        .features
        .iter()
        .filter(|f| f.monotone.as_deref() == Some("increasing") && f.source != "text")
        .map(|f| {
            (
                f.name.clone(),
                f.min.unwrap_or(0.0),
                f.max.unwrap_or(1.0),
                f.value_type.clone(),
            )
        })
        .collect();
    assert!(
        monotone.len() >= 3,
        "the manifest marks {} monotone features",
        monotone.len()
    );
    for (name, min, max, kind) in monotone {
        let mut last = -1.0;
        let steps = 12;
        for s in 0..=steps {
            let mut v = min + (max - min) * s as f64 / steps as f64;
            if kind == "int" {
                v = v.round();
            }
            let mut req = base_request();
            req.features.retain(|(n, _)| *n != name);
            req.features.push((name.clone(), FeatureValue::Number(v)));
            let p = score_one(&mut models, req).unwrap().probability;
            assert!(
                p >= last - 1e-7,
                "{name}: raising to {v} lowered the score {last} → {p}"
            );
            last = p;
        }
    }
    // A reason's sign says which way the feature pushed from its baseline.
    let mut rich = base_request();
    rich.features
        .retain(|(n, _)| n != "aum_band" && n != "past_campaign_responses");
    rich.features
        .push(("aum_band".into(), FeatureValue::Number(5.0)));
    rich.features
        .push(("past_campaign_responses".into(), FeatureValue::Number(6.0)));
    let s = score_one(&mut models, rich).unwrap();
    let up: Vec<_> = s
        .reasons
        .iter()
        .filter(|r| r.weight > 0.0)
        .map(|r| r.name.as_str())
        .collect();
    assert!(
        up.contains(&"aum_band") || up.contains(&"past_campaign_responses"),
        "{:?}",
        s.reasons
    );
    let mut poor = base_request();
    poor.features.retain(|(n, _)| n != "aum_band");
    poor.features
        .push(("aum_band".into(), FeatureValue::Number(0.0)));
    poor.features
        .push(("past_campaign_contacts".into(), FeatureValue::Number(60.0)));
    let s = score_one(&mut models, poor).unwrap();
    let pushing: Vec<_> = s
        .reasons
        .iter()
        .filter(|r| r.name == "aum_band" || r.name == "past_campaign_contacts")
        .collect();
    assert!(!pushing.is_empty(), "neither reason shown: {:?}", s.reasons);
    assert!(pushing.iter().all(|r| r.weight < 0.0), "{pushing:?}");
    // Phrases of an interested customer push up; of a refusal, down.
    let s = score_one(&mut models, base_request()).unwrap();
    assert!(
        s.reasons.iter().any(|r| r.kind == ReasonKind::Phrase),
        "{:?}",
        s.reasons
    );
    let mut no = base_request();
    no.turns[1].text = "不需要，别再打了，我没兴趣。".into();
    let refusal = score_one(&mut models, no).unwrap();
    assert!(refusal.probability < s.probability);
    for kind in [ReasonKind::Feature, ReasonKind::Phrase] {
        let ups = refusal
            .reasons
            .iter()
            .filter(|r| r.kind == kind && r.weight > 0.0)
            .count();
        let downs = refusal
            .reasons
            .iter()
            .filter(|r| r.kind == kind && r.weight < 0.0)
            .count();
        assert!(
            ups <= 3 && (1..=3).contains(&downs),
            "{:?}",
            refusal.reasons
        );
    }
    let refusal_phrases: Vec<_> = refusal
        .reasons
        .iter()
        .filter(|r| r.kind == ReasonKind::Phrase)
        .collect();
    assert!(
        refusal_phrases
            .iter()
            .any(|r| r.name.contains("不需要") && r.weight < 0.0),
        "{refusal_phrases:?}"
    );
    assert!(
        refusal_phrases
            .iter()
            .all(|r| r.name != "R" && r.name != "C" && r.name != ":"),
        "{refusal_phrases:?}"
    );
}

fn copy_models(to: &Path) {
    for f in [
        "manifest.json",
        "tokenizer.json",
        "ngrams.bin",
        "text.onnx",
        "tabular.onnx",
        "lexicon.json",
    ] {
        std::fs::copy(models_dir().join(f), to.join(f)).unwrap();
    }
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let p = dir.join("manifest.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn manifest_error(dir: &Path) -> (String, String) {
    match load_models(dir) {
        Err(ScoringError::Manifest { file, msg }) => (file, msg),
        Err(other) => panic!("expected a manifest error, got {other:?}"),
        Ok(_) => panic!("expected a manifest error, loading succeeded"),
    }
}

#[test]
fn manifest_and_model_mismatches_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    copy_models(dir.path());
    assert!(load_models(dir.path()).is_ok());

    // A changed model file: sha256 mismatch names the file.
    let mut bytes = std::fs::read(dir.path().join("tabular.onnx")).unwrap();
    bytes.push(0);
    std::fs::write(dir.path().join("tabular.onnx"), &bytes).unwrap();
    let (file, msg) = manifest_error(dir.path());
    assert!(
        file.ends_with("tabular.onnx") && msg.contains("sha256"),
        "{file}: {msg}"
    );
    copy_models(dir.path());

    // An output the model does not have.
    edit_manifest(dir.path(), |m| {
        m["files"]["text_model"]["outputs"][1]["name"] = "propensity".into()
    });
    let (file, msg) = manifest_error(dir.path());
    assert!(
        file.ends_with("text.onnx") && msg.contains("propensity"),
        "{file}: {msg}"
    );
    copy_models(dir.path());

    // A wrong shape (one more feature than the model takes).
    edit_manifest(dir.path(), |m| {
        // Consistent in itself (21 features, 21 wide), but not what the model takes.
        m["files"]["tabular_model"]["inputs"][0]["shape"][1] = 21.into();
        let extra = m["features"][0].clone();
        m["features"].as_array_mut().unwrap().push(extra);
    });
    let (file, msg) = manifest_error(dir.path());
    assert!(
        file.ends_with("tabular.onnx") && msg.contains("features") && msg.contains("shape"),
        "{file}: {msg}"
    );
    copy_models(dir.path());

    // A feature list that does not fit the declared input.
    edit_manifest(dir.path(), |m| {
        let extra = m["features"][0].clone();
        m["features"].as_array_mut().unwrap().push(extra);
    });
    let (file, msg) = manifest_error(dir.path());
    assert!(
        file.ends_with("manifest.json") && msg.contains("features"),
        "{file}: {msg}"
    );
    copy_models(dir.path());

    // A wrong dtype.
    edit_manifest(dir.path(), |m| {
        m["files"]["text_model"]["inputs"][0]["dtype"] = "float32".into()
    });
    let (_, msg) = manifest_error(dir.path());
    assert!(
        msg.contains("feature_ids") && msg.contains("dtype"),
        "{msg}"
    );
    copy_models(dir.path());

    // An edited lexicon whose sha256 was not recorded: the error says how to.
    let lex = dir.path().join("lexicon.json");
    let edited = std::fs::read_to_string(&lex)
        .unwrap()
        .replace("\"投诉\",", "\"投诉\", \"黑心银行\",");
    std::fs::write(&lex, edited).unwrap();
    let (file, msg) = manifest_error(dir.path());
    assert!(
        file.ends_with("lexicon.json") && msg.contains("training/lexicon.py"),
        "{file}: {msg}"
    );
    copy_models(dir.path());

    // A lexicon whose own examples fail is refused, naming the rule.
    let lex_raw = std::fs::read_to_string(&lex).unwrap();
    let broken = lex_raw.replace("\"我要投诉你们\"", "\"我很满意\"");
    std::fs::write(&lex, &broken).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(broken.as_bytes()))
    };
    edit_manifest(dir.path(), |m| m["files"]["lexicon"]["sha256"] = sha.into());
    let (_, msg) = manifest_error(dir.path());
    assert!(msg.contains("complaint.explicit_zh"), "{msg}");
    copy_models(dir.path());

    // An n-gram table that does not fit the manifest.
    edit_manifest(dir.path(), |m| m["files"]["ngrams"]["features"] = 7.into());
    let (file, msg) = manifest_error(dir.path());
    assert!(
        file.ends_with("ngrams.bin") && msg.contains("7"),
        "{file}: {msg}"
    );
    copy_models(dir.path());

    // A missing file.
    std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    let (file, _) = manifest_error(dir.path());
    assert!(file.ends_with("tokenizer.json"), "{file}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threaded_scorer_matches_direct_scoring_and_reports_overload() {
    let cfg = ScorerConfig {
        manifest: models_dir().join("manifest.json"),
        ort_library: None,
        threads: 2,
        onnx_threads: 1,
        max_batch: 16,
        queue_capacity: 64,
        reasons_per_side: 3,
        on_batch: None,
    };
    let scorer = Arc::new(Scorer::start(&cfg).unwrap());
    let fixtures = golden();
    let mut direct = load_models(&models_dir()).unwrap();
    let mut tasks = Vec::new();
    let fixtures: Vec<_> = fixtures
        .into_iter()
        .filter(|g| g.record.turns.iter().any(|t| !t.text.trim().is_empty()))
        .collect();
    for g in fixtures.iter().take(64) {
        let scorer = scorer.clone();
        let req = request_of(&g.record);
        tasks.push(tokio::spawn(async move {
            scorer
                .score(vec![req])
                .await
                .unwrap()
                .pop()
                .unwrap()
                .unwrap()
        }));
    }
    for (g, t) in fixtures.iter().take(64).zip(tasks) {
        let threaded = t.await.unwrap();
        let alone = score_one(&mut direct, request_of(&g.record)).unwrap();
        assert!((threaded.probability - alone.probability).abs() < 1e-6);
        assert!((threaded.probability - g.probability as f64).abs() < 1e-5);
    }
    // A full queue is refused at once, not queued without bound.
    let tiny = ScorerConfig {
        threads: 1,
        queue_capacity: 1,
        max_batch: 1,
        ..cfg
    };
    let tiny = Arc::new(Scorer::start(&tiny).unwrap());
    let big: Vec<_> = fixtures.iter().map(|g| request_of(&g.record)).collect();
    let mut calls = Vec::new();
    for _ in 0..8 {
        let tiny = tiny.clone();
        let big = big.clone();
        calls.push(tokio::spawn(async move { tiny.score(big).await }));
    }
    let mut overloaded = 0;
    for c in calls {
        if let Err(ScoringError::Overloaded(_)) = c.await.unwrap() {
            overloaded += 1;
        }
    }
    assert!(overloaded > 0, "a queue of one never refused work");
}
