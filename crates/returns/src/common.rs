//! What both returns share: the class header, the event labels the forms use,
//! where a return's history starts, and money sums.

use std::ops::Bound;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use shareledger_core::event::{Event, IssueKind, Method, Purpose, Recorded};
use shareledger_core::state::{ClassState, IssuerState, PendingOrigin};
use shareledger_core::{Currency, Money};

use crate::document::{BalanceRow, ClassInfo, IssuerRef};
use crate::window::View;
use crate::ReturnError;

pub fn issuer_ref(issuer: &IssuerState) -> IssuerRef {
    IssuerRef {
        id: issuer.id().to_string(),
        name: name_of_issuer(issuer.name(), issuer.description()),
    }
}

/// "Name of Issuer" as the filed forms print it: the name, then the
/// description in brackets ("Baozun Inc. (A company controlled through
/// weighted voting rights and incorporated in the Cayman Islands with limited
/// liability)"). A description the user already bracketed whole is not
/// bracketed again; one that merely starts and ends with brackets of its own
/// ("(a) listed; (b) registered") is.
pub fn name_of_issuer(name: &str, description: Option<&str>) -> String {
    let name = name.trim();
    match description.map(str::trim).filter(|d| !d.is_empty()) {
        None => name.to_string(),
        Some(d) if bracketed_whole(d) => format!("{name} {d}"),
        Some(d) => format!("{name} ({d})"),
    }
}

/// Whether `s` is one bracketed group: it opens with "(" and that bracket
/// closes at the very end.
fn bracketed_whole(s: &str) -> bool {
    if !s.starts_with('(') || !s.ends_with(')') {
        return false;
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + c.len_utf8() == s.len();
                }
            }
            _ => {}
        }
    }
    false
}

pub fn class_info(class: &ClassState) -> ClassInfo {
    let d = &class.definition();
    ClassInfo {
        class_of_shares: d.class_of_shares.clone(),
        type_of_shares: d.type_of_shares_or_default().to_string(),
        listed: d.listed_or_default(),
        stock_code: d.stock_code.clone(),
        description: d.description.clone(),
        multi_counter: d.multi_counter.clone().unwrap_or_default(),
    }
}

/// The method as the forms print it.
pub fn method_label(method: Method, exchange: Option<&str>) -> String {
    match method {
        Method::OnExchange => "On the Exchange".into(),
        Method::OtherExchange => format!(
            "On another stock exchange ({})",
            exchange.unwrap_or("not named")
        ),
        Method::PrivateArrangement => "By private arrangement".into(),
        Method::GeneralOffer => "By general offer".into(),
    }
}

/// The Section I / Part III label of an issue of shares.
pub fn issue_label(kind: IssueKind) -> &'static str {
    match kind {
        IssueKind::Placing => "Placing",
        IssueKind::ConsiderationIssue => "Consideration issue",
        IssueKind::OpenOffer => "Open offer",
        IssueKind::RightsIssue => "Rights issue",
        IssueKind::BonusIssue => "Bonus issue",
        IssueKind::ScripDividend => "Scrip dividend",
        IssueKind::ShareOptionExercise => "Exercise of share options",
        IssueKind::ShareAward => "Share award",
        IssueKind::WarrantExercise => "Exercise of warrants",
        IssueKind::Conversion => "Conversion of convertible securities",
        IssueKind::Other => "Other (please specify)",
    }
}

pub const FF304_PENDING: &str = "Repurchase of shares (or other securities) but not cancelled";
pub const FF304_REDEMPTION_PENDING: &str =
    "Redemption of shares (or other securities) but not cancelled";
pub const FF304_CANCELLED: &str = "Cancellation of repurchased shares";
pub const FF305_CANCELLED: &str = "Repurchase of shares (shares repurchased and cancelled)";
pub const FF305_TREASURY: &str = "Repurchase of shares (shares held as treasury shares)";
pub const OTHER: &str = "Other (please specify)";
pub const CAPITAL_REORGANISATION: &str = "Capital reorganisation";
pub const REDEMPTION: &str = "Redemption of shares";
pub const TREASURY_SOLD: &str = "Sale of treasury shares";
pub const TREASURY_TRANSFERRED: &str = "Transfer of treasury shares";
pub const TREASURY_CANCELLED: &str = "Cancellation of treasury shares";

