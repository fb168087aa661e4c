//! The compliance lexicon (`models/lexicon.json`): phrases that, said by the
//! customer, decide the route whatever the model says. The same contract as
//! `training/funnel_training/lexicon.py` (golden fixtures check both agree):
//!
//! - normalisation: NFKC, lowercase; whitespace next to a non-ASCII
//!   character is removed, other runs of whitespace become one space, ends
//!   trimmed. Patterns are normalised the same way.
//! - an all-ASCII pattern matches at word boundaries (no ASCII letter or
//!   digit just before or after it); any other pattern matches anywhere.
//! - a rule is skipped on a turn that contains one of its `unless` patterns.
//! - only customer turns are read.
//!
//! At load every rule's `examples` must match it and no `must_not_match`
//! sentence may match the kinds it names, so a bad edit stops the server
//! with the rule's name instead of silently mis-routing calls.

use serde::Deserialize;
use std::collections::HashMap;
use tokenizers::normalizers::unicode::NFKC;
use tokenizers::{NormalizedString, Normalizer};

/// What a lexicon hit asks the routing policy to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LexiconKind {
    /// Service follow-up, no sales routing.
    Complaint,
    /// Route nothing.
    DoNotContact,
    /// At least medium.
    AsksForHuman,
}

impl LexiconKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Complaint => "complaint",
            Self::DoNotContact => "do_not_contact",
            Self::AsksForHuman => "asks_for_human",
        }
    }
}

/// One match: which rule, of which kind, and the pattern as written in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexiconHit {
    pub rule: String,
    pub kind: LexiconKind,
    pub pattern: String,
}

#[derive(Debug, Deserialize)]
struct RuleFile {
    id: String,
    kind: LexiconKind,
    patterns: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    examples: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct NegativeFile {
    text: String,
    #[serde(default)]
    kinds: Option<Vec<LexiconKind>>,
}

#[derive(Debug, Deserialize)]
struct LexiconFile {
    schema_version: u32,
    version: String,
    rules: Vec<RuleFile>,
    #[serde(default)]
    must_not_match: Vec<NegativeFile>,
}

struct Rule {
    id: String,
    kind: LexiconKind,
    /// (as written, pattern id)
    patterns: Vec<(String, usize)>,
    unless: Vec<usize>,
}

/// A loaded, checked lexicon.
pub struct Lexicon {
    pub version: String,
    rules: Vec<Rule>,
    /// Every distinct normalised pattern (rules' and `unless`).
    patterns: Vec<String>,
    /// Pattern ids by their first character: one pass over a turn finds them all.
    by_first: HashMap<char, Vec<usize>>,
}

/// NFKC for the characters Chinese and English calls are made of (ASCII,
/// CJK ideographs, full-width forms, common CJK punctuation), without
/// allocating alignments; `None` when another character needs the real NFKC.
fn nfkc_lower_fast(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\0'..='\x7f' => out.push(c.to_ascii_lowercase()),
            '\u{4E00}'..='\u{9FFF}'
            | '\u{3001}'
            | '\u{3002}'
            | '\u{300C}'..='\u{3011}'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{201C}'
            | '\u{201D}'
            | '\u{2014}'
            | '\u{00B7}' => out.push(c),
            '\u{FF01}'..='\u{FF5E}' => {
                let ascii = char::from_u32(c as u32 - 0xFEE0)?;
                out.push(ascii.to_ascii_lowercase());
            }
            '\u{3000}' => out.push(' '),
            _ => return None,
        }
    }
    Some(out)
}

