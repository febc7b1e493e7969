//! `riskdesk`: the command line over riskdesk-core, for automation and benchmarks.

/// Bulk runs read rows on one thread and judge and free them on another; mimalloc frees
/// across threads without the contention that cost glibc's allocator 0.6 s of a 100K rule run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod data;
mod memory;
mod people;
mod score;
mod store;
mod sync_bench;
mod work;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};
use riskdesk_core::book::{self, BookSpec};
use riskdesk_core::export::ExportFormat;
use riskdesk_core::import::ImportKind;
use riskdesk_core::model::Segment;
use riskdesk_core::money::format_minor;
use riskdesk_core::store::{accounts, AccountQuery, AccountSort};
use riskdesk_core::{health, Store};

#[derive(Parser)]
#[command(
    name = "riskdesk",
    version,
    about = "Riskdesk: account risk for Customer Success teams"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Every rule with its condition and actions.
    List {
        #[arg(long)]
        db: PathBuf,
    },
    /// Run the enabled rules over every account.
    Run {
        #[arg(long)]
        db: PathBuf,
        /// Show what would happen, and why, without writing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// The whole report (every firing listed) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write every rule to standard output as a rules file (JSON), for version control
    /// or another store.
    Export {
        #[arg(long)]
        db: PathBuf,
    },
    /// Make the store's rules those of a rules file: validated as the rule builder does,
    /// and shown as added, changed and removed; written only with --apply.
    Import {
        file: PathBuf,
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        apply: bool,
    },
    /// Turn a rule on, by name.
    Enable {
        name: String,
        #[arg(long)]
        db: PathBuf,
    },
    /// Turn a rule off, by name.
    Disable {
        name: String,
        #[arg(long)]
        db: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Create a store (if needed) and fill it with a synthetic book of business.
    Demo {
        #[arg(long, default_value_t = 2_500)]
        accounts: usize,
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// "Today" for the book (YYYY-MM-DD); defaults to today.
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Weeks of health history to compute from the book's data (0: none, no scores).
        #[arg(long, default_value_t = 12)]
        history_weeks: u32,
    },
    /// Recompute health, signals and severity for every account; prints timing.
    Score {
        #[arg(long)]
        db: PathBuf,
        /// Score as of this day (YYYY-MM-DD); defaults to today.
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Compute every account, even when nothing changed since today's refresh.
        #[arg(long)]
        full: bool,
    },
    /// Rules: list them, or run them over the book (a dry run previews).
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// The team: list, add, import a CRM user export, deactivate.
    People {
        #[command(subcommand)]
        command: people::PeopleCommand,
    },
    /// Live CTAs, most urgent first.
    Ctas {
        #[arg(long)]
        db: PathBuf,
        /// Only this owner's: their id, email or name (`riskdesk people list`).
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Explain an account's health score, signals and severity.
    Explain {
        /// Account id, CRM id or exact name.
        account: String,
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// List accounts, sorted and filtered like the Accounts table.
    Accounts {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        search: Option<String>,
        /// name, arr, segment, stage, renewal or owner.
        #[arg(long, value_parser = parse_text::<AccountSort>, default_value = "name")]
        sort: AccountSort,
        #[arg(long)]
        desc: bool,
        #[arg(long, value_parser = parse_text::<Segment>)]
        segment: Option<Segment>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The ranked worklist of accounts with open risk (everyone's, or one owner's).
    Worklist {
        #[arg(long)]
        db: PathBuf,
        /// Only this owner's (user id).
        #[arg(long)]
        owner: Option<String>,
        #[arg(long, default_value_t = 25)]
        limit: u32,
        /// Each row's factors too.
        #[arg(long)]
        why: bool,
        #[arg(long)]
        json: bool,
    },
    /// Renewal triage of a window (default: the next quarter), in work order.
    Triage {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        from: Option<NaiveDate>,
        #[arg(long)]
        to: Option<NaiveDate>,
        #[arg(long)]
        json: bool,
    },
    /// Each CSM's top five at-risk accounts, as Markdown for the huddle notes.
    Huddle {
        #[arg(long)]
        db: PathBuf,
    },
    /// Import a CSV file: accounts (CRM export), contacts, usage, tickets or nps.
    Import {
        /// accounts, contacts, usage, tickets or nps.
        #[arg(value_parser = parse_text::<ImportKind>)]
        kind: ImportKind,
        file: PathBuf,
        #[arg(long)]
        db: PathBuf,
        /// Override the suggested mapping: field=Column (field= leaves a field out).
        #[arg(long = "map")]
        map: Vec<String>,
        /// Currency of amounts that name none.
        #[arg(long, default_value = "USD")]
        currency: String,
        /// Check every row and show what would change, writing nothing.
        #[arg(long)]
        check: bool,
        /// Import the valid rows and write the others to a rejects CSV.
        #[arg(long)]
        valid_rows: bool,
        /// Where rejected rows go (default: beside the file, "-rejects.csv").
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// Create the store when there is none at --db (a mistyped path is otherwise an
        /// error, never a new empty store).
        #[arg(long)]
        new_store: bool,
        /// Leave the re-score of the touched accounts to the next command (it is recorded
        /// as owed with the import, so it is never lost).
        #[arg(long)]
        no_rescore: bool,
        /// An owner value of the file that means a person (VALUE=EMAIL-OR-ID), repeatable.
        #[arg(long = "owner")]
        owners: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Export a list to CSV or Excel: accounts, worklist, ctas or escalations.
    Export {
        view: String,
        /// Output file; .csv or .xlsx picks the format.
        path: PathBuf,
        #[arg(long)]
        db: PathBuf,
        #[arg(long, value_parser = parse_text::<ExportFormat>)]
        format: Option<ExportFormat>,
    },
    /// Return a store's free pages to the disk (after an upgrade or large deletes), and give
    /// a store created before 16 KB pages those (with the app closed); takes about as long
    /// as copying the file, and that much free space while it runs
    Compact {
        #[arg(long)]
        db: PathBuf,
    },
    /// Write a synthetic book as CRM-style CSV exports (accounts.csv, usage.csv).
    SampleCsv {
        #[arg(long, default_value_t = 1_000)]
        accounts: usize,
        /// At most this many usage rows.
        #[arg(long, default_value_t = 1_000_000)]
        usage_rows: usize,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Measure importing a synthetic book's CSV exports into a fresh store.
    BenchImport {
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        #[arg(long, default_value_t = 1_000_000)]
        usage_rows: usize,
    },
    /// Measure sync: a first sync of a book, a 1,000-change round trip, many devices at once.
    BenchSync {
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        #[arg(long, default_value_t = 50)]
        clients: usize,
        /// Run the server on this (empty) PostgreSQL database instead of SQLite.
        #[arg(long)]
        server_database: Option<String>,
    },
    /// Measure book generation, loading and Accounts-table queries; prints a table.
    Bench {
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        /// Store to build (default: a temporary file, removed afterwards).
        #[arg(long)]
        db: Option<PathBuf>,
        #[arg(long, default_value_t = 30)]
        iterations: usize,
        /// Only generate in memory (no store): for sizes up to 1M accounts.
        #[arg(long)]
        generate_only: bool,
    },
}

/// Reads a value named the way the store names it ("mid_market", "usage", "xlsx").
fn parse_text<T: std::str::FromStr<Err = riskdesk_core::Error>>(s: &str) -> Result<T, String> {
    s.parse::<T>().map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> Result<()> {
    // `riskdesk … | head` should stop quietly, as other Unix tools do, instead of
    // panicking on a closed pipe: restore the default SIGPIPE that Rust ignores.
    #[cfg(unix)]
    // SAFETY: called once at start, before any thread writes to stdout.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    riskdesk_core::process::prefer_small_pages();
    // RUST_LOG=info shows where an import or a recompute spends its time.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Demo {
            accounts,
            db,
            seed,
            as_of,
            history_weeks,
        } => demo(accounts, db, seed, as_of, history_weeks).await,
        Command::Score { db, as_of, full } => score::run(db, as_of, full).await,
        Command::Explain { account, db, json } => score::explain(db, account, json).await,
        Command::Rules { command } => match command {
            RulesCommand::List { db } => work::list_rules(db).await,
            RulesCommand::Run {
                db,
                dry_run,
                as_of,
                json,
            } => work::run_rules(db, dry_run, as_of, json).await,
            RulesCommand::Export { db } => work::export_rules(db).await,
            RulesCommand::Import { file, db, apply } => work::import_rules(db, file, apply).await,
            RulesCommand::Enable { name, db } => work::enable_rule(db, name, true).await,
            RulesCommand::Disable { name, db } => work::enable_rule(db, name, false).await,
        },
        Command::People { command } => people::run(command).await,
        Command::Ctas { db, owner, json } => work::ctas(db, owner, json).await,
        Command::Worklist {
            db,
            owner,
            limit,
            why,
            json,
        } => work::worklist(db, owner, limit, why, json).await,
        Command::Triage { db, from, to, json } => work::triage(db, from, to, json).await,
        Command::Huddle { db } => work::huddle(db).await,
        Command::Accounts {
            db,
            search,
            sort,
            desc,
            segment,
            limit,
            offset,
            json,
        } => {
            let query = AccountQuery {
                search,
                segment,
                sort,
                descending: desc,
                offset,
                limit,
                ..Default::default()
            };
            list_accounts(db, query, json).await
        }
        Command::Bench {
            accounts,
            db,
            iterations,
            generate_only,
        } => bench::run(accounts, db, iterations, generate_only).await,
        Command::Import {
            kind,
            file,
            db,
            map,
            currency,
            check,
            valid_rows,
            rejects,
            new_store,
            no_rescore,
            owners,
            json,
        } => {
            data::import(data::ImportArgs {
                kind,
                file,
                db,
                map,
                currency,
                check,
                valid_rows,
                rejects,
                new_store,
                no_rescore,
                owners,
                json,
            })
            .await
        }
        Command::Export {
            view,
            path,
            db,
            format,
        } => data::export(db, &view, path, format).await,
        Command::Compact { db } => compact(&db).await,
        Command::SampleCsv {
            accounts,
            usage_rows,
            out,
            seed,
        } => data::sample_csv(accounts, usage_rows, &out, seed),
        Command::BenchSync {
            accounts,
            clients,
            server_database,
        } => sync_bench::run(accounts, clients, server_database).await,
        Command::BenchImport {
            accounts,
            usage_rows,
        } => data::bench_import(accounts, usage_rows).await,
    };
    store::close_all().await;
    result
}

async fn compact(db: &std::path::Path) -> Result<()> {
    // A store from before the larger pages gets them first (it needs the store to itself).
    if db.is_file() {
        if let Some(was) = riskdesk_core::store::repage(db)? {
            println!(
                "Rewrote {} with {} KB pages (it had {} KB pages)",
                db.display(),
                riskdesk_core::store::PAGE_SIZE / 1024,
                was / 1024
            );
        }
    }
    let store = store::existing(db).await?;
    let done = store.compact().await?;
    store.close().await;
    println!(
        "Compacted {}: {} MB -> {} MB in {:.1} s",
        db.display(),
        done.before.bytes / 1_000_000,
        done.after.bytes / 1_000_000,
        done.millis as f64 / 1000.0
    );
    Ok(())
}

async fn demo(
    n: usize,
    db: PathBuf,
    seed: u64,
    as_of: Option<NaiveDate>,
    history_weeks: u32,
) -> Result<()> {
    let store = Store::open(&db)
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    if accounts::count_accounts(store.pool()).await? > 0 {
        anyhow::bail!(
            "{} already holds accounts; demo data goes into an empty store",
            db.display()
        );
    }
    let spec = BookSpec::new(n, seed, as_of.unwrap_or_else(|| Utc::now().date_naive()));
    let started = Instant::now();
    let summary = book::load(&store, &spec, |done, total| {
        eprint!("\rloading {done}/{total} accounts");
    })
    .await?;
    eprintln!();
    if history_weeks > 0 {
        let scoring = Instant::now();
        let s = health::initialize(&store, spec.as_of, history_weeks, 14).await?;
        println!(
            "Scored {} accounts with {history_weeks} weeks of history in {:.2} s",
            s.accounts,
            scoring.elapsed().as_secs_f64()
        );
    }
    store.close().await;
    println!(
        "Loaded {} accounts into {} in {:.2} s",
        summary.accounts,
        db.display(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  {} users, {} contacts, {} usage weeks, {} tickets, {} NPS responses, {} timeline entries",
        summary.users, summary.contacts, summary.usage_weeks, summary.tickets, summary.nps_responses, summary.timeline_entries
    );
    for (story, count) in &summary.stories {
        println!("  story {:<24} {count:>8} accounts", format!("{story:?}"));
    }
    Ok(())
}

async fn list_accounts(db: PathBuf, query: AccountQuery, json: bool) -> Result<()> {
    let store = store::existing(&db).await?;
    let page = accounts::query_accounts(store.pool(), &query).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    let digits: HashMap<String, u32> = accounts::currencies(store.pool())
        .await?
        .into_iter()
        .map(|c| (c.currency, c.minor_digits.max(0) as u32))
        .collect();
    println!(
        "{:<36} {:>20} {:<11} {:<11} {:<10} OWNER",
        "NAME", "ARR", "SEGMENT", "STAGE", "RENEWAL"
    );
    for r in &page.rows {
        let arr = format_minor(
            r.arr_minor,
            &r.currency,
            *digits.get(&r.currency).unwrap_or(&2),
        );
        println!(
            "{:<36} {:>20} {:<11} {:<11} {:<10} {}",
            truncate(&r.name, 36),
            arr,
            r.segment.as_str(),
            r.stage.as_str(),
            r.renewal_date,
            r.owner_name.as_deref().unwrap_or("—")
        );
    }
    println!(
        "{} of {} accounts (offset {})",
        page.rows.len(),
        page.total,
        page.offset
    );
    Ok(())
}

/// Cuts `s` to `max` characters, marking the cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars()
            .take(max - 1)
            .chain(std::iter::once('…'))
            .collect()
    }
}
