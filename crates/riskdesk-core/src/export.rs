//! Any list view out to CSV or Excel: the Accounts table, the worklist, the Cockpit's
//! CTAs and the open escalations, with the filters the user has set.
//!
//! Money goes out as a number in major units beside its currency code (a spreadsheet
//! sums it); dates as dates. Every view is a `Table` first, so both formats say the same.

use std::path::Path;

use chrono::NaiveDate;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::cta::{CockpitQuery, CtaScope};
use crate::store::accounts::{query_accounts, MAX_PAGE};
use crate::store::AccountQuery;
use crate::worklist::{WorklistQuery, MAX_LIMIT};
use crate::{Error, Result};

crate::model::text_enum!(
    ExportFormat { Csv => "csv", Xlsx => "xlsx" }
);

/// Which list, with the filters it is showing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "view", content = "query", rename_all = "snake_case")]
pub enum ExportView {
    Accounts(AccountQuery),
    Worklist(WorklistQuery),
    Ctas(CockpitQuery),
    Escalations,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// Minor units and the number of minor digits: written as a decimal number.
    Money(i64, u32),
    Number(f64),
    Date(NaiveDate),
    Empty,
}

impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Self {
        v.map_or(Cell::Empty, Cell::Text)
    }
}

impl From<Option<NaiveDate>> for Cell {
    fn from(v: Option<NaiveDate>) -> Self {
        v.map_or(Cell::Empty, Cell::Date)
    }
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Cell::Empty, |n| Cell::Number((n * 10.0).round() / 10.0))
    }
}

fn text(s: impl ToString) -> Cell {
    Cell::Text(s.to_string())
}

fn yes_no(b: bool) -> Cell {
    text(if b { "yes" } else { "no" })
}

