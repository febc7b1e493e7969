//! Accounts: the one write path, the paged table query and the account page.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::{activity, insert_batched, people, Tx, MAX_VARIABLES};
use crate::model::{Account, Contact, NpsResponse, Segment, Stage, Ticket, UsageWeek, User};
use crate::money::FxRates;
use crate::{Error, Result};

/// Largest integer a JavaScript number holds exactly; money crosses IPC as a number.
pub const MAX_SAFE_MINOR: i64 = 9_007_199_254_740_991;

/// A currency the store knows, with its rate into the base currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Currency {
    pub currency: String,
    pub rate_ppm: i64,
    /// Digits after the decimal point: 2 for cents, 0 for yen.
    pub minor_digits: i32,
}

pub async fn currencies(pool: &SqlitePool) -> Result<Vec<Currency>> {
    Ok(
        sqlx::query_as("SELECT currency, rate_ppm, minor_digits FROM fx_rates ORDER BY currency")
            .fetch_all(pool)
            .await?,
    )
}

pub async fn fx_rates(tx: &mut Tx) -> Result<FxRates> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT currency, rate_ppm FROM fx_rates")
        .fetch_all(&mut **tx)
        .await?;
    Ok(FxRates::new(rows.into_iter().collect::<HashMap<_, _>>()))
}

fn validate(a: &Account) -> Result<()> {
    let field = |f: &str| format!("account {} ({}).{f}", a.name, a.id);
    if a.name.trim().is_empty() {
        return Err(Error::invalid(field("name"), "must not be empty"));
    }
    if !(0..=MAX_SAFE_MINOR).contains(&a.arr_minor) {
        return Err(Error::invalid(
            field("arr"),
            format!("{} is out of range", a.arr_minor),
        ));
    }
    if a.currency.len() != 3 || !a.currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(Error::invalid(
            field("currency"),
            format!("'{}' is not a three-letter ISO code", a.currency),
        ));
    }
    if uuid::Uuid::parse_str(&a.id).is_err() {
        return Err(Error::invalid(field("id"), "is not a UUID"));
    }
    Ok(())
}

/// Creates or updates accounts, keyed by id. ARR is converted to the base currency here,
/// once, so every sort and total compares like with like.
pub async fn upsert_accounts(tx: &mut Tx, accounts: &[Account]) -> Result<()> {
    let fx = fx_rates(tx).await?;
    let mut base = Vec::with_capacity(accounts.len());
    for a in accounts {
        validate(a)?;
        base.push(fx.to_base(a.arr_minor, &a.currency)?);
    }
    let rows: Vec<(&Account, i64)> = accounts.iter().zip(base).collect();
    insert_batched(
        tx,
        "INSERT INTO accounts (id, name, arr_minor, currency, arr_base_minor, segment, stage, \
         contract_start, renewal_date, owner_id, strategic, expansion_potential, industry, region, \
         crm_id, created_at, updated_at, stage_since) ",
        18,
        " ON CONFLICT(id) DO UPDATE SET name = excluded.name, arr_minor = excluded.arr_minor, \
         currency = excluded.currency, arr_base_minor = excluded.arr_base_minor, \
         segment = excluded.segment, stage = excluded.stage, contract_start = excluded.contract_start, \
         renewal_date = excluded.renewal_date, owner_id = excluded.owner_id, strategic = excluded.strategic, \
         expansion_potential = excluded.expansion_potential, industry = excluded.industry, \
         region = excluded.region, crm_id = excluded.crm_id, updated_at = excluded.updated_at, \
         stage_since = CASE WHEN accounts.stage IS excluded.stage THEN accounts.stage_since ELSE substr(excluded.updated_at, 1, 10) END",
        &rows,
        |b, (a, arr_base)| {
            b.push_bind(a.id.clone())
                .push_bind(a.name.clone())
                .push_bind(a.arr_minor)
                .push_bind(a.currency.clone())
                .push_bind(*arr_base)
                .push_bind(a.segment)
                .push_bind(a.stage)
                .push_bind(a.contract_start)
                .push_bind(a.renewal_date)
                .push_bind(a.owner_id.clone())
                .push_bind(a.strategic)
                .push_bind(a.expansion_potential)
                .push_bind(a.industry.clone())
                .push_bind(a.region.clone())
                .push_bind(a.crm_id.clone())
                .push_bind(a.created_at)
                .push_bind(a.updated_at)
                // A new account's stage came from a file or a generator: the day it was
                // reached is not known. A stage a later file changes was reached that day.
                .push_bind(None::<chrono::NaiveDate>);
        },
    )
    .await
}

