//! The routing policy: thresholds on the calibrated probability, then the
//! rules that beat the score. Pure: the service feeds it the scorer's output.
//! What the customer told us on earlier calls (do-not-contact, a complaint's
//! cool-off, the contact cap) beats this decision in turn; those rules run
//! inside the ingest script (`routing/lua/includes/memory.lua`), atomically
//! with routing the lead.

use super::{Bucket, CampaignId, Route};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The wealth tier: `aum_band` 3 and up (500k CNY and more). An interested
/// customer in it is referred to a branch manager whatever the score (the
/// reviewers' "high": clearly interested, with means). Mirrored in
/// training/funnel_training/handwritten.py (`AFFLUENT_AUM_BAND`).
pub const AFFLUENT_AUM_BAND: f64 = 3.0;

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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signals {
    /// Probability that the customer asks for a human.
    pub asks_for_human: f64,
    /// Probability that the customer complains.
    pub complaint: f64,
    /// The model's most probable intent (an intent counts when it is the top
    /// one or reaches the intent threshold).
    pub top_intent: String,
    /// The robot flagged the customer as do-not-contact.
    pub do_not_contact: bool,
    /// The text model's probability that the customer asked not to be
    /// contacted again.
    pub do_not_contact_request: f64,
    /// Compliance lexicon hits in the customer's words. Each beats the model.
    pub lexicon: LexiconSignals,
    /// The customer's assets-under-management band as the robot sent it
    /// (`None` if it did not: the wealth-tier rule then never applies).
    pub aum_band: Option<f64>,
}

/// The first compliance-lexicon hit of each kind, as "rule (pattern)".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LexiconSignals {
    pub complaint: Option<String>,
    pub do_not_contact: Option<String>,
    pub asks_for_human: Option<String>,
}

