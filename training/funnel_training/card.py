"""Renders models/MODEL_CARD.md from the manifest (figures are never typed by hand)."""
from __future__ import annotations

from . import generate as g
from .card_text import TEMPLATE


def _pstar_text() -> str:
    return f"""```
logit p* = {g.P_BASE}
         + aum_band term      {g.P_AUM}
         + age_band term      {g.P_AGE}
         + {g.P_TENURE} * min(tenure_years, 20) / 20
         + {g.P_PRODUCTS} * min(products_held, 6)
         + {g.P_LOGINS} * ln(1 + digital_logins_30d)
         + {g.P_RESPONSES} * ln(1 + past_campaign_responses) {g.P_CONTACTS:+} * min(past_campaign_contacts, 30)
         + risk_assessment    {g.P_RISK}
         + channel            {g.P_CHANNEL}
         + hour               {g.P_HOUR_EVENING:+} if 19 <= hour <= 21, {g.P_HOUR_LUNCH:+} if 12 <= hour <= 13
         + product            {g.P_PRODUCT}
         + intent             {g.P_INTENT}
         + {g.P_POS_CUE} * min(buying signals, 3) {g.P_NEG_CUE:+} * min(hesitation cues, 2)
converted ~ Bernoulli(p*)
```"""


def _hw_section(m) -> str:
    hw = m["evaluation"].get("handwritten") or {}
    if not hw:
        return "No hand-written evaluation set was found."
    intents = m["intents"]
    out = []
    rows = [
        ("intent macro-F1", lambda h: "%.3f" % h["intent_macro_f1"], ">= 0.85"),
        ("intent accuracy", lambda h: "%.3f" % h["intent_accuracy"], ""),
        ("complaint recall, model alone (top intent)", lambda h: _r(h["complaint_recall_model"]), ">= 0.85"),
        ("complaint recall, model or lexicon", lambda h: _r(h["complaint_recall_with_lexicon"]), "= 1.00"),
        ("complaints routed outside sales (policy)", lambda h: _r(h["complaint_routed_outside_sales"]), "= 1.00"),
        ("do-not-contact recall, model alone (p >= 0.5)", lambda h: _r(h["dnc_recall_model"]), ">= 0.85"),
        ("do-not-contact recall, model or lexicon", lambda h: _r(h["dnc_recall_with_lexicon"]), "= 1.00"),
        ("do-not-contact false alarms (model / with lexicon)",
         lambda h: "%d / %d" % (h["dnc_false_alarms_model"], h["dnc_false_alarms_with_lexicon"]), ""),
        ("asks_for_human recall, model alone (top intent)", lambda h: _r(h["asks_for_human_recall_model"]), ">= 0.90"),
        ("asks_for_human recall, model or lexicon", lambda h: _r(h["asks_for_human_recall_with_lexicon"]), ""),
        ("tier agreement where labelled", lambda h: "%.3f (n = %d)" % (h["tier_agreement"], h["tier_labelled"]), ">= 0.90"),
        ("tier agreement, 5-fold cross-validated threshold choice",
         lambda h: "%.3f" % h["tier_agreement_cv"] if "tier_agreement_cv" in h else "", ""),
        ("the same, as if the policy had no wealth-tier rule",
         lambda h: "%.3f" % h["tier_agreement_cv_without_wealth_rule"]
         if "tier_agreement_cv_without_wealth_rule" in h else "", ""),
        ("the same, with the rule's `aum_band` (or no rule) chosen inside each fold",
         lambda h: "%.3f (bands chosen: %s)" % (h["wealth_band_cv"]["tier_agreement"],
                                                ", ".join("none" if b is None else str(b)
                                                          for b in h["wealth_band_cv"]["bands_chosen"]))
         if "wealth_band_cv" in h else "", ""),
    ]
    splits = [s for s in ("test", "dev") if s in hw]
    out.append("| metric | " + " | ".join("%s (n = %d)" % (s, hw[s]["n"]) for s in splits) + " | bar (test) |")
    out.append("|---|" + "---|" * len(splits) + "---|")
    for name, f, bar in rows:
        out.append("| %s | %s | %s |" % (name, " | ".join(f(hw[s]) for s in splits), bar))
    for s in splits:
        h = hw[s]
        out.append("")
        out.append("Intent confusion, hand-written **%s** (rows true, columns predicted):" % s)
        out.append("")
        out.append("| true \\ predicted | " + " | ".join(intents) + " |")
        out.append("|---|" + "---|" * len(intents))
        for i, row in enumerate(h["intent_confusion"]):
            out.append("| %s | %s |" % (intents[i], " | ".join(str(v) for v in row)))
        tiers = ["high", "medium", "low", "service_followup", "suppressed"]
        out.append("")
        out.append("Tiers, hand-written **%s** (rows the reviewer's tier, columns what the service would do):" % s)
        out.append("")
        out.append("| reviewer \\ service | " + " | ".join(tiers) + " |")
        out.append("|---|" + "---|" * len(tiers))
        for i, row in enumerate(h["tier_confusion"]):
            out.append("| %s | %s |" % (tiers[i], " | ".join(str(v) for v in row)))
    return "\n".join(out)


