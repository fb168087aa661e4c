"""CJK-aware BPE tokenizer (HF tokenizers), trained on rendered transcripts.

normalizer:    NFKC, Lowercase
pre-tokenizer: WhitespaceSplit, Punctuation(isolated), Digits(individual_digits=False)
               -> runs of CJK characters stay together (BPE learns words/phrases),
               full-width punctuation (，。？！：) splits because it is Unicode punctuation.
model:         BPE, [PAD]=0, [UNK]=1, no post-processor, no padding/truncation in the file.
"""
from __future__ import annotations

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from .schema import PAD_ID, UNK_ID


def build_untrained() -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Punctuation(behavior="isolated"),
        pre_tokenizers.Digits(individual_digits=False),
    ])
    return tok


def train_tokenizer(texts, vocab_size: int = 8000) -> Tokenizer:
    tok = build_untrained()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=3, show_progress=False,
                                  special_tokens=["[PAD]", "[UNK]"])
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    assert tok.token_to_id("[PAD]") == PAD_ID and tok.token_to_id("[UNK]") == UNK_ID
    tok.no_padding()
    tok.no_truncation()
    return tok
