//! Hong Kong business-day calendar and filing deadlines for NDDR and Monthly Return.
//!
//! This module answers two questions for the share register:
//!
//! 1. Is a given date a Hong Kong **business day**? That means Monday to Friday,
//!    not a Hong Kong general holiday, and not a day on which the market was
//!    closed for some other reason, such as a typhoon signal No. 8 or a black
//!    rainstorm warning. Those other closures are recorded as events and passed
//!    in through [`BusinessCalendar::add_market_closure`].
//! 2. When is a return due? The Next Day Disclosure Return (NDDR) is due at
//!    08:30 Hong Kong time on the business day after the event date. The Monthly
//!    Return is due at 08:30 Hong Kong time on the fifth business day after the
//!    last day of the month.
//!
//! The module is pure. It does no I/O and never reads the clock: every date comes
//! in as an argument, and every deadline goes out as a
//! `DateTime<FixedOffset>` at UTC+08:00. It uses no floating point.
//!
//! # Source of the holiday data
//!
//! The table below lists the **general holidays** of Hong Kong for 2015 to 2030
//! inclusive. These are the days appointed under the General Holidays Ordinance
//! (Cap. 149), the days popularly called "bank holidays". The Stock Exchange of
//! Hong Kong does not trade on them. For each year the Government gazettes the
//! list and publishes it on GovHK (`www.gov.hk/en/about/abouthk/holiday/`). The
//! names used here follow the English wording of those lists.
//!
//! * **2015–2026** come from the gazetted lists. The one-off general holiday on
//!   3 September 2015 is also included. It was made under the Special Holiday
//!   (3 September 2015) Ordinance for the 70th anniversary of the victory in the
//!   War of Resistance.
//! * **2027–2030** had not been gazetted when this table was written. They were
//!   **computed** by applying the rules of Cap. 149 (set out below) to the
//!   Chinese-calendar dates (Lunar New Year, the Birthday of the Buddha, Tuen Ng,
//!   Mid-Autumn, Chung Yeung), the Ching Ming solar term (reckoned at UTC+08:00)
//!   and Gregorian Easter. Check these rows against each year's gazette once it is
//!   published. The Government can also appoint extra or substitute holidays by
//!   resolution, as it did in 2015, and no table can predict those.
//!
//! Statutory holidays under the Employment Ordinance (Cap. 57) are a different
//! list. Since 2022 that list has been growing toward the general holidays (the
//! Birthday of the Buddha in 2022, the first weekday after Christmas Day in 2024,
//! Easter Monday in 2026, and so on). Those changes did not alter the
//! general holidays, and the Exchange calendar follows the general holidays, so
//! they are ignored here.
//!
//! ## Rules of Cap. 149 that the table reflects
//!
//! * Every Sunday is a general holiday. The table does **not** list Sundays,
//!   and it does not list a named festival on a day when that festival fell on a
//!   Sunday. The gazette lists the substitute day instead, and so does the table.
//! * If Lunar New Year's Day, or its second or third day, falls on a Sunday, the
//!   *fourth* day of Lunar New Year is a holiday. This is the rule since the 2011
//!   amendment. Before that it was the day preceding Lunar New Year's Day.
//! * If the day following the Chinese Mid-Autumn Festival is a Sunday, the
//!   *second* day following the festival is the holiday instead.
//! * If Christmas Day falls on a Sunday, the first and second weekdays after
//!   Christmas Day are the holidays. Otherwise the holidays are Christmas Day and
//!   the first weekday after it. In the Ordinance, "weekday" means any day other
//!   than a Sunday, so that day may be a Saturday.
//! * If any other holiday falls on a Sunday, the day following it is a holiday.
//!   If that day is already a holiday, the next day that is not a general holiday
//!   takes its place. In 2015, 2021 and 2026, Ching Ming Festival fell on Easter
//!   Sunday, which gave a holiday on the Tuesday after Easter. The gazette
//!   calls it "the day following Easter Monday".
//! * A holiday on a Saturday is **not** moved. Saturday holidays are still listed,
//!   even though a Saturday is never a business day here anyway.
//!
//! # Assumptions
//!
//! * **Years outside 2015–2030 are treated as having no holidays.** In those
//!   years only weekends, plus any recorded market closures, are non-business days.
//!   [`BusinessCalendar::covers`] tells a caller whether a date's year has holiday
//!   data, so that it can refuse or flag a deadline computed without that data.
//! * **Half-day trading counts as a business day.** This covers the half days on
//!   Christmas Eve, New Year's Eve and Lunar New Year's Eve, when the Exchange has
//!   no afternoon session.
//! * **A market closure closes the whole day.** Typhoon or black-rainstorm
//!   closures are recorded by date. Hong Kong's published rule decides when a
//!   signal that is hoisted or lowered during the day makes the day a
//!   non-business day. Applying that rule is the caller's job, and the caller
//!   records the result here as a closure.
//! * **Hong Kong time is UTC+08:00 all year.** Hong Kong has observed no daylight
//!   saving time since 1979.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Weekday};

use crate::rules::MONTHLY_DUE_BUSINESS_DAY;

/// Years for which the general-holiday table is complete.
pub const HOLIDAY_YEARS: RangeInclusive<i32> = 2015..=2030;

/// Returns the gazetted name of `d` if it is a Hong Kong general holiday in the table.
///
/// This returns `None` for ordinary Sundays, although every Sunday is a general
/// holiday under Cap. 149. It also returns `None` for a festival that fell on a
/// Sunday. In that case the substitute day carries the name, for example
/// "The day following National Day". Outside [`HOLIDAY_YEARS`] it always
/// returns `None`.
pub fn general_holiday(d: NaiveDate) -> Option<&'static str> {
    let key = (d.year(), d.month(), d.day());
    GENERAL_HOLIDAYS
        .binary_search_by_key(&key, |&(y, m, day, _)| (y, m, day))
        .ok()
        .map(|i| GENERAL_HOLIDAYS[i].3)
}

/// Returns every tabulated general holiday in date order, with its gazetted name.
pub fn general_holidays() -> impl Iterator<Item = (NaiveDate, &'static str)> {
    GENERAL_HOLIDAYS.iter().map(|&(y, m, d, name)| {
        let date = NaiveDate::from_ymd_opt(y, m, d).expect("holiday table holds valid dates");
        (date, name)
    })
}

/// Returns Hong Kong's offset from UTC: +08:00, with no daylight saving time.
pub fn hong_kong_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// The hour and minute, in Hong Kong time, at which an NDDR or a Monthly Return falls due.
fn filing_time() -> NaiveTime {
    NaiveTime::from_hms_opt(8, 30, 0).expect("08:30:00 is a valid time")
}

fn succ(d: NaiveDate) -> NaiveDate {
    d.succ_opt()
        .expect("date arithmetic stays within chrono's supported range")
}

