//! The synthetic book of business: a realistic, deterministic customer base of any size
//! (1K to 1M accounts) for the demo, tests and benchmarks.
//!
//! Every account is generated from its own random stream (seed, index), so a book is the
//! same on every machine, can be generated in chunks and any account can be regenerated
//! alone. Risk and upsell stories are planted in a known share of accounts.

mod account;

/// Every made-up person's email domain (reserved for examples, so no real team has it):
/// a store with people there holds a synthetic book, the demo's.
pub const SYNTHETIC_DOMAIN: &str = "riskdesk.example";

pub use account::account;
pub mod csv_export;
mod names;
mod work;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::store::{accounts, activity, people, Store};
use crate::Result;

pub use names::COMPANY_NAMES;
pub use work::seed_work;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct BookSpec {
    pub accounts: usize,
    pub seed: u64,
    /// "Today" for the book: renewals, usage weeks and stories are placed around it.
    pub as_of: NaiveDate,
}

impl BookSpec {
    pub fn new(accounts: usize, seed: u64, as_of: NaiveDate) -> Self {
        BookSpec {
            accounts,
            seed,
            as_of,
        }
    }
}

/// A planted storyline; later issues' signals should find exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Story {
    UsageDecline,
    SponsorLeft,
    ImplementationStalled,
    DetractorNps,
    TicketSpike,
    SeatsNearlyFull,
    Growth,
}

impl Story {
    pub const ALL: [Story; 7] = [
        Story::UsageDecline,
        Story::SponsorLeft,
        Story::ImplementationStalled,
        Story::DetractorNps,
        Story::TicketSpike,
        Story::SeatsNearlyFull,
        Story::Growth,
    ];

    /// Chance that an account gets this story. Risk stories are drawn independently;
    /// upsell stories only where usage is not already declining or stalled.
    pub fn share(self) -> f64 {
        match self {
            Story::UsageDecline => 0.08,
            Story::SponsorLeft => 0.05,
            Story::ImplementationStalled => 0.04,
            Story::DetractorNps => 0.07,
            Story::TicketSpike => 0.05,
            Story::SeatsNearlyFull => 0.08,
            Story::Growth => 0.05,
        }
    }

    pub fn is_upsell(self) -> bool {
        matches!(self, Story::SeatsNearlyFull | Story::Growth)
    }

    /// The expected share of accounts carrying this story, after exclusions.
    pub fn expected_share(self) -> f64 {
        if self.is_upsell() {
            let free =
                (1.0 - Story::UsageDecline.share()) * (1.0 - Story::ImplementationStalled.share());
            let before = if self == Story::Growth {
                1.0 - Story::SeatsNearlyFull.share()
            } else {
                1.0
            };
            self.share() * free * before
        } else {
            self.share()
        }
    }
}

/// Coverage per segment: share of accounts, ARR range in USD, accounts per CSM.
struct SegmentProfile {
    segment: Segment,
    share: f64,
    arr_usd: (f64, f64),
    accounts_per_csm: usize,
    team: &'static str,
}

const SEGMENTS: [SegmentProfile; 4] = [
    SegmentProfile {
        segment: Segment::Strategic,
        share: 0.02,
        arr_usd: (400_000.0, 4_000_000.0),
        accounts_per_csm: 15,
        team: "Strategic Accounts",
    },
    SegmentProfile {
        segment: Segment::Enterprise,
        share: 0.10,
        arr_usd: (100_000.0, 400_000.0),
        accounts_per_csm: 60,
        team: "Enterprise",
    },
    SegmentProfile {
        segment: Segment::MidMarket,
        share: 0.28,
        arr_usd: (20_000.0, 100_000.0),
        accounts_per_csm: 150,
        team: "Mid-Market",
    },
    SegmentProfile {
        segment: Segment::TechTouch,
        share: 0.60,
        arr_usd: (1_500.0, 20_000.0),
        accounts_per_csm: 1_500,
        team: "Scale (tech-touch)",
    },
];

const REGIONS: [(&str, &[&str]); 3] = [
    ("North America", &["USD", "USD", "USD", "CAD"]),
    ("EMEA", &["EUR", "EUR", "GBP", "EUR"]),
    ("APAC", &["AUD", "USD", "AUD", "USD"]),
];

/// Minor units per USD cent for the demo currencies (the inverse of the seeded fx rates).
fn usd_cents_to(currency: &str, usd_cents: f64) -> i64 {
    let rate = match currency {
        "EUR" => 1.08,
        "GBP" => 1.27,
        "CAD" => 0.73,
        "AUD" => 0.66,
        _ => 1.0,
    };
    // Round to whole currency units: ARR is contracted in round numbers.
    ((usd_cents / rate) / 100.0).round() as i64 * 100
}

