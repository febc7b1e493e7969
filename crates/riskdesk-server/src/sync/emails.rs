//! One email, one person. A device keeps its people's emails unique, so a second
//! directory person with an email another already has could never be written there: every
//! device pulling it would set it aside, and every record naming that person (their
//! accounts first) would wait for it for good. It would also let a manager's push file
//! accounts under a signed-in user's team by their email. So the server refuses the push
//! that would make two people share an email, naming both.

use std::collections::{BTreeMap, HashMap};

use riskdesk_sync::Change;
use sqlx::{Any, Transaction};

use super::winners;
use crate::db::Db;
use crate::error::{Error, Result};

/// How emails are compared: as sign-in compares them.
fn normal(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Refuses `changes` when, once applied, a person they give an email shares it with
/// another person. People the push leaves alone are not judged (a directory that holds a
/// duplicate from before this check is not made unusable by it).
pub(super) async fn check(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    changes: &[Change],
) -> Result<()> {
    // The email each person is given by the push: its last word in push order (judged in
    // id order, so a refusal names the same pair each time).
    let pushed: BTreeMap<&str, &Change> = changes
        .iter()
        .filter(|c| c.entity == "person" && c.field == "email")
        .map(|c| (c.entity_id.as_str(), c))
        .collect();
    if pushed.is_empty() {
        return Ok(());
    }
    // Every person's email after the push.
    let mut emails: HashMap<String, String> = HashMap::new();
    for (id, stored) in winners::field_of_all(db, tx, "person", "email").await? {
        if let Some(email) = stored.change("email")?.value.as_str() {
            emails.insert(id, normal(email));
        }
    }
    for (id, c) in &pushed {
        match c.value.as_str() {
            Some(email) => emails.insert(id.to_string(), normal(email)),
            None => emails.remove(*id),
        };
    }
    let mut holders: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, email) in &emails {
        holders.entry(email.as_str()).or_default().push(id.as_str());
    }
    for (id, c) in &pushed {
        let Some(email) = emails.get(*id) else {
            continue;
        };
        let mut others: Vec<&str> = holders
            .get(email.as_str())
            .map(|h| h.iter().copied().filter(|other| other != id).collect())
            .unwrap_or_default();
        if others.is_empty() {
            continue;
        }
        others.sort_unstable();
        // Named as people know them: the name the directory gives the first holder.
        let holder = others[0];
        let name = match winners::winner_of(db, tx, "person", holder, "name").await? {
            Some(stored) => stored.change("name")?.value.as_str().map(str::to_string),
            // The holder is another person of this same push.
            None => pushed_name(changes, holder),
        };
        let named = name.map_or(String::new(), |n| format!("{n}, "));
        return Err(Error::BadRequest(format!(
            "change {} gives person {id} the email {email}, which person {} ({named}{email}) already has: \
             the directory holds each email once (edit that person, or give this one another email)",
            c.change_id,
            others.join(", ")
        )));
    }
    Ok(())
}

/// The name a person is given in this push, if any.
fn pushed_name(changes: &[Change], person: &str) -> Option<String> {
    changes
        .iter()
        .rev()
        .find(|c| c.entity == "person" && c.entity_id == person && c.field == "name")
        .and_then(|c| c.value.as_str().map(str::to_string))
}
