//! The routing policy: thresholds on the calibrated probability, then the
//! rules that beat the score. Pure: the service feeds it the scorer's output.
//! What the customer told us on earlier calls (do-not-contact, a complaint's
//! cool-off, the contact cap) beats this decision in turn; those rules run
//! inside the ingest script (`routing/lua/includes/memory.lua`), atomically
//! with routing the lead.

use super::{Bucket, CampaignId, Route};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Bucket thresholds on the probability of conversion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// At or above: high (referral to a branch manager).
    pub high: f64,
    /// At or above (and below `high`): medium (remote nurture queue).
    pub medium: f64,
}

impl Thresholds {
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

/// What the conversation says beyond the score.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Signals {
    /// Probability that the customer asks for a human.
    pub asks_for_human: f64,
    /// Probability that the customer complains.
    pub complaint: f64,
    /// The robot flagged the customer as do-not-contact.
    pub do_not_contact: bool,
}

/// Where a scored lead goes, the bucket it is reported in and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub route: Route,
    /// The bucket after the rules (asking for a human lifts low to medium).
    pub bucket: Bucket,
    /// Why, for the audit trail.
    pub reason: String,
}

/// Thresholds per campaign, the rules' intent threshold, and the default.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub default: Thresholds,
    pub per_campaign: HashMap<CampaignId, Thresholds>,
    /// Probability at which an intent (asks for a human, complaint) counts.
    pub intent_threshold: f64,
}

impl Policy {
    pub fn thresholds(&self, campaign: &CampaignId) -> Thresholds {
        self.per_campaign
            .get(campaign)
            .copied()
            .unwrap_or(self.default)
    }

    /// Order matters: do-not-contact beats a complaint, which beats any
    /// score; asking for a human lifts a low score to medium.
    pub fn decide(&self, campaign: &CampaignId, probability: f64, s: Signals) -> Decision {
        let bucket = self.thresholds(campaign).bucket(probability);
        let t = self.intent_threshold;
        let (route, bucket, reason) = if s.do_not_contact {
            (
                Route::Suppressed,
                bucket,
                "customer is do-not-contact".into(),
            )
        } else if s.complaint >= t {
            let why = format!(
                "complaint ({:.2}): service follow-up, no sales routing",
                s.complaint
            );
            (Route::ServiceFollowup, bucket, why)
        } else {
            match bucket {
                Bucket::High => (Route::Referral, bucket, "high score".into()),
                Bucket::Medium => (Route::Remote, bucket, "medium score".into()),
                Bucket::Low if s.asks_for_human >= t => {
                    let why = format!(
                        "asks for a human ({:.2}): at least medium",
                        s.asks_for_human
                    );
                    (Route::Remote, Bucket::Medium, why)
                }
                Bucket::Low => (Route::Incubation, bucket, "low score".into()),
            }
        };
        Decision {
            route,
            bucket,
            reason: format!("{reason} (p={probability:.3})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        let mut per_campaign = HashMap::new();
        per_campaign.insert(
            CampaignId::parse("strict").unwrap(),
            Thresholds {
                high: 0.9,
                medium: 0.5,
            },
        );
        Policy {
            default: Thresholds {
                high: 0.3,
                medium: 0.1,
            },
            per_campaign,
            intent_threshold: 0.5,
        }
    }

    fn decide(p: f64, human: f64, complaint: f64, dnc: bool) -> Decision {
        let s = Signals {
            asks_for_human: human,
            complaint,
            do_not_contact: dnc,
        };
        policy().decide(&CampaignId::parse("c").unwrap(), p, s)
    }

    #[test]
    fn thresholds_are_inclusive_lower_bounds() {
        let t = policy().default;
        assert_eq!(t.bucket(0.3), Bucket::High);
        assert_eq!(t.bucket(0.29), Bucket::Medium);
        assert_eq!(t.bucket(0.1), Bucket::Medium);
        assert_eq!(t.bucket(0.05), Bucket::Low);
    }

    #[test]
    fn a_campaign_uses_its_own_thresholds() {
        let p = policy();
        let strict = CampaignId::parse("strict").unwrap();
        assert_eq!(
            p.decide(&strict, 0.4, Signals::default()).bucket,
            Bucket::Low
        );
        assert_eq!(
            p.decide(
                &CampaignId::parse("other").unwrap(),
                0.4,
                Signals::default()
            )
            .bucket,
            Bucket::High
        );
    }

    #[test]
    fn asking_for_a_human_lifts_low_to_medium_and_says_so() {
        let d = decide(0.01, 0.9, 0.0, false);
        assert_eq!((d.route, d.bucket), (Route::Remote, Bucket::Medium));
        assert!(d.reason.starts_with("asks for a human"), "{}", d.reason);
        // Not below the intent threshold.
        assert_eq!(decide(0.01, 0.4, 0.0, false).route, Route::Incubation);
    }

    #[test]
    fn complaint_beats_the_score_and_do_not_contact_beats_both() {
        let d = decide(0.99, 0.0, 0.8, false);
        assert_eq!((d.route, d.bucket), (Route::ServiceFollowup, Bucket::High));
        assert_eq!(decide(0.99, 0.9, 0.8, true).route, Route::Suppressed);
        assert_eq!(decide(0.99, 0.0, 0.0, false).route, Route::Referral);
        assert_eq!(decide(0.2, 0.0, 0.0, false).route, Route::Remote);
    }
}
