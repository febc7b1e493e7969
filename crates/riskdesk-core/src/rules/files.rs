//! Rules as a file: exported to keep in version control or move to another store, and
//! imported with a plan (added, changed, removed) shown before anything is written.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::run::{rules, Rule};
use super::{Action, CtaOwner, RuleDefinition};
use crate::store::Store;
use crate::{new_id, Error, Result};

/// Bumped when the file's shape changes incompatibly.
pub const FORMAT: u32 = 1;

/// The most rules one file may hold: a store's rules are a few dozen.
const MAX_RULES: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RuleFile {
    pub format: u32,
    pub rules: Vec<RuleEntry>,
}

/// One rule as a file holds it: what it is, not the store's id or version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct RuleEntry {
    pub name: String,
    pub enabled: bool,
    pub definition: RuleDefinition,
}

/// What an import does (or did).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportPlan {
    pub added: Vec<String>,
    /// Each changed rule with what changed in it.
    pub changed: Vec<RuleChange>,
    pub removed: Vec<String>,
    pub unchanged: u32,
    /// Written (false: only planned).
    pub applied: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RuleChange {
    pub name: String,
    pub what: Vec<String>,
}

impl ImportPlan {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// Every rule of the store, in the order they were made.
pub async fn export(store: &Store) -> Result<RuleFile> {
    Ok(RuleFile {
        format: FORMAT,
        rules: rules(store)
            .await?
            .into_iter()
            .map(|r| RuleEntry {
                name: r.name,
                enabled: r.enabled,
                definition: r.definition,
            })
            .collect(),
    })
}

/// Reads a rules file, naming where it is malformed.
pub fn parse(text: &str) -> Result<RuleFile> {
    let file: RuleFile =
        serde_json::from_str(text).map_err(|e| Error::invalid("rules file", e.to_string()))?;
    if file.format != FORMAT {
        return Err(Error::invalid(
            "rules file",
            format!(
                "format {} is not one this version reads ({FORMAT})",
                file.format
            ),
        ));
    }
    Ok(file)
}

/// Every problem of the file against this store, each naming its rule: the builder's
/// own validation, names, and the playbooks and people it names.
async fn problems(store: &Store, file: &RuleFile) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if file.rules.len() > MAX_RULES {
        out.push(format!(
            "the file holds {} rules; at most {MAX_RULES}",
            file.rules.len()
        ));
        return Ok(out);
    }
    let playbooks: HashSet<String> = crate::cta::playbooks(store)
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let people: HashSet<String> = sqlx::query_scalar("SELECT id FROM users")
        .fetch_all(store.pool())
        .await?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    for (i, r) in file.rules.iter().enumerate() {
        let name = r.name.trim();
        let at = if name.is_empty() {
            format!("rules[{i}]")
        } else {
            format!("rule “{name}”")
        };
        if name.is_empty() {
            out.push(format!("{at}: has no name"));
        } else if name.chars().count() > 120 {
            out.push(format!("{at}: the name is longer than 120 characters"));
        } else if !seen.insert(name.to_lowercase()) {
            out.push(format!("{at}: two rules in the file have this name"));
        }
        for p in r.definition.problems() {
            out.push(format!("{at}: {p}"));
        }
        for a in &r.definition.actions {
            let (playbook, owner) = match a {
                Action::CreateCta {
                    playbook, owner, ..
                } => (playbook.as_deref(), Some(owner)),
                Action::StartDigitalPlaybook { playbook } => (Some(playbook.as_str()), None),
                _ => (None, None),
            };
            if let Some(p) = playbook.filter(|p| !playbooks.contains(*p)) {
                out.push(format!(
                    "{at}: names playbook “{p}”, which this store does not have"
                ));
            }
            if let Some(CtaOwner::User(u)) = owner {
                if !people.contains(u) {
                    out.push(format!(
                        "{at}: gives CTAs to person {u}, who is not in this store's people"
                    ));
                }
            }
        }
    }
    Ok(out)
}

fn changes(old: &Rule, new: &RuleEntry) -> Vec<String> {
    let mut what = Vec::new();
    if old.enabled != new.enabled {
        what.push(if new.enabled { "enabled" } else { "disabled" }.to_string());
    }
    if old.definition.description != new.definition.description {
        what.push("description".into());
    }
    if old.definition.condition != new.definition.condition {
        what.push("condition".into());
    }
    if old.definition.actions != new.definition.actions {
        what.push("actions".into());
    }
    what
}

/// What importing `file` would do: the store's rules become the file's, matched by name.
/// An invalid file is refused whole, with every problem named.
pub async fn plan(store: &Store, file: &RuleFile) -> Result<ImportPlan> {
    if let problems @ [_, ..] = problems(store, file).await?.as_slice() {
        return Err(Error::invalid("rules file", problems.join("; ")));
    }
    let existing = rules(store).await?;
    let by_name: HashMap<String, &Rule> = existing
        .iter()
        .map(|r| (r.name.to_lowercase(), r))
        .collect();
    let mut plan = ImportPlan::default();
    let mut kept = HashSet::new();
    for entry in &file.rules {
        let key = entry.name.trim().to_lowercase();
        kept.insert(key.clone());
        match by_name.get(&key) {
            None => plan.added.push(entry.name.trim().to_string()),
            Some(old) => {
                let what = changes(old, entry);
                if what.is_empty() {
                    plan.unchanged += 1;
                } else {
                    plan.changed.push(RuleChange {
                        name: old.name.clone(),
                        what,
                    });
                }
            }
        }
    }
    plan.removed = existing
        .iter()
        .filter(|r| !kept.contains(&r.name.to_lowercase()))
        .map(|r| r.name.clone())
        .collect();
    Ok(plan)
}

