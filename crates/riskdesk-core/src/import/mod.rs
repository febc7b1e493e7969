//! Bringing a team's own data in: accounts from CRM exports, contacts, weekly usage,
//! support tickets and NPS responses, from CSV files.
//!
//! An import reads the whole file first, checking every row and collecting what is wrong
//! with it (line, column, value, reason). Valid rows are matched to what the store holds
//! by external id and compared field by field; only new and changed rows are written, in
//! one transaction, so a re-import of the same file writes nothing and a crash writes
//! nothing either. The caller then re-scores the accounts the import touched.

mod accounts;
mod activity;
mod fields;
mod lookup;
mod row;
pub mod source;
pub mod values;

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

pub use fields::{fields, recognise, suggest, FieldInfo, FieldMapping, ImportKind};
use lookup::Lookup;
use row::Row;
pub use row::RowError;

use crate::store::Tx;
use crate::{Error, Result, Store};

/// How many row errors a report carries; the rejects file has them all.
pub const MAX_REPORTED_ERRORS: usize = 500;
/// The most unknown owners a report lists (a file of ids for a whole org is not a to-do list).
pub const MAX_UNKNOWN_OWNERS: usize = 200;
/// Rows shown in the mapping step.
const SAMPLE_ROWS: usize = 5;

crate::model::text_enum!(
    /// What to do about rows that fail validation.
    ImportMode {
        /// Read and check everything, write nothing: what the wizard shows before import.
        Check => "check",
        /// Write only if every row is valid.
        AllOrNothing => "all_or_nothing",
        /// Write the valid rows; the rest go to a rejects CSV.
        ValidRows => "valid_rows"
    }
);

/// What the wizard shows after a file is picked: its layout, a sample and a suggested
/// column mapping.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Analysis {
    pub kind: ImportKind,
    pub path: String,
    pub file_name: String,
    pub size_bytes: f64,
    /// "Salesforce" or "HubSpot" when the headers give it away.
    pub source: Option<String>,
    /// "comma", "semicolon", "tab" or "pipe".
    pub delimiter: String,
    pub latin1: bool,
    pub headers: Vec<String>,
    /// The first rows, cells in header order.
    pub samples: Vec<Vec<String>>,
    pub fields: Vec<FieldInfo>,
    pub mapping: Vec<FieldMapping>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportRequest {
    pub kind: ImportKind,
    pub path: String,
    pub mapping: Vec<FieldMapping>,
    /// Currency of amounts that name none, e.g. "USD".
    pub default_currency: String,
    pub mode: ImportMode,
    /// Where rejected rows go in `ValidRows` mode; default: beside the file, "-rejects".
    pub rejects_path: Option<String>,
    /// Owner values of the file mapped to people by hand, for this import (a name or
    /// email Riskdesk does not know; CRM ids are better kept on the person).
    #[serde(default)]
    pub owner_map: Vec<OwnerMapping>,
}

impl ImportRequest {
    /// The request the wizard starts from for `path`: the suggested column mapping,
    /// amounts without a currency in US dollars, no owners mapped by hand.
    pub fn suggested(kind: ImportKind, path: &Path, mode: ImportMode) -> Result<ImportRequest> {
        let analysis = analyze(kind, path)?;
        Ok(ImportRequest {
            kind,
            path: path.display().to_string(),
            mapping: analysis.mapping,
            default_currency: "USD".into(),
            mode,
            rejects_path: None,
            owner_map: vec![],
        })
    }
}

/// One owner value of a file, and the person it means.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OwnerMapping {
    pub value: String,
    pub user_id: String,
}

/// What an owner value the store does not know looks like: it decides what a person
/// made from it gets (a CRM id, an email, a name).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum OwnerLooksLike {
    SalesforceId,
    HubspotId,
    Email,
    Name,
}

impl OwnerLooksLike {
    pub fn of(value: &str) -> Self {
        let v = value.trim();
        if v.contains('@') {
            OwnerLooksLike::Email
        } else if v.len() >= 15
            && v.len() <= 18
            && v.starts_with("005")
            && v.chars().all(|c| c.is_ascii_alphanumeric())
        {
            OwnerLooksLike::SalesforceId
        } else if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) {
            OwnerLooksLike::HubspotId
        } else {
            OwnerLooksLike::Name
        }
    }
}

