//! Dates and numbers as the forms print them: "07 November 2022", "559,304,838",
//! and the Monthly Return's date lists ("30, 31 May, 1, 2 June and 4 November 2022").

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// "07 November 2022" (`two_digit_day`), or "7 November 2022": chrono's
/// English month names.
pub fn format_long_date(d: NaiveDate, two_digit_day: bool) -> String {
    let mut out = String::with_capacity(18);
    push_long_date(&mut out, d, two_digit_day);
    out
}

/// chrono's English month names (`%B`).
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// [`format_long_date`] appended to `out`: the same text as chrono's
/// `%d %B %Y` (`%-d` without `two_digit_day`), written without parsing a
/// format string (the audit writes one or two per finding). A year chrono
/// would write otherwise than as four digits goes through chrono.
pub fn push_long_date(out: &mut String, d: NaiveDate, two_digit_day: bool) {
    use std::fmt::Write as _;
    let (day, month, year) = (d.day(), d.month0() as usize, d.year());
    if !(0..=9999).contains(&year) {
        let _ = match two_digit_day {
            true => write!(out, "{}", d.format("%d %B %Y")),
            false => write!(out, "{}", d.format("%-d %B %Y")),
        };
        return;
    }
    let _ = match two_digit_day {
        true => write!(out, "{day:02} {} {year:04}", MONTHS[month]),
        false => write!(out, "{day} {} {year:04}", MONTHS[month]),
    };
}

pub use shareledger_core::calendar::{month_end, previous_month_end};

