//! Loads accounts' facts (the scorecard's inputs) from the store, set-based, on the bulk
//! read connection.

use std::collections::HashMap;
use std::collections::HashSet;

use chrono::NaiveDate;
use rusqlite::Connection;

use crate::model::{Account, Contact, Level, NpsResponse, Ticket};
use crate::scorecard::facts::{AccountFacts, MeasureOverride};
use crate::scorecard::MeasureKind;
use crate::store::keys::{feed_id, feed_id_or_null};
use crate::store::reader::{
    day, day_number, day_or_null, each_keyed, parsed, time, time_or_null, Accounts,
};
use crate::{Result, Store};

pub use crate::store::Span;

/// Loads the facts of `ids`, in the order given, on the store's bulk-read connection.
/// The score history comes from each account's recent series, or from the history table
/// for accounts without one yet.
pub async fn load(
    store: &Store,
    ids: &[String],
    span: Span,
    history_since: NaiveDate,
) -> Result<Vec<AccountFacts>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = ids.to_vec();
    store
        .read(move |conn| read(conn, &ids, span, history_since, None).map(|(f, _)| f))
        .await
}

/// How a whole-book recompute reads narrow, as of `today`: an account whose kept
/// [`UsageSeen`] still holds (made under these criteria, its usage unwritten since, see
/// [`Narrow::holds`]) reads only its last [`RECENT_WEEKS`] weeks; tickets and contacts
/// only as far as a measure or signal reads them (see [`read_tickets`], [`read_contacts`]).
#[derive(Debug, Clone, Copy)]
pub struct Narrow {
    pub today: NaiveDate,
    pub adopt_seat_pct: f64,
    pub adopt_weeks: u32,
}

impl Narrow {
    pub fn new(today: NaiveDate, c: &crate::lifecycle::StageCriteria) -> Narrow {
        Narrow {
            today,
            adopt_seat_pct: c.adopt_seat_pct,
            adopt_weeks: c.adopt_weeks,
        }
    }

    /// Whether a summary of usage whose latest week starts on `latest`, and whose first
    /// qualifying run completed on `run_done`, says on `today` what it said the day it
    /// was made: every week had started, and the run's day is not one `today` would cut
    /// short (a run completing in a week still under way completes "today").
    pub fn holds(&self, latest: NaiveDate, run_done: Option<NaiveDate>) -> bool {
        latest <= self.today && run_done.is_none_or(|on| on <= self.today)
    }

    /// Whether a summary made on `today` can be kept: as [`Narrow::holds`], with the run
    /// completed before today (one completing today may be a cut-short week's).
    pub fn keeps(&self, latest: NaiveDate, run_done: Option<NaiveDate>) -> bool {
        latest <= self.today && run_done.is_none_or(|on| on < self.today)
    }
}

/// A batch as a whole-book recompute reads it: the facts, what the store holds for each
/// account, and the count of usage writes seen before the read (a [`UsageSeen`] made from
/// it is kept only if no write came since).
pub struct Read {
    pub facts: Vec<AccountFacts>,
    pub kept: KeptBook,
    pub usage_epoch: i64,
    /// The count of feed writes seen before the read (see [`Epochs`]).
    pub feed_epoch: i64,
    /// The batch's rank inputs, when the refresh ranks as it scores.
    pub(crate) ranks: Option<crate::priority::BatchInputs>,
}

/// What the store holds for a batch's accounts now, read beside their facts: a recompute
/// compares with it where it reads, and writes only what differs.
#[derive(Debug, Default)]
pub struct KeptBook {
    /// Each account's current row, by account row number.
    pub current: rustc_hash::FxHashMap<i64, Current>,
    /// Each account's active signals, by account id (an account without any has none here).
    pub signals: rustc_hash::FxHashMap<String, Vec<KeptSignal>>,
}