/// A bulk load of accounts in progress: what was set aside to be rebuilt at the end.
pub struct BulkLoad {
    max_rowid: i64,
    search_trigger: Option<String>,
    indexes: Vec<String>,
}

/// Prepares `accounts` for a load that will at least double it: its secondary indexes
/// and the search trigger are dropped, inside the caller's transaction, and
/// `finish_bulk_load` rebuilds them in one pass each, which costs a fraction of updating
/// them row by row. A rollback (or a crash) restores them with everything else.
pub async fn begin_bulk_load(tx: &mut Tx) -> Result<BulkLoad> {
    let max_rowid: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM accounts")
        .fetch_one(&mut **tx)
        .await?;
    let search_trigger: Option<String> = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'accounts_search_insert'",
    )
    .fetch_optional(&mut **tx)
    .await?;
    sqlx::query("DROP TRIGGER IF EXISTS accounts_search_insert")
        .execute(&mut **tx)
        .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'accounts' AND sql IS NOT NULL",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (name, _) in &indexes {
        // The name comes from the schema itself, never from user data.
        sqlx::query(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
            .execute(&mut **tx)
            .await?;
    }
    Ok(BulkLoad {
        max_rowid,
        search_trigger,
        indexes: indexes.into_iter().map(|(_, sql)| sql).collect(),
    })
}

/// Rebuilds what `begin_bulk_load` set aside and indexes the new rows for search.
pub async fn finish_bulk_load(tx: &mut Tx, load: BulkLoad) -> Result<()> {
    for sql in &load.indexes {
        sqlx::query(sql).execute(&mut **tx).await?;
    }
    sqlx::query(
        "INSERT INTO accounts_search (rowid, name, crm_id) SELECT rowid, name, crm_id FROM accounts WHERE rowid > ?",
    )
    .bind(load.max_rowid)
    .execute(&mut **tx)
    .await?;
    if let Some(sql) = &load.search_trigger {
        sqlx::query(sql).execute(&mut **tx).await?;
    }
    Ok(())
}

const ACCOUNT_COLUMNS: &str = "id, name, arr_minor, currency, segment, stage, contract_start, \
    renewal_date, owner_id, strategic, expansion_potential, industry, region, crm_id, created_at, updated_at";

/// Each moved account's lifecycle stage (and the day it was reached, when it moved) and
/// the day it adopted, if it has: (account id, stage, adoption day).
pub(crate) async fn set_stages(
    tx: &mut Tx,
    moves: &[(&str, Stage, Option<NaiveDate>)],
    today: NaiveDate,
) -> Result<()> {
    if moves.is_empty() {
        return Ok(());
    }
    // One prepared statement on the transaction's connection: a next day moves ~300
    // stages, and a statement each through sqlx took 55-110 ms of the writer's time.
    crate::store::write_raw(tx, "stages", |conn| {
        let mut update = conn.prepare(
            "UPDATE accounts SET stage = ?1, \
             stage_since = CASE WHEN stage IS ?1 THEN stage_since ELSE ?2 END, adopted_on = ?3 WHERE id = ?4",
        )?;
        for (account_id, to, adopted_on) in moves {
            update.execute(rusqlite::params![to.as_str(), today, adopted_on, account_id])?;
        }
        Ok(())
    })
    .await
}

pub async fn get_account(pool: &SqlitePool, id: &str) -> Result<Account> {
    sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::NotFound {
        entity: "account",
        id: id.to_string(),
    })
}

