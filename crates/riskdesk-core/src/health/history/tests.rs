use chrono::{Duration, NaiveDate};

use super::*;
use crate::book::{self, BookSpec};
use crate::scorecard::{MeasureKind, MeasureResult, ScoreSource};
use crate::store::testing::{temp_store, test_day};
use crate::Store;

fn measure(kind: MeasureKind, raw: Option<f64>, score: Option<f64>, c: f64) -> MeasureResult {
    MeasureResult {
        kind,
        label: kind.label().into(),
        group: None,
        weight: 20.0,
        raw,
        raw_display: raw.map_or("no data".into(), |r| format!("{r}")),
        evidence: "seen in the data".into(),
        score,
        contribution: c,
        source: if score.is_some() {
            ScoreSource::Data
        } else {
            ScoreSource::Missing
        },
    }
}

#[test]
fn compact_measures_read_back_what_changes_need() {
    let ms = vec![
        measure(
            MeasureKind::SeatUtilization,
            Some(0.4123456),
            Some(41.26),
            12.345_67,
        ),
        measure(MeasureKind::OpenTickets, Some(3.0), Some(60.0), 5.0),
        measure(MeasureKind::NpsLatest, None, None, 0.0),
    ];
    let text = encode(&ms);
    assert_eq!(text, "su:0.412:41.3:12.35;ot:3:60:5;nl:::0");
    let back = decode(&text);
    assert_eq!(back.len(), 3);
    assert_eq!(back[0].kind, MeasureKind::SeatUtilization);
    assert_eq!(back[0].label, "Seat utilization");
    assert_eq!(back[0].raw, Some(0.412));
    assert_eq!(back[0].score, Some(41.3));
    assert_eq!(back[0].contribution, 12.35);
    assert_eq!(back[2].score, None);
    assert_eq!(back[2].source, ScoreSource::Missing);
    // Every kind has its own code.
    let all: Vec<MeasureResult> = MeasureKind::ALL
        .iter()
        .map(|k| measure(*k, Some(1.0), Some(50.0), 1.0))
        .collect();
    let kinds: Vec<MeasureKind> = decode(&encode(&all)).iter().map(|m| m.kind).collect();
    assert_eq!(kinds, MeasureKind::ALL);
    // A code a later version added is skipped, not an error.
    assert_eq!(decode("zz:1:2:3;ot:1:2:3").len(), 1);
    assert!(decode("").is_empty());
}

/// The binary form keeps exactly what the text form kept (the same rounding), in about
/// half the bytes; rows in the text form still read; damage ends the list, never panics.
#[test]
fn packed_measures_read_back_as_the_text_form_did() {
    let ms = vec![
        measure(
            MeasureKind::SeatUtilization,
            Some(0.412_345_6),
            Some(41.26),
            12.345_67,
        ),
        measure(MeasureKind::OpenTickets, Some(3.0), Some(60.0), 5.0),
        measure(MeasureKind::NpsLatest, None, None, 0.0),
        measure(
            MeasureKind::ActiveUserTrend,
            Some(-0.375),
            Some(12.0),
            -3.25,
        ),
        measure(MeasureKind::LoginFrequency, Some(123_456.789), None, 0.0),
        measure(MeasureKind::CsmSentiment, None, Some(100.0), 25.0),
    ];
    let packed = pack(&ms);
    let text = encode(&ms);
    assert!(
        packed.len() * 2 < text.len() + 10,
        "{} bytes packed, {} as text",
        packed.len(),
        text.len()
    );
    assert_eq!(unpack(&packed), decode(&text));
    assert_eq!(unpack(text.as_bytes()), decode(&text));
    for n in 0..packed.len() {
        let cut = unpack(&packed[..n]);
        assert!(cut.len() <= ms.len());
        assert_eq!(cut[..], decode(&text)[..cut.len()]);
    }
    assert!(
        unpack(&[1, 200, 0, 0]).is_empty(),
        "an unknown kind ends the list"
    );
    assert!(unpack(&[2, 31]).is_empty(), "so in the headed form");
    assert!(unpack(&[]).is_empty());
    // A measure without data is one byte, and a zero contribution is left out.
    assert_eq!(
        pack(&[measure(MeasureKind::NpsLatest, None, None, 0.0)]).len(),
        2
    );
    // Rows in the first binary form (two bytes a measure before its values, the
    // contribution always there) read as they did.
    let mut first = vec![1u8];
    for (number, flags, values) in [
        (0u8, 3u8, vec![412, 413, 1235]),
        (4, 3, vec![3000, 600, 500]),
        (6, 0, vec![0]),
        (1, 3, vec![-375, 120, -325]),
        (2, 1, vec![123_456_789, 0]),
        (11, 2, vec![1000, 2500]),
    ] {
        first.extend([number, flags]);
        for v in values {
            crate::health::history::varint(&mut first, v);
        }
    }
    assert_eq!(unpack(&first), decode(&text));
}

#[test]
fn recent_series_keeps_the_last_120_days() {
    let today = test_day();
    let points: Vec<(NaiveDate, f64)> = (0..200)
        .rev()
        .map(|i| (today - Duration::days(i), 50.0 + i as f64 / 3.0))
        .collect();
    let stored = encode_recent(&points, today);
    // A day apart and a third of a point each: about 3 bytes a day.
    assert!(stored.len() <= 4 + 3 * points.len(), "{}", stored.len());
    let back = decode_recent(&stored);
    assert_eq!(back.len(), RECENT_DAYS as usize + 1);
    assert_eq!(back[0].0, today - Duration::days(RECENT_DAYS));
    assert_eq!(back.last().map(|p| p.0), Some(today));
    assert!((back[0].1 - (50.0 + 40.0)).abs() < 0.01);
    assert!(decode_recent(b"").is_empty());
    assert_eq!(decode_recent(&encode_recent(&[], today)), vec![]);
}