TEST_BARS = [  # (what, figure, holds?) on the hand-written test split, from the issue
    ("intent macro-F1 >= 0.85", lambda h: "%.3f" % h["intent_macro_f1"], lambda h: h["intent_macro_f1"] >= 0.85),
    ("complaint recall with the lexicon = 1.00", lambda h: _r(h["complaint_recall_with_lexicon"]),
     lambda h: h["complaint_recall_with_lexicon"]["recall"] >= 1.0),
    ("complaint recall by the model alone >= 0.85", lambda h: _r(h["complaint_recall_model"]),
     lambda h: h["complaint_recall_model"]["recall"] >= 0.85),
    ("no complaint routed to a sales destination", lambda h: _r(h["complaint_routed_outside_sales"]),
     lambda h: h["complaint_routed_outside_sales"]["recall"] >= 1.0),
    ("do-not-contact recall with the lexicon = 1.00", lambda h: _r(h["dnc_recall_with_lexicon"]),
     lambda h: h["dnc_recall_with_lexicon"]["recall"] >= 1.0),
    ("do-not-contact recall by the model alone >= 0.85", lambda h: _r(h["dnc_recall_model"]),
     lambda h: h["dnc_recall_model"]["recall"] >= 0.85),
    ("asks_for_human recall (model alone) >= 0.90", lambda h: _r(h["asks_for_human_recall_model"]),
     lambda h: h["asks_for_human_recall_model"]["recall"] >= 0.90),
    ("tier agreement >= 0.90", lambda h: "%.3f" % h["tier_agreement"], lambda h: h["tier_agreement"] >= 0.90),
]


def bars_missed(m) -> str:
    """The known-failure-modes entry for the issue's bars on the test split, from the figures."""
    hw = m["evaluation"].get("handwritten") or {}
    if "test" not in hw:
        return ("- **No blind test split was present** when these models were built, so none of the bars on "
                "hand-written calls is shown; the dev figures above are optimistic.")
    h = hw["test"]
    missed = ["%s: %s" % (what, fig(h)) for what, fig, ok in TEST_BARS if not ok(h)]
    held = [what for what, _, ok in TEST_BARS if ok(h)]
    if not missed:
        return "- Every bar on the hand-written test split holds (%s)." % "; ".join(held)
    text = ("- **Bars not met on the hand-written test split** (figures in the table above): %s. The bars that "
            "hold there: %s." % ("; ".join(missed), "; ".join(held) or "none"))
    if h["tier_agreement"] < 0.90:
        tiers = ["high", "medium", "low", "service_followup", "suppressed"]
        cells = [(v, i, j) for i, row in enumerate(h["tier_confusion"]) for j, v in enumerate(row) if i != j and v]
        v, i, j = max(cells)
        text += (" The largest tier disagreement is reviewer `%s` → service `%s` (%d of the %d calls the reviewer "
                 "put in `%s`)." % (tiers[i], tiers[j], v, sum(h["tier_confusion"][i]), tiers[i]))
    return text


def _r(x):
    return "%.3f (%d/%d)" % (x["recall"], x["found"], x["n"])