pub async fn count_accounts(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(pool)
        .await?)
}

crate::model::text_enum!(
    /// Columns the Accounts table sorts by.
    #[derive(Default)]
    AccountSort { #[default] Name => "name", Arr => "arr", Segment => "segment", Stage => "stage", Renewal => "renewal", Owner => "owner", Health => "health", Severity => "severity" }
);

impl AccountSort {
    fn order_by(self) -> &'static str {
        match self {
            AccountSort::Name => "a.name COLLATE NOCASE",
            AccountSort::Arr => "a.arr_base_minor",
            AccountSort::Segment => "a.segment",
            AccountSort::Stage => "a.stage",
            AccountSort::Renewal => "a.renewal_date",
            AccountSort::Owner => "u.name COLLATE NOCASE",
            AccountSort::Health => "h.score",
            AccountSort::Severity => "h.severity_score",
        }
    }
}

/// One page of the Accounts table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccountQuery {
    /// Matches name or CRM id, case-insensitively, anywhere in the text.
    pub search: Option<String>,
    pub owner_id: Option<String>,
    pub segment: Option<Segment>,
    pub stage: Option<Stage>,
    pub sort: AccountSort,
    pub descending: bool,
    pub offset: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub arr_minor: i64,
    pub currency: String,
    pub segment: Segment,
    pub stage: Stage,
    pub renewal_date: NaiveDate,
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
    pub strategic: bool,
    /// Latest health score and band; None until the account is scored.
    pub health: Option<f64>,
    pub band: Option<String>,
    pub band_color: Option<String>,
    /// Change of the health score over 30 days.
    pub trend_30: Option<f64>,
    pub severity_score: Option<f64>,
    pub severity_level: Option<crate::model::Level>,
    /// Of its scorecard's measures, how many have data (None until scored).
    pub measures_with_data: Option<i32>,
    pub measures_total: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccountPage {
    /// How many accounts match the filters, over all pages.
    pub total: u32,
    pub offset: u32,
    pub rows: Vec<AccountRow>,
}

pub const MAX_PAGE: u32 = 1_000;

/// The `owner_id` filter value for accounts nobody owns (an import's unknown owners).
pub const UNASSIGNED: &str = "unassigned";

/// Gives every account matching `q` (all pages) to `owner_id` in `tx`; returns their ids.
pub(crate) async fn set_owner_where(
    tx: &mut Tx,
    q: &AccountQuery,
    owner_id: &str,
) -> Result<Vec<String>> {
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT a.id FROM accounts a");
    push_filters(&mut qb, q);
    let ids: Vec<String> = qb.build_query_scalar().fetch_all(&mut **tx).await?;
    for chunk in ids.chunks(MAX_VARIABLES / 2) {
        let mut up: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE accounts SET owner_id = ");
        up.push_bind(owner_id)
            .push(", updated_at = ")
            .push_bind(chrono::Utc::now())
            .push(" WHERE id");
        super::in_list(&mut up, chunk);
        up.build().execute(&mut **tx).await?;
    }
    Ok(ids)
}

fn push_filters<'a>(qb: &mut QueryBuilder<'a, Sqlite>, q: &'a AccountQuery) {
    qb.push(" WHERE 1 = 1");
    if let Some(search) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if search.chars().count() >= 3 {
            // The trigram index matches a quoted phrase as a case-insensitive substring.
            let phrase = format!("\"{}\"", search.replace('"', "\"\""));
            qb.push(
                " AND a.rowid IN (SELECT rowid FROM accounts_search WHERE accounts_search MATCH ",
            )
            .push_bind(phrase)
            .push(")");
        } else {
            // Too short for trigrams: scan, with LIKE wildcards taken literally.
            let pattern = format!("%{}%", escape_like(search));
            qb.push(" AND (a.name LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR a.crm_id LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
        }
    }
    match q.owner_id.as_deref() {
        Some(UNASSIGNED) => {
            qb.push(" AND a.owner_id IS NULL");
        }
        Some(owner) => {
            qb.push(" AND a.owner_id = ").push_bind(owner);
        }
        None => {}
    }
    if let Some(segment) = q.segment {
        qb.push(" AND a.segment = ").push_bind(segment);
    }
    if let Some(stage) = q.stage {
        qb.push(" AND a.stage = ").push_bind(stage);
    }
}

pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn is_unfiltered(q: &AccountQuery) -> bool {
    q.search.as_deref().is_none_or(|s| s.trim().is_empty())
        && q.owner_id.is_none()
        && q.segment.is_none()
        && q.stage.is_none()
}

/// Row ids of one page, in order. Paging over row ids keeps deep offsets on the
/// (covering) sort index instead of materialising every skipped row.
async fn page_rowids(pool: &SqlitePool, q: &AccountQuery) -> Result<Vec<i64>> {
    let dir = if q.descending { "DESC" } else { "ASC" };
    let walk = match q.sort {
        AccountSort::Owner => Some(&OWNER_WALK),
        AccountSort::Health => Some(&HEALTH_WALK),
        AccountSort::Severity => Some(&SEVERITY_WALK),
        _ => None,
    };
    if let (Some(walk), true) = (walk, is_unfiltered(q)) {
        return walk_rowids(pool, q, walk).await;
    }
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT a.rowid FROM accounts a");
    match q.sort {
        AccountSort::Owner => {
            qb.push(" LEFT JOIN users u ON u.id = a.owner_id");
        }
        AccountSort::Health | AccountSort::Severity => {
            qb.push(" LEFT JOIN account_health h ON h.account = a.rowid");
        }
        _ => {}
    }
    push_filters(&mut qb, q);
    qb.push(format!(
        " ORDER BY {} {dir}, a.rowid {dir} LIMIT ",
        q.sort.order_by()
    ))
    .push_bind(q.limit as i64)
    .push(" OFFSET ")
    .push_bind(q.offset as i64);
    Ok(qb.build_query_scalar().fetch_all(pool).await?)
}

/// How to walk the whole book in one sort order through an index on a joined table,
/// which needs no sort: the accounts that have the sort key, in index order, and the
/// ones that lack it (NULL: first ascending, as SQLite sorts NULLs, last descending).
struct IndexWalk {
    /// Counts the accounts with the key (cheaply, on an index).
    count_present: &'static str,
    /// Selects rowids of accounts with the key; `{dir}` is the direction.
    with_key: &'static str,
    /// Selects rowids of accounts without the key, by rowid.
    missing: &'static str,
}

const OWNER_WALK: IndexWalk = IndexWalk {
    count_present: "SELECT COUNT(*) FROM accounts WHERE owner_id IS NOT NULL",
    with_key: "SELECT a.rowid FROM users u CROSS JOIN accounts a ON a.owner_id = u.id \
               ORDER BY u.name COLLATE NOCASE {dir}, u.id {dir}, a.rowid {dir}",
    missing: "SELECT rowid FROM accounts WHERE owner_id IS NULL ORDER BY rowid {dir}",
};

const HEALTH_WALK: IndexWalk = IndexWalk {
    count_present: "SELECT COUNT(*) FROM account_health WHERE score IS NOT NULL",
    with_key: "SELECT account FROM account_health WHERE score IS NOT NULL ORDER BY score {dir}, account {dir}",
    missing: "SELECT a.rowid FROM accounts a LEFT JOIN account_health h ON h.account = a.rowid \
              WHERE h.score IS NULL ORDER BY a.rowid {dir}",
};

const SEVERITY_WALK: IndexWalk = IndexWalk {
    count_present: "SELECT COUNT(*) FROM account_health",
    with_key: "SELECT account FROM account_health ORDER BY severity_score {dir}, account {dir}",
    missing: "SELECT a.rowid FROM accounts a LEFT JOIN account_health h ON h.account = a.rowid \
              WHERE h.account IS NULL ORDER BY a.rowid {dir}",
};

