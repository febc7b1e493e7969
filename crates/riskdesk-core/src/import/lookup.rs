//! What an import needs to know about the store before reading rows: which accounts,
//! users and currencies exist.

use std::collections::HashMap;

use sqlx::SqlitePool;

use super::fields::ImportKind;
use crate::money::FxRates;
use crate::{Error, Result};

pub struct Lookup {
    /// Account ids; rows refer to accounts by index into this list.
    pub account_ids: Vec<String>,
    by_crm: HashMap<String, u32>,
    /// Lower-cased name → account, or None when two accounts share the name.
    by_name: HashMap<String, Option<u32>>,
    /// Lower-cased name or email → user id.
    users: HashMap<String, String>,
    /// Currency → digits after the decimal point.
    digits: HashMap<String, u32>,
    pub fx: FxRates,
    pub default_currency: String,
}

impl Lookup {
    pub async fn load(
        pool: &SqlitePool,
        kind: ImportKind,
        default_currency: &str,
    ) -> Result<Lookup> {
        let currencies = crate::store::accounts::currencies(pool).await?;
        let default_currency = default_currency.trim().to_ascii_uppercase();
        if !currencies.iter().any(|c| c.currency == default_currency) {
            return Err(Error::invalid(
                "default currency",
                format!("'{default_currency}' is not a currency the store knows"),
            ));
        }
        let mut lookup = Lookup {
            account_ids: Vec::new(),
            by_crm: HashMap::new(),
            by_name: HashMap::new(),
            users: HashMap::new(),
            digits: currencies
                .iter()
                .map(|c| (c.currency.clone(), c.minor_digits.max(0) as u32))
                .collect(),
            fx: FxRates::new(
                currencies
                    .iter()
                    .map(|c| (c.currency.clone(), c.rate_ppm))
                    .collect(),
            ),
            default_currency,
        };
        if kind == ImportKind::Accounts {
            // CRM user ids too: a Salesforce OwnerId or a HubSpot owner id maps to the
            // person who has it.
            let crm: Vec<(String, Option<String>, Option<String>)> =
                sqlx::query_as("SELECT id, salesforce_id, hubspot_id FROM users")
                    .fetch_all(pool)
                    .await?;
            for (id, salesforce, hubspot) in crm {
                for key in [salesforce, hubspot].into_iter().flatten() {
                    lookup.users.insert(key.trim().to_lowercase(), id.clone());
                }
            }
            for u in crate::store::people::list_users(pool).await? {
                lookup.users.insert(u.email.to_lowercase(), u.id.clone());
                lookup.users.insert(u.name.to_lowercase(), u.id);
            }
        } else {
            let rows: Vec<(String, Option<String>, String)> =
                sqlx::query_as("SELECT id, crm_id, name FROM accounts")
                    .fetch_all(pool)
                    .await?;
            lookup.account_ids.reserve(rows.len());
            for (i, (id, crm, name)) in rows.into_iter().enumerate() {
                let i = i as u32;
                if let Some(crm) = crm {
                    lookup.by_crm.insert(crm, i);
                }
                lookup
                    .by_name
                    .entry(name.to_lowercase())
                    .and_modify(|e| *e = None)
                    .or_insert(Some(i));
                lookup.account_ids.push(id);
            }
        }
        Ok(lookup)
    }

    /// The account a row names by CRM id or, failing that, by its exact name.
    pub fn account(&self, reference: &str) -> Result<u32, String> {
        if let Some(i) = self.by_crm.get(reference) {
            return Ok(*i);
        }
        match self.by_name.get(&reference.to_lowercase()) {
            Some(Some(i)) => Ok(*i),
            Some(None) => Err(format!(
                "more than one account is named '{reference}': use its CRM id"
            )),
            None => Err(format!(
                "no account has the CRM id or name '{reference}' (import accounts first)"
            )),
        }
    }

    pub fn account_id(&self, index: u32) -> &str {
        &self.account_ids[index as usize]
    }

    /// Adds the owner values the user mapped by hand; a mapping to nobody the store knows
    /// is refused, naming the value.
    pub async fn map_owners(
        &mut self,
        pool: &SqlitePool,
        owners: &[super::OwnerMapping],
    ) -> crate::Result<()> {
        for m in owners {
            let known: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE id = ?")
                .bind(&m.user_id)
                .fetch_optional(pool)
                .await?;
            let Some(id) = known else {
                return Err(crate::Error::invalid(
                    format!("owner_map.{}", m.value),
                    format!("no person has the id '{}'", m.user_id),
                ));
            };
            self.users.insert(m.value.trim().to_lowercase(), id);
        }
        Ok(())
    }

    pub fn user(&self, name_or_email: &str) -> Result<String, String> {
        self.users
            .get(&name_or_email.to_lowercase())
            .cloned()
            .ok_or_else(|| format!("no Riskdesk user is named or has the email '{name_or_email}'"))
    }

    pub fn digits(&self, currency: &str) -> Result<u32, String> {
        self.digits
            .get(currency)
            .copied()
            .ok_or_else(|| format!("'{currency}' is not a currency the store knows"))
    }
}
