//! Editing playbooks. It lives with the rules because rules name playbooks: a renamed
//! playbook takes its rules along in the same transaction (and CTAs, which carry a
//! playbook's tasks, need not know about rules).

use chrono::Utc;

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
    let json =
        serde_json::to_string(&tasks).map_err(|e| Error::invalid("playbook", e.to_string()))?;
    let id = id.map(str::to_string).unwrap_or_else(new_id);
    let mut tx = store.write().await?;
    let old_name: Option<String> = sqlx::query_scalar("SELECT name FROM playbooks WHERE id = ?")
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(old) = old_name.filter(|old| old != name) {
        super::run::rename_playbook(&mut tx, &old, name).await?;
    }
    sqlx::query(
        "INSERT INTO playbooks (id, name, description, kind, tasks, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, description = excluded.description, kind = excluded.kind, \
         tasks = excluded.tasks, updated_at = excluded.updated_at",
    )
    .bind(&id)
    .bind(name)
    .bind(p.description.trim())
    .bind(&p.kind)
    .bind(json)
    .bind(Utc::now())
    .execute(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            Error::invalid("playbook.name", format!("another playbook is called {name}"))
        }
        other => other.into(),
    })?;
    tx.commit().await?;
    Ok(Playbook {
        id,
        name: name.to_string(),
        description: p.description.trim().to_string(),
        kind: p.kind.clone(),
        tasks,
    })
}