/// An account's `account_health` row, but for when it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub scorecard_id: String,
    pub score: Option<f64>,
    pub band: Option<String>,
    pub band_color: Option<String>,
    pub severity_score: f64,
    pub severity_level: Level,
    pub severity: String,
    pub measures_with_data: Option<u32>,
    pub measures_total: Option<u32>,
    /// Each measure's numbers, exactly (history.rs `pack_exact`; rows written before it
    /// hold a text form, which never equals a new one, so they are rewritten once).
    pub scores: Option<Vec<u8>>,
}

/// The `account_health` columns a moved row may set, in the bit order of [`Current::moved`].
pub(crate) const CURRENT_COLUMNS: [&str; 10] = [
    "scorecard_id",
    "score",
    "band",
    "band_color",
    "severity_score",
    "severity_level",
    "severity",
    "measures_with_data",
    "measures_total",
    "scores",
];

impl Current {
    /// The columns (bits of [`CURRENT_COLUMNS`]) where `self` differs from `old`: a write
    /// sets only those, so an index whose column did not move (score, severity) is left as
    /// it was. About half of a next day's moved rows keep their severity.
    pub(crate) fn moved(&self, old: &Current) -> u16 {
        let differs = [
            self.scorecard_id != old.scorecard_id,
            self.score.map(f64::to_bits) != old.score.map(f64::to_bits),
            self.band != old.band,
            self.band_color != old.band_color,
            self.severity_score.to_bits() != old.severity_score.to_bits(),
            self.severity_level != old.severity_level,
            self.severity != old.severity,
            self.measures_with_data != old.measures_with_data,
            self.measures_total != old.measures_total,
            self.scores != old.scores,
        ];
        differs
            .iter()
            .enumerate()
            .filter(|(_, d)| **d)
            .fold(0, |mask, (i, _)| mask | 1 << i)
    }
}

#[derive(Debug, Clone)]
pub struct KeptSignal {
    pub id: String,
    pub kind: String,
    pub severity: Level,
    pub summary: String,
    pub evidence: String,
}

/// [`load`], with what the store holds for each account now, and usage narrowed when
/// `narrow` says how (a whole book's read, in account order).
pub async fn load_with_kept(
    store: &Store,
    ids: &[String],
    span: Span,
    history_since: NaiveDate,
    narrow: Option<Narrow>,
) -> Result<Read> {
    load_for_refresh(store, ids, span, history_since, narrow, false).await
}

/// [`load_with_kept`], and the batch's rank inputs when `rank` (a refresh that ranks the
/// book as it scores it).
pub(crate) async fn load_for_refresh(
    store: &Store,
    ids: &[String],
    span: Span,
    history_since: NaiveDate,
    narrow: Option<Narrow>,
    rank: bool,
) -> Result<Read> {
    let ids = ids.to_vec();
    store
        .read(move |conn| {
            // One snapshot: the usage write count, the summaries, the weeks, what the
            // store holds and the rank inputs all as of the same moment.
            let snapshot = conn.unchecked_transaction()?;
            let (facts, epochs) = read(conn, &ids, span, history_since, narrow)?;
            // What the store holds is read by the accounts' row numbers, as the feeds are.
            let mut rows: Vec<i64> = facts.iter().filter_map(|f| f.row).collect();
            rows.sort_unstable();
            let kept = read_kept(conn, &ids, span, &rows)?;
            let ranks = match rank {
                true => {
                    let row_of = facts
                        .iter()
                        .filter_map(|f| Some((f.account.id.as_str(), f.row?)))
                        .collect();
                    Some(crate::priority::read_batch(
                        conn, &ids, span, &rows, &row_of,
                    )?)
                }
                false => None,
            };
            snapshot.commit()?;
            Ok(Read {
                facts,
                kept,
                usage_epoch: epochs.usage,
                feed_epoch: epochs.feed,
                ranks,
            })
        })
        .await
}

