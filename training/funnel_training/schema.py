"""The contract shared with the Rust scorer: names, category codes, defaults,
transcript rendering and the tabular feature vector."""
from __future__ import annotations

INTENTS = ["interested", "asks_for_human", "call_back_later", "not_interested", "complaint", "no_answer"]
PRODUCTS = ["wealth", "fund", "deposit", "insurance", "credit_card", "loan"]
CHANNELS = ["outbound_voice", "inbound_voice", "chat"]
RISK_ASSESSMENT = ["none", "expired", "valid"]

MAX_CHARS = 2000      # characters of customer speech read per call (the rest is cut)
MAX_TOKENS = 400      # tokens of customer speech read per call (the rest is cut)
PAD_ID = 0
UNK_ID = 1

# name, source, type, min, max, default, baseline, monotone, description
# `default` is used when the input is missing (None = required / always computed).
# For text features the baseline is filled in from training data (class priors,
# median text logit) by the pipeline.
FEATURES = [
    ("aum_band", "customer", "int", 0, 5, 1, 1, "increasing",
     "assets under management band: 0 <50k CNY, 1 50k-200k, 2 200k-500k, 3 500k-1M, 4 1M-5M, 5 >=5M"),
    ("age_band", "customer", "int", 0, 5, 2, 2, None, "age band: 0 18-25, 1 26-35, 2 36-45, 3 46-55, 4 56-65, 5 66+"),
    ("tenure_years", "customer", "float", 0, 60, 5.0, 5.0, None, "years as a customer of the bank"),
    ("products_held", "customer", "int", 0, 20, 2, 2, None, "number of the bank's products the customer holds"),
    ("digital_logins_30d", "customer", "float", 0, 300, 8.0, 8.0, "increasing",
     "mobile-banking logins in the last 30 days"),
    ("past_campaign_contacts", "customer", "int", 0, 100, 3, 3, None, "campaign contacts in the last 12 months"),
    ("past_campaign_responses", "customer", "int", 0, 100, 0, 0, "increasing",
     "positive campaign responses in the last 12 months (<= contacts)"),
    ("risk_assessment", "customer", "category", None, None, "none", "none", None,
     "state of the customer's investment risk assessment questionnaire"),
    ("duration_s", "call", "float", 0, 3600, 90.0, 90.0, None, "call duration in seconds"),
    ("hour_of_day", "call", "int", 0, 23, 14, 14, None, "local hour the call started"),
    ("channel", "call", "category", None, None, "outbound_voice", "outbound_voice", None, "contact channel"),
    ("turn_count", "derived", "int", 1, 500, None, 8, None, "number of turns in the transcript"),
    ("product", "interaction", "category", None, None, None, "wealth", None, "product the call was about"),
] + [
    ("intent_" + k, "text", "float", 0, 1, None, None, None, "text model probability of intent '%s'" % k)
    for k in INTENTS
] + [
    ("text_logit", "text", "float", -50, 50, None, None, "increasing",
     "text-only conversion logit from the text model"),
]
FEATURE_NAMES = [f[0] for f in FEATURES]
CATEGORIES = {"risk_assessment": RISK_ASSESSMENT, "channel": CHANNELS, "product": PRODUCTS}


def customer_turns(turns, max_chars: int = MAX_CHARS):
    """The customer's turn texts in order, cut so that together they have at most max_chars
    Unicode scalar values (the turn that crosses the limit is cut, later ones dropped).
    Returns (texts, cut)."""
    out, left = [], max_chars
    for t in turns:
        if t["speaker"] != "customer":
            continue
        text = t["text"]
        if len(text) > left:
            if left > 0:
                out.append(text[:left])
            return out, True
        out.append(text)
        left -= len(text)
    return out, False


def tabular_row(rec: dict, intent_probs, text_logit) -> list[float]:
    """The F inputs of tabular.onnx, in FEATURES order, missing values -> default,
    categories -> index in CATEGORIES[name]."""
    feats = rec.get("features") or {}
    call = rec.get("call") or {}
    row = []
    for name, source, typ, _lo, _hi, default, _b, _m, _d in FEATURES:
        if source == "customer":
            v = feats.get(name)
        elif source == "call":
            v = call.get(name)
        elif name == "turn_count":
            v = len(rec["turns"])
        elif name == "product":
            v = rec["product"]
        elif name == "text_logit":
            v = text_logit
        else:
            v = intent_probs[INTENTS.index(name[len("intent_"):])]
        if v is None:
            v = default
        if typ == "category":
            v = CATEGORIES[name].index(v)
        row.append(float(v))
    return row