/// An owner the file names that no person in the store matches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UnknownOwner {
    pub value: String,
    pub accounts: u32,
    pub looks_like: OwnerLooksLike,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportReport {
    /// Data rows read (blank lines not counted).
    pub rows: u32,
    pub valid: u32,
    pub rejected: u32,
    /// Of the valid rows: new to the store, changing it, already as the file says.
    pub inserted: u32,
    pub updated: u32,
    pub unchanged: u32,
    /// The first `MAX_REPORTED_ERRORS` problems, in file order.
    pub errors: Vec<RowError>,
    pub error_count: u32,
    pub rejects_path: Option<String>,
    /// True when the store was changed.
    pub committed: bool,
    /// Accounts whose data the import changed: these are re-scored.
    pub touched_accounts: u32,
    pub duration_ms: u32,
    pub warnings: Vec<String>,
    /// Owners no person matches, most accounts first: those accounts come in unassigned.
    pub unknown_owners: Vec<UnknownOwner>,
}

/// Where a long import is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportProgress {
    /// "reading" (done/total in bytes) or "writing" (in rows).
    pub phase: String,
    pub done: f64,
    pub total: f64,
}

#[derive(Debug)]
pub struct ImportOutcome {
    pub report: ImportReport,
    /// Ids of the accounts whose data changed.
    pub touched: Vec<String>,
}

/// Rows that passed validation, per kind, ready to be matched against the store.
enum Drafts {
    Accounts(Vec<accounts::AccountDraft>),
    Contacts(Vec<activity::ContactDraft>),
    Usage(Vec<activity::UsageDraft>),
    Tickets(Vec<activity::TicketDraft>),
    Nps(Vec<activity::NpsDraft>),
}

/// What writing (or, when checking, comparing) produced.
#[derive(Default)]
struct Applied {
    inserted: u32,
    updated: u32,
    unchanged: u32,
    touched: HashSet<String>,
}

impl Applied {
    /// Counts one valid row as new, changed or unchanged against what the store had.
    fn count<T: PartialEq>(&mut self, old: Option<&T>, new: &T, account_id: &str) {
        match old {
            Some(o) if o == new => self.unchanged += 1,
            Some(_) => {
                self.updated += 1;
                self.touched.insert(account_id.to_string());
            }
            None => {
                self.inserted += 1;
                self.touched.insert(account_id.to_string());
            }
        }
    }
}

/// Rows written per statement group, between progress reports.
const WRITE_CHUNK: usize = 10_000;

/// Writes `rows` with `upsert` a chunk at a time, reporting (rows written, total).
/// A macro rather than a function taking an async closure: those are not yet `Send`
/// across the higher-ranked borrow of the transaction.
macro_rules! write_in_chunks {
    ($tx:expr, $rows:expr, $progress:expr, $upsert:path) => {{
        let rows = $rows;
        for (i, chunk) in rows.chunks($crate::import::WRITE_CHUNK).enumerate() {
            $upsert($tx, chunk).await?;
            ($progress)(
                (i * $crate::import::WRITE_CHUNK + chunk.len()).min(rows.len()),
                rows.len(),
            );
        }
    }};
}
use write_in_chunks;

/// Rows whose key is among `keys`: `head` builds the query up to "… IN" and the keys go
/// in as one JSON array per chunk, so the statement stays small however long the file.
async fn fetch_in<T>(
    tx: &mut Tx,
    head: impl Fn(&mut QueryBuilder<'static, Sqlite>),
    keys: impl Iterator<Item = String>,
) -> Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    let keys: Vec<String> = keys.collect();
    let mut out = Vec::new();
    for chunk in keys.chunks(50_000) {
        let mut qb = QueryBuilder::new("");
        head(&mut qb);
        qb.push(" (SELECT value FROM json_each(")
            .push_bind(serde_json::to_string(chunk).unwrap_or_default())
            .push("))");
        out.extend(qb.build_query_as::<T>().fetch_all(&mut **tx).await?);
    }
    Ok(out)
}

