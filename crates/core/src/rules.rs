//! The Listing Rules' fixed numbers and dates, each in one place, each named
//! with its Main Board Rule. The checks in `shareledger-returns` judge the
//! log with these; the returns choose their layout with these.

use chrono::{Days, NaiveDate};

use crate::event::{Event, IssueKind};

/// The first day of the FF305 NDDR layout and of treasury shares (11 June 2024).
pub fn ff305_start() -> NaiveDate {
    crate::state::treasury_regime_start()
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
/// treasury-share columns (months from June 2024) [assumed from the form's
/// revision with the treasury-share rules of 11 June 2024].
pub fn monthly_has_treasury_columns(month_end: NaiveDate) -> bool {
    month_end >= NaiveDate::from_ymd_opt(2024, 6, 30).expect("valid")
}

/// Rule 10.06(3): no new issue, and no sale or transfer of treasury shares,
/// for 30 days after a repurchase. The NDDR prints the end as "Up to" the
/// trading date plus 30 calendar days [filed: 13 June 2025 → 13 July 2025].
pub const MORATORIUM_DAYS: u64 = 30;

/// The last day of the moratorium that a repurchase on `trade_date` starts.
pub fn moratorium_end(trade_date: NaiveDate) -> NaiveDate {
    trade_date + Days::new(MORATORIUM_DAYS)
}

/// Rule 10.06(1)(c): a mandate authorises at most 10% of issued shares
/// (excluding treasury) at the resolution date.
pub const MANDATE_LIMIT_PERCENT: u64 = 10;

/// Rule 10.06(2)(e): no repurchase from 30 days before the earlier of the
/// results board meeting and the publication deadline until the announcement.
pub const BLACKOUT_DAYS: u64 = 30;

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
/// is taken as not by a director [assumed]; a redemption counts at the
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

/// Rule 13.25B: the Monthly Return is due on this business day after the month's end.
pub const MONTHLY_DUE_BUSINESS_DAY: u32 = 5;

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
}
