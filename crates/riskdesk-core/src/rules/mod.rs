//! Rules: "when these conditions hold for an account, do these actions", stored as data.
//!
//! This module holds the condition language, its evaluation against an account's
//! current state (with the evidence of every comparison, so a CTA can say why it fired)
//! and validation that names the offending part. Actions and the run loop build on it.

pub mod files;
pub mod playbooks;
pub mod run;
mod saved;
pub mod templates;

use serde::{Deserialize, Serialize};

use crate::model::{ExpansionPotential, Segment, Stage};
use crate::scorecard::MeasureKind;
use crate::signals::{Level, SignalKind};

/// A number on an account that a condition can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "field", content = "measure", rename_all = "snake_case")]
pub enum NumberField {
    HealthScore,
    /// Change of the health score over 30 days, in percent of the score 30 days ago.
    HealthChange30Pct,
    SeverityScore,
    /// ARR in major units of the base currency.
    Arr,
    DaysToRenewal,
    DaysSinceContract,
    /// Seats in use, in percent of licensed seats.
    SeatUtilizationPct,
    /// Days since the account reached its lifecycle stage (unknown for a stage whose day
    /// was never recorded).
    DaysInStage,
    /// Days since the account was adopted (the day the stage criteria, or a file, said
    /// so); unknown until it is.
    DaysSinceAdopted,
    /// A measure's 0–100 score on the account's scorecard.
    MeasureScore(MeasureKind),
}

impl NumberField {
    pub fn label(self) -> String {
        match self {
            NumberField::HealthScore => "health score".into(),
            NumberField::HealthChange30Pct => "health change over 30 days (%)".into(),
            NumberField::SeverityScore => "severity score".into(),
            NumberField::Arr => "ARR".into(),
            NumberField::DaysToRenewal => "days to renewal".into(),
            NumberField::DaysSinceContract => "days since contract".into(),
            NumberField::SeatUtilizationPct => "seat utilization (%)".into(),
            NumberField::DaysInStage => "days in the current stage".into(),
            NumberField::DaysSinceAdopted => "days since adoption".into(),
            NumberField::MeasureScore(m) => format!("{} score", m.label()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Compare {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Compare::Lt => a < b,
            Compare::Le => a <= b,
            Compare::Gt => a > b,
            Compare::Ge => a >= b,
            Compare::Eq => (a - b).abs() < 1e-9,
        }
    }

    fn symbol(self, holds: bool) -> &'static str {
        match (self, holds) {
            (Compare::Lt, true) => "<",
            (Compare::Lt, false) => "≥",
            (Compare::Le, true) => "≤",
            (Compare::Le, false) => ">",
            (Compare::Gt, true) => ">",
            (Compare::Gt, false) => "≤",
            (Compare::Ge, true) => "≥",
            (Compare::Ge, false) => "<",
            (Compare::Eq, true) => "=",
            (Compare::Eq, false) => "≠",
        }
    }
}

/// A condition over one account; groups nest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    All {
        conditions: Vec<Condition>,
    },
    Any {
        conditions: Vec<Condition>,
    },
    Not {
        condition: Box<Condition>,
    },
    Number {
        field: NumberField,
        compare: Compare,
        value: f64,
    },
    SegmentIn {
        segments: Vec<Segment>,
    },
    StageIn {
        stages: Vec<Stage>,
    },
    Strategic {
        is: bool,
    },
    /// Whether the account has reached adoption (see `lifecycle`). Holds for neither
    /// value when the account has no usage data to judge by.
    Adopted {
        is: bool,
    },
    ExpansionAtLeast {
        potential: ExpansionPotential,
    },
    /// An active signal of this kind (any kind when None) at this severity or above.
    Signal {
        signal: Option<SignalKind>,
        min_severity: Level,
    },
    HealthBandIs {
        band: String,
    },
    /// The account's severity level is this or worse: follows the cut-offs in Settings,
    /// where a severity-score condition would hard-code them.
    SeverityAtLeast {
        level: Level,
    },
    /// Whether the account has a live (open, in progress or snoozed) CTA of this type
    /// (any type when None).
    OpenCta {
        cta_type: Option<CtaType>,
        open: bool,
    },
}

pub use crate::cta::CtaType;

