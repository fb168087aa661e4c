//! How the client verbs print things: local date-times, enum labels, a lead
//! summary, a destination, aligned columns.

use funnel::api::pb;
use prost_types::Timestamp;

/// A protobuf timestamp as a date-time in the local time zone (`TZ`, else
/// the system's), e.g. `2026-11-24 14:05:31 +08:00`; `-` when unset.
pub fn time(t: Option<&Timestamp>) -> String {
    time_in(t, &chrono::Local)
}

fn time_in<Tz: chrono::TimeZone>(t: Option<&Timestamp>, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let Some(t) = t else {
        return "-".into();
    };
    match chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)) {
        Some(utc) => utc
            .with_timezone(tz)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        None => format!("(invalid time: {} s)", t.seconds),
    }
}

/// An enum label for people: `LEAD_STATE_REMOTE_QUEUED` → `remote_queued`,
/// `UNSPECIFIED` (0) → `-`, a value this client does not know → `unknown(n)`.
macro_rules! label {
    ($name:ident, $enum:ty, $prefix:literal) => {
        pub fn $name(v: i32) -> String {
            match <$enum>::try_from(v) {
                Ok(_) if v == 0 => "-".into(),
                Ok(e) => e
                    .as_str_name()
                    .trim_start_matches($prefix)
                    .to_ascii_lowercase(),
                Err(_) => format!("unknown({v})"),
            }
        }
    };
}

label!(state, pb::LeadState, "LEAD_STATE_");
label!(product, pb::Product, "PRODUCT_");
label!(bucket, pb::Bucket, "BUCKET_");
label!(tier, pb::ManagerTier, "MANAGER_TIER_");
label!(intent, pb::Intent, "INTENT_");
label!(destination_kind, pb::DestinationKind, "DESTINATION_KIND_");
label!(queue, pb::QueueKind, "QUEUE_KIND_");
label!(withdraw_reason, pb::WithdrawReason, "WITHDRAW_REASON_");

/// `-` for an empty string.
pub fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// `yes` or `no`.
pub fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Where a lead went: `referral_offered to o1 (east / east-sh-pudong)`.
pub fn destination(d: Option<&pb::Destination>) -> String {
    let Some(d) = d else {
        return "-".into();
    };
    let to = if d.manager_id.is_empty() {
        String::new()
    } else {
        format!(" to {}", d.manager_id)
    };
    format!(
        "{}{to} ({} / {})",
        destination_kind(d.kind),
        or_dash(&d.region_id),
        or_dash(&d.branch_id)
    )
}

/// Where a completed lead went: its new state and destination.
pub fn print_moved(state_now: i32, d: Option<&pb::Destination>) {
    println!("{}  {}", state(state_now), destination(d));
}

/// A lead's essentials, its times and the reasons behind its score.
pub fn print_summary(l: &pb::LeadSummary) {
    let score = l.score.as_ref();
    println!(
        "lead {}  {}  {}  score {} ({})  owner {}  attempts {}",
        l.lead_id,
        state(l.state),
        product(l.product),
        score.map_or("-".into(), |s| s.score.to_string()),
        score.map_or("-".into(), |s| bucket(s.bucket)),
        or_dash(&l.owner_manager_id),
        l.attempts
    );
    println!(
        "    customer {}  campaign {}  region {}  branch {}",
        l.customer_id, l.campaign_id, l.region_id, l.branch_id
    );
    print!(
        "    created {}  updated {}",
        time(l.created_at.as_ref()),
        time(l.updated_at.as_ref())
    );
    match &l.callback_at {
        Some(t) => println!("  call back {}", time(Some(t))),
        None => println!(),
    }
    for r in score.map(|s| s.reasons.as_slice()).unwrap_or_default() {
        println!("    {:+.3}  {} {}", r.weight, r.name, r.value);
    }
}

/// Rows in columns padded to the widest cell; the last column is not padded.
pub fn print_table(rows: &[Vec<String>]) {
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..rows.iter().map(Vec::len).max().unwrap_or(0))
        .map(width)
        .collect();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        println!("{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_date_times_with_their_offset() {
        let t = Timestamp {
            seconds: 1_795_523_529,
            nanos: 500_000_000,
        };
        let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(time_in(Some(&t), &shanghai), "2026-11-24 20:32:09 +08:00");
        let new_york = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
        assert_eq!(time_in(Some(&t), &new_york), "2026-11-24 07:32:09 -05:00");
        assert_eq!(time_in(None, &shanghai), "-");
        let absurd = Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert_eq!(
            time_in(Some(&absurd), &shanghai),
            format!("(invalid time: {} s)", i64::MAX)
        );
    }

    #[test]
    fn labels_drop_the_prefix_and_show_unset_as_a_dash() {
        assert_eq!(state(pb::LeadState::RemoteQueued as i32), "remote_queued");
        assert_eq!(state(0), "-");
        assert_eq!(product(pb::Product::CreditCard as i32), "credit_card");
        assert_eq!(bucket(99), "unknown(99)");
    }
}