pub struct Table {
    pub title: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ExportResult {
    pub path: String,
    pub rows: u32,
}

/// Builds the table of `view` and writes it to `path` in `format`.
pub async fn export(
    pool: &SqlitePool,
    view: &ExportView,
    format: ExportFormat,
    path: &Path,
    today: NaiveDate,
) -> Result<ExportResult> {
    let table = table(pool, view, today).await?;
    match format {
        ExportFormat::Csv => write_csv(&table, path)?,
        ExportFormat::Xlsx => write_xlsx(&table, path)?,
    }
    Ok(ExportResult {
        path: path.display().to_string(),
        rows: table.rows.len() as u32,
    })
}

async fn digits(pool: &SqlitePool) -> Result<std::collections::HashMap<String, u32>> {
    Ok(crate::store::accounts::currencies(pool)
        .await?
        .into_iter()
        .map(|c| (c.currency, c.minor_digits.max(0) as u32))
        .collect())
}

pub async fn table(pool: &SqlitePool, view: &ExportView, today: NaiveDate) -> Result<Table> {
    let digits = digits(pool).await?;
    let money =
        |minor: i64, currency: &str| Cell::Money(minor, *digits.get(currency).unwrap_or(&2));
    match view {
        ExportView::Accounts(q) => {
            let mut rows = Vec::new();
            let mut q = AccountQuery {
                offset: 0,
                limit: MAX_PAGE,
                ..q.clone()
            };
            loop {
                let page = query_accounts(pool, &q).await?;
                let n = page.rows.len() as u32;
                for a in page.rows {
                    rows.push(vec![
                        text(&a.name),
                        money(a.arr_minor, &a.currency),
                        text(&a.currency),
                        text(a.segment),
                        text(a.stage),
                        Cell::Date(a.renewal_date),
                        a.owner_name.into(),
                        yes_no(a.strategic),
                        a.health.into(),
                        a.band.into(),
                        a.trend_30.into(),
                        a.severity_level.map(|l| l.to_string()).into(),
                    ]);
                }
                q.offset += n;
                if n == 0 || q.offset >= page.total {
                    break;
                }
            }
            Ok(Table {
                title: "Accounts",
                headers: vec![
                    "Account",
                    "ARR",
                    "Currency",
                    "Segment",
                    "Stage",
                    "Renewal",
                    "Owner",
                    "Strategic",
                    "Health",
                    "Band",
                    "Trend 30d",
                    "Severity",
                ],
                rows,
            })
        }
        ExportView::Worklist(q) => {
            let mut rows = Vec::new();
            let mut q = WorklistQuery {
                offset: 0,
                limit: MAX_LIMIT,
                ..q.clone()
            };
            loop {
                let page = crate::worklist::page(pool, &q, today).await?;
                let n = page.rows.len() as u32;
                for r in page.rows {
                    rows.push(vec![
                        Cell::Int(r.rank as i64),
                        text(&r.name),
                        Cell::Number((r.score * 10.0).round() / 10.0),
                        r.severity_level.map(|l| l.to_string()).into(),
                        money(r.arr_minor, &r.currency),
                        text(&r.currency),
                        text(r.segment),
                        Cell::Date(r.renewal_date),
                        r.owner_name.into(),
                        r.category.into(),
                        r.health.into(),
                        Cell::Int(r.open_ctas),
                        yes_no(r.escalated),
                        text(
                            r.signals
                                .iter()
                                .map(|s| s.label())
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                    ]);
                }
                q.offset += n;
                if n == 0 || q.offset >= page.total {
                    break;
                }
            }
            Ok(Table {
                title: "Worklist",
                headers: vec![
                    "Rank",
                    "Account",
                    "Priority",
                    "Severity",
                    "ARR",
                    "Currency",
                    "Segment",
                    "Renewal",
                    "Owner",
                    "Risk category",
                    "Health",
                    "Open CTAs",
                    "Escalated",
                    "Signals",
                ],
                rows,
            })
        }
        ExportView::Ctas(q) => {
            let base = crate::money::BASE_CURRENCY;
            let rows = crate::cta::cockpit(pool, q)
                .await?
                .into_iter()
                .map(|r| {
                    vec![
                        text(&r.account_name),
                        text(r.cta.cta_type),
                        text(&r.cta.reason),
                        text(r.cta.priority),
                        text(r.cta.status),
                        r.owner_name.into(),
                        r.cta.due_on.into(),
                        r.cta.category.into(),
                        text(format!("{}/{}", r.tasks_done, r.tasks_total)),
                        money(r.arr_base_minor, base),
                        text(base),
                        Cell::Date(r.cta.created_at.date_naive()),
                    ]
                })
                .collect();
            Ok(Table {
                title: "CTAs",
                headers: vec![
                    "Account",
                    "Type",
                    "Reason",
                    "Priority",
                    "Status",
                    "Owner",
                    "Due",
                    "Risk category",
                    "Tasks done",
                    "ARR",
                    "Currency",
                    "Opened",
                ],
                rows,
            })
        }
        ExportView::Escalations => {
            let base = crate::money::BASE_CURRENCY;
            let rows = crate::escalation::wbr(pool, today)
                .await?
                .into_iter()
                .map(|w| {
                    let open_actions = w.actions.iter().filter(|a| a.done_at.is_none()).count();
                    vec![
                        text(&w.account_name),
                        money(w.arr_base_minor, base),
                        text(base),
                        w.severity_level.map(|l| l.to_string()).into(),
                        w.category.into(),
                        w.executive.into(),
                        w.csm.into(),
                        text(&w.criterion),
                        text(&w.reason),
                        Cell::Int(w.days_open),
                        Cell::Date(w.renewal_date),
                        Cell::Int(open_actions as i64),
                        w.decisions.first().map(|d| d.text.clone()).into(),
                    ]
                })
                .collect();
            Ok(Table {
                title: "Escalations",
                headers: vec![
                    "Account",
                    "ARR",
                    "Currency",
                    "Severity",
                    "Risk category",
                    "Executive",
                    "CSM",
                    "Criterion",
                    "Reason",
                    "Days open",
                    "Renewal",
                    "Open actions",
                    "Latest decision",
                ],
                rows,
            })
        }
    }
}

fn decimal(minor: i64, digits: u32) -> String {
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:0width$}",
        (minor / scale).unsigned_abs(),
        (minor % scale).unsigned_abs(),
        width = digits as usize
    )
}

fn cell_text(c: &Cell) -> String {
    match c {
        // Text never runs as a formula in a spreadsheet; numbers stay numbers.
        Cell::Text(s) => crate::csv_safe::cell(s).into_owned(),
        Cell::Int(n) => n.to_string(),
        Cell::Money(minor, digits) => decimal(*minor, *digits),
        Cell::Number(n) => n.to_string(),
        Cell::Date(d) => d.to_string(),
        Cell::Empty => String::new(),
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// UTF-8 with a byte-order mark, so Excel opens accented names correctly.
pub fn write_csv(t: &Table, path: &Path) -> Result<()> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let bad = |e: csv::Error| Error::invalid(path.display().to_string(), e.to_string());
        w.write_record(&t.headers).map_err(bad)?;
        for row in &t.rows {
            w.write_record(row.iter().map(cell_text)).map_err(bad)?;
        }
        w.flush().map_err(io(path))?;
    }
    std::fs::write(path, out).map_err(io(path))
}