fn read_kept(
    conn: &Connection,
    ids: &[String],
    span: Span,
    rows: &[i64],
) -> rusqlite::Result<KeptBook> {
    let mut kept = KeptBook::default();
    kept.current.reserve(rows.len());
    // A range also holds the rows of accounts outside the batch; the judge looks up its own.
    each_keyed(conn, rows, true, "SELECT account, scorecard_id, score, band, band_color, severity_score, severity_level, \
         severity, measures_with_data, measures_total, scores FROM account_health WHERE account{rows}", |r| {
        let current = Current {
            scorecard_id: r.get(1)?,
            score: r.get(2)?,
            band: r.get(3)?,
            band_color: r.get(4)?,
            severity_score: r.get(5)?,
            severity_level: parsed(r, 6)?,
            severity: r.get(7)?,
            measures_with_data: r.get(8)?,
            measures_total: r.get(9)?,
            scores: r.get_ref(10)?.as_bytes_or_null()?.map(<[u8]>::to_vec),
        };
        kept.current.insert(r.get(0)?, current);
        Ok(())
    })?;
    Accounts::new(ids, span).each(
        conn,
        "SELECT account_id, id, kind, severity, summary, evidence FROM signals \
         WHERE cleared_at IS NULL AND account_id{accounts}",
        |r| {
            let signal = KeptSignal {
                id: r.get(1)?,
                kind: r.get(2)?,
                severity: parsed(r, 3)?,
                summary: r.get(4)?,
                evidence: r.get(5)?,
            };
            let account = r.get_ref(0)?.as_str()?;
            match kept.signals.get_mut(account) {
                Some(signals) => signals.push(signal),
                None => {
                    kept.signals.insert(account.to_string(), vec![signal]);
                }
            }
            Ok(())
        },
    )?;
    Ok(kept)
}

/// The counts of writes to usage and to the other feeds seen before a read: a summary made
/// from the read is kept only if no write came since (it would describe what no longer is).
#[derive(Debug, Clone, Copy, Default)]
struct Epochs {
    usage: i64,
    feed: i64,
}

fn read(
    conn: &Connection,
    ids: &[String],
    span: Span,
    history_since: NaiveDate,
    narrow: Option<Narrow>,
) -> rusqlite::Result<(Vec<AccountFacts>, Epochs)> {
    if ids.is_empty() {
        return Ok((Vec::new(), Epochs::default()));
    }
    // A write after this makes what the read summarises stale.
    let epochs = conn
        .prepare_cached("SELECT (SELECT n FROM usage_epoch), (SELECT n FROM feed_epoch)")?
        .query_row([], |r| {
            Ok(Epochs {
                usage: r.get(0)?,
                feed: r.get(1)?,
            })
        })?;
    let accounts = Accounts::new(ids, span);

    let mut by_id = read_accounts(conn, &accounts, ids, narrow.is_some())?;
    // The feeds are keyed by the accounts' row numbers (migrations 26, 28 and 33).
    let rows = by_id.rowids();
    read_usage(conn, &rows, &mut by_id, narrow)?;
    // A whole book reads each account's kept feed summary; the others read the feeds.
    let kept = match narrow {
        Some(n) => read_feed_summaries(conn, &rows, &mut by_id, n.today)?,
        None => Default::default(),
    };
    let (rest, range_ok) = match kept.is_empty() {
        true => (rows.clone(), true),
        false => (
            rows.iter().copied().filter(|r| !kept.contains(r)).collect(),
            false,
        ),
    };
    read_tickets(conn, &rest, range_ok, &mut by_id, narrow)?;
    read_nps(conn, &rest, range_ok, &mut by_id, narrow.is_some())?;
    read_contacts(conn, &rest, range_ok, &mut by_id, narrow)?;
    if narrow.is_some() {
        read_last_touches(conn, &rows, &mut by_id)?;
    } else {
        read_touches(conn, &rows, &mut by_id)?;
    }
    read_overrides(conn, &accounts, &mut by_id)?;
    read_history(conn, &accounts, ids, &rows, history_since, &mut by_id)?;
    Ok((by_id.in_order(ids), epochs))
}

