//! `record_winners`: last writer wins per field, kept one row per record. Each row names
//! the record changes whose stamps won and which field each won; a record created in one
//! go is one stamp and a list of its fields. The table's SQL lives here.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use super::records::{self, Stored};
use crate::db::Db;
use crate::error::{Error, Result};

/// The winning stamp and record change of each field of one record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Winners {
    /// The winning stamps (encoded HLC) and the record changes that carried them.
    s: Vec<(String, i64)>,
    /// Each field's index into `s`.
    f: BTreeMap<String, usize>,
}

impl Winners {
    /// The stamp and record change that set `field` last.
    pub fn get(&self, field: &str) -> Option<&(String, i64)> {
        self.f.get(field).and_then(|i| self.s.get(*i))
    }

    /// Offers `field` as set at `hlc` by record change `seq`: it wins if no stamp of the
    /// field is later. Returns the winner it lost to otherwise.
    pub fn offer(&mut self, field: &str, hlc: &str, seq: i64) -> Option<(String, i64)> {
        if let Some((won, by)) = self.get(field) {
            if won.as_str() >= hlc {
                return Some((won.clone(), *by));
            }
        }
        let i = match self.s.iter().position(|(_, s)| *s == seq) {
            Some(i) => i,
            None => {
                self.s.push((hlc.to_string(), seq));
                self.s.len() - 1
            }
        };
        self.f.insert(field.to_string(), i);
        None
    }

    /// The stamps no field names any more are dropped.
    fn compact(mut self) -> Winners {
        let mut kept: Vec<(String, i64)> = Vec::new();
        let mut moved: HashMap<usize, usize> = HashMap::new();
        for i in self.f.values_mut() {
            let to = *moved.entry(*i).or_insert_with(|| {
                kept.push(self.s[*i].clone());
                kept.len() - 1
            });
            *i = to;
        }
        self.s = kept;
        self
    }

    /// Each record change that wins fields, with the fields it wins.
    fn by_seq(&self) -> BTreeMap<i64, Vec<String>> {
        let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (field, i) in &self.f {
            if let Some((_, seq)) = self.s.get(*i) {
                out.entry(*seq).or_default().push(field.clone());
            }
        }
        out
    }
}

fn read(entity: &str, id: &str, text: &str) -> Result<Winners> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("the winners of {entity} {id} are unreadable: {e}")))
}

/// The winners of each of these records that has any.
pub(super) async fn load(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    keys: &[(&str, &str)],
) -> Result<HashMap<(String, String), Winners>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let list = serde_json::to_string(keys).map_err(|e| Error::Internal(e.to_string()))?;
    let rows: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT w.entity, w.entity_id, w.winners FROM (SELECT value FROM {}) AS k \
         JOIN record_winners w ON w.entity = k.value->>0 AND w.entity_id = k.value->>1",
        db.json_rows("$1")
    ))
    .bind(list)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|(e, id, text)| {
            let w = read(&e, &id, &text)?;
            Ok(((e, id), w))
        })
        .collect()
}

/// Writes these records' winners.
pub(super) async fn save(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    changed: Vec<((&str, &str), Winners)>,
) -> Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let rows = changed
        .into_iter()
        .map(|((e, id), w)| {
            let text =
                serde_json::to_string(&w.compact()).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(serde_json::json!([e, id, text]))
        })
        .collect::<Result<Vec<_>>>()?;
    sqlx::query(&format!(
        "INSERT INTO record_winners (entity, entity_id, winners) SELECT value->>0, value->>1, value->>2 FROM {} WHERE true \
         ON CONFLICT(entity, entity_id) DO UPDATE SET winners = excluded.winners",
        db.json_rows("$1")
    ))
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The record change that holds the winning value of one field, if any.
pub(super) async fn winner_of(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    entity: &str,
    entity_id: &str,
    field: &str,
) -> Result<Option<Stored>> {
    let winners = load(db, tx, &[(entity, entity_id)]).await?;
    let Some(seq) = winners
        .values()
        .next()
        .and_then(|w| w.get(field))
        .map(|(_, seq)| *seq)
    else {
        return Ok(None);
    };
    Ok(records::by_seq(db, tx, &[seq]).await?.remove(&seq))
}

/// The record change holding the winning value of `field` of every record of `entity`
/// that has one, by record id. Meant for the directory (people, teams): a few thousand
/// rows at most.
pub(super) async fn field_of_all(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    entity: &str,
    field: &str,
) -> Result<Vec<(String, Stored)>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT entity_id, winners FROM record_winners WHERE entity = $1")
            .bind(entity.to_string())
            .fetch_all(&mut **tx)
            .await?;
    let mut seqs: Vec<(String, i64)> = Vec::with_capacity(rows.len());
    for (id, text) in rows {
        if let Some((_, seq)) = read(entity, &id, &text)?.get(field) {
            seqs.push((id, *seq));
        }
    }
    let list: Vec<i64> = seqs.iter().map(|(_, seq)| *seq).collect();
    let mut stored = records::by_seq(db, tx, &list).await?;
    Ok(seqs
        .into_iter()
        .filter_map(|(id, seq)| stored.remove(&seq).map(|s| (id, s)))
        .collect())
}

/// The record changes holding the winning fields of every record of `account`, each with
/// the fields it wins, oldest first.
pub(super) async fn of_account(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    account: &str,
) -> Result<Vec<(Stored, Vec<String>)>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT w.entity, w.entity_id, w.winners FROM record_winners w \
         JOIN record_scope s ON s.entity = w.entity AND s.entity_id = w.entity_id \
         WHERE s.account_id = $1",
    )
    .bind(account.to_string())
    .fetch_all(&mut **tx)
    .await?;
    let mut won: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (e, id, text) in rows {
        for (seq, fields) in read(&e, &id, &text)?.by_seq() {
            won.entry(seq).or_default().extend(fields);
        }
    }
    let seqs: Vec<i64> = won.keys().copied().collect();
    let mut stored = records::by_seq(db, tx, &seqs).await?;
    Ok(won
        .into_iter()
        .filter_map(|(seq, fields)| stored.remove(&seq).map(|s| (s, fields)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_later_stamp_wins_each_field_and_unused_stamps_go() {
        let mut w = Winners::default();
        assert_eq!(w.offer("name", "0002", 1), None);
        assert_eq!(w.offer("arr", "0002", 1), None);
        // An earlier stamp loses, and says to what.
        assert_eq!(w.offer("name", "0001", 2), Some(("0002".into(), 1)));
        // A later one takes one field; the other stays with the first change.
        assert_eq!(w.offer("name", "0003", 3), None);
        assert_eq!(w.get("name"), Some(&("0003".into(), 3)));
        assert_eq!(w.get("arr"), Some(&("0002".into(), 1)));
        assert_eq!(w.offer("arr", "0004", 4), None);
        let kept = w.compact();
        assert_eq!(kept.s.len(), 2, "change 1 wins nothing any more: {kept:?}");
        assert_eq!(kept.get("name"), Some(&("0003".into(), 3)));
        assert_eq!(kept.get("arr"), Some(&("0004".into(), 4)));
        assert_eq!(
            kept.by_seq().into_iter().collect::<Vec<_>>(),
            [(3, vec!["name".to_string()]), (4, vec!["arr".to_string()])]
        );
    }
}