/// Who a created CTA goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", content = "user_id", rename_all = "snake_case")]
pub enum CtaOwner {
    AccountOwner,
    User(String),
}

/// What a rule does when its condition holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    CreateCta {
        cta_type: CtaType,
        reason: String,
        priority: Level,
        playbook: Option<String>,
        owner: CtaOwner,
        due_in_days: u32,
    },
    /// Close the CTAs this rule opened once its condition no longer holds.
    CloseWhenCleared {
        outcome: String,
    },
    SetCategory {
        category: String,
    },
    StartDigitalPlaybook {
        playbook: String,
    },
    AddTimelineNote {
        text: String,
    },
    /// Open a leadership escalation: an escalation CTA for the executive who owns the
    /// risk's category, linked to the account's risk CTA, with the rule's evidence; one
    /// open per account and none during a de-escalation's quiet period, as the criteria.
    EscalateToLeadership {
        reason: String,
    },
}

impl Action {
    pub fn problems(&self, at: &str) -> Vec<String> {
        let mut out = Vec::new();
        let blank = |s: &str| s.trim().is_empty();
        match self {
            Action::CreateCta { reason, due_in_days, owner, cta_type, .. } => {
                if *cta_type == CtaType::Escalation {
                    out.push(format!("{at}create_cta.cta_type: an escalation-type CTA would not be an escalation; use escalate_to_leadership, which opens one that reaches the WBR"));
                }
                if blank(reason) {
                    out.push(format!("{at}create_cta.reason: say why the CTA exists"));
                }
                if *due_in_days > 365 {
                    out.push(format!("{at}create_cta.due_in_days: {due_in_days} is more than a year"));
                }
                if let CtaOwner::User(id) = owner {
                    if uuid::Uuid::parse_str(id).is_err() {
                        out.push(format!("{at}create_cta.owner: '{id}' is not a user id"));
                    }
                }
            }
            Action::CloseWhenCleared { outcome } if !["saved", "no_longer_relevant", "resolved"].contains(&outcome.as_str()) => {
                out.push(format!("{at}close_when_cleared.outcome: '{outcome}' is not saved, no_longer_relevant or resolved"))
            }
            Action::SetCategory { category } if blank(category) => out.push(format!("{at}set_category.category: name a category")),
            Action::StartDigitalPlaybook { playbook } if blank(playbook) => out.push(format!("{at}start_digital_playbook.playbook: name a playbook")),
            Action::AddTimelineNote { text } if blank(text) => out.push(format!("{at}add_timeline_note.text: the note is empty")),
            Action::EscalateToLeadership { reason } if blank(reason) => out.push(format!("{at}escalate_to_leadership.reason: say why leadership should look")),
            _ => {}
        }
        out
    }
}

/// A rule as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RuleDefinition {
    pub description: String,
    pub condition: Condition,
    pub actions: Vec<Action>,
}

impl RuleDefinition {
    /// Every problem, each naming the part at fault; an invalid rule is never saved.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.condition.problems("condition.");
        if self.actions.is_empty() {
            out.push("actions: a rule needs at least one action".into());
        }
        for (i, a) in self.actions.iter().enumerate() {
            out.extend(a.problems(&format!("actions[{i}].")));
        }
        let creates = self
            .actions
            .iter()
            .filter(|a| matches!(a, Action::CreateCta { .. }))
            .count();
        if creates > 1 {
            out.push("actions: at most one create_cta per rule".into());
        }
        if self
            .actions
            .iter()
            .any(|a| matches!(a, Action::CloseWhenCleared { .. }))
            && creates == 0
        {
            out.push("actions: close_when_cleared needs a create_cta to close".into());
        }
        out
    }
}

/// What a condition can see of an account.
#[derive(Debug, Clone, Default)]
pub struct AccountState {
    pub health: Option<f64>,
    pub band: Option<String>,
    pub health_change_30_pct: Option<f64>,
    pub severity: Option<f64>,
    pub severity_level: Option<Level>,
    pub arr_major: f64,
    pub days_to_renewal: i64,
    pub days_since_contract: i64,
    pub seat_utilization_pct: Option<f64>,
    pub measures: Vec<(MeasureKind, Option<f64>)>,
    pub segment: Option<Segment>,
    pub stage: Option<Stage>,
    pub days_in_stage: Option<i64>,
    pub days_since_adopted: Option<i64>,
    /// Adopted or not; None when there is no usage data to tell. With its evidence.
    pub adopted: Option<bool>,
    pub adoption_evidence: String,
    pub strategic: bool,
    pub expansion: Option<ExpansionPotential>,
    pub signals: Vec<(SignalKind, Level, String)>,
    /// Live CTAs: type and reason.
    pub live_ctas: Vec<(CtaType, String)>,
}

