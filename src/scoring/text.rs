//! The text model's input: the distinct known n-grams of the customer's
//! turns (the contract in `manifest.text_features`, implemented in Python by
//! `training/funnel_training/features.py`; the golden fixtures check both).
//!
//! Each customer turn is tokenized alone (`encode_fast`: no offsets needed);
//! punctuation ids are dropped so n-grams bridge them; `[UNK]` breaks the
//! chain; every run of 1..=`ngram_max` consecutive ids inside the turn is an
//! n-gram, packed as `Σ (id_j + 1) << (id_bits · j)`; its feature index is
//! its position in `ngrams.bin`. Each feature counts once, in order of first
//! occurrence; a call with none gets the reserved feature `empty_feature`.

use super::manifest::TextFeatureSpec;
use super::ScoringError;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A multiply-xorshift hasher for the table's u64 keys (they are not
/// attacker-chosen; SipHash would double the lookup cost).
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }
}

type KeyMap = HashMap<u64, u32, BuildHasherDefault<KeyHasher>>;
type IndexSet = HashSet<u32, BuildHasherDefault<KeyHasher>>;

/// The n-gram table and the rules to read a turn.
pub struct NgramTable {
    index: KeyMap,
    spec: TextFeatureSpec,
    len: usize,
}

/// One feature of a call: its index and where it first occurred (for
/// phrase reasons): the customer turn, the position of its last token in that
/// turn's kept tokens, and its order n.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feature {
    pub index: u32,
    pub turn: u32,
    pub end: u32,
    pub order: u8,
}

/// A call's text input.
#[derive(Debug, Clone, Default)]
pub struct CallText {
    pub features: Vec<Feature>,
    /// Per customer turn, the kept token ids (punctuation dropped, `[UNK]` kept
    /// as a gap), for rebuilding phrases.
    pub tokens: Vec<Vec<u32>>,
    /// Per customer turn, where its clauses (runs between punctuation) start,
    /// as positions in `tokens`.
    pub clause_starts: Vec<Vec<u32>>,
    /// Customer speech was cut (characters or tokens).
    pub truncated: bool,
}

