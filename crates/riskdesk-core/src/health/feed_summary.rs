//! An account's tickets, NPS responses and contacts as a whole-book recompute reads them,
//! packed in one `feed_summary` row (migration 45): a next day reads one row an account
//! instead of ~7 rows of three tables, each reached through an index.
//!
//! A summary holds what a narrow read of its day holds: the tickets open or opened in that
//! day's judged window, in their order, with whether others exist; the last two NPS
//! responses (the measures read the last two, the detractor signal the last); the
//! sponsors and champions with whether others exist. On a later day the tickets are
//! narrowed again by that day's window, which only ever leaves more out; on an earlier day
//! it does not hold (it left out tickets that day would read).

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{ContactRole, ContactStatus, NpsResponse, Ticket, TicketPriority};
use crate::scorecard::facts::{AccountFacts, TICKETS_JUDGED_DAYS};
use crate::store::reader::{epoch_day, from_epoch_day};
use crate::store::varint::{unvarint, varint};

/// The form's first byte; another one reads as no summary (the account reads whole).
const FORM: u8 = 1;

/// The NPS responses a summary keeps, the last ones.
const NPS_KEPT: usize = 2;

const EARLIER_TICKETS: i64 = 1;
const OTHER_CONTACTS: i64 = 2;

/// Where the judged window of tickets starts on `today`: a resolved ticket opened before
/// it is read only as being there.
pub(crate) fn ticket_cut(today: NaiveDate) -> DateTime<Utc> {
    (today - chrono::Duration::days(TICKETS_JUDGED_DAYS))
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

/// Packs the feeds of facts read narrow on `made_on` (see the module's doc). Only the words
/// a signal reads are kept: a ticket's external id and subject where a signal may quote it
/// ([`crate::signals::may_quote`]), its category where one groups by it
/// ([`crate::signals::reads_category`]); the comment of the last NPS response, a
/// detractor's ([`crate::signals::may_quote_response`]); the name, title and day of a
/// contact who left (a narrow read holds no more). The others read back empty.
pub(crate) fn pack(f: &AccountFacts, made_on: NaiveDate) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + f.tickets.len() * 40);
    out.push(FORM);
    let flags = if f.earlier_tickets {
        EARLIER_TICKETS
    } else {
        0
    } | if f.other_contacts { OTHER_CONTACTS } else { 0 };
    varint(&mut out, flags);
    let base = midnight(made_on);
    varint(&mut out, f.tickets.len() as i64);
    for t in &f.tickets {
        let quoted = crate::signals::may_quote(t, made_on);
        let grouped = crate::signals::reads_category(t, made_on);
        let tag = position(TicketPriority::ALL, t.priority) << 3
            | i64::from(grouped) << 2
            | i64::from(t.resolved_at.is_some()) << 1
            | i64::from(quoted);
        varint(&mut out, tag);
        time(&mut out, t.opened_at, base);
        if let Some(r) = t.resolved_at {
            time(&mut out, r, t.opened_at);
        }
        if grouped {
            text(&mut out, &t.category);
        }
        if quoted {
            optional_text(&mut out, t.external_id.as_deref());
            text(&mut out, &t.subject);
        }
    }
    let kept = &f.nps[f.nps.len().saturating_sub(NPS_KEPT)..];
    varint(&mut out, kept.len() as i64);
    for (i, r) in kept.iter().enumerate() {
        varint(&mut out, i64::from(r.score));
        varint(&mut out, epoch_day(r.responded_on));
        if i + 1 == kept.len() && crate::signals::may_quote_response(r) {
            text(&mut out, &r.comment);
        }
    }
    varint(&mut out, f.contacts.len() as i64);
    for c in &f.contacts {
        let left = c.status == ContactStatus::Left;
        varint(
            &mut out,
            position(ContactRole::ALL, c.role) << 1 | i64::from(left),
        );
        if left {
            text(&mut out, &c.name);
            text(&mut out, &c.title);
            varint(&mut out, c.left_on.map_or(0, |d| epoch_day(d) + 1));
        }
    }
    out
}

