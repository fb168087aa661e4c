"""Tabular model: an additive logistic scorecard (GAM).

Each input feature j is expanded into basis columns, all in [0, 1]:
  step  1[x_j >= t]                       (piecewise-constant shapes for ints)
  eq    1[x_j == code]                    (one-hot categories)
  ramp  clip((x_j - lo) / (hi - lo), 0, 1) (piecewise-linear shapes; slope per segment)
A logistic regression (sklearn, L2) on these columns gives
  logit = intercept + sum_j f_j(x_j),  f_j = sum of its columns * weights.
For features declared monotone increasing, columns with negative weight are
removed one at a time (the most negative first) and the model is refitted until
all their weights are >= 0 (a step/segment with weight 0 merges into its
neighbour), so f_j is non-decreasing.

Exported contributions are f_j(x_j) - f_j(baseline_j), so
  logit(probability) = baseline_logit + sum_j contributions_j,
  baseline_logit = intercept + sum_j f_j(baseline_j).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.linear_model import LogisticRegression

from .schema import CATEGORIES, FEATURES

OPSET = 17
IR_VERSION = 8

# knots / thresholds per feature; text_logit knots are data-driven (quantiles)
SHAPES = {
    "aum_band": ("step", [1, 2, 3, 4, 5]),
    "age_band": ("step", [1, 2, 3, 4, 5]),
    "tenure_years": ("ramp", [0, 2, 5, 10, 20, 60]),
    "products_held": ("step", [1, 2, 3, 4, 5, 6, 8, 10]),
    "digital_logins_30d": ("ramp", [0, 1, 3, 6, 10, 20, 40, 80, 150, 300]),
    "past_campaign_contacts": ("ramp", [0, 1, 2, 4, 8, 15, 30, 100]),
    "past_campaign_responses": ("step", [1, 2, 3, 4, 6, 9]),
    "risk_assessment": ("eq", None),
    "duration_s": ("ramp", [0, 30, 60, 90, 120, 180, 300, 3600]),
    "hour_of_day": ("step", [9, 12, 14, 19, 22]),
    "channel": ("eq", None),
    "turn_count": ("ramp", [1, 3, 5, 8, 12, 20, 40, 500]),
    "product": ("eq", None),
    **{"intent_" + k: ("ramp", [0, 0.5, 1.0])
       for k in ["interested", "asks_for_human", "call_back_later", "not_interested", "complaint", "no_answer"]},
    "text_logit": ("ramp", None),
}
TEXT_LOGIT_QUANTILES = [0.02, 0.10, 0.25, 0.50, 0.75, 0.90, 0.98]


def make_basis(text_logits_train):
    """List of basis columns: (kind, feature index, a, b). step: a=t; eq: a=code; ramp: a=lo, b=hi."""
    cols = []
    for j, spec in enumerate(FEATURES):
        name = spec[0]
        kind, knots = SHAPES[name]
        if name == "text_logit":
            q = np.quantile(text_logits_train, TEXT_LOGIT_QUANTILES)
            inner = sorted(set(round(float(v), 2) for v in q if -49 < v < 49))
            knots = [-50.0] + inner + [50.0]
        if kind == "step":
            cols += [("step", j, float(t), 0.0) for t in knots]
        elif kind == "eq":
            cols += [("eq", j, float(c), 0.0) for c in range(len(CATEGORIES[name]))]
        else:
            cols += [("ramp", j, float(lo), float(hi)) for lo, hi in zip(knots[:-1], knots[1:])]
    return cols


def expand(X, cols):
    X = np.asarray(X, dtype=np.float32)
    Z = np.empty((X.shape[0], len(cols)), dtype=np.float64)
    for k, (kind, j, a, b) in enumerate(cols):
        x = X[:, j]
        if kind == "step":
            Z[:, k] = x >= np.float32(a)
        elif kind == "eq":
            Z[:, k] = x == np.float32(a)
        else:
            # same float32 arithmetic as the graph: (x - lo) * (1/(hi-lo)), clipped
            Z[:, k] = np.clip((x - np.float32(a)) * np.float32(1.0 / (b - a)), 0, 1)
    return Z


def fit(X, y, text_logits_train, C: float = 1.0):
    cols = make_basis(text_logits_train)
    mono = {j for j, spec in enumerate(FEATURES) if spec[7] == "increasing"}
    Z = expand(X, cols)
    active = list(range(len(cols)))
    dropped = []
    while True:
        m = LogisticRegression(C=C, max_iter=2000, tol=1e-8).fit(Z[:, active], y)
        w = m.coef_[0]
        neg = [(w[i], k) for i, k in enumerate(active) if cols[k][1] in mono and w[i] < 0]
        if not neg:
            break
        worst = min(neg)[1]
        active.remove(worst)
        dropped.append(cols[worst])
    weights = np.zeros(len(cols))
    weights[active] = w
    return cols, weights, float(m.intercept_[0]), dropped


def contributions_numpy(X, cols, weights, baseline_row):
    Z = expand(X, cols)
    Zb = expand(np.asarray([baseline_row]), cols)[0]
    F = len(FEATURES)
    Wm = np.zeros((len(cols), F))
    for k, c in enumerate(cols):
        Wm[k, c[1]] = weights[k]
    return Z @ Wm - Zb @ Wm, Zb @ Wm


def build_onnx(cols, weights, intercept, baseline_row, version: str):
    F = len(FEATURES)
    groups = {"step": [], "eq": [], "ramp": []}
    for k, c in enumerate(cols):
        groups[c[0]].append(k)
    order = groups["step"] + groups["eq"] + groups["ramp"]
    Wm = np.zeros((len(order), F), dtype=np.float64)
    for r, k in enumerate(order):
        Wm[r, cols[k][1]] = weights[k]
    Zb = expand(np.asarray([baseline_row]), [cols[k] for k in order])[0]
    c0 = (Zb @ Wm).astype(np.float32)        # f_j(baseline_j)
    baseline_logit = float(np.float32(intercept + float(Zb @ Wm.sum(axis=1))))
    sel = lambda g, f: np.array([f(cols[k]) for k in groups[g]])
    inits = [
        numpy_helper.from_array(sel("step", lambda c: c[1]).astype(np.int64), "step_cols"),
        numpy_helper.from_array(sel("step", lambda c: c[2]).astype(np.float32), "step_thr"),
        numpy_helper.from_array(sel("eq", lambda c: c[1]).astype(np.int64), "eq_cols"),
        numpy_helper.from_array(sel("eq", lambda c: c[2]).astype(np.float32), "eq_codes"),
        numpy_helper.from_array(sel("ramp", lambda c: c[1]).astype(np.int64), "ramp_cols"),
        numpy_helper.from_array(sel("ramp", lambda c: c[2]).astype(np.float32), "ramp_lo"),
        numpy_helper.from_array(sel("ramp", lambda c: 1.0 / (c[3] - c[2])).astype(np.float32), "ramp_inv_width"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(Wm.astype(np.float32), "shape_weights"),
        numpy_helper.from_array(c0, "baseline_shape"),
        numpy_helper.from_array(np.array(baseline_logit, dtype=np.float32), "baseline_logit"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "ax1"),
    ]
    N = helper.make_node
    nodes = [
        N("Gather", ["features", "step_cols"], ["xs"], axis=1),
        N("GreaterOrEqual", ["xs", "step_thr"], ["sb"]),
        N("Cast", ["sb"], ["S"], to=TensorProto.FLOAT),
        N("Gather", ["features", "eq_cols"], ["xe"], axis=1),
        N("Equal", ["xe", "eq_codes"], ["eb"]),
        N("Cast", ["eb"], ["E"], to=TensorProto.FLOAT),
        N("Gather", ["features", "ramp_cols"], ["xr"], axis=1),
        N("Sub", ["xr", "ramp_lo"], ["r1"]),
        N("Mul", ["r1", "ramp_inv_width"], ["r2"]),
        N("Max", ["r2", "zero"], ["r3"]),
        N("Min", ["r3", "one"], ["R"]),
        N("Concat", ["S", "E", "R"], ["Z"], axis=1),
        N("MatMul", ["Z", "shape_weights"], ["shape"]),
        N("Sub", ["shape", "baseline_shape"], ["contributions"]),
        N("ReduceSum", ["contributions", "ax1"], ["csum"], keepdims=0),
        N("Add", ["csum", "baseline_logit"], ["logit"]),
        N("Sigmoid", ["logit"], ["probability"]),
    ]
    graph = helper.make_graph(
        nodes, "funnel_tabular",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", F])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N"]),
         helper.make_tensor_value_info("contributions", TensorProto.FLOAT, ["N", F])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="funnel-training", producer_version=version,
                              doc_string="funnel tabular scorecard (additive logistic GAM)")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model, baseline_logit


def shape_table(cols, weights, baseline_row):
    """Per feature: the knots and f_j(x) - f_j(baseline) at each knot (for the model card / manifest)."""
    out = {}
    for j, spec in enumerate(FEATURES):
        mine = [(c, w) for c, w in zip(cols, weights) if c[1] == j]
        if mine[0][0][0] == "eq":
            xs = [c[2] for c, _ in mine]
        elif mine[0][0][0] == "step":
            xs = sorted(set([spec[3] if spec[3] is not None else 0] + [c[2] for c, _ in mine]))
        else:
            xs = sorted(set([c[2] for c, _ in mine] + [mine[-1][0][3]]))
        pts = []
        for x in xs:
            row = list(baseline_row)
            row[j] = x
            cb, _ = contributions_numpy(np.asarray([row]), cols, weights, baseline_row)
            pts.append([round(float(x), 4), round(float(cb[0, j]), 4)])
        out[spec[0]] = pts
    return out
