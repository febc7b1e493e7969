//! Reports for the head of CS: the monthly risk report and the quarterly root-cause
//! review, as print-ready HTML (print to PDF from any browser) and as CSV.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::{Error, Result};

crate::model::text_enum!(
    ReportKind { Monthly => "monthly", RootCause => "root_cause" }
);

/// One table of a report: a title, column names and rows of text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReportTable {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Report {
    pub kind: ReportKind,
    pub title: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tables: Vec<ReportTable>,
}

fn money(minor: i64) -> String {
    crate::money::format_minor(minor, "USD", 2)
}

fn table(title: &str, columns: &[&str], rows: Vec<Vec<String>>) -> ReportTable {
    ReportTable {
        title: title.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    }
}

/// The calendar month before the one `today` is in.
pub fn last_month(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = today.with_day(1).unwrap_or(today);
    let to = first.pred_opt().unwrap_or(first);
    (to.with_day(1).unwrap_or(to), to)
}

/// The calendar quarter before the one `today` is in.
pub fn last_quarter(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let q = today.month0() / 3;
    let this = NaiveDate::from_ymd_opt(today.year(), q * 3 + 1, 1).unwrap_or(today);
    let to = this.pred_opt().unwrap_or(this);
    let from = NaiveDate::from_ymd_opt(to.year(), (to.month0() / 3) * 3 + 1, 1).unwrap_or(to);
    (from, to)
}

/// Account, criterion, opened, outcome, ARR kept.
type EscalationLine = (String, String, String, Option<String>, Option<i64>);
/// Category, CTAs, accounts, average health, average NPS.
type CategoryLine = (String, i64, i64, Option<f64>, Option<f64>);
/// Name, ARR, severity, priority, category, owner.
type TopRisk = (
    String,
    i64,
    Option<String>,
    f64,
    Option<String>,
    Option<String>,
);

/// Top risks now; accounts that moved into and out of risk in the month (first signal
/// raised, last signal cleared); recurring issues by ticket category; escalations opened
/// and closed with their outcomes.
pub async fn monthly(pool: &SqlitePool, from: NaiveDate, to: NaiveDate) -> Result<Report> {
    let until = to.succ_opt().unwrap_or(to);
    let top: Vec<TopRisk> = sqlx::query_as(
        "SELECT a.name, p.arr_base_minor, p.severity_level, p.score, p.category, u.name FROM account_priority p \
         JOIN accounts a ON a.rowid = p.account LEFT JOIN users u ON u.id = p.owner_id \
         WHERE p.at_risk = 1 AND p.lane = 'csm' ORDER BY p.score DESC LIMIT 20",
    )
    .fetch_all(pool)
    .await?;
    let moved_in: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT a.name, a.arr_base_minor, MIN(s.detected_at) FROM signals s JOIN accounts a ON a.id = s.account_id \
         GROUP BY s.account_id HAVING MIN(s.detected_at) >= ? AND MIN(s.detected_at) < ? ORDER BY a.arr_base_minor DESC LIMIT 50",
    )
    .bind(from)
    .bind(until)
    .fetch_all(pool)
    .await?;
    let moved_out: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT a.name, a.arr_base_minor, MAX(s.cleared_at) FROM signals s JOIN accounts a ON a.id = s.account_id \
         GROUP BY s.account_id HAVING SUM(s.cleared_at IS NULL) = 0 AND MAX(s.cleared_at) >= ? AND MAX(s.cleared_at) < ? \
         ORDER BY a.arr_base_minor DESC LIMIT 50",
    )
    .bind(from)
    .bind(until)
    .fetch_all(pool)
    .await?;
    let recurring: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT category, COUNT(*), COUNT(DISTINCT account) FROM tickets WHERE opened_at >= ? AND opened_at < ? \
         GROUP BY category ORDER BY COUNT(*) DESC",
    )
    .bind(from)
    .bind(until)
    .fetch_all(pool)
    .await?;
    let escalations: Vec<EscalationLine> = sqlx::query_as(
        "SELECT a.name, e.criterion, e.opened_at, e.outcome, e.arr_retained_minor FROM escalations e JOIN accounts a ON a.id = e.account_id \
         WHERE (e.opened_at >= ? AND e.opened_at < ?) OR (e.closed_at >= ? AND e.closed_at < ?) ORDER BY e.opened_at",
    )
    .bind(from)
    .bind(until)
    .bind(from)
    .bind(until)
    .fetch_all(pool)
    .await?;
    Ok(Report {
        kind: ReportKind::Monthly,
        title: format!("Monthly risk report, {}", from.format("%B %Y")),
        from,
        to,
        tables: vec![
            table(
                "Top risks",
                &[
                    "Account", "ARR", "Severity", "Priority", "Category", "Owner",
                ],
                top.into_iter()
                    .map(|(n, arr, sev, score, cat, owner)| {
                        vec![
                            n,
                            money(arr),
                            sev.unwrap_or_default(),
                            format!("{score:.1}"),
                            cat.unwrap_or_default(),
                            owner.unwrap_or_default(),
                        ]
                    })
                    .collect(),
            ),
            table(
                "Moved into risk (first signal this month)",
                &["Account", "ARR", "Since"],
                moved_in
                    .into_iter()
                    .map(|(n, arr, at)| vec![n, money(arr), at.chars().take(10).collect()])
                    .collect(),
            ),
            table(
                "Moved out of risk (last signal cleared this month)",
                &["Account", "ARR", "Cleared"],
                moved_out
                    .into_iter()
                    .map(|(n, arr, at)| vec![n, money(arr), at.chars().take(10).collect()])
                    .collect(),
            ),
            table(
                "Recurring issues by ticket category",
                &["Category", "Tickets", "Accounts"],
                recurring
                    .into_iter()
                    .map(|(c, t, a)| vec![c, t.to_string(), a.to_string()])
                    .collect(),
            ),
            table(
                "Escalations opened or closed",
                &["Account", "Criterion", "Opened", "Outcome", "ARR kept"],
                escalations
                    .into_iter()
                    .map(|(n, crit, opened, outcome, kept)| {
                        vec![
                            n,
                            crate::escalation::criterion_label(&crit).to_string(),
                            opened.chars().take(10).collect(),
                            outcome.unwrap_or_else(|| "open".into()).replace('_', " "),
                            kept.map(money).unwrap_or_default(),
                        ]
                    })
                    .collect(),
            ),
        ],
    })
}

