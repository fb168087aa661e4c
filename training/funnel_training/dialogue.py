"""Turn-by-turn construction of one synthetic call.

The customer's turns carry the intent (phrase banks cust_zh / cust_en, combined from parts); the
robot's lines come from scripts that do NOT depend on the intent in most calls (openings, product
pitches, answers to product questions, neutral acknowledgements); only ROBOT_TELL_SHARE of calls get a
robot reply that fits the intent (e.g. an apology after a complaint), as real robots sometimes do.
Customer turns get ASR-like noise: homophones, dropped characters, stutters, fillers, spacing
instead of punctuation, half-/full-width punctuation, code-switching.
"""
from __future__ import annotations

from . import cust_en, cust_zh, phrases_en, phrases_zh

ROBOT_TELL_SHARE = 0.15
DNC_SHARE = {"not_interested": 0.22, "complaint": 0.30}

ROBOT_NEUTRAL_ZH = ["好的，我记下了。", "明白。", "好的。", "嗯，了解。", "好的，收到。", "我这边记录一下。", "好的，您请讲。",
                    "理解。", "好的，已记录。", "嗯嗯，明白了。", "好的，没问题。", "稍等，我记录一下。"]
ROBOT_NEUTRAL_EN = ["Okay, noted.", "Understood.", "Alright.", "I see.", "Thank you, I've made a note.", "Got it.",
                    "Sure.", "Okay.", "Thanks for letting me know.", "Noted, thank you."]
ROBOT_TELL_ZH = {
    "interested": ["好的，稍后把详情发您手机。"], "asks_for_human": ["好的，稍后安排客户经理联系您。"],
    "call_back_later": ["好的，那我们改天再联系。"], "not_interested": ["好的，打扰您了。"],
    "complaint": ["非常抱歉，您反映的问题我会提交给相关部门。"], "no_answer": ["抱歉打扰了。"],
}
ROBOT_TELL_EN = {
    "interested": ["Great, I'll text you the details."], "asks_for_human": ["I'll have an advisor call you."],
    "call_back_later": ["No problem, we'll call another time."], "not_interested": ["Sorry to bother you."],
    "complaint": ["I'm very sorry, I'll pass your complaint on."], "no_answer": ["Sorry for the trouble."],
}
CODE_SWITCH_ZH = [("手机银行", "app"), ("客户经理", "RM"), ("额度", "quota"), ("收益", "return"), ("链接", "link"),
                  ("开会", "开meeting"), ("打电话", "call"), ("信用卡", "credit card"), ("理财经理", "advisor")]


class Speech:
    """Per-call speaking style: punctuation, noise level, fillers."""

    def __init__(self, r, zh: bool, voice: bool):
        self.r, self.zh, self.voice = r, zh, voice
        self.level = 0.0 if not voice else [0.0, 0.02, 0.05, 0.08, 0.12][_w(r, [0.25, 0.28, 0.24, 0.15, 0.08])]
        self.punct = ["full", "half", "space", "none"][_w(r, [0.55, 0.15, 0.2, 0.1])] if zh else \
            ["normal", "lower", "none"][_w(r, [0.7, 0.15, 0.15])]
        self.stutter = voice and r.random() < 0.25
        self.switch = zh and r.random() < 0.12

    def join(self, parts, end="。"):
        parts = [p.rstrip("。，,.!！?？ ") or p for p in parts if p]
        r = self.r
        if self.zh:
            seps = {"full": "，", "half": ",", "space": " ", "none": ""}[self.punct]
            text = seps.join(parts)
            if self.punct == "full":
                text += end if end else ""
            elif self.punct == "half":
                text += {"。": ".", "？": "?", "！": "!"}.get(end, "")
            return text
        text = ", ".join(p.strip() for p in parts)
        text = text[:1].upper() + text[1:]
        if self.punct == "normal" and text[-1] not in ".!?":
            text += "." if end != "？" else "?"
        elif self.punct == "lower":
            text = text.lower()
        elif self.punct == "none":
            text = "".join(ch for ch in text if ch not in ",.!?").lower()
        return text if r is not None else text

    def noise(self, text: str, m) -> str:
        r = self.r
        if self.zh:
            if self.switch and r.random() < 0.5:
                a, b = CODE_SWITCH_ZH[r.randrange(len(CODE_SWITCH_ZH))]
                text = text.replace(a, b)
            out = []
            for ch in text:
                u = r.random()
                if ch in m.HOMOPHONES and u < self.level:
                    alts = m.HOMOPHONES[ch]
                    out.append(alts[r.randrange(len(alts))])
                elif "\u4e00" <= ch <= "\u9fff" and u > 1.0 - self.level * 0.35:
                    continue
                elif self.stutter and "\u4e00" <= ch <= "\u9fff" and u < 0.04:
                    out.append(ch + (" " if self.punct == "space" else "") + ch)
                else:
                    out.append(ch)
            text = "".join(out)
            if self.voice and r.random() < 0.25:
                text = r.choice(cust_zh.FILLERS) + text
        else:
            words = []
            for w in text.split(" "):
                key = w.strip(".,?!").lower()
                u = r.random()
                if key in m.HOMOPHONES and u < self.level * 2.5:
                    words.append(w.lower().replace(key, r.choice(m.HOMOPHONES[key])))
                elif u > 1.0 - self.level * 0.4 and words:
                    words.append("[inaudible]" if r.random() < 0.3 else "")
                elif self.stutter and u < 0.03:
                    words.append(w + ", " + w)
                else:
                    words.append(w)
            text = " ".join(w for w in words if w)
            if self.voice and r.random() < 0.25:
                text = r.choice(cust_en.FILLERS) + text[:1].lower() + text[1:]
        return text.strip() or ("嗯" if self.zh else "Mm.")