async fn walk_rowids(pool: &SqlitePool, q: &AccountQuery, walk: &IndexWalk) -> Result<Vec<i64>> {
    let dir = if q.descending { "DESC" } else { "ASC" };
    let present: i64 = sqlx::query_scalar(walk.count_present)
        .fetch_one(pool)
        .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(pool)
        .await?;
    let missing = total - present;
    let (offset, limit) = (q.offset as i64, q.limit as i64);
    let missing_start = if q.descending { present } else { 0 };
    let present_start = if q.descending { 0 } else { missing };
    let slice = |start: i64, len: i64| -> Option<(i64, i64)> {
        let from = offset.max(start);
        let to = (offset + limit).min(start + len);
        (from < to).then_some((from - start, to - from))
    };
    let mut parts: Vec<(i64, Vec<i64>)> = Vec::new();
    for (start, len, sql) in [
        (present_start, present, walk.with_key),
        (missing_start, missing, walk.missing),
    ] {
        if let Some((off, n)) = slice(start, len) {
            let rows =
                sqlx::query_scalar(&format!("{} LIMIT ? OFFSET ?", sql.replace("{dir}", dir)))
                    .bind(n)
                    .bind(off)
                    .fetch_all(pool)
                    .await?;
            parts.push((start, rows));
        }
    }
    parts.sort_by_key(|(start, _)| *start);
    Ok(parts.into_iter().flat_map(|(_, rows)| rows).collect())
}

/// One sorted, filtered page of accounts and the total that match.
pub async fn query_accounts(pool: &SqlitePool, q: &AccountQuery) -> Result<AccountPage> {
    if q.limit == 0 || q.limit > MAX_PAGE {
        return Err(Error::invalid(
            "limit",
            format!("must be 1 to {MAX_PAGE}, got {}", q.limit),
        ));
    }
    let mut count: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT COUNT(*) FROM accounts a");
    push_filters(&mut count, q);
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;

    let rowids = page_rowids(pool, q).await?;
    let rows = if rowids.is_empty() {
        Vec::new()
    } else {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT a.rowid AS rid, a.id, a.name, a.arr_minor, a.currency, a.segment, a.stage, a.renewal_date, \
             a.owner_id, u.name AS owner_name, a.strategic, h.score AS health, h.band, h.band_color, s.trend_30, \
             h.severity_score, h.severity_level, h.measures_with_data, h.measures_total \
             FROM accounts a LEFT JOIN users u ON u.id = a.owner_id \
             LEFT JOIN account_health h ON h.account = a.rowid LEFT JOIN health_state s ON s.account = a.rowid WHERE a.rowid IN (",
        );
        let mut list = qb.separated(", ");
        for id in &rowids {
            list.push_bind(*id);
        }
        qb.push(")");
        let fetched: Vec<RowWithRowid> = qb.build_query_as().fetch_all(pool).await?;
        let mut by_rowid: HashMap<i64, AccountRow> =
            fetched.into_iter().map(|r| (r.rid, r.row)).collect();
        rowids.iter().filter_map(|id| by_rowid.remove(id)).collect()
    };
    Ok(AccountPage {
        total: u32::try_from(total).unwrap_or(u32::MAX),
        offset: q.offset,
        rows,
    })
}

#[derive(sqlx::FromRow)]
struct RowWithRowid {
    rid: i64,
    #[sqlx(flatten)]
    row: AccountRow,
}

/// Everything the account page shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccountDetail {
    pub account: Account,
    pub owner: Option<User>,
    pub contacts: Vec<Contact>,
    /// Oldest week first.
    pub usage: Vec<UsageWeek>,
    /// Newest first.
    pub tickets: Vec<Ticket>,
    /// Newest first.
    pub nps: Vec<NpsResponse>,
    /// The day the account reached its stage, and the day it was adopted, when known.
    pub stage_since: Option<NaiveDate>,
    pub adopted_on: Option<NaiveDate>,
}

