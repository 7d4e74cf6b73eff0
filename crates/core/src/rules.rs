//! The Listing Rules' fixed numbers and dates, each in one place, each named
//! with its Main Board Rule. The checks in `shareledger-returns` judge the
//! log with these; the returns choose their layout with these; `status`
//! lists what is due with these. No other crate re-derives a date, a window
//! or a count that is decided here.

use std::ops::Range;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate};

use crate::calendar::{hong_kong_offset, month_end, next_month, BusinessCalendar};
use crate::event::{Event, IssueKind, ResultsAnnouncementScheduled};

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid constant date"),
    }
}

/// The first day treasury shares exist in Hong Kong: the Listing Rules'
/// amendments on treasury shares took effect on 11 June 2024 \[rule\]. A
/// treasury movement dated before it is refused; a Monthly Return has the
/// treasury-share columns from the month this day falls in.
pub const TREASURY_REGIME_START: NaiveDate = date(2024, 6, 11);

/// The first day of the FF305 NDDR layout (version 1.3.0): the Exchange
/// replaced FF304 with it when treasury shares began \[rule\].
pub const FF305_START: NaiveDate = TREASURY_REGIME_START;

/// The first day of the FF305 NDDR layout and of treasury shares (11 June 2024).
pub fn ff305_start() -> NaiveDate {
    FF305_START
}

/// The NDDR layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NddrLayout {
    /// Version 1.2.x, until 10 June 2024.
    Ff304,
    /// Version 1.3.x, from 11 June 2024, with treasury shares.
    Ff305,
}

impl NddrLayout {
    /// The layout for a return dated `date`.
    pub fn for_date(date: NaiveDate) -> Self {
        if date < ff305_start() {
            NddrLayout::Ff304
        } else {
            NddrLayout::Ff305
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            NddrLayout::Ff304 => "FF304",
            NddrLayout::Ff305 => "FF305",
        }
    }
    pub fn parse(code: &str) -> Option<Self> {
        match code.to_ascii_uppercase().as_str() {
            "FF304" => Some(NddrLayout::Ff304),
            "FF305" => Some(NddrLayout::Ff305),
            _ => None,
        }
    }
}

/// Whether a Monthly Return for the month ending `month_end` has the
/// treasury-share columns: the months from the one in which the treasury
/// regime began ([`TREASURY_REGIME_START`], so from June 2024) [assumed from
/// the form's revision with the treasury-share rules of 11 June 2024].
pub fn monthly_has_treasury_columns(month_end: NaiveDate) -> bool {
    (month_end.year(), month_end.month())
        >= (TREASURY_REGIME_START.year(), TREASURY_REGIME_START.month())
}

/// Rule 10.06(3): no new issue, and no sale or transfer of treasury shares,
/// for 30 days after a repurchase. The NDDR prints the end as "Up to" the
/// trading date plus 30 calendar days [filed: 13 June 2025 → 13 July 2025].
pub const MORATORIUM_DAYS: u64 = 30;

/// The last day of the moratorium that a repurchase on `trade_date` starts.
pub fn moratorium_end(trade_date: NaiveDate) -> NaiveDate {
    trade_date + Days::new(MORATORIUM_DAYS)
}

/// The trade dates of the repurchases whose moratorium forbids an issue on
/// `date`: from `date` − 30 days up to the day before `date` (a repurchase
/// on `date` itself may have come after the issue: the ledger does not know
/// the time of day). The same window as [`moratorium_end`], seen from the
/// other side: `t` is in it exactly when `t < date <= moratorium_end(t)`.
pub fn moratorium_trade_dates(date: NaiveDate) -> Range<NaiveDate> {
    let from = date
        .checked_sub_days(Days::new(MORATORIUM_DAYS))
        .unwrap_or(NaiveDate::MIN);
    from..date
}

/// Whether the moratorium of a repurchase on `trade_date` is in force on
/// `on`: from the repurchase day to its "Up to" date, both included.
pub fn moratorium_in_force(trade_date: NaiveDate, on: NaiveDate) -> bool {
    trade_date <= on && on <= moratorium_end(trade_date)
}

/// Rule 10.06(1)(c): a mandate authorises at most 10% of issued shares
/// (excluding treasury) at the resolution date.
pub const MANDATE_LIMIT_PERCENT: u64 = 10;

/// Rule 10.06(2)(e): no repurchase from 30 days before the earlier of the
/// results board meeting and the publication deadline until the announcement.
pub const BLACKOUT_DAYS: u64 = 30;

