"""The compliance lexicon (models/lexicon.json): validation, matching, and recording its sha256 in
the manifest. Standard library only, so a compliance team can run it without the training venv:

    python3 training/lexicon.py models/        # check models/lexicon.json, record its sha256 and version
    python3 training/lexicon.py models/ "我要投诉你们"   # also show what a sentence matches

Matching is the contract the Rust scorer implements (src/scoring/lexicon.rs):
  normalise(text): NFKC, lowercase; whitespace next to a non-ASCII character is removed, other runs
  of whitespace become one space, ends trimmed. Patterns are normalised the same way.
  A pattern made only of ASCII characters matches at word boundaries (no ASCII letter or digit just
  before or after the match); any other pattern matches anywhere. A rule is skipped on a turn that
  contains one of its `unless` patterns. Only customer turns are read.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import unicodedata

KINDS = ("complaint", "do_not_contact", "asks_for_human")


def normalise(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).lower()
    out = []
    i, n = 0, len(t)
    while i < n:
        ch = t[i]
        if ch.isspace():
            j = i
            while j < n and t[j].isspace():
                j += 1
            prev = out[-1] if out else ""
            nxt = t[j] if j < n else ""
            if prev and nxt and prev.isascii() and nxt.isascii():
                out.append(" ")
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _word(c: str) -> bool:
    return c.isascii() and c.isalnum()


def occurs(pattern: str, text: str) -> bool:
    """pattern and text already normalised."""
    if not pattern:
        return False
    if not pattern.isascii():
        return pattern in text
    start = 0
    while True:
        k = text.find(pattern, start)
        if k < 0:
            return False
        before = text[k - 1] if k > 0 else ""
        after = text[k + len(pattern)] if k + len(pattern) < len(text) else ""
        if not (before and _word(before)) and not (after and _word(after)):
            return True
        start = k + 1


class Lexicon:
    def __init__(self, doc: dict):
        self.doc = doc
        self.version = doc["version"]
        self.rules = []
        for r in doc["rules"]:
            self.rules.append((r["id"], r["kind"], [(p, normalise(p)) for p in r["patterns"]],
                               [normalise(u) for u in r.get("unless", [])]))

    @classmethod
    def load(cls, path: str) -> "Lexicon":
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def match_text(self, text: str):
        """[(rule id, kind, pattern as written)] for one turn, in rule then pattern order."""
        t = normalise(text)
        hits = []
        for rid, kind, pats, unless in self.rules:
            if any(occurs(u, t) for u in unless):
                continue
            for raw, p in pats:
                if occurs(p, t):
                    hits.append((rid, kind, raw))
        return hits

    def match_turns(self, turns):
        """Distinct hits over a call's customer turns, in order of first appearance."""
        seen, out = set(), []
        for t in turns:
            if t["speaker"] != "customer":
                continue
            for h in self.match_text(t["text"]):
                if h not in seen:
                    seen.add(h)
                    out.append(h)
        return out


def validate(doc: dict) -> list[str]:
    errs = []
    if doc.get("schema_version") != 1:
        errs.append("schema_version must be 1")
    if not isinstance(doc.get("version"), str) or not doc.get("version"):
        errs.append("version must be a non-empty string (bump it on every edit)")
    ids = set()
    for i, r in enumerate(doc.get("rules") or []):
        where = "rules[%d] (%s)" % (i, r.get("id"))
        if not r.get("id") or r["id"] in ids:
            errs.append("%s: id missing or repeated" % where)
        ids.add(r.get("id"))
        if r.get("kind") not in KINDS:
            errs.append("%s: kind must be one of %s" % (where, ", ".join(KINDS)))
        pats = r.get("patterns") or []
        if not pats:
            errs.append("%s: no patterns" % where)
        for p in pats + (r.get("unless") or []):
            if not isinstance(p, str) or not normalise(p):
                errs.append("%s: empty pattern %r" % (where, p))
    if errs:
        return errs
    lex = Lexicon(doc)
    for r in doc["rules"]:
        for ex in r.get("examples") or []:
            if not any(h[0] == r["id"] for h in lex.match_text(ex)):
                errs.append("rule %s: its example %r does not match it" % (r["id"], ex))
    for neg in doc.get("must_not_match") or []:
        bad = [h for h in lex.match_text(neg["text"]) if h[1] in neg.get("kinds", KINDS)]
        if bad:
            errs.append("must_not_match %r is matched by %s" % (neg["text"], ", ".join("%s (%s)" % (h[0], h[2]) for h in bad)))
    return errs


def sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def main(argv):
    if not argv:
        sys.exit(__doc__)
    models = argv[0]
    path = os.path.join(models, "lexicon.json")
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    errs = validate(doc)
    for e in errs:
        print("lexicon.json:", e)
    if errs:
        sys.exit(1)
    lex = Lexicon(doc)
    for text in argv[1:]:
        print("%r -> %s" % (text, lex.match_text(text) or "no hit"))
    mpath = os.path.join(models, "manifest.json")
    with open(mpath, encoding="utf-8") as fh:
        manifest = json.load(fh)
    entry = manifest["files"]["lexicon"]
    new = {"sha256": sha256(path), "version": doc["version"], "bytes": os.path.getsize(path),
           "rules": len(doc["rules"]), "patterns": sum(len(r["patterns"]) for r in doc["rules"])}
    if all(entry.get(k) == v for k, v in new.items()):
        print("lexicon.json OK (%s, %d rules); the manifest already records it" % (doc["version"], len(doc["rules"])))
        return
    entry.update(new)
    with open(mpath, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    print("lexicon.json OK (%s, %d rules); recorded its sha256 in %s. Run training/run.sh to refresh the "
          "hand-written figures in the model card." % (doc["version"], len(doc["rules"]), mpath))


if __name__ == "__main__":
    main(sys.argv[1:])
