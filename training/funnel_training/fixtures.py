"""Golden fixtures (every intermediate output of hand-made edge cases and held-out records, for the
Rust parity test) and the held-out sample the benchmarks and the demo read."""
from __future__ import annotations

import copy
import json

import numpy as np

from . import features, text_model
from .schema import customer_turns, tabular_row

N_HOLDOUT_SAMPLE = 2000
SAMPLE_MAX_BYTES = 3_000_000


def dump_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


def edge_cases(holdout):
    """Hand-made edge records derived from held-out ones."""
    def has_cjk(r):
        return any("\u4e00" <= ch <= "\u9fff" for t in r["turns"] for ch in t["text"])

    zh_all = [r for r in holdout if has_cjk(r)] or holdout
    en_all = [r for r in holdout if not has_cjk(r)] or holdout
    zh = lambda i: zh_all[i % len(zh_all)]
    en = lambda i: en_all[i % len(en_all)]
    cases = []

    short = copy.deepcopy(next((r for r in zh_all if r["label"]["intent"] == "no_answer"), zh(0)))
    short["turns"] = [{"speaker": "robot", "text": "您好，请问是王先生吗？", "offset_ms": 600},
                      {"speaker": "customer", "text": "喂？", "offset_ms": 4100}]
    short.setdefault("call", {})["duration_s"] = 5.0
    short["interaction_id"] = str(short.get("interaction_id", "golden")) + "-short"
    cases.append(("very_short", short))

    one = copy.deepcopy(zh(1))
    one["turns"] = [{"speaker": "customer", "text": "", "offset_ms": 0}]
    one["interaction_id"] = str(one.get("interaction_id", "golden")) + "-empty-turn"
    cases.append(("single_empty_turn", one))

    def concat(base, others, tag):
        rec = copy.deepcopy(base)
        t_off = rec["turns"][-1]["offset_ms"]
        for o in others:
            for t in o["turns"]:
                rec["turns"].append({"speaker": t["speaker"], "text": t["text"], "offset_ms": t_off + 2000 + t["offset_ms"]})
            t_off = rec["turns"][-1]["offset_ms"]
        rec.setdefault("call", {})["duration_s"] = round(t_off / 1000.0 + 3.0, 1)
        rec["interaction_id"] = str(rec.get("interaction_id", "golden")) + tag
        return rec

    cases.append(("long_truncated_tokens", concat(zh(2), [zh(3), zh(4), zh(5)], "-long")))
    cases.append(("long_truncated_chars", concat(zh(6), [zh(i) for i in range(7, 20)], "-verylong")))
    for i in range(3):
        cases.append(("english_only", copy.deepcopy(en(i))))
    miss = copy.deepcopy(zh(20))
    for k in ("digital_logins_30d", "risk_assessment", "past_campaign_responses"):
        miss.setdefault("features", {}).pop(k, None)
    miss.setdefault("call", {}).pop("hour_of_day", None)
    miss["interaction_id"] = str(miss.get("interaction_id", "golden")) + "-missing"
    cases.append(("missing_optional_features", miss))
    bare = copy.deepcopy(zh(21))
    bare["features"] = {}
    bare["call"] = {}
    bare["interaction_id"] = str(bare.get("interaction_id", "golden")) + "-nofeatures"
    cases.append(("all_optional_features_missing", bare))
    uni = copy.deepcopy(zh(22))
    uni["turns"][-1]["text"] = "ＯＫ，我有１００００元 😀\t想买\u3000一点，Ｈｅｌｌｏ！"
    uni["interaction_id"] = str(uni.get("interaction_id", "golden")) + "-unicode"
    cases.append(("unicode_normalisation", uni))
    mixed_case = copy.deepcopy(en(3))
    mixed_case["turns"][-1]["text"] = "OK 好的, SEND me 详细资料 via WeChat 谢谢!!"
    mixed_case["interaction_id"] = str(mixed_case.get("interaction_id", "golden")) + "-codeswitch"
    cases.append(("code_switching", mixed_case))
    ro = copy.deepcopy(zh(23))
    ro["turns"] = [t for t in ro["turns"] if t["speaker"] == "robot"]
    ro["interaction_id"] = str(ro.get("interaction_id", "golden")) + "-robot-only"
    cases.append(("robot_only", ro))
    for k, (text, tag) in enumerate([("别再给我打电话了，再打我就打１２３７８投诉！", "lexicon_zh"),
                                     ("Stop calling me, or I'll go to the Ombudsman. Get me a REAL person.", "lexicon_en"),
                                     ("帮 我 转 人工 ， 我 想 当面 聊", "lexicon_spaced")]):
        lx = copy.deepcopy(zh(24 + k) if k != 1 else en(5))
        lx["turns"].append({"speaker": "customer", "text": text, "offset_ms": lx["turns"][-1]["offset_ms"] + 3000})
        lx["interaction_id"] = str(lx.get("interaction_id", "golden")) + "-" + tag
        cases.append((tag, lx))
    return cases


def write_sample(path, holdout):
    """The first held-out records (label reduced to intent, converted, p_star), at most
    N_HOLDOUT_SAMPLE of them and fewer if the file would reach SAMPLE_MAX_BYTES."""
    lines, size = [], 0
    for r in holdout[:N_HOLDOUT_SAMPLE]:
        r = dict(r)
        r["label"] = {k: v for k, v in r["label"].items() if k in ("intent", "converted", "p_star")}
        line = json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"
        n = len(line.encode("utf-8"))
        if size + n >= SAMPLE_MAX_BYTES:
            break
        lines.append(line)
        size += n
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(lines)
    return lines


def write_golden(path, cases, tok, table, lex, ts, tsess, text_inputs):
    """text_inputs: records -> [(n-gram keys, cut)] (pipeline.text_inputs with the tokenizer bound)."""
    recs = [r for _, r in cases]
    inputs = text_inputs(recs)
    feats = [features.lookup(table, k) for k, _ in inputs]
    ii, mm = text_model.pad_batch(feats)
    probs, logits, dnc, contrib = ts.run(None, {"feature_ids": ii, "feature_mask": mm})
    X = np.array([tabular_row(r, p, z) for r, p, z in zip(recs, probs, logits)], dtype=np.float32)
    prob, contribs = tsess.run(None, {"features": X})
    rows = []
    for k, ((case, r), f, (_, cut)) in enumerate(zip(cases, feats, inputs)):
        texts = customer_turns(r["turns"])[0]
        rows.append({
            "case": case, "record": r,
            "customer_token_ids": [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)] if texts else [],
            "feature_ids": [int(v) for v in f], "truncated": bool(cut),
            "intent_probabilities": [float(v) for v in probs[k]], "text_logit": float(logits[k]),
            "do_not_contact": float(dnc[k]), "feature_contributions": [float(v) for v in contrib[k, :len(f)]],
            "tabular_input": [float(v) for v in X[k]], "probability": float(prob[k]),
            "contributions": [float(v) for v in contribs[k]],
            "lexicon_hits": [{"rule": h[0], "kind": h[1], "pattern": h[2]} for h in lex.match_turns(r["turns"])],
        })
    dump_jsonl(path, rows)
