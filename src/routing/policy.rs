//! The bucket policy: thresholds on the calibrated probability, then the
//! rules that beat the score.

use crate::domain::{Bucket, Route};

/// Per-campaign thresholds on the probability of conversion.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RoutePolicy {
    /// At or above: high (referral to a branch manager).
    pub high: f64,
    /// At or above (and below `high`): medium (remote nurture queue).
    pub medium: f64,
}

impl RoutePolicy {
    pub fn bucket(&self, probability: f64) -> Bucket {
        if probability >= self.high {
            Bucket::High
        } else if probability >= self.medium {
            Bucket::Medium
        } else {
            Bucket::Low
        }
    }
}

/// Decides where a scored lead goes, and says why (kept in the audit trail).
/// Order matters: do-not-contact beats a complaint, which beats any score;
/// asking for a human lifts a low score to at least medium.
pub fn decide_route(
    intent_threshold: f64,
    bucket: Bucket,
    asks_for_human: f64,
    complaint: f64,
    do_not_contact: bool,
) -> (Route, String) {
    if do_not_contact {
        return (Route::Suppressed, "customer is do-not-contact".into());
    }
    if complaint >= intent_threshold {
        return (
            Route::ServiceFollowup,
            format!("complaint ({complaint:.2}): service follow-up, no sales routing"),
        );
    }
    match bucket {
        Bucket::High => (Route::Referral, "high score".into()),
        Bucket::Medium => (Route::Remote, "medium score".into()),
        Bucket::Low if asks_for_human >= intent_threshold => (
            Route::Remote,
            format!("asks for a human ({asks_for_human:.2}): at least medium"),
        ),
        Bucket::Low => (Route::Incubation, "low score".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RoutePolicy = RoutePolicy {
        high: 0.3,
        medium: 0.1,
    };
    const INTENT: f64 = 0.5;

    #[test]
    fn thresholds_then_rules() {
        assert_eq!(P.bucket(0.3), Bucket::High);
        assert_eq!(P.bucket(0.29), Bucket::Medium);
        assert_eq!(P.bucket(0.05), Bucket::Low);
        assert_eq!(
            decide_route(INTENT, Bucket::Low, 0.9, 0.0, false).0,
            Route::Remote
        );
        assert_eq!(
            decide_route(INTENT, Bucket::High, 0.0, 0.0, false).0,
            Route::Referral
        );
        assert_eq!(
            decide_route(INTENT, Bucket::High, 0.0, 0.8, false).0,
            Route::ServiceFollowup
        );
        assert_eq!(
            decide_route(INTENT, Bucket::High, 0.9, 0.8, true).0,
            Route::Suppressed
        );
        assert_eq!(
            decide_route(INTENT, Bucket::Low, 0.1, 0.1, false).0,
            Route::Incubation
        );
    }
}
