"""Synthetic robot-customer wealth-management calls with a documented latent
conversion probability p*.

Every record is generated from its own random stream (seed, index), so record i
is the same whatever n is.  See training/README.md for the description of the
latent model; the constants below ARE that model.

CLI:  python -m funnel_training.generate --n 1000 --seed 20261124 --out calls.jsonl
"""
from __future__ import annotations

import argparse
import json
import math
import random

from . import dialogue, phrases_en, phrases_zh
from .schema import CHANNELS, INTENTS, PRODUCTS, RISK_ASSESSMENT

REGIONS = {
    "east": ["east-sh-pudong", "east-sh-xuhui", "east-hz-xihu", "east-nj-gulou"],
    "north": ["north-bj-chaoyang", "north-bj-haidian", "north-tj-heping", "north-sjz-changan"],
    "south": ["south-gz-tianhe", "south-sz-futian", "south-sz-nanshan", "south-xm-siming", "south-fz-gulou"],
    "west": ["west-cd-jinjiang", "west-cq-yuzhong", "west-xa-yanta"],
}
REGION_WEIGHTS = {"east": 0.32, "north": 0.26, "south": 0.27, "west": 0.15}
ENGLISH_SHARE = 0.2

# ---------------------------------------------------------------- latent model
# logit p* = P_BASE + sum of the terms below (all additive, see p_star_logit).
P_BASE = -3.9
P_AUM = [0.0, 0.35, 0.70, 0.95, 1.15, 1.25]            # by aum_band
P_AGE = [-0.20, 0.0, 0.10, 0.15, 0.05, -0.25]           # by age_band
P_TENURE = 0.25          # * min(tenure_years, 20) / 20
P_PRODUCTS = 0.10        # * min(products_held, 6)
P_LOGINS = 0.16          # * ln(1 + digital_logins_30d)
P_RESPONSES = 0.45       # * ln(1 + past_campaign_responses)
P_CONTACTS = -0.035      # * min(past_campaign_contacts, 30)   (contact fatigue)
P_RISK = {"none": 0.0, "expired": 0.15, "valid": 0.50}
P_CHANNEL = {"outbound_voice": 0.0, "inbound_voice": 0.50, "chat": 0.20}
P_HOUR_EVENING = 0.15    # hour 19..21
P_HOUR_LUNCH = -0.10     # hour 12..13
P_PRODUCT = {"wealth": 0.0, "fund": -0.20, "deposit": 0.30, "insurance": -0.50, "credit_card": 0.10, "loan": -0.30}
P_INTENT = {"interested": 1.80, "asks_for_human": 1.40, "call_back_later": -0.60,
            "not_interested": -2.40, "complaint": -3.00, "no_answer": -2.60}
P_POS_CUE = 0.40         # * min(buying signals, 3)
P_NEG_CUE = -0.35        # * min(hesitation cues, 2)

INTENT_BASE = {"interested": 0.16, "asks_for_human": 0.10, "call_back_later": 0.16,
               "not_interested": 0.31, "complaint": 0.07, "no_answer": 0.20}


def feature_logit(f: dict, call: dict, product: str) -> float:
    """The part of logit p* that comes from customer features, call metadata and product."""
    x = P_AUM[f["aum_band"]] + P_AGE[f["age_band"]]
    x += P_TENURE * min(f["tenure_years"], 20.0) / 20.0
    x += P_PRODUCTS * min(f["products_held"], 6)
    x += P_LOGINS * math.log1p(f["digital_logins_30d"])
    x += P_RESPONSES * math.log1p(f["past_campaign_responses"]) + P_CONTACTS * min(f["past_campaign_contacts"], 30)
    x += P_RISK[f["risk_assessment"]] + P_CHANNEL[call["channel"]] + P_PRODUCT[product]
    h = call["hour_of_day"]
    x += P_HOUR_EVENING if 19 <= h <= 21 else (P_HOUR_LUNCH if 12 <= h <= 13 else 0.0)
    return x