/// The people of the CS organisation, sized to the book.
#[derive(Debug, Clone)]
pub struct Org {
    pub teams: Vec<Team>,
    pub users: Vec<User>,
    /// CSM ids per segment, in `SEGMENTS` order.
    csms: [Vec<String>; 4],
}

impl Org {
    pub fn csms(&self, segment: Segment) -> &[String] {
        let i = SEGMENTS
            .iter()
            .position(|p| p.segment == segment)
            .unwrap_or(0);
        &self.csms[i]
    }
}

/// An account and everything on it, as generated.
#[derive(Debug, Clone)]
pub struct AccountBundle {
    pub account: Account,
    pub contacts: Vec<Contact>,
    pub usage: Vec<UsageWeek>,
    pub tickets: Vec<Ticket>,
    pub nps: Vec<NpsResponse>,
    pub timeline: Vec<TimelineEntry>,
    pub stories: Vec<Story>,
}

fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A UUIDv7 whose time part is `at` and whose random part comes from `rng`, so
/// generated ids are both valid v7 and reproducible.
fn id_at(rng: &mut ChaCha8Rng, at: DateTime<Utc>) -> String {
    let bytes: [u8; 10] = rng.gen();
    let millis = at.timestamp_millis().max(0) as u64;
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes)
        .into_uuid()
        .to_string()
}

/// The moment account `index` and its records are taken to be created: a few
/// milliseconds apart, in book order, so ids grow with the index and bulk writes append
/// to every index instead of scattering across it.
fn created_moment(spec: &BookSpec, index: usize) -> DateTime<Utc> {
    midnight(spec.as_of - Duration::days(1)) + Duration::milliseconds(index as i64 * 4)
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

fn at_hour(date: NaiveDate, rng: &mut ChaCha8Rng) -> DateTime<Utc> {
    midnight(date) + Duration::minutes(rng.gen_range(8 * 60..18 * 60))
}

fn person(rng: &mut ChaCha8Rng) -> (String, String) {
    let first = names::FIRST.choose(rng).copied().unwrap_or("Alex");
    let last = names::LAST.choose(rng).copied().unwrap_or("Smith");
    (
        format!("{first} {last}"),
        format!(
            "{}.{}",
            first.to_lowercase(),
            last.to_lowercase().replace('\'', "")
        ),
    )
}

/// The CS organisation for a book: one team per segment, a manager per team, enough
/// CSMs for the coverage model, executives who own risk categories, and CS Ops.
pub fn org(spec: &BookSpec) -> Org {
    let mut rng = stream(spec.seed, 0);
    let created = midnight(spec.as_of - Duration::days(5 * 365 + 30));
    let mut teams = Vec::new();
    let mut users = Vec::new();
    let mut csms: [Vec<String>; 4] = Default::default();
    let mut used_emails = std::collections::HashSet::new();
    let mut new_user = |rng: &mut ChaCha8Rng, role: Role, title: &str, team: Option<String>| {
        let (name, handle) = person(rng);
        let mut email = format!("{handle}@{SYNTHETIC_DOMAIN}");
        let mut n = 2;
        while !used_emails.insert(email.clone()) {
            email = format!("{handle}{n}@{SYNTHETIC_DOMAIN}");
            n += 1;
        }
        User {
            id: id_at(rng, created),
            name,
            email,
            role,
            title: title.to_string(),
            team_id: team,
            created_at: created,
        }
    };
    for exec_title in [
        "VP Customer Success",
        "VP Services",
        "VP Product",
        "VP Support",
        "Chief Revenue Officer",
        "CFO",
    ] {
        users.push(new_user(&mut rng, Role::Executive, exec_title, None));
    }
    users.push(new_user(&mut rng, Role::Admin, "CS Operations", None));
    for (i, profile) in SEGMENTS.iter().enumerate() {
        let team = Team {
            id: id_at(&mut rng, created),
            name: profile.team.to_string(),
            created_at: created,
        };
        let expected = (spec.accounts as f64 * profile.share).ceil() as usize;
        let n_csms = expected.div_ceil(profile.accounts_per_csm).max(1);
        let managers = n_csms.div_ceil(10);
        for m in 0..managers {
            let title = if managers == 1 {
                format!("Manager, {}", profile.team)
            } else {
                format!("Manager, {} {}", profile.team, m + 1)
            };
            users.push(new_user(
                &mut rng,
                Role::Manager,
                &title,
                Some(team.id.clone()),
            ));
        }
        for _ in 0..n_csms {
            let title = if profile.segment == Segment::TechTouch {
                "Scale CSM"
            } else {
                "Customer Success Manager"
            };
            let csm = new_user(&mut rng, Role::Csm, title, Some(team.id.clone()));
            csms[i].push(csm.id.clone());
            users.push(csm);
        }
        teams.push(team);
    }
    Org { teams, users, csms }
}

fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(date.weekday().num_days_from_monday() as i64)
}