/// Fills the feeds of the batch's accounts whose kept summary holds on `today` (made on
/// it or before); returns their row numbers. A summary that does not read back is passed
/// over: its account reads its feeds, and a new one replaces it.
fn read_feed_summaries(
    conn: &Connection,
    rows: &[i64],
    by_id: &mut Book,
    today: NaiveDate,
) -> rusqlite::Result<rustc_hash::FxHashSet<i64>> {
    let mut kept = rustc_hash::FxHashSet::default();
    let day = crate::store::reader::epoch_day(today);
    each_keyed(
        conn,
        rows,
        true,
        "SELECT account, made_on, packed FROM feed_summary WHERE account{rows}",
        |r| {
            let row: i64 = r.get(0)?;
            let made: i64 = r.get(1)?;
            let Some(made_on) = crate::store::reader::from_epoch_day(made).filter(|_| made <= day)
            else {
                return Ok(());
            };
            let Some(f) = by_id.by_rowid(row) else {
                return Ok(());
            };
            let packed = r.get_ref(2)?.as_blob()?;
            if super::feed_summary::unpack_into(packed, made_on, today, f).is_some() {
                f.feeds_kept = true;
                kept.insert(row);
            }
            Ok(())
        },
    )?;
    Ok(kept)
}

/// The batch's accounts, each with its row number; a range's accounts outside `ids` (mirrored
/// from another device) are skipped. A narrow read leaves out what no measure, signal,
/// severity or stage reads (name, money as entered, owner, CRM fields, timestamps: empty or
/// zero here), so a whole book does not decode and allocate them for 100K accounts.
fn read_accounts(
    conn: &Connection,
    accounts: &Accounts<'_>,
    ids: &[String],
    narrow: bool,
) -> rusqlite::Result<Book> {
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut by_id = Book::with_capacity(ids.len());
    let sql = if narrow {
        "SELECT id, segment, stage, contract_start, renewal_date, arr_base_minor, stage_since, adopted_on, rowid, \
         owner_id, strategic, expansion_potential FROM accounts WHERE id{accounts}"
    } else {
        "SELECT id, segment, stage, contract_start, renewal_date, arr_base_minor, stage_since, adopted_on, rowid, \
         owner_id, strategic, expansion_potential, name, arr_minor, currency, industry, region, crm_id, created_at, updated_at \
         FROM accounts WHERE id{accounts}"
    };
    accounts.each(conn, sql, |r| {
        let id: String = r.get(0)?;
        // A range also holds accounts this device only mirrors.
        if !wanted.contains(id.as_str()) {
            return Ok(());
        }
        let mut account = Account {
            id,
            name: String::new(),
            arr_minor: 0,
            currency: String::new(),
            segment: parsed(r, 1)?,
            stage: parsed(r, 2)?,
            contract_start: day(r, 3)?,
            renewal_date: day(r, 4)?,
            // What the lane (an exception by expansion potential) and the rank read.
            owner_id: r.get(9)?,
            strategic: r.get(10)?,
            expansion_potential: parsed(r, 11)?,
            industry: String::new(),
            region: String::new(),
            crm_id: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
        };
        if !narrow {
            account.name = r.get(12)?;
            account.arr_minor = r.get(13)?;
            account.currency = r.get(14)?;
            account.industry = r.get(15)?;
            account.region = r.get(16)?;
            account.crm_id = r.get(17)?;
            account.created_at = time(r, 18)?;
            account.updated_at = time(r, 19)?;
        }
        let mut f = AccountFacts::new(account, r.get(5)?);
        f.stage_since = day_or_null(r, 6)?;
        f.adopted_on = day_or_null(r, 7)?;
        let row = r.get(8)?;
        f.row = Some(row);
        by_id.insert(f, row);
        Ok(())
    })?;

    Ok(by_id)
}