def p_star_logit(f, call, product, intent, n_pos, n_neg) -> float:
    return (P_BASE + feature_logit(f, call, product) + P_INTENT[intent]
            + P_POS_CUE * min(n_pos, 3) + P_NEG_CUE * min(n_neg, 2))


# ---------------------------------------------------------------- features
def _w(r: random.Random, weights):
    x = r.random() * sum(weights)
    for i, w in enumerate(weights):
        x -= w
        if x < 0:
            return i
    return len(weights) - 1


def gen_features(r: random.Random) -> dict:
    age = _w(r, [0.08, 0.20, 0.24, 0.22, 0.16, 0.10])
    aum_w = [[0.62, 0.27, 0.08, 0.02, 0.01, 0.0], [0.48, 0.30, 0.13, 0.06, 0.025, 0.005],
             [0.36, 0.30, 0.18, 0.09, 0.06, 0.01], [0.30, 0.28, 0.19, 0.12, 0.09, 0.02],
             [0.28, 0.26, 0.20, 0.13, 0.10, 0.03], [0.30, 0.27, 0.19, 0.12, 0.09, 0.03]][age]
    aum = _w(r, aum_w)
    max_tenure = [7, 17, 27, 37, 47, 60][age]
    tenure = round(min(max_tenure, r.gammavariate(2.0, 2.5 + 1.5 * age)), 1)
    products = min(20, max(0, int(r.expovariate(1.0 / (1.2 + 0.8 * aum))) + (1 if r.random() < 0.9 else 0)))
    if r.random() < [0.05, 0.06, 0.10, 0.16, 0.28, 0.45][age]:
        logins = 0.0
    else:
        logins = float(min(300, int(r.lognormvariate(math.log([14, 16, 12, 9, 6, 4][age]), 0.9))))
    contacts = min(100, int(r.expovariate(1.0 / (3.0 + 0.6 * aum))))
    resp_rate = r.betavariate(1.2, 6.0)
    responses = sum(1 for _ in range(contacts) if r.random() < resp_rate)
    holds_wealth = aum >= 2 or r.random() < 0.25
    if holds_wealth:
        risk = RISK_ASSESSMENT[_w(r, [0.15, 0.30, 0.55])]
    else:
        risk = RISK_ASSESSMENT[_w(r, [0.60, 0.20, 0.20])]
    return {"aum_band": aum, "age_band": age, "tenure_years": tenure, "products_held": products,
            "digital_logins_30d": logins, "past_campaign_contacts": contacts,
            "past_campaign_responses": responses, "risk_assessment": risk}


def sample_intent(r, f, call, product) -> str:
    z = feature_logit(f, call, product) - 0.9   # roughly centred
    logits = {k: math.log(v) for k, v in INTENT_BASE.items()}
    logits["interested"] += 0.7 * z
    logits["asks_for_human"] += 0.3 * z + 0.15 * (f["age_band"] - 2)
    logits["not_interested"] -= 0.3 * z
    logits["complaint"] += 0.04 * (min(f["past_campaign_contacts"], 30) - 4)
    if call["channel"] != "outbound_voice":
        logits["no_answer"] -= 1.0
    m = max(logits.values())
    ws = [math.exp(logits[k] - m) for k in INTENTS]
    return INTENTS[_w(r, ws)]


# ---------------------------------------------------------------- text
class Lang:
    def __init__(self, mod, zh: bool):
        self.m, self.zh = mod, zh

    def join(self, *parts):
        parts = [p for p in parts if p]
        if self.zh:
            return "".join(parts)
        return " ".join(p.strip() for p in parts)


ZH, EN = Lang(phrases_zh, True), Lang(phrases_en, False)


def _fmt(s: str, d: dict) -> str:
    return s.format(**d)


