//! Personal data masked before anything is stored, scored or logged:
//! mainland mobile numbers, 18-digit resident ID numbers (checksum-valid),
//! bank card numbers (Luhn-valid) and e-mail addresses, plus any patterns a
//! bank adds. A match becomes a mask token such as `[pii:phone ****5678]`: the
//! kind and, for numbers, the last 4 digits (what a manager needs to
//! recognise a number the customer gave), never the rest.

use super::{DomainError, Interaction};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::LazyLock;

/// `[privacy]` of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Built-in kinds masked: `phone`, `id_number`, `bank_card`, `email`.
    pub kinds: Vec<String>,
    /// More patterns, each masked as `[pii:<name>]`.
    pub patterns: Vec<PatternConfig>,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            kinds: BUILT_IN.iter().map(|k| k.to_string()).collect(),
            patterns: Vec::new(),
        }
    }
}

/// A bank's own pattern (Rust `regex` syntax).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternConfig {
    /// Letters, digits and `_` only: it names the mask token.
    pub name: String,
    pub regex: String,
}

const BUILT_IN: [&str; 4] = ["id_number", "bank_card", "phone", "email"];

/// Digits with optional single spaces or dashes between them (how numbers
/// are read out or typed); each rule checks its own length and checksum.
static DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d(?:[ \-]?\d)*[xX]?").expect("digits pattern"));
/// One group of digits inside such a run.
static GROUP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d+[xX]?").expect("group pattern"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
        .expect("email pattern")
});
/// A mask token as [`Masker::mask`] writes it (`pii:` keeps it apart from
/// what transcripts bracket, e.g. an ASR's `[noise]`).
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[pii:[a-z_0-9]+(?: \*{4}[0-9X]{4})?\]").expect("token pattern"));

/// The masking rules in force.
#[derive(Debug, Clone)]
pub struct Masker {
    id_number: bool,
    bank_card: bool,
    phone: bool,
    email: bool,
    custom: Vec<(String, Regex)>,
}

impl Default for Masker {
    fn default() -> Self {
        Self::new(&PrivacyConfig::default()).expect("the default privacy config is valid")
    }
}

impl Masker {
    pub fn new(cfg: &PrivacyConfig) -> Result<Self, DomainError> {
        for k in &cfg.kinds {
            if !BUILT_IN.contains(&k.as_str()) {
                return Err(DomainError::new(
                    "privacy.kinds",
                    format!("unknown kind {k:?}; known: {}", BUILT_IN.join(", ")),
                ));
            }
        }
        let on = |k: &str| cfg.kinds.iter().any(|x| x == k);
        let mut custom = Vec::new();
        for p in &cfg.patterns {
            if p.name.is_empty()
                || !p
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(DomainError::new(
                    "privacy.patterns.name",
                    format!("{:?}: use a-z, 0-9 and _", p.name),
                ));
            }
            let re = Regex::new(&p.regex).map_err(|e| {
                DomainError::new("privacy.patterns.regex", format!("{}: {e}", p.name))
            })?;
            custom.push((p.name.clone(), re));
        }
        Ok(Self {
            id_number: on("id_number"),
            bank_card: on("bank_card"),
            phone: on("phone"),
            email: on("email"),
            custom,
        })
    }

    /// `text` with every identifier replaced by its mask token.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        if self.email {
            if let Cow::Owned(s) = EMAIL.replace_all(&out, "[pii:email]") {
                out = Cow::Owned(s);
            }
        }
        if self.id_number || self.bank_card || self.phone {
            let masked = self.mask_numbers(&out);
            if let Some(s) = masked {
                out = Cow::Owned(s);
            }
        }
        for (name, re) in &self.custom {
            if let Cow::Owned(s) = re.replace_all(&out, format!("[pii:{name}]").as_str()) {
                out = Cow::Owned(s);
            }
        }
        out
    }

    /// Masks every free text of an interaction (its turns); answers how many
    /// texts changed.
    pub fn mask_interaction(&self, i: &mut Interaction) -> usize {
        let mut changed = 0;
        for t in &mut i.turns {
            if let Cow::Owned(s) = self.mask(&t.text) {
                t.text = s;
                changed += 1;
            }
        }
        changed
    }

    /// Masks identifiers among the digits of `text`. A run of digit groups
    /// (joined by single spaces or dashes, as numbers are read out or typed)
    /// is tried whole, then in smaller windows of groups, longest first, so
    /// that a date before a phone number does not hide it.
    fn mask_numbers(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut last = 0;
        for run in DIGITS.find_iter(text) {
            let groups: Vec<(usize, usize)> = GROUP
                .find_iter(run.as_str())
                .map(|g| (run.start() + g.start(), run.start() + g.end()))
                .collect();
            let mut i = 0;
            while i < groups.len() {
                let found = (i..groups.len()).rev().find_map(|j| {
                    let span = &text[groups[i].0..groups[j].1];
                    let digits: String = span.chars().filter(char::is_ascii_alphanumeric).collect();
                    self.kind_of(&digits).map(|k| (j, k, digits))
                });
                match found {
                    Some((j, kind, digits)) => {
                        let tail = digits[digits.len() - 4..].to_ascii_uppercase();
                        out.push_str(&text[last..groups[i].0]);
                        out.push_str(&format!("[pii:{kind} ****{tail}]"));
                        last = groups[j].1;
                        i = j + 1;
                    }
                    None => i += 1,
                }
            }
        }
        (last > 0).then(|| {
            out.push_str(&text[last..]);
            out
        })
    }

    fn kind_of(&self, digits: &str) -> Option<&'static str> {
        if self.id_number && is_id_number(digits) {
            Some("id")
        } else if self.phone && is_phone(digits) {
            Some("phone")
        } else if self.bank_card && is_card(digits) {
            Some("card")
        } else {
            None
        }
    }
}