def _w(r, weights):
    x = r.random() * sum(weights)
    for i, w in enumerate(weights):
        x -= w
        if x < 0:
            return i
    return len(weights) - 1


def _maybe(r, p, items):
    return r.choice(items) if r.random() < p else ""


def decisive(r, C, intent: str, sp: Speech, old):
    """The customer's intent-bearing turns (1-3 of them) for one call."""
    zh = sp.zh
    q = "？" if zh else "?"
    if intent == "interested":
        lead = _maybe(r, 0.16, C.INT_MIXED_LEAD)
        react = r.choice(C.INT_REACT)
        if r.random() < 0.2:
            return [sp.join([lead + react, r.choice(old["interested"]["core"])])]
        turns = [sp.join([lead + react, r.choice(C.INT_COMMIT)])]
        if r.random() < 0.3:
            turns.append(sp.join([r.choice(C.INT_COMMIT)]))
        return turns
    if intent == "asks_for_human":
        reason = _maybe(r, 0.6, C.HUM_REASON)
        req = r.choice(C.HUM_REQUEST) if r.random() > 0.15 else r.choice(old["asks_for_human"]["core"])
        turns = [sp.join([reason, req, _maybe(r, 0.35, C.HUM_TIME)])] if r.random() < 0.6 else \
            [sp.join([reason]) if reason else sp.join([r.choice(C.HUM_REASON)]), sp.join([req, r.choice(C.HUM_TIME)])]
        if r.random() < 0.25:
            turns.append(sp.join([r.choice(C.HUM_REQUEST)]))
        return turns
    if intent == "call_back_later":
        if r.random() < 0.15:
            return [sp.join([r.choice(old["call_back_later"]["core"])])]
        ctx, cant, when = r.choice(C.CB_CONTEXT), _maybe(r, 0.5, C.CB_CANT), r.choice(C.CB_WHEN)
        interest = _maybe(r, 0.15, C.CB_INTEREST)
        if r.random() < 0.55:
            return [sp.join([ctx, cant, interest, when])]
        return [sp.join([ctx, cant]), sp.join([interest, when])]
    if intent == "not_interested":
        if r.random() < 0.15:
            turns = [sp.join([r.choice(old["not_interested"]["core"])])]
        else:
            turns = [sp.join([r.choice(C.NI_REFUSE), _maybe(r, 0.6, C.NI_REASON), _maybe(r, 0.4, C.NI_POLITE)])]
        if r.random() < 0.3:
            turns.append(sp.join([r.choice(C.NI_REFUSE), _maybe(r, 0.5, C.NI_REASON)]))
        return turns
    if intent == "complaint":
        g = r.choice(C.CP_GRIEVANCE)
        subtle = r.random() < 0.35
        first = sp.join([g, _maybe(r, 0.4, C.CP_SUBTLE)], end="！")
        if r.random() < 0.2:   # a grievance that ends in a demand for a named person to call
            second = sp.join([_maybe(r, 0.5, C.CP_SUBTLE), r.choice(C.CP_PERSON)], end="！")
        elif subtle:
            second = sp.join([r.choice(C.CP_SUBTLE), _maybe(r, 0.5, C.CP_DEMAND)], end="！")
        else:
            second = sp.join([r.choice(C.CP_ESCALATE), _maybe(r, 0.5, C.CP_DEMAND)], end="！")
        if r.random() < 0.35:
            return [sp.join([g, r.choice(C.CP_ESCALATE if not subtle else C.CP_SUBTLE)], end="！")]
        turns = [first, second]
        if r.random() < 0.15:
            turns.append(sp.join([r.choice(old["complaint"]["core"])], end="！"))
        return turns
    raise ValueError(intent)