/// Every ticket of the batch's accounts, oldest first; with `narrow`, only those a measure
/// or signal reads (open, or opened in the last
/// [`TICKETS_JUDGED_DAYS`](crate::scorecard::facts::TICKETS_JUDGED_DAYS)), the others
/// counted only as there (a book's resolved tickets go back years; the bench's 100K
/// accounts hold 272K tickets, of which 134K are read).
fn read_tickets(
    conn: &Connection,
    rows: &[i64],
    range_ok: bool,
    by_id: &mut Book,
    narrow: Option<Narrow>,
) -> rusqlite::Result<()> {
    let cut = narrow.map(|n| super::feed_summary::ticket_cut(n.today));
    // In index order (the index holds no time, migration 42); each account's few are put
    // in time order below, ties in row order as the index had them.
    each_keyed(conn, rows, range_ok, "SELECT id, account, external_id, subject, priority, category, opened_at, resolved_at FROM tickets \
         WHERE account{rows} ORDER BY account, rowid", |r| {
        if let Some(f) = by_id.by_rowid(r.get(1)?) {
            let opened_at = time(r, 6)?;
            let resolved = !matches!(r.get_ref(7)?, rusqlite::types::ValueRef::Null);
            if cut.is_some_and(|cut| resolved && opened_at < cut) {
                f.earlier_tickets = true;
                return Ok(());
            }
            // Read narrow, a ticket is what measures and signals read of it: no ids.
            let (id, account_id) = match cut {
                Some(_) => (String::new(), String::new()),
                None => (feed_id(r, 0)?, f.account.id.clone()),
            };
            f.tickets.push(Ticket {
                id,
                account_id,
                external_id: r.get(2)?,
                subject: r.get(3)?,
                priority: parsed(r, 4)?,
                category: r.get(5)?,
                opened_at,
                resolved_at: time_or_null(r, 7)?,
            });
        }
        Ok(())
    })?;
    for f in &mut by_id.facts {
        f.tickets.sort_by_key(|t| t.opened_at);
    }
    Ok(())
}

/// Every NPS response, oldest first; read `narrow`, without the account, contact and
/// external ids (the id stays: it orders a day's responses).
fn read_nps(
    conn: &Connection,
    rows: &[i64],
    range_ok: bool,
    by_id: &mut Book,
    narrow: bool,
) -> rusqlite::Result<()> {
    each_keyed(conn, rows, range_ok, "SELECT id, account, contact_id, score, comment, responded_on, external_id FROM nps_responses \
         WHERE account{rows} ORDER BY account, responded_on", |r| {
        if let Some(f) = by_id.by_rowid(r.get(1)?) {
            let mut response = NpsResponse {
                id: feed_id(r, 0)?,
                account_id: String::new(),
                contact_id: None,
                score: r.get(3)?,
                comment: r.get(4)?,
                responded_on: day(r, 5)?,
                external_id: None,
            };
            if !narrow {
                response.account_id = f.account.id.clone();
                response.contact_id = feed_id_or_null(r, 2)?;
                response.external_id = r.get(6)?;
            }
            f.nps.push(response);
        }
        Ok(())
    })?;

    // In the index's order, and a day's responses by id here: ordering by id in SQL sorted
    // every batch's responses in a temporary B-tree.
    for f in &mut by_id.facts {
        f.nps
            .sort_by(|a, b| (a.responded_on, &a.id).cmp(&(b.responded_on, &b.id)));
    }

    Ok(())
}

/// Every contact, in the order they were added; with `narrow`, only sponsors and
/// champions, the roles a measure or signal reads, the others counted only as there, and
/// of those only role and status (and name, title and day for one who left, which a
/// signal names): a whole book holds 200K of them.
fn read_contacts(
    conn: &Connection,
    rows: &[i64],
    range_ok: bool,
    by_id: &mut Book,
    narrow: Option<Narrow>,
) -> rusqlite::Result<()> {
    use crate::model::{ContactRole, ContactStatus};
    each_keyed(conn, rows, range_ok, "SELECT id, account, name, email, title, role, status, left_on, created_at, external_id FROM contacts \
         WHERE account{rows} ORDER BY account, rowid", |r| {
        if let Some(f) = by_id.by_rowid(r.get(1)?) {
            let role: ContactRole = parsed(r, 5)?;
            if narrow.is_some() && !matches!(role, ContactRole::Sponsor | ContactRole::Champion) {
                f.other_contacts = true;
                return Ok(());
            }
            let status: ContactStatus = parsed(r, 6)?;
            let mut contact = bare_contact(role, status);
            if narrow.is_none() || status == ContactStatus::Left {
                contact.name = r.get(2)?;
                contact.title = r.get(4)?;
                contact.left_on = day_or_null(r, 7)?;
            }
            if narrow.is_none() {
                contact.id = feed_id(r, 0)?;
                contact.account_id = f.account.id.clone();
                contact.email = r.get(3)?;
                contact.created_at = time(r, 8)?;
                contact.external_id = r.get(9)?;
            }
            f.contacts.push(contact);
        }
        Ok(())
    })
}