pub fn write_xlsx(t: &Table, path: &Path) -> Result<()> {
    let bad =
        |e: rust_xlsxwriter::XlsxError| Error::invalid(path.display().to_string(), e.to_string());
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(t.title).map_err(bad)?;
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let amount = Format::new().set_num_format("#,##0.00");
    let whole = Format::new().set_num_format("#,##0");
    for (c, h) in t.headers.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(bad)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => {
                    sheet.write_string(r, c, s).map_err(bad)?;
                }
                Cell::Int(n) => {
                    sheet.write_number(r, c, *n as f64).map_err(bad)?;
                }
                Cell::Money(minor, digits) => {
                    let value = *minor as f64 / 10f64.powi(*digits as i32);
                    let f = if *digits == 0 { &whole } else { &amount };
                    sheet
                        .write_number_with_format(r, c, value, f)
                        .map_err(bad)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, c, *n).map_err(bad)?;
                }
                Cell::Date(d) => {
                    let when = ExcelDateTime::parse_from_str(&d.to_string()).map_err(bad)?;
                    sheet
                        .write_datetime_with_format(r, c, &when, &date)
                        .map_err(bad)?;
                }
                Cell::Empty => {}
            }
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(bad)?;
    if !t.headers.is_empty() {
        sheet
            .autofilter(0, 0, t.rows.len() as u32, t.headers.len() as u16 - 1)
            .map_err(bad)?;
    }
    for (c, h) in t.headers.iter().enumerate() {
        let widest = t
            .rows
            .iter()
            .take(500)
            .map(|row| row.get(c).map_or(0, |cell| cell_text(cell).chars().count()))
            .max()
            .unwrap_or(0)
            .max(h.len());
        sheet
            .set_column_width(c as u16, (widest.min(60) + 2) as f64)
            .map_err(bad)?;
    }
    book.save(path).map_err(bad)
}

