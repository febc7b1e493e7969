//! What travels between a device and the server.

use serde::{Deserialize, Serialize};

use crate::{schema, Error, Hlc};

/// The longest id (record, account, change, device) a change may carry.
pub const MAX_ID_BYTES: usize = 100;

/// Bumped on any incompatible change to the messages below; both sides refuse a mismatch
/// with `Error::Version` instead of misreading each other.
/// Version 2: pulls carry changes grouped by record and stamp (`PulledRecord`).
/// Version 3: pushes carry them grouped the same way (`RecordChange`), and the server
/// keeps each group as one row.
pub const PROTOCOL_VERSION: u32 = 3;

/// The field a tombstone sets: a record whose `_deleted` is true is gone, and stays gone
/// until a later change sets it false again.
pub const DELETED: &str = "_deleted";

/// The account the people directory's records (teams and people) name: every signed-in
/// user of the organisation reads and writes them, so an owner id means the same person
/// on every device.
pub const DIRECTORY_ACCOUNT: &str = "_directory";

/// One field of one record set to a value (or the record deleted), stamped where and when
/// it was made. The change id makes a retried push harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub change_id: String,
    pub entity: String,
    pub entity_id: String,
    /// The account the record belongs to: what decides who may see and write it.
    pub account_id: String,
    pub field: String,
    pub value: serde_json::Value,
    pub hlc: Hlc,
    pub device_id: String,
}

impl Change {
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |reason: &str| {
            Err(Error::InvalidChange {
                change_id: self.change_id.clone(),
                reason: reason.into(),
            })
        };
        if self.change_id.trim().is_empty() {
            return bad("has no change id");
        }
        if self.entity.trim().is_empty() || self.entity_id.trim().is_empty() {
            return bad("names no record");
        }
        if self.field.trim().is_empty() {
            return bad("names no field");
        }
        if self.account_id.trim().is_empty() {
            return bad("names no account");
        }
        if self.hlc.device != self.device_id {
            return bad("is stamped by another device than the one sending it");
        }
        let Some(entity) = schema::entity(&self.entity) else {
            return bad(&format!(
                "names '{}', which is not a synced kind of record",
                self.entity
            ));
        };
        if !entity.has_field(&self.field) {
            return bad(&format!(
                "names field '{}', which a {} does not sync",
                self.field, self.entity
            ));
        }
        if (self.account_id == DIRECTORY_ACCOUNT) != entity.is_directory() {
            return bad("only the organisation's directory (teams, people, playbooks) belongs to no account");
        }
        if entity.account == schema::AccountOf::Itself && self.entity_id != self.account_id {
            return bad("an account's changes must name the account itself as their account");
        }
        if self.field == DELETED && !self.value.is_boolean() {
            return bad("a tombstone's value must be true or false");
        }
        let max = entity.max_bytes(&self.field);
        let size = self.value.to_string().len();
        if size > max {
            return bad(&format!(
                "sets {}.{} to {size} bytes; at most {max} are allowed",
                self.entity, self.field
            ));
        }
        for (what, text) in [
            ("record id", &self.entity_id),
            ("account id", &self.account_id),
            ("change id", &self.change_id),
            ("device id", &self.device_id),
        ] {
            if text.len() > MAX_ID_BYTES {
                return bad(&format!(
                    "has a {what} of {} bytes; at most {MAX_ID_BYTES}",
                    text.len()
                ));
            }
        }
        Ok(())
    }

    /// The key last-writer-wins is decided per.
    pub fn key(&self) -> (String, String, String) {
        (
            self.entity.clone(),
            self.entity_id.clone(),
            self.field.clone(),
        )
    }
}

/// One record's fields set at one moment (a record created, a form saved, a snapshot
/// taken), by one device: what a push carries and what the server stores as one row. A
/// first sync of a 16-field account is one of these, not sixteen changes each repeating
/// the record, the account, the stamp and the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordChange {
    pub entity: String,
    pub entity_id: String,
    pub account_id: String,
    pub hlc: Hlc,
    pub fields: Vec<FieldChange>,
}

impl RecordChange {
    /// What makes a retried record harmless: its first field's change id.
    pub fn id(&self) -> &str {
        self.fields.first().map_or("", |f| f.change_id.as_str())
    }

