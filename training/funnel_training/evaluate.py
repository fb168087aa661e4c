"""Held-out metrics."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, confusion_matrix, f1_score, roc_auc_score


def ece(pred, target, bins: int = 10) -> float:
    """Expected calibration error with equal-width bins on the prediction:
    sum_b n_b/N * |mean(pred in b) - mean(target in b)|.  target may be labels or p*."""
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    idx = np.minimum((pred * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(pred) * abs(pred[m].mean() - target[m].mean())
    return float(total)


def binary_metrics(prob, y, p_star=None) -> dict:
    out = {"roc_auc": float(roc_auc_score(y, prob)), "pr_auc": float(average_precision_score(y, prob)),
           "ece_vs_labels": ece(prob, y), "base_rate": float(np.mean(y))}
    if p_star is not None:
        out.update({"roc_auc_oracle": float(roc_auc_score(y, p_star)),
                    "pr_auc_oracle": float(average_precision_score(y, p_star)),
                    "ece_vs_p_star": ece(prob, p_star),
                    "ece_oracle_vs_labels": ece(p_star, y)})
    return out


def intent_metrics(probs, y_true, n_classes: int) -> dict:
    pred = np.asarray(probs).argmax(axis=1)
    return {"intent_macro_f1": float(f1_score(y_true, pred, average="macro", labels=list(range(n_classes)))),
            "intent_accuracy": float(np.mean(pred == np.asarray(y_true))),
            "intent_confusion": confusion_matrix(y_true, pred, labels=list(range(n_classes))).tolist()}


def bucket_metrics(prob, y, high: float, medium: float) -> dict:
    prob = np.asarray(prob)
    y = np.asarray(y, dtype=float)
    out = {}
    for name, m in (("high", prob >= high), ("medium", (prob >= medium) & (prob < high)), ("low", prob < medium)):
        out[name] = {"share": float(m.mean()), "conversion_rate": float(y[m].mean()) if m.any() else 0.0,
                     "count": int(m.sum())}
    return out
