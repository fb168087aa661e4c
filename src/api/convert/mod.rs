//! Every conversion between the gRPC messages and the domain, in one place.
//! Proto → domain validates and names the offending field.

mod interaction;
mod lead;
mod manager;
mod report;

pub use interaction::*;
pub use lead::*;
pub use manager::*;
pub use report::*;

use super::error::ApiError;
use super::pb;
use crate::domain::*;

fn bad(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
    ApiError::InvalidArgument {
        field: field.into(),
        reason: reason.into(),
    }
}

fn named<T>(r: Result<T, DomainError>, field: &str) -> Result<T, ApiError> {
    r.map_err(|e| bad(field, e.reason))
}

pub fn ms_to_timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub fn timestamp_to_ms(t: &prost_types::Timestamp) -> i64 {
    t.seconds * 1000 + (t.nanos as i64) / 1_000_000
}

pub fn product_from_pb(v: i32, field: &str) -> Result<Product, ApiError> {
    match pb::Product::try_from(v) {
        Ok(pb::Product::Wealth) => Ok(Product::Wealth),
        Ok(pb::Product::Fund) => Ok(Product::Fund),
        Ok(pb::Product::Deposit) => Ok(Product::Deposit),
        Ok(pb::Product::Insurance) => Ok(Product::Insurance),
        Ok(pb::Product::CreditCard) => Ok(Product::CreditCard),
        Ok(pb::Product::Loan) => Ok(Product::Loan),
        Ok(pb::Product::Unspecified) => Err(bad(field, "is required")),
        Err(_) => Err(bad(field, format!("unknown value {v}"))),
    }
}

/// Not given: OTHER (the field came after the first clients).
pub fn decline_category_from_pb(v: i32) -> Result<DeclineCategory, ApiError> {
    match pb::DeclineCategory::try_from(v) {
        Ok(pb::DeclineCategory::NoCapacity) => Ok(DeclineCategory::NoCapacity),
        Ok(pb::DeclineCategory::NotMyCustomer) => Ok(DeclineCategory::NotMyCustomer),
        Ok(pb::DeclineCategory::ProductMismatch) => Ok(DeclineCategory::ProductMismatch),
        Ok(pb::DeclineCategory::CustomerUnsuitable) => Ok(DeclineCategory::CustomerUnsuitable),
        Ok(pb::DeclineCategory::Other | pb::DeclineCategory::Unspecified) => {
            Ok(DeclineCategory::Other)
        }
        Err(_) => Err(bad("category", format!("unknown value {v}"))),
    }
}

pub fn decline_category_to_pb(c: DeclineCategory) -> pb::DeclineCategory {
    match c {
        DeclineCategory::NoCapacity => pb::DeclineCategory::NoCapacity,
        DeclineCategory::NotMyCustomer => pb::DeclineCategory::NotMyCustomer,
        DeclineCategory::ProductMismatch => pb::DeclineCategory::ProductMismatch,
        DeclineCategory::CustomerUnsuitable => pb::DeclineCategory::CustomerUnsuitable,
        DeclineCategory::Other => pb::DeclineCategory::Other,
    }
}

pub fn product_to_pb(p: Product) -> pb::Product {
    match p {
        Product::Wealth => pb::Product::Wealth,
        Product::Fund => pb::Product::Fund,
        Product::Deposit => pb::Product::Deposit,
        Product::Insurance => pb::Product::Insurance,
        Product::CreditCard => pb::Product::CreditCard,
        Product::Loan => pb::Product::Loan,
    }
}

fn required_id<T>(
    raw: &str,
    field: &str,
    parse: fn(String) -> Result<T, DomainError>,
) -> Result<T, ApiError> {
    named(parse(raw.to_string()), field)
}

fn optional_id<T>(
    raw: &Option<String>,
    field: &str,
    parse: fn(String) -> Result<T, DomainError>,
) -> Result<Option<T>, ApiError> {
    match raw.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => named(parse(s.to_string()), field).map(Some),
    }
}

pub fn queue_kind_to_pb(q: &str) -> pb::QueueKind {
    match q {
        "referral_offered" => pb::QueueKind::ReferralOffered,
        "branch_unassigned" => pb::QueueKind::BranchUnassigned,
        "remote_pool" => pb::QueueKind::RemotePool,
        "remote_personal" => pb::QueueKind::RemotePersonal,
        "incubation" => pb::QueueKind::Incubation,
        "service_followup" => pb::QueueKind::ServiceFollowup,
        "remote_callback" => pb::QueueKind::RemoteCallback,
        "unplaceable" => pb::QueueKind::Unplaceable,
        _ => pb::QueueKind::Unspecified,
    }
}

pub fn lead_id(raw: &str) -> Result<LeadId, ApiError> {
    required_id(raw, "lead_id", LeadId::parse)
}

