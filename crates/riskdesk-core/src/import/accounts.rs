//! Accounts from CRM exports, matched to the store by CRM id.

use std::collections::HashMap;

use chrono::{DateTime, Months, NaiveDate, Utc};

use super::lookup::Lookup;
use super::row::{Key, Keys, Row};
use super::values::{self, one_of};
use super::{fetch_in, head, write_in_chunks, Applied};
use crate::model::{Account, ExpansionPotential, Segment, Stage};
use crate::store::Tx;
use crate::Result;

const SEGMENTS: &[(Segment, &[&str])] = &[
    (
        Segment::Strategic,
        &["strategic", "key", "key account", "tier 1", "platinum"],
    ),
    (
        Segment::Enterprise,
        &["enterprise", "ent", "large enterprise", "tier 2", "gold"],
    ),
    (
        Segment::MidMarket,
        &[
            "mid-market",
            "mid market",
            "mm",
            "midmarket",
            "commercial",
            "tier 3",
            "silver",
        ],
    ),
    (
        Segment::TechTouch,
        &[
            "tech-touch",
            "tech touch",
            "smb",
            "small business",
            "scale",
            "digital",
            "low touch",
            "tier 4",
            "bronze",
        ],
    ),
];

const STAGES: &[(Stage, &[&str])] = &[
    (
        Stage::Onboarding,
        &["onboarding", "implementation", "kickoff", "new"],
    ),
    (
        Stage::Adopting,
        &["adopting", "adopted", "adoption", "growing", "ramping"],
    ),
    (
        Stage::Mature,
        &["mature", "established", "steady state", "live"],
    ),
    (Stage::Renewal, &["renewal", "renewing", "up for renewal"]),
];

const EXPANSION: &[(ExpansionPotential, &[&str])] = &[
    (ExpansionPotential::None, &["none", "no", "n/a"]),
    (ExpansionPotential::Low, &["low"]),
    (ExpansionPotential::Medium, &["medium", "med", "moderate"]),
    (ExpansionPotential::High, &["high"]),
];

/// A valid row: the fields the file gave, the rest left as the store has them.
pub struct AccountDraft {
    external_id: String,
    name: String,
    arr_minor: i64,
    currency: String,
    renewal_date: NaiveDate,
    contract_start: Option<NaiveDate>,
    segment: Option<Segment>,
    stage: Option<Stage>,
    owner_id: Option<String>,
    strategic: Option<bool>,
    expansion: Option<ExpansionPotential>,
    industry: Option<String>,
    region: Option<String>,
}

/// Reads one account row. An owner Riskdesk does not know does not reject the row: the
/// account comes in unassigned (a new one) or keeps its owner (one already here), and the
/// owner is counted in `unknown_owners` for the report.
pub fn parse(
    row: &mut Row<'_>,
    lookup: &Lookup,
    keys: &mut Keys,
    unknown_owners: &mut std::collections::BTreeMap<String, u32>,
) -> Option<AccountDraft> {
    let external_id = row.required("external_id");
    let name = row.required("name");
    let amount = row.parse_required("arr", values::amount);
    let named = row.text("currency").map(|c| c.trim().to_ascii_uppercase());
    let currency = match (amount.as_ref().and_then(|a| a.currency.clone()), named) {
        (Some(in_cell), Some(col)) if in_cell != col => {
            row.fail(
                "currency",
                format!("says {col} but the ARR cell is in {in_cell}"),
            );
            None
        }
        (in_cell, col) => Some(
            in_cell
                .or(col)
                .unwrap_or_else(|| lookup.default_currency.clone()),
        ),
    };
    let arr_minor = match (&amount, &currency) {
        (Some(a), Some(c)) => match lookup.digits(c).and_then(|d| a.to_minor(d)) {
            Ok(v) => Some(v),
            Err(reason) => {
                let field = if row.mapped("currency") {
                    "currency"
                } else {
                    "arr"
                };
                row.fail(field, reason);
                None
            }
        },
        _ => None,
    };
    let renewal_date = row.parse_required("renewal_date", values::date);
    let contract_start = row.parse("contract_start", values::date);
    if let (Some(start), Some(renewal)) = (contract_start, renewal_date) {
        if start > renewal {
            row.fail("contract_start", "is after the renewal date");
        }
    }
    let segment = row.parse("segment", |s| one_of(s, "segment", SEGMENTS));
    let stage = row.parse("stage", |s| one_of(s, "lifecycle stage", STAGES));
    let owner_id = row.text("owner").and_then(|s| match lookup.user(s) {
        Ok(id) => Some(id),
        Err(_) => {
            *unknown_owners.entry(s.to_string()).or_default() += 1;
            None
        }
    });
    let strategic = row.parse("strategic", values::flag);
    let expansion = row.parse("expansion_potential", |s| {
        one_of(s, "expansion potential", EXPANSION)
    });
    let industry = row.text("industry").map(str::to_string);
    let region = row.text("region").map(str::to_string);
    if let Some(id) = external_id {
        keys.claim(row, "external_id", Key::Text(id.to_string()), "the CRM id");
    }
    if !row.ok() {
        return None;
    }
    Some(AccountDraft {
        external_id: external_id?.to_string(),
        name: name?.to_string(),
        arr_minor: arr_minor?,
        currency: currency?,
        renewal_date: renewal_date?,
        contract_start,
        segment,
        stage,
        owner_id,
        strategic,
        expansion,
        industry,
        region,
    })
}