pub fn pending_label(origin: PendingOrigin) -> &'static str {
    match origin {
        PendingOrigin::Repurchase => FF304_PENDING,
        PendingOrigin::Redemption => FF304_REDEMPTION_PENDING,
    }
}

/// The date a class's history in this return starts from: the later of the
/// previous return's closing date and the class's opening balance date.
/// `None` when the class has neither (its history starts from nothing).
pub fn start_date(class: &ClassState, previous_return: Option<NaiveDate>) -> Option<NaiveDate> {
    let opening = class.opening().map(|o| o.date);
    match (previous_return, opening) {
        (Some(p), Some(o)) => Some(p.max(o)),
        (p, o) => p.or(o),
    }
}

/// Balances at the end of `date`, or an error naming why they are unknown.
pub fn balance_row(class: &ClassState, date: NaiveDate) -> Result<BalanceRow, ReturnError> {
    let b = class
        .balances_as_of(date)
        .ok_or_else(|| ReturnError::BeforeHistory {
            class: class.id().to_string(),
            date,
            opening: class.opening().map(|o| o.date).unwrap_or(date),
        })?;
    Ok(BalanceRow {
        date,
        issued_excluding_treasury: b.issued_excluding_treasury,
        treasury: b.treasury,
        total: b.total(),
    })
}

/// The day before the first event of a class with no opening balance.
pub fn day_before(date: NaiveDate) -> NaiveDate {
    date.checked_sub_days(Days::new(1)).unwrap_or(date)
}

