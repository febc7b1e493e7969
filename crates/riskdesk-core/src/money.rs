//! Currency conversion in integer arithmetic. Rates are parts per million of the base
//! currency, so no float ever touches an amount.

use std::collections::HashMap;

use crate::{Error, Result};

const PPM: i128 = 1_000_000;

/// The currency ARR is converted into for sorting, totals and reports.
pub const BASE_CURRENCY: &str = "USD";

/// Exchange rates into the base currency.
#[derive(Debug, Clone, Default)]
pub struct FxRates {
    rates_ppm: HashMap<String, i64>,
}

impl FxRates {
    pub fn new(rates_ppm: HashMap<String, i64>) -> Self {
        FxRates { rates_ppm }
    }

    /// Converts minor units of `currency` into minor units of the base currency,
    /// rounding half away from zero.
    pub fn to_base(&self, amount_minor: i64, currency: &str) -> Result<i64> {
        let rate = *self
            .rates_ppm
            .get(currency)
            .ok_or_else(|| Error::UnknownCurrency(currency.to_string()))?;
        let scaled = amount_minor as i128 * rate as i128;
        let rounded = (scaled + PPM / 2).div_euclid(PPM);
        i64::try_from(rounded)
            .map_err(|_| Error::invalid("arr", "amount too large after conversion"))
    }
}

/// A base-currency amount in whole units, as explanations show it: "250,000 USD".
pub fn format_usd(major: f64) -> String {
    format_minor(major.round() as i64, "USD", 0)
}

/// Formats minor units as a grouped decimal amount with its code: "1,234,567.89 EUR".
pub fn format_minor(amount_minor: i64, currency: &str, minor_digits: u32) -> String {
    let scale = 10i64.pow(minor_digits);
    let major = (amount_minor / scale).unsigned_abs().to_string();
    let mut grouped = String::with_capacity(major.len() + major.len() / 3);
    for (i, c) in major.chars().enumerate() {
        if i > 0 && (major.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount_minor < 0 { "-" } else { "" };
    if minor_digits == 0 {
        format!("{sign}{grouped} {currency}")
    } else {
        let frac = (amount_minor % scale).unsigned_abs();
        format!(
            "{sign}{grouped}.{frac:0width$} {currency}",
            width = minor_digits as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_with_integer_rounding() {
        let fx = FxRates::new(HashMap::from([
            ("USD".into(), 1_000_000),
            ("EUR".into(), 1_080_000),
        ]));
        assert_eq!(fx.to_base(100_00, "USD").unwrap(), 100_00);
        assert_eq!(fx.to_base(100_00, "EUR").unwrap(), 108_00);
        assert_eq!(fx.to_base(1, "EUR").unwrap(), 1);
        assert!(matches!(fx.to_base(1, "XYZ"), Err(Error::UnknownCurrency(c)) if c == "XYZ"));
    }

    #[test]
    fn formats_grouped_amounts() {
        assert_eq!(format_minor(123_456_789, "EUR", 2), "1,234,567.89 EUR");
        assert_eq!(format_minor(5, "USD", 2), "0.05 USD");
        assert_eq!(format_minor(-100_000, "USD", 2), "-1,000.00 USD");
        assert_eq!(format_minor(1_500_000, "JPY", 0), "1,500,000 JPY");
        assert_eq!(format_minor(999, "USD", 2), "9.99 USD");
    }
}

/// A count with thousands separators, as people read it: 2500 → "2,500".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod thousands_tests {
    #[test]
    fn counts_read_with_separators() {
        assert_eq!(super::thousands(2500), "2,500");
        assert_eq!(super::thousands(1_048_576), "1,048,576");
        assert_eq!(super::thousands(999), "999");
    }
}