/// The binary series reads back exactly what the text form stores wrote before it read
/// back (the same two-decimal rounding, bit for bit), across gaps, falls and rises.
#[test]
fn the_recent_series_reads_as_its_text_form_did() {
    let today = test_day();
    let points: Vec<(NaiveDate, f64)> = [
        (118, 99.999),
        (90, 0.004),
        (89, 100.0),
        (30, 63.125),
        (7, 12.345678),
        (1, 12.3456),
        (0, 87.65),
    ]
    .iter()
    .map(|(ago, s)| (today - Duration::days(*ago), *s))
    .collect();
    let text: String = points
        .iter()
        .map(|(d, s)| {
            format!(
                "{}:{}",
                (*d - NaiveDate::default()).num_days(),
                (s * 100.0).round() / 100.0
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let stored = encode_recent(&points, today);
    let back = decode_recent(&stored);
    assert_eq!(back, decode_recent(text.as_bytes()));
    assert_eq!(back.len(), points.len());
    assert!(
        stored.len() * 2 < text.len(),
        "{} bytes against {}",
        stored.len(),
        text.len()
    );
    // A damaged tail ends the series, never an error.
    assert_eq!(
        decode_recent(&stored[..stored.len() - 1]),
        back[..back.len() - 1]
    );
}

/// Dates read back moved on from the point before; each is the date its day number gives,
/// across a year's end, a leap day and gaps of every size up to the window.
#[test]
fn recent_dates_read_back_across_years_leap_days_and_gaps() {
    let today = NaiveDate::from_ymd_opt(2024, 3, 2).expect("day");
    let mut days: Vec<NaiveDate> = [
        (2023, 11, 4),
        (2023, 12, 30),
        (2023, 12, 31),
        (2024, 1, 1),
        (2024, 1, 2),
        (2024, 2, 28),
        (2024, 2, 29),
        (2024, 3, 1),
        (2024, 3, 2),
    ]
    .iter()
    .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(*y, *m, *d))
    .collect();
    days.sort();
    let points: Vec<(NaiveDate, f64)> = days
        .iter()
        .enumerate()
        .map(|(i, d)| (*d, 40.0 + i as f64))
        .collect();
    let back = decode_recent(&encode_recent(&points, today));
    assert_eq!(back, points);
    for (d, _) in &back {
        assert_eq!(Some(*d), from_epoch_day(epoch_day(*d)));
    }
}

async fn days_kept(store: &Store, account: &str) -> Vec<NaiveDate> {
    of_account(store.pool(), account)
        .await
        .expect("days")
        .into_iter()
        .map(|(day, ..)| day)
        .collect()
}

async fn row_number(store: &Store, account: &str) -> i64 {
    sqlx::query_scalar("SELECT rowid FROM accounts WHERE id = ?")
        .bind(account)
        .fetch_one(store.pool())
        .await
        .expect("row number")
}

#[tokio::test]
async fn retention_thins_history_by_age_and_only_what_aged() {
    let (_dir, store) = temp_store().await;
    let today = test_day();
    book::load(&store, &BookSpec::new(2, 3, today), |_, _| {})
        .await
        .expect("book");
    let account: String = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("account");
    // Three years of daily scores.
    let mut tx = store.write().await.expect("tx");
    for i in 0..(3 * 365) {
        let day = today - Duration::days(i);
        let e = Entry {
            account_id: &account,
            row: None,
            scorecard_id: "card",
            scorecard_version: 1,
            score: Some(60.0),
            band: Some("Green"),
            measures: "su:0.5:60:60".into(),
            digital: false,
        };
        write(&mut tx, &[e], day).await.expect("write");
    }
    let r = HistoryRetention::default();
    let key = row_number(&store, &account).await;
    tx.commit().await.expect("commit");
    let sealed = seal(&store, &[key], today, Reach::All).await.expect("seal");
    assert_eq!(sealed.rows, 3 * 365 - 1, "every row but today's sealed");
    let days = days_kept(&store, &account).await;
    assert_eq!(days.len() as u64 + sealed.thinned, 3 * 365);
    let daily_from = today - Duration::days(r.daily_days as i64);
    let weekly_from = today - Duration::days(r.weekly_days as i64);
    // Every day of the last 90 is kept.
    for i in 0..r.daily_days as i64 {
        assert!(days.contains(&(today - Duration::days(i))), "day -{i}");
    }
    // Between 90 days and two years: one a week, each the week's first (a Monday), a
    // week apart.
    let weekly: Vec<NaiveDate> = days
        .iter()
        .copied()
        .filter(|d| *d < week_start(daily_from) && *d >= weekly_from + Duration::days(31))
        .collect();
    assert!(weekly.len() > 80, "{} weekly", weekly.len());
    for w in weekly.windows(2) {
        assert_eq!((w[1] - w[0]).num_days(), 7, "{w:?}");
        assert_eq!(w[0].weekday(), chrono::Weekday::Mon);
    }
    // Older: one a month, the month's first.
    let monthly: Vec<NaiveDate> = days
        .iter()
        .copied()
        .filter(|d| *d < weekly_from - Duration::days(31))
        .collect();
    assert!(monthly.len() >= 8, "{monthly:?}");
    // (The first month holds data only from its 25th: that day is its first.)
    assert!(monthly.iter().skip(1).all(|d| d.day() == 1), "{monthly:?}");

    // The next day thins only what aged since, and a second prune the same day nothing.
    let tomorrow = today + Duration::days(1);
    let mut tx = store.write().await.expect("tx");
    let e = Entry {
        account_id: &account,
        row: None,
        scorecard_id: "card",
        scorecard_version: 1,
        score: Some(61.0),
        band: Some("Green"),
        measures: "su:0.5:61:61".into(),
        digital: false,
    };
    write(&mut tx, &[e], tomorrow).await.expect("write");
    tx.commit().await.expect("commit");
    // The daily seal reads only the quarters retention can have changed since a week
    // ago, and leaves nothing a seal of every quarter would still change.
    let next = seal(&store, &[key], tomorrow, Reach::Recent)
        .await
        .expect("seal");
    assert_eq!(next.rows, 1, "yesterday's row");
    assert_eq!(
        seal(&store, &[key], tomorrow, Reach::All)
            .await
            .expect("again"),
        Sealed::default()
    );
    let after = days_kept(&store, &account).await;
    let recent_weeks: Vec<NaiveDate> = after
        .iter()
        .copied()
        .filter(|d| *d < week_start(tomorrow - Duration::days(r.daily_days as i64)))
        .rev()
        .take(3)
        .collect();
    for w in recent_weeks.windows(2) {
        assert_eq!((w[0] - w[1]).num_days(), 7, "{recent_weeks:?}");
    }
}

#[test]
fn retention_settings_are_checked() {
    assert!(HistoryRetention::default().problems().is_empty());
    let short = HistoryRetention {
        daily_days: 30,
        weekly_days: 730,
    };
    assert!(short.problems()[0].contains("at least 90"));
    let inverted = HistoryRetention {
        daily_days: 200,
        weekly_days: 100,
    };
    assert!(inverted.problems()[0].contains("at least the daily"));
}

/// A store from before compact history keeps its history readable after the upgrade:
/// the same chart, and "what changed since" against the day before.
#[tokio::test]
async fn snapshots_from_before_the_upgrade_stay_readable() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    let today = test_day();
    let old = Store::open_before(&path, 20261201000018)
        .await
        .expect("old");
    crate::store::tests::load_in_old_layout(&old, &BookSpec::new(2, 5, today)).await;
    let account: String = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id LIMIT 1")
        .fetch_one(old.pool())
        .await
        .expect("account");
    let before = vec![
        measure(MeasureKind::SeatUtilization, Some(0.82), Some(82.0), 41.0),
        measure(MeasureKind::OpenTickets, Some(1.0), Some(90.0), 45.0),
    ];
    let now = vec![
        measure(MeasureKind::SeatUtilization, Some(0.41), Some(41.0), 20.5),
        measure(MeasureKind::OpenTickets, Some(1.0), Some(90.0), 45.0),
    ];
    let yesterday = today - Duration::days(1);
    for (i, (day, ms, score)) in [(yesterday, &before, 86.0), (today, &now, 65.5)]
        .into_iter()
        .enumerate()
    {
        sqlx::query(
            "INSERT INTO health_snapshots (id, account_id, day, kind, computed_at, scorecard_id, scorecard_name, scorecard_version, score, band, measures) \
             VALUES (?, ?, ?, 'daily', ?, 'card', 'Default', 3, ?, 'Green', ?)",
        )
        .bind(format!("snap-{i}"))
        .bind(&account)
        .bind(day)
        .bind(day.and_hms_opt(6, 0, 0).expect("time").and_utc())
        .bind(score)
        .bind(serde_json::to_string(ms).expect("json"))
        .execute(old.pool())
        .await
        .expect("snapshot");
    }
    let severity = crate::severity::Severity {
        score: 30.0,
        level: crate::signals::Level::Low,
        risk: 30.0,
        impact: 1.0,
        factors: Vec::new(),
        formula: "Risk 30 × impact 1.0 = 30".into(),
    };
    sqlx::query(
        "INSERT INTO account_health (account_id, computed_at, scorecard_id, score, band, band_color, severity_score, severity_level, severity, \
         measures_with_data, measures_total, trend_7, trend_30) VALUES (?, ?, 'card', 65.5, 'Green', '#16a34a', 30, 'low', ?, 2, 2, -20.5, -12.25)",
    )
    .bind(&account)
    .bind(today.and_hms_opt(6, 0, 0).expect("time").and_utc())
    .bind(serde_json::to_string(&severity).expect("json"))
    .execute(old.pool())
    .await
    .expect("current");
    old.close().await;

    let store = Store::open(&path).await.expect("upgrade");
    let h = crate::health::explain::account_health(&store, &account)
        .await
        .expect("health");
    let current = h.current.expect("current");
    // The current explanation is built from the account's data as scored that day.
    let built = crate::health::explain::rebuilt(&store, &account, today)
        .await
        .expect("built")
        .expect("scored");
    assert!(!current.measures.is_empty());
    assert_eq!(current.measures, built.measures);
    assert_eq!(current.score, Some(65.5), "the stored score");
    // The trends moved to the daily state with the recent series (migration 25).
    assert_eq!(
        (h.trend.days_7, h.trend.days_30, h.trend.days_90),
        (Some(-20.5), Some(-12.25), None)
    );
    assert_eq!(h.previous_day, Some(yesterday));
    // What changed since compares yesterday's kept numbers with it.
    assert_eq!(
        h.changes,
        crate::scorecard::changes(&before, &current.measures)
    );
    let chart: Vec<(NaiveDate, f64)> = h.history.iter().map(|p| (p.day, p.score)).collect();
    assert_eq!(chart, vec![(yesterday, 86.0), (today, 65.5)]);
    // Trends after the upgrade read the recent series the migration built.
    let recent: Vec<u8> = sqlx::query_scalar(
        "SELECT s.recent FROM health_state s JOIN accounts a ON a.rowid = s.account WHERE a.id = ?",
    )
    .bind(&account)
    .fetch_one(store.pool())
    .await
    .expect("recent");
    assert_eq!(
        decode_recent(&recent),
        vec![(yesterday, 86.0), (today, 65.5)]
    );
    // Rules read each measure's score, unrounded, kept with the current score.
    let scores: Vec<u8> =
        sqlx::query_scalar("SELECT h.scores FROM account_health h JOIN accounts a ON a.rowid = h.account WHERE a.id = ?")
            .bind(&account)
            .fetch_one(store.pool())
            .await
            .expect("scores");
    let read: Vec<(MeasureKind, Option<f64>)> = unpack_exact(&scores)
        .iter()
        .map(|m| (m.kind, m.score))
        .collect();
    assert_eq!(exact_scores(&scores), read);
    assert_eq!(
        read,
        vec![
            (MeasureKind::SeatUtilization, Some(41.0)),
            (MeasureKind::OpenTickets, Some(90.0))
        ]
    );
}

/// The current row's form keeps every number bit for bit, and which values a measure
/// has; rows written in the text form before it still read, as the same numbers.
#[test]
fn exact_binary_form_reads_back_bit_for_bit_and_the_text_form_still_reads() {
    let ms = vec![
        measure(
            MeasureKind::SeatUtilization,
            Some(0.412_345_678_9),
            Some(39.999_999_7),
            12.345_678_91,
        ),
        measure(MeasureKind::OpenTickets, Some(-0.0), None, 0.0),
        measure(MeasureKind::NpsLatest, None, None, 0.0),
        measure(MeasureKind::Stakeholders, Some(2.0), Some(100.0), 1e-300),
        measure(MeasureKind::LoginFrequency, Some(-12.5), Some(0.1), -4.2517),
        measure(
            MeasureKind::TicketAge,
            Some(4_503_599_627_370_497.0),
            Some(1e300),
            f64::INFINITY,
        ),
    ];
    let numbers = |m: &MeasureResult| {
        (
            m.kind,
            m.raw.map(f64::to_bits),
            m.score.map(f64::to_bits),
            m.contribution.to_bits(),
        )
    };
    let packed = pack_exact(&ms);
    let want: Vec<_> = ms.iter().map(numbers).collect();
    assert_eq!(
        unpack_exact(&packed)
            .iter()
            .map(numbers)
            .collect::<Vec<_>>(),
        want
    );
    assert_eq!(
        exact_scores(&packed),
        ms.iter().map(|m| (m.kind, m.score)).collect::<Vec<_>>()
    );
    // A zero contribution and a measure without data cost nothing but the head; a number
    // in tenths to ten-thousandths is 1-3 bytes; any other, -0.0 included, a marker and
    // its 8 bytes.
    assert_eq!(
        packed.len(),
        1 + (1 + 27) + (1 + 9) + 1 + (1 + 1 + 2 + 9) + (1 + 2 + 1 + 3) + (1 + 27)
    );
    // The first binary form (every number as 8 bytes) still reads.
    let mut first = vec![3u8];
    for m in &ms {
        let contribution = (m.contribution != 0.0).then_some(m.contribution);
        first.push(
            CODES.iter().position(|(k, _)| *k == m.kind).expect("code") as u8
                | u8::from(m.raw.is_some()) << 5
                | u8::from(m.score.is_some()) << 6
                | u8::from(contribution.is_some()) << 7,
        );
        for v in [m.raw, m.score, contribution].into_iter().flatten() {
            first.extend_from_slice(&v.to_le_bytes());
        }
    }
    assert_eq!(
        unpack_exact(&first).iter().map(numbers).collect::<Vec<_>>(),
        want
    );
    // Written before it: the text form.
    let text = encode_exact(&ms);
    let old: Vec<_> = unpack_exact(text.as_bytes())
        .iter()
        .map(|m| (m.kind, m.raw, m.score, m.contribution))
        .collect();
    let new: Vec<_> = unpack_exact(&packed)
        .iter()
        .map(|m| (m.kind, m.raw, m.score, m.contribution))
        .collect();
    assert_eq!(old, new);
    assert_eq!(exact_scores(text.as_bytes()), exact_scores(&packed));
    // A cut-short row reads as far as it is whole.
    assert_eq!(
        unpack_exact(&packed[..packed.len() - 3]).len(),
        ms.len() - 1
    );
    assert!(unpack_exact(&[]).is_empty() && exact_scores(&[3]).is_empty());
}

#[test]
fn exact_form_reads_back_bit_for_bit() {
    let ms = vec![measure(
        MeasureKind::SeatUtilization,
        Some(0.412_345_678_9),
        Some(39.999_999_7),
        12.345_678_91,
    )];
    let back = decode(&encode_exact(&ms));
    assert_eq!(back[0].raw, ms[0].raw);
    assert_eq!(back[0].score, ms[0].score);
    assert_eq!(back[0].contribution, ms[0].contribution);
}

/// The rules' lean read of the exact form gives each measure's score as `decode` does.
#[test]
fn scores_alone_read_as_decode_reads_them() {
    let ms = vec![
        measure(
            MeasureKind::SeatUtilization,
            Some(0.41),
            Some(39.999_999_7),
            12.3,
        ),
        measure(MeasureKind::OpenTickets, Some(3.0), None, 0.0),
        measure(MeasureKind::NpsLatest, None, None, 0.0),
    ];
    let text = encode_exact(&ms);
    let full: Vec<_> = decode(&text).iter().map(|m| (m.kind, m.score)).collect();
    assert_eq!(decode_scores(&text), full);
    assert_eq!(full[0], (MeasureKind::SeatUtilization, Some(39.999_999_7)));
    assert_eq!(full[1], (MeasureKind::OpenTickets, None));
    assert_eq!(
        decode_scores("zz:1:2:3;ot:1:2:3"),
        vec![(MeasureKind::OpenTickets, Some(2.0))]
    );
    assert!(decode_scores("").is_empty());
}

/// The migration that converted old snapshots names each kind by the code history uses.
#[test]
fn the_conversion_uses_the_same_codes() {
    let migration = include_str!("../../../../../migrations/20261201000018_compact_history.sql");
    for kind in MeasureKind::ALL {
        let pair = format!("('{}', '{}')", kind.as_str(), code(*kind));
        assert!(
            migration.contains(&pair),
            "{pair} missing from migration 0018"
        );
    }
}

/// History kept by (account, day) before the upgrade reads the same kept by (day,
/// account) after it: every row, each account's series, the chart and "what changed".
#[tokio::test]
async fn history_clustered_by_day_holds_every_row_of_the_old_layout() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    let today = test_day();
    let old = Store::open_before(&path, 20261202000019)
        .await
        .expect("old");
    crate::store::tests::load_in_old_layout(&old, &BookSpec::new(6, 11, today)).await;
    let accounts: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id")
        .fetch_all(old.pool())
        .await
        .expect("accounts");
    // Uneven days per account, two scorecards, an unscored day.
    for (a, account) in accounts.iter().enumerate() {
        for i in 0..(3 + a as i64 * 4) {
            let day = today - Duration::days(i * 3);
            let card = if i % 2 == 0 { "card-a" } else { "card-b" };
            let score = (i != 1).then_some(40.0 + (a as f64) + i as f64 / 4.0);
            sqlx::query(
                "INSERT INTO health_history (account_id, day, scorecard_id, scorecard_version, score, band, measures) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(account)
            .bind(day)
            .bind(card)
            .bind(1 + i % 3)
            .bind(score)
            .bind(score.map(|_| "Yellow"))
            .bind(format!("su:0.{a}{i}:{i}:1.5;ot:{a}:60:5"))
            .execute(old.pool())
            .await
            .expect("history");
        }
    }
    type Row = (
        String,
        NaiveDate,
        String,
        i64,
        Option<f64>,
        Option<String>,
        String,
    );
    let before: Vec<Row> = sqlx::query_as(
        "SELECT account_id, day, scorecard_id, scorecard_version, score, band, measures \
         FROM health_history ORDER BY account_id, day",
    )
    .fetch_all(old.pool())
    .await
    .expect("before");
    old.close().await;

    let store = Store::open(&path).await.expect("upgrade");
    let after: Vec<Row> = sqlx::query_as(
        "SELECT a.id, date(h.epoch_day * 86400, 'unixepoch'), c.scorecard_id, h.scorecard_version, h.score, b.band, h.measures \
         FROM health_history h JOIN history_scorecards c ON c.n = h.scorecard LEFT JOIN history_bands b ON b.n = h.band_n JOIN accounts a ON a.rowid = h.account \
         ORDER BY a.id, h.epoch_day",
    )
    .fetch_all(store.pool())
    .await
    .expect("after");
    assert_eq!(after, before);
    // One account's rows come from seeking each stored day, the same as a scan.
    for account in &accounts {
        let seeked: Vec<(NaiveDate, Option<f64>, Vec<u8>)> =
            of_account(store.pool(), account).await.expect("series");
        let scanned: Vec<(NaiveDate, Option<f64>, Vec<u8>)> = before
            .iter()
            .filter(|r| &r.0 == account)
            .map(|r| (r.1, r.4, r.6.clone().into_bytes()))
            .collect();
        assert_eq!(seeked, scanned, "{account}");
    }
    // The day index is gone: the table's own key serves the dashboards' day scans.
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'health_history'",
    )
    .fetch_all(store.pool())
    .await
    .expect("indexes");
    assert!(
        indexes.iter().all(|i| i.starts_with("sqlite_autoindex")),
        "{indexes:?}"
    );
    // A new day's write numbers a new scorecard and reads back by day.
    let mut tx = store.write().await.expect("tx");
    let tomorrow = today + Duration::days(1);
    let entry = Entry {
        account_id: &accounts[0],
        row: None,
        scorecard_id: "card-c",
        scorecard_version: 1,
        score: Some(70.0),
        band: Some("Green"),
        measures: "su:0.7:70:70".into(),
        digital: false,
    };
    write(&mut tx, &[entry], tomorrow).await.expect("write");
    tx.commit().await.expect("commit");
    let last = of_account(store.pool(), &accounts[0])
        .await
        .expect("series")
        .pop()
        .expect("row");
    assert_eq!(last, (tomorrow, Some(70.0), b"su:0.7:70:70".to_vec()));
    let cards: i64 = sqlx::query_scalar("SELECT count(*) FROM history_scorecards")
        .fetch_one(store.pool())
        .await
        .expect("cards");
    assert_eq!(cards, 3);
}

