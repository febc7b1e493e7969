//! Self-hosted updates: the releases an admin publishes (`riskdesk-server release add`)
//! and the manifest the desktop app's updater asks for, so a team that hosts its own
//! server needs no third party to keep its desktops current. Release metadata is public
//! (the updater asks before anyone signs in); the bundle's signature is what the app
//! trusts, checked against the public key built into it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::{self, Db};
use crate::error::{Error, Result};

/// The platforms the Tauri updater names (`{{target}}`) and their architectures.
pub const TARGETS: &[&str] = &["linux", "windows", "darwin"];
pub const ARCHES: &[&str] = &["x86_64", "aarch64", "i686", "armv7"];

const MAX_URL: usize = 2_000;
const MAX_SIGNATURE: usize = 4_000;
const MAX_NOTES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub target: String,
    pub arch: String,
    pub version: String,
    pub url: String,
    /// The content of the bundle's `.sig` file (minisign, base64).
    pub signature: String,
    pub notes: String,
    pub pub_date: DateTime<Utc>,
}

/// What the Tauri updater reads: the newer version, where to get it, and its signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: String,
    pub notes: String,
    pub pub_date: String,
    pub url: String,
    pub signature: String,
}

fn bad(why: String) -> Error {
    Error::BadRequest(why)
}

/// A platform the updater names, checked against the known ones.
pub fn check_platform(target: &str, arch: &str) -> Result<()> {
    if !TARGETS.contains(&target) {
        return Err(bad(format!(
            "target '{}' is not one of {}",
            target.chars().take(40).collect::<String>(),
            TARGETS.join(", ")
        )));
    }
    if !ARCHES.contains(&arch) {
        return Err(bad(format!(
            "arch '{}' is not one of {}",
            arch.chars().take(40).collect::<String>(),
            ARCHES.join(", ")
        )));
    }
    Ok(())
}

fn version(text: &str) -> Result<semver::Version> {
    semver::Version::parse(text.trim().trim_start_matches('v')).map_err(|e| {
        bad(format!(
            "'{}' is not a version (like 1.4.2): {e}",
            text.chars().take(40).collect::<String>()
        ))
    })
}

impl Release {
    /// Every problem, named: an admin's typo never becomes an update every desktop takes.
    pub fn check(&self) -> Result<()> {
        check_platform(&self.target, &self.arch)?;
        version(&self.version)?;
        let url = self.url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > MAX_URL {
            return Err(bad(format!(
                "the bundle's URL must be http(s) and at most {MAX_URL} characters"
            )));
        }
        let sig = self.signature.trim();
        if sig.is_empty() || sig.len() > MAX_SIGNATURE || sig.contains(char::is_whitespace) {
            return Err(bad(
                "the signature must be the content of the bundle's .sig file (one base64 line)"
                    .into(),
            ));
        }
        if self.notes.len() > MAX_NOTES {
            return Err(bad(format!("release notes are at most {MAX_NOTES} bytes")));
        }
        Ok(())
    }
}

/// Publishes a release (or replaces the one for the same platform and version).
pub async fn add(db: &Db, r: &Release) -> Result<()> {
    r.check()?;
    let v = version(&r.version)?.to_string();
    sqlx::query(
        "INSERT INTO releases (target, arch, version, url, signature, notes, pub_date) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (target, arch, version) DO UPDATE SET url = excluded.url, signature = excluded.signature, \
         notes = excluded.notes, pub_date = excluded.pub_date",
    )
    .bind(r.target.clone())
    .bind(r.arch.clone())
    .bind(v)
    .bind(r.url.trim().to_string())
    .bind(r.signature.trim().to_string())
    .bind(r.notes.clone())
    .bind(db::time(r.pub_date))
    .execute(&db.pool)
    .await?;
    Ok(())
}

type Row = (String, String, String, String, String, String, String);

pub async fn list(db: &Db) -> Result<Vec<Release>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT target, arch, version, url, signature, notes, pub_date FROM releases ORDER BY target, arch, pub_date",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|(target, arch, version, url, signature, notes, pub_date)| {
            Ok(Release {
                target,
                arch,
                version,
                url,
                signature,
                notes,
                pub_date: DateTime::parse_from_rfc3339(&pub_date)
                    .map_err(|e| {
                        Error::Internal(format!("a stored release date is unreadable: {e}"))
                    })?
                    .with_timezone(&Utc),
            })
        })
        .collect()
}

/// The newest release for the platform above `current`, as the updater's manifest.
pub async fn newer(db: &Db, target: &str, arch: &str, current: &str) -> Result<Option<Manifest>> {
    check_platform(target, arch)?;
    let current = version(current)?;
    let newest = list(db)
        .await?
        .into_iter()
        .filter(|r| r.target == target && r.arch == arch)
        .filter_map(|r| version(&r.version).ok().map(|v| (v, r)))
        .filter(|(v, _)| *v > current)
        .max_by(|(a, _), (b, _)| a.cmp(b));
    Ok(newest.map(|(v, r)| Manifest {
        version: v.to_string(),
        notes: r.notes,
        pub_date: r.pub_date.to_rfc3339(),
        url: r.url,
        signature: r.signature,
    }))
}
