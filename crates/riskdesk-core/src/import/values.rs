//! Reading the values people actually put in CRM and product exports: dates in a dozen
//! shapes, amounts with symbols, grouping and "1.2M", yes/no flags and tier names.
//!
//! Every parser returns the reason a value was refused, phrased for the error report.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

type Parsed<T> = std::result::Result<T, String>;

const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d.%m.%Y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%Y%m%d",
];

const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
];

/// A calendar date. Slashed dates are month first (US, as Salesforce and HubSpot export
/// them) unless the first number cannot be a month.
pub fn date(s: &str) -> Parsed<NaiveDate> {
    let s = s.trim();
    if let Some(d) = slashed_date(s) {
        return d;
    }
    for f in DATE_FORMATS {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Ok(d);
        }
    }
    // A timestamp where a date was asked for: keep its UTC day.
    datetime(s)
        .map(|t| t.date_naive())
        .map_err(|_| format!("'{s}' is not a date (use YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY)"))
}

/// `a/b/yyyy` or `a-b-yyyy`, optionally followed by a time of day.
fn slashed_date(s: &str) -> Option<Parsed<NaiveDate>> {
    let day_part = s.split([' ', 'T']).next()?;
    let sep = if day_part.contains('/') { '/' } else { '-' };
    let parts: Vec<&str> = day_part.split(sep).collect();
    if parts.len() != 3 || parts[0].len() > 2 || parts[1].len() > 2 {
        return None;
    }
    let nums: Vec<u32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let year = match parts[2].len() {
        4 => nums[2] as i32,
        2 => 2000 + nums[2] as i32,
        _ => return None,
    };
    let (month, day) = if nums[0] > 12 {
        (nums[1], nums[0])
    } else {
        (nums[0], nums[1])
    };
    Some(
        NaiveDate::from_ymd_opt(year, month, day)
            .ok_or_else(|| format!("'{s}' is not a real calendar date")),
    )
}

/// A moment in time, read as UTC when it carries no offset. A bare date is its midnight.
pub fn datetime(s: &str) -> Parsed<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f %z") {
        return Ok(t.with_timezone(&Utc));
    }
    for f in DATETIME_FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    // Salesforce report style: "11/23/2026 3:45 PM", or a date alone.
    if let Some(Ok(day)) = slashed_date(s) {
        let time = s.split_once(' ').map(|(_, t)| t.trim()).unwrap_or("");
        let time = if time.is_empty() {
            Some(NaiveTime::MIN)
        } else {
            ["%I:%M %p", "%I:%M:%S %p", "%H:%M", "%H:%M:%S"]
                .iter()
                .find_map(|f| NaiveTime::parse_from_str(time, f).ok())
        };
        if let Some(time) = time {
            return Ok(Utc.from_utc_datetime(&day.and_time(time)));
        }
    }
    for f in DATE_FORMATS {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Ok(Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)));
        }
    }
    Err(format!(
        "'{s}' is not a date and time (use ISO 8601, e.g. 2026-11-23T14:30:00Z)"
    ))
}

/// The Monday of the ISO week a date falls in: usage is stored per week.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - chrono::Duration::days(d.weekday().num_days_from_monday() as i64)
}

/// An amount as written, before it is scaled to a currency's minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount {
    /// All digits, integer and fraction, as one number.
    digits: i128,
    /// How many of `digits` are after the decimal point.
    scale: u32,
    /// Currency named by a symbol or code inside the cell, if any.
    pub currency: Option<String>,
}

const SYMBOLS: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("CA$", "CAD"),
    ("C$", "CAD"),
    ("A$", "AUD"),
    ("AU$", "AUD"),
    ("$", "USD"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("¥", "JPY"),
    ("kr", "SEK"),
    ("CHF", "CHF"),
];

