//! What a run reads about its accounts: each account's state as the conditions see it,
//! its escalation and its live CTAs, a batch at a time on the bulk-read connection.

use rustc_hash::{FxHashMap, FxHashSet};

use chrono::NaiveDate;

use super::super::AccountState;
use crate::model::{ExpansionPotential, Stage};
use crate::signals::Level;
use crate::store::reader::{day, day_or_null, parsed, Accounts};
use crate::store::{Span, Store};
use crate::Result;

pub(super) struct Loaded {
    pub(super) name: String,
    pub(super) owner_id: Option<String>,
    pub(super) state: AccountState,
    /// An open escalation, or a de-escalation's quiet period until this day.
    pub(super) escalation: Option<Option<NaiveDate>>,
}

impl Loaded {
    /// Whether a rule may open an escalation today (the criteria's rule).
    pub(super) fn may_escalate(&self, today: NaiveDate) -> bool {
        match self.escalation {
            None => true,
            Some(Some(quiet_until)) => quiet_until <= today,
            Some(None) => false,
        }
    }
}

pub(super) struct LiveCta {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) snoozed_until: Option<NaiveDate>,
    pub(super) rule_id: Option<String>,
    pub(super) owner_id: Option<String>,
}

/// Live CTAs by (account, type, reason).
pub(super) type LiveMap = FxHashMap<(String, String, String), LiveCta>;

/// What a batch read, by account id.
pub(super) type LoadedMap = FxHashMap<String, Loaded>;

/// What the rules read about `ids`, on the store's bulk-read connection.
pub(super) async fn load(
    store: &Store,
    ids: &[String],
    span: Span,
    today: NaiveDate,
) -> Result<(LoadedMap, LiveMap)> {
    let ids = ids.to_vec();
    store
        .read(move |conn| read_states(conn, &ids, span, today))
        .await
}