/// Reading one account's history seeks the key once per stored day; it never scans.
#[tokio::test]
async fn one_accounts_history_is_read_by_seeks() {
    let (_dir, store) = temp_store().await;
    let plan: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(&format!("EXPLAIN QUERY PLAN {}", one_account()))
            .bind("x")
            .fetch_all(store.pool())
            .await
            .expect("plan");
    let text: Vec<&str> = plan.iter().map(|p| p.3.as_str()).collect();
    assert!(
        text.iter()
            .all(|s| *s != "SCAN h" && !s.starts_with("SCAN h ") && !s.contains("TEMP B-TREE")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|s| s.contains("SEARCH h USING PRIMARY KEY (epoch_day=? AND account=?)")),
        "{text:?}"
    );
}

/// An account's history goes with it, and only its own: the rows of a deleted account
/// are gone, the others' are all there, and a new account never inherits them.
#[tokio::test]
async fn a_deleted_accounts_history_goes_with_it() {
    let (_dir, store) = temp_store().await;
    let today = test_day();
    book::load(&store, &BookSpec::new(5, 3, today), |_, _| {})
        .await
        .expect("book");
    let accounts: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid")
        .fetch_all(store.pool())
        .await
        .expect("accounts");
    let mut tx = store.write().await.expect("tx");
    for (i, day) in [today - Duration::days(14), today].into_iter().enumerate() {
        let entries: Vec<Entry> = accounts
            .iter()
            .map(|a| Entry {
                account_id: a,
                row: None,
                scorecard_id: "card",
                scorecard_version: 1,
                score: Some(50.0 + i as f64),
                band: Some("Yellow"),
                measures: vec![],
                digital: false,
            })
            .collect();
        write(&mut tx, &entries, day).await.expect("write");
    }
    tx.commit().await.expect("commit");
    let total = |store: &Store| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM health_history")
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    assert_eq!(total(&store).await, 10);
    // The first three sealed: their past is a series, today a row.
    let keys: Vec<i64> = sqlx::query_scalar("SELECT rowid FROM accounts ORDER BY rowid")
        .fetch_all(store.pool())
        .await
        .expect("keys");
    seal(&store, &keys[..3], today, Reach::All)
        .await
        .expect("seal");
    seal(&store, &keys[4..], today, Reach::All)
        .await
        .expect("seal");
    let series = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM health_history_packed")
            .fetch_one(store.pool())
            .await
            .expect("series")
    };
    assert_eq!((total(&store).await, series().await), (6, 4));
    // The newest account: its row number is the one SQLite hands out next.
    let gone = accounts.last().expect("account");
    let (was, gone_key) = crate::store::accounts::testing::delete_account(&store, gone).await;
    assert_eq!((total(&store).await, series().await), (5, 3));
    assert!(of_account(store.pool(), gone)
        .await
        .expect("series")
        .is_empty());
    for a in &accounts[..4] {
        assert_eq!(
            of_account(store.pool(), a).await.expect("series").len(),
            2,
            "{a}"
        );
    }
    let again = crate::store::accounts::testing::reuse_row_number(&store, was, gone_key).await;
    assert!(of_account(store.pool(), &again)
        .await
        .expect("series")
        .is_empty());
    // Compacting the store (a VACUUM) keeps each account's row number, so its history.
    sqlx::query("DELETE FROM accounts WHERE id = ?")
        .bind(&accounts[0])
        .execute(store.pool())
        .await
        .expect("delete the first");
    let keys = || async {
        sqlx::query_as::<_, (String, i64)>("SELECT id, rowid FROM accounts ORDER BY id")
            .fetch_all(store.pool())
            .await
            .expect("keys")
    };
    let before = keys().await;
    store.compact().await.expect("compact");
    assert_eq!(keys().await, before);
    for a in &accounts[1..4] {
        assert_eq!(
            of_account(store.pool(), a).await.expect("series").len(),
            2,
            "{a}"
        );
    }
}