/// A contact as a narrow read starts it: its role and status, nothing else.
pub(super) fn bare_contact(
    role: crate::model::ContactRole,
    status: crate::model::ContactStatus,
) -> Contact {
    Contact {
        id: String::new(),
        account_id: String::new(),
        name: String::new(),
        email: String::new(),
        title: String::new(),
        role,
        status,
        left_on: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
        external_id: None,
    }
}

/// Every touch (timeline entries other than system events), oldest first.
fn read_touches(conn: &Connection, rows: &[i64], by_id: &mut Book) -> rusqlite::Result<()> {
    each_keyed(conn, rows, true, "SELECT account, occurred_at FROM timeline_entries WHERE kind <> 'system' AND account{rows} \
         ORDER BY account, rowid", |r| {
        if let Some(f) = by_id.by_rowid(r.get(0)?) {
            f.touches.push(time(r, 1)?);
        }
        Ok(())
    })?;
    // In index order (migration 42), then each account's few in time order.
    for f in &mut by_id.facts {
        f.touches.sort_unstable();
    }
    Ok(())
}

/// The measure overrides in force, newest first.
fn read_overrides(
    conn: &Connection,
    accounts: &Accounts<'_>,
    by_id: &mut Book,
) -> rusqlite::Result<()> {
    accounts.each(conn, "SELECT o.id, o.account_id, o.measure, o.score, o.comment, u.name, o.expires_on FROM measure_overrides o \
         LEFT JOIN users u ON u.id = o.author_id WHERE o.removed_at IS NULL AND o.account_id{accounts} \
         ORDER BY o.created_at DESC", |r| {
        let Ok(measure) = r.get_ref(2)?.as_str()?.parse::<MeasureKind>() else {
            return Ok(());
        };
        let id = r.get_ref(1)?.as_str()?;
        if let Some(f) = by_id.get(id) {
            f.overrides.push(MeasureOverride {
                id: r.get(0)?,
                measure,
                score: r.get(3)?,
                comment: r.get(4)?,
                author_name: r.get(5)?,
                expires_on: day_or_null(r, 6)?,
            });
        }
        Ok(())
    })
}

/// The recent scores and fingerprint from each account's state, or from the history table
/// for accounts without one yet.
fn read_history(
    conn: &Connection,
    accounts: &Accounts<'_>,
    ids: &[String],
    rows: &[i64],
    history_since: NaiveDate,
    by_id: &mut Book,
) -> rusqlite::Result<()> {
    each_keyed(
        conn,
        rows,
        true,
        "SELECT account, recent, digest FROM health_state WHERE account{rows}",
        |r| {
            if let Some(f) = by_id.by_rowid(r.get(0)?) {
                f.history = crate::health::history::decode_recent(r.get_ref(1)?.as_bytes()?);
                f.history.retain(|(d, _)| *d >= history_since);
                f.digest = r.get(2)?;
            }
            Ok(())
        },
    )?;

    // A fresh book's history was written before its first current score. Accounts with a
    // state row (even an empty series: never scored) need no look at the table.
    let mut without: Vec<String> = by_id
        .facts
        .iter()
        .filter(|f| f.digest.is_none())
        .map(|f| f.account.id.clone())
        .collect();
    if !without.is_empty() {
        without.sort_unstable();
        // Most of the batch (a fresh book): its own span is a range per stored day.
        let list = Accounts::new(&without, Span::List);
        let over = if without.len() * 2 > ids.len() {
            accounts
        } else {
            &list
        };
        let mut found: HashMap<String, Vec<(NaiveDate, f64)>> = HashMap::new();
        crate::health::history::scores_since(conn, over, history_since, |id, day, score| {
            // As the recent series keeps it, so either source gives the same trend.
            let point = (day, (score * 100.0).round() / 100.0);
            if let Some(points) = found.get_mut(id) {
                points.push(point);
            } else if by_id.get(id).is_some_and(|f| f.digest.is_none()) {
                found.insert(id.to_string(), vec![point]);
            }
        })?;
        for (id, points) in found {
            if let Some(f) = by_id.get(&id) {
                f.history = points;
            }
        }
    }

    Ok(())
}