/// `text` as the models read it: mask tokens become a symbol, so no part of
/// a masked identifier (its kind, its last digits) can become a phrase.
pub fn unscored(text: &str) -> Cow<'_, str> {
    TOKEN.replace_all(text, "＊")
}

/// A mainland mobile number: 11 digits from 13–19, optionally after 86.
fn is_phone(digits: &str) -> bool {
    let national = match digits.strip_prefix("86") {
        Some(n) if digits.len() == 13 => n,
        _ => digits,
    };
    national.len() == 11
        && national.starts_with('1')
        && matches!(national.as_bytes()[1], b'3'..=b'9')
        && national.bytes().all(|b| b.is_ascii_digit())
}

/// An 18-character resident ID number: a valid GB 11643 check digit, or an
/// ID's structure (a region code, then a birth date 1900–2099) with a wrong
/// one: one digit misheard or mistyped still identifies a person.
fn is_id_number(s: &str) -> bool {
    checksum_ok(s) || id_structure(s)
}

fn id_structure(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    (1900..=2099).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

fn checksum_ok(s: &str) -> bool {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    b[17].to_ascii_uppercase() == CHECK[(sum % 11) as usize]
}

/// A 13–19 digit card number with a valid Luhn check digit.
fn is_card(s: &str) -> bool {
    if !(13..=19).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = s
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_masked_keeping_the_last_four_digits() {
        let m = Masker::default();
        let t = "我的手机13812345678，身份证110101199003071233，卡号6222 0200 0000 0000 07，邮箱 wang.li@example.com.cn";
        let out = m.mask(t);
        assert_eq!(
            out,
            "我的手机[pii:phone ****5678]，身份证[pii:id ****1233]，卡号[pii:card ****0007]，邮箱 [pii:email]"
        );
        // A wrong check digit in an ID's structure is still an ID.
        assert_eq!(m.mask("110101199003071234"), "[pii:id ****1234]");
        assert_eq!(
            m.mask("call +86 138-1234-5678 please"),
            "call +[pii:phone ****5678] please"
        );
        // A date before the number does not hide it.
        assert_eq!(
            m.mask("2024-01-01 138 1234 5678"),
            "2024-01-01 [pii:phone ****5678]"
        );
    }

    #[test]
    fn numbers_that_are_not_identifiers_stay() {
        let m = Masker::default();
        for t in [
            "我要打12378投诉",
            "存了100000元",
            "工号 20230101",
            // 18 digits that are no ID (no birth date, wrong check digit) and
            // fail Luhn; 16 digits failing Luhn.
            "123400009900001234",
            "6222020000000001",
            "电话 12345678901",
        ] {
            assert_eq!(m.mask(t), t, "{t}");
        }
    }

    #[test]
    fn kinds_can_be_turned_off_and_patterns_added() {
        let cfg = PrivacyConfig {
            kinds: vec!["email".into()],
            patterns: vec![PatternConfig {
                name: "policy_no".into(),
                regex: r"PL\d{8}".into(),
            }],
        };
        let m = Masker::new(&cfg).unwrap();
        assert_eq!(
            m.mask("13812345678 a@b.cn PL12345678"),
            "13812345678 [pii:email] [pii:policy_no]"
        );
        let bad = PrivacyConfig {
            kinds: vec!["passport".into()],
            ..PrivacyConfig::default()
        };
        assert_eq!(Masker::new(&bad).unwrap_err().field, "privacy.kinds");
    }

    #[test]
    fn models_never_read_a_mask_token() {
        let m = Masker::default();
        let masked = m.mask("打我电话13812345678或者发到a@b.cn");
        assert_eq!(unscored(&masked), "打我电话＊或者发到＊");
        // What a transcript brackets itself is read as it is.
        assert_eq!(unscored("[noise] 嗯 [phone]"), "[noise] 嗯 [phone]");
    }
}