/// "$1,200,000.00", "1.2M", "1 200 000,00 €", "EUR 950k", "1.200.000,50".
pub fn amount(s: &str) -> Parsed<Amount> {
    let original = s.trim();
    let mut rest = original.to_string();
    if rest.starts_with('-') || (rest.starts_with('(') && rest.ends_with(')')) {
        return Err(format!("'{original}' is negative"));
    }
    let mut currency = None;
    // A three-letter code at either end ("USD 1,200", "1 200 EUR").
    let chars: Vec<char> = rest.chars().collect();
    let is_code = |w: &[char]| w.len() == 3 && w.iter().all(|c| c.is_ascii_alphabetic());
    if chars.len() > 3 && is_code(&chars[..3]) && !chars[3].is_ascii_alphabetic() {
        currency = Some(chars[..3].iter().collect::<String>().to_ascii_uppercase());
        rest = chars[3..].iter().collect();
    } else if chars.len() > 3
        && is_code(&chars[chars.len() - 3..])
        && !chars[chars.len() - 4].is_ascii_alphabetic()
    {
        currency = Some(
            chars[chars.len() - 3..]
                .iter()
                .collect::<String>()
                .to_ascii_uppercase(),
        );
        rest = chars[..chars.len() - 3].iter().collect();
    }
    for (symbol, code) in SYMBOLS {
        if rest.contains(symbol) {
            if currency.as_deref().is_some_and(|c| c != *code) {
                return Err(format!("'{original}' names two currencies"));
            }
            currency = Some(code.to_string());
            rest = rest.replacen(symbol, "", 1);
            break;
        }
    }
    let mut text: String = rest
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}' && *c != '\'')
        .collect();
    if text.to_ascii_lowercase().ends_with("bn") {
        text.pop();
    }
    let multiplier = match text.chars().last().map(|c| c.to_ascii_lowercase()) {
        Some('k') => 3,
        Some('m') => 6,
        Some('b') => 9,
        _ => 0,
    };
    if multiplier > 0 {
        text.pop();
        if text.to_ascii_lowercase().ends_with("m") {
            text.pop(); // "MM" is a common way to write millions.
        }
    }
    if text.is_empty()
        || !text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(format!("'{original}' is not an amount"));
    }
    let decimal = decimal_separator(&text);
    let mut digits: i128 = 0;
    let mut scale = 0u32;
    let mut after_point = false;
    for c in text.chars() {
        if Some(c) == decimal {
            if after_point {
                return Err(format!("'{original}' is not an amount"));
            }
            after_point = true;
        } else if let Some(d) = c.to_digit(10) {
            digits = digits
                .checked_mul(10)
                .and_then(|v| v.checked_add(d as i128))
                .ok_or_else(|| format!("'{original}' is too large"))?;
            if after_point {
                scale += 1;
            }
        }
    }
    if scale > 12 {
        return Err(format!("'{original}' has too many decimals"));
    }
    // "1.2M": the multiplier shifts the point instead of multiplying floats.
    if multiplier >= scale {
        digits = digits
            .checked_mul(10i128.pow(multiplier - scale))
            .ok_or_else(|| format!("'{original}' is too large"))?;
        scale = 0;
    } else {
        scale -= multiplier;
    }
    Ok(Amount {
        digits,
        scale,
        currency,
    })
}

/// Which of ',' and '.' separates decimals: the last one when both appear; a lone ','
/// only when one or two digits follow it ("1 200,50"), since "1,200" groups thousands;
/// a lone '.' unless it repeats ("1.200.000").
fn decimal_separator(text: &str) -> Option<char> {
    let last_comma = text.rfind(',');
    let last_dot = text.rfind('.');
    match (last_comma, last_dot) {
        (Some(c), Some(d)) => Some(if c > d { ',' } else { '.' }),
        (Some(c), None) => {
            let tail = text.len() - c - 1;
            (text.matches(',').count() == 1 && (1..=2).contains(&tail)).then_some(',')
        }
        (None, Some(_)) => (text.matches('.').count() == 1).then_some('.'),
        (None, None) => None,
    }
}

