"""Text model: hashed unigram + bigram bag of token ids -> linear heads.

Features of a call with real token ids t_0..t_{n-1} (after truncation, n >= 0):
  unigram column  t_i                                  (i = 0..n-1)
  bigram column   V + ((t_i * 1000003 + t_{i+1}) mod B)   (i = 0..n-2)
each with value 1/sqrt(max(n, 1)).  Seven linear heads share these features:
columns 0..5 are the intent logits (softmax -> intent_probabilities), column 6
is text_logit (a text-only conversion logit).

token_contributions[i] = s * (U[t_i] + 0.5 * Bg(t_{i-1}, t_i) + 0.5 * Bg(t_i, t_{i+1}))
for the text_logit head, so text_logit = text_bias + sum_i token_contributions[i].
"""
from __future__ import annotations

import numpy as np
import onnx
import scipy.sparse as sp
from onnx import TensorProto, helper, numpy_helper
from sklearn.linear_model import LogisticRegression

BIGRAM_MULT = 1_000_003
BIGRAM_BUCKETS = 1 << 17
N_HEADS = 7        # 6 intents + text_logit
OPSET = 17
IR_VERSION = 8


def hashed_matrix(ids_list, vocab_size: int, buckets: int = BIGRAM_BUCKETS) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for i, a in enumerate(ids_list):
        a = np.asarray(a, dtype=np.int64)
        n = len(a)
        s = 1.0 / np.sqrt(max(n, 1))
        c = np.concatenate([a, vocab_size + (a[:-1] * BIGRAM_MULT + a[1:]) % buckets]) if n else a
        rows.append(np.full(len(c), i, dtype=np.int64))
        cols.append(c)
        vals.append(np.full(len(c), s))
    X = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(len(ids_list), vocab_size + buckets))
    X.sum_duplicates()
    return X


def train(X, y_intent, y_conv, c_intent: float, c_conv: float):
    """Returns W [V+B, 7] float32, bias [7] float32."""
    mi = LogisticRegression(C=c_intent, max_iter=400, tol=1e-5).fit(X, y_intent)
    mc = LogisticRegression(C=c_conv, max_iter=400, tol=1e-5).fit(X, y_conv)
    W = np.concatenate([mi.coef_.T, mc.coef_.T], axis=1).astype(np.float32)
    b = np.concatenate([mi.intercept_, mc.intercept_]).astype(np.float32)
    return W, b


def forward_numpy(W, b, ids_list, vocab_size):
    """Reference implementation (float64) of the ONNX graph, per call."""
    B = W.shape[0] - vocab_size
    probs, logits, contribs = [], [], []
    for a in ids_list:
        a = np.asarray(a, dtype=np.int64)
        n = len(a)
        s = 1.0 / np.sqrt(max(n, 1))
        c = W[a].astype(np.float64)
        if n > 1:
            bg = 0.5 * W[vocab_size + (a[:-1] * BIGRAM_MULT + a[1:]) % B].astype(np.float64)
            c[:-1] += bg
            c[1:] += bg
        c *= s
        z = b.astype(np.float64) + c.sum(axis=0)
        e = np.exp(z[:6] - z[:6].max())
        probs.append(e / e.sum())
        logits.append(z[6])
        contribs.append(c[:, 6])
    return probs, logits, contribs