/// NFKC, lowercase, whitespace folded (see the module doc).
pub fn normalise(text: &str) -> String {
    let folded = nfkc_lower_fast(text).unwrap_or_else(|| {
        let mut n = NormalizedString::from(text);
        // NFKC cannot fail on a valid string; keep the raw text if it ever did.
        if NFKC.normalize(&mut n).is_ok() {
            n.get().to_lowercase()
        } else {
            text.to_lowercase()
        }
    });
    let chars: Vec<char> = folded.chars().collect();
    let mut out = String::with_capacity(folded.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let prev = out.chars().next_back();
            let next = chars.get(j).copied();
            if let (Some(p), Some(n)) = (prev, next) {
                if p.is_ascii() && n.is_ascii() {
                    out.push(' ');
                }
            }
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Whether the ASCII pattern matched at byte `at` of `text` stands at word
/// boundaries.
fn at_boundaries(text: &str, at: usize, len: usize) -> bool {
    let before = text[..at].chars().next_back();
    let after = text[at + len..].chars().next();
    !before.is_some_and(is_word) && !after.is_some_and(is_word)
}

/// Whether a normalised pattern occurs in a normalised text.
pub fn occurs(pattern: &str, text: &str) -> bool {
    if pattern.is_empty() {
        return false;
    }
    if !pattern.is_ascii() {
        return text.contains(pattern);
    }
    let mut start = 0;
    while let Some(k) = text[start..].find(pattern) {
        let at = start + k;
        let end = at + pattern.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            return true;
        }
        // Patterns are ASCII, so the next byte is a char boundary.
        start = at + 1;
    }
    false
}

impl Lexicon {
    /// Parses and checks a lexicon file's contents.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let file: LexiconFile =
            serde_json::from_str(raw).map_err(|e| format!("invalid lexicon: {e}"))?;
        if file.schema_version != 1 {
            return Err(format!(
                "schema_version {} (this build reads 1)",
                file.schema_version
            ));
        }
        if file.version.trim().is_empty() {
            return Err("version is empty".into());
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(file.rules.len());
        let mut patterns: Vec<String> = Vec::new();
        let mut intern = |p: String| match patterns.iter().position(|x| *x == p) {
            Some(i) => i,
            None => {
                patterns.push(p);
                patterns.len() - 1
            }
        };
        for r in &file.rules {
            if r.id.is_empty() || rules.iter().any(|x| x.id == r.id) {
                return Err(format!("rule {:?}: id missing or repeated", r.id));
            }
            if r.patterns.is_empty() {
                return Err(format!("rule {}: no patterns", r.id));
            }
            let mut pats = Vec::with_capacity(r.patterns.len());
            for p in &r.patterns {
                let n = normalise(p);
                if n.is_empty() {
                    return Err(format!("rule {}: empty pattern {p:?}", r.id));
                }
                pats.push((p.clone(), intern(n)));
            }
            let mut unless = Vec::with_capacity(r.unless.len());
            for u in &r.unless {
                let n = normalise(u);
                if n.is_empty() {
                    return Err(format!("rule {}: empty `unless` pattern", r.id));
                }
                unless.push(intern(n));
            }
            rules.push(Rule {
                id: r.id.clone(),
                kind: r.kind,
                patterns: pats,
                unless,
            });
        }
        let mut by_first: HashMap<char, Vec<usize>> = HashMap::new();
        for (i, p) in patterns.iter().enumerate() {
            let first = p.chars().next().expect("patterns are not empty");
            by_first.entry(first).or_default().push(i);
        }
        let lex = Self {
            version: file.version,
            rules,
            patterns,
            by_first,
        };
        for r in &file.rules {
            for ex in &r.examples {
                if !lex.match_text(ex).iter().any(|h| h.rule == r.id) {
                    return Err(format!(
                        "rule {}: its example {ex:?} does not match it",
                        r.id
                    ));
                }
            }
        }
        for neg in &file.must_not_match {
            let bad: Vec<_> = lex
                .match_text(&neg.text)
                .into_iter()
                .filter(|h| neg.kinds.as_ref().is_none_or(|k| k.contains(&h.kind)))
                .map(|h| format!("{} ({})", h.rule, h.pattern))
                .collect();
            if !bad.is_empty() {
                return Err(format!(
                    "must_not_match {:?} is matched by {}",
                    neg.text,
                    bad.join(", ")
                ));
            }
        }
        Ok(lex)
    }

    /// Which patterns occur in a normalised text: one pass over its
    /// characters, trying only the patterns that start with each one.
    fn present(&self, t: &str) -> Vec<bool> {
        let mut found = vec![false; self.patterns.len()];
        for (at, c) in t.char_indices() {
            let Some(ids) = self.by_first.get(&c) else {
                continue;
            };
            for &id in ids {
                let p = &self.patterns[id];
                if !found[id]
                    && t[at..].starts_with(p.as_str())
                    && (!p.is_ascii() || at_boundaries(t, at, p.len()))
                {
                    found[id] = true;
                }
            }
        }
        found
    }

    /// Hits in one turn's text, in rule then pattern order.
    pub fn match_text(&self, text: &str) -> Vec<LexiconHit> {
        let t = normalise(text);
        let found = self.present(&t);
        let mut hits = Vec::new();
        for r in &self.rules {
            if r.unless.iter().any(|u| found[*u]) {
                continue;
            }
            for (raw, p) in &r.patterns {
                if found[*p] {
                    hits.push(LexiconHit {
                        rule: r.id.clone(),
                        kind: r.kind,
                        pattern: raw.clone(),
                    });
                }
            }
        }
        hits
    }

    /// Distinct hits over customer turns, in order of first appearance.
    pub fn match_turns<'a>(
        &self,
        customer_turns: impl IntoIterator<Item = &'a str>,
    ) -> Vec<LexiconHit> {
        let mut out: Vec<LexiconHit> = Vec::new();
        for text in customer_turns {
            for h in self.match_text(text) {
                if !out.contains(&h) {
                    out.push(h);
                }
            }
        }
        out
    }

    pub fn rules(&self) -> usize {
        self.rules.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        let raw = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/lexicon.json"),
        )
        .unwrap();
        Lexicon::parse(&raw).unwrap()
    }

    fn kinds(l: &Lexicon, text: &str) -> Vec<LexiconKind> {
        l.match_text(text).into_iter().map(|h| h.kind).collect()
    }

    #[test]
    fn the_fast_path_agrees_with_nfkc() {
        for text in [
            "ＯＫ，我要　投诉！",
            "Hello 【通知】「引用」“quote” — ·",
            "ａｂｃ１２３",
            "Ⅻ ﬁ ㈱ é",
        ] {
            let mut n = NormalizedString::from(text);
            NFKC.normalize(&mut n).unwrap();
            let slow = n.get().to_lowercase();
            if let Some(fast) = nfkc_lower_fast(text) {
                assert_eq!(fast, slow, "{text}");
            }
        }
        assert!(nfkc_lower_fast("ﬁ").is_none());
    }

    #[test]
    fn normalisation_folds_width_case_and_asr_spacing() {
        assert_eq!(normalise("ＯＫ，我要 投 诉！"), "ok,我要投诉!");
        assert_eq!(normalise("  Stop   CALLING\tme "), "stop calling me");
        assert_eq!(normalise("我 要 the  Regulator 啊"), "我要the regulator啊");
    }

    #[test]
    fn the_shipped_lexicon_catches_each_kind_in_both_languages() {
        let l = lexicon();
        assert!(kinds(&l, "我 要 投 诉 你 们").contains(&LexiconKind::Complaint));
        assert!(kinds(&l, "再这样我就打１２３７８").contains(&LexiconKind::Complaint));
        assert!(kinds(&l, "I'll take this to the Financial Ombudsman.")
            .contains(&LexiconKind::Complaint));
        assert!(kinds(&l, "以后别再给我打电话了").contains(&LexiconKind::DoNotContact));
        assert!(kinds(&l, "Please STOP calling me.").contains(&LexiconKind::DoNotContact));
        assert!(kinds(&l, "帮我转人工").contains(&LexiconKind::AsksForHuman));
        assert!(kinds(&l, "Can I talk to a real person?").contains(&LexiconKind::AsksForHuman));
    }

    #[test]
    fn word_boundaries_and_unless_patterns_prevent_false_hits() {
        let l = lexicon();
        assert!(kinds(&l, "I have no complaints about the rate").is_empty());
        assert!(kinds(&l, "投诉请按2，人工服务请按0").is_empty());
        assert!(kinds(&l, "你是真人还是机器人？").is_empty());
        assert!(occurs("sue", "i will sue"));
        assert!(!occurs("sue", "i will pursue it"));
    }

    #[test]
    fn a_bad_edit_is_refused_with_the_rule_named() {
        let bad_example = r#"{"schema_version":1,"version":"x","rules":[
            {"id":"r1","kind":"complaint","patterns":["投诉"],"examples":["没问题"]}]}"#;
        let err = Lexicon::parse(bad_example).err().unwrap();
        assert!(err.contains("r1") && err.contains("example"), "{err}");
        let negative = r#"{"schema_version":1,"version":"x","rules":[
            {"id":"r2","kind":"do_not_contact","patterns":["打"]}],
            "must_not_match":[{"text":"打个电话给我","kinds":["do_not_contact"]}]}"#;
        let err = Lexicon::parse(negative).err().unwrap();
        assert!(
            err.contains("r2") && err.contains("must_not_match"),
            "{err}"
        );
        let kind = r#"{"schema_version":1,"version":"x","rules":[{"id":"r3","kind":"spam","patterns":["a"]}]}"#;
        assert!(Lexicon::parse(kind).is_err());
        let empty = r#"{"schema_version":1,"version":"x","rules":[{"id":"r4","kind":"complaint","patterns":[" "]}]}"#;
        assert!(Lexicon::parse(empty).err().unwrap().contains("r4"));
    }
}
