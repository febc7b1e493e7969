//! The synthetic book as the CSV files a team would export from Salesforce and its product
//! analytics: what the import wizard, its tests and the import benchmark read.

use std::path::{Path, PathBuf};

use super::{accounts, org, BookSpec};
use crate::money::format_minor;
use crate::{Error, Result};

/// Files written and their row counts.
#[derive(Debug, Clone)]
pub struct CsvBook {
    pub accounts: PathBuf,
    pub usage: PathBuf,
    pub account_rows: usize,
    pub usage_rows: usize,
}

fn csv_error(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| {
        Error::invalid(
            path.display().to_string(),
            format!("cannot be written: {e}"),
        )
    }
}

/// Writes `accounts.csv` (Salesforce report columns, "$1,200.00" amounts, US dates) and
/// `usage.csv` (one row per account and week, at most `max_usage_rows`) into `folder`.
/// Generation is chunked, so memory stays flat at a million accounts.
pub fn write(spec: &BookSpec, folder: &Path, max_usage_rows: usize) -> Result<CsvBook> {
    std::fs::create_dir_all(folder).map_err(|source| Error::Io {
        path: folder.display().to_string(),
        source,
    })?;
    let org = org(spec);
    let owner_names: std::collections::HashMap<&str, &str> = org
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();
    let book = CsvBook {
        accounts: folder.join("accounts.csv"),
        usage: folder.join("usage.csv"),
        account_rows: 0,
        usage_rows: 0,
    };
    let mut a = csv::Writer::from_path(&book.accounts).map_err(csv_error(&book.accounts))?;
    let mut u = csv::Writer::from_path(&book.usage).map_err(csv_error(&book.usage))?;
    a.write_record([
        "Account ID",
        "Account Name",
        "Account Owner",
        "Industry",
        "Billing Country",
        "ARR",
        "Currency",
        "Renewal Date",
        "Contract Start Date",
        "Customer Tier",
        "Customer Stage",
        "Strategic Account",
    ])
    .map_err(csv_error(&book.accounts))?;
    u.write_record([
        "Account ID",
        "Week Start",
        "Active Users",
        "Licensed Seats",
        "Logins",
        "Key Feature Adoption",
    ])
    .map_err(csv_error(&book.usage))?;
    let (mut account_rows, mut usage_rows) = (0, 0);
    let mut start = 0;
    while start < spec.accounts {
        let end = (start + 10_000).min(spec.accounts);
        for b in accounts(spec, &org, start..end) {
            let acc = &b.account;
            let crm = acc.crm_id.clone().unwrap_or_else(|| acc.id.clone());
            let arr = format_minor(
                acc.arr_minor,
                &acc.currency,
                if acc.currency == "JPY" { 0 } else { 2 },
            );
            let arr = arr.trim_end_matches(&acc.currency).trim().to_string();
            a.write_record([
                crm.as_str(),
                &acc.name,
                acc.owner_id
                    .as_deref()
                    .and_then(|o| owner_names.get(o).copied())
                    .unwrap_or(""),
                &acc.industry,
                &acc.region,
                &arr,
                &acc.currency,
                &acc.renewal_date.format("%m/%d/%Y").to_string(),
                &acc.contract_start.format("%m/%d/%Y").to_string(),
                acc.segment.as_str(),
                acc.stage.as_str(),
                if acc.strategic { "true" } else { "false" },
            ])
            .map_err(csv_error(&book.accounts))?;
            account_rows += 1;
            for w in &b.usage {
                if usage_rows >= max_usage_rows {
                    break;
                }
                u.write_record([
                    crm.as_str(),
                    &w.week_start.to_string(),
                    &w.active_users.to_string(),
                    &w.licensed_seats.to_string(),
                    &w.logins.to_string(),
                    &format!("{}%", w.key_feature_adoption),
                ])
                .map_err(csv_error(&book.usage))?;
                usage_rows += 1;
            }
        }
        start = end;
    }
    a.flush().map_err(|source| Error::Io {
        path: book.accounts.display().to_string(),
        source,
    })?;
    u.flush().map_err(|source| Error::Io {
        path: book.usage.display().to_string(),
        source,
    })?;
    Ok(CsvBook {
        account_rows,
        usage_rows,
        ..book
    })
}
