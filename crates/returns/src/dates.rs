//! Dates and numbers as the forms print them: "07 November 2022", "559,304,838",
//! and the Monthly Return's date lists ("30, 31 May, 1, 2 June and 4 November 2022").

use chrono::{Datelike, NaiveDate};

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

pub fn month_name(month: u32) -> &'static str {
    MONTHS[(month as usize).clamp(1, 12) - 1]
}

/// "07 November 2022" (`two_digit_day`), or "7 November 2022".
pub fn format_long_date(d: NaiveDate, two_digit_day: bool) -> String {
    if two_digit_day {
        format!("{:02} {} {}", d.day(), month_name(d.month()), d.year())
    } else {
        format!("{} {} {}", d.day(), month_name(d.month()), d.year())
    }
}

pub use shareledger_core::calendar::{month_end, previous_month_end};

/// A whole number with thousands separators: "-11,891,200".
pub fn thousands<N: Into<i128>>(n: N) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
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
            item.push_str(month_name(d.month()));
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
        assert_eq!(thousands(559_304_838u64), "559,304,838");
        assert_eq!(thousands(-11_891_200i64), "-11,891,200");
        assert_eq!(thousands(0u64), "0");
        assert_eq!(thousands(100u64), "100");
        assert_eq!(thousands(1000u64), "1,000");
        assert_eq!(month_end(2024, 2), Some(d(2024, 2, 29)));
        assert_eq!(month_end(2022, 12), Some(d(2022, 12, 31)));
        assert_eq!(month_end(2022, 13), None);
        assert_eq!(previous_month_end(2023, 1), Some(d(2022, 12, 31)));
    }
}
