"""Text features shared with the Rust scorer (src/scoring/text.rs): presence of word/character
n-grams in the CUSTOMER's turns only.

For each customer turn, in order: tokenize the turn alone (no special tokens); drop punctuation
tokens (ids in [punct_first, punct_end)), so bigrams bridge them; an [UNK] token breaks the
chain. Every run of 1..NGRAM_MAX consecutive tokens inside one turn is an n-gram, packed into
one u64 key:  key = (a+1) + (b+1) << 21 + (c+1) << 42  (b, c absent -> 0).
An n-gram is a feature if its key is in the sorted key table (ngrams.bin, little-endian u64);
its feature index is its position in that table. Each feature counts once per call however
often it occurs (presence), so repeating a turn changes nothing, and robot turns are never read.
Only the first MAX_TOKENS tokens of customer speech are read. Feature slots are ordered by first
occurrence. Key 0
(never an n-gram) is always the table's first entry: a call with no n-gram in the table gets that
one feature ("the customer said nothing the model knows").
"""
from __future__ import annotations

import numpy as np

from .schema import MAX_TOKENS

NGRAM_MAX = 3
ID_BITS = 21


def pack(gram) -> int:
    k = 0
    for j, t in enumerate(gram):
        k |= (int(t) + 1) << (ID_BITS * j)
    return k


def turn_grams(ids, punct, unk):
    """All n-gram keys of one turn's ids, in order of their first token."""
    lo, hi = punct
    out = []
    run = []
    for t in ids:
        if lo <= t < hi:
            continue
        if t == unk:
            run = []
            continue
        run.append(t)
        for n in range(1, min(NGRAM_MAX, len(run)) + 1):
            out.append(pack(run[-n:]))
    return out


def call_keys(tok, texts, punct, unk, max_tokens: int = MAX_TOKENS):
    """Distinct n-gram keys of a call's customer turn texts (already cut to max_chars), in order of
    first occurrence, reading at most max_tokens tokens. Returns (keys, cut)."""
    seen, order = set(), []
    left, cut = max_tokens, False
    if not texts:
        return order, cut
    for e in tok.encode_batch(texts, add_special_tokens=False):
        ids = e.ids
        if len(ids) > left:
            ids, cut = ids[:left], True
        left -= len(ids)
        for k in turn_grams(ids, punct, unk):
            if k not in seen:
                seen.add(k)
                order.append(k)
        if left <= 0:
            break
    return order, cut


def build_table(key_lists, min_calls: int) -> np.ndarray:
    """Key 0, then the keys seen in at least min_calls calls, sorted."""
    from collections import Counter
    c = Counter()
    for ks in key_lists:
        c.update(ks)
    return np.array([0] + sorted(k for k, n in c.items() if n >= min_calls), dtype=np.uint64)


def lookup(table: np.ndarray, keys):
    """Feature indices of the keys found in the table, in order ([0] if none is)."""
    if not keys:
        return np.zeros(1, dtype=np.int64)
    k = np.array(keys, dtype=np.uint64)
    pos = np.minimum(np.searchsorted(table, k), len(table) - 1)
    found = pos[table[pos] == k].astype(np.int64)
    return found if len(found) else np.zeros(1, dtype=np.int64)
