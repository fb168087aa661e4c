"""Figures on the hand-written evaluation set (training/eval/handwritten.jsonl), per split.

The routing rules are mirrored from src/domain/policy.rs (Policy::decide), so "tier agreement"
measures what the service would do: do-not-contact (CRM flag, a lexicon hit, or the model's
do_not_contact >= INTENT_THRESHOLD) -> suppressed; else a complaint (lexicon hit or the model's
complaint is the top intent or its probability >= INTENT_THRESHOLD) -> service_followup; else the bucket
of the probability, lifted from low to medium when the customer asks for a human (lexicon hit, or the
top intent, or probability >= threshold).
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
    top = INTENTS[int(np.argmax(intents))]
    said = lambda k: intents[INTENTS.index(k)] >= t or top == k
    if crm_dnc or "do_not_contact" in kinds or dnc >= t:
        return "suppressed"
    if "complaint" in kinds or said("complaint"):
        return "service_followup"
    tier = "high" if prob >= high else "medium" if prob >= medium else "low"
    if tier == "low" and ("asks_for_human" in kinds or said("asks_for_human")):
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


def choose_thresholds(dev, prob_tab, high_share, medium_share):
    """Default bucket thresholds that agree best with the reviewers' tiers on the DEV split (a grid of
    0.01 steps); among equally good pairs, the one whose shares on the tabular training split are
    closest to the former targets (high_share, medium_share). Never looks at the test split."""
    recs, probs, dnc, prob, hits = dev
    rows = [(pr, pi, d, {h[1] for h in hs}, r["label"]["tier"])
            for r, pi, d, pr, hs in zip(recs, probs, dnc, prob, hits) if r["label"].get("tier")]
    prob_tab = np.sort(np.asarray(prob_tab, dtype=np.float64))
    share_above = lambda t: 1.0 - np.searchsorted(prob_tab, t, side="left") / len(prob_tab)
    best = None
    grid = [round(0.01 * k, 2) for k in range(1, 100)]
    for hi in grid:
        for me in grid:
            if me >= hi:
                break
            agree = sum(route(pr, pi, d, ks, False, hi, me) == want for pr, pi, d, ks, want in rows)
            dist = abs(share_above(hi) - high_share) + abs(share_above(me) - share_above(hi) - medium_share)
            key = (-agree, round(dist, 9), hi, me)
            if best is None or key < best:
                best = key
    _, _, hi, me = best
    how = ("chosen on the hand-written dev split (tier agreement %d/%d); on the tabular training split "
           "%.1f %% high, %.1f %% medium" % (-best[0], len(rows), 100 * share_above(hi),
                                               100 * (share_above(me) - share_above(hi))))
    return hi, me, how
