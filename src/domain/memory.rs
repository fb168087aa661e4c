//! What the customer told us before beats what one call says: a remembered
//! do-not-contact, a complaint's cool-off, a cap on sales contacts.

use super::{Decision, Route};

/// What is remembered of a customer, as the policy needs it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Memory {
    pub do_not_contact: bool,
    /// A complaint's cool-off has not ended.
    pub complaint_active: bool,
    /// Sales hand-offs within the contact window.
    pub recent_sales_contacts: u32,
}

impl Route {
    /// A route that hands the customer to sales (a branch or a remote manager).
    pub fn is_sales(self) -> bool {
        matches!(self, Route::Referral | Route::Remote)
    }
}

/// The decision after the customer's memory: do-not-contact suppresses, a
/// complaint cool-off keeps sales away, and past `contact_cap` sales
/// hand-offs the lead incubates. The reason says which rule applied.
pub fn remembered(d: Decision, m: &Memory, contact_cap: u32) -> Decision {
    let (route, reason) = if m.do_not_contact {
        (
            Route::Suppressed,
            "customer is do-not-contact (remembered)".to_string(),
        )
    } else if m.complaint_active && d.route.is_sales() {
        (
            Route::ServiceFollowup,
            "complaint cool-off: service follow-up, no sales routing".to_string(),
        )
    } else if d.route.is_sales() && m.recent_sales_contacts >= contact_cap {
        (
            Route::Incubation,
            format!(
                "contact cap: {} sales hand-offs in the window",
                m.recent_sales_contacts
            ),
        )
    } else {
        return d;
    };
    Decision {
        route,
        reason: format!("{reason}; {}", d.reason),
        ..d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Bucket;

    fn sales() -> Decision {
        Decision {
            route: Route::Referral,
            bucket: Bucket::High,
            reason: "high score".into(),
        }
    }

    #[test]
    fn memory_beats_the_call() {
        let none = Memory::default();
        assert_eq!(remembered(sales(), &none, 2), sales());
        let dnc = Memory {
            do_not_contact: true,
            ..none
        };
        assert_eq!(remembered(sales(), &dnc, 2).route, Route::Suppressed);
        let complained = Memory {
            complaint_active: true,
            ..none
        };
        assert_eq!(
            remembered(sales(), &complained, 2).route,
            Route::ServiceFollowup
        );
        let busy = Memory {
            recent_sales_contacts: 2,
            ..none
        };
        let d = remembered(sales(), &busy, 2);
        assert_eq!(d.route, Route::Incubation);
        assert!(d.reason.starts_with("contact cap"), "{}", d.reason);
        // Not a sales route: nothing to cap or cool off.
        let low = Decision {
            route: Route::Incubation,
            ..sales()
        };
        assert_eq!(remembered(low.clone(), &busy, 2), low);
        assert_eq!(remembered(low.clone(), &complained, 2), low);
    }
}