/// A new store's backfill goes straight to sealed series: after it and today's score only
/// today's rows are rows, every account reads its fortnightly past and today, and sealing
/// the book again the same day changes no series.
#[tokio::test]
async fn a_new_stores_backfill_is_sealed_at_once() {
    let today = test_day();
    let (_dir, store) = temp_store().await;
    book::load(&store, &BookSpec::new(40, 5, today), |_, _| {})
        .await
        .expect("book");
    crate::health::initialize(&store, today, 26, 14)
        .await
        .expect("history");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM health_history")
        .fetch_one(store.pool())
        .await
        .expect("rows");
    assert_eq!(rows, 40, "today's rows only");
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    for id in &ids {
        let days = days_kept(&store, id).await;
        assert_eq!(
            days.len(),
            26 * 7 / 14 + 1,
            "{id}: every fortnight and today"
        );
        assert_eq!(days.last(), Some(&today));
        for w in days.windows(2) {
            assert_eq!((w[1] - w[0]).num_days(), 14, "{w:?}");
        }
    }
    let series = || async {
        sqlx::query_as::<_, (i64, Vec<u8>)>(
            "SELECT key, series FROM health_history_packed ORDER BY key",
        )
        .fetch_all(store.pool())
        .await
        .expect("series")
    };
    let before = series().await;
    assert!(before.len() >= 40, "{} series", before.len());
    let keys: Vec<i64> = sqlx::query_scalar("SELECT rowid FROM accounts")
        .fetch_all(store.pool())
        .await
        .expect("keys");
    let again = seal(&store, &keys, today, Reach::All).await.expect("seal");
    assert_eq!(again, Sealed::default());
    assert_eq!(series().await, before);
}

