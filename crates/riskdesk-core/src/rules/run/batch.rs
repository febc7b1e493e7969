//! One batch of a rule run: its accounts judged rule by rule, then what they change —
//! CTAs opened, woken, closed or handed over, escalations opened — written together. A
//! batch that changes nothing (most of a re-run) never takes the write lock.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate};

use super::state::{needs_person, LiveCta, LiveMap, Loaded, LoadedMap};
use super::{Firing, FiringOutcome, Rule, RunReport};
use crate::cta::{self, NewCta, Playbook};
use crate::escalation::{EscalationCriteria, EscalationFacts};
use crate::priority::PriorityConfig;
use crate::rules::{Action, CtaOwner, CtaType, Verdict};
use crate::signals::Level;
use crate::store::Tx;
use crate::{new_id, Result};

/// What stays the same across a run's batches.
pub(super) struct Judge<'a> {
    rules: &'a [Rule],
    /// Each rule's category, close outcome and note, read once for the run.
    extras: Vec<RuleExtras>,
    playbooks: &'a HashMap<String, Playbook>,
    /// Who owns a digital playbook's CTA depends on the account's lane.
    lanes: &'a PriorityConfig,
    criteria: Option<&'a EscalationCriteria>,
    today: NaiveDate,
    dry_run: bool,
}

/// What a batch writes, gathered while its accounts are judged.
#[derive(Default)]
pub(super) struct Batch {
    /// Snoozed CTAs whose snooze ended while their rule still holds.
    reopening: Vec<String>,
    /// (CTA, outcome) of CTAs whose rule no longer holds.
    closing: Vec<(String, String)>,
    /// (id, CTA) of CTAs to open …
    opening: Vec<(String, NewCta)>,
    /// … and each one's timeline note from its rule.
    opening_notes: Vec<Option<String>>,
    /// Escalations rules open: (account, reason with the rule's evidence).
    escalating: Vec<(String, String)>,
    /// Escalations the criteria open: (account, criterion, the facts that crossed it).
    crossing: Vec<(String, &'static str, String)>,
    /// Digital CTAs whose owner follows the account's lane: (CTA, owner).
    handing: Vec<(String, Option<String>)>,
    /// Accounts whose live work this batch changed.
    pub touched: HashSet<String>,
}

impl<'a> Judge<'a> {
    pub(super) fn new(
        rules: &'a [Rule],
        playbooks: &'a HashMap<String, Playbook>,
        lanes: &'a PriorityConfig,
        criteria: Option<&'a EscalationCriteria>,
        today: NaiveDate,
        dry_run: bool,
    ) -> Self {
        Judge {
            rules,
            extras: rules.iter().map(RuleExtras::of).collect(),
            playbooks,
            lanes,
            criteria,
            today,
            dry_run,
        }
    }
}

/// What one CTA action of a rule asks for.
struct CtaAsk {
    cta_type: CtaType,
    reason: String,
    priority: Level,
    playbook: Option<String>,
    owner: CtaOwner,
    due_in_days: u32,
}

impl CtaAsk {
    fn of(action: &Action) -> Option<CtaAsk> {
        match action {
            Action::CreateCta {
                cta_type,
                reason,
                priority,
                playbook,
                owner,
                due_in_days,
            } => Some(CtaAsk {
                cta_type: *cta_type,
                reason: reason.clone(),
                priority: *priority,
                playbook: playbook.clone(),
                owner: owner.clone(),
                due_in_days: *due_in_days,
            }),
            Action::StartDigitalPlaybook { playbook } => Some(CtaAsk {
                cta_type: CtaType::Digital,
                reason: format!("Digital playbook: {playbook}"),
                priority: Level::Low,
                playbook: Some(playbook.clone()),
                owner: CtaOwner::AccountOwner,
                due_in_days: 0,
            }),
            _ => None,
        }
    }
}

/// An escalation-type action's reason. An escalation-type CTA from a rule saved before
/// rules could escalate opens a real escalation too.
fn escalation_reason(action: &Action) -> Option<&str> {
    match action {
        Action::EscalateToLeadership { reason } => Some(reason),
        Action::CreateCta {
            cta_type: CtaType::Escalation,
            reason,
            ..
        } => Some(reason),
        _ => None,
    }
}

/// What a rule does beside its CTAs.
struct RuleExtras {
    category: Option<String>,
    close_outcome: Option<String>,
    note: Option<String>,
}

impl RuleExtras {
    fn of(rule: &Rule) -> RuleExtras {
        let actions = &rule.definition.actions;
        RuleExtras {
            category: actions.iter().find_map(|a| match a {
                Action::SetCategory { category } => Some(category.clone()),
                _ => None,
            }),
            close_outcome: actions.iter().find_map(|a| match a {
                Action::CloseWhenCleared { outcome } => Some(outcome.clone()),
                _ => None,
            }),
            note: actions.iter().find_map(|a| match a {
                Action::AddTimelineNote { text } => Some(text.clone()),
                _ => None,
            }),
        }
    }
}

impl Batch {
    /// A digital playbook runs itself: its CTA belongs to the tech-touch lane (no person)
    /// unless the account is an exception a person must take. Someone who took the CTA by
    /// hand keeps it.
    pub(super) fn hand_digital(&mut self, judge: &Judge, loaded: &LoadedMap, live: &LiveMap) {
        if judge.dry_run {
            return;
        }
        for ((account_id, cta_type, _), c) in live {
            if cta_type != CtaType::Digital.as_str() || c.rule_id.is_none() {
                continue;
            }
            let Some(account) = loaded.get(account_id) else {
                continue;
            };
            let wanted = if needs_person(judge.lanes, &account.state) {
                account.owner_id.clone()
            } else {
                None
            };
            let lane_owned = c.owner_id.is_none() || c.owner_id == account.owner_id;
            if lane_owned && c.owner_id != wanted {
                self.handing.push((c.id.clone(), wanted));
                self.touched.insert(account_id.clone());
            }
        }
    }