def no_answer_turns(r, C, R, Cust, sp: Speech, m):
    """no_answer scenarios: carrier message, voicemail, bad line, someone else, wrong number, IVR,
    background noise / pocket dial, silence, hello only."""
    kind = ["carrier", "voicemail", "badline", "someone", "wrong", "ivr", "noise", "silence", "hello", "third",
            "fragment"][_w(r, [0.11, 0.10, 0.18, 0.10, 0.12, 0.04, 0.07, 0.05, 0.06, 0.11, 0.06])]
    if kind == "carrier":
        Cust(r.choice(C.NA_CARRIER), raw=True)
        return
    if kind == "voicemail":
        Cust(r.choice(C.NA_VOICEMAIL), raw=True)
        R(r.choice(m.NO_ANSWER_END))
        return
    if kind == "silence":
        for _ in range(r.randint(1, 2)):
            R(r.choice(m.NO_ANSWER["unclear"][1]))
        R(r.choice(m.NO_ANSWER_END))
        return
    n = {"badline": r.randint(2, 6), "noise": r.randint(2, 4), "hello": r.randint(1, 2), "ivr": r.randint(1, 2),
         "someone": r.randint(1, 3), "wrong": r.randint(1, 3), "third": r.randint(2, 5), "fragment": r.randint(1, 4)}[kind]
    pools = {"badline": C.NA_BADLINE, "noise": C.NA_NOISE, "hello": C.NA_BADLINE[:3], "ivr": C.NA_IVR,
             "someone": C.NA_SOMEONE_ELSE, "wrong": C.NA_WRONG, "third": C.NA_THIRD_PARTY, "fragment": C.NA_FRAGMENT}
    for k in range(n):
        if kind == "third" and k > 0:   # someone else picks up and chats: small talk, never the customer's intent
            Cust(r.choice(C.NA_CHAT) if r.random() < 0.6 else r.choice(C.OFF_TOPIC + C.BACKCHANNEL))
        elif kind in ("someone", "wrong") and k > 0:
            Cust(r.choice(C.OFF_TOPIC) if r.random() < 0.4 else r.choice(pools[kind]))
        else:
            Cust(r.choice(pools[kind]), raw=kind in ("ivr", "noise"))
        if k == 1 and kind in ("badline", "fragment") and r.random() < 0.4:
            R(r.choice(m.PITCH[r.choice(list(m.PITCH))]).rstrip("，, ") + ("。" if sp.zh else "."))
        else:
            R(r.choice(m.NO_ANSWER["unclear"][1]) if kind in ("badline", "noise", "hello", "fragment") else
              r.choice(m.NO_ANSWER["wrong_person"][1] + m.NO_ANSWER["family"][1]))
    R(r.choice(m.NO_ANSWER_END))


