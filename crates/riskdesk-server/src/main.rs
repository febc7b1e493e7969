//! `riskdesk-server serve --data-dir DIR` starts the sync server; `user add` and
//! `user revoke` are the admin's tools.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "riskdesk-server", version, about = "Riskdesk sync server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync API. Plain HTTP: put it behind a TLS-terminating proxy.
    Serve {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:7878")]
        bind: SocketAddr,
    },
    /// Users and their access.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create or update a user; the password is read from standard input.
    Add {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// csm, manager, executive or admin.
        #[arg(long)]
        role: String,
        #[arg(long)]
        team: Option<String>,
    },
    /// Sign a user out everywhere.
    Revoke {
        #[arg(long)]
        data_dir: PathBuf,
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
        Command::Serve { data_dir, bind } => {
            riskdesk_server::serve(riskdesk_server::Config { data_dir, bind }).await
        }
        Command::User {
            command:
                UserCommand::Add {
                    data_dir,
                    email,
                    name,
                    role,
                    team,
                },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password")?;
            let pool = riskdesk_server::db::open(&data_dir).await?;
            let id = riskdesk_server::auth::add_user(
                &pool,
                &email,
                &name,
                &role,
                team.as_deref(),
                password.trim_end_matches(['\r', '\n']),
            )
            .await?;
            println!("{email} ({role}) is user {id}");
            Ok(())
        }
        Command::User {
            command: UserCommand::Revoke { data_dir, email },
        } => {
            let pool = riskdesk_server::db::open(&data_dir).await?;
            let n = riskdesk_server::auth::revoke_all(&pool, &email).await?;
            println!("revoked {n} sign-ins of {email}");
            Ok(())
        }
    }
}