/// The segment a new account gets when the file has none: by ARR in the base currency.
fn segment_for(arr_base_minor: i64) -> Segment {
    match arr_base_minor {
        v if v >= 250_000_00 => Segment::Enterprise,
        v if v >= 50_000_00 => Segment::MidMarket,
        _ => Segment::TechTouch,
    }
}

fn merge(
    d: &AccountDraft,
    existing: Option<&Account>,
    lookup: &Lookup,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Account {
    let mut a = match existing {
        Some(e) => e.clone(),
        None => {
            let start = d.contract_start.unwrap_or_else(|| {
                d.renewal_date
                    .checked_sub_months(Months::new(12))
                    .unwrap_or(d.renewal_date)
                    .min(today)
            });
            let base = lookup
                .fx
                .to_base(d.arr_minor, &d.currency)
                .unwrap_or(d.arr_minor);
            Account {
                id: crate::new_id(),
                name: String::new(),
                arr_minor: 0,
                currency: String::new(),
                segment: d.segment.unwrap_or_else(|| segment_for(base)),
                // Without a stage in the file an account starts at the beginning; the
                // recompute that follows the import moves it by the stage criteria.
                stage: d.stage.unwrap_or(Stage::Onboarding),
                contract_start: start,
                renewal_date: d.renewal_date,
                owner_id: None,
                strategic: false,
                expansion_potential: ExpansionPotential::None,
                industry: String::new(),
                region: String::new(),
                crm_id: Some(d.external_id.clone()),
                created_at: now,
                updated_at: now,
            }
        }
    };
    a.name = d.name.clone();
    a.arr_minor = d.arr_minor;
    a.currency = d.currency.clone();
    a.renewal_date = d.renewal_date;
    if let Some(v) = d.contract_start {
        a.contract_start = v;
    }
    if let Some(v) = d.segment {
        a.segment = v;
    }
    if let Some(v) = d.stage {
        a.stage = v;
    }
    if let Some(v) = &d.owner_id {
        a.owner_id = Some(v.clone());
    }
    if let Some(v) = d.strategic {
        a.strategic = v;
    }
    if let Some(v) = d.expansion {
        a.expansion_potential = v;
    }
    if let Some(v) = &d.industry {
        a.industry = v.clone();
    }
    if let Some(v) = &d.region {
        a.region = v.clone();
    }
    a
}

async fn existing(tx: &mut Tx, drafts: &[AccountDraft]) -> Result<HashMap<String, Account>> {
    Ok(fetch_in::<Account>(
        tx,
        head("SELECT id, name, arr_minor, currency, segment, stage, contract_start, renewal_date, \
              owner_id, strategic, expansion_potential, industry, region, crm_id, created_at, updated_at \
              FROM accounts WHERE crm_id IN"),
        drafts.iter().map(|d| d.external_id.clone()),
    )
    .await?
    .into_iter()
    .filter_map(|a| Some((a.crm_id.clone()?, a)))
    .collect())
}

pub async fn apply(
    tx: &mut Tx,
    write: bool,
    drafts: Vec<AccountDraft>,
    lookup: &Lookup,
    today: NaiveDate,
    now: DateTime<Utc>,
    progress: &mut impl FnMut(usize, usize),
) -> Result<Applied> {
    let before = existing(tx, &drafts).await?;
    let mut applied = Applied::default();
    let mut changed = Vec::new();
    for d in &drafts {
        let old = before.get(&d.external_id);
        let mut new = merge(d, old, lookup, today, now);
        applied.count(old, &new, &new.id);
        if old != Some(&new) {
            new.updated_at = now;
            changed.push(new);
        }
    }
    if write {
        // A first import into a (nearly) empty store rebuilds the indexes once at the end.
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&mut **tx)
            .await?;
        let bulk = if i64::from(applied.inserted) > existing.max(1_000) {
            Some(crate::store::accounts::begin_bulk_load(tx).await?)
        } else {
            None
        };
        write_in_chunks!(
            tx,
            &changed,
            progress,
            crate::store::accounts::upsert_accounts
        );
        if let Some(load) = bulk {
            crate::store::accounts::finish_bulk_load(tx, load).await?;
        }
    }
    Ok(applied)
}