fn read_states(
    conn: &rusqlite::Connection,
    ids: &[String],
    span: Span,
    today: NaiveDate,
) -> rusqlite::Result<(LoadedMap, LiveMap)> {
    let accounts = Accounts::new(ids, span);
    let wanted: FxHashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut out = LoadedMap::with_capacity_and_hasher(ids.len(), Default::default());
    accounts.each(
        conn,
        "SELECT a.id, a.name, a.owner_id, a.segment, a.stage, a.strategic, a.expansion_potential, a.arr_base_minor, a.renewal_date, \
         a.contract_start, h.score, h.band, s.trend_30, h.severity_score, a.stage_since, a.adopted_on, h.scores, h.severity_level, \
         u.latest_active_users, u.latest_licensed_seats \
         FROM accounts a LEFT JOIN account_health h ON h.account = a.rowid \
         LEFT JOIN health_state s ON s.account = a.rowid \
         LEFT JOIN usage_packed u ON u.account = a.rowid \
         WHERE a.id{accounts}",
        |r| {
            // A range also holds accounts this device only mirrors.
            if !wanted.contains(r.get_ref(0)?.as_str()?) {
                return Ok(());
            }
            let id: String = r.get(0)?;
            let stage: Stage = parsed(r, 4)?;
            let score: Option<f64> = r.get(10)?;
            let trend_30: Option<f64> = r.get(12)?;
            let renewal: NaiveDate = day(r, 8)?;
            let contract: NaiveDate = day(r, 9)?;
            let stage_since: Option<NaiveDate> = day_or_null(r, 14)?;
            let adopted_on: Option<NaiveDate> = day_or_null(r, 15)?;
            let change_pct = match (score, trend_30) {
                (Some(s), Some(t)) if s - t > 0.0 => Some(t / (s - t) * 100.0),
                _ => None,
            };
            let measures = r
                .get_ref(16)?
                .as_bytes_or_null()?
                .map(crate::health::history::exact_scores)
                .unwrap_or_default();
            let arr: i64 = r.get(7)?;
            // The latest usage week, two index seeks (not every week of the account).
            let usage: (Option<i64>, Option<i64>) = (r.get(18)?, r.get(19)?);
            let mut state = AccountState {
                health: score,
                band: r.get(11)?,
                health_change_30_pct: change_pct,
                severity: r.get(13)?,
                severity_level: match r.get_ref(17)?.as_str_or_null()? {
                    Some(_) => Some(parsed(r, 17)?),
                    None => None,
                },
                arr_major: arr as f64 / 100.0,
                days_to_renewal: (renewal - today).num_days(),
                days_since_contract: (today - contract).num_days(),
                segment: Some(parsed(r, 3)?),
                stage: Some(stage),
                days_in_stage: stage_since.map(|d| (today - d).num_days()),
                days_since_adopted: adopted_on.map(|d| (today - d).num_days()),
                // Settled here when known; accounts with usage data are judged below.
                adopted: match (adopted_on, stage) {
                    (Some(_), _) | (None, Stage::Adopting | Stage::Mature) => Some(true),
                    _ => None,
                },
                adoption_evidence: match adopted_on {
                    Some(on) => format!("adopted on {on}"),
                    None if matches!(stage, Stage::Adopting | Stage::Mature) => {
                        format!("stage {} (adoption day not known)", stage.as_str())
                    }
                    None => "adoption unknown: no usage data with licensed seats".into(),
                },
                strategic: r.get(5)?,
                expansion: Some(parsed::<ExpansionPotential>(r, 6)?),
                measures,
                ..Default::default()
            };
            if let (Some(active), Some(seats)) = usage {
                if seats > 0 {
                    let pct = active as f64 / seats as f64 * 100.0;
                    state.seat_utilization_pct = Some(pct);
                    // Usage with seats and no adoption recorded by the recompute: not adopted.
                    if state.adopted.is_none() {
                        state.adopted = Some(false);
                        state.adoption_evidence =
                            format!("not adopted: seat utilization {pct:.0} % in the latest week");
                    }
                }
            }
            out.insert(
                id,
                Loaded {
                    name: r.get(1)?,
                    owner_id: r.get(2)?,
                    state,
                    escalation: None,
                },
            );
            Ok(())
        },
    )?;
    accounts.each(
        conn,
        "SELECT account_id, kind, severity, summary FROM signals WHERE cleared_at IS NULL AND account_id{accounts}",
        |r| {
            if let Some(l) = out.get_mut(r.get_ref(0)?.as_str()?) {
                let kind = parsed(r, 1)?;
                let summary = crate::signals::render(kind, r.get_ref(3)?.as_str()?, today);
                l.state.signals.push((kind, parsed(r, 2)?, summary));
            }
            Ok(())
        },
    )?;
    accounts.each(
        conn,
        "SELECT account_id, closed_at IS NULL, quiet_until FROM escalations \
         WHERE (closed_at IS NULL OR quiet_until IS NOT NULL) AND account_id{accounts}",
        |r| {
            if let Some(l) = out.get_mut(r.get_ref(0)?.as_str()?) {
                let open: bool = r.get(1)?;
                let quiet: Option<NaiveDate> = r.get(2)?;
                l.escalation = match (open, l.escalation) {
                    (true, _) | (_, Some(None)) => Some(None),
                    (false, Some(Some(q))) => Some(quiet.max(Some(q))),
                    (false, None) => quiet.map(Some),
                };
            }
            Ok(())
        },
    )?;
    let mut live = LiveMap::default();
    accounts.each(
        conn,
        "SELECT id, account_id, type, reason, status, snoozed_until, rule_id, owner_id FROM ctas WHERE status <> 'closed' AND account_id{accounts}",
        |r| {
            let account: String = r.get(1)?;
            if wanted.contains(account.as_str()) {
                live.insert(
                    (account, r.get(2)?, r.get(3)?),
                    LiveCta {
                        id: r.get(0)?,
                        status: r.get(4)?,
                        snoozed_until: r.get(5)?,
                        rule_id: r.get(6)?,
                        owner_id: r.get(7)?,
                    },
                );
            }
            Ok(())
        },
    )?;
    Ok((out, live))
}

/// Whether a digital playbook's CTA on this account needs a person: not in the tech-touch
/// lane, or an exception in it (see `priority::Lane`).
pub(super) fn needs_person(c: &crate::priority::PriorityConfig, s: &AccountState) -> bool {
    let Some(segment) = s.segment else {
        return true;
    };
    crate::priority::Lane::of(
        c,
        segment,
        s.arr_major,
        s.severity_level.unwrap_or(Level::Low),
        s.expansion.unwrap_or(ExpansionPotential::None),
    )
    .key()
        == "csm"
}
