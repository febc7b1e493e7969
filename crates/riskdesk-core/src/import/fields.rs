//! What each import kind reads, and the column names CRMs and product tools give those
//! fields, so a Salesforce or HubSpot export maps itself.

use serde::{Deserialize, Serialize};

use super::values::normalize;

crate::model::text_enum!(
    /// What a file holds.
    ImportKind { Accounts => "accounts", Contacts => "contacts", Usage => "usage", Tickets => "tickets", Nps => "nps" }
);

impl ImportKind {
    pub fn label(self) -> &'static str {
        match self {
            ImportKind::Accounts => "Accounts",
            ImportKind::Contacts => "Contacts",
            ImportKind::Usage => "Usage snapshots",
            ImportKind::Tickets => "Support tickets",
            ImportKind::Nps => "NPS responses",
        }
    }
}

/// One thing an import reads from a column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldInfo {
    pub key: String,
    pub label: String,
    pub required: bool,
    /// What the field accepts, or what happens when it is not in the file.
    pub hint: String,
}

struct Spec {
    key: &'static str,
    label: &'static str,
    required: bool,
    hint: &'static str,
    /// Header names that map to this field, compared after `normalize`. Salesforce report
    /// labels, Salesforce API names (custom fields end in __c), HubSpot property labels.
    aliases: &'static [&'static str],
}

const ACCOUNT_REF: &[&str] = &[
    "Account ID",
    "AccountId",
    "Account External ID",
    "Account CRM ID",
    "CRM ID",
    "Company ID",
    "Associated Company ID",
    "Associated Company IDs",
    "Account Name",
    "Account",
    "Company",
    "Company name",
    "Associated Company",
    "Organization",
];

const ACCOUNTS: &[Spec] = &[
    Spec { key: "external_id", label: "CRM id", required: true, hint: "Unique id of the company in the CRM; re-imports match on it",
        aliases: &["Account ID", "Id", "Record ID", "Company ID", "CRM ID", "External ID", "crm_id", "Account Id (18)", "Account ID (18 char)"] },
    Spec { key: "name", label: "Name", required: true, hint: "Company name",
        aliases: &["Account Name", "Name", "Company name", "Company"] },
    Spec { key: "arr", label: "ARR", required: true, hint: "Amount such as $1,200,000.00, 1.2M or 1 200 000,00 €",
        aliases: &["ARR", "Annual Recurring Revenue", "ARR__c", "Annual_Recurring_Revenue__c", "Current ARR", "Total ARR", "ARR (USD)"] },
    Spec { key: "currency", label: "Currency", required: false, hint: "ISO code; else the amount's symbol, else the default currency",
        aliases: &["Currency", "Account Currency", "CurrencyIsoCode", "Currency ISO Code", "ARR Currency"] },
    Spec { key: "renewal_date", label: "Renewal date", required: true, hint: "Date of the next renewal",
        aliases: &["Renewal Date", "Next Renewal Date", "Contract End Date", "Contract End", "Renewal_Date__c", "Contract_End_Date__c"] },
    Spec { key: "contract_start", label: "Contract start", required: false, hint: "If missing: one year before the renewal date",
        aliases: &["Contract Start Date", "Contract Start", "Customer Since", "Became a Customer Date", "Contract_Start_Date__c", "Customer_Since__c"] },
    Spec { key: "segment", label: "Segment", required: false, hint: "strategic, enterprise, mid-market, tech-touch; if missing for a new account: from ARR",
        aliases: &["Segment", "Tier", "Customer Tier", "Customer Segment", "CS Segment", "Segment__c", "Tier__c", "Customer_Tier__c"] },
    Spec { key: "stage", label: "Lifecycle stage", required: false, hint: "onboarding, adopted, mature, renewal; if missing, the daily recompute moves it by the stage criteria",
        aliases: &["Customer Stage", "CS Stage", "Lifecycle", "Stage", "Customer_Stage__c"] },
    Spec { key: "owner", label: "Owner (CSM)", required: false, hint: "A Riskdesk user's name, email, Salesforce user id or HubSpot owner id; an owner Riskdesk does not know leaves the account unassigned",
        aliases: &["CSM", "Customer Success Manager", "Account Owner", "Company owner", "Owner", "Account Owner Email", "CSM__c", "OwnerId", "Owner ID", "Account Owner ID", "HubSpot Owner ID", "HubSpot Owner"] },
    Spec { key: "strategic", label: "Strategic", required: false, hint: "yes or no",
        aliases: &["Strategic", "Strategic Account", "Is Strategic", "Strategic__c"] },
    Spec { key: "expansion_potential", label: "Expansion potential", required: false, hint: "none, low, medium, high",
        aliases: &["Expansion Potential", "Expansion_Potential__c", "Upsell Potential"] },
    Spec { key: "industry", label: "Industry", required: false, hint: "", aliases: &["Industry"] },
    Spec { key: "region", label: "Region", required: false, hint: "",
        aliases: &["Region", "Billing Country", "Country/Region", "Country", "BillingCountry", "Sales Region"] },
];