    /// The changes the record stands for, in order.
    pub fn changes(&self) -> impl Iterator<Item = Change> + '_ {
        expand(
            &self.entity,
            &self.entity_id,
            &self.account_id,
            &self.hlc,
            &self.fields,
        )
    }

    /// Each field as a change would be checked, plus what only a record can get wrong:
    /// no fields, or one field set twice at one moment.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |reason: String| Error::InvalidChange {
            change_id: self.id().to_string(),
            reason,
        };
        if self.fields.is_empty() {
            return Err(bad(format!(
                "sets no field of {} {}",
                self.entity, self.entity_id
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for f in &self.fields {
            if !seen.insert(f.field.as_str()) {
                return Err(bad(format!(
                    "sets {}.{} twice at one moment",
                    self.entity, f.field
                )));
            }
        }
        self.changes().try_for_each(|c| c.validate())
    }
}

fn expand<'a>(
    entity: &'a str,
    entity_id: &'a str,
    account_id: &'a str,
    hlc: &'a Hlc,
    fields: &'a [FieldChange],
) -> impl Iterator<Item = Change> + 'a {
    fields.iter().map(move |f| Change {
        change_id: f.change_id.clone(),
        entity: entity.to_string(),
        entity_id: entity_id.to_string(),
        account_id: account_id.to_string(),
        field: f.field.clone(),
        value: f.value.clone(),
        hlc: hlc.clone(),
        device_id: hlc.device.clone(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    pub protocol: u32,
    pub device_id: String,
    pub records: Vec<RecordChange>,
}

impl PushRequest {
    /// `changes` grouped into records: consecutive changes to one record at one stamp
    /// travel as one (a field set twice starts a new record).
    pub fn new(device_id: &str, changes: impl IntoIterator<Item = Change>) -> PushRequest {
        PushRequest {
            protocol: PROTOCOL_VERSION,
            device_id: device_id.to_string(),
            records: group(changes.into_iter().map(|c| (0, c)))
                .into_iter()
                .map(|(_, r)| r)
                .collect(),
        }
    }

    pub fn check_version(&self) -> Result<(), Error> {
        check_version(self.protocol)
    }

    /// Every change the push carries, in order.
    pub fn changes(&self) -> impl Iterator<Item = Change> + '_ {
        self.records.iter().flat_map(RecordChange::changes)
    }

    /// How many changes (fields) it carries.
    pub fn len(&self) -> usize {
        self.records.iter().map(|r| r.fields.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

pub fn check_version(theirs: u32) -> Result<(), Error> {
    if theirs == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(Error::Version {
            ours: PROTOCOL_VERSION,
            theirs,
        })
    }
}

/// An edit that lost to a later one on the same field: shown to the user who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub lost: Change,
    pub winner: Change,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    pub protocol: u32,
    /// Changes stored for the first time (winning or not).
    pub accepted: u32,
    /// Changes the server already had: a retried push.
    pub duplicates: u32,
    pub conflicts: Vec<Conflict>,
}

/// A change as the server sequenced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequenced {
    pub seq: i64,
    pub change: Change,
}

/// One field of a record change: the change that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub change_id: String,
    pub field: String,
    pub value: serde_json::Value,
}

/// Consecutive changes to one record made at one moment (a record created, a form
/// saved) travel once: a first sync of a 16-field account is one of these, not sixteen
/// changes each repeating the record, the account, the stamp and the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledRecord {
    /// The sequence number of the group's last change.
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub account_id: String,
    pub hlc: Hlc,
    pub fields: Vec<FieldChange>,
}

impl PulledRecord {
    /// The changes the group stands for, in order.
    pub fn changes(&self) -> impl Iterator<Item = Change> + '_ {
        expand(
            &self.entity,
            &self.entity_id,
            &self.account_id,
            &self.hlc,
            &self.fields,
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    pub protocol: u32,
    pub records: Vec<PulledRecord>,
    /// Pass back as `since` to get what came after.
    pub cursor: i64,
    /// More changes wait beyond this page.
    pub more: bool,
    /// The newest sequence number on the server when the page was read: how far a first
    /// sync has to go (the caller's scope holds some of what lies between).
    #[serde(default)]
    pub head: i64,
}

impl PullResponse {
    /// Every change of the page, oldest first.
    pub fn changes(&self) -> Vec<Change> {
        self.records
            .iter()
            .flat_map(PulledRecord::changes)
            .collect()
    }

