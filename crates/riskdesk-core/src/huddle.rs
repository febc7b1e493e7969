//! The bi-weekly risk huddle: each CSM's top five at-risk accounts with their latest
//! weekly update, signals and next steps, ready to export.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::signals::{Level, SignalKind};
use crate::store::in_list;
use crate::Result;

pub const TOP: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HuddleAccount {
    pub account_id: String,
    pub name: String,
    pub arr_base_minor: i64,
    pub renewal_date: NaiveDate,
    pub severity_level: Option<Level>,
    pub score: f64,
    pub signals: Vec<String>,
    /// The newest weekly risk update on any of its live CTAs.
    pub update_on: Option<DateTime<Utc>>,
    pub background: Option<String>,
    pub done_so_far: Option<String>,
    pub next_steps: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HuddleCsm {
    pub owner_id: String,
    pub owner_name: String,
    pub accounts: Vec<HuddleAccount>,
}

type Ranked = (
    String,
    String,
    String,
    String,
    i64,
    NaiveDate,
    Option<Level>,
    f64,
);

/// Each CSM's top five at-risk accounts by priority; `team_of` limits it to one user's team.
pub async fn huddle(pool: &SqlitePool, team_of: Option<&str>) -> Result<Vec<HuddleCsm>> {
    let ranked: Vec<Ranked> = sqlx::query_as(
        "SELECT owner_id, owner_name, account_id, name, arr_base_minor, renewal_date, severity_level, score FROM ( \
           SELECT a.owner_id, u.name AS owner_name, a.id AS account_id, a.name, a.arr_base_minor, a.renewal_date, h.severity_level, p.score, \
                  ROW_NUMBER() OVER (PARTITION BY a.owner_id ORDER BY p.score DESC, a.name) AS n \
           FROM account_priority p JOIN accounts a ON a.rowid = p.account JOIN users u ON u.id = a.owner_id \
           LEFT JOIN account_health h ON h.account = a.rowid \
           WHERE p.at_risk = 1 AND p.lane = 'csm' AND u.role = 'csm' \
             AND (? IS NULL OR u.team_id = (SELECT team_id FROM users WHERE id = ?))) \
         WHERE n <= ? ORDER BY owner_name, score DESC",
    )
    .bind(team_of)
    .bind(team_of)
    .bind(TOP as i64)
    .fetch_all(pool)
    .await?;
    let ids: Vec<String> = ranked.iter().map(|r| r.2.clone()).collect();
    let mut signals: Vec<(String, SignalKind, Level)> = Vec::new();
    let mut updates: Vec<(String, DateTime<Utc>, String, String, String)> = Vec::new();
    for chunk in ids.chunks(400) {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT account_id, kind, severity FROM signals WHERE cleared_at IS NULL AND account_id",
        );
        in_list(&mut qb, chunk);
        qb.push(" ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END");
        signals.extend(
            qb.build_query_as::<(String, SignalKind, Level)>()
                .fetch_all(pool)
                .await?,
        );
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT c.account_id, u.created_at, u.background, u.done_so_far, u.next_steps FROM cta_updates u \
             JOIN ctas c ON c.id = u.cta_id WHERE c.status <> 'closed' AND c.account_id",
        );
        in_list(&mut qb, chunk);
        qb.push(" ORDER BY u.created_at DESC");
        updates.extend(qb.build_query_as().fetch_all(pool).await?);
    }
    let mut out: Vec<HuddleCsm> = Vec::new();
    for (owner_id, owner_name, account_id, name, arr, renewal, level, score) in ranked {
        let latest = updates.iter().find(|u| u.0 == account_id);
        let account = HuddleAccount {
            signals: signals
                .iter()
                .filter(|s| s.0 == account_id)
                .map(|s| format!("{} ({})", s.1.label(), s.2))
                .collect(),
            update_on: latest.map(|u| u.1),
            background: latest.map(|u| u.2.clone()).filter(|t| !t.is_empty()),
            done_so_far: latest.map(|u| u.3.clone()).filter(|t| !t.is_empty()),
            next_steps: latest.map(|u| u.4.clone()).filter(|t| !t.is_empty()),
            account_id,
            name,
            arr_base_minor: arr,
            renewal_date: renewal,
            severity_level: level,
            score,
        };
        match out.last_mut() {
            Some(csm) if csm.owner_id == owner_id => csm.accounts.push(account),
            _ => out.push(HuddleCsm {
                owner_id,
                owner_name,
                accounts: vec![account],
            }),
        }
    }
    Ok(out)
}