impl AccountState {
    fn number(&self, field: NumberField) -> Option<f64> {
        match field {
            NumberField::HealthScore => self.health,
            NumberField::HealthChange30Pct => self.health_change_30_pct,
            NumberField::SeverityScore => self.severity,
            NumberField::Arr => Some(self.arr_major),
            NumberField::DaysToRenewal => Some(self.days_to_renewal as f64),
            NumberField::DaysSinceContract => Some(self.days_since_contract as f64),
            NumberField::SeatUtilizationPct => self.seat_utilization_pct,
            NumberField::DaysInStage => self.days_in_stage.map(|d| d as f64),
            NumberField::DaysSinceAdopted => self.days_since_adopted.map(|d| d as f64),
            NumberField::MeasureScore(m) => self
                .measures
                .iter()
                .find(|(k, _)| *k == m)
                .and_then(|(_, s)| *s),
        }
    }
}

fn expansion_rank(p: ExpansionPotential) -> u8 {
    match p {
        ExpansionPotential::None => 0,
        ExpansionPotential::Low => 1,
        ExpansionPotential::Medium => 2,
        ExpansionPotential::High => 3,
    }
}

/// Whether a condition holds, and the evidence: for a match, the facts that made it
/// hold; for a miss, the first facts that did not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    pub holds: bool,
    pub evidence: Vec<String>,
}

fn fmt_number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

impl Condition {
    pub fn evaluate(&self, s: &AccountState) -> Verdict {
        self.judge(s, true)
    }

    /// Whether the condition holds, without wording the evidence: a rule run asks this
    /// of every account and words only what fires.
    pub fn holds(&self, s: &AccountState) -> bool {
        self.judge(s, false).holds
    }