/// Packed days count from 1970-01-01 and read back as the same date, across years, leap
/// days and before 1970; a count no date has reads as none.
#[test]
fn epoch_days_read_back_as_their_dates() {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("date");
    assert_eq!(epoch_day(d(1970, 1, 1)), 0);
    assert_eq!(epoch_day(d(2026, 12, 2)), 20_789);
    for date in [
        d(1970, 1, 1),
        d(1969, 12, 31),
        d(2024, 2, 29),
        d(2026, 12, 2),
        d(1, 1, 1),
        d(9999, 12, 31),
    ] {
        assert_eq!(from_epoch_day(epoch_day(date)), Some(date), "{date}");
        assert_eq!(
            from_epoch_day(epoch_day(date)),
            NaiveDate::default().checked_add_signed(Duration::days(epoch_day(date)))
        );
    }
    assert_eq!(from_epoch_day(i64::MAX), None);
    assert_eq!(from_epoch_day(i64::from(i32::MAX)), None);
}

/// Each account keeps its own first score of each week and month, whichever day that is
/// for it (an account scored from a Wednesday keeps the Wednesday while another keeps the
/// Monday), and a second prune of thinned history removes nothing.
#[tokio::test]
async fn retention_keeps_each_accounts_own_first_score_of_a_period() {
    let (_dir, store) = temp_store().await;
    let today = test_day();
    book::load(&store, &BookSpec::new(2, 3, today), |_, _| {})
        .await
        .expect("book");
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    let r = HistoryRetention::default();
    let week = week_start(today - Duration::days(200));
    let month = {
        let d = today - Duration::days(r.weekly_days as i64 + 200);
        NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("month")
    };
    let mut tx = store.write().await.expect("tx");
    let mut written = 0_u64;
    for (account, week_from, month_from) in [(&ids[0], 0, 0), (&ids[1], 2, 9)] {
        let days = (week_from..7)
            .map(|i| week + Duration::days(i))
            .chain((month_from..28).map(|i| month + Duration::days(i)));
        for day in days {
            let e = Entry {
                account_id: account,
                row: None,
                scorecard_id: "card",
                scorecard_version: 1,
                score: Some(50.0),
                band: Some("Yellow"),
                measures: "su:0.5:50:50".into(),
                digital: false,
            };
            write(&mut tx, &[e], day).await.expect("write");
            written += 1;
        }
    }
    let keys = [
        row_number(&store, &ids[0]).await,
        row_number(&store, &ids[1]).await,
    ];
    tx.commit().await.expect("commit");
    let sealed = seal(&store, &keys, today, Reach::All).await.expect("seal");
    assert_eq!(sealed.rows, written);
    assert_eq!(
        seal(&store, &keys, today, Reach::All).await.expect("again"),
        Sealed::default()
    );
    assert_eq!(written - sealed.thinned, 4);
    assert_eq!(days_kept(&store, &ids[0]).await, vec![month, week]);
    assert_eq!(
        days_kept(&store, &ids[1]).await,
        vec![month + Duration::days(9), week + Duration::days(2)]
    );
    // Every row left for the series, and its day the list of days rows hold.
    let listed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM history_days")
        .fetch_one(store.pool())
        .await
        .expect("days");
    assert_eq!(listed, 0);
}