/// A whole book's touches: each account's last one only, from `last_touch` (migration 28,
/// kept by triggers as entries arrive), one row an account by row-number range instead of
/// every entry it ever had. The engagement measure reads only the last touch; nothing
/// else a recompute judges reads touches.
fn read_last_touches(conn: &Connection, rows: &[i64], by_id: &mut Book) -> rusqlite::Result<()> {
    each_keyed(
        conn,
        rows,
        true,
        "SELECT account, at FROM last_touch WHERE account{rows} AND at IS NOT NULL",
        |r| {
            if let Some(f) = by_id.by_rowid(r.get(0)?) {
                f.touches.push(time(r, 1)?);
            }
            Ok(())
        },
    )
}

/// Reads the batch's usage weeks, keyed by the account's row number (migration 26). With
/// `narrow`, an account whose kept summary holds takes its recent weeks from the summary
/// (migration 30) and reads no weekly row; the rest read every week, as one row-number
/// range when they are about as many as it spans (a book loaded in order), else as a list.
fn read_usage(
    conn: &Connection,
    rowids: &[i64],
    by_id: &mut Book,
    narrow: Option<Narrow>,
) -> rusqlite::Result<()> {
    let (Some(&lo), Some(&hi)) = (rowids.first(), rowids.last()) else {
        return Ok(());
    };
    let mut narrowed: rustc_hash::FxHashSet<i64> = Default::default();
    if let Some(n) = narrow {
        let mut stmt = conn.prepare_cached(
            "SELECT s.account, s.adopt_seat_pct, s.adopt_weeks, u.latest_week, u.weeks, s.first_run_on, \
             s.first_run_shares, s.tail, s.any_seats \
             FROM usage_summary s JOIN usage_packed u ON u.account = s.account WHERE s.account BETWEEN ?1 AND ?2",
        )?;
        let mut rows = stmt.query([lo, hi])?;
        while let Some(r) = rows.next()? {
            let row: i64 = r.get(0)?;
            let holds = r.get::<_, f64>(1)? == n.adopt_seat_pct
                && r.get::<_, u32>(2)? == n.adopt_weeks
                && n.holds(day_number(r, 3)?, day_or_null(r, 5)?);
            let Some(f) = by_id.by_rowid(row).filter(|_| holds) else {
                continue;
            };
            // Weeks that do not read back are not used: the account reads whole (and
            // names them). Read narrow, a week is what measures read of it: no account id
            // (1.2M strings at 100K, 4 % of a next day's instructions).
            let Some(weeks) =
                crate::store::usage_weeks::unpack_recent(r.get_ref(4)?.as_blob()?, "")
                    .filter(|w| !w.is_empty())
            else {
                continue;
            };
            let numbers = |i: usize| -> rusqlite::Result<Vec<f64>> {
                crate::store::usage_weeks::unshares(r.get_ref(i)?.as_blob()?).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        i,
                        rusqlite::types::Type::Blob,
                        format!(
                            "the usage summary of account {} does not read back",
                            f.account.id
                        )
                        .into(),
                    )
                })
            };
            let first_run = match day_or_null(r, 5)? {
                Some(on) => Some((on, numbers(6)?)),
                None => None,
            };
            f.usage = weeks;
            f.usage_seen = Some(crate::scorecard::facts::UsageSeen {
                first_run,
                tail: numbers(7)?,
                any_seats: r.get(8)?,
            });
            narrowed.insert(row);
        }
    }
    let whole: Vec<i64> = rowids
        .iter()
        .copied()
        .filter(|r| !narrowed.contains(r))
        .collect();
    // A range would also return the weeks of narrowed accounts inside it.
    each_keyed(
        conn,
        &whole,
        narrowed.is_empty(),
        "SELECT account, weeks FROM usage_packed WHERE account{rows}",
        |r| {
            if let Some(f) = by_id.by_rowid(r.get(0)?) {
                f.usage =
                    crate::store::usage_weeks::unpack(r.get_ref(1)?.as_blob()?, &f.account.id)
                        .ok_or_else(|| {
                            rusqlite::Error::FromSqlConversionFailure(
                                1,
                                rusqlite::types::Type::Blob,
                                format!(
                                    "the usage weeks of account {} do not read back",
                                    f.account.id
                                )
                                .into(),
                            )
                        })?;
            }
            Ok(())
        },
    )
}

