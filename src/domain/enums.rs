//! Closed sets of values: products, tiers, states, outcomes, routes.

use super::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                match raw {
                    $($s => Ok($name::$variant),)+
                    other => Err(DomainError::new($field, format!("unknown value {other:?}"))),
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(
    /// The products a campaign sells; managers are qualified per product.
    Product, "product" {
        Wealth => "wealth",
        Fund => "fund",
        Deposit => "deposit",
        Insurance => "insurance",
        CreditCard => "credit_card",
        Loan => "loan",
    }
);

str_enum!(
    /// The funnel tier a score falls into.
    Bucket, "bucket" {
        High => "high",
        Medium => "medium",
        Low => "low",
    }
);

str_enum!(
    /// Remote (pulls a nurture queue) or offline (branch; receives referrals).
    ManagerTier, "tier" {
        Remote => "remote",
        Offline => "offline",
    }
);

str_enum!(
    /// Where a lead is in its lifecycle. Exactly one state, one place.
    LeadState, "state" {
        /// Offered to an offline manager, waiting for accept/decline within the SLA.
        ReferralOffered => "referral_offered",
        /// Accepted by an offline manager, who holds it.
        ReferralAccepted => "referral_accepted",
        /// High score but no eligible offline manager in the branch yet.
        BranchUnassigned => "branch_unassigned",
        /// In a remote nurture queue (a manager's own, or the region's pool).
        RemoteQueued => "remote_queued",
        /// Pulled by a remote manager under a lease.
        RemoteLeased => "remote_leased",
        /// A remote manager asked to call back at a set time.
        RemoteCallback => "remote_callback",
        /// Low score: parked for re-engagement.
        Incubating => "incubating",
        /// Complaint: no sales routing, a service follow-up instead.
        ServiceFollowup => "service_followup",
        /// Do-not-contact: nothing is routed.
        Suppressed => "suppressed",
        ClosedConverted => "closed_converted",
        ClosedNotInterested => "closed_not_interested",
        /// Incubated for longer than the configured age.
        ClosedExpired => "closed_expired",
    }
);

impl LeadState {
    /// A manager holds the lead: it is never taken away by a re-score.
    pub fn is_held(self) -> bool {
        matches!(self, Self::ReferralAccepted | Self::RemoteLeased)
    }
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Self::Suppressed
                | Self::ClosedConverted
                | Self::ClosedNotInterested
                | Self::ClosedExpired
        )
    }
}

str_enum!(
    /// What a remote manager records when done with a leased lead.
    RemoteOutcome, "outcome" {
        Converted => "converted",
        NotInterested => "not_interested",
        /// Re-queued to the same manager at the given time.
        CallBack => "call_back",
        /// Becomes a referral to an offline manager of the customer's branch.
        Escalate => "escalate",
        ReturnToIncubation => "return_to_incubation",
    }
);

str_enum!(
    /// What an offline manager records on an accepted referral.
    ReferralOutcome, "outcome" {
        Converted => "converted",
        NotInterested => "not_interested",
        /// Back-flow: hand the lead back to the remote nurture queue.
        ReturnToRemote => "return_to_remote",
        ReturnToIncubation => "return_to_incubation",
    }
);

str_enum!(
    /// Where the routing policy sends a freshly scored lead.
    Route, "route" {
        Referral => "referral",
        Remote => "remote",
        Incubation => "incubation",
        ServiceFollowup => "service_followup",
        Suppressed => "suppressed",
    }
);

str_enum!(
    /// Where a lead went: after ingestion (reported to the robot) or after a
    /// manager's action.
    DestinationKind, "destination" {
        ReferralOffered => "referral_offered",
        BranchUnassigned => "branch_unassigned",
        RemotePersonal => "remote_personal",
        RemotePool => "remote_pool",
        Incubation => "incubation",
        ServiceFollowup => "service_followup",
        Suppressed => "suppressed",
        /// A manager already holds the customer's lead; the new score was
        /// recorded but the lead was not moved.
        Held => "held",
        /// A manager's outcome closed the lead.
        Closed => "closed",
    }
);

str_enum!(
    /// Who spoke a turn of a conversation.
    Speaker, "speaker" {
        Robot => "robot",
        Customer => "customer",
    }
);

str_enum!(
    /// Why an offline manager declines an offer, counted per category in
    /// the funnel report (the free-text reason says the rest).
    DeclineCategory, "category" {
        /// No time for it now.
        NoCapacity => "no_capacity",
        /// Not this manager's customer or branch.
        NotMyCustomer => "not_my_customer",
        /// A product the manager does not handle, or not suitable.
        ProductMismatch => "product_mismatch",
        /// The customer is known to be unsuitable (risk profile, a recent refusal).
        CustomerUnsuitable => "customer_unsuitable",
        Other => "other",
    }
);