/// Scores and comments by risk category over the quarter: how many CTAs, their accounts'
/// health, and what detractors said.
pub async fn root_cause(pool: &SqlitePool, from: NaiveDate, to: NaiveDate) -> Result<Report> {
    let until = to.succ_opt().unwrap_or(to);
    let by_category: Vec<CategoryLine> = sqlx::query_as(
        "SELECT COALESCE(c.category, 'not categorized'), COUNT(*), COUNT(DISTINCT c.account_id), AVG(h.score), \
         (SELECT AVG(n.score) FROM nps_responses n WHERE n.account IN (SELECT a2.rowid FROM ctas c2 JOIN accounts a2 ON a2.id = c2.account_id \
            WHERE c2.category IS c.category) \
            AND n.responded_on >= ? AND n.responded_on < ?) \
         FROM ctas c LEFT JOIN accounts a ON a.id = c.account_id LEFT JOIN account_health h ON h.account = a.rowid \
         WHERE c.created_at < ? AND (c.closed_at IS NULL OR c.closed_at >= ?) GROUP BY c.category ORDER BY COUNT(*) DESC",
    )
    .bind(from)
    .bind(until)
    .bind(until)
    .bind(from)
    .fetch_all(pool)
    .await?;
    let comments: Vec<(String, String, i64, String)> = sqlx::query_as(
        "SELECT COALESCE((SELECT c.category FROM ctas c WHERE c.account_id = a.id AND c.category IS NOT NULL LIMIT 1), 'not categorized'), \
         a.name, n.score, n.comment FROM nps_responses n JOIN accounts a ON a.rowid = n.account \
         WHERE n.score <= 6 AND n.comment <> '' AND n.responded_on >= ? AND n.responded_on < ? ORDER BY 1, n.score LIMIT 200",
    )
    .bind(from)
    .bind(until)
    .fetch_all(pool)
    .await?;
    Ok(Report {
        kind: ReportKind::RootCause,
        title: format!("Quarterly root-cause review, {} to {}", from, to),
        from,
        to,
        tables: vec![
            table(
                "Scores by risk category",
                &[
                    "Category",
                    "CTAs",
                    "Accounts",
                    "Average health",
                    "Average NPS",
                ],
                by_category
                    .into_iter()
                    .map(|(c, n, a, h, nps)| {
                        vec![
                            c,
                            n.to_string(),
                            a.to_string(),
                            h.map_or(String::new(), |h| format!("{h:.0}")),
                            nps.map_or(String::new(), |v| format!("{v:.1}")),
                        ]
                    })
                    .collect(),
            ),
            table(
                "Detractor comments by category",
                &["Category", "Account", "NPS", "Comment"],
                comments
                    .into_iter()
                    .map(|(c, a, s, t)| vec![c, a, s.to_string(), t])
                    .collect(),
            ),
        ],
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained page that prints cleanly (A4, tables not split across pages).
pub fn to_html(r: &Report) -> String {
    let mut h = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:system-ui,sans-serif;margin:24px;color:#111}}h1{{font-size:20px}}h2{{font-size:15px;margin-top:24px}}\
         table{{border-collapse:collapse;width:100%;font-size:12px}}th,td{{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left}}\
         th{{background:#f4f5f7}}@media print{{@page{{size:A4;margin:14mm}}table{{page-break-inside:auto}}tr{{page-break-inside:avoid}}}}\
         </style></head><body><h1>{t}</h1><p>{} to {}</p>",
        r.from,
        r.to,
        t = escape(&r.title)
    );
    for t in &r.tables {
        h.push_str(&format!("<h2>{}</h2>", escape(&t.title)));
        if t.rows.is_empty() {
            h.push_str("<p>None.</p>");
            continue;
        }
        h.push_str("<table><thead><tr>");
        for c in &t.columns {
            h.push_str(&format!("<th>{}</th>", escape(c)));
        }
        h.push_str("</tr></thead><tbody>");
        for row in &t.rows {
            h.push_str("<tr>");
            for cell in row {
                h.push_str(&format!("<td>{}</td>", escape(cell)));
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</body></html>");
    h
}

/// Every table in one CSV: a `section` column says which table a row belongs to.
pub fn to_csv(r: &Report) -> Result<String> {
    // Tables differ in width: each section repeats its own header.
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let io = |e: csv::Error| Error::invalid("report.csv", e.to_string());
    for t in &r.tables {
        let safe = |s: &String| crate::csv_safe::cell(s).into_owned();
        let mut header = vec!["section".to_string()];
        header.extend(t.columns.iter().map(safe));
        w.write_record(&header).map_err(io)?;
        for row in &t.rows {
            let mut rec = vec![safe(&t.title)];
            rec.extend(row.iter().map(safe));
            w.write_record(&rec).map_err(io)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::invalid("report.csv", e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::invalid("report.csv", e.to_string()))
}

/// Writes `<folder>/<name>.html` and `.csv`, creating the folder; returns both paths.
pub fn export(r: &Report, folder: &Path) -> Result<Vec<PathBuf>> {
    let stem = match r.kind {
        ReportKind::Monthly => format!("risk-report-{}", r.from.format("%Y-%m")),
        ReportKind::RootCause => format!("root-cause-review-{}", r.from.format("%Y-%m")),
    };
    let io = |path: &Path, e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        source: e,
    };
    std::fs::create_dir_all(folder).map_err(|e| io(folder, e))?;
    let html = folder.join(format!("{stem}.html"));
    std::fs::write(&html, to_html(r)).map_err(|e| io(&html, e))?;
    let csv_path = folder.join(format!("{stem}.csv"));
    std::fs::write(&csv_path, to_csv(r)?).map_err(|e| io(&csv_path, e))?;
    Ok(vec![html, csv_path])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{test_day, worked_book};

    #[test]
    fn periods_are_the_previous_calendar_month_and_quarter() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(
            last_month(d("2026-11-23")),
            (d("2026-10-01"), d("2026-10-31"))
        );
        assert_eq!(
            last_month(d("2026-01-05")),
            (d("2025-12-01"), d("2025-12-31"))
        );
        assert_eq!(
            last_quarter(d("2026-11-23")),
            (d("2026-07-01"), d("2026-09-30"))
        );
        assert_eq!(
            last_quarter(d("2026-02-01")),
            (d("2025-10-01"), d("2025-12-31"))
        );
    }

    #[tokio::test]
    async fn reports_render_to_html_and_csv_and_export_both() {
        let (dir, store) = worked_book(200, 3, 4).await;
        let today = test_day();
        let r = monthly(store.pool(), today - chrono::Duration::days(30), today)
            .await
            .expect("monthly");
        assert_eq!(r.tables.len(), 5);
        assert!(!r.tables[0].rows.is_empty(), "top risks");
        assert!(!r.tables[3].rows.is_empty(), "tickets by category");
        let html = to_html(&r);
        assert!(html.contains("<h2>Top risks</h2>") && html.contains("@media print"));
        let csv_text = to_csv(&r).expect("csv");
        let first = csv_text.lines().next().expect("header");
        assert_eq!(
            first,
            "section,Account,ARR,Severity,Priority,Category,Owner"
        );
        assert_eq!(
            csv_text
                .lines()
                .filter(|l| l.starts_with("Top risks,"))
                .count(),
            r.tables[0].rows.len()
        );
        // CTAs carry the wall-clock time they were created at, which is after the book's
        // fixed "today" once the calendar has moved on: the window runs to the real today.
        let until = chrono::Utc::now().date_naive().max(today);
        let rc = root_cause(store.pool(), today - chrono::Duration::days(90), until)
            .await
            .expect("root cause");
        assert!(!rc.tables[0].rows.is_empty());
        let paths = export(&rc, &dir.path().join("out")).expect("export");
        assert!(paths.iter().all(|p| p.exists()));
        assert!(paths[0].to_string_lossy().ends_with(".html"));
        // A folder that cannot be made is named in the error.
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").expect("file");
        let err = export(&rc, &file.join("sub")).expect_err("not a folder");
        assert!(err.to_string().contains("a-file"), "{err}");
    }
}
