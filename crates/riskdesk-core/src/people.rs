//! The team as a CS Ops admin sets it up: people with a role, a team, an active flag and the
//! ids the CRMs know them by, added by hand or imported from a CRM's user export (a
//! Salesforce User report, a HubSpot owners export), checked before anything is written
//! and idempotent. People are deactivated, never deleted: records name them.

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::import::RowError;
pub use crate::model::NewPerson;
use crate::model::Role;
use crate::store::people::{write_person as write, Written};
use crate::store::AccountQuery;
use crate::{Error, Result, Store};

/// A person as the People list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub title: String,
    pub team: Option<String>,
    pub active: bool,
    pub salesforce_id: Option<String>,
    pub hubspot_id: Option<String>,
    /// Accounts this person owns.
    pub accounts: i64,
}

const LIST: &str = "SELECT u.id, u.name, u.email, u.role, u.title, t.name AS team, u.active = 1 AS active, \
     u.salesforce_id, u.hubspot_id, (SELECT COUNT(*) FROM accounts a WHERE a.owner_id = u.id) AS accounts \
     FROM users u LEFT JOIN teams t ON t.id = u.team_id";

/// Everyone, active people first, then by name.
pub async fn list(pool: &SqlitePool) -> Result<Vec<Person>> {
    Ok(sqlx::query_as(&format!(
        "{LIST} ORDER BY u.active DESC, u.name COLLATE NOCASE"
    ))
    .fetch_all(pool)
    .await?)
}

/// What is wrong with `p`, each problem naming its field.
fn problems(p: &NewPerson) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let long = |field: &'static str, text: &str, max: usize, out: &mut Vec<_>| {
        let n = text.chars().count();
        if n > max {
            out.push((field, format!("{n} characters, at most {max}")));
        }
    };
    if p.name.trim().is_empty() {
        out.push(("name", "is required".to_string()));
    }
    long("name", &p.name, 200, &mut out);
    let email = p.email.trim();
    if email.is_empty() {
        out.push(("email", "is required".to_string()));
    } else if !email.contains('@') || email.contains(char::is_whitespace) {
        out.push(("email", format!("'{email}' is not an email address")));
    }
    long("email", email, 320, &mut out);
    for (field, v) in [
        ("title", &p.title),
        ("team", &p.team),
        ("salesforce_id", &p.salesforce_id),
        ("hubspot_id", &p.hubspot_id),
    ] {
        if let Some(v) = v {
            long(
                field,
                v,
                if field.ends_with("_id") { 100 } else { 200 },
                &mut out,
            );
        }
    }
    out
}

/// Gives every account matching `q` (all pages) to `owner_id`: a manager assigning an
/// import's unassigned accounts in one go. The accounts are refreshed at once, so their
/// live CTAs follow the new owner and the worklist ranks them under that person. Returns
/// how many moved.
pub async fn assign_accounts(
    store: &Store,
    q: &AccountQuery,
    owner_id: &str,
    today: NaiveDate,
) -> Result<u32> {
    let active: Option<bool> = sqlx::query_scalar("SELECT active = 1 FROM users WHERE id = ?")
        .bind(owner_id)
        .fetch_optional(store.pool())
        .await?;
    match active {
        None => {
            return Err(Error::NotFound {
                entity: "user",
                id: owner_id.to_string(),
            })
        }
        Some(false) => {
            return Err(Error::invalid(
                "owner",
                "is deactivated: reactivate them in Settings › People first",
            ))
        }
        Some(true) => {}
    }
    let mut tx = store.write().await?;
    let ids = crate::store::accounts::set_owner_where(&mut tx, q, owner_id).await?;
    let moved = ids.len() as u32;
    crate::refresh::after_changes(store, tx, ids, today).await?;
    Ok(moved)
}

/// Adds a person (or updates the one with that email or CRM id).
pub async fn add(store: &Store, p: &NewPerson) -> Result<Person> {
    if let Some((field, reason)) = problems(p).into_iter().next() {
        return Err(Error::invalid(format!("person.{field}"), reason));
    }
    let mut tx = store.write().await?;
    write(&mut tx, p).await?;
    tx.commit().await?;
    find(store.pool(), &p.email).await
}

/// The person with this id or email.
pub async fn find(pool: &SqlitePool, id_or_email: &str) -> Result<Person> {
    sqlx::query_as(&format!(
        "{LIST} WHERE u.id = ? OR lower(u.email) = lower(?)"
    ))
    .bind(id_or_email.trim())
    .bind(id_or_email.trim())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::NotFound {
        entity: "person",
        id: id_or_email.to_string(),
    })
}

/// Deactivates a person (or activates them again): they stay on the records they own.
pub async fn set_active(store: &Store, id_or_email: &str, active: bool) -> Result<Person> {
    let person = find(store.pool(), id_or_email).await?;
    let mut tx = store.write().await?;
    crate::store::people::set_active(&mut tx, &person.id, active).await?;
    tx.commit().await?;
    find(store.pool(), &person.id).await
}