/// `fetch_in` for a fixed query head.
fn head(sql: impl Into<String>) -> impl Fn(&mut QueryBuilder<'static, Sqlite>) {
    let sql = sql.into();
    move |qb| {
        qb.push(&sql);
    }
}

fn delimiter_name(d: u8) -> &'static str {
    match d {
        b';' => "semicolon",
        b'\t' => "tab",
        b'|' => "pipe",
        _ => "comma",
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads the header and first rows of `path` and suggests a mapping for `kind`.
pub fn analyze(kind: ImportKind, path: &Path) -> Result<Analysis> {
    let layout = source::layout(path)?;
    let mut samples = Vec::new();
    let mut latin1 = layout.latin1;
    source::records(
        path,
        &layout,
        |r| {
            latin1 |= r.latin1;
            samples.push(r.cells);
            if samples.len() == SAMPLE_ROWS {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
        |_, _| {},
    )?;
    let mut warnings = Vec::new();
    for name in &layout.repeated {
        warnings.push(format!(
            "The header '{name}' appears more than once; the copies are named '{name} (2)' and so on, and the first is used unless you choose otherwise."
        ));
    }
    if latin1 {
        warnings.push("Some text is not UTF-8 and was read as Latin-1 (Windows-1252).".into());
    }
    let mapping = suggest(kind, &layout.headers);
    Ok(Analysis {
        kind,
        path: path.display().to_string(),
        file_name: file_name(path),
        size_bytes: layout.size_bytes as f64,
        source: recognise(&layout.headers).map(str::to_string),
        delimiter: delimiter_name(layout.delimiter).into(),
        latin1,
        headers: layout.headers,
        samples,
        fields: fields(kind),
        mapping,
        warnings,
    })
}

fn default_rejects_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    path.with_file_name(format!("{stem}-rejects.csv"))
}

/// Reads, checks and (unless `req.mode` is `Check`) writes a file. See the module docs.
pub async fn import(
    store: &Store,
    req: &ImportRequest,
    today: NaiveDate,
    mut progress: impl FnMut(ImportProgress),
) -> Result<ImportOutcome> {
    let started = Instant::now();
    let path = PathBuf::from(&req.path);
    let layout = source::layout(&path)?;
    let columns = fields::check_mapping(req.kind, &layout.headers, &req.mapping)?;
    let mut lookup = Lookup::load(store.pool(), req.kind, &req.default_currency).await?;
    lookup.map_owners(store.pool(), &req.owner_map).await?;

    let mut report = ImportReport::default();
    let mut rejects: Vec<(source::Record, String)> = Vec::new();
    let mut drafts = match req.kind {
        ImportKind::Accounts => Drafts::Accounts(Vec::new()),
        ImportKind::Contacts => Drafts::Contacts(Vec::new()),
        ImportKind::Usage => Drafts::Usage(Vec::new()),
        ImportKind::Tickets => Drafts::Tickets(Vec::new()),
        ImportKind::Nps => Drafts::Nps(Vec::new()),
    };
    let mut keys = row::Keys::default();
    let mut unknown_owners = std::collections::BTreeMap::new();
    let mut latin1 = layout.latin1;
    source::records(
        &path,
        &layout,
        |record| {
            report.rows += 1;
            latin1 |= record.latin1;
            let mut row = Row::new(&record, &columns, &layout.headers);
            let ok = match &mut drafts {
                Drafts::Accounts(v) => {
                    let draft = accounts::parse(&mut row, &lookup, &mut keys, &mut unknown_owners);
                    draft.map(|d| v.push(d))
                }
                Drafts::Contacts(v) => {
                    activity::parse_contact(&mut row, &lookup, &mut keys).map(|d| v.push(d))
                }
                Drafts::Usage(v) => {
                    activity::parse_usage(&mut row, &lookup, &mut keys).map(|d| v.push(d))
                }
                Drafts::Tickets(v) => {
                    activity::parse_ticket(&mut row, &lookup, &mut keys).map(|d| v.push(d))
                }
                Drafts::Nps(v) => {
                    activity::parse_nps(&mut row, &lookup, &mut keys).map(|d| v.push(d))
                }
            };
            if ok.is_some() {
                report.valid += 1;
            } else {
                let errors = row.into_errors();
                report.rejected += 1;
                report.error_count += errors.len() as u32;
                let summary = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.column, e.reason))
                    .collect::<Vec<_>>()
                    .join("; ");
                let room = MAX_REPORTED_ERRORS.saturating_sub(report.errors.len());
                report.errors.extend(errors.into_iter().take(room));
                if req.mode == ImportMode::ValidRows {
                    rejects.push((record, summary));
                }
            }
            ControlFlow::Continue(())
        },
        |done, total| {
            progress(ImportProgress {
                phase: "reading".into(),
                done: done as f64,
                total: total as f64,
            })
        },
    )?;

    let read_ms = started.elapsed().as_millis();
    let write = match req.mode {
        ImportMode::Check => false,
        ImportMode::AllOrNothing => report.rejected == 0,
        ImportMode::ValidRows => true,
    };
    // A check reads in a plain transaction and rolls it back; an import holds the write
    // lock from the first read of what the store has to the commit.
    let mut tx = if write {
        store.write().await?
    } else {
        store.pool().begin().await?
    };
    let now = Utc::now();
    let mut writing = |done: usize, total: usize| {
        progress(ImportProgress {
            phase: "writing".into(),
            done: done as f64,
            total: total as f64,
        })
    };
    let applied = match drafts {
        Drafts::Accounts(d) => {
            accounts::apply(&mut tx, write, d, &lookup, today, now, &mut writing).await?
        }
        Drafts::Contacts(d) => {
            activity::apply_contacts(&mut tx, write, d, &lookup, now, &mut writing).await?
        }
        Drafts::Usage(d) => activity::apply_usage(&mut tx, write, d, &lookup, &mut writing).await?,
        Drafts::Tickets(d) => {
            activity::apply_tickets(&mut tx, write, d, &lookup, &mut writing).await?
        }
        Drafts::Nps(d) => activity::apply_nps(&mut tx, write, d, &lookup, &mut writing).await?,
    };
    let apply_ms = started.elapsed().as_millis();
    report.inserted = applied.inserted;
    report.updated = applied.updated;
    report.unchanged = applied.unchanged;
    report.touched_accounts = applied.touched.len() as u32;
    if write {
        log_import(&mut tx, req, &path, &report, now).await?;
        // Owed with the data: a crash after the commit still re-scores these accounts.
        let touched: Vec<String> = applied.touched.iter().cloned().collect();
        crate::refresh::mark(&mut tx, &crate::refresh::Scope::Accounts(touched), today).await?;
        // The rejects file is written before the commit: if it cannot be, nothing is
        // imported and the user is told why, instead of losing the rejected rows.
        if !rejects.is_empty() {
            let out = req
                .rejects_path
                .as_deref()
                .filter(|p| !p.trim().is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| default_rejects_path(&path));
            write_rejects(&out, &layout.headers, &rejects)?;
            report.rejects_path = Some(out.display().to_string());
        }
        tx.commit().await?;
        report.committed = true;
        crate::crashpoint("import.committed");
        tracing::info!(
            rows = report.rows,
            read_ms,
            apply_ms = apply_ms - read_ms,
            commit_ms = started.elapsed().as_millis() - apply_ms,
            "import {}",
            req.kind
        );
    }
    if let Some(w) = unknown_owners_warning(&unknown_owners) {
        report.warnings.push(w);
    }
    let mut owners: Vec<UnknownOwner> = unknown_owners
        .into_iter()
        .map(|(value, accounts)| UnknownOwner {
            looks_like: OwnerLooksLike::of(&value),
            value,
            accounts,
        })
        .collect();
    owners.sort_by(|a, b| b.accounts.cmp(&a.accounts).then(a.value.cmp(&b.value)));
    owners.truncate(MAX_UNKNOWN_OWNERS);
    report.unknown_owners = owners;
    if latin1 {
        report
            .warnings
            .push("Some text was read as Latin-1 (Windows-1252).".into());
    }
    report.duration_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
    let mut touched: Vec<String> = applied.touched.into_iter().collect();
    touched.sort();
    Ok(ImportOutcome { report, touched })
}