/// The blackout of a results timetable, both ends included: from 30 days
/// before the earlier of the board meeting and the publication deadline, to
/// the announcement date (the rule's period ends *on* the date of the
/// results announcement); while no announcement is recorded, to the
/// publication deadline [assumed: results are published by their deadline].
pub fn blackout_window(res: &ResultsAnnouncementScheduled) -> (NaiveDate, NaiveDate) {
    let earlier = res.board_meeting_date.min(res.publication_deadline);
    let start = earlier
        .checked_sub_days(Days::new(BLACKOUT_DAYS))
        .unwrap_or(NaiveDate::MIN);
    (
        start,
        res.announcement_date.unwrap_or(res.publication_deadline),
    )
}

/// Rule 10.06(2)(a): no on-Exchange repurchase at a price 5% or more above the
/// average closing price of the 5 preceding trading days.
pub const PRICE_CAP_PERCENT: u64 = 5;
pub const PRICE_CAP_TRADING_DAYS: usize = 5;

/// Rule 13.25A(3): events disclosable only at the threshold (non-director
/// option exercises, warrants, conversions, redemptions) force a return when
/// they reach 5% of issued shares, alone or together since the last return.
pub const NDDR_THRESHOLD_PERCENT: u64 = 5;

/// Whether an event forces an NDDR on its own [rule 13.25A(2)], counts
/// towards the 5% threshold with its shares [13.25A(3)], or is not for the
/// NDDR at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    Always,
    Threshold(u64),
    Never,
}

/// How rule 13.25A treats `event`. An option exercise with no `by_director`
/// is taken as not by a director \[assumed\]; a redemption counts at the
/// threshold; cancellations, treasury movements and reclassifications are
/// "any other change".
pub fn nddr_disclosure(event: &Event) -> Disclosure {
    match event {
        Event::SharesIssued(e) => match e.kind {
            IssueKind::ShareOptionExercise if !e.by_director.unwrap_or(false) => {
                Disclosure::Threshold(e.shares)
            }
            IssueKind::WarrantExercise | IssueKind::Conversion => Disclosure::Threshold(e.shares),
            // An exercise under another arrangement (an `other` issue naming
            // its instrument in `scheme`) counts at the threshold, as
            // warrants do [assumed].
            IssueKind::Other if e.scheme.is_some() => Disclosure::Threshold(e.shares),
            _ => Disclosure::Always,
        },
        Event::SharesRedeemed(e) => Disclosure::Threshold(e.shares),
        Event::SharesRepurchased(_)
        | Event::RepurchasedSharesCancelled(_)
        | Event::TreasurySharesSold(_)
        | Event::TreasurySharesTransferred(_)
        | Event::TreasurySharesCancelled(_) => Disclosure::Always,
        // "Any other change" [assumed for a reclassification: domain.md section 2].
        Event::SharesReclassified(_) => Disclosure::Always,
        // Always disclosed [rule 13.25A(2)(a)(x)].
        Event::CapitalReorganised(_) => Disclosure::Always,
        _ => Disclosure::Never,
    }
}

/// Rule 13.25B: the Monthly Return is due on this business day after the
/// month's end (at 08:30 Hong Kong time: `BusinessCalendar::monthly_deadline`).
pub const MONTHLY_DUE_BUSINESS_DAY: u32 = 5;

/// A month, as the Monthly Return names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }
    /// The month's last day (the Monthly Return's date).
    pub fn end(self) -> NaiveDate {
        month_end(self.year, self.month).expect("a Month is a valid month")
    }
    pub fn next(self) -> Month {
        let (year, month) = next_month(self.year, self.month);
        Month { year, month }
    }
}

/// The first month for which an issuer owes a Monthly Return, as far as the
/// ledger can judge. This is the one decision of "from when", used by the
/// rule checks (`audit`) and by `status` alike:
///
/// * with a filing recorded: the month of the earliest recorded filing's date
///   (`first_filing`), that month included, whatever the filing was. A ledger
///   started mid-life cannot know how its earlier returns were filed, but the
///   month it first reports on is its own: an NDDR dated 30 November 2022
///   makes November 2022 owed;
/// * with none recorded: the months ending after the earliest opening balance
///   date (`earliest_opening`): the month after the opening's month. An
///   opening balance as at a month's end is that month's closing balance;
///   one dated within a month cannot give that month's return (Part II
///   starts from the balance at the close of the preceding month, which the
///   ledger does not have), so that month is not owed either: it was the
///   company's to file from its own records;
/// * with neither: `None` (the ledger knows nothing to judge).
pub fn first_monthly_return_owed(
    first_filing: Option<NaiveDate>,
    earliest_opening: Option<NaiveDate>,
) -> Option<Month> {
    match (first_filing, earliest_opening) {
        (Some(f), _) => Some(Month::of(f)),
        (None, Some(o)) => Some(Month::of(o).next()),
        (None, None) => None,
    }
}