fn snapshot(day: i64, score: Option<i64>, measures: &[MeasureResult]) -> packed::Snapshot {
    packed::Snapshot {
        day,
        scorecard: 1,
        version: 3,
        score,
        band: Some(2),
        measures: packed::parts(measures),
    }
}

/// A sealed series reads back every snapshot as written, whatever moved between them (a
/// measure's value, which measures have data, the scorecard, the band, a missing score);
/// a damaged tail ends it there; a day costs a few bytes when little moved.
#[test]
fn sealed_series_read_back_every_snapshot() {
    let m = |raw, score, c| {
        vec![
            measure(MeasureKind::SeatUtilization, Some(raw), Some(score), c),
            measure(MeasureKind::OpenTickets, Some(3.0), Some(60.0), 5.4),
            measure(MeasureKind::NpsLatest, None, None, 0.0),
            measure(MeasureKind::CsmSentiment, Some(-2.5), Some(0.0), 0.0),
        ]
    };
    let mut days = Vec::new();
    for i in 0..60_i64 {
        let mut s = snapshot(
            20_000 + i,
            Some(7_012 - i % 5),
            &m(0.4 + (i / 7) as f64 * 0.01, 82.0, 12.35),
        );
        match i {
            10 => s.band = None,
            11 => s.score = None,
            20 => s.measures.truncate(2),
            30 => (s.scorecard, s.version) = (2, 1),
            40 => s.measures = packed::parts(&m(0.9, 100.0, 0.0)),
            _ => {}
        }
        days.push(s);
    }
    let series = packed::encode(&days);
    assert_eq!(packed::decode(&series), days);
    assert!(
        series.len() < days.len() * 8,
        "{} bytes for {} days",
        series.len(),
        days.len()
    );
    let cut = packed::decode(&series[..series.len() - 2]);
    assert_eq!(cut[..], days[..cut.len()]);
    assert!(cut.len() >= days.len() - 2);
    assert!(packed::decode(b"").is_empty());
    assert!(packed::decode(b"su:1:2:3").is_empty(), "not a series");
    // A sealed snapshot's measures read back in exactly the bytes `pack` stores.
    for ms in [
        m(0.4133, 82.04, 12.345),
        m(0.9, 100.0, 0.0),
        m(0.0, 0.0, -0.004),
    ] {
        assert_eq!(packed::stored(&packed::parts(&ms)), pack(&ms));
        assert_eq!(packed::stored_parts(&pack(&ms)), packed::parts(&ms));
        // Text rows (from before `pack`) read as `unpack` reads them.
        let text = encode(&ms);
        assert_eq!(
            packed::stored_parts(text.as_bytes()),
            packed::parts(&unpack(text.as_bytes()))
        );
    }
}