/// Imports `file` in one transaction: afterwards the store holds exactly its rules.
/// Returns what it did (the plan, applied).
pub async fn import(store: &Store, file: &RuleFile) -> Result<ImportPlan> {
    let mut plan = plan(store, file).await?;
    let existing = rules(store).await?;
    let by_name: HashMap<String, &Rule> = existing
        .iter()
        .map(|r| (r.name.to_lowercase(), r))
        .collect();
    let now = Utc::now();
    let mut tx = store.write().await?;
    for name in &plan.removed {
        sqlx::query("DELETE FROM rules WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    for entry in &file.rules {
        let json = serde_json::to_string(&entry.definition)
            .map_err(|e| Error::invalid("rule", e.to_string()))?;
        match by_name.get(&entry.name.trim().to_lowercase()) {
            Some(old) if changes(old, entry).is_empty() => {}
            Some(old) => {
                sqlx::query(
                    "UPDATE rules SET name = ?, enabled = ?, definition = ?, version = version + 1, updated_at = ? WHERE id = ?",
                )
                .bind(entry.name.trim())
                .bind(entry.enabled)
                .bind(json)
                .bind(now)
                .bind(&old.id)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO rules (id, name, enabled, definition, version, updated_at) VALUES (?, ?, ?, ?, 1, ?)",
                )
                .bind(new_id())
                .bind(entry.name.trim())
                .bind(entry.enabled)
                .bind(json)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    plan.applied = true;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Condition, CtaType};
    use crate::signals::Level;
    use crate::store::testing::temp_store;

    #[tokio::test]
    async fn rules_round_trip_through_a_file_and_an_import_shows_its_plan_first() {
        let (_dir, store) = temp_store().await;
        let exported = export(&store).await.expect("export");
        assert!(exported.rules.len() >= 5, "the shipped rules");
        let text = serde_json::to_string_pretty(&exported).expect("json");

        // Into another store: unchanged, rule for rule.
        let (_dir2, other) = temp_store().await;
        let mut edited = parse(&text).expect("parse");
        let first = edited.rules[0].name.clone();
        edited.rules[0].enabled = !edited.rules[0].enabled;
        let gone = edited.rules.pop().expect("a rule").name;
        edited.rules.push(RuleEntry {
            name: "High severity to leadership".into(),
            enabled: true,
            definition: RuleDefinition {
                description: "Severity above the High cut-off goes to leadership".into(),
                condition: Condition::SeverityAtLeast { level: Level::High },
                actions: vec![Action::EscalateToLeadership {
                    reason: "High severity".into(),
                }],
            },
        });
        let plan = plan(&other, &edited).await.expect("plan");
        assert_eq!(plan.added, ["High severity to leadership"]);
        assert_eq!(plan.removed, [gone]);
        assert_eq!(plan.changed.len(), 1);
        assert_eq!(plan.changed[0].name, first);
        assert!(!plan.applied);
        // Planning wrote nothing.
        assert_eq!(export(&other).await.expect("export"), exported);

        let done = import(&other, &edited).await.expect("import");
        assert!(done.applied);
        assert_eq!(export(&other).await.expect("export"), edited);
        // The same file again changes nothing.
        let again = super::plan(&other, &edited).await.expect("plan");
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(again.unchanged as usize, edited.rules.len());
    }

    #[tokio::test]
    async fn a_bad_file_is_refused_whole_with_each_problem_named() {
        let (_dir, store) = temp_store().await;
        let before = export(&store).await.expect("export");
        assert!(parse("{\"format\": 1, \"rules\": [").is_err());
        let err = parse("{\"format\": 9, \"rules\": []}").expect_err("format");
        assert!(err.to_string().contains("format 9"), "{err}");
        let mut file = before.clone();
        file.rules[1].name = file.rules[0].name.to_uppercase();
        file.rules[2].definition.actions = vec![Action::CreateCta {
            cta_type: CtaType::Escalation,
            reason: "Lookalike".into(),
            priority: Level::High,
            playbook: Some("No such playbook".into()),
            owner: CtaOwner::User(crate::new_id()),
            due_in_days: 3,
        }];
        let err = import(&store, &file)
            .await
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("two rules in the file have this name"),
            "{err}"
        );
        assert!(err.contains("use escalate_to_leadership"), "{err}");
        assert!(err.contains("names playbook “No such playbook”"), "{err}");
        assert!(err.contains("who is not in this store's people"), "{err}");
        assert_eq!(
            export(&store).await.expect("export"),
            before,
            "nothing written"
        );
    }
}
