//! `riskdesk people`: the team a CS Ops admin sets up before importing accounts, so an
//! export's owner column (names, emails, Salesforce user ids, HubSpot owner ids) maps.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use riskdesk_core::model::Role;
use riskdesk_core::people::{self, NewPerson};

#[derive(Subcommand)]
pub enum PeopleCommand {
    /// Everyone, with the ids `--owner` takes.
    List {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Add a person (or update the one with this email or CRM id).
    Add {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// csm, manager, executive or admin.
        #[arg(long, value_parser = crate::parse_text::<Role>, default_value = "csm")]
        role: Role,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        team: Option<String>,
        /// Their Salesforce user id (an account export's OwnerId).
        #[arg(long)]
        salesforce_id: Option<String>,
        /// Their HubSpot owner id.
        #[arg(long)]
        hubspot_id: Option<String>,
    },
    /// Import a Salesforce User report (Id, Full Name, Email, Title, Role) or a HubSpot
    /// owners export (Owner ID, First name, Last name, Email, Team).
    Import {
        file: PathBuf,
        #[arg(long)]
        db: PathBuf,
        /// Check every row and say what would change; write nothing.
        #[arg(long)]
        check: bool,
    },
    /// Deactivate a person (by email or id): they stay on the records they own.
    Deactivate {
        person: String,
        #[arg(long)]
        db: PathBuf,
    },
}

use crate::store::existing;

pub async fn run(command: PeopleCommand) -> Result<()> {
    match command {
        PeopleCommand::List { db, json } => {
            let store = existing(&db).await?;
            let everyone = people::list(store.pool()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&everyone)?);
                return Ok(());
            }
            println!(
                "{:<36}  {:<24}  {:<30}  {:<9}  {:<14}  {:>8}  crm ids",
                "id", "name", "email", "role", "team", "accounts"
            );
            for p in everyone {
                let ids: Vec<String> = [
                    p.salesforce_id.map(|s| format!("sf {s}")),
                    p.hubspot_id.map(|h| format!("hs {h}")),
                ]
                .into_iter()
                .flatten()
                .collect();
                println!(
                    "{:<36}  {:<24}  {:<30}  {:<9}  {:<14}  {:>8}  {}{}",
                    p.id,
                    p.name,
                    p.email,
                    p.role.as_str(),
                    p.team.unwrap_or_default(),
                    p.accounts,
                    ids.join(", "),
                    if p.active { "" } else { "  (inactive)" }
                );
            }
            Ok(())
        }
        PeopleCommand::Add {
            db,
            name,
            email,
            role,
            title,
            team,
            salesforce_id,
            hubspot_id,
        } => {
            let store = existing(&db).await?;
            let p = people::add(
                &store,
                &NewPerson {
                    name,
                    email,
                    role: Some(role),
                    title,
                    team,
                    salesforce_id,
                    hubspot_id,
                },
            )
            .await?;
            println!("{} <{}> is {} ({})", p.name, p.email, p.id, p.role.as_str());
            Ok(())
        }
        PeopleCommand::Import { file, db, check } => {
            let store = existing(&db).await?;
            let r = people::import(&store, &file, check).await?;
            println!(
                "{}: {} rows: {} new, {} changed, {} unchanged, {} rejected{}",
                r.format,
                r.rows,
                r.inserted,
                r.updated,
                r.unchanged,
                r.rejected,
                if r.committed {
                    ""
                } else {
                    " (checked; nothing written)"
                }
            );
            for e in &r.errors {
                println!("  line {}, {}: {}", e.line, e.column, e.reason);
            }
            Ok(())
        }
        PeopleCommand::Deactivate { person, db } => {
            let store = existing(&db).await?;
            let p = people::set_active(&store, &person, false).await?;
            println!(
                "{} <{}> is inactive; they keep the {} accounts they own",
                p.name, p.email, p.accounts
            );
            Ok(())
        }
    }
}
