//! `riskdesk-server serve --data-dir DIR` starts the sync server on SQLite (or
//! `--database postgres://…`); `user add`, `user invite`, `user revoke`, `user disable` and
//! `user enable` are the admin's tools; `release add` and `release list` publish the
//! desktop releases the apps update themselves to.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use riskdesk_server::Location;

#[derive(Parser)]
#[command(name = "riskdesk-server", version, about = "Riskdesk sync server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives: a directory (SQLite) or a PostgreSQL URL.
#[derive(Args)]
struct Store {
    /// Keep the data in SQLite in this directory (created when missing).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Keep the data in PostgreSQL: a postgres:// URL.
    #[arg(long, env = "RISKDESK_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
}

impl Store {
    fn location(self) -> Result<Location> {
        Ok(Location::parse(self.data_dir, self.database)?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync API: HTTPS when given a certificate and key, else plain HTTP (then
    /// put it behind a TLS-terminating proxy).
    Serve {
        #[command(flatten)]
        store: Store,
        #[arg(long, default_value = "127.0.0.1:7878")]
        bind: SocketAddr,
        /// PEM certificate chain for HTTPS.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key for HTTPS.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Seconds a client may leave a request waiting (no request yet on a connection,
        /// headers or a body that stop coming) before it is ended.
        #[arg(long, default_value_t = riskdesk_server::STALL.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
        stall_secs: u64,
    },
    /// Users and their access.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Desktop releases the apps update themselves to (self-hosted updates).
    Release {
        #[command(subcommand)]
        command: ReleaseCommand,
    },
}

#[derive(Subcommand)]
enum ReleaseCommand {
    /// Publish a release for one platform: the bundle's URL and its updater signature
    /// (the .sig file `tauri build` writes beside it with the team's signing key).
    Add {
        #[command(flatten)]
        store: Store,
        /// linux, windows or darwin.
        #[arg(long)]
        target: String,
        /// x86_64, aarch64, i686 or armv7.
        #[arg(long, default_value = "x86_64")]
        arch: String,
        /// The release's version, e.g. 0.2.0.
        #[arg(long)]
        version: String,
        /// Where the desktops download the bundle.
        #[arg(long)]
        url: String,
        /// The bundle's .sig file.
        #[arg(long)]
        signature_file: PathBuf,
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Every published release.
    List {
        #[command(flatten)]
        store: Store,
    },
}

#[derive(Args)]
struct Person {
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: String,
    /// csm, manager, executive or admin.
    #[arg(long)]
    role: String,
    #[arg(long)]
    team: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create or update a user; the password is read from standard input.
    Add {
        #[command(flatten)]
        store: Store,
        #[command(flatten)]
        person: Person,
    },
    /// Create or update a user and print a one-time code with which they choose their
    /// own password in the app (Settings › Sync › "I have an invite").
    Invite {
        #[command(flatten)]
        store: Store,
        #[command(flatten)]
        person: Person,
    },
    /// Sign a user out everywhere (they may sign in again).
    Revoke {
        #[command(flatten)]
        store: Store,
        #[arg(long)]
        email: String,
    },
    /// Lock a user out: no sign-in, and every token they hold stops working at once.
    Disable {
        #[command(flatten)]
        store: Store,
        #[arg(long)]
        email: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        #[command(flatten)]
        store: Store,
        #[arg(long)]
        email: String,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            store,
            bind,
            tls_cert,
            tls_key,
            stall_secs,
        } => {
            riskdesk_server::serve(riskdesk_server::Config {
                location: store.location()?,
                bind,
                tls: tls_cert.zip(tls_key),
                stall: std::time::Duration::from_secs(stall_secs),
            })
            .await
        }
        Command::Release {
            command:
                ReleaseCommand::Add {
                    store,
                    target,
                    arch,
                    version,
                    url,
                    signature_file,
                    notes,
                },
        } => {
            let signature = std::fs::read_to_string(&signature_file)
                .with_context(|| format!("reading {}", signature_file.display()))?;
            let db = riskdesk_server::db::open(&store.location()?).await?;
            let release = riskdesk_server::releases::Release {
                target,
                arch,
                version,
                url,
                signature: signature.trim().to_string(),
                notes,
                pub_date: chrono::Utc::now(),
            };
            riskdesk_server::releases::add(&db, &release).await?;
            println!(
                "published {} for {}-{}: desktops on an older version will offer it",
                release.version, release.target, release.arch
            );
            Ok(())
        }
        Command::Release {
            command: ReleaseCommand::List { store },
        } => {
            let db = riskdesk_server::db::open(&store.location()?).await?;
            for r in riskdesk_server::releases::list(&db).await? {
                println!(
                    "{:<8} {:<8} {:<10} {}  {}",
                    r.target,
                    r.arch,
                    r.version,
                    r.pub_date.format("%Y-%m-%d"),
                    r.url
                );
            }
            Ok(())
        }
        Command::User {
            command: UserCommand::Add { store, person },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password")?;
            let db = riskdesk_server::db::open(&store.location()?).await?;
            let id = riskdesk_server::auth::add_user(
                &db,
                &person.email,
                &person.name,
                &person.role,
                person.team.as_deref(),
                password.trim_end_matches(['\r', '\n']),
            )
            .await?;
            println!("{} ({}) is user {id}", person.email, person.role);
            Ok(())
        }
        Command::User {
            command: UserCommand::Invite { store, person },
        } => {
            let db = riskdesk_server::db::open(&store.location()?).await?;
            let invite = riskdesk_server::auth::invite(
                &db,
                &person.email,
                &person.name,
                &person.role,
                person.team.as_deref(),
            )
            .await?;
            println!(
                "{} ({}) is invited; the code works once, until {}:\n{}",
                person.email,
                person.role,
                invite.expires_at.format("%Y-%m-%d %H:%M UTC"),
                invite.code
            );
            Ok(())
        }
        Command::User {
            command: UserCommand::Revoke { store, email },
        } => {
            let db = riskdesk_server::db::open(&store.location()?).await?;
            let n = riskdesk_server::auth::revoke_all(&db, &email).await?;
            println!("revoked {n} sign-ins of {email}");
            Ok(())
        }
        Command::User {
            command: UserCommand::Disable { store, email },
        } => {
            let db = riskdesk_server::db::open(&store.location()?).await?;
            let n = riskdesk_server::auth::set_disabled(&db, &email, true).await?;
            println!("{email} is disabled; {n} sign-ins revoked");
            Ok(())
        }
        Command::User {
            command: UserCommand::Enable { store, email },
        } => {
            let db = riskdesk_server::db::open(&store.location()?).await?;
            riskdesk_server::auth::set_disabled(&db, &email, false).await?;
            println!("{email} may sign in again");
            Ok(())
        }
    }
}