    /// Every rule on one account, then the escalation criteria (an escalation a rule
    /// opened counts as open).
    pub(super) fn judge(
        &mut self,
        judge: &Judge,
        id: &str,
        account: &mut Loaded,
        live: &mut LiveMap,
        report: &mut RunReport,
    ) {
        for (rule, extras) in judge.rules.iter().zip(&judge.extras) {
            // Words the evidence only where the rule fires (most accounts it does not).
            let verdict = if rule.definition.condition.holds(&account.state) {
                rule.definition.condition.evaluate(&account.state)
            } else {
                Verdict::default()
            };
            for action in &rule.definition.actions {
                if let Some(reason) = escalation_reason(action) {
                    if verdict.holds {
                        self.escalate(judge, rule, id, account, reason, &verdict, report);
                    }
                } else if let Some(ask) = CtaAsk::of(action) {
                    self.cta(
                        judge, rule, extras, id, account, ask, &verdict, live, report,
                    );
                }
            }
        }
        self.cross_criteria(judge, id, account);
    }

    #[allow(clippy::too_many_arguments)]
    fn escalate(
        &mut self,
        judge: &Judge,
        rule: &Rule,
        id: &str,
        account: &mut Loaded,
        reason: &str,
        verdict: &Verdict,
        report: &mut RunReport,
    ) {
        report.fired += 1;
        let outcome = if account.may_escalate(judge.today) {
            report.escalated += 1;
            let mut why = format!("rule “{}”: {reason}", rule.name);
            if !verdict.evidence.is_empty() {
                why.push_str(&format!(" ({})", verdict.evidence.join("; ")));
            }
            self.escalating.push((id.to_string(), why));
            // One per account: a later rule sees it open.
            account.escalation = Some(None);
            FiringOutcome::Create
        } else {
            FiringOutcome::AlreadyOpen
        };
        report.keep(Firing {
            rule: rule.name.clone(),
            account_id: id.to_string(),
            account_name: account.name.clone(),
            outcome,
            cta_type: CtaType::Escalation,
            reason: reason.to_string(),
            evidence: verdict.evidence.clone(),
        });
    }

