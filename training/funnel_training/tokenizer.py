"""General CJK-aware word/character tokenizer (HF tokenizers, WordLevel), one turn at a time.

normalizer:    NFKC, then BertNormalizer(clean_text, handle_chinese_chars, lowercase, no accent
               stripping): control characters dropped, every CJK ideograph surrounded by spaces
pre-tokenizer: BertPreTokenizer: splits on whitespace and isolates every punctuation character
model:         WordLevel over a vocabulary that does not come from the generator's phrases alone:
                 0 [PAD], 1 [UNK],
                 2 .. 2+P-1   punctuation (PUNCTUATION below; dropped by the text features),
                 then every CJK Unified Ideograph U+4E00..U+9FFF (one token per character),
                 then the Latin words and numbers seen at least MIN_WORD_COUNT times in training text.
No post-processor, no padding or truncation in the file.
"""
from __future__ import annotations

from collections import Counter

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from .schema import PAD_ID, UNK_ID

# ASCII and common CJK/typographic punctuation (after NFKC, full-width forms are already ASCII).
PUNCTUATION = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + list("。、《》「」『』【】〔〕〈〉…—–‘’“”·～￥")
CJK_FIRST, CJK_LAST = 0x4E00, 0x9FFF
MIN_WORD_COUNT = 2


def _pipeline(tok: Tokenizer) -> Tokenizer:
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKC(),
        normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False,
                                   lowercase=True),
    ])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


def _words(tok: Tokenizer, text: str):
    norm = tok.normalizer.normalize_str(text)
    return [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(norm)]


def build_tokenizer(texts) -> Tokenizer:
    """texts: customer-turn texts of the text-training split (Latin words are taken from them)."""
    probe = _pipeline(Tokenizer(models.WordLevel({"[PAD]": 0, "[UNK]": 1}, unk_token="[UNK]")))
    vocab = {"[PAD]": PAD_ID, "[UNK]": UNK_ID}
    for p in PUNCTUATION:
        vocab.setdefault(p, len(vocab))
    for cp in range(CJK_FIRST, CJK_LAST + 1):
        vocab[chr(cp)] = len(vocab)
    counts = Counter()
    for t in texts:
        for w in _words(probe, t):
            if w not in vocab:
                counts[w] += 1
    for w, c in sorted(counts.items(), key=lambda x: (-x[1], x[0])):
        if c >= MIN_WORD_COUNT and all(ord(ch) < 0x2E80 for ch in w):
            vocab[w] = len(vocab)
    tok = _pipeline(Tokenizer(models.WordLevel(vocab, unk_token="[UNK]")))
    assert tok.token_to_id("[PAD]") == PAD_ID and tok.token_to_id("[UNK]") == UNK_ID
    tok.no_padding()
    tok.no_truncation()
    return tok


def punctuation_range():
    """Token ids [first, end) that are punctuation."""
    return 2, 2 + len(PUNCTUATION)
