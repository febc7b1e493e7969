//! Risk categories: the churn reasons a risk maps to, each with the executive who owns it.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::store::Store;
use crate::{new_id, Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RiskCategory {
    pub id: String,
    pub name: String,
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
}

/// The churn reasons of PRODUCT.md and the title of the executive who usually owns each.
const DEFAULTS: [(&str, &str); 8] = [
    ("product fit", "VP Product"),
    ("product gaps", "VP Product"),
    ("competitor", "Chief Revenue Officer"),
    ("support", "VP Support"),
    ("sentiment", "VP Customer Success"),
    ("sponsor change", "VP Customer Success"),
    ("implementation", "VP Services"),
    ("budget", "Chief Revenue Officer"),
];

/// Every category in order, the defaults written (with owners found by title) when the
/// store has none.
pub async fn list(store: &Store) -> Result<Vec<RiskCategory>> {
    store.cached("categories", read(store)).await
}

async fn read(store: &Store) -> Result<Vec<RiskCategory>> {
    let rows: Vec<RiskCategory> = sqlx::query_as(
        "SELECT c.id, c.name, c.owner_id, u.name AS owner_name FROM risk_categories c \
         LEFT JOIN users u ON u.id = c.owner_id ORDER BY c.position, c.name",
    )
    .fetch_all(store.pool())
    .await?;
    if !rows.is_empty() {
        return Ok(rows);
    }
    let mut tx = store.write().await?;
    // Another task may have written them since the read (two refreshes at first start).
    let written: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM risk_categories)")
        .fetch_one(&mut *tx)
        .await?;
    for (i, (name, title)) in DEFAULTS.iter().enumerate().filter(|_| !written) {
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT id FROM users WHERE title = ? AND role = 'executive' ORDER BY name LIMIT 1",
        )
        .bind(title)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO risk_categories (id, name, owner_id, position, updated_at) VALUES (?, ?, ?, ?, ?)")
            .bind(new_id())
            .bind(name)
            .bind(owner)
            .bind(i as i64)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Box::pin(read(store)).await
}

/// Adds a category (id None) or renames it / changes its owner. Renaming carries the
/// new name into the CTAs filed under the old one.
pub async fn save(
    store: &Store,
    id: Option<&str>,
    name: &str,
    owner_id: Option<&str>,
) -> Result<RiskCategory> {
    let name = name.trim().to_lowercase();
    if name.is_empty() {
        return Err(Error::invalid("category.name", "must not be empty"));
    }
    let mut tx = store.write().await?;
    if let Some(owner) = owner_id {
        let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = ?")
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
        match role.as_deref() {
            None => {
                return Err(Error::NotFound {
                    entity: "user",
                    id: owner.to_string(),
                })
            }
            Some("csm") => {
                return Err(Error::invalid(
                    "category.owner",
                    "an owning executive is a manager or an executive, not a CSM",
                ))
            }
            Some(_) => {}
        }
    }
    let id = match id {
        Some(id) => {
            let old: Option<String> =
                sqlx::query_scalar("SELECT name FROM risk_categories WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(old) = old else {
                return Err(Error::NotFound {
                    entity: "risk category",
                    id: id.to_string(),
                });
            };
            sqlx::query(
                "UPDATE risk_categories SET name = ?, owner_id = ?, updated_at = ? WHERE id = ?",
            )
            .bind(&name)
            .bind(owner_id)
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_name(e, &name))?;
            if old != name {
                crate::cta::rename_category(&mut tx, &old, &name).await?;
                crate::priority::rename_category(&mut tx, &old, &name).await?;
            }
            id.to_string()
        }
        None => {
            let id = new_id();
            sqlx::query(
                "INSERT INTO risk_categories (id, name, owner_id, position, updated_at) \
                 VALUES (?, ?, ?, (SELECT COALESCE(MAX(position) + 1, 0) FROM risk_categories), ?)",
            )
            .bind(&id)
            .bind(&name)
            .bind(owner_id)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_name(e, &name))?;
            id
        }
    };
    tx.commit().await?;
    list(store)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(Error::NotFound {
            entity: "risk category",
            id,
        })
}

fn unique_name(e: sqlx::Error, name: &str) -> Error {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::invalid(
            "category.name",
            format!("there is already a category “{name}”"),
        ),
        other => other.into(),
    }
}

