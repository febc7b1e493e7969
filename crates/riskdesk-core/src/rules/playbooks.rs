//! Editing playbooks. It lives with the rules because rules name playbooks: a renamed
//! playbook takes its rules along in the same transaction (and CTAs, which carry a
//! playbook's tasks, need not know about rules).

use crate::cta::{task, Playbook, PlaybookTask};
use crate::store::Store;
use crate::{new_id, Error, Result};

/// Creates or updates a playbook; every problem is named. Existing CTAs keep the tasks
/// they were given: a playbook edit shapes the next CTA, not past ones.
pub async fn save_playbook(store: &Store, id: Option<&str>, p: &Playbook) -> Result<Playbook> {
    let name = p.name.trim();
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push("name: must not be empty".to_string());
    }
    if !["csm", "digital"].contains(&p.kind.as_str()) {
        problems.push(format!("kind: '{}' is not csm or digital", p.kind));
    }
    if p.tasks.is_empty() {
        problems.push("tasks: a playbook needs at least one task".into());
    }
    for (i, t) in p.tasks.iter().enumerate() {
        if t.title.trim().is_empty() {
            problems.push(format!("tasks[{}].title: say what needs doing", i + 1));
        }
        if t.due_in_days > 365 {
            problems.push(format!(
                "tasks[{}].due_in_days: {} is more than a year",
                i + 1,
                t.due_in_days
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::invalid(
            format!(
                "playbook {}",
                if name.is_empty() { "(unnamed)" } else { name }
            ),
            problems.join("; "),
        ));
    }
    let tasks: Vec<PlaybookTask> = p
        .tasks
        .iter()
        .map(|t| task(t.title.trim(), t.due_in_days))
        .collect();
    let id = id.map(str::to_string).unwrap_or_else(new_id);
    let playbook = Playbook {
        id: id.clone(),
        name: name.to_string(),
        description: p.description.trim().to_string(),
        kind: p.kind.clone(),
        tasks,
    };
    let mut tx = store.write().await?;
    let old_name: Option<String> = sqlx::query_scalar("SELECT name FROM playbooks WHERE id = ?")
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(old) = old_name.filter(|old| old != name) {
        super::run::rename_playbook(&mut tx, &old, name).await?;
    }
    crate::cta::write_playbook(&mut tx, &playbook).await?;
    tx.commit().await?;
    Ok(playbook)
}