def product_details(r, L: Lang, product: str, f: dict, hour: int) -> dict:
    m = L.m
    S = m.SLOTS
    lo, hi = S["rate"].get(product, (2.0, 4.0))
    d = {
        "s": r.choice(m.SURNAMES), "t": r.choice(m.TITLES), "bank": r.choice(m.BANKS), "bot": r.choice(m.BOTS),
        "tail": "%04d" % r.randrange(10000),
        "greet": (("上午" if hour < 12 else "下午" if hour < 18 else "晚上") if L.zh
                  else ("morning" if hour < 12 else "afternoon" if hour < 18 else "evening")),
        "term": r.choice(S["term"].get(product, S["term"]["wealth"])),
        "rate": "%.2f" % (lo + (hi - lo) * r.random()),
        "min": r.choice(S["min"].get(product, S["min"]["wealth"])),
    }
    for k in ("risk", "fundtype", "amt", "disc", "instype", "insfeat", "card", "perk", "limit", "loantype",
              "loanamt", "lperk", "gift"):
        d[k] = r.choice(S[k])
    return d


def timed(r, L: Lang, turns, channel):
    """Attach offset_ms: speaking time proportional to length plus response latencies."""
    t = r.randint(300, 1500)
    out = []
    per_char = {("robot", True): 275, ("customer", True): 300, ("robot", False): 75, ("customer", False): 80}
    for i, (spk, text) in enumerate(turns):
        if i > 0:
            if channel == "chat":
                t += r.randint(1500, 9000)
            elif spk == "customer":
                t += r.randint(900, 4000)
            else:
                t += r.randint(800, 1800)
        out.append({"speaker": spk, "text": text, "offset_ms": t})
        t += len(text) * per_char[(spk, L.zh)] + r.randint(0, 400)
    return out, t + r.randint(300, 2000)


# ---------------------------------------------------------------- records
def generate_record(seed: int, i: int) -> dict:
    r = random.Random(seed * 1_000_003 + i)
    f = gen_features(r)
    product = PRODUCTS[_w(r, [0.30, 0.18, 0.16, 0.12, 0.12, 0.12])]
    hour = [9, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16, 16, 17, 18, 19, 19, 20, 21][r.randrange(19)]
    channel = CHANNELS[_w(r, [0.85, 0.08, 0.07])]
    call = {"duration_s": 0.0, "hour_of_day": hour, "channel": channel}
    intent = sample_intent(r, f, call, product)
    L = EN if r.random() < ENGLISH_SHARE else ZH
    d = product_details(r, L, product, f, hour)
    raw, n_pos, n_neg, dnc = dialogue.build_turns(r, L.zh, product, intent, d, channel)
    turns, end_ms = timed(r, L, raw, channel)
    call["duration_s"] = round(end_ms / 1000.0, 1)
    z = p_star_logit(f, call, product, intent, n_pos, n_neg)
    p = 1.0 / (1.0 + math.exp(-z))
    converted = r.random() < p
    region = list(REGIONS)[_w(r, list(REGION_WEIGHTS.values()))]
    branch = r.choice(REGIONS[region])
    return {
        "interaction_id": "itx-%08x%08x" % (seed & 0xFFFFFFFF, i),
        "customer_id": "cus-%010d" % r.randrange(10 ** 10),
        "campaign_id": "cmp-2026q4-%s-%02d" % (product.replace("_", ""), 1 + r.randrange(4)),
        "region_id": region,
        "branch_id": branch,
        "product": product,
        "do_not_contact": False,
        "turns": turns,
        "features": f,
        "call": call,
        "label": {"intent": intent, "converted": converted, "p_star": round(p, 6),
                  "do_not_contact_request": dnc, "language": "zh" if L.zh else "en",
                  "buying_signals": n_pos, "hesitations": n_neg},
    }


def generate(n: int, seed: int, start: int = 0) -> list[dict]:
    return [generate_record(seed, start + i) for i in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.out, "w", encoding="utf-8") as fh:
        for rec in generate(a.n, a.seed):
            fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
