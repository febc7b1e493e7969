//! Lifecycle stages that move: onboarding → adopted → mature, and renewal while the
//! renewal date is near. A CRM export rarely carries a stage and never keeps it current,
//! so the daily recompute moves it from the account's own data by configurable criteria,
//! keeps the day each stage (and adoption) was reached, and writes the move to the
//! timeline. Adoption is a milestone: once reached it is kept, so a dip in usage later is
//! a usage signal, not a return to onboarding.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::Stage;
use crate::scorecard::facts::UsageSeen;
use crate::scorecard::AccountFacts;
use crate::store::{Store, Tx};
use crate::{Error, Result};

const CRITERIA: &str = "stage_criteria";

/// When an account moves from one stage to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StageCriteria {
    /// Adopted once seat utilization is at least this share (%) ...
    pub adopt_seat_pct: f64,
    /// ... for this many consecutive weeks.
    pub adopt_weeks: u32,
    /// Mature this many days after adoption.
    pub mature_after_days: u32,
    /// In renewal from this many days before the renewal date.
    pub renewal_window_days: u32,
}

impl Default for StageCriteria {
    fn default() -> Self {
        StageCriteria {
            adopt_seat_pct: 40.0,
            adopt_weeks: 4,
            mature_after_days: 180,
            renewal_window_days: 120,
        }
    }
}

impl StageCriteria {
    pub fn validate(&self) -> Result<()> {
        if !(self.adopt_seat_pct > 0.0 && self.adopt_seat_pct <= 100.0) {
            return Err(Error::invalid(
                "stage criteria: adopted seat utilization",
                "must be above 0 and at most 100 %",
            ));
        }
        if !(1..=52).contains(&self.adopt_weeks) {
            return Err(Error::invalid(
                "stage criteria: adopted weeks",
                "must be 1 to 52 weeks",
            ));
        }
        if self.mature_after_days > 3650 {
            return Err(Error::invalid(
                "stage criteria: mature after",
                "must be at most 3,650 days",
            ));
        }
        if self.renewal_window_days > 730 {
            return Err(Error::invalid(
                "stage criteria: renewal window",
                "must be at most 730 days",
            ));
        }
        Ok(())
    }
}

pub async fn criteria(store: &crate::Store) -> Result<StageCriteria> {
    crate::config::cached(store, CRITERIA).await
}

pub async fn save_criteria(store: &Store, c: &StageCriteria) -> Result<()> {
    c.validate()?;
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, CRITERIA, c).await?;
    tx.commit().await?;
    Ok(())
}

/// What the account's data says about adoption.
#[derive(Debug, Clone, PartialEq)]
pub enum Adoption {
    /// Reached (on the day, when known), with the evidence.
    Adopted {
        on: Option<NaiveDate>,
        evidence: String,
    },
    /// The account has usage data and has not met the criteria.
    NotYet { evidence: String },
    /// No usage data with licensed seats: nothing to judge adoption by.
    Unknown,
}

impl Adoption {
    pub fn evidence(&self) -> String {
        match self {
            Adoption::Adopted { evidence, .. } | Adoption::NotYet { evidence } => evidence.clone(),
            Adoption::Unknown => "adoption unknown: no usage data with licensed seats".into(),
        }
    }
}