    fn judge(&self, s: &AccountState, explain: bool) -> Verdict {
        let v = |holds: bool, line: &dyn Fn() -> String| Verdict {
            holds,
            evidence: if explain { vec![line()] } else { Vec::new() },
        };
        match self {
            Condition::All { conditions } => {
                let mut evidence = Vec::new();
                for c in conditions {
                    let r = c.judge(s, explain);
                    if !r.holds {
                        return r;
                    }
                    evidence.extend(r.evidence);
                }
                Verdict {
                    holds: true,
                    evidence,
                }
            }
            Condition::Any { conditions } => {
                let mut misses = Vec::new();
                for c in conditions {
                    let r = c.judge(s, explain);
                    if r.holds {
                        return r;
                    }
                    misses.extend(r.evidence);
                }
                Verdict {
                    holds: false,
                    evidence: misses,
                }
            }
            Condition::Not { condition } => {
                // The inner evidence already states the facts ("segment enterprise is not
                // one of tech_touch"); only the verdict flips.
                let r = condition.judge(s, explain);
                Verdict {
                    holds: !r.holds,
                    evidence: r.evidence,
                }
            }
            Condition::Number {
                field,
                compare,
                value,
            } => match s.number(*field) {
                None => v(false, &|| format!("{} has no data", field.label())),
                Some(x) => {
                    let holds = compare.holds(x, *value);
                    // Money reads as money: "ARR 886,685 USD ≥ 100,000 USD".
                    let show = |n: f64| match field {
                        NumberField::Arr => crate::money::format_usd(n),
                        _ => fmt_number(n),
                    };
                    v(holds, &|| {
                        format!(
                            "{} {} {} {}",
                            field.label(),
                            show(x),
                            compare.symbol(holds),
                            show(*value)
                        )
                    })
                }
            },
            Condition::SegmentIn { segments } => {
                let holds = s.segment.is_some_and(|x| segments.contains(&x));
                v(holds, &|| {
                    let list: Vec<&str> = segments.iter().map(|x| x.as_str()).collect();
                    let name = s.segment.map_or("unknown", |x| x.as_str());
                    format!(
                        "segment {name} is {}one of {}",
                        if holds { "" } else { "not " },
                        list.join(", ")
                    )
                })
            }
            Condition::StageIn { stages } => {
                let holds = s.stage.is_some_and(|x| stages.contains(&x));
                v(holds, &|| {
                    let list: Vec<&str> = stages.iter().map(|x| x.as_str()).collect();
                    let name = s.stage.map_or("unknown", |x| x.as_str());
                    format!(
                        "stage {name} is {}one of {}",
                        if holds { "" } else { "not " },
                        list.join(", ")
                    )
                })
            }
            Condition::Strategic { is } => v(s.strategic == *is, &|| {
                if s.strategic {
                    "strategic account".into()
                } else {
                    "not a strategic account".into()
                }
            }),
            Condition::Adopted { is } => v(s.adopted == Some(*is), &|| s.adoption_evidence.clone()),
            Condition::ExpansionAtLeast { potential } => {
                let holds = s
                    .expansion
                    .is_some_and(|x| expansion_rank(x) >= expansion_rank(*potential));
                v(holds, &|| {
                    format!(
                        "expansion potential {}",
                        s.expansion.map_or("unknown", |x| x.as_str())
                    )
                })
            }
            Condition::Signal {
                signal,
                min_severity,
            } => {
                let hit = s.signals.iter().find(|(k, sev, _)| {
                    signal.is_none_or(|want| want == *k) && sev.rank() >= min_severity.rank()
                });
                match hit {
                    Some((k, sev, summary)) => {
                        v(true, &|| format!("{} signal ({sev}): {summary}", k.label()))
                    }
                    None => v(false, &|| {
                        format!(
                            "no {} signal at {min_severity} or above",
                            signal.map_or("risk".to_string(), |k| k.label().to_lowercase())
                        )
                    }),
                }
            }
            Condition::OpenCta { cta_type, open } => {
                let hit = s
                    .live_ctas
                    .iter()
                    .find(|(t, _)| cta_type.is_none_or(|want| want == *t));
                v(hit.is_some() == *open, &|| match hit {
                    Some((t, reason)) => format!("open {t} CTA: {reason}"),
                    None => {
                        let kind = cta_type.map_or(String::new(), |t| format!("{t} "));
                        format!("no open {kind}CTA")
                    }
                })
            }
            Condition::SeverityAtLeast { level } => {
                let holds = s.severity_level.is_some_and(|l| l.rank() >= level.rank());
                v(holds, &|| match s.severity_level {
                    Some(l) => {
                        format!("severity {l} {} {level}", if holds { "≥" } else { "<" })
                    }
                    None => "no severity yet (not scored)".into(),
                })
            }
            Condition::HealthBandIs { band } => {
                let holds = s.band.as_deref() == Some(band.as_str());
                v(holds, &|| {
                    format!("health band {}", s.band.as_deref().unwrap_or("none"))
                })
            }
        }
    }

    /// Every problem with this condition, each with its path ("all[1].any[0]: …").
    pub fn problems(&self, at: &str) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Condition::All { conditions } | Condition::Any { conditions } => {
                let name = if matches!(self, Condition::All { .. }) {
                    "all"
                } else {
                    "any"
                };
                if conditions.is_empty() {
                    out.push(format!("{at}{name}: an empty group"));
                }
                for (i, c) in conditions.iter().enumerate() {
                    out.extend(c.problems(&format!("{at}{name}[{i}].")));
                }
            }
            Condition::Not { condition } => out.extend(condition.problems(&format!("{at}not."))),
            Condition::Number { field, value, .. } if !value.is_finite() => out.push(format!(
                "{at}number({}): the value is not a number",
                field.label()
            )),
            Condition::SegmentIn { segments } if segments.is_empty() => {
                out.push(format!("{at}segment_in: pick at least one segment"))
            }
            Condition::StageIn { stages } if stages.is_empty() => {
                out.push(format!("{at}stage_in: pick at least one stage"))
            }
            Condition::HealthBandIs { band } if band.trim().is_empty() => {
                out.push(format!("{at}health_band_is: name a band"))
            }
            _ => {}
        }
        out
    }
}

#[cfg(test)]
mod tests;