/// The Hong Kong business-day calendar: weekends, general holidays, and recorded
/// market closures.
///
/// The calendar holds only the closures added to it. The holiday table is static.
/// Rebuild it by replaying the closure events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessCalendar {
    closures: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    /// Creates a calendar with the general holidays and no market closures.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a whole-day market closure on `d`, for example a typhoon signal
    /// No. 8 or a black rainstorm warning that kept the Exchange shut all day.
    /// Adding the same date twice, or adding a weekend or holiday, has no further
    /// effect.
    pub fn add_market_closure(&mut self, d: NaiveDate) {
        self.closures.insert(d);
    }

    /// Returns the recorded market closures in date order.
    pub fn market_closures(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.closures.iter().copied()
    }

    /// Returns whether the general-holiday table covers the year of `d`.
    ///
    /// When it returns `false`, business-day answers for `d` still account for
    /// weekends and recorded closures, but they ignore any holidays.
    pub fn covers(&self, d: NaiveDate) -> bool {
        HOLIDAY_YEARS.contains(&d.year())
    }

    /// Returns `true` when `d` is Monday to Friday, is not a general holiday, and
    /// is not a recorded market closure.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
            && general_holiday(d).is_none()
            && !self.closures.contains(&d)
    }

    /// Returns the first business day strictly after `d`.
    ///
    /// # Panics
    ///
    /// Panics only if the search runs past chrono's maximum date.
    pub fn next_business_day(&self, d: NaiveDate) -> NaiveDate {
        let mut day = succ(d);
        while !self.is_business_day(day) {
            day = succ(day);
        }
        day
    }

    /// Returns the `n`th business day strictly after `d`.
    ///
    /// `n = 1` gives the same result as [`Self::next_business_day`]. `n = 0`
    /// returns `d` unchanged, so
    /// `business_days_between(d, nth_business_day_after(d, n)) == n` for every `n`.
    pub fn nth_business_day_after(&self, d: NaiveDate, n: u32) -> NaiveDate {
        (0..n).fold(d, |day, _| self.next_business_day(day))
    }

    /// Counts the business days in the half-open interval
    /// `(from_exclusive, to_inclusive]`. Returns 0 when `to_inclusive <= from_exclusive`.
    pub fn business_days_between(&self, from_exclusive: NaiveDate, to_inclusive: NaiveDate) -> u32 {
        let mut count = 0;
        let mut day = from_exclusive;
        while day < to_inclusive {
            day = succ(day);
            if self.is_business_day(day) {
                count += 1;
            }
        }
        count
    }

    /// NDDR: 08:30 Hong Kong time (UTC+08:00, no DST) on the business day after the event date.
    pub fn nddr_deadline(&self, event_date: NaiveDate) -> DateTime<FixedOffset> {
        at_filing_time(self.next_business_day(event_date))
    }

    /// Monthly Return for (year, month): 08:30 Hong Kong time on the 5th business day after the month's last day.
    ///
    /// # Panics
    ///
    /// Panics if `month` is not in `1..=12` or the year is outside chrono's range.
    pub fn monthly_deadline(&self, year: i32, month: u32) -> DateTime<FixedOffset> {
        assert!(
            (1..=12).contains(&month),
            "monthly_deadline: month must be 1..=12, got {month}"
        );
        let last_day =
            month_end(year, month).expect("monthly_deadline: year within chrono's supported range");
        at_filing_time(self.nth_business_day_after(last_day, MONTHLY_DUE_BUSINESS_DAY))
    }
}

/// The last day of a month; `None` for a month that is not 1 to 12 (or a
/// year beyond chrono's range). The one month-end of the ledger: the Monthly
/// Return's date, its deadline and its period all come from it.
pub fn month_end(year: i32, month: u32) -> Option<NaiveDate> {
    if !(1..=12).contains(&month) {
        return None;
    }
    let (y, m) = next_month(year, month);
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

/// The last day of the month before (year, month).
pub fn previous_month_end(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, 1)?.pred_opt()
}

/// Whether `date` is the last day of its month.
pub fn is_month_end(date: NaiveDate) -> bool {
    month_end(date.year(), date.month()) == Some(date)
}