    /// Groups `changes` (oldest first, each with its sequence number) into records.
    pub fn group(changes: impl IntoIterator<Item = Sequenced>) -> Vec<PulledRecord> {
        group(changes.into_iter().map(|s| (s.seq, s.change)))
            .into_iter()
            .map(|(seq, r)| PulledRecord {
                seq,
                entity: r.entity,
                entity_id: r.entity_id,
                account_id: r.account_id,
                hlc: r.hlc,
                fields: r.fields,
            })
            .collect()
    }
}

/// Consecutive changes to one record at one stamp as one record change, each with the
/// sequence number of its last change; a field set twice starts a new one.
fn group(changes: impl IntoIterator<Item = (i64, Change)>) -> Vec<(i64, RecordChange)> {
    let mut records: Vec<(i64, RecordChange)> = Vec::new();
    for (seq, c) in changes {
        let field = FieldChange {
            change_id: c.change_id,
            field: c.field,
            value: c.value,
        };
        match records.last_mut() {
            Some((last, r))
                if r.entity == c.entity
                    && r.entity_id == c.entity_id
                    && r.account_id == c.account_id
                    && r.hlc == c.hlc
                    && r.fields.iter().all(|f| f.field != field.field) =>
            {
                *last = seq;
                r.fields.push(field);
            }
            _ => records.push((
                seq,
                RecordChange {
                    entity: c.entity,
                    entity_id: c.entity_id,
                    account_id: c.account_id,
                    hlc: c.hlc,
                    fields: vec![field],
                },
            )),
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(n: u32, id: &str, wall_ms: u64) -> Sequenced {
        Sequenced {
            seq: i64::from(n),
            change: Change {
                change_id: format!("c{n}"),
                entity: "account".into(),
                entity_id: id.into(),
                account_id: id.into(),
                field: format!("f{n}"),
                value: serde_json::json!(n),
                hlc: Hlc {
                    wall_ms,
                    counter: 0,
                    device: "d".into(),
                },
                device_id: "d".into(),
            },
        }
    }

    #[test]
    fn a_page_groups_by_record_and_stamp_and_reads_back_whole() {
        let page = vec![
            change(1, "a", 5),
            change(2, "a", 5),
            change(3, "b", 5),
            change(4, "a", 5),
            change(5, "a", 6),
        ];
        let records = PullResponse::group(page.clone());
        let shape: Vec<(i64, &str, usize)> = records
            .iter()
            .map(|r| (r.seq, r.entity_id.as_str(), r.fields.len()))
            .collect();
        assert_eq!(shape, [(2, "a", 2), (3, "b", 1), (4, "a", 1), (5, "a", 1)]);
        let back = PullResponse {
            protocol: PROTOCOL_VERSION,
            records,
            cursor: 5,
            more: false,
            head: 5,
        };
        let expected: Vec<Change> = page.into_iter().map(|s| s.change).collect();
        assert_eq!(back.changes(), expected);
    }

    #[test]
    fn a_push_groups_by_record_and_stamp_and_never_sets_a_field_twice() {
        let mut page: Vec<Change> = [(1, "a", 5), (2, "a", 5), (3, "b", 5), (4, "a", 6)]
            .into_iter()
            .map(|(n, id, wall)| change(n, id, wall).change)
            .collect();
        // The same field again at the same stamp starts a record of its own.
        let mut again = page[3].clone();
        again.change_id = "c5".into();
        page.push(again);
        let req = PushRequest::new("d", page.clone());
        let shape: Vec<(&str, usize)> = req
            .records
            .iter()
            .map(|r| (r.entity_id.as_str(), r.fields.len()))
            .collect();
        assert_eq!(shape, [("a", 2), ("b", 1), ("a", 1), ("a", 1)]);
        assert_eq!(req.len(), 5);
        assert_eq!(req.changes().collect::<Vec<_>>(), page);
        let mut twice = req.records[0].clone();
        twice.fields[1].field = twice.fields[0].field.clone();
        let err = twice.validate().expect_err("a field twice");
        assert!(err.to_string().contains("twice at one moment"), "{err}");
        let mut empty = req.records[1].clone();
        empty.fields.clear();
        assert!(empty.validate().is_err());
    }
}