/// Removes a category nobody uses; one still on a live CTA is refused with the count.
pub async fn remove(store: &Store, id: &str) -> Result<()> {
    let mut tx = store.write().await?;
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM risk_categories WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(name) = name else {
        return Err(Error::NotFound {
            entity: "risk category",
            id: id.to_string(),
        });
    };
    let used: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM ctas WHERE category = ? AND status <> 'closed'")
            .bind(&name)
            .fetch_one(&mut *tx)
            .await?;
    if used > 0 {
        return Err(Error::invalid(
            "category",
            format!("“{name}” is on {used} live CTA(s); re-file them first"),
        ));
    }
    sqlx::query("DELETE FROM risk_categories WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{self, BookSpec};
    use crate::store::testing::temp_store;
    use chrono::NaiveDate;

    /// First reads at once (the first refresh and a screen) write the defaults (categories,
    /// scorecards, rule templates) once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn defaults_are_written_once_when_read_at_once() {
        for _ in 0..5 {
            let (_dir, store) = temp_store().await;
            let reads: Vec<_> = (0..4)
                .map(|_| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        let categories = list(&store).await.map(|c| c.len());
                        let cards = crate::health::scorecards(&store).await.map(|c| c.len());
                        let rules = crate::rules::run::rules(&store).await.map(|r| r.len());
                        (categories, cards, rules)
                    })
                })
                .collect();
            for read in reads {
                let (categories, cards, rules) = read.await.expect("task");
                assert_eq!(
                    rules.expect("rules"),
                    crate::rules::templates::templates().len()
                );
                assert_eq!(categories.expect("categories"), DEFAULTS.len());
                assert_eq!(
                    cards.expect("scorecards"),
                    crate::scorecard::default_scorecards().len()
                );
            }
        }
    }

    #[tokio::test]
    async fn defaults_have_owning_executives_and_edits_are_checked() {
        let (_dir, store) = temp_store().await;
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        book::load(&store, &BookSpec::new(20, 2, today), |_, _| {})
            .await
            .expect("book");
        let list = list(&store).await.expect("list");
        assert_eq!(list.len(), 8);
        let implementation = list
            .iter()
            .find(|c| c.name == "implementation")
            .expect("implementation");
        let title: String = sqlx::query_scalar("SELECT title FROM users WHERE id = ?")
            .bind(&implementation.owner_id)
            .fetch_one(store.pool())
            .await
            .expect("owner");
        assert_eq!(
            title, "VP Services",
            "the VP Services owns implementation risk"
        );

        let err = save(&store, None, " Implementation ", None)
            .await
            .expect_err("duplicate");
        assert!(err.to_string().contains("already a category"), "{err}");
        let csm: String = sqlx::query_scalar("SELECT id FROM users WHERE role = 'csm' LIMIT 1")
            .fetch_one(store.pool())
            .await
            .expect("csm");
        assert!(save(&store, None, "pricing", Some(&csm)).await.is_err());
        let added = save(&store, None, "Pricing", None).await.expect("add");
        assert_eq!(added.name, "pricing");

        // A rename follows the CTAs filed under it; a category in use cannot go.
        let account: String = sqlx::query_scalar("SELECT id FROM accounts LIMIT 1")
            .fetch_one(store.pool())
            .await
            .expect("account");
        crate::cta::create_manual(
            &store,
            &crate::cta::ManualCta {
                account_id: account,
                cta_type: crate::rules::CtaType::Risk,
                reason: "Price increase pushback".into(),
                priority: crate::signals::Level::Medium,
                owner_id: None,
                due_on: None,
                playbook_id: None,
                category: Some("pricing".into()),
            },
            today,
        )
        .await
        .expect("cta");
        save(&store, Some(&added.id), "budget pressure", None)
            .await
            .expect("rename");
        let filed: String = sqlx::query_scalar("SELECT category FROM ctas LIMIT 1")
            .fetch_one(store.pool())
            .await
            .expect("category");
        assert_eq!(filed, "budget pressure");
        let err = remove(&store, &added.id).await.expect_err("in use");
        assert!(err.to_string().contains("on 1 live CTA"), "{err}");
        remove(&store, &implementation.id).await.expect("unused");
        assert_eq!(super::list(&store).await.expect("list").len(), 8);
    }
}