const CONTACTS: &[Spec] = &[
    Spec {
        key: "external_id",
        label: "Contact id",
        required: false,
        hint: "If missing, contacts match on email (else name) within their account",
        aliases: &["Contact ID", "Id", "Record ID", "External ID"],
    },
    Spec {
        key: "account",
        label: "Account",
        required: true,
        hint: "The account's CRM id or exact name",
        aliases: ACCOUNT_REF,
    },
    Spec {
        key: "name",
        label: "Full name",
        required: false,
        hint: "Or first and last name",
        aliases: &["Full Name", "Name", "Contact Name", "Contact"],
    },
    Spec {
        key: "first_name",
        label: "First name",
        required: false,
        hint: "",
        aliases: &["First Name", "FirstName"],
    },
    Spec {
        key: "last_name",
        label: "Last name",
        required: false,
        hint: "",
        aliases: &["Last Name", "LastName"],
    },
    Spec {
        key: "email",
        label: "Email",
        required: false,
        hint: "",
        aliases: &["Email", "Email Address", "Work Email"],
    },
    Spec {
        key: "title",
        label: "Title",
        required: false,
        hint: "",
        aliases: &["Title", "Job Title"],
    },
    Spec {
        key: "role",
        label: "Role",
        required: false,
        hint: "sponsor, champion, user, billing; default user",
        aliases: &[
            "Role",
            "Contact Role",
            "Contact_Role__c",
            "Buying Role",
            "Buying Role(s)",
        ],
    },
    Spec {
        key: "left_on",
        label: "Left on",
        required: false,
        hint: "Date the person left the customer; empty if still there",
        aliases: &[
            "Left On",
            "Left Date",
            "Date Left",
            "Left Company Date",
            "Left_Company_Date__c",
        ],
    },
];

const USAGE: &[Spec] = &[
    Spec {
        key: "account",
        label: "Account",
        required: true,
        hint: "The account's CRM id or exact name",
        aliases: ACCOUNT_REF,
    },
    Spec {
        key: "week",
        label: "Week",
        required: true,
        hint: "Any date in the week; stored as that week's Monday",
        aliases: &[
            "Week",
            "Week Start",
            "Week Of",
            "Date",
            "Period",
            "Snapshot Date",
        ],
    },
    Spec {
        key: "active_users",
        label: "Active users",
        required: true,
        hint: "",
        aliases: &["Active Users", "WAU", "Weekly Active Users", "Users Active"],
    },
    Spec {
        key: "licensed_seats",
        label: "Licensed seats",
        required: true,
        hint: "",
        aliases: &[
            "Licensed Seats",
            "Seats",
            "Licenses",
            "Licensed Users",
            "Seats Purchased",
        ],
    },
    Spec {
        key: "logins",
        label: "Logins",
        required: true,
        hint: "",
        aliases: &["Logins", "Sessions", "Login Count"],
    },
    Spec {
        key: "key_feature_adoption",
        label: "Key feature adoption",
        required: false,
        hint: "0–100 or a fraction; if missing for a new week: the account's last known value",
        aliases: &[
            "Key Feature Adoption",
            "Feature Adoption",
            "Adoption",
            "Adoption %",
            "Key Feature Adoption %",
        ],
    },
];

const TICKETS: &[Spec] = &[
    Spec {
        key: "external_id",
        label: "Ticket id",
        required: true,
        hint: "Unique id in the help desk; re-imports match on it",
        aliases: &[
            "Ticket ID",
            "Case Number",
            "Case ID",
            "Id",
            "Record ID",
            "Ticket Number",
        ],
    },
    Spec {
        key: "account",
        label: "Account",
        required: true,
        hint: "The account's CRM id or exact name",
        aliases: ACCOUNT_REF,
    },
    Spec {
        key: "subject",
        label: "Subject",
        required: true,
        hint: "",
        aliases: &["Subject", "Ticket name", "Title", "Summary"],
    },
    Spec {
        key: "priority",
        label: "Priority",
        required: false,
        hint: "urgent/critical, high, normal/medium, low; default normal",
        aliases: &["Priority", "Severity"],
    },
    Spec {
        key: "category",
        label: "Category",
        required: false,
        hint: "",
        aliases: &[
            "Category",
            "Type",
            "Case Reason",
            "Ticket category",
            "Case Type",
        ],
    },
    Spec {
        key: "opened_at",
        label: "Opened",
        required: true,
        hint: "Date and time, read as UTC without an offset",
        aliases: &[
            "Opened",
            "Opened At",
            "Created Date",
            "Date/Time Opened",
            "Create date",
            "Created at",
            "Created",
        ],
    },
    Spec {
        key: "resolved_at",
        label: "Resolved",
        required: false,
        hint: "Empty while open",
        aliases: &[
            "Resolved",
            "Resolved At",
            "Closed Date",
            "Date/Time Closed",
            "Close date",
            "Solved at",
            "Closed at",
        ],
    },
];

