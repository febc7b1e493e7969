use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

#[test]
fn dates_in_common_formats() {
    for (input, want) in [
        ("2026-11-23", "2026-11-23"),
        ("2026/11/23", "2026-11-23"),
        ("11/23/2026", "2026-11-23"),
        ("23/11/2026", "2026-11-23"),
        ("3/4/2026", "2026-03-04"),
        ("23.11.2026", "2026-11-23"),
        ("Nov 23, 2026", "2026-11-23"),
        ("23 Nov 2026", "2026-11-23"),
        ("23 November 2026", "2026-11-23"),
        ("2026-11-23T22:30:00Z", "2026-11-23"),
        ("2026-11-23 09:15:00", "2026-11-23"),
        ("11/23/2026 3:45 PM", "2026-11-23"),
        ("11/23/26", "2026-11-23"),
    ] {
        assert_eq!(date(input), Ok(d(want)), "{input}");
    }
    for bad in ["", "yesterday", "2026-13-01", "02/30/2026", "31/31/2026"] {
        assert!(date(bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn timestamps_are_utc() {
    let t = datetime("2026-11-23T10:00:00+02:00").expect("rfc3339");
    assert_eq!(t.to_rfc3339(), "2026-11-23T08:00:00+00:00");
    let t = datetime("11/23/2026 3:45 PM").expect("salesforce style");
    assert_eq!(t.to_rfc3339(), "2026-11-23T15:45:00+00:00");
    let t = datetime("2026-11-23").expect("date only");
    assert_eq!(t.to_rfc3339(), "2026-11-23T00:00:00+00:00");
    assert!(datetime("soon").is_err());
}

#[test]
fn weeks_start_on_monday() {
    assert_eq!(week_start(d("2026-11-26")), d("2026-11-23"));
    assert_eq!(week_start(d("2026-11-23")), d("2026-11-23"));
    assert_eq!(week_start(d("2026-11-29")), d("2026-11-23"));
}

fn minor(s: &str, digits: u32) -> (i64, Option<String>) {
    let a = amount(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    (a.to_minor(digits).expect("fits"), a.currency)
}

#[test]
fn amounts_as_people_write_them() {
    let usd = Some("USD".to_string());
    let eur = Some("EUR".to_string());
    assert_eq!(minor("$1,200,000.00", 2), (1_200_000_00, usd.clone()));
    assert_eq!(minor("1.2M", 2), (1_200_000_00, None));
    assert_eq!(minor("1 200 000,00 €", 2), (1_200_000_00, eur.clone()));
    assert_eq!(minor("1.200.000,50", 2), (1_200_000_50, None));
    assert_eq!(minor("EUR 950k", 2), (950_000_00, eur.clone()));
    assert_eq!(minor("950000 EUR", 2), (950_000_00, eur));
    assert_eq!(minor("1,200", 2), (1_200_00, None));
    assert_eq!(minor("1200.5", 2), (1_200_50, None));
    assert_eq!(minor("2.5MM", 2), (2_500_000_00, None));
    assert_eq!(minor("1.5bn", 2), (1_500_000_000_00, None));
    assert_eq!(minor("¥1,500,000", 0), (1_500_000, Some("JPY".into())));
    assert_eq!(minor("US$ 10", 2), (10_00, usd));
    assert_eq!(minor("1'200'000", 2), (1_200_000_00, None));
    assert_eq!(minor("1\u{a0}200\u{a0}000,00", 2), (1_200_000_00, None));
    // Rounds half away from zero to the currency's minor unit.
    assert_eq!(minor("10.005", 2), (10_01, None));
    assert_eq!(minor("10.5", 0), (11, None));
}

#[test]
fn bad_amounts_say_why() {
    for (bad, why) in [
        ("-100", "negative"),
        ("(100)", "negative"),
        ("abc", "not an amount"),
        ("", "not an amount"),
        ("1.2.3,4,5", "not an amount"),
        ("$100 EUR", "two currencies"),
        ("99999999999999999999999999999999999999999", "too large"),
    ] {
        let err = amount(bad).and_then(|a| a.to_minor(2).map(|_| a));
        let msg = err.expect_err(bad);
        assert!(msg.contains(why), "{bad}: {msg}");
    }
    let huge = amount("90000000000000000").expect("parses");
    assert!(huge.to_minor(2).is_err());
}

#[test]
fn counts_percentages_scores_and_flags() {
    assert_eq!(count("1,200"), Ok(1200));
    assert_eq!(count(" 42 "), Ok(42));
    assert_eq!(count("7.0"), Ok(7));
    assert!(count("7.5").is_err());
    assert!(count("-3").unwrap_err().contains("negative"));
    assert_eq!(percent("45"), Ok(45));
    assert_eq!(percent("45.4 %"), Ok(45));
    assert_eq!(percent("0.45"), Ok(45));
    assert_eq!(percent("1"), Ok(1));
    assert!(percent("140%").is_err());
    assert_eq!(nps_score("9"), Ok(9));
    assert_eq!(nps_score("9.0"), Ok(9));
    assert!(nps_score("11").is_err());
    assert!(nps_score("8.5").is_err());
    assert_eq!(flag("Yes"), Ok(true));
    assert_eq!(flag("FALSE"), Ok(false));
    assert!(flag("maybe").is_err());
}

#[test]
fn enum_synonyms_match_loosely() {
    let table: &[(u8, &[&str])] = &[
        (1, &["Mid-market", "MM", "Mid Market"]),
        (2, &["Enterprise"]),
    ];
    assert_eq!(one_of("mid market", "segment", table), Ok(1));
    assert_eq!(one_of("MID_MARKET", "segment", table), Ok(1));
    let err = one_of("Galactic", "segment", table).unwrap_err();
    assert!(
        err.contains("'Galactic' is not a segment (Mid-market, Enterprise)"),
        "{err}"
    );
}