/// The (year, month) after (year, month); December is followed by January.
pub fn next_month(year: i32, month: u32) -> (i32, u32) {
    if month >= 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

fn at_filing_time(d: NaiveDate) -> DateTime<FixedOffset> {
    d.and_time(filing_time())
        .and_local_timezone(hong_kong_offset())
        .single()
        .expect("a fixed offset maps every local time to exactly one instant")
}

// ---------------------------------------------------------------------------
// Holiday names, worded as in the GovHK lists.
// ---------------------------------------------------------------------------

const FIRST_JAN: &str = "The first day of January";
const FIRST_JAN_FOLLOWING: &str = "The day following the first day of January";
const LNY_1: &str = "Lunar New Year's Day";
const LNY_2: &str = "The second day of Lunar New Year";
const LNY_3: &str = "The third day of Lunar New Year";
const LNY_4: &str = "The fourth day of Lunar New Year";
const CHING_MING: &str = "Ching Ming Festival";
const CHING_MING_FOLLOWING: &str = "The day following Ching Ming Festival";
const GOOD_FRIDAY: &str = "Good Friday";
const GOOD_FRIDAY_FOLLOWING: &str = "The day following Good Friday";
const EASTER_MONDAY: &str = "Easter Monday";
const EASTER_MONDAY_FOLLOWING: &str = "The day following Easter Monday";
const LABOUR_DAY: &str = "Labour Day";
const LABOUR_DAY_FOLLOWING: &str = "The day following Labour Day";
const BUDDHA: &str = "The Birthday of the Buddha";
const BUDDHA_FOLLOWING: &str = "The day following the Birthday of the Buddha";
const TUEN_NG: &str = "Tuen Ng Festival";
const TUEN_NG_FOLLOWING: &str = "The day following Tuen Ng Festival";
const HKSAR_DAY: &str = "Hong Kong Special Administrative Region Establishment Day";
const HKSAR_DAY_FOLLOWING: &str =
    "The day following Hong Kong Special Administrative Region Establishment Day";
const MID_AUTUMN_FOLLOWING: &str = "The day following the Chinese Mid-Autumn Festival";
const MID_AUTUMN_SECOND: &str = "The second day following the Chinese Mid-Autumn Festival";
const NATIONAL_DAY: &str = "National Day";
const NATIONAL_DAY_FOLLOWING: &str = "The day following National Day";
const CHUNG_YEUNG: &str = "Chung Yeung Festival";
const CHUNG_YEUNG_FOLLOWING: &str = "The day following Chung Yeung Festival";
const CHRISTMAS: &str = "Christmas Day";
const CHRISTMAS_FIRST_WEEKDAY: &str = "The first weekday after Christmas Day";
const CHRISTMAS_SECOND_WEEKDAY: &str = "The second weekday after Christmas Day";
const SPECIAL_2015_09_03: &str = "Special holiday: 70th anniversary of the victory of the \
     Chinese people's War of Resistance against Japanese Aggression";

/// General holidays 2015–2030 (excluding ordinary Sundays), sorted by date.
///
/// Each year has 17 entries, and 2015 has 18 because of the special holiday on
/// 3 September. Tests check the ordering, the counts, Easter by computus, and the
/// full derivation from base festival dates under the Cap. 149 rules.
#[rustfmt::skip]
const GENERAL_HOLIDAYS: &[(i32, u32, u32, &str)] = &[
    // 2015: gazetted. Ching Ming (5 Apr) was Easter Sunday.
    (2015, 1, 1, FIRST_JAN),
    (2015, 2, 19, LNY_1),
    (2015, 2, 20, LNY_2),
    (2015, 2, 21, LNY_3),
    (2015, 4, 3, GOOD_FRIDAY),
    (2015, 4, 4, GOOD_FRIDAY_FOLLOWING),
    (2015, 4, 6, CHING_MING_FOLLOWING),
    (2015, 4, 7, EASTER_MONDAY_FOLLOWING),
    (2015, 5, 1, LABOUR_DAY),
    (2015, 5, 25, BUDDHA),
    (2015, 6, 20, TUEN_NG),
    (2015, 7, 1, HKSAR_DAY),
    (2015, 9, 3, SPECIAL_2015_09_03),
    (2015, 9, 28, MID_AUTUMN_FOLLOWING),
    (2015, 10, 1, NATIONAL_DAY),
    (2015, 10, 21, CHUNG_YEUNG),
    (2015, 12, 25, CHRISTMAS),
    (2015, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2016: gazetted. Labour Day, Chung Yeung and Christmas fell on Sundays.
    (2016, 1, 1, FIRST_JAN),
    (2016, 2, 8, LNY_1),
    (2016, 2, 9, LNY_2),
    (2016, 2, 10, LNY_3),
    (2016, 3, 25, GOOD_FRIDAY),
    (2016, 3, 26, GOOD_FRIDAY_FOLLOWING),
    (2016, 3, 28, EASTER_MONDAY),
    (2016, 4, 4, CHING_MING),
    (2016, 5, 2, LABOUR_DAY_FOLLOWING),
    (2016, 5, 14, BUDDHA),
    (2016, 6, 9, TUEN_NG),
    (2016, 7, 1, HKSAR_DAY),
    (2016, 9, 16, MID_AUTUMN_FOLLOWING),
    (2016, 10, 1, NATIONAL_DAY),
    (2016, 10, 10, CHUNG_YEUNG_FOLLOWING),
    (2016, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    (2016, 12, 27, CHRISTMAS_SECOND_WEEKDAY),
    // 2017: gazetted. 1 Jan, the second day of Lunar New Year and National Day fell on Sundays.
    (2017, 1, 2, FIRST_JAN_FOLLOWING),
    (2017, 1, 28, LNY_1),
    (2017, 1, 30, LNY_3),
    (2017, 1, 31, LNY_4),
    (2017, 4, 4, CHING_MING),
    (2017, 4, 14, GOOD_FRIDAY),
    (2017, 4, 15, GOOD_FRIDAY_FOLLOWING),
    (2017, 4, 17, EASTER_MONDAY),
    (2017, 5, 1, LABOUR_DAY),
    (2017, 5, 3, BUDDHA),
    (2017, 5, 30, TUEN_NG),
    (2017, 7, 1, HKSAR_DAY),
    (2017, 10, 2, NATIONAL_DAY_FOLLOWING),
    (2017, 10, 5, MID_AUTUMN_FOLLOWING),
    (2017, 10, 28, CHUNG_YEUNG),
    (2017, 12, 25, CHRISTMAS),
    (2017, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2018: gazetted. The third day of Lunar New Year and 1 July fell on Sundays.
    (2018, 1, 1, FIRST_JAN),
    (2018, 2, 16, LNY_1),
    (2018, 2, 17, LNY_2),
    (2018, 2, 19, LNY_4),
    (2018, 3, 30, GOOD_FRIDAY),
    (2018, 3, 31, GOOD_FRIDAY_FOLLOWING),
    (2018, 4, 2, EASTER_MONDAY),
    (2018, 4, 5, CHING_MING),
    (2018, 5, 1, LABOUR_DAY),
    (2018, 5, 22, BUDDHA),
    (2018, 6, 18, TUEN_NG),
    (2018, 7, 2, HKSAR_DAY_FOLLOWING),
    (2018, 9, 25, MID_AUTUMN_FOLLOWING),
    (2018, 10, 1, NATIONAL_DAY),
    (2018, 10, 17, CHUNG_YEUNG),
    (2018, 12, 25, CHRISTMAS),
    (2018, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2019: gazetted. The Birthday of the Buddha fell on a Sunday.
    (2019, 1, 1, FIRST_JAN),
    (2019, 2, 5, LNY_1),
    (2019, 2, 6, LNY_2),
    (2019, 2, 7, LNY_3),
    (2019, 4, 5, CHING_MING),
    (2019, 4, 19, GOOD_FRIDAY),
    (2019, 4, 20, GOOD_FRIDAY_FOLLOWING),
    (2019, 4, 22, EASTER_MONDAY),
    (2019, 5, 1, LABOUR_DAY),
    (2019, 5, 13, BUDDHA_FOLLOWING),
    (2019, 6, 7, TUEN_NG),
    (2019, 7, 1, HKSAR_DAY),
    (2019, 9, 14, MID_AUTUMN_FOLLOWING),
    (2019, 10, 1, NATIONAL_DAY),
    (2019, 10, 7, CHUNG_YEUNG),
    (2019, 12, 25, CHRISTMAS),
    (2019, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2020: gazetted. The second day of Lunar New Year and Chung Yeung fell on Sundays.
    (2020, 1, 1, FIRST_JAN),
    (2020, 1, 25, LNY_1),
    (2020, 1, 27, LNY_3),
    (2020, 1, 28, LNY_4),
    (2020, 4, 4, CHING_MING),
    (2020, 4, 10, GOOD_FRIDAY),
    (2020, 4, 11, GOOD_FRIDAY_FOLLOWING),
    (2020, 4, 13, EASTER_MONDAY),
    (2020, 4, 30, BUDDHA),
    (2020, 5, 1, LABOUR_DAY),
    (2020, 6, 25, TUEN_NG),
    (2020, 7, 1, HKSAR_DAY),
    (2020, 10, 1, NATIONAL_DAY),
    (2020, 10, 2, MID_AUTUMN_FOLLOWING),
    (2020, 10, 26, CHUNG_YEUNG_FOLLOWING),
    (2020, 12, 25, CHRISTMAS),
    (2020, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2021: gazetted. The third day of Lunar New Year fell on a Sunday, and Ching Ming (4 Apr) was Easter Sunday.
    (2021, 1, 1, FIRST_JAN),
    (2021, 2, 12, LNY_1),
    (2021, 2, 13, LNY_2),
    (2021, 2, 15, LNY_4),
    (2021, 4, 2, GOOD_FRIDAY),
    (2021, 4, 3, GOOD_FRIDAY_FOLLOWING),
    (2021, 4, 5, CHING_MING_FOLLOWING),
    (2021, 4, 6, EASTER_MONDAY_FOLLOWING),
    (2021, 5, 1, LABOUR_DAY),
    (2021, 5, 19, BUDDHA),
    (2021, 6, 14, TUEN_NG),
    (2021, 7, 1, HKSAR_DAY),
    (2021, 9, 22, MID_AUTUMN_FOLLOWING),
    (2021, 10, 1, NATIONAL_DAY),
    (2021, 10, 14, CHUNG_YEUNG),
    (2021, 12, 25, CHRISTMAS),
    (2021, 12, 27, CHRISTMAS_FIRST_WEEKDAY),
    // 2022: gazetted. Labour Day, the Buddha's Birthday, the day following Mid-Autumn and Christmas fell on Sundays.
    (2022, 1, 1, FIRST_JAN),
    (2022, 2, 1, LNY_1),
    (2022, 2, 2, LNY_2),
    (2022, 2, 3, LNY_3),
    (2022, 4, 5, CHING_MING),
    (2022, 4, 15, GOOD_FRIDAY),
    (2022, 4, 16, GOOD_FRIDAY_FOLLOWING),
    (2022, 4, 18, EASTER_MONDAY),
    (2022, 5, 2, LABOUR_DAY_FOLLOWING),
    (2022, 5, 9, BUDDHA_FOLLOWING),
    (2022, 6, 3, TUEN_NG),
    (2022, 7, 1, HKSAR_DAY),
    (2022, 9, 12, MID_AUTUMN_SECOND),
    (2022, 10, 1, NATIONAL_DAY),
    (2022, 10, 4, CHUNG_YEUNG),
    (2022, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    (2022, 12, 27, CHRISTMAS_SECOND_WEEKDAY),
    // 2023: gazetted. 1 Jan, Lunar New Year's Day and National Day fell on Sundays.
    (2023, 1, 2, FIRST_JAN_FOLLOWING),
    (2023, 1, 23, LNY_2),
    (2023, 1, 24, LNY_3),
    (2023, 1, 25, LNY_4),
    (2023, 4, 5, CHING_MING),
    (2023, 4, 7, GOOD_FRIDAY),
    (2023, 4, 8, GOOD_FRIDAY_FOLLOWING),
    (2023, 4, 10, EASTER_MONDAY),
    (2023, 5, 1, LABOUR_DAY),
    (2023, 5, 26, BUDDHA),
    (2023, 6, 22, TUEN_NG),
    (2023, 7, 1, HKSAR_DAY),
    (2023, 9, 30, MID_AUTUMN_FOLLOWING),
    (2023, 10, 2, NATIONAL_DAY_FOLLOWING),
    (2023, 10, 23, CHUNG_YEUNG),
    (2023, 12, 25, CHRISTMAS),
    (2023, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2024: gazetted. The second day of Lunar New Year fell on a Sunday.
    (2024, 1, 1, FIRST_JAN),
    (2024, 2, 10, LNY_1),
    (2024, 2, 12, LNY_3),
    (2024, 2, 13, LNY_4),
    (2024, 3, 29, GOOD_FRIDAY),
    (2024, 3, 30, GOOD_FRIDAY_FOLLOWING),
    (2024, 4, 1, EASTER_MONDAY),
    (2024, 4, 4, CHING_MING),
    (2024, 5, 1, LABOUR_DAY),
    (2024, 5, 15, BUDDHA),
    (2024, 6, 10, TUEN_NG),
    (2024, 7, 1, HKSAR_DAY),
    (2024, 9, 18, MID_AUTUMN_FOLLOWING),
    (2024, 10, 1, NATIONAL_DAY),
    (2024, 10, 11, CHUNG_YEUNG),
    (2024, 12, 25, CHRISTMAS),
    (2024, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2025: gazetted.
    (2025, 1, 1, FIRST_JAN),
    (2025, 1, 29, LNY_1),
    (2025, 1, 30, LNY_2),
    (2025, 1, 31, LNY_3),
    (2025, 4, 4, CHING_MING),
    (2025, 4, 18, GOOD_FRIDAY),
    (2025, 4, 19, GOOD_FRIDAY_FOLLOWING),
    (2025, 4, 21, EASTER_MONDAY),
    (2025, 5, 1, LABOUR_DAY),
    (2025, 5, 5, BUDDHA),
    (2025, 5, 31, TUEN_NG),
    (2025, 7, 1, HKSAR_DAY),
    (2025, 10, 1, NATIONAL_DAY),
    (2025, 10, 7, MID_AUTUMN_FOLLOWING),
    (2025, 10, 29, CHUNG_YEUNG),
    (2025, 12, 25, CHRISTMAS),
    (2025, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2026: gazetted 16 May 2025. Ching Ming (5 Apr) was Easter Sunday. The
    // Buddha's Birthday and Chung Yeung fell on Sundays.
    (2026, 1, 1, FIRST_JAN),
    (2026, 2, 17, LNY_1),
    (2026, 2, 18, LNY_2),
    (2026, 2, 19, LNY_3),
    (2026, 4, 3, GOOD_FRIDAY),
    (2026, 4, 4, GOOD_FRIDAY_FOLLOWING),
    (2026, 4, 6, CHING_MING_FOLLOWING),
    (2026, 4, 7, EASTER_MONDAY_FOLLOWING),
    (2026, 5, 1, LABOUR_DAY),
    (2026, 5, 25, BUDDHA_FOLLOWING),
    (2026, 6, 19, TUEN_NG),
    (2026, 7, 1, HKSAR_DAY),
    (2026, 9, 26, MID_AUTUMN_FOLLOWING),
    (2026, 10, 1, NATIONAL_DAY),
    (2026, 10, 19, CHUNG_YEUNG_FOLLOWING),
    (2026, 12, 25, CHRISTMAS),
    (2026, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2027: COMPUTED, not yet gazetted. The second day of Lunar New Year
    // (7 Feb) falls on a Sunday. Christmas falls on a Saturday, so the first
    // weekday after it is Monday 27 Dec.
    (2027, 1, 1, FIRST_JAN),
    (2027, 2, 6, LNY_1),
    (2027, 2, 8, LNY_3),
    (2027, 2, 9, LNY_4),
    (2027, 3, 26, GOOD_FRIDAY),
    (2027, 3, 27, GOOD_FRIDAY_FOLLOWING),
    (2027, 3, 29, EASTER_MONDAY),
    (2027, 4, 5, CHING_MING),
    (2027, 5, 1, LABOUR_DAY),
    (2027, 5, 13, BUDDHA),
    (2027, 6, 9, TUEN_NG),
    (2027, 7, 1, HKSAR_DAY),
    (2027, 9, 16, MID_AUTUMN_FOLLOWING),
    (2027, 10, 1, NATIONAL_DAY),
    (2027, 10, 8, CHUNG_YEUNG),
    (2027, 12, 25, CHRISTMAS),
    (2027, 12, 27, CHRISTMAS_FIRST_WEEKDAY),
    // 2028: COMPUTED, not yet gazetted. Tuen Ng (28 May) and National Day fall on Sundays.
    (2028, 1, 1, FIRST_JAN),
    (2028, 1, 26, LNY_1),
    (2028, 1, 27, LNY_2),
    (2028, 1, 28, LNY_3),
    (2028, 4, 4, CHING_MING),
    (2028, 4, 14, GOOD_FRIDAY),
    (2028, 4, 15, GOOD_FRIDAY_FOLLOWING),
    (2028, 4, 17, EASTER_MONDAY),
    (2028, 5, 1, LABOUR_DAY),
    (2028, 5, 2, BUDDHA),
    (2028, 5, 29, TUEN_NG_FOLLOWING),
    (2028, 7, 1, HKSAR_DAY),
    (2028, 10, 2, NATIONAL_DAY_FOLLOWING),
    (2028, 10, 4, MID_AUTUMN_FOLLOWING),
    (2028, 10, 26, CHUNG_YEUNG),
    (2028, 12, 25, CHRISTMAS),
    (2028, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2029: COMPUTED, not yet gazetted. The Buddha's Birthday (20 May) and 1 July
    // fall on Sundays. Mid-Autumn is Saturday 22 Sep, so the day following it is
    // a Sunday.
    (2029, 1, 1, FIRST_JAN),
    (2029, 2, 13, LNY_1),
    (2029, 2, 14, LNY_2),
    (2029, 2, 15, LNY_3),
    (2029, 3, 30, GOOD_FRIDAY),
    (2029, 3, 31, GOOD_FRIDAY_FOLLOWING),
    (2029, 4, 2, EASTER_MONDAY),
    (2029, 4, 4, CHING_MING),
    (2029, 5, 1, LABOUR_DAY),
    (2029, 5, 21, BUDDHA_FOLLOWING),
    (2029, 6, 16, TUEN_NG),
    (2029, 7, 2, HKSAR_DAY_FOLLOWING),
    (2029, 9, 24, MID_AUTUMN_SECOND),
    (2029, 10, 1, NATIONAL_DAY),
    (2029, 10, 16, CHUNG_YEUNG),
    (2029, 12, 25, CHRISTMAS),
    (2029, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
    // 2030: COMPUTED, not yet gazetted. Lunar New Year's Day (3 Feb) falls on a
    // Sunday. The Ching Ming solar term falls at about 01:40 HKT on 5 Apr.
    (2030, 1, 1, FIRST_JAN),
    (2030, 2, 4, LNY_2),
    (2030, 2, 5, LNY_3),
    (2030, 2, 6, LNY_4),
    (2030, 4, 5, CHING_MING),
    (2030, 4, 19, GOOD_FRIDAY),
    (2030, 4, 20, GOOD_FRIDAY_FOLLOWING),
    (2030, 4, 22, EASTER_MONDAY),
    (2030, 5, 1, LABOUR_DAY),
    (2030, 5, 9, BUDDHA),
    (2030, 6, 5, TUEN_NG),
    (2030, 7, 1, HKSAR_DAY),
    (2030, 9, 13, MID_AUTUMN_FOLLOWING),
    (2030, 10, 1, NATIONAL_DAY),
    (2030, 10, 5, CHUNG_YEUNG),
    (2030, 12, 25, CHRISTMAS),
    (2030, 12, 26, CHRISTMAS_FIRST_WEEKDAY),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn days(d: NaiveDate, n: i64) -> NaiveDate {
        d + chrono::Duration::days(n)
    }

    fn is_sunday(d: NaiveDate) -> bool {
        d.weekday() == Weekday::Sun
    }

    /// Gregorian Easter Sunday by the anonymous (Meeus/Jones/Butcher) computus.
    fn easter_sunday(year: i32) -> NaiveDate {
        let a = year % 19;
        let b = year / 100;
        let c = year % 100;
        let d = b / 4;
        let e = b % 4;
        let f = (b + 8) / 25;
        let g = (b - f + 1) / 3;
        let h = (19 * a + b - d - g + 15) % 30;
        let i = c / 4;
        let k = c % 4;
        let l = (32 + 2 * e + 2 * i - h - k) % 7;
        let m = (a + 11 * h + 22 * l) / 451;
        let month = (h + l - 7 * m + 114) / 31;
        let day = (h + l - 7 * m + 114) % 31 + 1;
        ymd(year, month as u32, day as u32)
    }

    fn table_year(year: i32) -> Vec<(NaiveDate, &'static str)> {
        general_holidays()
            .filter(|(d, _)| d.year() == year)
            .collect()
    }

    fn hk(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<FixedOffset> {
        ymd(y, m, d)
            .and_hms_opt(h, min, 0)
            .unwrap()
            .and_local_timezone(hong_kong_offset())
            .single()
            .unwrap()
    }

    // ---- data-integrity tests -------------------------------------------

    #[test]
    fn table_is_sorted_unique_and_within_holiday_years() {
        let all: Vec<_> = general_holidays().collect();
        for pair in all.windows(2) {
            assert!(
                pair[0].0 < pair[1].0,
                "not strictly increasing (duplicate or out of order): {:?} then {:?}",
                pair[0],
                pair[1]
            );
        }
        let unique: BTreeSet<NaiveDate> = all.iter().map(|(d, _)| *d).collect();
        assert_eq!(unique.len(), all.len(), "duplicate dates in table");
        for (d, name) in &all {
            assert!(
                HOLIDAY_YEARS.contains(&d.year()),
                "{d} {name} outside HOLIDAY_YEARS"
            );
        }
        assert_eq!(all.first().unwrap().0.year(), *HOLIDAY_YEARS.start());
        assert_eq!(all.last().unwrap().0.year(), *HOLIDAY_YEARS.end());
    }

    #[test]
    fn table_lists_no_sundays_and_seventeen_days_a_year() {
        for (d, name) in general_holidays() {
            assert!(
                !is_sunday(d),
                "{d} ({name}) is a Sunday; the gazette lists the substitute"
            );
        }
        for year in HOLIDAY_YEARS {
            let expected = if year == 2015 { 18 } else { 17 };
            assert_eq!(table_year(year).len(), expected, "holiday count for {year}");
        }
    }

    #[test]
    fn easter_holidays_match_computus_every_year() {
        for year in HOLIDAY_YEARS {
            let easter = easter_sunday(year);
            let gf = days(easter, -2);
            let sat = days(easter, -1);
            let mon = days(easter, 1);
            assert_eq!(gf.weekday(), Weekday::Fri);
            assert_eq!(general_holiday(gf), Some(GOOD_FRIDAY), "Good Friday {year}");
            assert_eq!(
                general_holiday(sat),
                Some(GOOD_FRIDAY_FOLLOWING),
                "Holy Saturday {year}"
            );
            // Easter Monday is either listed as such or, in Ching-Ming-on-Easter-Sunday
            // years, labelled as the day following Ching Ming with the displaced
            // Easter Monday holiday on the Tuesday.
            match general_holiday(mon) {
                Some(EASTER_MONDAY) => {}
                Some(CHING_MING_FOLLOWING) => assert_eq!(
                    general_holiday(days(easter, 2)),
                    Some(EASTER_MONDAY_FOLLOWING),
                    "displaced Easter Monday {year}"
                ),
                other => panic!("Easter Monday {mon} not a holiday in table: {other:?}"),
            }
            // Reverse direction: every Easter-named entry of that year is where computus puts it.
            for (d, name) in table_year(year) {
                match name {
                    GOOD_FRIDAY => assert_eq!(d, gf),
                    GOOD_FRIDAY_FOLLOWING => assert_eq!(d, sat),
                    EASTER_MONDAY => assert_eq!(d, mon),
                    EASTER_MONDAY_FOLLOWING => assert_eq!(d, days(easter, 2)),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn computus_spot_checks() {
        assert_eq!(easter_sunday(2015), ymd(2015, 4, 5));
        assert_eq!(easter_sunday(2019), ymd(2019, 4, 21));
        assert_eq!(easter_sunday(2024), ymd(2024, 3, 31));
        assert_eq!(easter_sunday(2027), ymd(2027, 3, 28));
        assert_eq!(easter_sunday(2030), ymd(2030, 4, 21));
    }

    /// (month, day)
    type Md = (u32, u32);
    /// (year, LNY, Ching Ming, Buddha, Tuen Ng, Mid-Autumn, Chung Yeung)
    type BaseRow = (i32, Md, Md, Md, Md, Md, Md);

    /// Base dates: Lunar New Year's Day, Ching Ming (solar term, UTC+8), Buddha's
    /// Birthday (4/8), Tuen Ng (5/5), Mid-Autumn (8/15), Chung Yeung (9/9).
    /// Lunar dates cross-checked against two independent Chinese-calendar
    /// implementations; Ching Ming against a solar-term ephemeris.
    #[rustfmt::skip]
    const BASE: &[BaseRow] = &[
        (2015, (2, 19), (4, 5), (5, 25), (6, 20), (9, 27), (10, 21)),
        (2016, (2, 8),  (4, 4), (5, 14), (6, 9),  (9, 15), (10, 9)),
        (2017, (1, 28), (4, 4), (5, 3),  (5, 30), (10, 4), (10, 28)),
        (2018, (2, 16), (4, 5), (5, 22), (6, 18), (9, 24), (10, 17)),
        (2019, (2, 5),  (4, 5), (5, 12), (6, 7),  (9, 13), (10, 7)),
        (2020, (1, 25), (4, 4), (4, 30), (6, 25), (10, 1), (10, 25)),
        (2021, (2, 12), (4, 4), (5, 19), (6, 14), (9, 21), (10, 14)),
        (2022, (2, 1),  (4, 5), (5, 8),  (6, 3),  (9, 10), (10, 4)),
        (2023, (1, 22), (4, 5), (5, 26), (6, 22), (9, 29), (10, 23)),
        (2024, (2, 10), (4, 4), (5, 15), (6, 10), (9, 17), (10, 11)),
        (2025, (1, 29), (4, 4), (5, 5),  (5, 31), (10, 6), (10, 29)),
        (2026, (2, 17), (4, 5), (5, 24), (6, 19), (9, 25), (10, 18)),
        (2027, (2, 6),  (4, 5), (5, 13), (6, 9),  (9, 15), (10, 8)),
        (2028, (1, 26), (4, 4), (5, 2),  (5, 28), (10, 3), (10, 26)),
        (2029, (2, 13), (4, 4), (5, 20), (6, 16), (9, 22), (10, 16)),
        (2030, (2, 3),  (4, 5), (5, 9),  (6, 5),  (9, 12), (10, 5)),
    ];

    /// Derives a year's gazetted list from base dates using the Cap. 149 rules
    /// (post-2011 substitution arrangements) and GovHK's labelling conventions.
    fn derive_year(year: i32) -> Vec<(NaiveDate, &'static str)> {
        let &(_, lny, cm, buddha, tuen_ng, mid_autumn, chung_yeung) = BASE
            .iter()
            .find(|b| b.0 == year)
            .expect("base dates for year");
        let at = |(m, d): (u32, u32)| ymd(year, m, d);
        let easter = easter_sunday(year);

        // Ordinary holidays subject to the Sunday rule: (date, name, name of substitute).
        let mut ordinary: Vec<(NaiveDate, &'static str, &'static str)> = vec![
            (ymd(year, 1, 1), FIRST_JAN, FIRST_JAN_FOLLOWING),
            (at(cm), CHING_MING, CHING_MING_FOLLOWING),
            (days(easter, -2), GOOD_FRIDAY, GOOD_FRIDAY_FOLLOWING),
            (
                days(easter, -1),
                GOOD_FRIDAY_FOLLOWING,
                GOOD_FRIDAY_FOLLOWING,
            ),
            (days(easter, 1), EASTER_MONDAY, EASTER_MONDAY_FOLLOWING),
            (ymd(year, 5, 1), LABOUR_DAY, LABOUR_DAY_FOLLOWING),
            (at(buddha), BUDDHA, BUDDHA_FOLLOWING),
            (at(tuen_ng), TUEN_NG, TUEN_NG_FOLLOWING),
            (ymd(year, 7, 1), HKSAR_DAY, HKSAR_DAY_FOLLOWING),
            (ymd(year, 10, 1), NATIONAL_DAY, NATIONAL_DAY_FOLLOWING),
            (at(chung_yeung), CHUNG_YEUNG, CHUNG_YEUNG_FOLLOWING),
        ];
        // Holidays with their own substitution rules (never moved by the Sunday rule).
        let mut fixed: Vec<(NaiveDate, &'static str)> = Vec::new();
        let lny1 = at(lny);
        let lny_days = [
            (lny1, LNY_1),
            (days(lny1, 1), LNY_2),
            (days(lny1, 2), LNY_3),
        ];
        for (d, name) in lny_days {
            if !is_sunday(d) {
                fixed.push((d, name));
            }
        }
        if lny_days.iter().any(|(d, _)| is_sunday(*d)) {
            fixed.push((days(lny1, 3), LNY_4));
        }
        let ma_next = days(at(mid_autumn), 1);
        if is_sunday(ma_next) {
            fixed.push((days(ma_next, 1), MID_AUTUMN_SECOND));
        } else {
            fixed.push((ma_next, MID_AUTUMN_FOLLOWING));
        }
        let xmas = ymd(year, 12, 25);
        if is_sunday(xmas) {
            fixed.push((ymd(year, 12, 26), CHRISTMAS_FIRST_WEEKDAY));
            fixed.push((ymd(year, 12, 27), CHRISTMAS_SECOND_WEEKDAY));
        } else {
            fixed.push((xmas, CHRISTMAS));
            let mut first = days(xmas, 1);
            if is_sunday(first) {
                first = days(first, 1);
            }
            fixed.push((first, CHRISTMAS_FIRST_WEEKDAY));
        }
        if year == 2015 {
            fixed.push((ymd(2015, 9, 3), SPECIAL_2015_09_03));
        }

        // Place non-Sunday holidays, then resolve Sunday holidays in date order.
        let mut out: BTreeMap<NaiveDate, (&'static str, &'static str)> = BTreeMap::new();
        for (d, name) in fixed {
            assert!(out.insert(d, (name, name)).is_none(), "collision at {d}");
        }
        ordinary.sort();
        let next_free = |out: &BTreeMap<NaiveDate, (&str, &str)>, mut d: NaiveDate| {
            while is_sunday(d) || out.contains_key(&d) {
                d = days(d, 1);
            }
            d
        };
        let (sundays, weekdays): (Vec<_>, Vec<_>) =
            ordinary.into_iter().partition(|(d, _, _)| is_sunday(*d));
        for (d, name, following) in weekdays {
            if out.contains_key(&d) {
                let free = next_free(&out, d);
                out.insert(free, (following, following));
            } else {
                out.insert(d, (name, following));
            }
        }
        for (d, _, following) in sundays {
            let candidate = days(d, 1);
            if let Some(&(_, displaced_following)) = out.get(&candidate) {
                // GovHK convention (2015, 2021, 2026): the candidate day carries this
                // holiday's "day following" name; the displaced holiday moves on.
                out.insert(candidate, (following, following));
                let free = next_free(&out, candidate);
                out.insert(free, (displaced_following, displaced_following));
            } else {
                out.insert(candidate, (following, following));
            }
        }
        out.into_iter().map(|(d, (name, _))| (d, name)).collect()
    }

    #[test]
    fn table_matches_derivation_from_cap_149_rules_every_year() {
        assert_eq!(BASE.len(), HOLIDAY_YEARS.count());
        for year in HOLIDAY_YEARS {
            assert_eq!(table_year(year), derive_year(year), "year {year}");
        }
    }

    #[test]
    fn lookup_outside_covered_years_is_none() {
        assert_eq!(general_holiday(ymd(2014, 12, 25)), None);
        assert_eq!(general_holiday(ymd(2031, 1, 1)), None);
    }

    // ---- holiday spot checks ------------------------------------------------

    #[test]
    fn spot_checks_across_years() {
        // 2015 one-off special holiday.
        assert!(general_holiday(ymd(2015, 9, 3)).is_some());
        // 2017: 1 Jan Sunday -> 2 Jan.
        assert_eq!(general_holiday(ymd(2017, 1, 2)), Some(FIRST_JAN_FOLLOWING));
        // 2021: Christmas Saturday -> first weekday after is Monday 27 Dec.
        assert_eq!(
            general_holiday(ymd(2021, 12, 27)),
            Some(CHRISTMAS_FIRST_WEEKDAY)
        );
        assert_eq!(general_holiday(ymd(2021, 12, 26)), None); // plain Sunday
                                                              // 2022: Christmas Sunday -> 26 and 27 Dec.
        assert_eq!(
            general_holiday(ymd(2022, 12, 26)),
            Some(CHRISTMAS_FIRST_WEEKDAY)
        );
        assert_eq!(
            general_holiday(ymd(2022, 12, 27)),
            Some(CHRISTMAS_SECOND_WEEKDAY)
        );
        // 2022: Mid-Autumn Saturday 10 Sep -> 12 Sep.
        assert_eq!(general_holiday(ymd(2022, 9, 12)), Some(MID_AUTUMN_SECOND));
        // 2023: 1 Jan Sunday -> 2 Jan; LNY day Sunday 22 Jan -> 23, 24, 25 Jan.
        assert_eq!(general_holiday(ymd(2023, 1, 2)), Some(FIRST_JAN_FOLLOWING));
        assert_eq!(general_holiday(ymd(2023, 1, 22)), None);
        assert_eq!(general_holiday(ymd(2023, 1, 23)), Some(LNY_2));
        assert_eq!(general_holiday(ymd(2023, 1, 24)), Some(LNY_3));
        assert_eq!(general_holiday(ymd(2023, 1, 25)), Some(LNY_4));
        assert_eq!(general_holiday(ymd(2023, 1, 26)), None);
        // 2024: LNY day Saturday 10 Feb (listed), 11 Sunday -> 12, 13 Feb.
        assert_eq!(general_holiday(ymd(2024, 2, 10)), Some(LNY_1));
        assert_eq!(general_holiday(ymd(2024, 2, 12)), Some(LNY_3));
        assert_eq!(general_holiday(ymd(2024, 2, 13)), Some(LNY_4));
        assert_eq!(general_holiday(ymd(2024, 2, 14)), None);
        // 2026: Ching Ming on Easter Sunday -> Friday 3 to Tuesday 7 April closed.
        let cal = BusinessCalendar::new();
        for d in 3..=7 {
            assert!(!cal.is_business_day(ymd(2026, 4, d)), "2026-04-0{d}");
        }
        assert!(cal.is_business_day(ymd(2026, 4, 8)));
        // 2028: Tuen Ng Sunday 28 May -> 29 May.
        assert_eq!(general_holiday(ymd(2028, 5, 29)), Some(TUEN_NG_FOLLOWING));
        // 2030: LNY day Sunday 3 Feb -> 4, 5, 6 Feb.
        assert_eq!(general_holiday(ymd(2030, 2, 6)), Some(LNY_4));
    }

    // ---- business-day arithmetic --------------------------------------------

    #[test]
    fn weekends_and_holidays_are_not_business_days() {
        let cal = BusinessCalendar::new();
        assert!(!cal.is_business_day(ymd(2023, 3, 11))); // Saturday
        assert!(!cal.is_business_day(ymd(2023, 3, 12))); // Sunday
        assert!(cal.is_business_day(ymd(2023, 3, 13))); // Monday
        assert!(!cal.is_business_day(ymd(2023, 10, 2))); // day following National Day
    }

    #[test]
    fn half_day_trading_days_are_business_days() {
        let cal = BusinessCalendar::new();
        assert!(cal.is_business_day(ymd(2024, 12, 24))); // Christmas Eve (Tue)
        assert!(cal.is_business_day(ymd(2024, 12, 31))); // New Year's Eve (Tue)
        assert!(cal.is_business_day(ymd(2025, 1, 28))); // Lunar New Year's Eve (Tue)
    }

    #[test]
    fn covers_reports_holiday_data_range_and_outside_is_weekends_only() {
        let cal = BusinessCalendar::new();
        assert!(!cal.covers(ymd(2014, 12, 31)));
        assert!(cal.covers(ymd(2015, 1, 1)));
        assert!(cal.covers(ymd(2030, 12, 31)));
        assert!(!cal.covers(ymd(2031, 1, 1)));
        // 1 Jan 2031 (Wednesday) would be a holiday, but there is no data: business day.
        assert!(cal.is_business_day(ymd(2031, 1, 1)));
        assert!(!cal.is_business_day(ymd(2031, 1, 4))); // Saturday still skipped
    }

    #[test]
    fn next_business_day_is_strictly_after() {
        let cal = BusinessCalendar::new();
        assert_eq!(cal.next_business_day(ymd(2023, 3, 13)), ymd(2023, 3, 14)); // Mon -> Tue
        assert_eq!(cal.next_business_day(ymd(2023, 3, 10)), ymd(2023, 3, 13)); // Fri -> Mon
        assert_eq!(cal.next_business_day(ymd(2023, 3, 11)), ymd(2023, 3, 13)); // Sat -> Mon
        assert_eq!(cal.next_business_day(ymd(2023, 3, 12)), ymd(2023, 3, 13)); // Sun -> Mon
                                                                               // Across year end: 30 Dec 2022 (Fri) -> 3 Jan 2023 (2 Jan holiday).
        assert_eq!(cal.next_business_day(ymd(2022, 12, 30)), ymd(2023, 1, 3));
    }

    #[test]
    fn nth_business_day_after_and_between_agree() {
        let cal = BusinessCalendar::new();
        assert_eq!(
            cal.nth_business_day_after(ymd(2022, 11, 30), 5),
            ymd(2022, 12, 7)
        );
        assert_eq!(
            cal.nth_business_day_after(ymd(2022, 11, 30), 1),
            ymd(2022, 12, 1)
        );
        assert_eq!(
            cal.nth_business_day_after(ymd(2022, 11, 30), 0),
            ymd(2022, 11, 30)
        );
        let mut d = ymd(2022, 12, 15);
        while d < ymd(2023, 2, 15) {
            for n in 0..8 {
                let target = cal.nth_business_day_after(d, n);
                assert_eq!(cal.business_days_between(d, target), n, "{d} + {n}");
            }
            d = days(d, 1);
        }
    }

    #[test]
    fn business_days_between_counts_half_open_interval() {
        let cal = BusinessCalendar::new();
        // (Fri 23 Dec 2022, Sat 31 Dec 2022]: 28, 29, 30 Dec.
        assert_eq!(
            cal.business_days_between(ymd(2022, 12, 23), ymd(2022, 12, 31)),
            3
        );
        // from is excluded, to is included.
        assert_eq!(
            cal.business_days_between(ymd(2022, 12, 27), ymd(2022, 12, 28)),
            1
        );
        assert_eq!(
            cal.business_days_between(ymd(2022, 12, 28), ymd(2022, 12, 28)),
            0
        );
        assert_eq!(
            cal.business_days_between(ymd(2022, 12, 28), ymd(2022, 12, 1)),
            0
        );
    }

    // ---- deadlines ----------------------------------------------------------

    #[test]
    fn nddr_for_repurchase_on_friday_23_december_2022() {
        let cal = BusinessCalendar::new();
        let due = cal.nddr_deadline(ymd(2022, 12, 23));
        assert_eq!(due, hk(2022, 12, 28, 8, 30));
        assert_eq!(due.to_rfc3339(), "2022-12-28T08:30:00+08:00");
    }

    #[test]
    fn nddr_skips_weekend() {
        let cal = BusinessCalendar::new();
        assert_eq!(cal.nddr_deadline(ymd(2023, 3, 10)), hk(2023, 3, 13, 8, 30)); // Fri
        assert_eq!(cal.nddr_deadline(ymd(2023, 3, 11)), hk(2023, 3, 13, 8, 30)); // Sat
        assert_eq!(cal.nddr_deadline(ymd(2023, 3, 13)), hk(2023, 3, 14, 8, 30));
        // Mon
    }

    #[test]
    fn monthly_return_deadlines() {
        let cal = BusinessCalendar::new();
        assert_eq!(cal.monthly_deadline(2022, 11), hk(2022, 12, 7, 8, 30));
        assert_eq!(cal.monthly_deadline(2022, 12), hk(2023, 1, 9, 8, 30));
        assert_eq!(cal.monthly_deadline(2023, 1), hk(2023, 2, 7, 8, 30));
        assert_eq!(
            cal.monthly_deadline(2022, 12).to_rfc3339(),
            "2023-01-09T08:30:00+08:00"
        );
    }

    #[test]
    fn market_closure_pushes_deadlines_one_business_day() {
        let mut cal = BusinessCalendar::new();
        cal.add_market_closure(ymd(2022, 12, 28)); // Wednesday
        assert!(!cal.is_business_day(ymd(2022, 12, 28)));
        assert_eq!(
            cal.nddr_deadline(ymd(2022, 12, 23)),
            hk(2022, 12, 29, 8, 30)
        );

        let mut cal = BusinessCalendar::new();
        cal.add_market_closure(ymd(2022, 12, 2)); // Friday, inside the November window
        assert_eq!(cal.monthly_deadline(2022, 11), hk(2022, 12, 8, 8, 30));
        assert_eq!(
            cal.market_closures().collect::<Vec<_>>(),
            vec![ymd(2022, 12, 2)]
        );
    }

    #[test]
    fn closure_on_non_business_day_changes_nothing() {
        let mut cal = BusinessCalendar::new();
        cal.add_market_closure(ymd(2022, 12, 24)); // Saturday
        cal.add_market_closure(ymd(2022, 12, 27)); // already a holiday
        cal.add_market_closure(ymd(2022, 12, 27)); // duplicate
        assert_eq!(cal.market_closures().count(), 2);
        assert_eq!(
            cal.nddr_deadline(ymd(2022, 12, 23)),
            hk(2022, 12, 28, 8, 30)
        );
    }

    #[test]
    fn hong_kong_offset_is_plus_eight_hours() {
        assert_eq!(hong_kong_offset().local_minus_utc(), 8 * 3600);
        let due = BusinessCalendar::new().nddr_deadline(ymd(2022, 12, 23));
        assert_eq!(
            due.naive_utc(),
            ymd(2022, 12, 28).and_hms_opt(0, 30, 0).unwrap()
        );
    }

    #[test]
    fn month_ends() {
        assert_eq!(month_end(2024, 2), Some(ymd(2024, 2, 29)));
        assert_eq!(month_end(2023, 2), Some(ymd(2023, 2, 28)));
        assert_eq!(month_end(2022, 12), Some(ymd(2022, 12, 31)));
        assert_eq!(month_end(2022, 13), None);
        assert_eq!(month_end(2022, 0), None);
        assert_eq!(previous_month_end(2023, 1), Some(ymd(2022, 12, 31)));
        assert!(is_month_end(ymd(2024, 2, 29)));
        assert!(!is_month_end(ymd(2023, 2, 27)));
        assert!(!is_month_end(ymd(2022, 11, 29)));
        assert_eq!(next_month(2022, 12), (2023, 1));
        assert_eq!(next_month(2022, 11), (2022, 12));
        // Every day of four years: exactly the days whose successor is in
        // another month.
        for d in ymd(2022, 1, 1).iter_days().take(4 * 366) {
            assert_eq!(
                is_month_end(d),
                d.succ_opt().unwrap().month() != d.month(),
                "{d}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "month must be 1..=12")]
    fn monthly_deadline_rejects_month_13() {
        BusinessCalendar::new().monthly_deadline(2023, 13);
    }
}
