//! What syncs: one list of entities, their fields and the account each record belongs
//! to. The device's capture triggers are generated from it (and a test holds the shipped
//! migrations to it), the device applies pulled records by it, and the server refuses any
//! entity or field that is not on it.

use crate::change::DELETED;

/// How a record's account is found on the device, when a change is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOf {
    /// The organisation's shared records (people, teams, playbooks): the reserved account
    /// `_directory`, which every signed-in user reads.
    Directory,
    /// The record is the account.
    Itself,
    /// The record's own column names its account.
    Column(&'static str),
    /// The record's `column` names a parent in `table` (keyed by `key`), whose
    /// `account_id` is the account.
    Parent {
        column: &'static str,
        table: &'static str,
        key: &'static str,
    },
}

/// A synced entity: its name on the wire and its table on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entity {
    pub name: &'static str,
    pub table: &'static str,
    pub id_column: &'static str,
    pub columns: &'static [&'static str],
    pub account: AccountOf,
    /// Text fields whose values may be long (free text): up to `MAX_TEXT_BYTES`; every
    /// other field is held to `MAX_VALUE_BYTES`.
    pub long_text: &'static [&'static str],
    /// Fields added after records of this kind were first synced, with the JSON value a
    /// record made before them takes: such a record arrives without them and is written
    /// all the same.
    pub later: &'static [(&'static str, &'static str)],
}

/// The largest value of an ordinary field, as JSON text.
pub const MAX_VALUE_BYTES: usize = 2_048;
/// The largest value of a free-text field (a weekly update, evidence, a playbook's
/// tasks), as JSON text.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;

impl Entity {
    /// Whether `field` may travel for this entity (`_deleted` travels for all).
    pub fn has_field(&self, field: &str) -> bool {
        field == DELETED || self.columns.contains(&field)
    }

    /// The most bytes a value of `field` may take as JSON text.
    pub fn max_bytes(&self, field: &str) -> usize {
        if self.long_text.contains(&field) {
            MAX_TEXT_BYTES
        } else {
            MAX_VALUE_BYTES
        }
    }

    /// The value a record made before `field` existed takes (JSON), when it is one of
    /// the `later` fields.
    pub fn later_default(&self, field: &str) -> Option<&'static str> {
        self.later
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| *v)
    }

    pub fn is_directory(&self) -> bool {
        self.account == AccountOf::Directory
    }
}

/// Every synced entity, parents before children: a device writes a pulled page in this
/// order so that a record and its parent arriving together both land.
pub const ENTITIES: &[Entity] = &[
    Entity {
        name: "team",
        table: "teams",
        id_column: "id",
        columns: &["name", "created_at"],
        account: AccountOf::Directory,
        long_text: &[],
        later: &[],
    },
    Entity {
        name: "person",
        table: "users",
        id_column: "id",
        columns: &[
            "name",
            "email",
            "role",
            "title",
            "team_id",
            "created_at",
            "active",
            "salesforce_id",
            "hubspot_id",
        ],
        account: AccountOf::Directory,
        long_text: &[],
        later: &[
            ("active", "1"),
            ("salesforce_id", "null"),
            ("hubspot_id", "null"),
        ],
    },
    Entity {
        name: "playbook",
        table: "playbooks",
        id_column: "id",
        columns: &["name", "description", "kind", "tasks", "updated_at"],
        account: AccountOf::Directory,
        long_text: &["description", "tasks"],
        later: &[],
    },
    Entity {
        name: "account",
        table: "accounts",
        id_column: "id",
        columns: &[
            "name",
            "arr_minor",
            "currency",
            "arr_base_minor",
            "segment",
            "stage",
            "contract_start",
            "renewal_date",
            "owner_id",
            "strategic",
            "expansion_potential",
            "industry",
            "region",
            "crm_id",
            "created_at",
            "updated_at",
            "stage_since",
            "adopted_on",
        ],
        account: AccountOf::Itself,
        long_text: &[],
        later: &[("stage_since", "null"), ("adopted_on", "null")],
    },
    Entity {
        name: "cta",
        table: "ctas",
        id_column: "id",
        columns: &[
            "account_id",
            "type",
            "reason",
            "priority",
            "status",
            "owner_id",
            "due_on",
            "snoozed_until",
            "snooze_reason",
            "outcome",
            "closed_at",
            "source",
            "rule_id",
            "evidence",
            "flagged",
            "category",
            "expected",
            "avoidable",
            "created_at",
            "updated_at",
            "playbook_id",
        ],
        account: AccountOf::Column("account_id"),
        long_text: &["reason", "snooze_reason", "evidence"],
        later: &[("playbook_id", "null")],
    },
    Entity {
        name: "cta_task",
        table: "cta_tasks",
        id_column: "id",
        columns: &["cta_id", "position", "title", "due_on", "done_at"],
        account: AccountOf::Parent {
            column: "cta_id",
            table: "ctas",
            key: "id",
        },
        long_text: &["title"],
        later: &[],
    },
    Entity {
        name: "risk_update",
        table: "cta_updates",
        id_column: "id",
        columns: &[
            "cta_id",
            "author_id",
            "background",
            "done_so_far",
            "next_steps",
            "created_at",
        ],
        account: AccountOf::Parent {
            column: "cta_id",
            table: "ctas",
            key: "id",
        },
        long_text: &["background", "done_so_far", "next_steps"],
        later: &[],
    },
    Entity {
        name: "escalation",
        table: "escalations",
        id_column: "cta_id",
        columns: &[
            "account_id",
            "linked_cta_id",
            "criterion",
            "reason",
            "escalated_by",
            "severity_at_open",
            "arr_at_open_minor",
            "opened_at",
            "closed_at",
            "outcome",
            "arr_retained_minor",
            "quiet_until",
        ],
        account: AccountOf::Column("account_id"),
        long_text: &["reason"],
        later: &[],
    },
    Entity {
        name: "escalation_action",
        table: "escalation_actions",
        id_column: "id",
        columns: &[
            "escalation_id",
            "kind",
            "description",
            "owner_id",
            "due_on",
            "done_at",
            "created_at",
        ],
        account: AccountOf::Parent {
            column: "escalation_id",
            table: "escalations",
            key: "cta_id",
        },
        long_text: &["description"],
        later: &[],
    },
    Entity {
        name: "escalation_decision",
        table: "escalation_decisions",
        id_column: "id",
        columns: &["escalation_id", "decided_at", "author_id", "text"],
        account: AccountOf::Parent {
            column: "escalation_id",
            table: "escalations",
            key: "cta_id",
        },
        long_text: &["text"],
        later: &[],
    },
];

/// The synced entity called `name`.
pub fn entity(name: &str) -> Option<&'static Entity> {
    ENTITIES.iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_their_children() {
        let position = |table: &str| ENTITIES.iter().position(|e| e.table == table);
        for (i, e) in ENTITIES.iter().enumerate() {
            if let AccountOf::Parent { table, .. } = e.account {
                assert!(position(table).is_some_and(|p| p < i), "{}", e.name);
            }
        }
        let mut names: Vec<&str> = ENTITIES.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ENTITIES.len(), "entity names are unique");
    }

    #[test]
    fn a_field_is_known_or_not() {
        let cta = entity("cta").expect("cta");
        assert!(cta.has_field("playbook_id") && cta.has_field(DELETED));
        assert!(!cta.has_field("password_hash"));
        assert!(entity("no_such_entity").is_none());
        assert_eq!(cta.max_bytes("evidence"), MAX_TEXT_BYTES);
        assert_eq!(cta.max_bytes("status"), MAX_VALUE_BYTES);
    }
}