/// After sealing, every account's past reads as its rows did: the same days, the same
/// measures (raw value, score, contribution as history rounds them) and the score to the
/// hundredth; "what changed since" compares the same numbers across the conversion.
#[tokio::test]
async fn a_sealed_day_reads_as_its_row_did() {
    let (_dir, store) = temp_store().await;
    let today = test_day();
    book::load(&store, &BookSpec::new(30, 5, today), |_, _| {})
        .await
        .expect("book");
    for i in (0..20).rev() {
        crate::health::recompute(&store, None, today - Duration::days(i), |_, _| {})
            .await
            .expect("recompute");
    }
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    let read = |store: &Store| {
        let (pool, ids) = (store.pool().clone(), ids.clone());
        async move {
            let mut all = Vec::new();
            for id in &ids {
                for (day, score, measures) in of_account(&pool, id).await.expect("history") {
                    let parts: Vec<(MeasureKind, Option<f64>, Option<f64>, f64)> =
                        unpack(&measures)
                            .into_iter()
                            .map(|m| (m.kind, m.raw, m.score, m.contribution))
                            .collect();
                    all.push((id.clone(), day, score.map(|s| (s * 100.0).round()), parts));
                }
            }
            all
        }
    };
    let rows = read(&store).await;
    assert_eq!(rows.len(), 30 * 20);
    let everyone = "SELECT rowid FROM accounts";
    let trend = at_risk_by_day(store.pool(), everyone, today - Duration::days(30))
        .await
        .expect("trend");
    assert_eq!(trend.len(), 20);
    assert!(
        trend.iter().all(|(_, _, scored)| *scored == 30),
        "{trend:?}"
    );
    let keys: Vec<i64> = sqlx::query_scalar("SELECT rowid FROM accounts")
        .fetch_all(store.pool())
        .await
        .expect("keys");
    // Every other account first: the others' rows stay rows, whatever lies between.
    let (odd, even): (Vec<i64>, Vec<i64>) = keys.iter().partition(|k| *k % 2 == 1);
    let first = seal(&store, &odd, today, Reach::Recent)
        .await
        .expect("seal");
    let rows_left: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM health_history WHERE account % 2 = 0")
            .fetch_one(store.pool())
            .await
            .expect("rows");
    assert_eq!(rows_left, even.len() as i64 * 20);
    assert_eq!(read(&store).await, rows);
    let sealed = seal(&store, &keys, today, Reach::Recent)
        .await
        .expect("seal");
    assert_eq!(first.rows + sealed.rows, 30 * 19);
    assert_eq!(sealed.thinned, 0);
    assert_eq!(read(&store).await, rows);
    assert_eq!(
        at_risk_by_day(store.pool(), everyone, today - Duration::days(30))
            .await
            .expect("trend"),
        trend
    );
    let explained = crate::health::explain::account_health(&store, &ids[0])
        .await
        .expect("health");
    assert_eq!(explained.history.len(), 20);
}

