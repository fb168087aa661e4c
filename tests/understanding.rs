//! Robustness of the served models (models/): punctuation width, paraphrases
//! of each intent, repeating and truncating a call, swapping the robot's
//! turns, an added off-topic turn. The phrasings here were written for these
//! tests; they are neither in the generator's banks nor in the hand-written set.

use funnel::domain::{Product, ReasonKind};
use funnel::scoring::{
    engine, EngineOptions, Manifest, Models, ScoreRequest, ScoredLead, Speaker, StageTimes, Turn,
};
use std::path::Path;
use std::sync::Arc;

fn models() -> Models {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let manifest = Arc::new(Manifest::load(&dir.join("manifest.json")).unwrap());
    let opts = EngineOptions {
        onnx_threads: 1,
        reasons_per_side: 3,
    };
    Models::load(engine::environment(None).unwrap(), manifest, &opts).unwrap()
}

/// A call: robot and customer lines alternate, robot first.
fn call(robot: &[&str], customer: &[&str]) -> ScoreRequest {
    let mut turns = Vec::new();
    for k in 0..robot.len().max(customer.len()) {
        if let Some(r) = robot.get(k) {
            turns.push(Turn {
                speaker: Speaker::Robot,
                text: r.to_string(),
            });
        }
        if let Some(c) = customer.get(k) {
            turns.push(Turn {
                speaker: Speaker::Customer,
                text: c.to_string(),
            });
        }
    }
    ScoreRequest {
        turns,
        product: Product::Wealth,
        features: vec![],
    }
}

fn score(m: &mut Models, req: &ScoreRequest) -> ScoredLead {
    m.score_batch(std::slice::from_ref(req), &mut StageTimes::default())
        .pop()
        .unwrap()
        .unwrap()
}

fn top(s: &ScoredLead) -> &str {
    &s.intents[0].0
}

fn intents_of(s: &ScoredLead) -> Vec<(String, f64)> {
    s.intents.clone()
}

const ROBOT: [&str; 3] = [
    "您好，这里是银行智能客服，我们有一款一年期的稳健理财，想跟您介绍一下。",
    "好的，我记下了。",
    "好的，感谢您的接听，再见。",
];

/// Calls of each intent (customer lines only; the robot says ROBOT).
fn calls() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "interested",
            vec![
                "嗯，年化能有多少？一万块起买吗？",
                "行，那你把购买方式发我，我晚上在手机上买两万。",
            ],
        ),
        (
            "asks_for_human",
            vec![
                "这个我听不太明白。",
                "你别让机器跟我说了，叫个真人理财顾问打给我吧。",
            ],
        ),
        (
            "call_back_later",
            vec!["哎，我这会儿正在开车。", "你下午四点以后再打过来吧。"],
        ),
        (
            "not_interested",
            vec!["不用了，我的钱都放在别的地方了。", "真的不需要，谢谢。"],
        ),
        (
            "complaint",
            vec![
                "你们上个月乱扣我手续费到现在都没退！",
                "再不处理我就打12378投诉你们。",
            ],
        ),
    ]
}

#[test]
fn full_width_half_width_and_no_punctuation_score_the_same() {
    let mut m = models();
    let full = call(&ROBOT, &["不需要，谢谢！我已经有理财了。", "好的，再见。"]);
    let half = call(&ROBOT, &["不需要,谢谢!我已经有理财了.", "好的,再见."]);
    let none = call(&ROBOT, &["不需要 谢谢 我已经有理财了", "好的 再见"]);
    let fw = call(&ROBOT, &["ＮＯ　ＴＨＡＮＫＳ，不需要！", "ＯＫ，再见。"]);
    let hw = call(&ROBOT, &["no thanks,不需要!", "ok,再见."]);
    let a = score(&mut m, &full);
    assert_eq!(intents_of(&a), intents_of(&score(&mut m, &half)));
    assert_eq!(intents_of(&a), intents_of(&score(&mut m, &none)));
    assert_eq!(top(&a), "not_interested");
    assert_eq!(
        intents_of(&score(&mut m, &fw)),
        intents_of(&score(&mut m, &hw))
    );
}

