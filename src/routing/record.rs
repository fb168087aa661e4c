//! How a stored interaction is kept in Redis (the lead's `ix` list, then the
//! outcome log): its JSON, raw-deflated with a preset dictionary and
//! base64'd, behind a version tag: `z1.<base64>`. Every record repeats the
//! same field names, labels, product and reason names; the dictionary (a
//! typical record, `record_dict_v1.json`) lets deflate refer to them, so a
//! typical call's 2.4 KB of JSON is stored in about 650 bytes. It is text,
//! so that the scripts can put it in their JSON replies as a string.
//!
//! The dictionary never changes once records were written with it (old
//! records need it to be read; a test pins its hash): a better one is
//! `z2.` with a file of its own. Records written before (plain JSON objects)
//! are still read.

use super::RoutingError;
use crate::domain::StoredInteraction;
use base64::Engine;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde::{Deserialize, Deserializer};

const TAG_V1: &str = "z1.";
const DICT_V1: &[u8] = include_bytes!("record_dict_v1.json");
/// A record never inflates beyond this (a corrupt or hostile value cannot
/// make a reader allocate without bound); the limits keep real ones far below.
const MAX_JSON: usize = 4 << 20;

fn protocol(what: &str, e: impl std::fmt::Display) -> RoutingError {
    RoutingError::Protocol(format!("stored interaction: {what}: {e}"))
}

/// The stored text of `r`.
pub fn encode(r: &StoredInteraction) -> Result<String, RoutingError> {
    let json = serde_json::to_vec(r).map_err(|e| protocol("cannot encode", e))?;
    let mut z = Compress::new(Compression::default(), false);
    z.set_dictionary(DICT_V1)
        .map_err(|e| protocol("dictionary", e))?;
    let mut out = Vec::with_capacity(json.len() / 2 + 64);
    loop {
        let consumed = z.total_in() as usize;
        match z
            .compress_vec(&json[consumed..], &mut out, FlushCompress::Finish)
            .map_err(|e| protocol("deflate", e))?
        {
            Status::StreamEnd => break,
            _ => out.reserve(out.capacity().max(256)),
        }
    }
    let mut text = String::with_capacity(TAG_V1.len() + out.len() * 4 / 3 + 4);
    text.push_str(TAG_V1);
    base64::engine::general_purpose::STANDARD_NO_PAD.encode_string(&out, &mut text);
    Ok(text)
}

/// A stored record: `z1.` text, or a plain JSON object (written before).
pub fn decode(text: &str) -> Result<StoredInteraction, RoutingError> {
    if text.starts_with('{') {
        return serde_json::from_str(text).map_err(|e| protocol("plain JSON", e));
    }
    let Some(b64) = text.strip_prefix(TAG_V1) else {
        return Err(protocol(
            "unknown encoding",
            text.chars().take(8).collect::<String>(),
        ));
    };
    let packed = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(b64)
        .map_err(|e| protocol("base64", e))?;
    let mut z = Decompress::new(false);
    z.set_dictionary(DICT_V1)
        .map_err(|e| protocol("dictionary", e))?;
    let mut json = Vec::with_capacity(packed.len() * 4);
    loop {
        let consumed = z.total_in() as usize;
        match z
            .decompress_vec(&packed[consumed..], &mut json, FlushDecompress::Finish)
            .map_err(|e| protocol("inflate", e))?
        {
            Status::StreamEnd => break,
            _ if json.len() >= MAX_JSON => return Err(protocol("inflate", "over 4 MB")),
            _ if consumed == z.total_in() as usize && json.len() < json.capacity() => {
                return Err(protocol("inflate", "truncated"))
            }
            _ => json.reserve(json.capacity().max(1024)),
        }
    }
    serde_json::from_slice(&json).map_err(|e| protocol("JSON", e))
}

/// A record inside a script's JSON reply: the stored text as a string, or a
/// plain JSON object (written before).
#[derive(Deserialize)]
#[serde(untagged)]
enum Embedded {
    Text(String),
    Plain(Box<StoredInteraction>),
}

impl Embedded {
    fn into_record(self) -> Result<StoredInteraction, RoutingError> {
        match self {
            Embedded::Text(t) => decode(&t),
            Embedded::Plain(r) => Ok(*r),
        }
    }
}

/// serde: an optional embedded record.
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StoredInteraction>, D::Error> {
    Option::<Embedded>::deserialize(d)?
        .map(|e| e.into_record().map_err(serde::de::Error::custom))
        .transpose()
}

/// serde: a JSON array of embedded records (the outcome log's).
pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<StoredInteraction>, D::Error> {
    Vec::<Embedded>::deserialize(d)?
        .into_iter()
        .map(|e| e.into_record().map_err(serde::de::Error::custom))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn sample() -> StoredInteraction {
        let region = crate::domain::RegionId::parse("east".to_string()).unwrap();
        crate::dev::sample::ingest_request(
            "itx-1",
            "cus-1",
            &region,
            crate::domain::Product::Fund,
            crate::domain::Route::Remote,
            55,
        )
        .interaction
    }

    #[test]
    fn a_record_comes_back_as_it_went_in_and_smaller() {
        let r = sample();
        let json = serde_json::to_string(&r).unwrap();
        let text = encode(&r).unwrap();
        assert!(text.starts_with("z1."));
        assert!(
            text.len() * 2 < json.len(),
            "{} of {}",
            text.len(),
            json.len()
        );
        assert_eq!(decode(&text).unwrap(), r);
        // Written before: plain JSON, read as it is.
        assert_eq!(decode(&json).unwrap(), r);
    }

    /// `text` with one base64 character in its middle changed.
    fn corrupt(text: &str) -> String {
        let mut b = text.as_bytes().to_vec();
        let at = b.len() / 2;
        b[at] = if b[at] == b'Q' { b'w' } else { b'Q' };
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let text = encode(&sample()).unwrap();
        for bad in [
            "",
            "z1.",
            "z9.AAAA",
            "z1.!!!!",
            &text[..text.len() / 2],
            &corrupt(&text),
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_v1_dictionary_never_changes() {
        // Records written with it can only be read with the very same bytes.
        assert_eq!(
            hex::encode(Sha256::digest(DICT_V1)),
            "3931375832f6a4eeabf11c6f0480980d461343cd64fa8cfc2bfb918d8219e681"
        );
    }
}