/// The huddle as Markdown, for the meeting notes.
pub fn to_markdown(h: &[HuddleCsm], on: NaiveDate) -> String {
    let mut md =
        format!("# Risk huddle, {on}\n\nEach CSM's top {TOP} at-risk accounts by priority.\n");
    for csm in h {
        md.push_str(&format!("\n## {}\n", csm.owner_name));
        for (i, a) in csm.accounts.iter().enumerate() {
            md.push_str(&format!(
                "\n{}. **{}** — {} ARR, renews {}, severity {}\n",
                i + 1,
                a.name,
                crate::money::format_minor(a.arr_base_minor, "USD", 2),
                a.renewal_date,
                a.severity_level
                    .map_or("unscored".to_string(), |l| l.to_string())
            ));
            if !a.signals.is_empty() {
                md.push_str(&format!("   - Signals: {}\n", a.signals.join("; ")));
            }
            match &a.update_on {
                Some(on) => {
                    md.push_str(&format!("   - Update of {}:", on.date_naive()));
                    for (label, text) in [
                        ("background", &a.background),
                        ("done so far", &a.done_so_far),
                    ] {
                        if let Some(t) = text {
                            md.push_str(&format!(" {label}: {t}."));
                        }
                    }
                    md.push('\n');
                    md.push_str(&format!(
                        "   - Next steps: {}\n",
                        a.next_steps.as_deref().unwrap_or("none written")
                    ));
                }
                None => md.push_str("   - No weekly update yet\n"),
            }
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{test_day, worked_book};

    #[tokio::test]
    async fn each_csm_gets_their_top_five_with_the_latest_update() {
        let (_dir, store) = worked_book(600, 4, 0).await;
        let today = test_day();
        let h = huddle(store.pool(), None).await.expect("huddle");
        assert!(!h.is_empty());
        for csm in &h {
            assert!(csm.accounts.len() <= TOP);
            assert!(csm.accounts.windows(2).all(|w| w[0].score >= w[1].score));
        }
        // The top account of the first CSM gets a weekly update: the huddle shows it.
        let top = &h[0].accounts[0];
        let cta: String = sqlx::query_scalar(
            "SELECT id FROM ctas WHERE account_id = ? AND status <> 'closed' LIMIT 1",
        )
        .bind(&top.account_id)
        .fetch_one(store.pool())
        .await
        .expect("a live CTA on an at-risk account");
        let mut tx = store.write().await.expect("tx");
        crate::cta::add_update(
            &mut tx,
            &cta,
            None,
            "Budget freeze",
            "Met the CFO",
            "Send the ROI case",
        )
        .await
        .expect("update");
        tx.commit().await.expect("commit");
        let h = huddle(store.pool(), None).await.expect("huddle");
        let top = &h[0].accounts[0];
        assert_eq!(top.next_steps.as_deref(), Some("Send the ROI case"));
        let md = to_markdown(&h, today);
        assert!(md.starts_with("# Risk huddle, 2026-11-23"));
        assert!(md.contains(&format!("## {}", h[0].owner_name)));
        assert!(md.contains("Next steps: Send the ROI case"), "{md}");

        // A manager's huddle holds only their team.
        let manager: (String, String) =
            sqlx::query_as("SELECT id, team_id FROM users WHERE role = 'manager' LIMIT 1")
                .fetch_one(store.pool())
                .await
                .expect("manager");
        let team = huddle(store.pool(), Some(&manager.0)).await.expect("team");
        for csm in &team {
            let t: String = sqlx::query_scalar("SELECT team_id FROM users WHERE id = ?")
                .bind(&csm.owner_id)
                .fetch_one(store.pool())
                .await
                .expect("team");
            assert_eq!(t, manager.1);
        }
    }
}