/// "12 accounts name 3 owners Riskdesk does not know: 0055g0000000002AAA (5), …": those
/// accounts come in unassigned, to be assigned once the people are there.
fn unknown_owners_warning(owners: &std::collections::BTreeMap<String, u32>) -> Option<String> {
    if owners.is_empty() {
        return None;
    }
    let accounts: u32 = owners.values().sum();
    let mut by_count: Vec<(&String, &u32)> = owners.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = by_count
        .iter()
        .take(10)
        .map(|(name, n)| format!("{name} ({n})"))
        .collect();
    let more = if owners.len() > 10 {
        format!(" and {} more", owners.len() - 10)
    } else {
        String::new()
    };
    Some(format!(
        "{accounts} account{} name{} {} owner{} Riskdesk does not know: {}{more}. They come in unassigned (a manager can assign them); add these people and import again to assign them.",
        if accounts == 1 { "" } else { "s" },
        if accounts == 1 { "s" } else { "" },
        owners.len(),
        if owners.len() == 1 { "" } else { "s" },
        shown.join(", ")
    ))
}

/// Re-scores the touched accounts and runs the rules over them, as any data change does
/// (the import recorded them as owed; this pays the debt).
pub async fn rescore(
    store: &Store,
    touched: Vec<String>,
    today: NaiveDate,
    progress: impl FnMut(usize, usize),
) -> Result<crate::refresh::RefreshSummary> {
    crate::refresh::run(
        store,
        crate::refresh::Scope::Accounts(touched),
        today,
        crate::rules::run::DATA_CHANGE,
        progress,
    )
    .await
}