/// The first anniversary of `start` strictly after `as_of`.
fn next_anniversary(start: NaiveDate, as_of: NaiveDate) -> NaiveDate {
    let mut year = as_of.year();
    loop {
        let candidate = NaiveDate::from_ymd_opt(year, start.month(), start.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, start.month(), 28))
            .unwrap_or(as_of);
        if candidate > as_of {
            return candidate;
        }
        year += 1;
    }
}

/// Generates accounts `range` of the book.
pub fn accounts(spec: &BookSpec, org: &Org, range: std::ops::Range<usize>) -> Vec<AccountBundle> {
    range.map(|i| account(spec, org, i)).collect()
}

/// Counts of what a load wrote, for the CLI and tests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BookSummary {
    pub accounts: usize,
    pub users: usize,
    pub contacts: usize,
    pub usage_weeks: usize,
    pub tickets: usize,
    pub nps_responses: usize,
    pub timeline_entries: usize,
    pub stories: Vec<(Story, usize)>,
}

/// One chunk of the book, flattened per table for batched writes.
#[derive(Default)]
struct Rows {
    accounts: Vec<Account>,
    contacts: Vec<Contact>,
    usage: Vec<UsageWeek>,
    tickets: Vec<Ticket>,
    nps: Vec<NpsResponse>,
    timeline: Vec<TimelineEntry>,
}

/// How many accounts are generated and written per round.
const CHUNK: usize = 2_000;

/// Writes the organisation's teams and people only: a second device of the same
/// organisation (sync), or a store an import fills with accounts.
pub async fn load_people(store: &Store, spec: &BookSpec) -> Result<Org> {
    let org = org(spec);
    let mut tx = store.write().await?;
    people::upsert_teams(&mut tx, &org.teams).await?;
    people::upsert_users(&mut tx, &org.users).await?;
    tx.commit().await?;
    Ok(org)
}

/// Generates the book and writes it into `store` in one transaction: a failure leaves the
/// store as it was. `progress` is called with (accounts written, total).
pub async fn load(
    store: &Store,
    spec: &BookSpec,
    mut progress: impl FnMut(usize, usize),
) -> Result<BookSummary> {
    let org = org(spec);
    let mut tx = store.write().await?;
    people::upsert_teams(&mut tx, &org.teams).await?;
    people::upsert_users(&mut tx, &org.users).await?;
    let mut summary = BookSummary {
        users: org.users.len(),
        ..Default::default()
    };
    let mut story_counts = std::collections::BTreeMap::new();
    let mut start = 0;
    while start < spec.accounts {
        let end = (start + CHUNK).min(spec.accounts);
        let mut rows = Rows::default();
        for b in accounts(spec, &org, start..end) {
            for s in &b.stories {
                *story_counts.entry(*s).or_insert(0usize) += 1;
            }
            rows.accounts.push(b.account);
            rows.contacts.extend(b.contacts);
            rows.usage.extend(b.usage);
            rows.tickets.extend(b.tickets);
            rows.nps.extend(b.nps);
            rows.timeline.extend(b.timeline);
        }
        accounts::upsert_accounts(&mut tx, &rows.accounts).await?;
        activity::upsert_contacts(&mut tx, &rows.contacts).await?;
        activity::upsert_usage(&mut tx, &rows.usage).await?;
        activity::upsert_tickets(&mut tx, &rows.tickets).await?;
        activity::upsert_nps(&mut tx, &rows.nps).await?;
        crate::timeline::upsert(&mut tx, &rows.timeline).await?;
        summary.accounts += rows.accounts.len();
        summary.contacts += rows.contacts.len();
        summary.usage_weeks += rows.usage.len();
        summary.tickets += rows.tickets.len();
        summary.nps_responses += rows.nps.len();
        summary.timeline_entries += rows.timeline.len();
        start = end;
        progress(start, spec.accounts);
    }
    tx.commit().await?;
    summary.stories = story_counts.into_iter().collect();
    Ok(summary)
}

#[cfg(test)]
mod tests;