/// Cockpit scope for an export nobody is signed in for: everything.
pub fn everyone_ctas() -> CockpitQuery {
    CockpitQuery {
        scope: CtaScope::All,
        user_id: None,
        cta_type: None,
        priority: None,
        status: None,
        flagged_only: false,
        search: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{test_day, worked_book};

    #[tokio::test]
    async fn every_list_exports_to_csv_and_excel() {
        let (dir, store) = worked_book(150, 5, 0).await;
        let pool = store.pool();
        let first: String = sqlx::query_scalar("SELECT id FROM accounts ORDER BY name LIMIT 1")
            .fetch_one(pool)
            .await
            .expect("account");
        crate::escalation::escalate(&store, &first, "Sponsor left; renewal in 60 days", None)
            .await
            .expect("escalate");
        let accounts = ExportView::Accounts(AccountQuery {
            limit: 50,
            ..Default::default()
        });
        let csv_path = dir.path().join("accounts.csv");
        let r = export(pool, &accounts, ExportFormat::Csv, &csv_path, test_day())
            .await
            .expect("accounts csv");
        // Every account, not just the page on screen.
        assert_eq!(r.rows, 150);
        let bytes = std::fs::read(&csv_path).expect("read");
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let mut rdr = csv::Reader::from_reader(&bytes[3..]);
        assert_eq!(rdr.headers().expect("headers").get(1), Some("ARR"));
        let first = rdr.records().next().expect("row").expect("row");
        let arr = first.get(1).unwrap_or("");
        assert!(arr.contains('.') && arr.parse::<f64>().is_ok(), "{arr}");

        for (name, view) in [
            (
                "worklist",
                ExportView::Worklist(WorklistQuery::everyone(50)),
            ),
            ("ctas", ExportView::Ctas(everyone_ctas())),
            ("escalations", ExportView::Escalations),
            ("accounts", accounts.clone()),
        ] {
            let t = table(pool, &view, test_day()).await.expect(name);
            assert!(!t.rows.is_empty(), "{name} is empty");
            assert!(t.rows.iter().all(|r| r.len() == t.headers.len()), "{name}");
            let path = dir.path().join(format!("{name}.xlsx"));
            let r = export(pool, &view, ExportFormat::Xlsx, &path, test_day())
                .await
                .expect(name);
            assert_eq!(r.rows as usize, t.rows.len());
            let head = std::fs::read(&path).expect("xlsx");
            assert!(head.starts_with(b"PK\x03\x04"), "{name}.xlsx is not a zip");
        }
    }

    /// Account names and CTA reasons carrying the classic CSV-injection payloads come out
    /// as text in both formats: a leading apostrophe in CSV, a plain string (no formula) in
    /// Excel; numbers, negative ones included, stay numbers.
    #[tokio::test]
    async fn exports_never_carry_a_formula() {
        let (dir, store) = worked_book(12, 5, 0).await;
        let pool = store.pool();
        let payloads = crate::csv_safe::PAYLOADS;
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY name")
            .fetch_all(pool)
            .await
            .expect("ids");
        let mut tx = store.write().await.expect("tx");
        for (id, p) in ids.iter().zip(payloads) {
            sqlx::query("UPDATE accounts SET name = ? WHERE id = ?")
                .bind(p)
                .bind(id)
                .execute(&mut *tx)
                .await
                .expect("name");
            sqlx::query("UPDATE ctas SET reason = ? || ' ' || id WHERE account_id = ?")
                .bind(p)
                .bind(id)
                .execute(&mut *tx)
                .await
                .expect("reason");
        }
        tx.commit().await.expect("commit");
        let accounts = ExportView::Accounts(AccountQuery {
            limit: 50,
            ..Default::default()
        });
        for (name, view) in [
            ("accounts", accounts),
            ("ctas", ExportView::Ctas(everyone_ctas())),
        ] {
            let path = dir.path().join(format!("{name}.csv"));
            export(pool, &view, ExportFormat::Csv, &path, test_day())
                .await
                .expect(name);
            let bytes = std::fs::read(&path).expect("read");
            let mut rdr = csv::Reader::from_reader(&bytes[3..]);
            let mut guarded = 0;
            for record in rdr.records() {
                for cell in record.expect("row").iter() {
                    let first = cell.chars().next();
                    let formula = matches!(first, Some('=' | '+' | '@' | '\t' | '\r'))
                        || (first == Some('-') && cell.parse::<f64>().is_err());
                    assert!(!formula, "{name}: a cell could run as a formula: {cell:?}");
                    guarded += usize::from(cell.starts_with('\''));
                }
            }
            assert!(guarded >= payloads.len(), "{name}: {guarded} guarded cells");
            let path = dir.path().join(format!("{name}.xlsx"));
            export(pool, &view, ExportFormat::Xlsx, &path, test_day())
                .await
                .expect(name);
            let mut zip =
                zip::ZipArchive::new(std::fs::File::open(&path).expect("xlsx")).expect("zip");
            let mut sheet = String::new();
            std::io::Read::read_to_string(
                &mut zip.by_name("xl/worksheets/sheet1.xml").expect("sheet"),
                &mut sheet,
            )
            .expect("read sheet");
            assert!(!sheet.contains("<f>"), "{name}.xlsx holds a formula");
        }
        // A real negative number in a numeric column stays a number.
        assert_eq!(cell_text(&Cell::Money(-1_250_00, 2)), "-1250.00");
        assert_eq!(cell_text(&Cell::Int(-3)), "-3");
        assert_eq!(cell_text(&Cell::Text("-3".into())), "-3");
    }

    #[test]
    fn money_is_written_as_an_exact_decimal() {
        assert_eq!(decimal(1_200_000_50, 2), "1200000.50");
        assert_eq!(decimal(5, 2), "0.05");
        assert_eq!(decimal(1_500_000, 0), "1500000");
    }

    #[tokio::test]
    async fn an_unwritable_path_is_named() {
        let (_dir, store) = worked_book(5, 5, 0).await;
        let err = export(
            store.pool(),
            &ExportView::Escalations,
            ExportFormat::Csv,
            Path::new("/nonexistent/dir/out.csv"),
            test_day(),
        )
        .await
        .expect_err("refused");
        assert!(
            err.to_string().contains("/nonexistent/dir/out.csv"),
            "{err}"
        );
    }
}