/// What a people import found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PeopleReport {
    /// "Salesforce users" or "HubSpot owners".
    pub format: String,
    pub rows: u32,
    pub inserted: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub rejected: u32,
    pub errors: Vec<RowError>,
    pub committed: bool,
}

/// A CRM's role name as a Riskdesk role: executives (VP, chief), CSMs ("CSM", "Customer
/// Success Manager"), managers (manager, director, head, lead), admins (admin, CS Ops),
/// everyone else a CSM.
pub fn role_from_crm(text: &str) -> Role {
    let t = format!(
        " {} ",
        text.to_lowercase().replace(['-', '/', ',', '(', ')'], " ")
    );
    let has = |w: &str| t.contains(&format!(" {w} "));
    if has("vp") || t.contains("vice president") || has("chief") || has("cco") || has("cro") {
        Role::Executive
    } else if has("csm") || t.contains("customer success manager") {
        // "Customer Success Manager" is the CSM's own title, not a people manager's.
        Role::Csm
    } else if has("manager") || has("director") || has("head") || has("lead") {
        Role::Manager
    } else if has("admin") || has("administrator") || has("ops") || has("operations") {
        Role::Admin
    } else {
        Role::Csm
    }
}

fn key(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Reads a Salesforce User report (Id, Full Name, Email, Title, Role) or a HubSpot owners
/// export (Owner ID, First name, Last name, Email, Team) and, unless `check`, writes every
/// valid row in one transaction. A row with a problem is named by line and column and
/// written by nobody; re-importing the same file changes nothing.
pub async fn import(store: &Store, path: &Path, check: bool) -> Result<PeopleReport> {
    let io = |e: csv::Error| Error::invalid(path.display().to_string(), e.to_string());
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(io)?;
    let headers: Vec<String> = rdr
        .headers()
        .map_err(io)?
        .iter()
        .map(str::to_string)
        .collect();
    let col: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (key(h), i))
        .collect();
    let at = |names: &[&str]| names.iter().find_map(|n| col.get(*n).copied());
    let hubspot = at(&["ownerid"]).is_some();
    let mut report = PeopleReport {
        format: if hubspot {
            "HubSpot owners"
        } else {
            "Salesforce users"
        }
        .into(),
        ..Default::default()
    };
    let (id_col, email_col) = (
        if hubspot {
            at(&["ownerid"])
        } else {
            at(&["id", "userid"])
        },
        at(&["email", "emailaddress"]),
    );
    let (full, first, last) = (
        at(&["fullname", "name"]),
        at(&["firstname"]),
        at(&["lastname"]),
    );
    let (title_col, role_col, team_col) = (
        at(&["title"]),
        at(&["role", "userrole"]),
        at(&["team", "teams"]),
    );
    if email_col.is_none() || (full.is_none() && first.is_none()) {
        return Err(Error::invalid(
            path.display().to_string(),
            "needs an Email column and a Full Name (Salesforce) or First name and Last name (HubSpot) column",
        ));
    }
    let mut people = Vec::new();
    for (n, record) in rdr.records().enumerate() {
        let record = record.map_err(io)?;
        let line = n as u32 + 2;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        report.rows += 1;
        let cell = |c: Option<usize>| {
            c.and_then(|i| record.get(i))
                .map(|s| crate::csv_safe::unquote(s.trim()).trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let name = match full {
            Some(_) => cell(full).unwrap_or_default(),
            None => [cell(first), cell(last)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        };
        let crm_id = cell(id_col);
        let p = NewPerson {
            name,
            email: cell(email_col).unwrap_or_default(),
            role: cell(role_col).map(|r| role_from_crm(&r)),
            title: cell(title_col),
            team: cell(team_col),
            salesforce_id: crm_id.clone().filter(|_| !hubspot),
            hubspot_id: crm_id.filter(|_| hubspot),
        };
        let bad = problems(&p);
        if bad.is_empty() {
            people.push(p);
        } else {
            report.rejected += 1;
            for (field, reason) in bad {
                report.errors.push(RowError {
                    line,
                    column: field.to_string(),
                    value: String::new(),
                    reason,
                });
            }
        }
    }
    let mut tx = store.write().await?;
    for p in &people {
        match write(&mut tx, p).await? {
            Written::Inserted => report.inserted += 1,
            Written::Updated => report.updated += 1,
            Written::Unchanged => report.unchanged += 1,
        }
    }
    if check {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
        report.committed = true;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    #[test]
    fn crm_roles_map_to_riskdesk_roles() {
        assert_eq!(role_from_crm("VP Customer Success"), Role::Executive);
        assert_eq!(role_from_crm("CS Manager - EMEA"), Role::Manager);
        assert_eq!(role_from_crm("Director, Renewals"), Role::Manager);
        assert_eq!(role_from_crm("CS Ops"), Role::Admin);
        assert_eq!(role_from_crm("Customer Success Manager"), Role::Csm);
        assert_eq!(role_from_crm("CSM - Enterprise"), Role::Csm);
    }

    /// A Salesforce user report and a HubSpot owners export import the team; the same
    /// files again change nothing; an account export's owner ids then map to them.
    #[tokio::test]
    async fn crm_user_exports_import_the_team_idempotently() {
        let (dir, store) = temp_store().await;
        let sf = dir.path().join("users.csv");
        std::fs::write(
            &sf,
            "\u{feff}Id,Full Name,Email,Title,Role\n\
             0055g0000000001AAA,Dana Whitfield,dana@riskdesk.example,Senior CSM,CSM - Enterprise\n\
             0055g0000000002AAA,Omar Haddad,omar@riskdesk.example,CSM,CSM - Mid-Market\n\
             0055g0000000003AAA,Nadia Berg,NADIA@riskdesk.example,Head of CS,CS Director\n\
             0055g0000000004AAA,,nobody,,\n",
        )
        .expect("write");
        let check = import(&store, &sf, true).await.expect("check");
        assert_eq!(
            (check.rows, check.inserted, check.rejected, check.committed),
            (4, 3, 1, false)
        );
        assert!(
            check
                .errors
                .iter()
                .any(|e| e.line == 5 && e.column == "name"),
            "{:?}",
            check.errors
        );
        assert!(check
            .errors
            .iter()
            .any(|e| e.line == 5 && e.column == "email"));
        assert!(
            list(store.pool()).await.expect("list").is_empty(),
            "a check writes nothing"
        );
        let done = import(&store, &sf, false).await.expect("import");
        assert_eq!((done.inserted, done.committed), (3, true));
        let again = import(&store, &sf, false).await.expect("again");
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 3));
        let nadia = find(store.pool(), "nadia@riskdesk.example")
            .await
            .expect("nadia");
        assert_eq!(
            (nadia.role, nadia.salesforce_id.as_deref()),
            (Role::Manager, Some("0055g0000000003AAA"))
        );

        let hs = dir.path().join("owners.csv");
        std::fs::write(
            &hs,
            "Owner ID,First name,Last name,Email,Team\n\
             41234567,Dana,Whitfield,dana@riskdesk.example,Enterprise\n\
             41234568,Lee,Park,lee@riskdesk.example,Mid-Market\n",
        )
        .expect("write");
        let merged = import(&store, &hs, false).await.expect("hubspot");
        assert_eq!(
            (merged.format.as_str(), merged.inserted, merged.updated),
            ("HubSpot owners", 1, 1)
        );
        let dana = find(store.pool(), "dana@riskdesk.example")
            .await
            .expect("dana");
        assert_eq!(
            (
                dana.salesforce_id.as_deref(),
                dana.hubspot_id.as_deref(),
                dana.team.as_deref()
            ),
            (
                Some("0055g0000000001AAA"),
                Some("41234567"),
                Some("Enterprise")
            )
        );

        // Deactivated, never deleted; still on the list.
        let off = set_active(&store, "lee@riskdesk.example", false)
            .await
            .expect("deactivate");
        assert!(!off.active);
        assert_eq!(list(store.pool()).await.expect("list").len(), 4);

        // An account export naming owners by Salesforce user id maps them.
        let accounts = dir.path().join("accounts.csv");
        std::fs::write(
            &accounts,
            "Account ID,Account Name,OwnerId,ARR,Renewal Date\n\
             001A,Northwind,0055g0000000001AAA,1000,2027-03-01\n\
             001B,Contoso,41234568,2000,2027-04-01\n",
        )
        .expect("write");
        let mut req = crate::import::ImportRequest {
            kind: crate::import::ImportKind::Accounts,
            path: accounts.display().to_string(),
            mapping: crate::import::analyze(crate::import::ImportKind::Accounts, &accounts)
                .expect("analyze")
                .mapping,
            default_currency: "USD".into(),
            mode: crate::import::ImportMode::AllOrNothing,
            rejects_path: None,
            owner_map: vec![],
        };
        for m in req.mapping.iter_mut().filter(|m| m.field == "owner") {
            m.column = Some("OwnerId".into());
        }
        let out = crate::import::import(&store, &req, crate::store::testing::test_day(), |_| {})
            .await
            .expect("accounts");
        assert_eq!(out.report.inserted, 2);
        let owners: Vec<Option<String>> =
            sqlx::query_scalar("SELECT u.email FROM accounts a LEFT JOIN users u ON u.id = a.owner_id ORDER BY a.crm_id")
                .fetch_all(store.pool())
                .await
                .expect("owners");
        assert_eq!(
            owners,
            [
                Some("dana@riskdesk.example".to_string()),
                Some("lee@riskdesk.example".to_string())
            ]
        );
    }
}
