//! The raw outputs of both models, as the parity test compares them with
//! Python onnxruntime (golden fixtures).

use super::*;

impl Models {
    /// The raw model outputs for one batch (for the parity test).
    pub fn raw_outputs(&mut self, reqs: &[ScoreRequest]) -> Result<Vec<RawOutputs>, ScoringError> {
        let mut ok = Vec::with_capacity(reqs.len());
        let mut token_ids = Vec::with_capacity(reqs.len());
        for (i, req) in reqs.iter().enumerate() {
            let prepared = prepare(&self.manifest, req)?;
            let (texts, _) = customer_texts(
                customer_turns(&req.turns),
                self.manifest.transcript.max_chars,
            );
            let mut full = Vec::with_capacity(texts.len());
            for text in texts {
                let enc = self
                    .tokenizer
                    .encode_fast(text, false)
                    .map_err(|e| ScoringError::Runtime(e.to_string()))?;
                full.push(enc.get_ids().to_vec());
            }
            token_ids.push(full);
            let (turns, cut) = self.tokenize(req)?;
            ok.push(Item {
                index: i,
                prepared,
                text: self.table.features(&turns, cut),
                hits: self.lexicon.match_turns(customer_turns(&req.turns)),
            });
        }
        let fw = self.forward(&ok, &mut StageTimes::default())?;
        let (len, k, f) = (fw.len, fw.k, fw.f);
        Ok(ok
            .iter()
            .zip(token_ids)
            .enumerate()
            .map(|(r, (it, ids))| {
                let l = it.text.features.len();
                RawOutputs {
                    customer_token_ids: ids,
                    feature_ids: it
                        .text
                        .features
                        .iter()
                        .map(|f| i64::from(f.index))
                        .collect(),
                    truncated: it.text.truncated,
                    intent_probabilities: fw.intents[r * k..(r + 1) * k].to_vec(),
                    text_logit: fw.text_logit[r],
                    do_not_contact: fw.dnc[r],
                    feature_contributions: fw.feature_contrib[r * len..r * len + l].to_vec(),
                    tabular_input: fw.rows.row(r).to_vec(),
                    probability: fw.prob[r],
                    contributions: fw.contrib[r * f..(r + 1) * f].to_vec(),
                    lexicon_hits: it.hits.clone(),
                }
            })
            .collect())
    }
}

/// Every model output for one input, as the parity test compares them.
#[derive(Debug, Clone)]
pub struct RawOutputs {
    /// Per customer turn (cut to max_chars), every token id.
    pub customer_token_ids: Vec<Vec<u32>>,
    pub feature_ids: Vec<i64>,
    pub truncated: bool,
    pub intent_probabilities: Vec<f32>,
    pub text_logit: f32,
    pub do_not_contact: f32,
    pub feature_contributions: Vec<f32>,
    pub tabular_input: Vec<f32>,
    pub probability: f32,
    pub contributions: Vec<f32>,
    pub lexicon_hits: Vec<LexiconHit>,
}
