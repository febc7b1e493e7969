//! An account's usage weeks packed into one value, as `usage_packed` holds them
//! (migration 40), and the utilizations its usage summary keeps. A whole-book recompute of
//! an account with a kept summary builds only the last weeks, which every usage measure
//! and signal reads; a usage write drops the summary (migration 40's triggers), so they
//! are the account's last weeks for as long as the summary stands.

use super::reader::{epoch_day, from_epoch_day};
use super::varint::{unvarint, varint};
use crate::model::UsageWeek;
use crate::scorecard::facts::RECENT_WEEKS;

/// Every one of `weeks` (oldest first), as `usage_packed` holds an account's usage
/// (migration 40): per week the days since the previous one's start (the first: since
/// 1970-01-01), then active users, seats, logins and key-feature adoption, as
/// variable-length integers: ~6 bytes a week.
pub(crate) fn pack_all(weeks: &[UsageWeek]) -> Vec<u8> {
    let mut out = Vec::with_capacity(weeks.len() * 7);
    let mut day = 0;
    for w in weeks {
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

/// Utilizations as a usage summary keeps them: each number's 8 bytes, little-endian, so
/// it reads back bit for bit.
pub(crate) fn shares(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `shares` read back; None when the length is not whole numbers.
pub(crate) fn unshares(b: &[u8]) -> Option<Vec<f64>> {
    b.len().is_multiple_of(8).then(|| {
        b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect()
    })
}

/// The last [`RECENT_WEEKS`] of `pack_all`'s form, as `unpack` reads them: a whole-book
/// recompute's read of an account with a kept summary, which builds no week it drops.
pub(crate) fn unpack_recent(stored: &[u8], account_id: &str) -> Option<Vec<UsageWeek>> {
    unpack_last(stored, account_id, RECENT_WEEKS)
}

/// Reads `pack_all`'s form back as `account_id`'s weeks; None when it is damaged (a
/// caller refuses it with [`unreadable`]).
pub(crate) fn unpack(stored: &[u8], account_id: &str) -> Option<Vec<UsageWeek>> {
    unpack_last(stored, account_id, usize::MAX)
}

/// The last `keep` weeks of `pack_all`'s form; every week is decoded, only those built.
fn unpack_last(stored: &[u8], account_id: &str, keep: usize) -> Option<Vec<UsageWeek>> {
    // A recent read keeps its weeks' numbers in a ring on the stack: a whole book decodes
    // 100K accounts' weeks, and a list of every week per account was a tenth of its read.
    const RING: usize = 16;
    let build = |[day, active, seats, logins, adoption]: [i64; 5]| {
        Some(UsageWeek {
            account_id: account_id.to_string(),
            week_start: from_epoch_day(day)?,
            active_users: i32::try_from(active).ok()?,
            licensed_seats: i32::try_from(seats).ok()?,
            logins: i32::try_from(logins).ok()?,
            key_feature_adoption: i32::try_from(adoption).ok()?,
        })
    };
    let mut rest = stored;
    let mut day = 0;
    let mut next = || -> Option<Option<[i64; 5]>> {
        if rest.is_empty() {
            return Some(None);
        }
        day += take(&mut rest)?;
        Some(Some([
            day,
            take(&mut rest)?,
            take(&mut rest)?,
            take(&mut rest)?,
            take(&mut rest)?,
        ]))
    };
    if keep > RING {
        let mut numbers: Vec<[i64; 5]> = Vec::with_capacity(stored.len() / 6 + 1);
        while let Some(week) = next()? {
            numbers.push(week);
        }
        return numbers[numbers.len().saturating_sub(keep)..]
            .iter()
            .map(|w| build(*w))
            .collect();
    }
    let mut ring = [[0i64; 5]; RING];
    let mut n = 0;
    while let Some(week) = next()? {
        ring[n % RING] = week;
        n += 1;
    }
    (n - n.min(keep)..n)
        .map(|i| build(ring[i % RING]))
        .collect()
}

/// The refusal when an account's held weeks do not read back: never read as no usage.
pub(crate) fn unreadable(account_id: &str) -> crate::Error {
    crate::Error::invalid(
        format!("usage of account {account_id}"),
        "the weeks the store holds do not read back",
    )
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
    fn weeks_read_back_as_written() {
        let first = NaiveDate::from_ymd_opt(2026, 3, 2).expect("day");
        // Weekly, then a gap of a month, and one week out of step.
        let mut weeks: Vec<UsageWeek> = (0..15)
            .map(|i| week(first + Duration::days(7 * i), i as i32))
            .collect();
        weeks.push(week(first + Duration::days(7 * 19), 0));
        weeks.push(week(first + Duration::days(7 * 19 + 3), 200_000));
        let packed = pack_all(&weeks);
        assert_eq!(unpack(&packed, "a"), Some(weeks.clone()));
        assert!(packed.len() < weeks.len() * 8, "{} bytes", packed.len());
        // The recent read: the last twelve, or all of fewer; none: none.
        assert_eq!(
            unpack_recent(&packed, "a"),
            Some(weeks[weeks.len() - RECENT_WEEKS..].to_vec())
        );
        let few = pack_all(&weeks[..3]);
        assert_eq!(unpack_recent(&few, "a"), Some(weeks[..3].to_vec()));
        assert_eq!(unpack(&few, "a"), Some(weeks[..3].to_vec()));
        assert_eq!(unpack(&pack_all(&[]), "a"), Some(Vec::new()));
        assert_eq!(unpack_recent(&pack_all(&[]), "a"), Some(Vec::new()));
    }

    #[test]
    fn a_damaged_summary_is_not_read_as_weeks() {
        let first = NaiveDate::from_ymd_opt(2026, 3, 2).expect("day");
        let packed = pack_all(&[week(first, 3), week(first + Duration::days(7), 4)]);
        // Cut inside a week, and a value too large for a count.
        assert_eq!(unpack(&packed[..packed.len() - 1], "a"), None);
        assert_eq!(unpack_recent(&packed[..packed.len() - 1], "a"), None);
        let mut huge = Vec::new();
        varint(&mut huge, 20_000);
        for v in [1, i64::from(i32::MAX) + 1, 0, 0] {
            varint(&mut huge, v);
        }
        assert_eq!(unpack(&huge, "a"), None);
        assert_eq!(unpack_recent(&huge, "a"), None);
        assert_eq!(unpack(&[0xff; 3], "a"), None);
        assert_eq!(unpack_recent(&[0xff; 3], "a"), None);
    }

    /// The recent read of a long history (weeks well past the ring it keeps them in) is
    /// its last weeks, and a week it drops is not read (a count too large for one in it
    /// fails only the whole read).
    #[test]
    fn a_long_history_reads_its_last_weeks() {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).expect("day");
        let weeks: Vec<UsageWeek> = (0..41)
            .map(|i| week(first + Duration::days(7 * i), i as i32))
            .collect();
        let packed = pack_all(&weeks);
        assert_eq!(
            unpack_recent(&packed, "a"),
            Some(weeks[weeks.len() - RECENT_WEEKS..].to_vec())
        );
        let mut early = Vec::new();
        varint(&mut early, epoch_day(first - Duration::days(7)));
        for v in [1, i64::from(i32::MAX) + 1, 0, 0] {
            varint(&mut early, v);
        }
        // The weeks after it, the first 7 days on.
        let (_, tail) = unvarint(&packed).expect("first day");
        let mut joined = early;
        varint(&mut joined, 7);
        joined.extend_from_slice(tail);
        assert_eq!(unpack(&joined, "a"), None);
        assert_eq!(
            unpack_recent(&joined, "a"),
            Some(weeks[weeks.len() - RECENT_WEEKS..].to_vec())
        );
    }

    /// Every length of history, and every cut of one: the recent read is the last weeks of
    /// what reads whole, and a history cut anywhere but between weeks does not read.
    #[test]
    fn the_recent_read_is_the_tail_of_the_whole_one_at_every_length_and_cut() {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).expect("day");
        let weeks: Vec<UsageWeek> = (0..60)
            .map(|i| week(first + Duration::days(7 * i + i % 3), (i as i32 * 37) % 500))
            .collect();
        for n in 0..=weeks.len() {
            let packed = pack_all(&weeks[..n]);
            let whole = unpack(&packed, "a").expect("reads whole");
            assert_eq!(whole, weeks[..n].to_vec());
            let recent = unpack_recent(&packed, "a").expect("reads recent");
            assert_eq!(
                recent,
                whole[n.saturating_sub(RECENT_WEEKS)..].to_vec(),
                "{n} weeks"
            );
        }
        let packed = pack_all(&weeks[..20]);
        let ends: Vec<usize> = (1..=20).map(|n| pack_all(&weeks[..n]).len()).collect();
        for cut in 0..packed.len() {
            let between_weeks = cut == 0 || ends.contains(&cut);
            assert_eq!(
                unpack_recent(&packed[..cut], "a").is_some(),
                between_weeks,
                "cut at byte {cut}"
            );
            assert_eq!(
                unpack(&packed[..cut], "a").is_some(),
                between_weeks,
                "cut at byte {cut}"
            );
        }
    }

    #[test]
    fn shares_read_back_bit_for_bit() {
        let v = [
            16.666666666666664,
            0.1 + 0.2,
            -0.0,
            f64::MIN_POSITIVE,
            100.0,
        ];
        let back = unshares(&shares(&v)).expect("whole numbers");
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(unshares(&[]), Some(Vec::new()));
        assert_eq!(unshares(&[0; 7]), None);
    }
}