    /// A CTA action: open it where the rule holds and none is live (or say it is already
    /// open, or snoozed), close the rule's own where it no longer holds.
    #[allow(clippy::too_many_arguments)]
    fn cta(
        &mut self,
        judge: &Judge,
        rule: &Rule,
        extras: &RuleExtras,
        id: &str,
        account: &Loaded,
        ask: CtaAsk,
        verdict: &Verdict,
        live: &mut LiveMap,
        report: &mut RunReport,
    ) {
        let key = (
            id.to_string(),
            ask.cta_type.as_str().to_string(),
            ask.reason.clone(),
        );
        let firing = |outcome| Firing {
            rule: rule.name.clone(),
            account_id: id.to_string(),
            account_name: account.name.clone(),
            outcome,
            cta_type: ask.cta_type,
            reason: ask.reason.clone(),
            evidence: verdict.evidence.clone(),
        };
        if !verdict.holds {
            let (Some(outcome), Some(c)) = (&extras.close_outcome, live.get(&key)) else {
                return;
            };
            // Only what this rule opened, and never a snoozed CTA: someone decided to wait.
            if c.rule_id.as_deref() != Some(rule.id.as_str()) || c.status == "snoozed" {
                return;
            }
            report.closed += 1;
            // Why it no longer holds.
            let evidence = rule.definition.condition.evaluate(&account.state).evidence;
            report.keep(Firing {
                evidence,
                ..firing(FiringOutcome::Close)
            });
            if !judge.dry_run {
                self.closing.push((c.id.clone(), outcome.clone()));
                self.touched.insert(id.to_string());
                live.remove(&key);
            }
            return;
        }
        report.fired += 1;
        if let Some(c) = live.get(&key) {
            if c.status == "snoozed" && c.snoozed_until.is_some_and(|u| u > judge.today) {
                report.suppressed += 1;
                report.keep(firing(FiringOutcome::Suppressed));
            } else {
                if c.status == "snoozed" && !judge.dry_run {
                    // The snooze has ended: the CTA is back in the worklist.
                    self.reopening.push(c.id.clone());
                }
                report.keep(firing(FiringOutcome::AlreadyOpen));
            }
            return;
        }
        let playbook = match &ask.playbook {
            Some(name) => match judge.playbooks.get(name) {
                Some(p) => Some(p.clone()),
                None => {
                    report.errors.push(format!(
                        "rule {}: playbook '{name}' not found; CTA created without tasks",
                        rule.name
                    ));
                    None
                }
            },
            None => None,
        };
        report.created += 1;
        report.keep(firing(FiringOutcome::Create));
        if judge.dry_run {
            return;
        }
        let owner_id = match &ask.owner {
            CtaOwner::AccountOwner
                if ask.cta_type == CtaType::Digital
                    && !needs_person(judge.lanes, &account.state) =>
            {
                None
            }
            CtaOwner::AccountOwner => account.owner_id.clone(),
            CtaOwner::User(u) => Some(u.clone()),
        };
        let mut evidence = vec![format!("rule “{}” on {}", rule.name, judge.today)];
        evidence.extend(verdict.evidence.iter().cloned());
        let cta_id = new_id();
        // Live from here on, so a later rule sees it open.
        live.insert(
            key,
            LiveCta {
                id: cta_id.clone(),
                status: "open".into(),
                snoozed_until: None,
                rule_id: Some(rule.id.clone()),
                owner_id: owner_id.clone(),
            },
        );
        let new = NewCta {
            account_id: id.to_string(),
            cta_type: ask.cta_type,
            reason: ask.reason,
            priority: ask.priority,
            owner_id,
            due_on: Some(judge.today + Duration::days(ask.due_in_days as i64)),
            rule_id: Some(rule.id.clone()),
            evidence,
            category: extras.category.clone(),
            playbook,
        };
        self.opening.push((cta_id, new));
        self.opening_notes.push(extras.note.clone());
    }

    /// The escalation criteria, after the rules.
    fn cross_criteria(&mut self, judge: &Judge, id: &str, account: &mut Loaded) {
        let Some(c) = judge
            .criteria
            .filter(|c| account.state.arr_major >= c.arr_floor)
        else {
            return;
        };
        if !account.may_escalate(judge.today) {
            return;
        }
        let facts = EscalationFacts {
            arr: account.state.arr_major,
            strategic: account.state.strategic,
            severity: account.state.severity,
            signals: account
                .state
                .signals
                .iter()
                .map(|(k, l, _)| (*k, *l))
                .collect(),
        };
        if let Some((criterion, why)) = crate::escalation::crossed(c, &facts) {
            self.crossing.push((id.to_string(), criterion, why));
            account.escalation = Some(None);
        }
    }

    /// Nothing to write: a dry run, or a batch where nothing changed.
    pub(super) fn writes_nothing(&self, judge: &Judge) -> bool {
        judge.dry_run
            || (self.opening.is_empty()
                && self.closing.is_empty()
                && self.reopening.is_empty()
                && self.escalating.is_empty()
                && self.crossing.is_empty()
                && self.handing.is_empty())
    }

    /// Writes what the batch gathered, in one transaction the caller commits.
    pub(super) async fn write(&mut self, tx: &mut Tx, today: NaiveDate) -> Result<()> {
        cta::reassign(tx, &self.handing).await?;
        cta::wake(tx, &self.reopening).await?;
        for (id, outcome) in &self.closing {
            cta::close(tx, id, outcome).await?;
        }
        if !self.opening.is_empty() {
            let landed = cta::create_many(tx, &self.opening, today).await?;
            let notes: Vec<crate::timeline::SystemEvent> = self
                .opening
                .iter()
                .zip(&self.opening_notes)
                .filter(|((i, _), _)| landed.contains(i))
                .filter_map(|((_, n), note)| {
                    note.as_deref().map(|t| crate::timeline::SystemEvent {
                        account_id: n.account_id.as_str(),
                        cta_id: None,
                        body: t.to_string(),
                    })
                })
                .collect();
            crate::timeline::system_events(tx, &notes).await?;
            for (i, n) in &self.opening {
                if landed.contains(i) {
                    self.touched.insert(n.account_id.clone());
                }
            }
        }
        // After the batch's CTAs, so an escalation links the risk CTA a rule just opened.
        let asked: Vec<crate::escalation::Asked> =
            self.escalating
                .iter()
                .map(|(account, why)| crate::escalation::Asked {
                    account_id: account,
                    criterion: "rule",
                    reason: why,
                    by: None,
                })
                .chain(self.crossing.iter().map(|(account, criterion, why)| {
                    crate::escalation::Asked {
                        account_id: account,
                        criterion,
                        reason: why,
                        by: None,
                    }
                }))
                .collect();
        let opened = crate::escalation::open_many(tx, &asked, today).await?;
        self.touched
            .extend(opened.into_iter().map(|(account, _)| account));
        Ok(())
    }
}