/// A number's text with thousands separators in its integer part:
/// "-11891200" → "-11,891,200", "2341000.00" → "2,341,000.00". `None` when
/// `text` is not a plain decimal (an optional sign, digits, an optional
/// fraction). The one thousands separator of the ledger: [`thousands`] and
/// [`amount`] are it for numbers.
pub fn with_thousands_separators(text: &str) -> Option<String> {
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_only(int) || frac.is_some_and(|f| !digits_only(f)) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

/// A whole number with thousands separators: "-11,891,200".
pub fn thousands<N: Into<i128>>(n: N) -> String {
    let n: i128 = n.into();
    with_thousands_separators(&n.to_string()).expect("an integer's text is a plain decimal")
}

/// An amount with thousands separators, as recorded: 2341000.00 → "2,341,000.00".
pub fn amount(d: Decimal) -> String {
    with_thousands_separators(&d.to_string()).expect("a decimal's text is a plain decimal")
}

/// The Monthly Return's list of dates: days grouped by month, the month named
/// after its last day, the year after the last date of each year, the last
/// two items joined with "and" (domain.md 3.2).
pub fn format_remark_dates(dates: &[NaiveDate]) -> String {
    let mut sorted = dates.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut items: Vec<String> = Vec::with_capacity(sorted.len());
    for (i, d) in sorted.iter().enumerate() {
        let next = sorted.get(i + 1);
        let mut item = d.day().to_string();
        let last_of_month = next.is_none_or(|n| (n.year(), n.month()) != (d.year(), d.month()));
        let last_of_year = next.is_none_or(|n| n.year() != d.year());
        if last_of_month {
            item.push(' ');
            item.push_str(&d.format("%B").to_string());
        }
        if last_of_year {
            item.push(' ');
            item.push_str(&d.year().to_string());
        }
        items.push(item);
    }
    match items.len() {
        0 => String::new(),
        1 => items.pop().expect("one"),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn long_dates_are_chrono_s() {
        use chrono::{Days, NaiveDate};
        let mut d = NaiveDate::from_ymd_opt(1999, 12, 25).unwrap();
        while d.year() < 2032 {
            assert_eq!(format_long_date(d, true), d.format("%d %B %Y").to_string());
            assert_eq!(
                format_long_date(d, false),
                d.format("%-d %B %Y").to_string()
            );
            d = d + Days::new(3);
        }
        for d in [
            NaiveDate::MIN,
            NaiveDate::MAX,
            NaiveDate::from_ymd_opt(12, 1, 9).unwrap(),
        ] {
            assert_eq!(format_long_date(d, true), d.format("%d %B %Y").to_string());
            assert_eq!(
                format_long_date(d, false),
                d.format("%-d %B %Y").to_string()
            );
        }
    }

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_seed_remarks_date_list() {
        let dates = [
            d(2022, 5, 30),
            d(2022, 5, 31),
            d(2022, 6, 1),
            d(2022, 6, 2),
            d(2022, 6, 13),
            d(2022, 6, 14),
            d(2022, 6, 20),
            d(2022, 6, 21),
            d(2022, 6, 22),
            d(2022, 6, 23),
            d(2022, 6, 24),
            d(2022, 6, 28),
            d(2022, 6, 30),
            d(2022, 7, 6),
            d(2022, 7, 7),
            d(2022, 7, 8),
            d(2022, 7, 14),
            d(2022, 7, 21),
            d(2022, 7, 29),
            d(2022, 9, 30),
            d(2022, 11, 4),
            d(2022, 11, 7),
            d(2022, 11, 8),
            d(2022, 11, 9),
            d(2022, 11, 10),
            d(2022, 11, 11),
            d(2022, 11, 18),
        ];
        assert_eq!(
            format_remark_dates(&dates),
            "30, 31 May, 1, 2, 13, 14, 20, 21, 22, 23, 24, 28, 30 June, 6, 7, 8, 14, 21, 29 July, \
             30 September, 4, 7, 8, 9, 10, 11 and 18 November 2022"
        );
    }

    #[test]
    fn a_change_of_year_and_short_lists() {
        assert_eq!(
            format_remark_dates(&[d(2022, 12, 28), d(2023, 1, 3), d(2023, 1, 4)]),
            "28 December 2022, 3 and 4 January 2023"
        );
        assert_eq!(format_remark_dates(&[d(2022, 12, 28)]), "28 December 2022");
        assert_eq!(
            format_remark_dates(&[d(2022, 12, 28), d(2023, 2, 1)]),
            "28 December 2022 and 1 February 2023"
        );
        assert_eq!(
            format_remark_dates(&[d(2022, 3, 1), d(2022, 3, 2)]),
            "1 and 2 March 2022"
        );
        assert_eq!(format_remark_dates(&[]), "");
    }

    #[test]
    fn form_dates_and_numbers() {
        assert_eq!(format_long_date(d(2022, 11, 7), true), "07 November 2022");
        assert_eq!(format_long_date(d(2022, 11, 30), false), "30 November 2022");
        assert_eq!(format_long_date(d(2023, 1, 3), false), "3 January 2023");
        assert_eq!(format_long_date(d(2023, 1, 3), true), "03 January 2023");
        // Every month's name, as the forms print it.
        let names: Vec<String> = (1..=12)
            .map(|m| format_long_date(d(2024, m, 1), true))
            .collect();
        assert_eq!(
            names,
            [
                "01 January 2024",
                "01 February 2024",
                "01 March 2024",
                "01 April 2024",
                "01 May 2024",
                "01 June 2024",
                "01 July 2024",
                "01 August 2024",
                "01 September 2024",
                "01 October 2024",
                "01 November 2024",
                "01 December 2024",
            ]
        );
        assert_eq!(thousands(559_304_838u64), "559,304,838");
        assert_eq!(thousands(-11_891_200i64), "-11,891,200");
        assert_eq!(thousands(0u64), "0");
        assert_eq!(thousands(100u64), "100");
        assert_eq!(thousands(1000u64), "1,000");
        assert_eq!(thousands(-100i64), "-100");
        assert_eq!(thousands(-123_456i64), "-123,456");
        assert_eq!(
            thousands(i128::MIN),
            "-170,141,183,460,469,231,731,687,303,715,884,105,728"
        );
        let dec = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(amount(dec("2341000.00")), "2,341,000.00");
        assert_eq!(amount(dec("92569")), "92,569");
        assert_eq!(amount(dec("-0.5")), "-0.5");
        assert_eq!(amount(dec("999.999")), "999.999");
        assert_eq!(
            with_thousands_separators("1234567.891"),
            Some("1,234,567.891".into())
        );
        assert_eq!(with_thousands_separators("-1234"), Some("-1,234".into()));
        assert_eq!(with_thousands_separators("12a4"), None);
        assert_eq!(with_thousands_separators(".5"), None);
        assert_eq!(with_thousands_separators("1.2.3"), None);
        assert_eq!(with_thousands_separators(""), None);
        assert_eq!(month_end(2024, 2), Some(d(2024, 2, 29)));
        assert_eq!(month_end(2022, 12), Some(d(2022, 12, 31)));
        assert_eq!(month_end(2022, 13), None);
        assert_eq!(previous_month_end(2023, 1), Some(d(2022, 12, 31)));
    }
}