fn shares(pcts: &[f64]) -> String {
    pcts.iter()
        .map(|p| format!("{p:.0} %"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What adoption the data shows, before any evidence is written: a recompute asks this
/// of every account every day and needs words only for the few whose stage moves
/// (building them for all was 2.5 % of a next day's instructions).
#[derive(Clone, Copy)]
enum Found {
    /// The adoption day the store holds.
    Stored(NaiveDate),
    /// Reached in the usage (the first run of weeks at the share).
    FirstRun(NaiveDate),
    /// The stage says adopted (from a file), its day not known.
    ByFile(Option<NaiveDate>),
    NotYet,
    Unknown,
}

impl Found {
    /// Adopted (on the day, when known), or None when not adopted.
    fn adopted(self) -> Option<Option<NaiveDate>> {
        match self {
            Found::Stored(on) | Found::FirstRun(on) => Some(Some(on)),
            Found::ByFile(on) => Some(on),
            Found::NotYet | Found::Unknown => None,
        }
    }
}

/// Judges adoption and hands `then` what was found with the usage it was judged on (None
/// when the stored day settled it).
fn found<T>(
    f: &AccountFacts,
    today: NaiveDate,
    c: &StageCriteria,
    then: impl FnOnce(Found, Option<&UsageSeen>) -> T,
) -> T {
    if let Some(on) = f.adopted_on {
        return then(Found::Stored(on), None);
    }
    let read;
    let seen = match &f.usage_seen {
        Some(kept) => kept,
        None => {
            read = UsageSeen::of(&f.usage, today, c.adopt_seat_pct, c.adopt_weeks);
            &read
        }
    };
    let found = if let Some((on, _)) = &seen.first_run {
        Found::FirstRun(*on)
    } else if matches!(f.account.stage, Stage::Adopting | Stage::Mature) {
        Found::ByFile(f.stage_since)
    } else if !seen.any_seats {
        Found::Unknown
    } else {
        Found::NotYet
    };
    then(found, Some(seen))
}

/// Adoption as the account's data shows it on `today`, with its evidence.
pub fn adoption(f: &AccountFacts, today: NaiveDate, c: &StageCriteria) -> Adoption {
    let rule = || {
        format!(
            "seat utilization ≥ {:.0} % for {} weeks",
            c.adopt_seat_pct, c.adopt_weeks
        )
    };
    found(f, today, c, |found, seen| match found {
        Found::Stored(on) => Adoption::Adopted {
            on: Some(on),
            evidence: format!("adopted on {on}"),
        },
        Found::FirstRun(on) => {
            let pcts = seen
                .and_then(|s| s.first_run.as_ref())
                .map_or(String::new(), |(_, pcts)| shares(pcts));
            Adoption::Adopted {
                on: Some(on),
                evidence: format!("adopted on {on}: {} ({pcts})", rule()),
            }
        }
        Found::ByFile(on) => Adoption::Adopted {
            on,
            evidence: format!(
                "stage {} set by a file; adoption day not known",
                f.account.stage.as_str()
            ),
        },
        Found::Unknown => Adoption::Unknown,
        Found::NotYet => Adoption::NotYet {
            evidence: format!(
                "not adopted: {} not yet met (latest {})",
                rule(),
                seen.map_or(String::new(), |s| shares(&s.tail))
            ),
        },
    })
}

/// A stage (or adoption day) that changed, to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct StageMove {
    pub account_id: String,
    pub from: Stage,
    pub to: Stage,
    pub adopted_on: Option<NaiveDate>,
    /// Why, for the timeline.
    pub reason: String,
}

/// Where the account's stage should be on `today`, when that differs from what is
/// stored (its stage, or an adoption day newly found). The common case, nothing moved,
/// builds no text: this runs for every account on every recompute.
pub fn next(f: &AccountFacts, today: NaiveDate, c: &StageCriteria) -> Option<StageMove> {
    let a = &f.account;
    let adopted = found(f, today, c, |found, _| found.adopted());
    let adopted_on = adopted.map(|on| f.adopted_on.or(on));
    let days_to_renewal = (a.renewal_date - today).num_days();
    let matured = |on: NaiveDate| (today - on).num_days() >= c.mature_after_days as i64;
    let to = if days_to_renewal <= c.renewal_window_days as i64 {
        Stage::Renewal
    } else {
        match adopted_on {
            None => Stage::Onboarding,
            Some(_) if a.stage == Stage::Mature => Stage::Mature,
            Some(Some(on)) if matured(on) => Stage::Mature,
            Some(_) => Stage::Adopting,
        }
    };
    // Only a day found in the data is recorded (for an account whose stage does not
    // already say "adopted", the adoption above came from its usage); a stage taken from a
    // file keeps its adoption day unknown, its stage day standing in for it.
    let new_adopted_on = f.adopted_on.or_else(|| {
        if !matches!(a.stage, Stage::Adopting | Stage::Mature) {
            adopted.flatten()
        } else if to != a.stage {
            // Leaving a stage that said "adopted" without a day: keep the fact, dated as
            // early as it can be, so the renewal stage does not forget it.
            Some(f.stage_since.unwrap_or(a.contract_start))
        } else {
            None
        }
    });
    if to == a.stage && new_adopted_on == f.adopted_on {
        return None;
    }
    // The words, only now that something moved.
    let evidence = || adoption(f, today, c).evidence();
    let reason = match (to, adopted_on.flatten()) {
        _ if to == a.stage => evidence(),
        (Stage::Renewal, _) => format!(
            "renews {} ({} days; the renewal stage starts {} days before)",
            a.renewal_date, days_to_renewal, c.renewal_window_days
        ),
        (Stage::Mature, Some(on)) if a.stage != Stage::Mature && matured(on) => format!(
            "adopted on {on}, {} days ago (mature after {})",
            (today - on).num_days(),
            c.mature_after_days
        ),
        _ => evidence(),
    };
    Some(StageMove {
        account_id: a.id.clone(),
        from: a.stage,
        to,
        adopted_on: new_adopted_on,
        reason,
    })
}

pub fn label(s: Stage) -> &'static str {
    match s {
        Stage::Onboarding => "Onboarding",
        Stage::Adopting => "Adopted",
        Stage::Mature => "Mature",
        Stage::Renewal => "Renewal",
    }
}

/// Writes the moves in the caller's transaction: the stage, the day it was reached, the
/// adoption day, and a timeline entry for each account scored before (an account's first
/// stage, like its first score, is not a change).
pub async fn apply(tx: &mut Tx, moves: &[StageMove], today: NaiveDate) -> Result<()> {
    let ids: Vec<String> = moves.iter().map(|m| m.account_id.clone()).collect();
    let mut qb = sqlx::QueryBuilder::new(
        "SELECT a.id FROM accounts a CROSS JOIN account_health h ON h.account = a.rowid WHERE a.id",
    );
    crate::store::in_list(&mut qb, &ids);
    let scored: std::collections::HashSet<String> = if ids.is_empty() {
        Default::default()
    } else {
        qb.build_query_scalar()
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect()
    };
    let stages: Vec<(&str, Stage, Option<NaiveDate>)> = moves
        .iter()
        .map(|m| (m.account_id.as_str(), m.to, m.adopted_on))
        .collect();
    crate::store::accounts::set_stages(tx, &stages, today).await?;
    let mut notes = Vec::new();
    for m in moves {
        // An adoption day recorded without a move needs no entry of its own.
        if !scored.contains(&m.account_id) || m.from == m.to {
            continue;
        }
        notes.push(crate::timeline::SystemEvent {
            account_id: &m.account_id,
            cta_id: None,
            body: format!(
                "Stage moved: {} → {} ({})",
                label(m.from),
                label(m.to),
                m.reason
            ),
        });
    }
    // One insert for the batch's notes (a 100K book's next day moves ~300 stages).
    if !notes.is_empty() {
        crate::timeline::system_events(tx, &notes).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