impl Amount {
    /// The amount in minor units of a currency with `minor_digits` decimals, rounded half
    /// away from zero.
    pub fn to_minor(&self, minor_digits: u32) -> Parsed<i64> {
        let value = if minor_digits >= self.scale {
            self.digits
                .checked_mul(10i128.pow(minor_digits - self.scale))
                .ok_or("is too large")?
        } else {
            let div = 10i128.pow(self.scale - minor_digits);
            (self.digits + div / 2) / div
        };
        i64::try_from(value)
            .ok()
            .filter(|v| *v <= crate::store::accounts::MAX_SAFE_MINOR)
            .ok_or_else(|| "is too large".to_string())
    }
}

/// A whole number, allowing thousands grouping ("1,200", "1 200") and a zero fraction.
pub fn count(s: &str) -> Parsed<i32> {
    let t = s.trim();
    let cleaned: String = t
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',' && *c != '\'')
        .collect();
    let cleaned = cleaned
        .strip_suffix(".0")
        .or_else(|| cleaned.strip_suffix(".00"))
        .unwrap_or(&cleaned);
    let n: i64 = cleaned
        .parse()
        .map_err(|_| format!("'{t}' is not a whole number"))?;
    if n < 0 {
        return Err(format!("'{t}' is negative"));
    }
    i32::try_from(n).map_err(|_| format!("'{t}' is too large"))
}

/// A share 0–100: "45", "45%", "45.4 %" or a fraction "0.45".
pub fn percent(s: &str) -> Parsed<i32> {
    let t = s.trim();
    let (number, had_sign) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v: f64 = number
        .replace(',', ".")
        .parse()
        .map_err(|_| format!("'{t}' is not a percentage"))?;
    let pct = if !had_sign && number.contains(['.', ',']) && (0.0..=1.0).contains(&v) {
        v * 100.0
    } else {
        v
    };
    if !(0.0..=100.0).contains(&pct) {
        return Err(format!("'{t}' is not between 0 and 100%"));
    }
    Ok(pct.round() as i32)
}

/// A score 0–10 as survey tools export it ("9", "9.0").
pub fn nps_score(s: &str) -> Parsed<i32> {
    let t = s.trim();
    let v: f64 = t
        .parse()
        .map_err(|_| format!("'{t}' is not a score 0–10"))?;
    if v.fract() != 0.0 || !(0.0..=10.0).contains(&v) {
        return Err(format!("'{t}' is not a score 0–10"));
    }
    Ok(v as i32)
}

pub fn flag(s: &str) -> Parsed<bool> {
    match s.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "t" | "1" | "x" | "✓" | "ja" | "oui" | "si" | "sí" => Ok(true),
        "no" | "n" | "false" | "f" | "0" | "-" | "nein" | "non" => Ok(false),
        other => Err(format!("'{other}' is not yes or no")),
    }
}

/// Lower-case letters and digits only: how headers and enum values are compared.
pub fn normalize(s: &str) -> String {
    normalized_chars(s).collect()
}

fn normalized_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
}

/// `normalize(a) == normalize(b)` without allocating: this runs for every enum cell.
fn same_normalized(a: &str, b: &str) -> bool {
    normalized_chars(a).eq(normalized_chars(b))
}

/// Matches `s` against (value, synonyms…) lists after normalizing both.
pub fn one_of<T: Copy>(s: &str, what: &str, table: &[(T, &[&str])]) -> Parsed<T> {
    table
        .iter()
        .find(|(_, names)| names.iter().any(|name| same_normalized(name, s)))
        .map(|(v, _)| *v)
        .ok_or_else(|| {
            let choices: Vec<&str> = table.iter().map(|(_, names)| names[0]).collect();
            format!("'{}' is not a {what} ({})", s.trim(), choices.join(", "))
        })
}

#[cfg(test)]
mod tests;
