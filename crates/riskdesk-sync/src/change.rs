//! What travels between a device and the server.

use serde::{Deserialize, Serialize};

use crate::{Error, Hlc};

/// Bumped on any incompatible change to the messages below; both sides refuse a mismatch
/// with `Error::Version` instead of misreading each other.
pub const PROTOCOL_VERSION: u32 = 1;

/// The field a tombstone sets: a record whose `_deleted` is true is gone, and stays gone
/// until a later change sets it false again.
pub const DELETED: &str = "_deleted";

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
        if self.field == DELETED && !self.value.is_boolean() {
            return bad("a tombstone's value must be true or false");
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    pub protocol: u32,
    pub device_id: String,
    pub changes: Vec<Change>,
}

impl PushRequest {
    pub fn check_version(&self) -> Result<(), Error> {
        check_version(self.protocol)
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    pub protocol: u32,
    pub changes: Vec<Sequenced>,
    /// Pass back as `since` to get what came after.
    pub cursor: i64,
    /// More changes wait beyond this page.
    pub more: bool,
    /// The newest sequence number on the server when the page was read: how far a first
    /// sync has to go (the caller's scope holds some of what lies between).
    #[serde(default)]
    pub head: i64,
}
