"""Figures on the hand-written calls, per split: `dev` = training/eval/handwritten.jsonl (240 calls,
tuned on), `test` = training/eval/blind.jsonl (written later by someone who never saw the models'
failures; reported only).

The routing rules are mirrored from src/domain/policy.rs (Policy::decide), so "tier agreement"
measures what the service would do: do-not-contact (CRM flag, a lexicon hit, or the model's
do_not_contact >= INTENT_THRESHOLD) -> suppressed; else a complaint (lexicon hit or the model's
complaint is the top intent or its probability >= INTENT_THRESHOLD) -> service_followup; else the bucket
of the probability, raised to high when `interested` is the top intent and the customer is in the
wealth tier (aum_band >= AFFLUENT_AUM_BAND, 500k CNY and more), and otherwise lifted from low to medium
when the customer asks for a human (lexicon hit, or the top intent, or probability >= threshold) or
when `interested` is the top intent.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from . import text_model
from .schema import INTENTS, tabular_row

INTENT_THRESHOLD = 0.5   # the service's default `intent_threshold`
AFFLUENT_AUM_BAND = 3    # domain::policy::AFFLUENT_AUM_BAND: band 3 = 500k-1M CNY, the wealth tier


def load(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(x) for x in fh if x.strip()]


def load_splits(dev_path, test_path):
    """{"dev": records, "test": records} from the two files (either may be missing). Every record of a
    file must carry that file's split, so a test call can never be tuned on by mistake."""
    out = {}
    for split, path in (("dev", dev_path), ("test", test_path)):
        if not path or not os.path.exists(path):
            continue
        recs = load(path)
        wrong = [r.get("interaction_id") for r in recs if r.get("split") != split]
        if wrong:
            sys.exit("%s: every record must have split %r; not: %s" % (path, split, ", ".join(map(str, wrong[:5]))))
        out[split] = recs
    ids = [r["interaction_id"] for rs in out.values() for r in rs]
    if len(ids) != len(set(ids)):
        sys.exit("hand-written sets share interaction ids")
    return out


def score(recs, feature_ids, ts, tsess, lex):
    """Run the shipped models and the lexicon on records: (recs, intent probs, dnc, probability, hits)."""
    p, z, d, _ = text_model.run_onnx(ts, feature_ids(recs))
    X = np.array([tabular_row(r, a, b) for r, a, b in zip(recs, p, z)], dtype=np.float32)
    prob, _ = tsess.run(None, {"features": X})
    return recs, p, d, prob, [lex.match_turns(r["turns"]) for r in recs]


def aum_band(rec):
    """The customer's aum_band as the service receives it (None when the robot did not send it)."""
    return (rec.get("features") or {}).get("aum_band")


def route(prob, intents, dnc, kinds, crm_dnc, high, medium, t=INTENT_THRESHOLD, aum=None, band=AFFLUENT_AUM_BAND):
    top = INTENTS[int(np.argmax(intents))]
    said = lambda k: intents[INTENTS.index(k)] >= t or top == k
    if crm_dnc or "do_not_contact" in kinds or dnc >= t:
        return "suppressed"
    if "complaint" in kinds or said("complaint"):
        return "service_followup"
    tier = "high" if prob >= high else "medium" if prob >= medium else "low"
    if tier != "high" and top == "interested" and aum is not None and band is not None and aum >= band:
        return "high"
    if tier == "low" and ("asks_for_human" in kinds or said("asks_for_human") or top == "interested"):
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
    routes = [route(p, pi, d, ks, r.get("do_not_contact", False), high, medium, aum=aum_band(r))
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


def _tier_rows(split, band=AFFLUENT_AUM_BAND):
    """(fixed route or None, probability, lifted to medium?, reviewer tier) for the labelled records.
    band: the wealth-tier rule's aum_band (None: as if the policy had no such rule)."""
    recs, probs, dnc, prob, hits = split
    rows = []
    for r, pi, d, pr, hs in zip(recs, probs, dnc, prob, hits):
        if not r["label"].get("tier"):
            continue
        ks = {h[1] for h in hs}
        fixed = route(pr, pi, d, ks, False, 2.0, 2.0, aum=aum_band(r), band=band)   # "low" unless a rule decides
        lifted = fixed == "medium"
        rows.append((fixed if fixed in ("suppressed", "service_followup", "high") else None, float(pr), lifted,
                     r["label"]["tier"]))
    return rows


GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)
SMOOTH = 2          # agreement is averaged over thresholds within +-0.02 (a plateau, not a spike)


