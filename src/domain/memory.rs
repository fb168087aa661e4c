//! What the customer told us before beats what one call says: a remembered
//! do-not-contact, a complaint's cool-off, a cap on sales contacts.

use super::Route;

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

/// Where the customer's memory sends a lead the call would send to
/// `route`, and why; `None` when it does not change it. Do-not-contact
/// suppresses, a complaint cool-off keeps sales away, and past
/// `contact_cap` sales hand-offs the lead incubates.
pub fn remembered(route: Route, m: &Memory, contact_cap: u32) -> Option<(Route, String)> {
    if m.do_not_contact {
        Some((
            Route::Suppressed,
            "customer is do-not-contact (remembered)".into(),
        ))
    } else if m.complaint_active && route.is_sales() {
        let why = "complaint cool-off: service follow-up, no sales routing";
        Some((Route::ServiceFollowup, why.into()))
    } else if route.is_sales() && m.recent_sales_contacts >= contact_cap {
        let why = format!(
            "contact cap: {} sales hand-offs in the window",
            m.recent_sales_contacts
        );
        Some((Route::Incubation, why))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(r: Route, m: Memory) -> Route {
        remembered(r, &m, 2).map_or(r, |(r, _)| r)
    }

    #[test]
    fn memory_beats_the_call() {
        let none = Memory::default();
        assert_eq!(remembered(Route::Referral, &none, 2), None);
        let dnc = Memory {
            do_not_contact: true,
            ..none
        };
        assert_eq!(route(Route::Referral, dnc), Route::Suppressed);
        assert_eq!(route(Route::Incubation, dnc), Route::Suppressed);
        let complained = Memory {
            complaint_active: true,
            ..none
        };
        assert_eq!(route(Route::Remote, complained), Route::ServiceFollowup);
        let busy = Memory {
            recent_sales_contacts: 2,
            ..none
        };
        let (r, why) = remembered(Route::Referral, &busy, 2).unwrap();
        assert_eq!(r, Route::Incubation);
        assert!(why.starts_with("contact cap"), "{why}");
        // Not a sales route: nothing to cap or cool off.
        assert_eq!(remembered(Route::Incubation, &busy, 2), None);
        assert_eq!(remembered(Route::Incubation, &complained, 2), None);
        let once = Memory {
            recent_sales_contacts: 1,
            ..none
        };
        assert_eq!(route(Route::Referral, once), Route::Referral);
    }
}