def build_onnx(W, b, vocab_size: int, version: str) -> onnx.ModelProto:
    B = W.shape[0] - vocab_size
    W_uni = W[:vocab_size].astype(np.float32)
    W_bi = W[vocab_size:].astype(np.float32)
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    f32 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.float32), name)
    inits = [
        numpy_helper.from_array(W_uni, "W_unigram"), numpy_helper.from_array(W_bi, "W_bigram"),
        f32("bias", b), i64("zero1", [0]), i64("one1", [1]), i64("m1", [-1]), i64("big", [np.iinfo(np.int64).max]),
        i64("ax1", [1]), i64("ax2", [2]), i64("vmax", vocab_size - 1), i64("vmin", 0),
        i64("mult", BIGRAM_MULT), i64("buckets", B), f32("half", 0.5), f32("onef", 1.0),
        i64("pad_left", [0, 0, 0, 0, 1, 0]), i64("pad_right", [0, 1, 0, 0, 0, 0]),
        i64("heads6", [6]), i64("head_logit", 6),
    ]
    N = helper.make_node
    nodes = [
        N("Max", ["input_ids", "vmin"], ["ids_lo"]),
        N("Min", ["ids_lo", "vmax"], ["ids"]),
        N("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        N("Unsqueeze", ["maskf", "ax2"], ["mask3"]),
        # unigrams
        N("Gather", ["W_unigram", "ids"], ["uni_raw"], axis=0),              # [N,L,7]
        N("Mul", ["uni_raw", "mask3"], ["uni"]),
        # bigrams
        N("Slice", ["ids", "zero1", "m1", "ax1"], ["ids_a"]),                # [N,L-1]
        N("Slice", ["ids", "one1", "big", "ax1"], ["ids_b"]),
        N("Mul", ["ids_a", "mult"], ["ha"]),
        N("Add", ["ha", "ids_b"], ["hab"]),
        N("Mod", ["hab", "buckets"], ["hbi"], fmod=0),
        N("Gather", ["W_bigram", "hbi"], ["bi_raw"], axis=0),               # [N,L-1,7]
        N("Slice", ["maskf", "zero1", "m1", "ax1"], ["mask_a"]),
        N("Slice", ["maskf", "one1", "big", "ax1"], ["mask_b"]),
        N("Mul", ["mask_a", "mask_b"], ["mask_ab"]),
        N("Unsqueeze", ["mask_ab", "ax2"], ["mask_ab3"]),
        N("Mul", ["bi_raw", "mask_ab3"], ["bi_m"]),
        N("Mul", ["bi_m", "half"], ["bi_h"]),
        N("Pad", ["bi_h", "pad_left"], ["bi_left"], mode="constant"),      # pair (i, i+1) at i
        N("Pad", ["bi_h", "pad_right"], ["bi_right"], mode="constant"),    # pair (i-1, i) at i
        N("Add", ["uni", "bi_left"], ["c1"]),
        N("Add", ["c1", "bi_right"], ["c2"]),
        # 1/sqrt(max(n,1))
        N("ReduceSum", ["maskf", "ax1"], ["n_tok"], keepdims=1),            # [N,1]
        N("Max", ["n_tok", "onef"], ["n_tok1"]),
        N("Sqrt", ["n_tok1"], ["sqrt_n"]),
        N("Reciprocal", ["sqrt_n"], ["scale"]),
        N("Unsqueeze", ["scale", "ax2"], ["scale3"]),                       # [N,1,1]
        N("Mul", ["c2", "scale3"], ["contrib"]),                            # [N,L,7]
        N("ReduceSum", ["contrib", "ax1"], ["sums"], keepdims=0),           # [N,7]
        N("Add", ["sums", "bias"], ["logits"]),
        N("Slice", ["logits", "zero1", "heads6", "ax1"], ["intent_logits"]),
        N("Softmax", ["intent_logits"], ["intent_probabilities"], axis=-1),
        N("Gather", ["logits", "head_logit"], ["text_logit"], axis=1),
        N("Gather", ["contrib", "head_logit"], ["token_contributions"], axis=2),
    ]
    graph = helper.make_graph(
        nodes, "funnel_text",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", "L"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["N", "L"])],
        [helper.make_tensor_value_info("intent_probabilities", TensorProto.FLOAT, ["N", 6]),
         helper.make_tensor_value_info("text_logit", TensorProto.FLOAT, ["N"]),
         helper.make_tensor_value_info("token_contributions", TensorProto.FLOAT, ["N", "L"])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="funnel-training", producer_version=version,
                              doc_string="funnel text model: hashed unigram+bigram linear heads")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def pad_batch(ids_list, min_len: int = 1):
    L = max([len(a) for a in ids_list] + [min_len])
    ids = np.zeros((len(ids_list), L), dtype=np.int64)
    mask = np.zeros((len(ids_list), L), dtype=np.int64)
    for i, a in enumerate(ids_list):
        ids[i, :len(a)] = a
        mask[i, :len(a)] = 1
    return ids, mask


def run_onnx(session, ids_list, batch: int = 512):
    """Runs the text model in batches padded to each batch's max length."""
    probs, logits, contribs = [], [], []
    for s in range(0, len(ids_list), batch):
        chunk = ids_list[s:s + batch]
        ids, mask = pad_batch(chunk)
        p, z, c = session.run(None, {"input_ids": ids, "attention_mask": mask})
        probs.append(p)
        logits.append(z)
        contribs.extend(c[i, :len(a)] for i, a in enumerate(chunk))
    return np.concatenate(probs), np.concatenate(logits), contribs