def render(m: dict, synthetic: bool, dropped) -> str:
    e = m["evaluation"]
    f = m["files"]
    total = sum(x["bytes"] for k, x in f.items() if k != "lexicon")
    conf = "\n".join("| %s | %s |" % (m["intents"][i], " | ".join(str(v) for v in row))
                     for i, row in enumerate(e["intent_confusion"]))
    orc = "roc_auc_oracle" in e
    fig = [
        "| metric (held-out, n = %d) | model | oracle p* |" % e["holdout_size"],
        "|---|---|---|",
        "| ROC AUC | %.4f | %s |" % (e["roc_auc"], "%.4f" % e["roc_auc_oracle"] if orc else "n/a"),
        "| PR AUC (average precision) | %.4f | %s |" % (e["pr_auc"], "%.4f" % e["pr_auc_oracle"] if orc else "n/a"),
        "| ECE, 10 equal-width bins, against labels | %.4f | %s |" % (
            e["ece_vs_labels"], "%.4f" % e["ece_oracle_vs_labels"] if orc else "n/a"),
    ]
    if orc:
        fig.append("| ECE, 10 equal-width bins, against p* | %.4f | 0 |" % e["ece_vs_p_star"])
    fig.append("| ROC AUC of text_logit alone | %.4f | |" % e["text_only_roc_auc"])
    if "dnc_recall" in e:
        fig.append("| do-not-contact head: recall / false-alarm rate (p >= 0.5) | %.4f / %.4f | |" % (
            e["dnc_recall"], e["dnc_false_alarm_rate"]))
    buckets = "\n".join("| %s | %s | %.1f %% | %.1f %% |" % (
        k, {"high": "p >= %.3f" % m["buckets"]["high"],
            "medium": "%.3f <= p < %.3f" % (m["buckets"]["medium"], m["buckets"]["high"]),
            "low": "p < %.3f" % m["buckets"]["medium"]}[k],
        100 * e["buckets"][k]["share"], 100 * e["buckets"][k]["conversion_rate"]) for k in ("high", "medium", "low"))
    mono = ", ".join("`%s`" % x["name"] for x in m["features"] if x.get("monotone"))
    lx = f["lexicon"]
    return TEMPLATE.format(
        version=m["model_version"], created_by=m["created_by"], vocab=f["tokenizer"]["vocab_size"],
        n_feat=f["ngrams"]["features"], feat_mean=e["features_per_call_mean"], feat_p95=e["features_per_call_p95"],
        max_chars=m["transcript"]["max_chars"], max_tokens=m["transcript"]["max_tokens"],
        trunc=100 * e["share_truncated"], n_inputs=len(m["features"]), mono=mono, data=_data(m, synthetic),
        figures="\n".join(fig), f1=e["intent_macro_f1"], acc=e["intent_accuracy"],
        intents=" | ".join(m["intents"]), sep="---|" * len(m["intents"]), conf=conf, buckets=buckets,
        hw=_hw_section(m), bars_missed=bars_missed(m),
        n_test=(m["evaluation"].get("handwritten") or {}).get("test", {}).get("n", 0), chosen=m["buckets"].get("chosen", ""), lex_version=lx["version"], lex_rules=lx["rules"], lex_patterns=lx["patterns"],
        tok_mb=f["tokenizer"]["bytes"] / 1e6, ngram_mb=f["ngrams"]["bytes"] / 1e6, text_mb=f["text_model"]["bytes"] / 1e6,
        tab_kb=f["tabular_model"]["bytes"] / 1e3, total_mb=total / 1e6, golden=m["fixtures"]["golden"]["records"],
        sample=m["fixtures"]["holdout_sample"]["records"])


def _data(m, synthetic):
    e = m["evaluation"]
    if not synthetic:
        return (f"Trained on `{m['training_data']['source']}` ({m['training_data']['records']} records, shuffled with "
                f"the seed, split {m['training_data']['text_train']} / {m['training_data']['tabular_train']} / "
                f"{m['training_data']['holdout']} for text model / tabular model / held-out).")
    return f"""Synthetic. `training/funnel_training/generate.py` (latent model, features, records) and `dialogue.py`
(turns) write robot-customer calls about six products, about {100 * e['share_english']:.0f} % in English. The
customer's turns carry the intent and come from phrase banks written for the generator (`cust_zh.py`,
`cust_en.py`; never from the hand-written set), combined from parts, so each intent has thousands of
distinct turns: reactions, commitments and product questions (interested); reasons plus requests for a
person, a relationship manager or a branch meeting (asks_for_human); a busy context plus a time
(call_back_later); refusals plus reasons (not_interested); grievances (mis-selling, fees, harassment,
privacy, collection, service failures) plus escalations (投诉, 12378, 金融监管总局, regulator, ombudsman) or
subtle complaints with no such word (complaint); carrier messages, voicemail, bad lines, someone else,
wrong numbers, IVRs, background noise, silence (no_answer). Regional flavour (粤, 川渝, 东北, 京津, 陕,
Singapore/UK English) sits in the banks. {100 * 0.22:.0f} % of refusals and {100 * 0.30:.0f} % of complaints carry an
explicit do-not-contact request (label `do_not_contact_request`). The robot's lines (openings, pitches with
product details, answers to product questions, neutral acknowledgements) do not depend on the intent in
{100 - 15} % of calls. Customer turns get ASR-like noise (homophones, dropped characters, stutters, fillers),
full-width, half-width, spaced or no punctuation, code-switching, off-topic turns and back-channels.
Held-out calls: median {e['transcript_chars_median']:.0f} characters (p5 {e['transcript_chars_p5']:.0f},
p95 {e['transcript_chars_p95']:.0f}), customer speech median {e['customer_chars_median']:.0f} characters, median
call {e['duration_s_median']:.0f} s.

The label "converted within 30 days" is drawn from a latent probability p* (kept per record as
`label.p_star`), additive on the logit scale in features and text:

{_pstar_text()}

The text part of p* counts the cues as generated; ASR noise can hide them, so part of p* is not
recoverable from the transcript. Records {m['training_data']['records']}: {m['training_data']['text_train']}
train the tokenizer vocabulary, n-gram table and text model, {m['training_data']['tabular_train']} the tabular
model (on the text model's outputs), {m['training_data']['holdout']} are held out."""