/// A batch's facts by account. Rows arrive in account order, so a row of the same account
/// as the row before finds it without hashing the id (a whole book reads ~3.5M rows).
struct Book {
    facts: Vec<AccountFacts>,
    at: rustc_hash::FxHashMap<String, usize>,
    /// By `accounts.rowid`, for the tables keyed by it.
    at_row: rustc_hash::FxHashMap<i64, usize>,
    rows: Vec<i64>,
    last: usize,
}

impl Book {
    fn with_capacity(n: usize) -> Self {
        let mut at = rustc_hash::FxHashMap::default();
        at.reserve(n);
        Book {
            facts: Vec::with_capacity(n),
            at,
            at_row: rustc_hash::FxHashMap::default(),
            rows: Vec::with_capacity(n),
            last: 0,
        }
    }

    fn insert(&mut self, f: AccountFacts, rowid: i64) {
        self.at.insert(f.account.id.clone(), self.facts.len());
        self.at_row.insert(rowid, self.facts.len());
        self.rows.push(rowid);
        self.facts.push(f);
    }

    /// The accounts' row numbers, ascending.
    fn rowids(&self) -> Vec<i64> {
        let mut rows = self.rows.clone();
        rows.sort_unstable();
        rows
    }

    fn by_rowid(&mut self, rowid: i64) -> Option<&mut AccountFacts> {
        if self.rows.get(self.last) == Some(&rowid) {
            return self.facts.get_mut(self.last);
        }
        let i = *self.at_row.get(&rowid)?;
        self.last = i;
        self.facts.get_mut(i)
    }

    fn get(&mut self, id: &str) -> Option<&mut AccountFacts> {
        if self
            .facts
            .get(self.last)
            .is_some_and(|f| f.account.id == id)
        {
            return self.facts.get_mut(self.last);
        }
        let i = *self.at.get(id)?;
        self.last = i;
        self.facts.get_mut(i)
    }

    /// The facts in the order of `ids`. A whole book's range reads them in that order
    /// already: then they are handed over as they are, not moved one by one into a new
    /// list (5,000 facts of ~1 KB a batch, 3 % of a next day's CPU).
    fn in_order(self, ids: &[String]) -> Vec<AccountFacts> {
        if self.facts.len() == ids.len()
            && self
                .facts
                .iter()
                .zip(ids)
                .all(|(f, id)| f.account.id == *id)
        {
            return self.facts;
        }
        let mut slots: Vec<Option<AccountFacts>> = self.facts.into_iter().map(Some).collect();
        ids.iter()
            .filter_map(|id| self.at.get(id).and_then(|&i| slots.get_mut(i)?.take()))
            .collect()
    }
}