/// Where a scored lead goes, the bucket it is reported in and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub route: Route,
    /// The bucket after the rules (an interested customer in the wealth tier
    /// is high; asking for a human lifts low to medium).
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

    /// Order matters: do-not-contact (the CRM flag, a lexicon hit, or the
    /// model's do-not-contact probability at the intent threshold) beats a
    /// complaint (a lexicon hit, or the model's top intent, or its probability
    /// at the threshold), which beats any score; interest as the top intent
    /// from a customer in the wealth tier (`aum_band` >= AFFLUENT_AUM_BAND)
    /// makes the lead high whatever the score; asking for a human (likewise)
    /// lifts a low score to medium, and so does interest as the top intent
    /// (reviewers never leave an interested customer in the incubation pool).
    /// Both interest rules were chosen by cross-validation on the hand-written
    /// dev calls, see the model card.
    /// A lexicon hit always wins over the model and is named in the reason.
    pub fn decide(&self, campaign: &CampaignId, probability: f64, s: Signals) -> Decision {
        let bucket = self.thresholds(campaign).bucket(probability);
        let t = self.intent_threshold;
        let lex = &s.lexicon;
        let complaint = s.complaint >= t || s.top_intent == "complaint";
        let human = s.asks_for_human >= t || s.top_intent == "asks_for_human";
        let (route, bucket, reason) = if s.do_not_contact {
            (
                Route::Suppressed,
                bucket,
                "customer is do-not-contact".into(),
            )
        } else if let Some(hit) = &lex.do_not_contact {
            let why = format!("do-not-contact request, lexicon {hit}: nothing routed");
            (Route::Suppressed, bucket, why)
        } else if s.do_not_contact_request >= t {
            let why = format!(
                "do-not-contact request ({:.2}): nothing routed",
                s.do_not_contact_request
            );
            (Route::Suppressed, bucket, why)
        } else if let Some(hit) = &lex.complaint {
            let why = format!("complaint, lexicon {hit}: service follow-up, no sales routing");
            (Route::ServiceFollowup, bucket, why)
        } else if complaint {
            let why = format!(
                "complaint ({:.2}): service follow-up, no sales routing",
                s.complaint
            );
            (Route::ServiceFollowup, bucket, why)
        } else if bucket != Bucket::High
            && s.top_intent == "interested"
            && s.aum_band.is_some_and(|b| b >= AFFLUENT_AUM_BAND)
        {
            let why = format!(
                "interested customer in the wealth tier (aum_band {}): high",
                s.aum_band.unwrap_or_default()
            );
            (Route::Referral, Bucket::High, why)
        } else {
            match bucket {
                Bucket::High => (Route::Referral, bucket, "high score".into()),
                Bucket::Medium => (Route::Remote, bucket, "medium score".into()),
                Bucket::Low if lex.asks_for_human.is_some() => {
                    let why = format!(
                        "asks for a human, lexicon {}: at least medium",
                        lex.asks_for_human.as_deref().unwrap_or_default()
                    );
                    (Route::Remote, Bucket::Medium, why)
                }
                Bucket::Low if human => {
                    let why = format!(
                        "asks for a human ({:.2}): at least medium",
                        s.asks_for_human
                    );
                    (Route::Remote, Bucket::Medium, why)
                }
                Bucket::Low if s.top_intent == "interested" => {
                    let why = "customer is interested (top intent): at least medium".to_string();
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
            ..Signals::default()
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
        // Not below the intent threshold (unless it is the top intent).
        assert_eq!(decide(0.01, 0.4, 0.0, false).route, Route::Incubation);
        let top = Signals {
            asks_for_human: 0.4,
            top_intent: "asks_for_human".into(),
            ..Signals::default()
        };
        let d = policy().decide(&CampaignId::parse("c").unwrap(), 0.01, top);
        assert_eq!(d.route, Route::Remote);
    }

    #[test]
    fn interest_as_the_top_intent_lifts_low_to_medium() {
        let s = |top: &str| Signals {
            top_intent: top.into(),
            ..Signals::default()
        };
        let c = CampaignId::parse("c").unwrap();
        let d = policy().decide(&c, 0.01, s("interested"));
        assert_eq!((d.route, d.bucket), (Route::Remote, Bucket::Medium));
        assert!(
            d.reason.starts_with("customer is interested"),
            "{}",
            d.reason
        );
        // Only low is lifted; other intents stay low.
        assert_eq!(
            policy().decide(&c, 0.5, s("interested")).bucket,
            Bucket::High
        );
        let d = policy().decide(&c, 0.01, s("call_back_later"));
        assert_eq!((d.route, d.bucket), (Route::Incubation, Bucket::Low));
        // A complaint still wins over interest.
        let both = Signals {
            complaint: 0.6,
            ..s("interested")
        };
        assert_eq!(
            policy().decide(&c, 0.01, both).route,
            Route::ServiceFollowup
        );
    }

    #[test]
    fn an_interested_customer_in_the_wealth_tier_is_high() {
        let s = |top: &str, aum: Option<f64>| Signals {
            top_intent: top.into(),
            aum_band: aum,
            ..Signals::default()
        };
        let c = CampaignId::parse("c").unwrap();
        for p in [0.01, 0.2] {
            let d = policy().decide(&c, p, s("interested", Some(3.0)));
            assert_eq!((d.route, d.bucket), (Route::Referral, Bucket::High));
            assert!(d.reason.contains("wealth tier"), "{}", d.reason);
        }
        // Below the wealth tier, or no band sent: the ordinary rules.
        let d = policy().decide(&c, 0.01, s("interested", Some(2.0)));
        assert_eq!((d.route, d.bucket), (Route::Remote, Bucket::Medium));
        let d = policy().decide(&c, 0.01, s("interested", None));
        assert_eq!((d.route, d.bucket), (Route::Remote, Bucket::Medium));
        // Only interest: asking for a human in the wealth tier stays on the score.
        let d = policy().decide(&c, 0.2, s("asks_for_human", Some(5.0)));
        assert_eq!((d.route, d.bucket), (Route::Remote, Bucket::Medium));
        // A high score keeps its own reason.
        let d = policy().decide(&c, 0.5, s("interested", Some(4.0)));
        assert_eq!(d.reason.split(" (p=").next(), Some("high score"));
        // Complaints and do-not-contact still win.
        let complaint = Signals {
            complaint: 0.6,
            ..s("interested", Some(5.0))
        };
        assert_eq!(
            policy().decide(&c, 0.01, complaint).route,
            Route::ServiceFollowup
        );
        let dnc = Signals {
            do_not_contact: true,
            ..s("interested", Some(5.0))
        };
        assert_eq!(policy().decide(&c, 0.01, dnc).route, Route::Suppressed);
    }

    #[test]
    fn complaint_beats_the_score_and_do_not_contact_beats_both() {
        let d = decide(0.99, 0.0, 0.8, false);
        assert_eq!((d.route, d.bucket), (Route::ServiceFollowup, Bucket::High));
        assert_eq!(decide(0.99, 0.9, 0.8, true).route, Route::Suppressed);
        assert_eq!(decide(0.99, 0.0, 0.0, false).route, Route::Referral);
        assert_eq!(decide(0.2, 0.0, 0.0, false).route, Route::Remote);
    }

    fn lexicon(complaint: bool, dnc: bool, human: bool) -> LexiconSignals {
        let hit = |on: bool, rule: &str| on.then(|| format!("{rule} (pattern)"));
        LexiconSignals {
            complaint: hit(complaint, "complaint.explicit_zh"),
            do_not_contact: hit(dnc, "dnc.stop_calling_zh"),
            asks_for_human: hit(human, "human.transfer_zh"),
        }
    }

    fn decide_with(p: f64, model_dnc: f64, lex: LexiconSignals) -> Decision {
        let s = Signals {
            do_not_contact_request: model_dnc,
            lexicon: lex,
            ..Signals::default()
        };
        policy().decide(&CampaignId::parse("c").unwrap(), p, s)
    }

    #[test]
    fn lexicon_hits_beat_the_model_and_are_named() {
        // A complaint hit routes a top score to service follow-up.
        let d = decide_with(0.99, 0.0, lexicon(true, false, false));
        assert_eq!(d.route, Route::ServiceFollowup);
        assert!(d.reason.contains("complaint.explicit_zh"), "{}", d.reason);
        // A do-not-contact hit beats a complaint hit.
        let d = decide_with(0.99, 0.0, lexicon(true, true, true));
        assert_eq!(d.route, Route::Suppressed);
        assert!(d.reason.contains("dnc.stop_calling_zh"), "{}", d.reason);
        // Asking for a human lifts a low score to medium, whatever the model says.
        let d = decide_with(0.01, 0.0, lexicon(false, false, true));
        assert_eq!((d.route, d.bucket), (Route::Remote, Bucket::Medium));
        assert!(d.reason.contains("human.transfer_zh"), "{}", d.reason);
        // ... but does not lower a high one.
        assert_eq!(
            decide_with(0.99, 0.0, lexicon(false, false, true)).route,
            Route::Referral
        );
    }

    #[test]
    fn the_models_do_not_contact_request_suppresses_at_the_threshold() {
        assert_eq!(
            decide_with(0.99, 0.5, LexiconSignals::default()).route,
            Route::Suppressed
        );
        assert_eq!(
            decide_with(0.99, 0.49, LexiconSignals::default()).route,
            Route::Referral
        );
    }
}