const NPS: &[Spec] = &[
    Spec {
        key: "external_id",
        label: "Response id",
        required: false,
        hint: "If missing, responses match on account, date and email",
        aliases: &["Response ID", "Id", "Survey Response ID", "Record ID"],
    },
    Spec {
        key: "account",
        label: "Account",
        required: true,
        hint: "The account's CRM id or exact name",
        aliases: ACCOUNT_REF,
    },
    Spec {
        key: "score",
        label: "Score",
        required: true,
        hint: "0–10",
        aliases: &[
            "Score",
            "NPS",
            "NPS Score",
            "Rating",
            "Likelihood to Recommend",
        ],
    },
    Spec {
        key: "responded_on",
        label: "Date",
        required: true,
        hint: "",
        aliases: &[
            "Responded On",
            "Response Date",
            "Date",
            "Submitted At",
            "Submitted",
            "Survey Date",
        ],
    },
    Spec {
        key: "comment",
        label: "Comment",
        required: false,
        hint: "",
        aliases: &["Comment", "Feedback", "Reason", "Comments"],
    },
    Spec {
        key: "email",
        label: "Respondent email",
        required: false,
        hint: "Links the response to a contact of the account",
        aliases: &["Email", "Respondent Email", "Contact Email"],
    },
];

fn specs(kind: ImportKind) -> &'static [Spec] {
    match kind {
        ImportKind::Accounts => ACCOUNTS,
        ImportKind::Contacts => CONTACTS,
        ImportKind::Usage => USAGE,
        ImportKind::Tickets => TICKETS,
        ImportKind::Nps => NPS,
    }
}

pub fn fields(kind: ImportKind) -> Vec<FieldInfo> {
    specs(kind)
        .iter()
        .map(|s| FieldInfo {
            key: s.key.into(),
            label: s.label.into(),
            required: s.required,
            hint: s.hint.into(),
        })
        .collect()
}

/// Which column feeds which field; `column` is a header name as `source::layout` made it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldMapping {
    pub field: String,
    pub column: Option<String>,
}

/// The columns each field would read, by alias, earlier aliases winning and each column
/// used once.
pub fn suggest(kind: ImportKind, headers: &[String]) -> Vec<FieldMapping> {
    let normalized: Vec<String> = headers.iter().map(|h| normalize(h)).collect();
    let mut used = vec![false; headers.len()];
    let mut out = Vec::new();
    for spec in specs(kind) {
        let mut column = None;
        'aliases: for alias in spec.aliases {
            let a = normalize(alias);
            for (i, h) in normalized.iter().enumerate() {
                if !used[i] && *h == a {
                    used[i] = true;
                    column = Some(headers[i].clone());
                    break 'aliases;
                }
            }
        }
        out.push(FieldMapping {
            field: spec.key.into(),
            column,
        });
    }
    out
}

/// Names the tool a file came from when its headers give it away.
pub fn recognise(headers: &[String]) -> Option<&'static str> {
    let has = |name: &str| headers.iter().any(|h| normalize(h) == normalize(name));
    if has("Record ID") && (has("Company name") || has("Company owner") || has("Ticket name")) {
        Some("HubSpot")
    } else if (has("Account ID") && (has("Account Name") || has("Account Owner")))
        || has("Case Number")
        || (has("Id") && has("OwnerId"))
        || headers.iter().any(|h| h.ends_with("__c"))
    {
        Some("Salesforce")
    } else {
        None
    }
}

/// Checks a mapping against the kind's fields: known fields, known columns, required
/// fields present, no column feeding two fields.
pub fn check_mapping(
    kind: ImportKind,
    headers: &[String],
    mapping: &[FieldMapping],
) -> crate::Result<Vec<(String, usize)>> {
    let mut resolved = Vec::new();
    for m in mapping {
        let Some(spec) = specs(kind).iter().find(|s| s.key == m.field) else {
            return Err(crate::Error::invalid(
                format!("mapping.{}", m.field),
                format!("{} imports have no such field", kind.label()),
            ));
        };
        let Some(column) = m.column.as_deref().filter(|c| !c.is_empty()) else {
            continue;
        };
        let index = headers.iter().position(|h| h == column).ok_or_else(|| {
            crate::Error::invalid(
                format!("mapping.{}", spec.key),
                format!("the file has no column '{column}'"),
            )
        })?;
        if let Some((other, _)) = resolved.iter().find(|(_, i)| *i == index) {
            return Err(crate::Error::invalid(
                format!("mapping.{}", spec.key),
                format!("column '{column}' already feeds {other}"),
            ));
        }
        resolved.push((spec.key.to_string(), index));
    }
    for spec in specs(kind).iter().filter(|s| s.required) {
        if !resolved.iter().any(|(k, _)| k == spec.key) {
            return Err(crate::Error::invalid(
                format!("mapping.{}", spec.key),
                format!("{} is required: pick the column that holds it", spec.label),
            ));
        }
    }
    if kind == ImportKind::Contacts
        && !resolved
            .iter()
            .any(|(k, _)| k == "name" || k == "first_name" || k == "last_name")
    {
        return Err(crate::Error::invalid(
            "mapping.name",
            "contacts need a full name, or a first or last name column",
        ));
    }
    Ok(resolved)
}