/// The live events of one class (a reclassification: of both its classes)
/// with an effective date in `(after, through]`, in log order.
pub fn class_events<'a>(
    view: &View<'a>,
    class: &'a str,
    after: Option<NaiveDate>,
    through: NaiveDate,
) -> impl Iterator<Item = (&'a Recorded, NaiveDate)> + 'a {
    let from = after.map_or(Bound::Unbounded, Bound::Excluded);
    view.live_between(from, through)
        .into_iter()
        .filter_map(move |r| {
            let date = r.event.effective_date()?;
            r.event.concerns_class(class).then_some((r, date))
        })
}

/// What was paid for the repurchases for `purpose` on one trade date:
/// (currency, exact total, shares), when every one of them has prices in one
/// currency.
pub fn repurchase_paid(
    view: &View<'_>,
    class: &str,
    trade_date: NaiveDate,
    purpose: Purpose,
) -> Option<(Currency, Decimal, u64)> {
    let mut shares = 0u64;
    let mut total = Decimal::ZERO;
    let mut currency: Option<Currency> = None;
    // A repurchase's effective date is its trade date: the events of that day.
    for r in view.live_between(Bound::Included(trade_date), trade_date) {
        let Event::SharesRepurchased(e) = &r.event else {
            continue;
        };
        if e.class != class || e.trade_date != trade_date || e.purpose_or_default() != purpose {
            continue;
        }
        let p = e.prices()?;
        if currency.as_ref().is_some_and(|c| *c != p.currency) {
            return None;
        }
        currency = Some(p.currency);
        shares += e.shares;
        total = total.checked_add(p.total.0)?;
    }
    Some((currency?, total, shares))
}

/// The volume-weighted price of the repurchases for `purpose` on one trade
/// date, when every one of them has prices in one currency.
pub fn repurchase_vwap(
    view: &View<'_>,
    class: &str,
    trade_date: NaiveDate,
    purpose: Purpose,
) -> Option<Money> {
    let (currency, total, shares) = repurchase_paid(view, class, trade_date, purpose)?;
    let avg = view.issuer().presentation().average_price(total, shares)?;
    Some(Money::new(currency, avg))
}

/// The volume-weighted repurchase price of the shares cancelled on `date`
/// (FF305 Part A "shares repurchased and cancelled"): each pending line
/// contributes its share of what was paid on its trade date, pro rata to the
/// shares cancelled from it. `None` when any of them was bought without
/// prices, was a redemption, or currencies differ.
pub fn cancellation_vwap(view: &View<'_>, class: &ClassState, date: NaiveDate) -> Option<Money> {
    let mut shares = 0u64;
    let mut total = Decimal::ZERO;
    let mut currency: Option<Currency> = None;
    for line in class.pending().values() {
        let taken: u64 = line
            .cancellations
            .iter()
            .filter(|c| c.0 == date)
            .map(|c| c.1)
            .sum();
        if taken == 0 {
            continue;
        }
        if line.origin != PendingOrigin::Repurchase {
            return None;
        }
        let (c, paid, bought) =
            repurchase_paid(view, class.id(), line.trade_date, Purpose::Cancellation)?;
        if currency.as_ref().is_some_and(|have| *have != c) || bought == 0 {
            return None;
        }
        currency = Some(c);
        // Exact when the whole line goes; else pro rata (28 significant
        // digits, rounded once below to the policy's places).
        let part = if taken == bought {
            paid
        } else {
            paid.checked_mul(Decimal::from(taken))?
                .checked_div(Decimal::from(bought))?
        };
        total = total.checked_add(part)?;
        shares += taken;
    }
    let avg = view.issuer().presentation().average_price(total, shares)?;
    Some(Money::new(currency?, avg))
}

/// Sum money of one currency; `None` if empty, an error if currencies mix.
pub fn sum_money(
    items: impl IntoIterator<Item = Money>,
    what: &str,
) -> Result<Option<Money>, ReturnError> {
    let mut acc: Option<Money> = None;
    for m in items {
        acc = Some(match acc {
            None => m,
            Some(a) if a.currency == m.currency => Money::new(a.currency, a.amount.0 + m.amount.0),
            Some(a) => {
                return Err(ReturnError::MixedCurrencies {
                    what: what.to_string(),
                    first: a.currency.to_string(),
                    second: m.currency.to_string(),
                })
            }
        });
    }
    Ok(acc)
}

/// Signed difference of two share counts, as the forms print a change.
pub fn signed(after: u64, before: u64) -> i64 {
    after as i64 - before as i64
}

#[cfg(test)]
mod tests {
    use super::name_of_issuer;

    #[test]
    fn the_description_is_bracketed_once() {
        assert_eq!(
            name_of_issuer(
                "Baozun Inc.",
                Some("A company controlled through weighted voting rights and incorporated in the Cayman Islands with limited liability")
            ),
            "Baozun Inc. (A company controlled through weighted voting rights and incorporated in the Cayman Islands with limited liability)"
        );
        assert_eq!(
            name_of_issuer(
                "Placing Limited",
                Some("incorporated in Bermuda with limited liability")
            ),
            "Placing Limited (incorporated in Bermuda with limited liability)"
        );
        // Typed with its brackets: kept as typed.
        assert_eq!(
            name_of_issuer(
                "Qingdao AInnovation Technology Group Co., Ltd",
                Some("(a joint stock company incorporated in the People's Republic of China with limited liability)")
            ),
            "Qingdao AInnovation Technology Group Co., Ltd (a joint stock company incorporated in the People's Republic of China with limited liability)"
        );
        // Brackets of its own at both ends are not one group: bracketed.
        assert_eq!(
            name_of_issuer("X Ltd", Some("(a) listed; (b) registered")),
            "X Ltd ((a) listed; (b) registered)"
        );
        assert_eq!(
            name_of_issuer("X Ltd", Some("(unbalanced")),
            "X Ltd ((unbalanced)"
        );
        assert_eq!(name_of_issuer("X Ltd", Some("  ")), "X Ltd");
        assert_eq!(name_of_issuer("X Ltd", None), "X Ltd");
    }
}