pub fn manager_id(raw: &str, field: &str) -> Result<ManagerId, ApiError> {
    required_id(raw, field, ManagerId::parse)
}

pub fn customer_id_from(raw: &str) -> Result<CustomerId, ApiError> {
    required_id(raw, "customer_id", CustomerId::parse)
}

pub fn request_id_from(raw: &str) -> Result<RequestId, ApiError> {
    required_id(raw, "request_id", RequestId::parse)
}

/// An outcome-log cursor: a Redis stream id, `<ms>-<seq>`.
pub fn log_cursor(raw: &str, field: &str) -> Result<String, ApiError> {
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    match raw.split_once('-') {
        Some((ms, seq)) if digits(ms) && digits(seq) => Ok(raw.to_string()),
        _ => Err(ApiError::invalid(
            field,
            "must be a cursor from ExportOutcomes",
        )),
    }
}

pub fn region_id(raw: &str, field: &str) -> Result<RegionId, ApiError> {
    required_id(raw, field, RegionId::parse)
}

pub fn branch_id(raw: &str, field: &str) -> Result<BranchId, ApiError> {
    required_id(raw, field, BranchId::parse)
}

/// A registered region as answered.
pub fn region_to_pb(r: &RegionId, reg: &crate::routing::RegisteredRegion) -> pb::Region {
    let crate::routing::RegisteredRegion {
        display_name,
        branches,
    } = reg;
    pb::Region {
        region_id: r.to_string(),
        display_name: display_name.clone(),
        branch_ids: branches.iter().map(|b| b.to_string()).collect(),
    }
}

pub fn remote_outcome_to_pb(o: RemoteOutcome) -> pb::Outcome {
    match o {
        RemoteOutcome::Converted => pb::Outcome::Converted,
        RemoteOutcome::NotInterested => pb::Outcome::NotInterested,
        RemoteOutcome::CallBack => pb::Outcome::CallBack,
        RemoteOutcome::Escalate => pb::Outcome::Escalate,
        RemoteOutcome::ReturnToIncubation => pb::Outcome::ReturnToIncubation,
    }
}

pub fn referral_outcome_to_pb(o: ReferralOutcome) -> pb::Outcome {
    match o {
        ReferralOutcome::Converted => pb::Outcome::Converted,
        ReferralOutcome::NotInterested => pb::Outcome::NotInterested,
        ReferralOutcome::ReturnToRemote => pb::Outcome::ReturnToRemote,
        ReferralOutcome::ReturnToIncubation => pb::Outcome::ReturnToIncubation,
    }
}

pub fn remote_outcome_from_pb(v: i32) -> Result<RemoteOutcome, ApiError> {
    match pb::Outcome::try_from(v) {
        Ok(pb::Outcome::Converted) => Ok(RemoteOutcome::Converted),
        Ok(pb::Outcome::NotInterested) => Ok(RemoteOutcome::NotInterested),
        Ok(pb::Outcome::CallBack) => Ok(RemoteOutcome::CallBack),
        Ok(pb::Outcome::Escalate) => Ok(RemoteOutcome::Escalate),
        Ok(pb::Outcome::ReturnToIncubation) => Ok(RemoteOutcome::ReturnToIncubation),
        _ => Err(bad("outcome", "CompleteLead accepts CONVERTED, NOT_INTERESTED, CALL_BACK, ESCALATE, RETURN_TO_INCUBATION")),
    }
}

pub fn referral_outcome_from_pb(v: i32) -> Result<ReferralOutcome, ApiError> {
    match pb::Outcome::try_from(v) {
        Ok(pb::Outcome::Converted) => Ok(ReferralOutcome::Converted),
        Ok(pb::Outcome::NotInterested) => Ok(ReferralOutcome::NotInterested),
        Ok(pb::Outcome::ReturnToRemote) => Ok(ReferralOutcome::ReturnToRemote),
        Ok(pb::Outcome::ReturnToIncubation) => Ok(ReferralOutcome::ReturnToIncubation),
        _ => Err(bad("outcome", "CompleteReferral accepts CONVERTED, NOT_INTERESTED, RETURN_TO_REMOTE, RETURN_TO_INCUBATION")),
    }
}

/// The request field a model feature comes from (for error messages).
pub fn wire_field(feature: &str) -> String {
    match feature {
        "turns" | "turn_count" => "interaction.turns".into(),
        "product" => "interaction.product".into(),
        "duration_s" => "interaction.call.duration_seconds".into(),
        "hour_of_day" | "channel" => format!("interaction.call.{feature}"),
        "aum_band"
        | "age_band"
        | "tenure_years"
        | "products_held"
        | "digital_logins_30d"
        | "past_campaign_contacts"
        | "past_campaign_responses"
        | "risk_assessment" => format!("interaction.features.{feature}"),
        other => other.to_string(),
    }
}