def build_turns(r, zh: bool, product: str, intent: str, d: dict, channel: str):
    """Returns ([(speaker, text)], n_pos, n_neg, dnc_request)."""
    m = phrases_zh if zh else phrases_en
    C = cust_zh if zh else cust_en
    sp = Speech(r, zh, channel != "chat")
    neutral = ROBOT_NEUTRAL_ZH if zh else ROBOT_NEUTRAL_EN
    tell = (ROBOT_TELL_ZH if zh else ROBOT_TELL_EN)[intent] if r.random() < ROBOT_TELL_SHARE else None
    turns = []

    def R(s):
        turns.append(("robot", s.format(**d)))

    def Cust(s, raw=False):
        s = s.format(**d)
        turns.append(("customer", s if raw else sp.noise(s, m)))

    if r.random() < 0.85:
        R(r.choice(m.OPENINGS))
    if intent == "no_answer":
        if not turns:
            R(r.choice(m.OPENINGS))
        no_answer_turns(r, C, R, Cust, sp, m)
        return turns, 0, 0, False

    if turns:
        Cust(r.choice(m.IDENTITY_WHO) if r.random() < 0.15 else r.choice(m.IDENTITY_YES))
    ends = m.PITCH_END.get(product, m.PITCH_END["default"])
    detail = r.choice(m.PITCH_DETAIL[product]) if (zh and r.random() < 0.6) else ""
    R(r.choice(m.PITCH_PREFIX) + r.choice(m.PITCH[product]) + detail + r.choice(ends))

    n_pos = {"interested": [0, 1, 2, 3], "asks_for_human": [0, 1, 2], "call_back_later": [0, 1, 2],
             "not_interested": [0, 1, 2], "complaint": [0, 1]}[intent]
    n_pos = n_pos[_w(r, {"interested": [0.15, 0.40, 0.30, 0.15], "asks_for_human": [0.45, 0.40, 0.15],
                         "call_back_later": [0.55, 0.33, 0.12], "not_interested": [0.55, 0.3, 0.15],
                         "complaint": [0.85, 0.15]}[intent])]
    n_neg = [0, 1, 2][_w(r, {"interested": [0.75, 0.25, 0.0], "asks_for_human": [0.6, 0.35, 0.05],
                            "call_back_later": [0.55, 0.35, 0.10], "not_interested": [0.45, 0.40, 0.15],
                            "complaint": [0.85, 0.15, 0.0]}[intent])]
    n_off = [0, 1, 2, 3][_w(r, [0.5, 0.3, 0.14, 0.06])]
    moves = ["pos"] * n_pos + ["neg"] * n_neg + ["off"] * n_off
    r.shuffle(moves)
    if r.random() < 0.5:
        moves.insert(0, "bc")
    if r.random() < 0.2:
        moves.insert(r.randint(0, len(moves)), "bc")
    # complaints and call-backs often come first; interest and refusals follow the questions
    pos = 0 if intent in ("complaint", "call_back_later") and r.random() < 0.6 else len(moves)
    if intent == "complaint" and r.random() < 0.25:
        pos = 0
        moves.append("pos_after")
    moves.insert(pos, "decisive")
    pool = _cue_pool(m, product)
    used = set()
    dnc = r.random() < DNC_SHARE.get(intent, 0.0)
    for mv in moves:
        if mv in ("pos", "pos_after"):
            choices = [i for i in range(len(pool)) if i not in used] or list(range(len(pool)))
            i = r.choice(choices)
            used.add(i)
            qs, ans = pool[i]
            Cust(r.choice(qs))
            R(r.choice(ans))
        elif mv == "neg":
            Cust(sp.join([r.choice(C.HESITATE)]))
            R(r.choice(m.NEG_REPLY))
        elif mv == "off":
            Cust(sp.join([r.choice(C.OFF_TOPIC)]))
            R(r.choice(neutral))
        elif mv == "bc":
            Cust(r.choice(C.BACKCHANNEL))
            R(r.choice(m.BC_REPLY))
        else:
            lines = decisive(r, C, intent, sp, m.DECISIVE)
            if dnc:
                k = r.randrange(len(lines) + 1)
                lines.insert(k, sp.join([dnc_line(r, C)], end="！"))
            for k, line in enumerate(lines):
                Cust(line)
                last = k == len(lines) - 1
                R(tell[0] if (tell and last) else r.choice(neutral))
    if intent == "not_interested" and r.random() < 0.2:
        R(r.choice(m.RETRY))
        Cust(r.choice(m.REFUSE_AGAIN))
    if r.random() < 0.5:
        R(r.choice(m.CLOSING["generic"]))
    if r.random() < 0.45:
        Cust(r.choice(C.FINAL))
    return turns, n_pos, n_neg, dnc


def dnc_line(r, C) -> str:
    """An explicit do-not-contact request: from the list, or composed from parts."""
    u = r.random()
    if u < 0.35:
        return r.choice(C.DNC)
    parts = C.DNC_STOP if u < 0.7 else C.DNC_REMOVE
    words = [r.choice(p) for p in parts]
    if C is cust_zh:
        return "".join(words)
    return " ".join(w.strip() for w in words if w.strip()).replace(" ,", ",")


def _cue_pool(m, product):
    g = m.POS_GENERIC
    spec = m.POS_PRODUCT.get(product, [])
    if product in ("wealth", "fund", "deposit"):
        return list(g) + list(spec)
    return [g[3], g[4], g[5]] + list(spec) * 2
