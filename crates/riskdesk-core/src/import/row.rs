//! One data row being read: cells by field, and every problem found with it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::source::Record;

/// A problem with one cell (or a whole row, when `column` is empty).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RowError {
    /// Line of the file the row starts on (the header is line 1).
    pub line: u32,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// The longest cell a field takes, in characters: names and short values a few hundred,
/// free text tens of thousands.
pub fn max_chars(field: &str) -> usize {
    match field {
        "comment" | "subject" => 20_000,
        "email" => 320,
        "name" | "first_name" | "last_name" | "title" | "owner" | "account" | "industry"
        | "region" | "category" | "role" => 200,
        _ => 100,
    }
}

use crate::money::thousands;

pub struct Row<'a> {
    record: &'a Record,
    columns: &'a [(String, usize)],
    headers: &'a [String],
    errors: Vec<RowError>,
}

impl<'a> Row<'a> {
    pub fn new(record: &'a Record, columns: &'a [(String, usize)], headers: &'a [String]) -> Self {
        let mut row = Row {
            record,
            columns,
            headers,
            errors: Vec::new(),
        };
        // Every cell is held to its field's length before anything reads it: a 1 MB name
        // is a named reject, not a 1 MB account.
        for (field, i) in columns {
            let Some(cell) = record.cells.get(*i) else {
                continue;
            };
            let max = max_chars(field);
            let n = cell.chars().count();
            if n > max {
                let shown: String = cell.chars().take(40).collect();
                row.errors.push(RowError {
                    line: row.line(),
                    column: headers.get(*i).cloned().unwrap_or_else(|| field.clone()),
                    value: format!("{shown}…"),
                    reason: format!("{} characters, at most {}", thousands(n), thousands(max)),
                });
            }
        }
        if let Some(extra) = record.cells.get(headers.len()..) {
            if let Some(v) = extra.iter().find(|c| !c.is_empty()) {
                row.errors.push(RowError {
                    line: row.line(),
                    column: String::new(),
                    value: v.clone(),
                    reason: format!(
                        "the row has {} cells but the header names {} columns",
                        record.cells.len(),
                        headers.len()
                    ),
                });
            }
        }
        row
    }

    pub fn line(&self) -> u32 {
        u32::try_from(self.record.line).unwrap_or(u32::MAX)
    }

    fn index(&self, field: &str) -> Option<usize> {
        self.columns
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, i)| *i)
    }

    pub fn mapped(&self, field: &str) -> bool {
        self.index(field).is_some()
    }

    /// The cell of `field`, or None when the field is not mapped or the cell is empty.
    pub fn text(&self, field: &str) -> Option<&'a str> {
        let i = self.index(field)?;
        self.record
            .cells
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Records a problem with `field`'s cell.
    pub fn fail(&mut self, field: &str, reason: impl Into<String>) {
        let (column, value) = match self.index(field) {
            Some(i) => (
                self.headers.get(i).cloned().unwrap_or_default(),
                self.record.cells.get(i).cloned().unwrap_or_default(),
            ),
            None => (field.to_string(), String::new()),
        };
        self.errors.push(RowError {
            line: self.line(),
            column,
            value,
            reason: reason.into(),
        });
    }

    /// The cell of a field every row must fill.
    pub fn required(&mut self, field: &str) -> Option<&'a str> {
        let v = self.text(field);
        if v.is_none() {
            self.fail(field, "is required but empty");
        }
        v
    }

    /// The parsed cell of `field`, if present; a parse failure is recorded.
    pub fn parse<T>(
        &mut self,
        field: &str,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let v = self.text(field)?;
        match f(v) {
            Ok(t) => Some(t),
            Err(reason) => {
                self.fail(field, reason);
                None
            }
        }
    }

    /// Like `parse` for a field every row must fill.
    pub fn parse_required<T>(
        &mut self,
        field: &str,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.required(field)?;
        self.parse(field, f)
    }

    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn into_errors(self) -> Vec<RowError> {
        self.errors
    }
}

/// What identifies a row's record: text for external ids, a number where the key is
/// compact (account and week), so a million usage rows cost a million integers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Text(String),
    Number(u64),
}

/// Keys seen so far in the file: a second row for the same thing is refused, since which
/// of the two should win is not the import's to guess.
#[derive(Default)]
pub struct Keys {
    seen: HashMap<Key, u32>,
}

impl Keys {
    /// Claims `key` for this row; on a repeat, records the error against `field`.
    pub fn claim(&mut self, row: &mut Row<'_>, field: &str, key: Key, what: &str) -> bool {
        match self.seen.get(&key) {
            Some(first) => {
                let first = *first;
                row.fail(field, format!("repeats {what} from line {first}"));
                false
            }
            None => {
                self.seen.insert(key, row.line());
                true
            }
        }
    }
}
