//! One account of the synthetic book: its size and stories first, then each piece of its
//! data (contacts, usage, tickets, NPS, timeline) from the account's own random stream,
//! always in the same order, so a seed gives the same book on every machine.

use super::*;

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

    let this_week = monday_of(as_of);
    let window_start = (this_week - Duration::weeks(25)).max(contract_start);
    let piece = Piece {
        as_of,
        id_time,
        account_id: &account_id,
        segment,
        created_at,
        contract_start,
        window_start,
        window_days: (as_of - window_start).num_days().max(1),
        stories: &stories,
    };
    // Each piece draws from the account's one random stream, in this order.
    let contacts = contacts(&mut rng, &piece, &account);
    let usage = usage(&mut rng, &piece, seats);
    let tickets = tickets(&mut rng, &piece);
    let nps = nps(&mut rng, &piece, &contacts);
    let timeline = timeline(&mut rng, &piece, &contacts, &owner_id);

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

/// What every piece of one account's data is generated from.
struct Piece<'a> {
    as_of: NaiveDate,
    id_time: DateTime<Utc>,
    account_id: &'a str,
    segment: Segment,
    created_at: DateTime<Utc>,
    contract_start: NaiveDate,
    /// The 26 weeks (from the contract start, if later) that tickets, NPS and touches fall in.
    window_start: NaiveDate,
    window_days: i64,
    stories: &'a [Story],
}

/// A sponsor, a champion, a billing contact, then users; a sponsor-left story dates the
/// sponsor's departure.
fn contacts(rng: &mut ChaCha8Rng, c: &Piece, account: &Account) -> Vec<Contact> {
    let (as_of, id_time, account_id, segment, created_at) =
        (c.as_of, c.id_time, c.account_id, c.segment, c.created_at);
    let has = |s: Story| c.stories.contains(&s);
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
        let (name, handle) = person(rng);
        let (role, title) = match i {
            0 => (ContactRole::Sponsor, names::SPONSOR_TITLES.choose(rng)),
            1 => (ContactRole::Champion, names::CHAMPION_TITLES.choose(rng)),
            2 => (ContactRole::Billing, Some(&"Finance Manager")),
            _ => (ContactRole::User, names::USER_TITLES.choose(rng)),
        };
        let left_on = (i == 0 && has(Story::SponsorLeft))
            .then(|| as_of - Duration::days(rng.gen_range(3..45)));
        contacts.push(Contact {
            id: id_at(rng, id_time),
            account_id: account_id.to_string(),
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

    contacts
}

/// 26 weeks of usage, only from the contract start on, shaped by the account's stories.
fn usage(rng: &mut ChaCha8Rng, c: &Piece, seats: i32) -> Vec<UsageWeek> {
    let (as_of, account_id, contract_start) = (c.as_of, c.account_id, c.contract_start);
    let has = |s: Story| c.stories.contains(&s);
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
            account_id: account_id.to_string(),
            week_start,
            active_users: active,
            licensed_seats: seats,
            logins: (active as f64 * logins_per_user * rng.gen_range(0.85..1.15)).round() as i32,
            key_feature_adoption: adoption.round().clamp(0.0, 100.0) as i32,
        });
    }

    usage
}

/// Support tickets over the 26 weeks; a spike is a burst of one category lately.
fn tickets(rng: &mut ChaCha8Rng, c: &Piece) -> Vec<Ticket> {
    let (as_of, id_time, account_id, segment) = (c.as_of, c.id_time, c.account_id, c.segment);
    let (window_start, window_days) = (c.window_start, c.window_days);
    let has = |s: Story| c.stories.contains(&s);
    let base_tickets: f64 = match segment {
        Segment::Strategic => 12.0,
        Segment::Enterprise => 6.0,
        Segment::MidMarket => 3.0,
        Segment::TechTouch => 1.0,
    };
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
            account_id: account_id.to_string(),
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
            rng,
        );
        let category = names::TICKET_CATEGORIES
            .choose(rng)
            .copied()
            .unwrap_or("How-to");
        let priority = *[
            TicketPriority::Low,
            TicketPriority::Normal,
            TicketPriority::Normal,
            TicketPriority::Normal,
            TicketPriority::High,
        ]
        .choose(rng)
        .unwrap_or(&TicketPriority::Normal);
        push_ticket(rng, opened, category, priority, 0.08);
    }
    if has(Story::TicketSpike) {
        let category = *["Performance", "Bug", "Integration"]
            .choose(rng)
            .unwrap_or(&"Bug");
        for _ in 0..rng.gen_range(5..=12) {
            let opened = at_hour(as_of - Duration::days(rng.gen_range(0..28)), rng);
            let priority = if rng.gen_bool(0.3) {
                TicketPriority::Urgent
            } else {
                TicketPriority::High
            };
            push_ticket(rng, opened, category, priority, 0.7);
        }
    }
    tickets.sort_by_key(|t| t.opened_at);

    tickets
}

/// A few NPS responses from contacts; a detractor story ends on a recent 0–5.
fn nps(rng: &mut ChaCha8Rng, c: &Piece, contacts: &[Contact]) -> Vec<NpsResponse> {
    let (as_of, id_time, account_id, segment) = (c.as_of, c.id_time, c.account_id, c.segment);
    let (window_start, window_days) = (c.window_start, c.window_days);
    let has = |s: Story| c.stories.contains(&s);
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
            account_id: account_id.to_string(),
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
        nps.push(nps_entry(rng, day, score));
    }
    if has(Story::DetractorNps) {
        let day = as_of - Duration::days(rng.gen_range(1..30));
        nps.retain(|r| r.responded_on < day);
        let score = rng.gen_range(0..=5);
        nps.push(nps_entry(rng, day, score));
    }
    nps.sort_by_key(|r| r.responded_on);

    nps
}

/// Touches by the owner, heavier for high-touch segments, and the note that a sponsor left.
fn timeline(
    rng: &mut ChaCha8Rng,
    c: &Piece,
    contacts: &[Contact],
    owner_id: &Option<String>,
) -> Vec<TimelineEntry> {
    let (as_of, id_time, account_id, segment) = (c.as_of, c.id_time, c.account_id, c.segment);
    let (window_start, window_days) = (c.window_start, c.window_days);
    let has = |s: Story| c.stories.contains(&s);
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
            rng,
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
            id: id_at(rng, id_time),
            account_id: account_id.to_string(),
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
        let occurred = at_hour(left + Duration::days(2).min(as_of - left), rng);
        let name = contacts.first().map(|c| c.name.clone()).unwrap_or_default();
        timeline.push(TimelineEntry {
            id: id_at(rng, id_time),
            account_id: account_id.to_string(),
            kind: TimelineKind::Note,
            occurred_at: occurred,
            author_id: owner_id.clone(),
            body: format!("Heard that our executive sponsor {name} has left the company; no successor named yet."),
        });
    }
    timeline.sort_by_key(|e| e.occurred_at);

    timeline
}