def _agreement(rows):
    """agreement[i, j] = how many labelled rows get the reviewer's tier with high = GRID[i], medium = GRID[j]."""
    a = np.zeros((len(GRID), len(GRID)))
    for fixed, pr, lifted, want in rows:
        if fixed is not None:
            a += fixed == want
            continue
        hi = pr >= GRID[:, None]
        me = (pr >= GRID[None, :]) & ~hi
        lo = ~hi & ~me
        a += (hi & (want == "high")) | ((me | (lo & lifted)) & (want == "medium")) | (lo & ~lifted & (want == "low"))
    return a


def _pick(rows, allowed):
    a = _agreement(rows)
    k = 2 * SMOOTH + 1
    pad = np.pad(a, SMOOTH, mode="edge")
    smooth = sum(pad[i:i + len(GRID), j:j + len(GRID)] for i in range(k) for j in range(k)) / (k * k)
    score = np.where(allowed, smooth, -1.0)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)   # first maximum: lowest high, then medium
    return float(GRID[i]), float(GRID[j]), int(a[i, j])


def _allowed(prob_tab, share_bounds):
    """Threshold pairs (GRID x GRID) whose bucket shares on the tabular training split stay in bounds,
    and the share of that split at or above each GRID value."""
    prob_tab = np.sort(np.asarray(prob_tab, dtype=np.float64))
    above = 1.0 - np.searchsorted(prob_tab, GRID, side="left") / len(prob_tab)
    (hl, hh), (ml, mh) = share_bounds
    med = above[None, :] - above[:, None]
    allowed = (GRID[None, :] < GRID[:, None]) & (above[:, None] >= hl) & (above[:, None] <= hh) & (med >= ml) & (med <= mh)
    return allowed, above


def choose_thresholds(dev, prob_tab, share_bounds, folds=5, seed=0, band=AFFLUENT_AUM_BAND):
    """Default bucket thresholds from the reviewers' tiers on the DEV split, never the test split.

    Only pairs whose bucket shares on the tabular training split stay inside `share_bounds`
    ((high lo, hi), (medium lo, hi)) are allowed. Among them, the pair with the best agreement
    averaged over its neighbours (+-0.02 on each threshold), so a lucky spike fitted to a few calls
    is not chosen. The same procedure run in `folds`-fold cross-validation on dev estimates the
    agreement to expect on calls it was not chosen on. band: the wealth-tier rule's aum_band as in the
    policy (None: the same as if the policy had no such rule, only to report what the rule adds).
    Returns (high, medium, description, cv)."""
    rows = _tier_rows(dev, band)
    (hl, hh), (ml, mh) = share_bounds
    allowed, above = _allowed(prob_tab, share_bounds)
    hi, me, agree = _pick(rows, allowed)
    idx = np.random.default_rng(seed).permutation(len(rows))
    held = 0
    for f in range(folds):
        out = set(idx[f::folds].tolist())
        h, m, _ = _pick([x for i, x in enumerate(rows) if i not in out], allowed)
        held += int(_agreement([rows[i] for i in out])[GRID.tolist().index(h), GRID.tolist().index(m)])
    share_hi = float(above[GRID.tolist().index(hi)])
    share_me = float(above[GRID.tolist().index(me)]) - share_hi
    cv = held / len(rows)
    how = ("chosen on the hand-written dev split: tier agreement %d/%d there (%d-fold cross-validated %.3f), "
           "allowed only where the tabular training split has %.0f-%.0f %% high and %.0f-%.0f %% medium; "
           "it has %.1f %% high, %.1f %% medium" % (agree, len(rows), folds, cv, 100 * hl, 100 * hh, 100 * ml,
                                                     100 * mh, 100 * share_hi, 100 * share_me))
    return hi, me, how, cv


BANDS = (None, 2, 3, 4, 5)


def wealth_band_check(dev, prob_tab, share_bounds, folds=5, seed=0):
    """How the wealth-tier rule's band holds up on calls it was not chosen on: in each fold of the same
    cross-validation as choose_thresholds, the band (or no rule) and the thresholds that agree best on the
    other folds are chosen together and scored on the held-out fold. Returns (bands chosen per fold,
    cross-validated agreement)."""
    rows = {b: _tier_rows(dev, b) for b in BANDS}
    allowed, _ = _allowed(prob_tab, share_bounds)
    n = len(rows[None])
    idx = np.random.default_rng(seed).permutation(n)
    held, chosen = 0, []
    for f in range(folds):
        out = set(idx[f::folds].tolist())
        best = None
        for b in BANDS:   # ties keep the earlier entry: no rule first, then the lowest band
            h, m, a = _pick([x for i, x in enumerate(rows[b]) if i not in out], allowed)
            if best is None or a > best[0]:
                best = (a, b, h, m)
        _, b, h, m = best
        chosen.append(b)
        held += int(_agreement([rows[b][i] for i in out])[GRID.tolist().index(h), GRID.tolist().index(m)])
    return chosen, held / n