pub async fn account_detail(pool: &SqlitePool, id: &str) -> Result<AccountDetail> {
    let account = get_account(pool, id).await?;
    let (stage_since, adopted_on): (Option<NaiveDate>, Option<NaiveDate>) =
        sqlx::query_as("SELECT stage_since, adopted_on FROM accounts WHERE id = ?")
            .bind(id)
            .fetch_one(pool)
            .await?;
    let owner = match &account.owner_id {
        Some(owner_id) => Some(people::get_user(pool, owner_id).await?),
        None => None,
    };
    Ok(AccountDetail {
        contacts: activity::contacts_of(pool, id).await?,
        usage: activity::usage_of(pool, id, 26).await?,
        tickets: activity::tickets_of(pool, id).await?,
        nps: activity::nps_of(pool, id).await?,
        owner,
        account,
        stage_since,
        adopted_on,
    })
}

/// `ids`, or every account in load order when None: what "run over these accounts, or
/// the whole book" means everywhere.
pub async fn ids_or_all(store: &super::Store, ids: Option<Vec<String>>) -> Result<Vec<String>> {
    every_id(store, ids, "SELECT id FROM accounts ORDER BY rowid").await
}

/// `ids`, or every account whose data lives on this device: not those that arrived by sync
/// from another (their usage, tickets and NPS stay there), so scoring and rules over "all"
/// never judge an account on data this device does not have.
pub async fn ids_or_local(store: &super::Store, ids: Option<Vec<String>>) -> Result<Vec<String>> {
    every_id(
        store,
        ids,
        "SELECT id FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM sync_remote r WHERE r.account_id = a.id) ORDER BY rowid",
    )
    .await
}

/// Every account that arrived by sync from another device (its health is scored there).
pub async fn remote_ids(store: &super::Store) -> Result<Vec<String>> {
    every_id(
        store,
        None,
        "SELECT id FROM accounts a WHERE EXISTS (SELECT 1 FROM sync_remote r WHERE r.account_id = a.id) ORDER BY rowid",
    )
    .await
}

/// The whole book's ids on the bulk-read connection (a tenth of the cost through the pool).
async fn every_id(
    store: &super::Store,
    ids: Option<Vec<String>>,
    sql: &'static str,
) -> Result<Vec<String>> {
    match ids {
        Some(ids) => Ok(ids),
        None => {
            store
                .read(move |conn| {
                    let mut stmt = conn.prepare_cached(sql)?;
                    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                    rows.collect()
                })
                .await
        }
    }
}

/// Test helpers that write accounts, kept here with the account writes they make.
#[cfg(test)]
pub(crate) mod testing {
    use crate::Store;

    /// Deletes the account `id` and returns it with the row number it had: a test of what
    /// goes with an account, and (with [`reuse_row_number`]) of what a new account that
    /// SQLite hands the same number must not inherit.
    pub async fn delete_account(store: &Store, id: &str) -> (crate::model::Account, i64) {
        let account = super::get_account(store.pool(), id).await.expect("account");
        let key: i64 = sqlx::query_scalar("SELECT rowid FROM accounts WHERE id = ?")
            .bind(id)
            .fetch_one(store.pool())
            .await
            .expect("key");
        sqlx::query("DELETE FROM accounts WHERE id = ?")
            .bind(id)
            .execute(store.pool())
            .await
            .expect("delete");
        (account, key)
    }

    /// Adds a copy of the deleted newest account under a new id, checks SQLite gave it the
    /// deleted one's row number `key`, and returns its id.
    pub async fn reuse_row_number(
        store: &Store,
        mut was: crate::model::Account,
        key: i64,
    ) -> String {
        was.id = crate::new_id();
        was.crm_id = None;
        let mut tx = store.write().await.expect("tx");
        super::upsert_accounts(&mut tx, std::slice::from_ref(&was))
            .await
            .expect("another account");
        tx.commit().await.expect("commit");
        let again: i64 = sqlx::query_scalar("SELECT rowid FROM accounts WHERE id = ?")
            .bind(&was.id)
            .fetch_one(store.pool())
            .await
            .expect("key");
        assert_eq!(again, key, "the row number is handed out again");
        was.id
    }
}