/// A Monthly Return owed, with its deadline (rule 13.25B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthlyDue {
    pub month: Month,
    /// The month's last day: the return's date.
    pub month_end: NaiveDate,
    /// 08:30 Hong Kong time on the [`MONTHLY_DUE_BUSINESS_DAY`]th business
    /// day after the month's end.
    pub deadline: DateTime<FixedOffset>,
}

impl MonthlyDue {
    /// Whether the deadline has passed at `now` (08:30:00 exactly is on time).
    pub fn overdue(&self, now: DateTime<FixedOffset>) -> bool {
        now > self.deadline
    }
}

/// Every Monthly Return owed from the month `first` (see
/// [`first_monthly_return_owed`]) through the month of `now` in Hong Kong
/// time, each with its deadline, in month order. Whether one was filed is the
/// caller's question; the rule checks judge those whose deadline has passed
/// at `now` ([`MonthlyDue::overdue`]), `status` lists the unfiled ones with
/// theirs. Empty when `first` is after the month of `now`.
pub fn monthly_returns_due(
    first: Month,
    now: DateTime<FixedOffset>,
    calendar: &BusinessCalendar,
) -> Vec<MonthlyDue> {
    let last = Month::of(now.with_timezone(&hong_kong_offset()).date_naive());
    let mut out = Vec::new();
    let mut m = first;
    while m <= last {
        out.push(MonthlyDue {
            month: m,
            month_end: m.end(),
            deadline: calendar.monthly_deadline(m.year, m.month),
        });
        m = m.next();
    }
    out
}