#[test]
fn paraphrases_of_each_intent_are_recognised() {
    let mut m = models();
    let cases: &[(&str, &[&str])] = &[
        (
            "interested",
            &[
                "听着不错，最低投多少？",
                "可以的，帮我登记一下，明天我去网点买五万。",
            ],
        ),
        (
            "interested",
            &[
                "Sounds good. What's the minimum?",
                "Great, send me the link and I'll buy some tonight.",
            ],
        ),
        (
            "asks_for_human",
            &[
                "能不能找个人工客服跟我说？",
                "我想让我的客户经理直接联系我。",
            ],
        ),
        (
            "asks_for_human",
            &["Can I just talk to an actual person about this, please?"],
        ),
        (
            "call_back_later",
            &["我在外面吃饭，现在不好说，你明天上午再联系我吧。"],
        ),
        (
            "call_back_later",
            &["Sorry, I'm in a meeting. Can you call me back tomorrow?"],
        ),
        ("not_interested", &["我对理财没兴趣，不买。"]),
        (
            "not_interested",
            &["No thanks, I'm not interested in that."],
        ),
        ("complaint", &["你们卖给我的基金亏了一半，我要去投诉你们！"]),
        (
            "complaint",
            &["This is the third time you've called this week. I'm filing a complaint."],
        ),
        (
            "no_answer",
            &["您好，您拨打的电话暂时无法接通，请稍后再拨。"],
        ),
        ("no_answer", &["喂？喂？听不见……"]),
    ];
    let mut wrong = Vec::new();
    for (want, lines) in cases {
        let s = score(&mut m, &call(&ROBOT, lines));
        if top(&s) != *want {
            wrong.push(format!("{lines:?}: {want} read as {:?}", &s.intents[..2]));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn repeating_a_call_changes_no_intent_and_truncating_its_tail_keeps_it() {
    let mut m = models();
    for (want, lines) in calls() {
        let one = call(&ROBOT, &lines);
        let mut four = one.clone();
        for _ in 0..3 {
            four.turns.extend(one.turns.clone());
        }
        let a = score(&mut m, &one);
        let b = score(&mut m, &four);
        assert_eq!(top(&a), want, "{lines:?}: {:?}", a.intents);
        assert_eq!(intents_of(&a), intents_of(&b), "{want}: repetition");
        assert_eq!(a.do_not_contact, b.do_not_contact);
        // Cut the call after the customer's last word: the robot's closing goes.
        let mut cut = one.clone();
        while cut
            .turns
            .last()
            .is_some_and(|t| t.speaker == Speaker::Robot)
        {
            cut.turns.pop();
        }
        assert_eq!(top(&score(&mut m, &cut)), want, "{want}: truncated");
    }
}

#[test]
fn swapping_only_the_robots_turns_never_changes_the_intent() {
    let mut m = models();
    let other_robot = [
        "非常抱歉给您带来不好的体验，我会把您的问题反馈给相关部门。",
        "好的，稍后安排客户经理联系您。",
        "好的，那我们改天再联系您。",
    ];
    for (want, lines) in calls() {
        let a = score(&mut m, &call(&ROBOT, &lines));
        let b = score(&mut m, &call(&other_robot, &lines));
        assert_eq!(intents_of(&a), intents_of(&b), "{want}");
        assert_eq!(a.do_not_contact, b.do_not_contact, "{want}");
        assert_eq!(a.lexicon, b.lexicon, "{want}");
    }
}

#[test]
fn an_off_topic_turn_does_not_flip_the_intent() {
    let mut m = models();
    for (want, lines) in calls() {
        let mut with = lines.clone();
        with.insert(1, "哎你等一下，我家狗在叫……好了好了，你接着说。");
        let s = score(&mut m, &call(&ROBOT, &with));
        assert_eq!(top(&s), want, "{with:?}: {:?}", s.intents);
    }
}

#[test]
fn lexicon_hits_lead_the_reasons_and_come_from_the_customer_only() {
    let mut m = models();
    let s = score(
        &mut m,
        &call(&ROBOT, &["别再给我打电话了，再打我就去投诉。"]),
    );
    assert_eq!(s.reasons[0].kind, ReasonKind::Lexicon);
    let kinds: Vec<_> = s.lexicon.iter().map(|h| h.kind.as_str()).collect();
    assert!(
        kinds.contains(&"do_not_contact") && kinds.contains(&"complaint"),
        "{kinds:?}"
    );
    // The same words said by the robot are not the customer's.
    let robot_says = call(&["别再给我打电话了，再打我就去投诉。"], &["嗯，好的。"]);
    assert!(score(&mut m, &robot_says).lexicon.is_empty());
    // Phrase reasons are the customer's words, never a speaker prefix.
    let s = score(&mut m, &call(&ROBOT, &["不需要，别再推荐了，我没兴趣。"]));
    let phrases: Vec<_> = s
        .reasons
        .iter()
        .filter(|r| r.kind == ReasonKind::Phrase)
        .collect();
    assert!(!phrases.is_empty(), "{:?}", s.reasons);
    assert!(phrases
        .iter()
        .all(|r| !r.name.contains("R:") && !r.name.contains("C:")));
}
