//! Reasons: lexicon hits first, then the strongest features and phrases
//! each way. Phrases are rebuilt from the customer's tokens and the n-gram
//! features' exact shares of `text_logit` (no offsets needed).

use super::lexicon::LexiconHit;
use super::text::CallText;
use crate::domain::{Reason, ReasonKind};
use std::collections::HashMap;

/// Up to `k` reasons pushing up and `k` pushing down, for features and for
/// phrases, strongest first whichever way they push.
pub(super) fn select(all: &[Reason], k: usize) -> Vec<Reason> {
    let mut chosen = Vec::with_capacity(4 * k);
    for kind in [ReasonKind::Feature, ReasonKind::Phrase] {
        let mut up: Vec<&Reason> = all
            .iter()
            .filter(|r| r.kind == kind && r.weight > 0.0)
            .collect();
        let mut down: Vec<&Reason> = all
            .iter()
            .filter(|r| r.kind == kind && r.weight < 0.0)
            .collect();
        up.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.name.cmp(&b.name))
        });
        down.sort_by(|a, b| {
            a.weight
                .total_cmp(&b.weight)
                .then_with(|| a.name.cmp(&b.name))
        });
        chosen.extend(up.into_iter().take(k).cloned());
        chosen.extend(down.into_iter().take(k).cloned());
    }
    // Strongest first, whichever way they push.
    chosen.sort_by(|a, b| {
        b.weight
            .abs()
            .total_cmp(&a.weight.abs())
            .then_with(|| a.name.cmp(&b.name))
    });
    chosen
}

/// Phrase reasons from the features' shares of `text_logit` (see `reasons`).
pub(super) fn phrases(
    text: &CallText,
    feature_contrib: &[f32],
    slope: f64,
    vocab: &[String],
    unk: u32,
) -> Vec<Reason> {
    let mut per_token: Vec<Vec<f64>> = text.tokens.iter().map(|t| vec![0.0; t.len()]).collect();
    for (feature, w) in text.features.iter().zip(feature_contrib) {
        if feature.order == 0 || *w == 0.0 {
            continue;
        }
        let n = usize::from(feature.order);
        let share = *w as f64 * slope / n as f64;
        if let Some(turn) = per_token.get_mut(feature.turn as usize) {
            let end = feature.end as usize;
            for p in (end + 1).saturating_sub(n)..=end.min(turn.len().saturating_sub(1)) {
                turn[p] += share;
            }
        }
    }
    let mut phrases: HashMap<String, f64> = HashMap::new();
    for (t, weights) in per_token.iter().enumerate() {
        let tokens = &text.tokens[t];
        let starts = &text.clause_starts[t];
        let mut p = 0;
        while p < tokens.len() {
            let sign = weights[p].signum();
            if weights[p] == 0.0 || tokens[p] == unk {
                p += 1;
                continue;
            }
            let mut q = p + 1;
            while q < tokens.len()
                && q - p < PHRASE_MAX_TOKENS
                && tokens[q] != unk
                && weights[q] != 0.0
                && weights[q].signum() == sign
                && !starts.contains(&(q as u32))
            {
                q += 1;
            }
            let name = join_tokens(vocab, &tokens[p..q]);
            if name.chars().any(char::is_alphanumeric) {
                *phrases.entry(name).or_default() += weights[p..q].iter().sum::<f64>();
            }
            p = q;
        }
    }
    phrases
        .into_iter()
        .map(|(name, weight)| Reason {
            kind: ReasonKind::Phrase,
            name,
            value: String::new(),
            weight,
        })
        .collect()
}

/// Token strings joined as they are written: a space only between two
/// non-CJK tokens.
fn join_tokens(vocab: &[String], ids: &[u32]) -> String {
    let mut out = String::new();
    let mut prev_cjk = true;
    for &id in ids {
        let tok = vocab.get(id as usize).map_or("", String::as_str);
        let cjk = tok.chars().next().is_some_and(is_cjk);
        if !out.is_empty() && !cjk && !prev_cjk {
            out.push(' ');
        }
        out.push_str(tok);
        prev_cjk = cjk;
    }
    out
}

/// The longest phrase reason, in tokens.
const PHRASE_MAX_TOKENS: usize = 8;

fn is_cjk(c: char) -> bool {
    ('\u{2E80}'..='\u{9FFF}').contains(&c) || ('\u{F900}'..='\u{FAFF}').contains(&c)
}

/// Lexicon hits as reasons: they decide the route, not the probability
/// (weight 0), and come first.
pub(super) fn lexicon_reasons(hits: &[LexiconHit]) -> Vec<Reason> {
    hits.iter()
        .map(|h| Reason {
            kind: ReasonKind::Lexicon,
            name: h.pattern.clone(),
            value: h.rule.clone(),
            weight: 0.0,
        })
        .collect()
}
