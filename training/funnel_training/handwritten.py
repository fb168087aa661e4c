"""Figures on the hand-written evaluation set (training/eval/handwritten.jsonl), per split.

The routing rules are mirrored from src/domain/policy.rs (Policy::decide), so "tier agreement"
measures what the service would do: do-not-contact (CRM flag, a lexicon hit, or the model's
do_not_contact >= INTENT_THRESHOLD) -> suppressed; else a complaint (lexicon hit or the model's
complaint probability >= INTENT_THRESHOLD) -> service_followup; else the bucket of the probability,
lifted from low to medium when the customer asks for a human (lexicon hit or probability >= threshold).
"""
from __future__ import annotations

import json

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from .schema import INTENTS

INTENT_THRESHOLD = 0.5   # the service's default `intent_threshold`


def load(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(x) for x in fh if x.strip()]


def route(prob, intents, dnc, kinds, crm_dnc, high, medium, t=INTENT_THRESHOLD):
    if crm_dnc or "do_not_contact" in kinds or dnc >= t:
        return "suppressed"
    if "complaint" in kinds or intents[INTENTS.index("complaint")] >= t:
        return "service_followup"
    tier = "high" if prob >= high else "medium" if prob >= medium else "low"
    if tier == "low" and ("asks_for_human" in kinds or intents[INTENTS.index("asks_for_human")] >= t):
        tier = "medium"
    return tier


def _recall(hit, mask):
    n = int(mask.sum())
    return {"recall": float(hit[mask].mean()) if n else 0.0, "n": n, "found": int(hit[mask].sum())}


def evaluate(recs, probs, dnc, prob, hits, high, medium):
    """recs: hand-written records of one split; probs [n,6]; dnc [n]; prob [n] (tabular);
    hits: per record the lexicon hits [(rule, kind, pattern)]."""
    y = np.array([INTENTS.index(r["label"]["intent"]) for r in recs])
    pred = np.asarray(probs).argmax(axis=1)
    kinds = [{h[1] for h in hs} for hs in hits]
    lex = lambda k: np.array([k in ks for ks in kinds])
    is_c, is_h = y == INTENTS.index("complaint"), y == INTENTS.index("asks_for_human")
    dnc_true = np.array([bool(r["label"].get("do_not_contact_request")) for r in recs])
    dnc_model = np.asarray(dnc) >= INTENT_THRESHOLD
    routes = [route(p, pi, d, ks, r.get("do_not_contact", False), high, medium)
              for p, pi, d, ks, r in zip(prob, probs, dnc, kinds, recs)]
    tiers = [r["label"].get("tier") for r in recs]
    lab = [(a, b) for a, b in zip(routes, tiers) if b]
    comp_routes = np.array([x in ("service_followup", "suppressed") for x in routes])
    out = {
        "n": len(recs),
        "intent_macro_f1": float(f1_score(y, pred, average="macro", labels=list(range(6)))),
        "intent_accuracy": float(np.mean(pred == y)),
        "intent_confusion": confusion_matrix(y, pred, labels=list(range(6))).tolist(),
        "complaint_recall_model": _recall(pred == INTENTS.index("complaint"), is_c),
        "complaint_recall_with_lexicon": _recall((pred == INTENTS.index("complaint")) | lex("complaint"), is_c),
        "complaint_routed_outside_sales": _recall(comp_routes, is_c),
        "dnc_recall_model": _recall(dnc_model, dnc_true),
        "dnc_recall_with_lexicon": _recall(dnc_model | lex("do_not_contact"), dnc_true),
        "dnc_false_alarms_model": int((dnc_model & ~dnc_true).sum()),
        "dnc_false_alarms_with_lexicon": int(((dnc_model | lex("do_not_contact")) & ~dnc_true).sum()),
        "asks_for_human_recall_model": _recall(pred == INTENTS.index("asks_for_human"), is_h),
        "asks_for_human_recall_with_lexicon": _recall((pred == INTENTS.index("asks_for_human")) | lex("asks_for_human"), is_h),
        "lexicon_hits_on_calls": {k: int(lex(k).sum()) for k in ("complaint", "do_not_contact", "asks_for_human")},
        "tier_agreement": float(np.mean([a == b for a, b in lab])) if lab else 0.0,
        "tier_labelled": len(lab),
        "tier_confusion": _tier_confusion(lab),
    }
    return out


TIERS = ["high", "medium", "low", "service_followup", "suppressed"]


def _tier_confusion(pairs):
    m = [[0] * len(TIERS) for _ in TIERS]
    for got, want in pairs:
        m[TIERS.index(want)][TIERS.index(got)] += 1
    return m
