"""Text model: presence of customer n-grams (features.py) -> eight linear heads.

A call's input is the list of its distinct feature indices f_0..f_{n-1} (n >= 1: a call whose
customer said nothing readable gets the reserved feature 0). Every feature has value
s = 1/sqrt(n). Heads (columns of W): 0..5 intent logits (softmax -> intent_probabilities),
6 text_logit (a text-only conversion logit), 7 the do-not-contact logit (sigmoid ->
do_not_contact). feature_contributions[i] = s * W[f_i, 6], so
text_logit = text_bias + sum_i feature_contributions[i].
"""
from __future__ import annotations

import numpy as np
import onnx
import scipy.sparse as sp
from onnx import TensorProto, helper, numpy_helper
from sklearn.linear_model import LogisticRegression

N_HEADS = 8        # 6 intents + text_logit + do_not_contact
OPSET = 17
IR_VERSION = 8


def matrix(feature_lists, n_features: int) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for i, f in enumerate(feature_lists):
        s = 1.0 / np.sqrt(max(len(f), 1))
        rows.append(np.full(len(f), i, dtype=np.int64))
        cols.append(np.asarray(f, dtype=np.int64))
        vals.append(np.full(len(f), s))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(len(feature_lists), n_features))


def train(X, y_intent, y_conv, y_dnc, c_intent: float, c_conv: float, c_dnc: float):
    """Returns W [K, 8] float32, bias [8] float32."""
    mi = LogisticRegression(C=c_intent, max_iter=1000, tol=1e-5).fit(X, y_intent)
    mc = LogisticRegression(C=c_conv, max_iter=1000, tol=1e-5).fit(X, y_conv)
    md = LogisticRegression(C=c_dnc, max_iter=1000, tol=1e-5, class_weight={0: 1.0, 1: 1.5}).fit(X, y_dnc)
    W = np.concatenate([mi.coef_.T, mc.coef_.T, md.coef_.T], axis=1).astype(np.float32)
    b = np.concatenate([mi.intercept_, mc.intercept_, md.intercept_]).astype(np.float32)
    return W, b


def forward_numpy(W, b, feature_lists):
    """Reference implementation (float64) of the ONNX graph, per call."""
    probs, logits, dnc, contribs = [], [], [], []
    for f in feature_lists:
        f = np.asarray(f, dtype=np.int64)
        s = 1.0 / np.sqrt(max(len(f), 1))
        c = W[f].astype(np.float64) * s
        z = b.astype(np.float64) + c.sum(axis=0)
        e = np.exp(z[:6] - z[:6].max())
        probs.append(e / e.sum())
        logits.append(z[6])
        dnc.append(1.0 / (1.0 + np.exp(-z[7])))
        contribs.append(c[:, 6])
    return probs, logits, dnc, contribs


def build_onnx(W, b, version: str) -> onnx.ModelProto:
    K = W.shape[0]
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    f32 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.float32), name)
    inits = [
        numpy_helper.from_array(W.astype(np.float32), "W"), f32("bias", b),
        i64("zero1", [0]), i64("ax1", [1]), i64("ax2", [2]), i64("kmax", K - 1), i64("kmin", 0),
        f32("onef", 1.0), i64("heads6", [6]), i64("head_logit", 6), i64("head_dnc", 7),
    ]
    N = helper.make_node
    nodes = [
        N("Max", ["feature_ids", "kmin"], ["ids_lo"]),
        N("Min", ["ids_lo", "kmax"], ["ids"]),
        N("Cast", ["feature_mask"], ["maskf"], to=TensorProto.FLOAT),
        N("Unsqueeze", ["maskf", "ax2"], ["mask3"]),
        N("Gather", ["W", "ids"], ["w_raw"], axis=0),                       # [N,L,8]
        N("Mul", ["w_raw", "mask3"], ["w_m"]),
        N("ReduceSum", ["maskf", "ax1"], ["n_feat"], keepdims=1),           # [N,1]
        N("Max", ["n_feat", "onef"], ["n_feat1"]),
        N("Sqrt", ["n_feat1"], ["sqrt_n"]),
        N("Reciprocal", ["sqrt_n"], ["scale"]),
        N("Unsqueeze", ["scale", "ax2"], ["scale3"]),                       # [N,1,1]
        N("Mul", ["w_m", "scale3"], ["contrib"]),                           # [N,L,8]
        N("ReduceSum", ["contrib", "ax1"], ["sums"], keepdims=0),           # [N,8]
        N("Add", ["sums", "bias"], ["logits"]),
        N("Slice", ["logits", "zero1", "heads6", "ax1"], ["intent_logits"]),
        N("Softmax", ["intent_logits"], ["intent_probabilities"], axis=-1),
        N("Gather", ["logits", "head_logit"], ["text_logit"], axis=1),
        N("Gather", ["logits", "head_dnc"], ["dnc_logit"], axis=1),
        N("Sigmoid", ["dnc_logit"], ["do_not_contact"]),
        N("Gather", ["contrib", "head_logit"], ["feature_contributions"], axis=2),
    ]
    graph = helper.make_graph(
        nodes, "funnel_text",
        [helper.make_tensor_value_info("feature_ids", TensorProto.INT64, ["N", "L"]),
         helper.make_tensor_value_info("feature_mask", TensorProto.INT64, ["N", "L"])],
        [helper.make_tensor_value_info("intent_probabilities", TensorProto.FLOAT, ["N", 6]),
         helper.make_tensor_value_info("text_logit", TensorProto.FLOAT, ["N"]),
         helper.make_tensor_value_info("do_not_contact", TensorProto.FLOAT, ["N"]),
         helper.make_tensor_value_info("feature_contributions", TensorProto.FLOAT, ["N", "L"])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="funnel-training", producer_version=version,
                              doc_string="funnel text model: customer n-gram presence -> linear heads")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def pad_batch(feature_lists, min_len: int = 1):
    L = max([len(a) for a in feature_lists] + [min_len])
    ids = np.zeros((len(feature_lists), L), dtype=np.int64)
    mask = np.zeros((len(feature_lists), L), dtype=np.int64)
    for i, a in enumerate(feature_lists):
        ids[i, :len(a)] = a
        mask[i, :len(a)] = 1
    return ids, mask


def run_onnx(session, feature_lists, batch: int = 512):
    """Runs the text model in batches padded to each batch's max length."""
    probs, logits, dnc, contribs = [], [], [], []
    for s in range(0, len(feature_lists), batch):
        chunk = feature_lists[s:s + batch]
        ids, mask = pad_batch(chunk)
        p, z, d, c = session.run(None, {"feature_ids": ids, "feature_mask": mask})
        probs.append(p)
        logits.append(z)
        dnc.append(d)
        contribs.extend(c[i, :len(a)] for i, a in enumerate(chunk))
    return np.concatenate(probs), np.concatenate(logits), np.concatenate(dnc), contribs
