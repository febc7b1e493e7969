//! The synthetic book of business: a realistic, deterministic customer base of any size
//! (1K to 1M accounts) for the demo, tests and benchmarks.
//!
//! Every account is generated from its own random stream (seed, index), so a book is the
//! same on every machine, can be generated in chunks and any account can be regenerated
//! alone. Risk and upsell stories are planted in a known share of accounts.

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
        let mut email = format!("{handle}@riskdesk.example");
        let mut n = 2;
        while !used_emails.insert(email.clone()) {
            email = format!("{handle}{n}@riskdesk.example");
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

/// Generates account `index` of the book.
pub fn account(spec: &BookSpec, org: &Org, index: usize) -> AccountBundle {
    let mut rng = stream(spec.seed, index as u64 + 1);
    let as_of = spec.as_of;

    // Segment and size.
    let roll: f64 = rng.gen();
    let mut acc = 0.0;
    let profile = SEGMENTS
        .iter()
        .find(|p| {
            acc += p.share;
            roll < acc
        })
        .unwrap_or(&SEGMENTS[3]);
    let segment = profile.segment;
    let (lo, hi) = profile.arr_usd;
    let arr_usd_cents = (lo.ln() + rng.gen::<f64>() * (hi.ln() - lo.ln())).exp() * 100.0;
    let (region, currencies) = REGIONS[rng.gen_range(0..REGIONS.len())];
    let currency = currencies.choose(&mut rng).copied().unwrap_or("USD");
    let arr_minor = usd_cents_to(currency, arr_usd_cents).max(100);
    let seat_price = if segment == Segment::TechTouch {
        rng.gen_range(250.0..600.0)
    } else {
        rng.gen_range(600.0..1_200.0)
    };
    let seats = ((arr_usd_cents / 100.0 / seat_price).round() as i32).max(5);

    // Stories.
    let mut stories = Vec::new();
    for story in [
        Story::UsageDecline,
        Story::SponsorLeft,
        Story::ImplementationStalled,
        Story::DetractorNps,
        Story::TicketSpike,
    ] {
        if rng.gen_bool(story.share()) {
            stories.push(story);
        }
    }
    let usage_risk = stories
        .iter()
        .any(|s| matches!(s, Story::UsageDecline | Story::ImplementationStalled));
    let upsell_roll: f64 = rng.gen();
    if !usage_risk {
        if upsell_roll < Story::SeatsNearlyFull.share() {
            stories.push(Story::SeatsNearlyFull);
        } else if upsell_roll
            < Story::SeatsNearlyFull.share()
                + Story::Growth.share() * (1.0 - Story::SeatsNearlyFull.share())
        {
            stories.push(Story::Growth);
        }
    }
    let has = |s: Story| stories.contains(&s);

    // Contract, renewal and lifecycle stage.
    let contract_age = if has(Story::ImplementationStalled) {
        rng.gen_range(100..300)
    } else {
        rng.gen_range(20..5 * 365)
    };
    let contract_start = as_of - Duration::days(contract_age);
    let renewal_date = next_anniversary(contract_start, as_of);
    let days_to_renewal = (renewal_date - as_of).num_days();
    let stage = if has(Story::ImplementationStalled) || contract_age < 60 {
        Stage::Onboarding
    } else if days_to_renewal <= 90 && contract_age > 300 {
        Stage::Renewal
    } else if contract_age < 365 {
        Stage::Adopting
    } else {
        Stage::Mature
    };

    let owners = org.csms(segment);
    let owner_id = owners.get(rng.gen_range(0..owners.len().max(1))).cloned();
    let created_at = midnight(contract_start);
    let id_time = created_moment(spec, index);
    let account_id = id_at(&mut rng, id_time);
    let strategic =
        segment == Segment::Strategic || (segment == Segment::Enterprise && rng.gen_bool(0.1));
    let expansion_potential = if has(Story::SeatsNearlyFull) || has(Story::Growth) {
        *[ExpansionPotential::Medium, ExpansionPotential::High]
            .choose(&mut rng)
            .unwrap_or(&ExpansionPotential::High)
    } else {
        *[
            ExpansionPotential::None,
            ExpansionPotential::Low,
            ExpansionPotential::Low,
            ExpansionPotential::Medium,
        ]
        .choose(&mut rng)
        .unwrap_or(&ExpansionPotential::Low)
    };
    let account = Account {
        id: account_id.clone(),
        name: names::company(index),
        arr_minor,
        currency: currency.to_string(),
        segment,
        stage,
        contract_start,
        renewal_date,
        owner_id: owner_id.clone(),
        strategic,
        expansion_potential,
        industry: names::INDUSTRIES
            .choose(&mut rng)
            .copied()
            .unwrap_or("Software")
            .to_string(),
        region: region.to_string(),
        crm_id: Some(format!("001{:012}", index)),
        created_at,
        updated_at: midnight(as_of),
    };

    // Contacts: a sponsor, a champion, then users.
    let n_contacts = match segment {
        Segment::Strategic => rng.gen_range(6..=10),
        Segment::Enterprise => rng.gen_range(4..=7),
        Segment::MidMarket => rng.gen_range(3..=5),
        Segment::TechTouch => rng.gen_range(2..=3),
    };
    let domain = account
        .name
        .split_whitespace()
        .take(2)
        .collect::<String>()
        .to_lowercase();
    let mut contacts = Vec::with_capacity(n_contacts);
    for i in 0..n_contacts {
        let (name, handle) = person(&mut rng);
        let (role, title) = match i {
            0 => (ContactRole::Sponsor, names::SPONSOR_TITLES.choose(&mut rng)),
            1 => (
                ContactRole::Champion,
                names::CHAMPION_TITLES.choose(&mut rng),
            ),
            2 => (ContactRole::Billing, Some(&"Finance Manager")),
            _ => (ContactRole::User, names::USER_TITLES.choose(&mut rng)),
        };
        let left_on = (i == 0 && has(Story::SponsorLeft))
            .then(|| as_of - Duration::days(rng.gen_range(3..45)));
        contacts.push(Contact {
            id: id_at(&mut rng, id_time),
            account_id: account_id.clone(),
            name,
            email: format!("{handle}@{domain}.example"),
            title: title.copied().unwrap_or("").to_string(),
            role,
            status: if left_on.is_some() {
                ContactStatus::Left
            } else {
                ContactStatus::Active
            },
            left_on,
            created_at,
            external_id: None,
        });
    }

    // 26 weeks of usage, only from the contract start on.
    let this_week = monday_of(as_of);
    let base_util: f64 = if has(Story::SeatsNearlyFull) {
        rng.gen_range(0.90..0.97)
    } else {
        rng.gen_range(0.45..0.85)
    };
    let base_adoption: f64 = rng.gen_range(30.0..80.0);
    let logins_per_user: f64 = rng.gen_range(3.0..8.0);
    let decline_weeks = rng.gen_range(6..=10);
    let decline_to: f64 = rng.gen_range(0.20..0.50);
    let mut usage = Vec::with_capacity(26);
    for w in 0..26i64 {
        let week_start = this_week - Duration::weeks(25 - w);
        if week_start + Duration::days(6) < contract_start {
            continue;
        }
        let weeks_live = ((week_start - contract_start).num_days() / 7).max(0) as f64;
        let mut util = base_util * (0.15 + 0.85 * (weeks_live / 12.0).min(1.0));
        let mut adoption = base_adoption * (0.3 + 0.7 * (weeks_live / 16.0).min(1.0));
        if has(Story::ImplementationStalled) {
            util = base_util * 0.25;
            adoption = base_adoption * 0.3;
        }
        if has(Story::UsageDecline) && w >= 26 - decline_weeks {
            let progress = (w - (26 - decline_weeks) + 1) as f64 / decline_weeks as f64;
            let factor = 1.0 - (1.0 - decline_to) * progress;
            util *= factor;
            adoption *= 0.5 + 0.5 * factor;
        }
        if has(Story::Growth) {
            util = base_util + (0.97 - base_util) * (w as f64 / 25.0);
        }
        util = (util * rng.gen_range(0.95..1.05)).clamp(0.0, 1.0);
        let active = (seats as f64 * util).round() as i32;
        usage.push(UsageWeek {
            account_id: account_id.clone(),
            week_start,
            active_users: active,
            licensed_seats: seats,
            logins: (active as f64 * logins_per_user * rng.gen_range(0.85..1.15)).round() as i32,
            key_feature_adoption: adoption.round().clamp(0.0, 100.0) as i32,
        });
    }

    // Support tickets over the 26 weeks; a spike is a burst of one category lately.
    let base_tickets: f64 = match segment {
        Segment::Strategic => 12.0,
        Segment::Enterprise => 6.0,
        Segment::MidMarket => 3.0,
        Segment::TechTouch => 1.0,
    };
    let window_start = (this_week - Duration::weeks(25)).max(contract_start);
    let window_days = (as_of - window_start).num_days().max(1);
    let mut tickets = Vec::new();
    let mut push_ticket = |rng: &mut ChaCha8Rng,
                           opened: DateTime<Utc>,
                           category: &str,
                           priority: TicketPriority,
                           open_chance: f64| {
        let subjects: Vec<&str> = names::TICKET_SUBJECTS
            .iter()
            .filter(|(c, _)| *c == category)
            .map(|(_, s)| *s)
            .collect();
        let subject = subjects
            .choose(rng)
            .copied()
            .unwrap_or("Question about the product");
        let age_days = (midnight(as_of) - opened).num_days();
        let resolved_at = if rng.gen_bool(open_chance) {
            None
        } else {
            let took = Duration::hours(rng.gen_range(2..24 * 20));
            let resolved = opened + took;
            (resolved < midnight(as_of))
                .then_some(resolved)
                .or(if age_days > 30 {
                    Some(opened + Duration::days(age_days / 2))
                } else {
                    None
                })
        };
        tickets.push(Ticket {
            id: id_at(rng, id_time),
            account_id: account_id.clone(),
            external_id: Some(format!("T-{}", rng.gen_range(100_000..999_999))),
            subject: subject.to_string(),
            priority,
            category: category.to_string(),
            opened_at: opened,
            resolved_at,
        });
    };
    let n_tickets = (base_tickets * rng.gen_range(0.3..1.7)).round() as usize;
    for _ in 0..n_tickets {
        let opened = at_hour(
            window_start + Duration::days(rng.gen_range(0..window_days)),
            &mut rng,
        );
        let category = names::TICKET_CATEGORIES
            .choose(&mut rng)
            .copied()
            .unwrap_or("How-to");
        let priority = *[
            TicketPriority::Low,
            TicketPriority::Normal,
            TicketPriority::Normal,
            TicketPriority::Normal,
            TicketPriority::High,
        ]
        .choose(&mut rng)
        .unwrap_or(&TicketPriority::Normal);
        push_ticket(&mut rng, opened, category, priority, 0.08);
    }
    if has(Story::TicketSpike) {
        let category = *["Performance", "Bug", "Integration"]
            .choose(&mut rng)
            .unwrap_or(&"Bug");
        for _ in 0..rng.gen_range(5..=12) {
            let opened = at_hour(as_of - Duration::days(rng.gen_range(0..28)), &mut rng);
            let priority = if rng.gen_bool(0.3) {
                TicketPriority::Urgent
            } else {
                TicketPriority::High
            };
            push_ticket(&mut rng, opened, category, priority, 0.7);
        }
    }
    tickets.sort_by_key(|t| t.opened_at);

    // NPS: a few responses from contacts; a detractor story ends on a recent 0–5.
    let n_nps = match segment {
        Segment::Strategic | Segment::Enterprise => rng.gen_range(1..=4),
        _ => rng.gen_range(0..=2),
    };
    let mut nps = Vec::new();
    let nps_entry = |rng: &mut ChaCha8Rng, day: NaiveDate, score: i32| {
        let pool = match score {
            0..=6 => names::DETRACTOR_COMMENTS,
            7..=8 => names::PASSIVE_COMMENTS,
            _ => names::PROMOTER_COMMENTS,
        };
        NpsResponse {
            id: id_at(rng, id_time),
            account_id: account_id.clone(),
            contact_id: contacts.choose(rng).map(|c| c.id.clone()),
            score,
            comment: pool.choose(rng).copied().unwrap_or("").to_string(),
            responded_on: day,
            external_id: None,
        }
    };
    for _ in 0..n_nps {
        let day = window_start + Duration::days(rng.gen_range(0..window_days));
        let roll: f64 = rng.gen();
        let score = if roll < 0.45 {
            rng.gen_range(9..=10)
        } else if roll < 0.85 {
            rng.gen_range(7..=8)
        } else {
            rng.gen_range(3..=6)
        };
        nps.push(nps_entry(&mut rng, day, score));
    }
    if has(Story::DetractorNps) {
        let day = as_of - Duration::days(rng.gen_range(1..30));
        nps.retain(|r| r.responded_on < day);
        let score = rng.gen_range(0..=5);
        nps.push(nps_entry(&mut rng, day, score));
    }
    nps.sort_by_key(|r| r.responded_on);

    // Timeline: touches by the owner, heavier for high-touch segments.
    let n_touches = match segment {
        Segment::Strategic => rng.gen_range(6..=12),
        Segment::Enterprise => rng.gen_range(3..=8),
        Segment::MidMarket => rng.gen_range(1..=4),
        Segment::TechTouch => rng.gen_range(0..=2),
    };
    let mut timeline = Vec::new();
    for _ in 0..n_touches {
        let occurred = at_hour(
            window_start + Duration::days(rng.gen_range(0..window_days)),
            &mut rng,
        );
        let (kind, body) = if segment == Segment::TechTouch {
            (
                TimelineKind::Email,
                "Digital touch: best-practice newsletter sent".to_string(),
            )
        } else {
            let sponsor = contacts
                .first()
                .map(|c| c.name.as_str())
                .unwrap_or("the sponsor");
            match rng.gen_range(0..4) {
                0 => (
                    TimelineKind::Call,
                    format!("Check-in call with {sponsor}: priorities for next quarter"),
                ),
                1 => (
                    TimelineKind::Meeting,
                    "Quarterly business review: adoption and roadmap".to_string(),
                ),
                2 => (
                    TimelineKind::Email,
                    "Sent usage summary and training links".to_string(),
                ),
                _ => (
                    TimelineKind::Note,
                    "Team is expanding the rollout to a second department".to_string(),
                ),
            }
        };
        timeline.push(TimelineEntry {
            id: id_at(&mut rng, id_time),
            account_id: account_id.clone(),
            kind,
            occurred_at: occurred,
            author_id: owner_id.clone(),
            body,
        });
    }
    if let (true, Some(left)) = (
        has(Story::SponsorLeft),
        contacts.first().and_then(|c| c.left_on),
    ) {
        let occurred = at_hour(left + Duration::days(2).min(as_of - left), &mut rng);
        let name = contacts.first().map(|c| c.name.clone()).unwrap_or_default();
        timeline.push(TimelineEntry {
            id: id_at(&mut rng, id_time),
            account_id: account_id.clone(),
            kind: TimelineKind::Note,
            occurred_at: occurred,
            author_id: owner_id.clone(),
            body: format!("Heard that our executive sponsor {name} has left the company; no successor named yet."),
        });
    }
    timeline.sort_by_key(|e| e.occurred_at);

    AccountBundle {
        account,
        contacts,
        usage,
        tickets,
        nps,
        timeline,
        stories,
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
        activity::upsert_timeline(&mut tx, &rows.timeline).await?;
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