/// The daily seal reads every sealed quarter for its first week, for a week after the
/// retention changed and after the schedule paused for more than two weeks; otherwise only
/// the quarters retention can have changed (`Reach::Recent`). Every seventh block of row
/// numbers is due each day, every account once a week.
#[tokio::test]
async fn the_daily_seal_reads_every_quarter_only_when_it_must() {
    let (_dir, store) = temp_store().await;
    let today = test_day();
    book::load(&store, &BookSpec::new(70, 5, today), |_, _| {})
        .await
        .expect("book");
    // Row numbers spread over three blocks, as a book with deletions and synced accounts.
    for (at, row) in [(0, 2 * SEAL_BLOCK + 5), (1, 5 * SEAL_BLOCK + 1)] {
        sqlx::query(
            "UPDATE accounts SET rowid = ? \
             WHERE rowid = (SELECT rowid FROM accounts ORDER BY rowid LIMIT 1 OFFSET ?)",
        )
        .bind(row)
        .bind(at)
        .execute(store.pool())
        .await
        .expect("row number");
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut reach = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..9 {
        let due = due(&store, today + Duration::days(i)).await.expect("due");
        seen.extend(due.accounts.iter().copied());
        sizes.push(due.accounts.len());
        reach.push(due.reach);
        note_sealed(&store, &due).await.expect("note");
    }
    assert_eq!(seen.len(), 70, "every account within a week");
    let mut week = sizes[..7].to_vec();
    week.sort_unstable();
    assert_eq!(
        week,
        [0, 0, 0, 0, 1, 1, 68],
        "whole blocks a day: {sizes:?}"
    );
    assert_eq!(sizes[7..], sizes[..2], "the same blocks a week later");
    assert_eq!(reach[..7], [Reach::All; 7]);
    assert_eq!(reach[7..], [Reach::Recent; 2]);

    let longer = HistoryRetention {
        daily_days: 120,
        weekly_days: 730,
    };
    save_retention(&store, &longer).await.expect("retention");
    let changed = due(&store, today + Duration::days(9)).await.expect("due");
    assert_eq!(changed.reach, Reach::All);
    note_sealed(&store, &changed).await.expect("note");
    let after_pause = today + Duration::days(9 + 7 + 15);
    assert_eq!(
        due(&store, after_pause).await.expect("due").reach,
        Reach::All
    );
}

/// A number ruled out at the largest scale is written exactly as trying every scale wrote
/// it: the stored form (which a recompute compares byte for byte) does not change.
#[test]
fn a_number_ruled_out_early_is_written_as_every_scale_tried_wrote_it() {
    fn tried_every_scale(v: f64) -> Vec<u8> {
        let mut out = Vec::new();
        for (code, scale) in DECIMALS.iter().enumerate() {
            let n = (v * scale).round();
            if n.abs() < 2f64.powi(52) && ((n as i64) as f64 / scale).to_bits() == v.to_bits() {
                varint(&mut out, (n as i64) << 3 | code as i64);
                return out;
            }
        }
        varint(&mut out, RAW);
        out.extend_from_slice(&v.to_le_bytes());
        out
    }
    let mut values = vec![
        0.0,
        -0.0,
        f64::NAN,
        f64::INFINITY,
        -f64::INFINITY,
        1e15,
        123_456_789_012.345_6,
        2f64.powi(40) / 10_000.0 + 0.5,
        f64::MAX,
        f64::MIN_POSITIVE,
    ];
    // Decimals of every width, their sums and quotients as scoring makes them, and
    // arbitrary ratios, over the range a score, a raw value or a contribution takes.
    for i in 0..200_000i64 {
        let d = i as f64;
        values.extend([
            d / 10.0,
            d / 100.0,
            d / 1_000.0,
            d / 10_000.0,
            d / 100_000.0,
            -d / 1_000.0,
            d * 0.1 + 0.2,
            d / 7.0,
            d * 20.0 / 35.0,
            (d / 97.0) * (d / 13.0),
            (d * 0.3).sqrt(),
        ]);
    }
    for v in values {
        let mut out = Vec::new();
        exact_number(&mut out, v);
        assert_eq!(out, tried_every_scale(v), "{v:?}");
    }
}
