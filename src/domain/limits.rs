//! Input limits: what one call, note or reason may bring, so that whatever
//! the input, what is stored stays bounded (GetLead and stream events well
//! under 1 MB with the defaults and the routing caps on interactions and
//! history per lead).

use super::{DomainError, Interaction};
use serde::{Deserialize, Serialize};

/// `[limits]` of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Turns per call; more is INVALID_ARGUMENT (`interaction.turns`).
    pub max_turns: usize,
    /// Transcript characters stored per call (Unicode scalar values, all
    /// turns together); the rest is cut and the cut recorded with the call.
    pub transcript_chars: usize,
    /// Characters of a manager's note or reason; more is INVALID_ARGUMENT
    /// naming the field.
    pub note_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_turns: 500,
            transcript_chars: 16_000,
            note_chars: 2_000,
        }
    }
}

impl Limits {
    /// Refuses a call with too many turns; cuts its transcript to
    /// `transcript_chars` (later turns first emptied, then dropped: the
    /// start of a call is what it is about). Answers the characters cut.
    pub fn admit(&self, i: &mut Interaction) -> Result<u64, DomainError> {
        if i.turns.len() > self.max_turns {
            return Err(DomainError::new(
                "interaction.turns",
                format!("{} turns, at most {}", i.turns.len(), self.max_turns),
            ));
        }
        let (mut left, mut cut) = (self.transcript_chars, 0u64);
        let mut keep = i.turns.len();
        for (n, t) in i.turns.iter_mut().enumerate() {
            let chars = t.text.chars().count();
            if chars <= left {
                left -= chars;
                continue;
            }
            cut += (chars - left) as u64;
            if left == 0 {
                keep = keep.min(n);
            } else if let Some((at, _)) = t.text.char_indices().nth(left) {
                t.text.truncate(at);
            }
            left = 0;
        }
        // Turns with nothing left are dropped (their text was counted).
        i.turns.truncate(keep.max(1));
        Ok(cut)
    }

    /// Refuses a note or reason over `note_chars`.
    pub fn check_note(&self, field: &str, text: &str) -> Result<(), DomainError> {
        let n = text.chars().count();
        if n > self.note_chars {
            return Err(DomainError::new(
                field,
                format!("{n} characters, at most {}", self.note_chars),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::*;

    fn call(texts: &[&str]) -> Interaction {
        let mut i = crate::dev::sample::interaction(
            &InteractionId::parse("i1").unwrap(),
            &CustomerId::parse("c1").unwrap(),
            &RegionId::parse("east").unwrap(),
            Product::Wealth,
        );
        i.turns = texts
            .iter()
            .map(|t| TurnRecord {
                speaker: Speaker::Customer,
                text: t.to_string(),
                offset_ms: 0,
            })
            .collect();
        i
    }

    #[test]
    fn a_long_transcript_is_cut_and_the_cut_counted() {
        let l = Limits {
            transcript_chars: 5,
            ..Limits::default()
        };
        let mut i = call(&["你好吗", "我很好谢谢", "再见"]);
        assert_eq!(l.admit(&mut i).unwrap(), 5);
        let texts: Vec<&str> = i.turns.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["你好吗", "我很"]);
        let mut short = call(&["你好"]);
        assert_eq!(l.admit(&mut short).unwrap(), 0);
        assert_eq!(short.turns[0].text, "你好");
    }

    #[test]
    fn too_many_turns_and_long_notes_are_refused_naming_the_field() {
        let l = Limits {
            max_turns: 2,
            note_chars: 3,
            ..Limits::default()
        };
        let e = l.admit(&mut call(&["a", "b", "c"])).unwrap_err();
        assert_eq!(e.field, "interaction.turns");
        assert_eq!(l.check_note("note", "一二三四").unwrap_err().field, "note");
        assert!(l.check_note("note", "一二三").is_ok());
    }
}