impl NgramTable {
    /// Reads `ngrams.bin` (sorted little-endian u64 keys).
    pub fn from_bytes(bytes: &[u8], spec: TextFeatureSpec) -> Result<Self, ScoringError> {
        let bad = |msg: String| ScoringError::Manifest {
            file: "ngrams.bin".into(),
            msg,
        };
        if bytes.len() % 8 != 0 || bytes.is_empty() {
            return Err(bad(format!(
                "{} bytes is not a list of u64 keys",
                bytes.len()
            )));
        }
        let mut index = KeyMap::with_capacity_and_hasher(bytes.len() / 8, Default::default());
        let mut last = None;
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            let key = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            if last.is_some_and(|l| key <= l) {
                return Err(bad(format!(
                    "keys are not strictly increasing at entry {i}"
                )));
            }
            last = Some(key);
            index.insert(key, i as u32);
        }
        if index.get(&0) != Some(&(spec.empty_feature as u32)) {
            return Err(bad("the reserved key 0 is not the empty feature".into()));
        }
        let len = index.len();
        Ok(Self { index, spec, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn is_punct(&self, id: u32) -> bool {
        let [lo, hi] = self.spec.punctuation_ids;
        (lo..hi).contains(&id)
    }

    /// The features of a call from its customer turns' token ids (already cut
    /// to the token budget).
    pub fn features(&self, turns: &[Vec<u32>], truncated: bool) -> CallText {
        let nmax = self.spec.ngram_max.max(1);
        let bits = self.spec.id_bits;
        let unk = self.spec.unk_id;
        let mut seen = IndexSet::with_capacity_and_hasher(256, Default::default());
        let mut out = CallText {
            features: Vec::with_capacity(128),
            tokens: Vec::with_capacity(turns.len()),
            clause_starts: Vec::with_capacity(turns.len()),
            truncated,
        };
        for (t, ids) in turns.iter().enumerate() {
            let mut kept = Vec::with_capacity(ids.len());
            let mut clauses = vec![0u32];
            let mut run = 0usize; // length of the current chain of known tokens
            for &id in ids {
                if self.is_punct(id) {
                    if clauses.last() != Some(&(kept.len() as u32)) {
                        clauses.push(kept.len() as u32);
                    }
                    continue;
                }
                kept.push(id);
                if id == unk {
                    run = 0;
                    continue;
                }
                run += 1;
                let end = kept.len() - 1;
                for n in 1..=nmax.min(run) {
                    let mut key = 0u64;
                    for (j, &tok) in kept[end + 1 - n..=end].iter().enumerate() {
                        key |= (u64::from(tok) + 1) << (bits * j as u32);
                    }
                    if let Some(&index) = self.index.get(&key) {
                        if seen.insert(index) {
                            out.features.push(Feature {
                                index,
                                turn: t as u32,
                                end: end as u32,
                                order: n as u8,
                            });
                        }
                    }
                }
            }
            out.tokens.push(kept);
            out.clause_starts.push(clauses);
        }
        if out.features.is_empty() {
            out.features.push(Feature {
                index: self.spec.empty_feature as u32,
                turn: 0,
                end: 0,
                order: 0,
            });
        }
        out
    }
}

/// The customer's turn texts, cut to `max_chars` characters in total (the
/// crossing turn is cut, later ones dropped). Returns (texts, cut).
pub fn customer_texts<'a>(
    turns: impl IntoIterator<Item = &'a str>,
    max_chars: usize,
) -> (Vec<&'a str>, bool) {
    let mut out = Vec::new();
    let mut left = max_chars;
    for text in turns {
        let n = text.chars().count();
        if n > left {
            if left > 0 {
                let cut = text.char_indices().nth(left).map_or(text.len(), |(i, _)| i);
                out.push(&text[..cut]);
            }
            return (out, true);
        }
        out.push(text);
        left -= n;
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: TextFeatureSpec = TextFeatureSpec {
        ngram_max: 3,
        id_bits: 21,
        unk_id: 1,
        punctuation_ids: [2, 10],
        empty_feature: 0,
    };

    fn bytes(keys: &[u64]) -> Vec<u8> {
        keys.iter().flat_map(|k| k.to_le_bytes()).collect()
    }

    fn table(keys: &[u64]) -> NgramTable {
        NgramTable::from_bytes(&bytes(keys), SPEC).unwrap()
    }

    fn key(ids: &[u32]) -> u64 {
        ids.iter()
            .enumerate()
            .map(|(j, &t)| (u64::from(t) + 1) << (21 * j))
            .sum()
    }

    #[test]
    fn presence_bridges_punctuation_and_unk_breaks_the_chain() {
        let mut keys = vec![0, key(&[20]), key(&[21]), key(&[20, 21]), key(&[21, 22])];
        keys.sort_unstable();
        let t = table(&keys);
        let once = t.features(&[vec![20, 5, 21, 20, 21]], false);
        let twice = t.features(&[vec![20, 5, 21, 20, 21], vec![20, 21]], false);
        let idx = |c: &CallText| c.features.iter().map(|f| f.index).collect::<Vec<_>>();
        assert_eq!(idx(&once), idx(&twice), "repetition adds nothing");
        assert!(
            idx(&once).contains(&3),
            "bigram bridges the punctuation id 5"
        );
        let gap = t.features(&[vec![21, 1, 22]], false);
        assert!(!idx(&gap).contains(&4), "[UNK] breaks the chain");
        assert_eq!(
            idx(&t.features(&[vec![99]], false)),
            vec![0],
            "nothing known"
        );
        assert_eq!(once.clause_starts[0], vec![0, 1]);
    }

    #[test]
    fn a_table_out_of_order_is_refused() {
        assert!(NgramTable::from_bytes(&bytes(&[0, 9, 5]), SPEC).is_err());
    }

    #[test]
    fn customer_text_is_cut_by_characters() {
        let (t, cut) = customer_texts(["你好呀", "abcdef"], 5);
        assert_eq!((t, cut), (vec!["你好呀", "ab"], true));
        let (t, cut) = customer_texts(["你好"], 5);
        assert_eq!((t, cut), (vec!["你好"], false));
    }
}
