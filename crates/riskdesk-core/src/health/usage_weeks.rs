//! An account's recent usage weeks as its usage summary keeps them, so a whole-book
//! recompute reads one summary row an account instead of its last twelve weekly rows
//! (1.2M rows at 100K accounts). Every usage measure and signal reads only those weeks,
//! and a usage write drops the summary (migration 27's triggers), so they are the
//! account's last weeks for as long as the summary stands.

use super::history::{epoch_day, from_epoch_day, unvarint, varint};
use crate::model::UsageWeek;
use crate::scorecard::facts::RECENT_WEEKS;

/// The last [`RECENT_WEEKS`] of `weeks` (oldest first): per week the days since the
/// previous one's start (the first: since 1970-01-01), then active users, seats, logins
/// and key-feature adoption, as variable-length integers: ~6 bytes a week.
pub(crate) fn pack(weeks: &[UsageWeek]) -> Vec<u8> {
    let recent = &weeks[weeks.len().saturating_sub(RECENT_WEEKS)..];
    let mut out = Vec::with_capacity(recent.len() * 7);
    let mut day = 0;
    for w in recent {
        let d = epoch_day(w.week_start);
        varint(&mut out, d - day);
        day = d;
        for v in [
            w.active_users,
            w.licensed_seats,
            w.logins,
            w.key_feature_adoption,
        ] {
            varint(&mut out, i64::from(v));
        }
    }
    out
}

/// Reads `pack`'s form back as `account_id`'s weeks; None when it is damaged (the caller
/// then reads the account's weeks from the table).
pub(crate) fn unpack(stored: &[u8], account_id: &str) -> Option<Vec<UsageWeek>> {
    let mut out = Vec::with_capacity(RECENT_WEEKS);
    let mut rest = stored;
    let mut day = 0;
    while !rest.is_empty() {
        day += take(&mut rest)?;
        let mut value = || i32::try_from(take(&mut rest)?).ok();
        let (active_users, licensed_seats, logins, key_feature_adoption) =
            (value()?, value()?, value()?, value()?);
        out.push(UsageWeek {
            account_id: account_id.to_string(),
            week_start: from_epoch_day(day)?,
            active_users,
            licensed_seats,
            logins,
            key_feature_adoption,
        });
    }
    Some(out)
}

fn take(rest: &mut &[u8]) -> Option<i64> {
    let (v, tail) = unvarint(rest)?;
    *rest = tail;
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};

    fn week(start: NaiveDate, n: i32) -> UsageWeek {
        UsageWeek {
            account_id: "a".into(),
            week_start: start,
            active_users: n,
            licensed_seats: 40 + n,
            logins: 9_000 + n * 31,
            key_feature_adoption: n % 101,
        }
    }

    #[test]
    fn the_last_twelve_weeks_read_back_as_written() {
        let first = NaiveDate::from_ymd_opt(2026, 3, 2).expect("day");
        // Weekly, then a gap of a month, and one week out of step.
        let mut weeks: Vec<UsageWeek> = (0..15)
            .map(|i| week(first + Duration::days(7 * i), i as i32))
            .collect();
        weeks.push(week(first + Duration::days(7 * 19), 0));
        weeks.push(week(first + Duration::days(7 * 19 + 3), 200_000));
        let packed = pack(&weeks);
        assert_eq!(
            unpack(&packed, "a"),
            Some(weeks[weeks.len() - RECENT_WEEKS..].to_vec())
        );
        assert!(packed.len() < RECENT_WEEKS * 8, "{} bytes", packed.len());
        // Fewer weeks than twelve: all of them; none: none.
        assert_eq!(unpack(&pack(&weeks[..3]), "a"), Some(weeks[..3].to_vec()));
        assert_eq!(unpack(&pack(&[]), "a"), Some(Vec::new()));
    }

    #[test]
    fn a_damaged_summary_is_not_read_as_weeks() {
        let first = NaiveDate::from_ymd_opt(2026, 3, 2).expect("day");
        let packed = pack(&[week(first, 3), week(first + Duration::days(7), 4)]);
        // Cut inside a week, and a value too large for a count.
        assert_eq!(unpack(&packed[..packed.len() - 1], "a"), None);
        let mut huge = Vec::new();
        varint(&mut huge, 20_000);
        for v in [1, i64::from(i32::MAX) + 1, 0, 0] {
            varint(&mut huge, v);
        }
        assert_eq!(unpack(&huge, "a"), None);
        assert_eq!(unpack(&[0xff; 3], "a"), None);
    }
}