fn write_rejects(
    path: &Path,
    headers: &[String],
    rejects: &[(source::Record, String)],
) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        source: e,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(file);
    let csv_err = |e: csv::Error| {
        Error::invalid(
            path.display().to_string(),
            format!("cannot be written: {e}"),
        )
    };
    // Cells are written as they came in, except that none may run as a formula when the
    // file is opened in a spreadsheet (the import takes the guard off again).
    let safe = crate::csv_safe::cell;
    let mut header: Vec<std::borrow::Cow<str>> = vec!["Line".into()];
    header.extend(headers.iter().map(|h| safe(h)));
    header.push("Errors".into());
    w.write_record(header.iter().map(|c| c.as_ref()))
        .map_err(csv_err)?;
    for (record, reasons) in rejects {
        let line = record.line.to_string();
        let mut cells: Vec<std::borrow::Cow<str>> = vec![line.into()];
        cells.extend(record.cells.iter().map(|c| safe(c)));
        // Short rows are padded so "Errors" stays in its column.
        cells.resize(headers.len() + 1, "".into());
        cells.push(safe(reasons));
        w.write_record(cells.iter().map(|c| c.as_ref()))
            .map_err(csv_err)?;
    }
    w.flush().map_err(io)
}

async fn log_import(
    tx: &mut crate::store::Tx,
    req: &ImportRequest,
    path: &Path,
    r: &ImportReport,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO imports (id, kind, file_name, imported_at, rows_read, inserted, updated, unchanged, rejected) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(crate::new_id())
    .bind(req.kind)
    .bind(file_name(path))
    .bind(now)
    .bind(r.rows)
    .bind(r.inserted)
    .bind(r.updated)
    .bind(r.unchanged)
    .bind(r.rejected)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One past import, for the wizard's history.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportLogEntry {
    pub id: String,
    pub kind: ImportKind,
    pub file_name: String,
    pub imported_at: chrono::DateTime<Utc>,
    pub rows_read: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
}

pub async fn history(pool: &SqlitePool, limit: u32) -> Result<Vec<ImportLogEntry>> {
    Ok(sqlx::query_as(
        "SELECT id, kind, file_name, imported_at, rows_read, inserted, updated, unchanged, rejected \
         FROM imports ORDER BY imported_at DESC LIMIT ?",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests;