/// The envelope rules of interchange.md section 1 that judge an event
/// against the time it is recorded and the trading calendar, applied when an
/// event is recorded (never on replay: a market closure recorded later must
/// not make an earlier repurchase unreadable):
///
/// * a balance-moving event's effective date may not be after the Hong Kong
///   date of its `recorded_at` (history is recorded after it happens);
/// * an on-Exchange repurchase or sale of treasury shares is dated on a Hong
///   Kong trading day: not a weekend, not a general holiday
///   ([`crate::calendar::general_holiday`]), not a recorded `market_closed`
///   day (`closures`, with their reasons).
pub fn check_envelope(
    event: &crate::event::Event,
    recorded_at: chrono::DateTime<chrono::FixedOffset>,
    closures: &std::collections::BTreeMap<NaiveDate, String>,
) -> Result<(), crate::refusal::Refusal> {
    use crate::event::{Event, Method};
    use crate::refusal::{Refusal, RefusalKind as K};
    use chrono::{Datelike, Weekday};
    let Some(date) = event.effective_date() else {
        return Ok(());
    };
    let field = match event {
        Event::SharesRepurchased(_) | Event::TreasurySharesSold(_) => "trade_date",
        _ => "date",
    };
    let long = |d: NaiveDate| d.format("%A %-d %B %Y").to_string();
    if event.moves_balance() {
        let today = recorded_at
            .with_timezone(&crate::calendar::hong_kong_offset())
            .date_naive();
        if date > today {
            return Err(Refusal::new(
                K::FutureDate,
                field,
                format!(
                    "{} is after the day it is recorded ({} in Hong Kong): a change is recorded once it has happened",
                    long(date),
                    long(today)
                ),
                "check the date (a typo in the year or month?); record the event on or after that day",
            ));
        }
    }
    let on_exchange = match event {
        Event::SharesRepurchased(e) => e.method.unwrap_or_default() == Method::OnExchange,
        Event::TreasurySharesSold(e) => e.method.unwrap_or_default() == Method::OnExchange,
        _ => false,
    };
    if on_exchange {
        let why = if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            Some("a weekend".to_string())
        } else if let Some(holiday) = crate::calendar::general_holiday(date) {
            Some(format!("{holiday}, a Hong Kong general holiday"))
        } else {
            closures
                .get(&date)
                .map(|reason| format!("the market was closed ({reason})"))
        };
        if let Some(why) = why {
            return Err(Refusal::new(
                K::NotTradingDay,
                field,
                format!(
                    "{} is not a trading day of the Exchange: {why}; an on-Exchange trade cannot be dated on it",
                    long(date)
                ),
                "check the trade date against the broker's contract note",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn layout_changes_on_11_june_2024() {
        assert_eq!(NddrLayout::for_date(d(2024, 6, 10)), NddrLayout::Ff304);
        assert_eq!(NddrLayout::for_date(d(2024, 6, 11)), NddrLayout::Ff305);
        assert_eq!(NddrLayout::parse("ff305"), Some(NddrLayout::Ff305));
        assert_eq!(NddrLayout::parse("FF301"), None);
    }

    #[test]
    fn moratorium_is_thirty_calendar_days() {
        assert_eq!(moratorium_end(d(2025, 6, 13)), d(2025, 7, 13));
        assert_eq!(moratorium_end(d(2025, 12, 22)), d(2026, 1, 21));
    }

    #[test]
    fn monthly_columns_from_june_2024() {
        assert!(!monthly_has_treasury_columns(d(2024, 5, 31)));
        assert!(monthly_has_treasury_columns(d(2024, 6, 30)));
    }

    #[test]
    fn the_treasury_era_and_ff305_start_on_11_june_2024() {
        assert_eq!(TREASURY_REGIME_START, d(2024, 6, 11));
        assert_eq!(ff305_start(), d(2024, 6, 11));
    }

    #[test]
    fn moratorium_window_seen_from_both_sides() {
        let t = d(2025, 6, 13);
        let window = moratorium_trade_dates(d(2025, 7, 13));
        assert!(window.contains(&t));
        assert!(!moratorium_trade_dates(d(2025, 7, 14)).contains(&t));
        assert!(!moratorium_trade_dates(t).contains(&t));
        assert!(moratorium_trade_dates(d(2025, 6, 14)).contains(&t));
        assert!(moratorium_in_force(t, t));
        assert!(moratorium_in_force(t, d(2025, 7, 13)));
        assert!(!moratorium_in_force(t, d(2025, 7, 14)));
        assert!(!moratorium_in_force(t, d(2025, 6, 12)));
        // Every date of a year: the two descriptions agree.
        for trade in d(2024, 1, 1).iter_days().take(366) {
            for offset in 0..40 {
                let on = trade + Days::new(offset);
                assert_eq!(
                    moratorium_trade_dates(on).contains(&trade),
                    trade < on && moratorium_in_force(trade, on),
                    "{trade} {on}"
                );
            }
        }
    }

    fn month(year: i32, month: u32) -> Month {
        Month { year, month }
    }

    #[test]
    fn first_month_owed() {
        // A first filing on a month end: that month is owed.
        assert_eq!(
            first_monthly_return_owed(Some(d(2022, 11, 30)), Some(d(2022, 5, 1))),
            Some(month(2022, 11))
        );
        assert_eq!(
            first_monthly_return_owed(Some(d(2022, 11, 4)), None),
            Some(month(2022, 11))
        );
        // No filing: the months ending after the opening balance.
        assert_eq!(
            first_monthly_return_owed(None, Some(d(2022, 10, 31))),
            Some(month(2022, 11))
        );
        assert_eq!(
            first_monthly_return_owed(None, Some(d(2022, 12, 31))),
            Some(month(2023, 1))
        );
        // Within a month: that month's return cannot be produced from the
        // ledger (no closing balance of September), so November is first.
        assert_eq!(
            first_monthly_return_owed(None, Some(d(2022, 10, 15))),
            Some(month(2022, 11))
        );
        assert_eq!(
            first_monthly_return_owed(None, Some(d(2022, 10, 1))),
            Some(month(2022, 11))
        );
        assert_eq!(first_monthly_return_owed(None, None), None);
    }

    #[test]
    fn monthly_returns_due_with_their_deadlines() {
        let cal = BusinessCalendar::new();
        let now = DateTime::parse_from_rfc3339("2023-01-09T08:30:00+08:00").unwrap();
        let due = monthly_returns_due(month(2022, 11), now, &cal);
        let months: Vec<(Month, NaiveDate, String)> = due
            .iter()
            .map(|m| (m.month, m.month_end, m.deadline.to_rfc3339()))
            .collect();
        // domain.md §5: November 2022 by 7 December, December by 9 January
        // (2 January 2023 was a holiday); January 2023 is listed, not yet due.
        assert_eq!(
            months,
            vec![
                (
                    month(2022, 11),
                    d(2022, 11, 30),
                    "2022-12-07T08:30:00+08:00".into()
                ),
                (
                    month(2022, 12),
                    d(2022, 12, 31),
                    "2023-01-09T08:30:00+08:00".into()
                ),
                (
                    month(2023, 1),
                    d(2023, 1, 31),
                    "2023-02-07T08:30:00+08:00".into()
                ),
            ]
        );
        assert_eq!(
            due.iter().map(|m| m.overdue(now)).collect::<Vec<_>>(),
            vec![true, false, false]
        );
        // The month of `now` is judged in Hong Kong time: 31 January 2023
        // 17:00 UTC is 1 February in Hong Kong.
        let utc = DateTime::parse_from_rfc3339("2023-01-31T17:00:00+00:00").unwrap();
        assert_eq!(
            monthly_returns_due(month(2022, 12), utc, &cal)
                .last()
                .map(|m| m.month),
            Some(month(2023, 2))
        );
        assert!(monthly_returns_due(month(2023, 3), now, &cal).is_empty());
    }
}
