"""Compares a fresh regeneration with the committed models/.

  python -m funnel_training.check COMMITTED_DIR FRESH_DIR

Must match:
  - tokenizer.json, text.onnx, tabular.onnx: byte-identical (sha256), and equal to
    the sha256 recorded in the committed manifest;
  - manifest.json: every field equal, numbers in "evaluation" within TOLERANCE;
  - golden.jsonl: same cases, records and token ids; numbers within TOLERANCE;
  - holdout_sample.jsonl: byte-identical;
  - lexicon.json (hand-edited, not generated): its sha256 recorded in the committed manifest.
Exit status 1 with one line per mismatch, and a hint when only the lexicon explains them.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

TOLERANCE = 1e-6          # absolute, for evaluation figures and golden floats
MODEL_FILES = ("tokenizer.json", "ngrams.bin", "text.onnx", "tabular.onnx")


def sha(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def diff(a, b, path, out, tol):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append("%s.%s: present in only one of them" % (path, k))
            else:
                diff(a[k], b[k], "%s.%s" % (path, k), out, tol)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append("%s: length %d != %d" % (path, len(a), len(b)))
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                diff(x, y, "%s[%d]" % (path, i), out, tol)
    elif isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float))) or abs(a - b) > tol:
            out.append("%s: %r != %r (tolerance %g)" % (path, a, b, tol))
    elif a != b:
        out.append("%s: %r != %r" % (path, a, b))


def main(committed, fresh):
    problems = []
    for f in MODEL_FILES + ("manifest.json", "golden.jsonl", "holdout_sample.jsonl"):
        if not os.path.exists(os.path.join(committed, f)):
            problems.append("%s missing from %s (run training/run.sh and commit models/)" % (f, committed))
    if problems:
        return report(problems)
    with open(os.path.join(committed, "manifest.json"), encoding="utf-8") as fh:
        mc = json.load(fh)
    with open(os.path.join(fresh, "manifest.json"), encoding="utf-8") as fh:
        mf = json.load(fh)
    recorded = {v["path"]: v["sha256"] for v in mc["files"].values()}
    for f in MODEL_FILES:
        a, b = sha(os.path.join(committed, f)), sha(os.path.join(fresh, f))
        if a != b:
            problems.append("%s: committed sha256 %s != regenerated %s" % (f, a, b))
        if recorded.get(f) != a:
            problems.append("%s: sha256 %s does not match the committed manifest (%s)" % (f, a, recorded.get(f)))
    ev_c, ev_f = mc.pop("evaluation", {}), mf.pop("evaluation", {})
    diff(ev_c, ev_f, "manifest.evaluation", problems, TOLERANCE)
    diff(mc, mf, "manifest", problems, 0.0)
    with open(os.path.join(committed, "golden.jsonl"), encoding="utf-8") as fh:
        gc = [json.loads(x) for x in fh]
    with open(os.path.join(fresh, "golden.jsonl"), encoding="utf-8") as fh:
        gf = [json.loads(x) for x in fh]
    diff(gc, gf, "golden", problems, TOLERANCE)
    if sha(os.path.join(committed, "holdout_sample.jsonl")) != sha(os.path.join(fresh, "holdout_sample.jsonl")):
        problems.append("holdout_sample.jsonl differs")
    hints = []
    lex_path = os.path.join(committed, "lexicon.json")
    if os.path.exists(lex_path) and recorded.get("lexicon.json") != sha(lex_path):
        problems.insert(0, "lexicon.json: sha256 %s is not the one in the committed manifest" % sha(lex_path))
        hints.append("models/lexicon.json was edited: check it and record it with `python3 training/lexicon.py models/`")
    lexicon_only = lambda p: any(k in p for k in (".handwritten", "manifest.buckets", "manifest.files.lexicon",
                                                  "lexicon_hits", "lexicon.json"))
    if problems and all(lexicon_only(p) for p in problems):
        hints.append("only figures that depend on the lexicon differ (model files are byte-identical): run "
                     "`training/run.sh` to refresh the manifest, the model card and the fixtures, and commit them")
    return report(problems, hints)


def report(problems, hints=()):
    if problems:
        print("CHECK FAILED: regenerated models differ from the committed ones:")
        for p in problems[:50]:
            print("  - " + p)
        if len(problems) > 50:
            print("  ... and %d more" % (len(problems) - 50))
        for h in hints:
            print("HINT: " + h)
        return 1
    print("CHECK OK: tokenizer.json, ngrams.bin, text.onnx, tabular.onnx byte-identical; manifest, evaluation "
          "(tolerance %g), golden.jsonl and holdout_sample.jsonl match" % TOLERANCE)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