/// Fills `f`'s tickets, NPS responses and contacts from a summary made on `made_on`, as a
/// narrow read on `today` (not before it) would for every measure and signal; None when
/// the bytes do not read back (the account then reads its feeds).
pub(crate) fn unpack_into(
    stored: &[u8],
    made_on: NaiveDate,
    today: NaiveDate,
    f: &mut AccountFacts,
) -> Option<()> {
    let (&FORM, rest) = stored.split_first()? else {
        return None;
    };
    let mut r = Reader(rest);
    let flags = r.int()?;
    let cut = ticket_cut(today);
    let base = midnight(made_on);
    let mut earlier = flags & EARLIER_TICKETS != 0;
    let tickets = r.len()?;
    let mut out = Vec::with_capacity(tickets);
    for _ in 0..tickets {
        let tag = r.int()?;
        let opened_at = r.time(base)?;
        let resolved_at = match tag & 2 {
            0 => None,
            _ => Some(r.time(opened_at)?),
        };
        let priority = *TicketPriority::ALL.get(usize::try_from(tag >> 3).ok()?)?;
        let category = match tag & 4 {
            0 => String::new(),
            _ => r.text()?,
        };
        let (external_id, subject) = match tag & 1 {
            0 => (None, String::new()),
            _ => (r.optional_text()?, r.text()?),
        };
        if resolved_at.is_some() && opened_at < cut {
            earlier = true;
            continue;
        }
        out.push(Ticket {
            id: String::new(),
            account_id: String::new(),
            external_id,
            subject,
            priority,
            category,
            opened_at,
            resolved_at,
        });
    }
    let responses = r.len()?;
    let mut nps = Vec::with_capacity(responses);
    for i in 0..responses {
        let score = i32::try_from(r.int()?).ok()?;
        let responded_on = from_epoch_day(r.int()?)?;
        let mut response = NpsResponse {
            id: String::new(),
            account_id: String::new(),
            contact_id: None,
            score,
            comment: String::new(),
            responded_on,
            external_id: None,
        };
        if i + 1 == responses && crate::signals::may_quote_response(&response) {
            response.comment = r.text()?;
        }
        nps.push(response);
    }
    let people = r.len()?;
    let mut contacts = Vec::with_capacity(people);
    for _ in 0..people {
        let tag = r.int()?;
        let role = *ContactRole::ALL.get(usize::try_from(tag >> 1).ok()?)?;
        let mut contact = super::facts::bare_contact(role, ContactStatus::Active);
        if tag & 1 == 1 {
            contact.status = ContactStatus::Left;
            contact.name = r.text()?;
            contact.title = r.text()?;
            contact.left_on = match r.int()? {
                0 => None,
                d => Some(from_epoch_day(d - 1)?),
            };
        }
        contacts.push(contact);
    }
    if !r.0.is_empty() {
        return None;
    }
    f.tickets = out;
    f.earlier_tickets = earlier;
    f.nps = nps;
    f.contacts = contacts;
    f.other_contacts = flags & OTHER_CONTACTS != 0;
    Some(())
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn position<T: PartialEq>(all: &[T], v: T) -> i64 {
    all.iter().position(|x| *x == v).unwrap_or_default() as i64
}

/// A time as seconds from `from` (a few bytes where the time itself takes five) and its
/// fraction of a second (one byte when none).
fn time(out: &mut Vec<u8>, t: DateTime<Utc>, from: DateTime<Utc>) {
    varint(out, t.timestamp() - from.timestamp());
    varint(out, i64::from(t.timestamp_subsec_nanos()));
}

fn text(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as i64);
    out.extend_from_slice(s.as_bytes());
}

