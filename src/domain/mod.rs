//! Plain domain types shared by every layer. No gRPC, ONNX or Redis here.
//!
//! Identifiers are validated newtypes with a `parse` constructor: once a value
//! of one of these types exists it is known to be safe to put into a Redis key
//! (no hash-tag braces, no separators, bounded length).

/// Why an identifier or enum value was rejected. `field` names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct DomainError {
    pub field: String,
    pub reason: String,
}

impl DomainError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

const MAX_ID_LEN: usize = 128;

fn check_id(field: &str, raw: &str) -> Result<(), DomainError> {
    if raw.is_empty() {
        return Err(DomainError::new(field, "must not be empty"));
    }
    if raw.len() > MAX_ID_LEN {
        return Err(DomainError::new(
            field,
            format!("longer than {MAX_ID_LEN} bytes"),
        ));
    }
    // Keys are built as `prefix:{region}:kind:id`; braces would change the
    // Redis Cluster hash tag and ':' would make keys ambiguous.
    if let Some(c) = raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@')))
    {
        return Err(DomainError::new(
            field,
            format!("character {c:?} is not allowed (use letters, digits, '-', '_', '.', '@')"),
        ));
    }
    Ok(())
}

mod enums;
mod ids;
mod interaction;
pub mod limits;
mod manager;
pub mod pii;
mod policy;
pub mod stages;

pub use enums::*;
pub use ids::*;
pub use interaction::*;
pub use manager::*;
pub use policy::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_hash_tag_and_separator_characters() {
        assert!(RegionId::parse("east").is_ok());
        for bad in ["", "ea{st", "a:b", "a b", "}"] {
            let err = RegionId::parse(bad).unwrap_err();
            assert_eq!(err.field, "region_id", "{bad}");
        }
        assert!(ManagerId::parse("x".repeat(129)).is_err());
    }

    #[test]
    fn lead_id_keeps_its_origin_region() {
        let r = RegionId::parse("east-2").unwrap();
        let id = LeadId::generate(&r, 1_700_000_000_000);
        assert_eq!(id.region(), Some(r));
        assert!(LeadId::parse(id.as_str()).is_ok());
    }

    #[test]
    fn enums_round_trip_and_name_the_field() {
        for p in Product::ALL {
            assert_eq!(Product::parse(p.as_str()).unwrap(), *p);
        }
        assert_eq!(Product::parse("gold").unwrap_err().field, "product");
        assert!(LeadState::RemoteLeased.is_held());
        assert!(!LeadState::ReferralOffered.is_held());
    }
}
