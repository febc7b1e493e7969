//! The domain model as stored and as shown. Field names follow PRODUCT.md.
//!
//! Money is integer minor units plus a currency code; ids are UUIDv7 strings; dates are
//! calendar dates, timestamps UTC.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Declares a text-backed enum stored in SQLite as its snake_case name, with the list of
/// its values so the UI and validation can share one source of truth.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[serde(rename_all = "snake_case")]
        #[sqlx(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(crate::Error::invalid(
                        stringify!($name),
                        format!("'{other}' is not one of {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}

pub(crate) use text_enum;

text_enum!(
    /// High / Medium / Low, for signals and for account severity.
    Level { High => "high", Medium => "medium", Low => "low" }
);

impl Level {
    pub fn rank(self) -> u8 {
        match self {
            Level::High => 3,
            Level::Medium => 2,
            Level::Low => 1,
        }
    }
}

text_enum!(
    /// Who a user is in the CS organisation; decides their default views.
    Role { Csm => "csm", Manager => "manager", Executive => "executive", Admin => "admin" }
);
text_enum!(
    /// Coverage model: strategic and enterprise get a named CSM, tech-touch is pooled.
    Segment { Strategic => "strategic", Enterprise => "enterprise", MidMarket => "mid_market", TechTouch => "tech_touch" }
);
text_enum!(
    /// Where the customer is in its lifecycle.
    Stage { Onboarding => "onboarding", Adopting => "adopting", Mature => "mature", Renewal => "renewal" }
);
text_enum!(
    ExpansionPotential { None => "none", Low => "low", Medium => "medium", High => "high" }
);
text_enum!(
    /// The sponsor and champion roles matter: losing one is a top churn signal.
    ContactRole { Sponsor => "sponsor", Champion => "champion", User => "user", Billing => "billing" }
);
text_enum!(
    ContactStatus { Active => "active", Left => "left" }
);
text_enum!(
    TicketPriority { Urgent => "urgent", High => "high", Normal => "normal", Low => "low" }
);
text_enum!(
    TimelineKind { Call => "call", Meeting => "meeting", Email => "email", Note => "note", RiskUpdate => "risk_update", System => "system" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Team {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub title: String,
    pub team_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A customer company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Account {
    pub id: String,
    pub name: String,
    /// Annual recurring revenue in minor units of `currency` (cents for USD).
    pub arr_minor: i64,
    pub currency: String,
    pub segment: Segment,
    pub stage: Stage,
    /// The original contract date: implementation risk counts days from here.
    pub contract_start: NaiveDate,
    pub renewal_date: NaiveDate,
    pub owner_id: Option<String>,
    pub strategic: bool,
    pub expansion_potential: ExpansionPotential,
    pub industry: String,
    pub region: String,
    /// The id of this company in the CRM it was imported from.
    pub crm_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Contact {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub email: String,
    pub title: String,
    pub role: ContactRole,
    pub status: ContactStatus,
    pub left_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    /// The id of this person in the system it was imported from.
    pub external_id: Option<String>,
}

/// One ISO week of product usage for an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UsageWeek {
    pub account_id: String,
    /// The Monday the week starts on.
    pub week_start: NaiveDate,
    pub active_users: i32,
    pub licensed_seats: i32,
    pub logins: i32,
    /// Share of key features in use, 0–100.
    pub key_feature_adoption: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Ticket {
    pub id: String,
    pub account_id: String,
    pub external_id: Option<String>,
    pub subject: String,
    pub priority: TicketPriority,
    pub category: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NpsResponse {
    pub id: String,
    pub account_id: String,
    pub contact_id: Option<String>,
    /// 0–6 detractor, 7–8 passive, 9–10 promoter.
    pub score: i32,
    pub comment: String,
    pub responded_on: NaiveDate,
    /// The id of this response in the survey tool it was imported from.
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TimelineEntry {
    pub id: String,
    pub account_id: String,
    pub kind: TimelineKind,
    pub occurred_at: DateTime<Utc>,
    pub author_id: Option<String>,
    pub body: String,
}

/// NPS category of a 0–10 score.
pub fn nps_category(score: i32) -> &'static str {
    match score {
        0..=6 => "detractor",
        7..=8 => "passive",
        _ => "promoter",
    }
}

/// A person to add or update, matched by CRM id, else by email.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewPerson {
    pub name: String,
    pub email: String,
    pub role: Option<Role>,
    pub title: Option<String>,
    pub team: Option<String>,
    pub salesforce_id: Option<String>,
    pub hubspot_id: Option<String>,
}