fn optional_text(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            varint(out, s.len() as i64 + 1);
            out.extend_from_slice(s.as_bytes());
        }
        None => varint(out, 0),
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn int(&mut self) -> Option<i64> {
        let (v, rest) = unvarint(self.0)?;
        self.0 = rest;
        Some(v)
    }

    /// A count, bounded by the bytes left (each item takes at least one), so damage
    /// cannot ask for a huge allocation.
    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.int()?)
            .ok()
            .filter(|n| *n <= self.0.len())
    }

    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn text(&mut self) -> Option<String> {
        let n = self.len()?;
        String::from_utf8(self.bytes(n)?.to_vec()).ok()
    }

    fn optional_text(&mut self) -> Option<Option<String>> {
        match usize::try_from(self.int()?).ok()? {
            0 => Some(None),
            n => {
                let n = n - 1;
                let bytes = self.bytes(n)?;
                Some(Some(String::from_utf8(bytes.to_vec()).ok()?))
            }
        }
    }

    fn time(&mut self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let secs = from.timestamp().checked_add(self.int()?)?;
        let nanos = u32::try_from(self.int()?).ok()?;
        DateTime::from_timestamp(secs, nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Account, Contact, ExpansionPotential, Segment, Stage};
    use crate::signals::{detect, SignalThresholds};
    use chrono::Duration;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("day")
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    const MADE_ON: &str = "2026-12-01";

    /// An account's feeds as a narrow read of `MADE_ON` holds them: every ticket open or
    /// opened in the window, a resolved one before it left out.
    fn facts() -> AccountFacts {
        let account = Account {
            id: "a".into(),
            name: String::new(),
            arr_minor: 0,
            currency: String::new(),
            segment: Segment::TechTouch,
            stage: Stage::Mature,
            contract_start: day("2025-01-01"),
            renewal_date: day("2027-01-01"),
            owner_id: None,
            strategic: false,
            expansion_potential: ExpansionPotential::None,
            industry: String::new(),
            region: String::new(),
            crm_id: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        };
        let mut f = AccountFacts::new(account, 0);
        let ticket = |opened: &str,
                      resolved: Option<&str>,
                      p,
                      category: &str,
                      ext: Option<&str>,
                      subject: &str| Ticket {
            id: String::new(),
            account_id: String::new(),
            external_id: ext.map(str::to_string),
            subject: subject.into(),
            priority: p,
            category: category.into(),
            opened_at: at(opened),
            resolved_at: resolved.map(at),
        };
        f.tickets = vec![
            ticket(
                "2026-08-01T09:00:00Z",
                None,
                TicketPriority::Urgent,
                "Performance",
                Some("T-1"),
                "Slow since July",
            ),
            ticket(
                "2026-10-20T10:30:00.250Z",
                Some("2026-10-21T08:00:00Z"),
                TicketPriority::Low,
                "Bug",
                None,
                "Export broken — «CSV»",
            ),
            ticket(
                "2026-11-15T10:30:00Z",
                None,
                TicketPriority::High,
                "Billing",
                Some("T-3"),
                "Invoice twice",
            ),
            ticket(
                "2026-11-20T10:30:00Z",
                Some("2026-11-22T08:00:00Z"),
                TicketPriority::Normal,
                "How-to",
                Some("T-4"),
                "Where is SSO",
            ),
            ticket(
                "2026-11-28T23:59:59Z",
                None,
                TicketPriority::Urgent,
                "Bug",
                Some(""),
                "Crash",
            ),
        ];
        f.earlier_tickets = true;
        let nps = |score, on: &str, comment: &str| NpsResponse {
            id: "id".into(),
            account_id: String::new(),
            contact_id: None,
            score,
            comment: comment.into(),
            responded_on: day(on),
            external_id: None,
        };
        f.nps = vec![
            nps(9, "2026-01-10", "great"),
            nps(7, "2026-06-10", "fine"),
            nps(3, "2026-11-10", "slow support"),
        ];
        let contact = |role, status, name: &str, title: &str, left: Option<&str>| Contact {
            id: String::new(),
            account_id: String::new(),
            name: name.into(),
            email: String::new(),
            title: title.into(),
            role,
            status,
            left_on: left.map(day),
            created_at: DateTime::UNIX_EPOCH,
            external_id: None,
        };
        f.contacts = vec![
            contact(
                ContactRole::Sponsor,
                ContactStatus::Left,
                "Ada",
                "VP Ops",
                Some("2026-11-01"),
            ),
            contact(ContactRole::Champion, ContactStatus::Active, "", "", None),
        ];
        f.other_contacts = true;
        f
    }

    /// What a narrow read on `today` holds of `f` (read on an earlier day).
    fn narrow_on(f: &AccountFacts, today: NaiveDate) -> AccountFacts {
        let mut f = f.clone();
        let cut = ticket_cut(today);
        let before = f.tickets.len();
        f.tickets
            .retain(|t| t.resolved_at.is_none() || t.opened_at >= cut);
        f.earlier_tickets |= f.tickets.len() < before;
        f
    }

    /// The feeds as every measure reads them: all but the words a signal may not quote and
    /// the NPS responses before the last two.
    fn measured(f: &AccountFacts) -> String {
        let tickets: Vec<_> = f
            .tickets
            .iter()
            .map(|t| (t.opened_at, t.resolved_at, t.priority))
            .collect();
        let nps: Vec<_> = f
            .nps
            .iter()
            .rev()
            .take(2)
            .map(|r| (r.score, r.responded_on))
            .collect();
        format!(
            "{tickets:?} {} {nps:?} {:?} {}",
            f.earlier_tickets, f.contacts, f.other_contacts
        )
    }

    #[test]
    fn every_later_day_reads_from_a_summary_what_it_reads_from_the_feeds() {
        let f = facts();
        let made_on = day(MADE_ON);
        let packed = pack(&f, made_on);
        // Every signal that quotes tickets fires on the smallest counts.
        let t = SignalThresholds {
            tickets_rising_count: 1,
            recurring_issue_count: 1,
            ..Default::default()
        };
        for n in 0..90 {
            let today = made_on + Duration::days(n);
            let truth = narrow_on(&f, today);
            let mut back = AccountFacts::new(f.account.clone(), 0);
            unpack_into(&packed, made_on, today, &mut back).expect("reads back");
            assert_eq!(measured(&back), measured(&truth), "{today}");
            assert_eq!(back.nps.len(), 2);
            let (a, b) = (
                detect(&back, today, Some(60.0), None, &t),
                detect(&truth, today, Some(60.0), None, &t),
            );
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{today}");
            if n == 0 {
                assert!(a.len() >= 3, "the test's signals fire: {a:?}");
            }
        }
    }

    #[test]
    fn a_summary_keeps_the_words_of_only_the_tickets_a_signal_may_quote() {
        let f = facts();
        let mut back = AccountFacts::new(f.account.clone(), 0);
        unpack_into(
            &pack(&f, day(MADE_ON)),
            day(MADE_ON),
            day(MADE_ON),
            &mut back,
        )
        .expect("reads back");
        let words: Vec<(Option<&str>, &str, &str)> = back
            .tickets
            .iter()
            .map(|t| {
                (
                    t.external_id.as_deref(),
                    t.subject.as_str(),
                    t.category.as_str(),
                )
            })
            .collect();
        assert_eq!(
            words,
            [
                (None, "", ""),
                (None, "Export broken — «CSV»", "Bug"),
                (Some("T-3"), "Invoice twice", ""),
                (None, "", ""),
                (Some(""), "Crash", "Bug"),
            ]
        );
        // The last response is a detractor's: its comment is kept, the one before's not.
        let comments: Vec<&str> = back.nps.iter().map(|r| r.comment.as_str()).collect();
        assert_eq!(comments, ["", "slow support"]);
        // A promoter's comment no signal quotes.
        let mut promoter = f.clone();
        if let Some(r) = promoter.nps.last_mut() {
            r.score = 10;
        }
        unpack_into(
            &pack(&promoter, day(MADE_ON)),
            day(MADE_ON),
            day(MADE_ON),
            &mut back,
        )
        .expect("reads back");
        assert_eq!(back.nps.last().map(|r| r.comment.as_str()), Some(""));
        assert_eq!(back.tickets[1].opened_at, at("2026-10-20T10:30:00.250Z"));
        assert_eq!(back.contacts[0].title, "VP Ops");
    }

    #[test]
    fn a_later_day_leaves_out_the_resolved_tickets_its_window_no_longer_reads() {
        let f = facts();
        let later = day("2026-10-20") + Duration::days(TICKETS_JUDGED_DAYS + 1);
        let mut back = AccountFacts::new(f.account.clone(), 0);
        unpack_into(&pack(&f, day(MADE_ON)), day(MADE_ON), later, &mut back).expect("reads back");
        let opened: Vec<String> = back
            .tickets
            .iter()
            .map(|t| t.opened_at.date_naive().to_string())
            .collect();
        assert_eq!(
            opened,
            ["2026-08-01", "2026-11-15", "2026-11-20", "2026-11-28"]
        );
        assert!(
            back.earlier_tickets,
            "a left-out ticket still counts as support data"
        );
    }

    #[test]
    fn damaged_or_foreign_bytes_read_as_no_summary() {
        let on = day(MADE_ON);
        let packed = pack(&facts(), on);
        let mut f = facts();
        for cut in 0..packed.len() {
            assert!(
                unpack_into(&packed[..cut], on, on, &mut f).is_none(),
                "{cut}"
            );
        }
        let mut longer = packed.clone();
        longer.push(0);
        assert!(unpack_into(&longer, on, on, &mut f).is_none());
        let mut other = packed;
        other[0] = FORM + 1;
        assert!(unpack_into(&other, on, on, &mut f).is_none());
        // A huge count is refused before anything is allocated.
        let mut huge = vec![FORM];
        varint(&mut huge, 0);
        varint(&mut huge, i64::MAX);
        assert!(unpack_into(&huge, on, on, &mut f).is_none());
        // Nothing was filled from the damage.
        assert_eq!(measured(&f), measured(&facts()));
    }
}
