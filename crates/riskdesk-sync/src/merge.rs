//! Last-writer-wins per field. A replica keeps, for each (entity, id, field), the change
//! with the greatest HLC it has seen; applying the same set of changes in any order, any
//! number of times, leaves every replica in the same state.

use std::collections::{BTreeMap, HashSet};

use crate::change::DELETED;
use crate::Change;

/// What applying one change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// It is now the field's value.
    Won,
    /// A later change already holds the field; `winner` is that change.
    Lost { winner: Box<Change> },
    /// This change id was applied before.
    Duplicate,
}

#[derive(Debug, Default, Clone)]
pub struct Replica {
    fields: BTreeMap<(String, String, String), Change>,
    seen: HashSet<String>,
}

impl Replica {
    pub fn apply(&mut self, change: &Change) -> Applied {
        if !self.seen.insert(change.change_id.clone()) {
            return Applied::Duplicate;
        }
        match self.fields.get(&change.key()) {
            Some(current) if current.hlc >= change.hlc => Applied::Lost {
                winner: Box::new(current.clone()),
            },
            _ => {
                self.fields.insert(change.key(), change.clone());
                Applied::Won
            }
        }
    }

    /// Visible records: entity → id → field → value, without deleted records.
    pub fn state(&self) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, serde_json::Value>>> {
        let mut out: BTreeMap<String, BTreeMap<String, BTreeMap<String, serde_json::Value>>> =
            BTreeMap::new();
        for ((entity, id, field), c) in &self.fields {
            out.entry(entity.clone())
                .or_default()
                .entry(id.clone())
                .or_default()
                .insert(field.clone(), c.value.clone());
        }
        for records in out.values_mut() {
            records.retain(|_, fields| fields.get(DELETED) != Some(&serde_json::Value::Bool(true)));
        }
        out.retain(|_, records| !records.is_empty());
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Clock, Hlc};

    fn change(
        n: usize,
        device: &str,
        hlc: Hlc,
        id: u8,
        field: &str,
        value: serde_json::Value,
    ) -> Change {
        Change {
            change_id: format!("{device}-{n}"),
            entity: "cta".into(),
            entity_id: format!("cta-{id}"),
            account_id: "acc-1".into(),
            field: field.into(),
            value,
            hlc,
            device_id: device.into(),
        }
    }

    #[test]
    fn the_later_edit_wins_and_the_earlier_one_is_reported_lost() {
        let mut a = Clock::new("laptop");
        let mut b = Clock::new("desktop");
        let early = change(1, "laptop", a.tick(1_000), 1, "status", "snoozed".into());
        let late = change(1, "desktop", b.tick(2_000), 1, "status", "closed".into());
        let mut server = Replica::default();
        assert_eq!(server.apply(&late), Applied::Won);
        assert_eq!(
            server.apply(&early),
            Applied::Lost {
                winner: Box::new(late.clone())
            }
        );
        assert_eq!(server.apply(&early), Applied::Duplicate);
        assert_eq!(server.state()["cta"]["cta-1"]["status"], "closed");
    }

    #[test]
    fn a_tombstone_hides_the_record_until_it_is_undone() {
        let mut c = Clock::new("d");
        let mut r = Replica::default();
        r.apply(&change(1, "d", c.tick(1), 1, "reason", "churn risk".into()));
        r.apply(&change(2, "d", c.tick(2), 1, DELETED, true.into()));
        assert!(r.state().is_empty());
        r.apply(&change(3, "d", c.tick(3), 1, DELETED, false.into()));
        assert_eq!(r.state()["cta"]["cta-1"]["reason"], "churn risk");
    }

    proptest! {
        /// Three devices edit offline; three replicas receive every change in their own
        /// order, some twice; all end in the same state, the one the greatest stamp per
        /// field says.
        #[test]
        fn replicas_converge_whatever_the_order(
            edits in proptest::collection::vec((0usize..3, 0u64..50, 0u8..4, 0usize..3, 0i64..100), 1..60),
            orders in proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..120), 3),
        ) {
            let devices = ["a", "b", "c"];
            let fields = ["status", "priority", DELETED];
            let mut clocks: Vec<Clock> = devices.iter().map(|d| Clock::new(*d)).collect();
            let changes: Vec<Change> = edits
                .iter()
                .enumerate()
                .map(|(n, (d, t, id, f, v))| {
                    let value = if fields[*f] == DELETED { serde_json::Value::Bool(v % 2 == 0) } else { (*v).into() };
                    change(n, devices[*d], clocks[*d].tick(*t), *id, fields[*f], value)
                })
                .collect();
            let mut states = Vec::new();
            for order in &orders {
                let mut replica = Replica::default();
                // Duplicates and reordering first, then everything once so none is missed.
                for i in order {
                    replica.apply(&changes[i.index(changes.len())]);
                }
                for c in changes.iter().rev() {
                    replica.apply(c);
                }
                states.push(replica.state());
            }
            let mut oracle = Replica::default();
            let mut sorted = changes.clone();
            sorted.sort_by(|x, y| x.hlc.cmp(&y.hlc));
            for c in &sorted {
                prop_assert_ne!(oracle.apply(c), Applied::Duplicate);
            }
            for s in &states {
                prop_assert_eq!(s, &oracle.state());
            }
        }
    }
}
