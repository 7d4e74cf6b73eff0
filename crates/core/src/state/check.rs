//! Whether an event may be appended to an issuer (domain.md section 2, "what
//! can never happen"): [`check_issuer_event`] dispatches to one checking
//! function per event kind; the shared checks (non-empty text, a positive
//! share count, after the opening balance, prices) follow them.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::amount::{Amount, Currency};
use crate::event::*;
use crate::refusal::{Refusal, RefusalKind as K};
use crate::rules::TREASURY_REGIME_START;

use super::balances::{effect, Delta};
use super::register::replay;
use super::{ClassState, InstrumentState, IssuerState, MAX_SHARES};

/// Whether deciding `event` reads its issuer's history (the one place
/// that knows it, beside the checks that do): a correction of an issuer's
/// event (the voided event is found in the history and the rest replayed),
/// and an approval that covers events (they must be in force). A register
/// without history ([`super::Register::without_history`]) must be given the
/// issuer's history before such an event.
pub fn needs_history(event: &Event) -> bool {
    match event {
        Event::EventVoided(v) => v.issuer.is_some(),
        Event::ExchangeApprovalRecorded(e) => e.covers.iter().flatten().next().is_some(),
        _ => false,
    }
}

/// Whether deciding `event` needs more of its issuer than a state folded
/// before `horizon` keeps ([`super::Register::fold_issuer`]; `None`: the
/// whole state, nothing is needed). The one place that knows it: the
/// append asks it before sending a line to a folded issuer (and then puts
/// the issuer's whole state in, rebuilt from the log), and
/// [`super::Register::check`] asserts it was asked. A folded state keeps
/// every day on or after the horizon, the totals, the open pending lines,
/// the mandates, schemes, instruments, approvals and voided ids: an event
/// dated on or after the horizon is decided on it exactly as on the whole
/// state. It needs the whole state when it is dated before the horizon
/// (its check walks the days from its date on, or it would change detail
/// folded), when it is a cancellation naming a trade date before the
/// horizon (a line wholly cancelled then is folded away), or an amendment
/// of a filing (the filing amended may be folded away). Corrections and
/// approvals that cover events need the history ([`needs_history`]),
/// which is more.
pub fn needs_full_state(event: &Event, horizon: Option<NaiveDate>) -> bool {
    let Some(h) = horizon else {
        return false;
    };
    match event {
        Event::RepurchasedSharesCancelled(e) => {
            e.date < h || e.trade_dates.iter().flatten().any(|d| *d < h)
        }
        Event::ReturnFiled(e) => e.date < h || e.amends.is_some(),
        Event::SharesRepurchased(_)
        | Event::SharesIssued(_)
        | Event::SharesRedeemed(_)
        | Event::TreasurySharesSold(_)
        | Event::TreasurySharesTransferred(_)
        | Event::TreasurySharesCancelled(_)
        | Event::AuthorisedSharesChanged(_)
        | Event::ClosingPrice(_)
        | Event::SharesReclassified(_)
        | Event::CapitalReorganised(_)
        | Event::ResultsAnnouncementScheduled(_)
        | Event::RepurchaseMandateGranted(_) => event.effective_date().is_some_and(|d| d < h),
        Event::IssuerRegistered(_)
        | Event::IssuerSettingsChanged(_)
        | Event::ShareClassDefined(_)
        | Event::OpeningBalance(_)
        | Event::ShareOptionSchemeAdopted(_)
        | Event::ShareOptionsGranted(_)
        | Event::ShareOptionsLapsed(_)
        | Event::ShareOptionsCancelled(_)
        | Event::MarketClosed(_)
        | Event::InstrumentIssued(_)
        | Event::InstrumentCancelled(_)
        | Event::ExchangeApprovalRecorded(_)
        | Event::EventVoided(_) => false,
    }
}

/// Whether `r` may be appended to `issuer`: the checking function of its kind.
pub(super) fn check_issuer_event(issuer: &IssuerState, r: &Recorded) -> Result<(), Refusal> {
    let eff = effect(&r.event);
    match &r.event {
        Event::IssuerRegistered(_) | Event::MarketClosed(_) => {
            unreachable!("handled by the register")
        }
        Event::IssuerSettingsChanged(e) => check_issuer_settings_changed(e),
        Event::ShareClassDefined(e) => check_share_class_defined(issuer, e),
        Event::OpeningBalance(e) => check_opening_balance(issuer, e),
        Event::RepurchaseMandateGranted(e) => check_repurchase_mandate_granted(issuer, e),
        Event::SharesRepurchased(e) => check_shares_repurchased(issuer, e, Delta::of(eff)),
        Event::RepurchasedSharesCancelled(e) => {
            check_repurchased_shares_cancelled(issuer, e, Delta::of(eff))
        }
        Event::SharesIssued(e) => check_shares_issued(issuer, e, Delta::of(eff)),
        Event::SharesRedeemed(e) => check_shares_redeemed(issuer, e, Delta::of(eff)),
        Event::TreasurySharesSold(e) => check_treasury_shares_sold(issuer, e, Delta::of(eff)),
        Event::TreasurySharesTransferred(e) => {
            check_treasury_shares_transferred(issuer, e, Delta::of(eff))
        }
        Event::TreasurySharesCancelled(e) => {
            check_treasury_shares_cancelled(issuer, e, Delta::of(eff))
        }
        Event::AuthorisedSharesChanged(e) => check_authorised_shares_changed(issuer, e),
        Event::ShareOptionSchemeAdopted(e) => check_share_option_scheme_adopted(issuer, e),
        Event::ShareOptionsGranted(e) => check_share_options_granted(issuer, e),
        Event::ShareOptionsLapsed(e) | Event::ShareOptionsCancelled(e) => {
            check_share_options_lapsed_or_cancelled(issuer, e)
        }
        Event::ResultsAnnouncementScheduled(e) => check_results_announcement_scheduled(e),
        Event::ReturnFiled(e) => check_return_filed(issuer, e),
        Event::ClosingPrice(e) => check_closing_price(issuer, e),
        Event::SharesReclassified(e) => check_shares_reclassified(issuer, e),
        Event::InstrumentIssued(e) => check_instrument_issued(issuer, e),
        Event::InstrumentCancelled(e) => check_instrument_cancelled(issuer, e),
        Event::ExchangeApprovalRecorded(e) => check_exchange_approval_recorded(issuer, e),
        Event::CapitalReorganised(e) => check_capital_reorganised(issuer, e),
        Event::EventVoided(e) => check_event_voided(issuer, e),
    }
}

/// Whether an `issuer_settings_changed` may be appended: a new name must not be
/// empty.
fn check_issuer_settings_changed(e: &IssuerSettingsChanged) -> Result<(), Refusal> {
    if let Some(n) = &e.name {
        non_empty(n, "name")?;
    }
    Ok(())
}

/// Whether a `share_class_defined` may be appended: a class is defined once,
/// with a non-empty id and class of shares, and authorised shares within
/// [`MAX_SHARES`].
fn check_share_class_defined(issuer: &IssuerState, e: &ShareClassDefined) -> Result<(), Refusal> {
    non_empty(&e.class, "class")?;
    non_empty(&e.class_of_shares, "class_of_shares")?;
    if issuer.classes.contains_key(&e.class) {
        return Err(Refusal::new(
            K::ClassExists,
            "class",
            format!("issuer {} already has a class `{}`", issuer.id, e.class),
            "choose another class id; a class is defined once",
        ));
    }
    if let Some(n) = e.authorised_shares {
        if n > MAX_SHARES {
            return Err(Refusal::new(
                K::TooManyShares,
                "authorised_shares",
                format!("{n} is above {MAX_SHARES}"),
                "check the number",
            ));
        }
    }
    Ok(())
}

/// Whether an `opening_balance` may be appended: at most one opening balance per
/// class, before any of its movements, within [`MAX_SHARES`].
fn check_opening_balance(issuer: &IssuerState, e: &OpeningBalance) -> Result<(), Refusal> {
    let class = issuer.class_or_refuse(&e.class)?;
    if let Some(o) = &class.opening {
        return Err(Refusal::new(
            K::OpeningBalanceExists,
            "class",
            format!(
                "class {} already has an opening balance as at {}",
                e.class, o.date
            ),
            "a class has at most one opening balance; void nothing, record movements instead",
        ));
    }
    if class.has_movements {
        return Err(Refusal::new(
            K::OpeningBalanceAfterMovements,
            "date",
            format!("class {} already has balance-moving events", e.class),
            "record the opening balance before any movement of the class",
        ));
    }
    for (n, f) in [
        (e.issued_shares, "issued_shares"),
        (e.treasury_shares.unwrap_or(0), "treasury_shares"),
    ] {
        if n > MAX_SHARES {
            return Err(Refusal::new(
                K::TooManyShares,
                f,
                format!("{n} is above {MAX_SHARES}"),
                "check the number",
            ));
        }
    }
    Ok(())
}

/// Whether a `repurchase_mandate_granted` may be appended: a mandate of a known
/// class, with issued shares at the resolution and an expiry not before the
/// resolution.
fn check_repurchase_mandate_granted(
    issuer: &IssuerState,
    e: &RepurchaseMandateGranted,
) -> Result<(), Refusal> {
    issuer.class_or_refuse(&e.class)?;
    positive(e.issued_shares_at_resolution, "issued_shares_at_resolution")?;
    if let Some(x) = e.expiry_date {
        if x < e.resolution_date {
            return Err(Refusal::new(
                K::InvalidDates,
                "expiry_date",
                format!("expiry {x} is before the resolution {}", e.resolution_date),
                "check the dates",
            ));
        }
    }
    Ok(())
}

/// Whether a `shares_repurchased` may be appended: a repurchase: known class,
/// shares, after the opening balance, an exchange named for `other_exchange`,
/// complete prices within shares × [lowest, highest], treasury only from 11
/// June 2024, and no balance (or the shares pending cancellation) out of range
/// on any later day.
fn check_shares_repurchased(
    issuer: &IssuerState,
    e: &SharesRepurchased,
    delta: Delta,
) -> Result<(), Refusal> {
    let class = issuer.class_or_refuse(&e.class)?;
    positive(e.shares, "shares")?;
    after_opening(class, e.trade_date, "trade_date")?;
    method_exchange(e.method, &e.exchange)?;
    check_prices(
        e.shares,
        &e.currency,
        e.highest_price,
        e.lowest_price,
        e.total_paid,
        "total_paid",
    )?;
    if e.purpose_or_default() == Purpose::Treasury {
        treasury_allowed(e.trade_date, "purpose")?;
    }
    class.check_delta(e.trade_date, delta, "shares", "a repurchase")?;
    let pending_now = class.totals.pending + delta.pending;
    if pending_now > MAX_SHARES as i128 {
        return Err(Refusal::new(
            K::TooManyShares,
            "shares",
            "pending cancellation would exceed the limit",
            "check the number",
        ));
    }
    Ok(())
}

/// Whether a `repurchased_shares_cancelled` may be appended: a cancellation of
/// repurchased shares: no more than is pending on the named (or earlier) trade
/// dates, and no balance out of range.
fn check_repurchased_shares_cancelled(
    issuer: &IssuerState,
    e: &RepurchasedSharesCancelled,
    delta: Delta,
) -> Result<(), Refusal> {
    let class = issuer.class_or_refuse(&e.class)?;
    positive(e.shares, "shares")?;
    after_opening(class, e.date, "date")?;
    class.allocate_cancellation(e.date, e.shares, e.trade_dates.as_deref())?;
    class.check_delta(e.date, delta, "shares", "a cancellation")
}

/// Whether a `shares_issued` may be appended: an issue: known class, shares,
/// after the opening balance, a scheme named where its kind needs one, price
/// and currency together, amounts that fit, and an option exercise within its
/// scheme's class and outstanding options.
fn check_shares_issued(
    issuer: &IssuerState,
    e: &SharesIssued,
    delta: Delta,
) -> Result<(), Refusal> {
    let class = issuer.class_or_refuse(&e.class)?;
    positive(e.shares, "shares")?;
    after_opening(class, e.date, "date")?;
    if e.kind.needs_scheme() && e.scheme.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return Err(Refusal::new(
            K::SchemeRequired,
            "scheme",
            format!(
                "an issue of kind {:?} must name its scheme, warrant or convertible",
                e.kind
            ),
            "add \"scheme\": the name of the option scheme, warrant or convertible",
        ));
    }
    if e.price.is_some() != e.currency.is_some() {
        return Err(Refusal::new(
            K::IncompletePrices,
            if e.price.is_some() {
                "currency"
            } else {
                "price"
            },
            "a price needs its currency, and a currency its price",
            "give both currency and price, or neither",
        ));
    }
    for (amount, field) in [(e.price, "price"), (e.previous_close, "previous_close")] {
        if let Some(a) = amount {
            if Decimal::from(e.shares).checked_mul(a.0).is_none() {
                return Err(Refusal::new(
                    K::PriceOutOfRange,
                    field,
                    format!(
                        "{} shares × {} is beyond any amount the ledger can hold",
                        e.shares, a.0
                    ),
                    "check the price and the share count",
                ));
            }
        }
    }
    if e.kind == IssueKind::ShareOptionExercise {
        let scheme = issuer.scheme_or_refuse(e.scheme.as_deref().unwrap_or_default(), "scheme")?;
        if scheme.adoption.class != e.class {
            return Err(Refusal::new(
                K::UnknownScheme,
                "class",
                format!(
                    "scheme `{}` issues class {} shares, not class {}",
                    scheme.adoption.scheme, scheme.adoption.class, e.class
                ),
                "record the exercise in the scheme's class, or name the right scheme",
            ));
        }
        if e.shares > scheme.outstanding {
            return Err(Refusal::new(
                K::ExceedsOutstandingOptions,
                "shares",
                format!(
                    "exercising options over {} shares under `{}`, which has only {} outstanding",
                    e.shares, scheme.adoption.scheme, scheme.outstanding
                ),
                "check the number; record grants (share_options_granted) before exercises",
            ));
        }
    }
    check_instrument_exercise(issuer, e)?;
    class.check_delta(e.date, delta, "shares", "an issue")
}

/// Whether a `shares_redeemed` may be appended: a redemption: known class,
/// shares, after the opening balance, price and currency together, no balance
/// out of range.
fn check_shares_redeemed(
    issuer: &IssuerState,
    e: &SharesRedeemed,
    delta: Delta,
) -> Result<(), Refusal> {
    let class = issuer.class_or_refuse(&e.class)?;
    positive(e.shares, "shares")?;
    after_opening(class, e.date, "date")?;
    if e.price.is_some() != e.currency.is_some() {
        return Err(Refusal::new(
            K::IncompletePrices,
            if e.price.is_some() {
                "currency"
            } else {
                "price"
            },
            "a price needs its currency, and a currency its price",
            "give both currency and price, or neither",
        ));
    }
    class.check_delta(e.date, delta, "shares", "a redemption")
}

/// Whether a `treasury_shares_sold` may be appended: a sale of treasury shares:
/// from 11 June 2024, prices within range, no more than the treasury holds.
fn check_treasury_shares_sold(
    issuer: &IssuerState,
    e: &TreasurySharesSold,
    delta: Delta,
) -> Result<(), Refusal> {
    let class = issuer.class_or_refuse(&e.class)?;
    positive(e.shares, "shares")?;
    after_opening(class, e.trade_date, "trade_date")?;
    treasury_allowed(e.trade_date, "trade_date")?;
    method_exchange(e.method, &e.exchange)?;
    check_price_range(
        e.shares,
        e.highest_price.0,
        e.lowest_price.0,
        e.total_received.0,
        "total_received",
    )?;
    class.check_delta(e.trade_date, delta, "shares", "a sale of treasury shares")
}

/// Whether a `treasury_shares_transferred` may be appended: a transfer of
/// treasury shares: a stated purpose, from 11 June 2024, no more than the
/// treasury holds.
fn check_treasury_shares_transferred(
    issuer: &IssuerState,
    e: &TreasurySharesTransferred,
    delta: Delta,
) -> Result<(), Refusal> {
    let class = issuer.class_or_refuse(&e.class)?;
    positive(e.shares, "shares")?;
    non_empty(&e.purpose, "purpose")?;
    after_opening(class, e.date, "date")?;
    treasury_allowed(e.date, "date")?;
    class.check_delta(e.date, delta, "shares", "a transfer of treasury shares")
}

/// Whether a `treasury_shares_cancelled` may be appended: a cancellation of
/// treasury shares: from 11 June 2024, no more than the treasury holds.
fn check_treasury_shares_cancelled(
    issuer: &IssuerState,
    e: &TreasurySharesCancelled,
    delta: Delta,
) -> Result<(), Refusal> {
    let class = issuer.class_or_refuse(&e.class)?;
    positive(e.shares, "shares")?;
    after_opening(class, e.date, "date")?;
    treasury_allowed(e.date, "date")?;
    class.check_delta(e.date, delta, "shares", "a cancellation of treasury shares")
}

/// Whether a `authorised_shares_changed` may be appended: a change of
/// authorised shares: known class, after the opening balance, within
/// [`MAX_SHARES`].
fn check_authorised_shares_changed(
    issuer: &IssuerState,
    e: &AuthorisedSharesChanged,
) -> Result<(), Refusal> {
    let class = issuer.class_or_refuse(&e.class)?;
    after_opening(class, e.date, "date")?;
    if e.authorised_shares > MAX_SHARES {
        return Err(Refusal::new(
            K::TooManyShares,
            "authorised_shares",
            format!("{} is above {MAX_SHARES}", e.authorised_shares),
            "check the number",
        ));
    }
    Ok(())
}

/// Whether a `share_option_scheme_adopted` may be appended: a scheme is adopted
/// once, for a known class, with outstanding options within [`MAX_SHARES`].
fn check_share_option_scheme_adopted(
    issuer: &IssuerState,
    e: &ShareOptionSchemeAdopted,
) -> Result<(), Refusal> {
    issuer.class_or_refuse(&e.class)?;
    non_empty(&e.scheme, "scheme")?;
    if issuer.schemes.contains_key(&e.scheme) {
        return Err(Refusal::new(
            K::SchemeExists,
            "scheme",
            format!("issuer {} already has a scheme `{}`", issuer.id, e.scheme),
            "choose another name; a scheme is adopted once",
        ));
    }
    if e.outstanding_options.unwrap_or(0) > MAX_SHARES {
        return Err(Refusal::new(
            K::TooManyShares,
            "outstanding_options",
            "above the limit",
            "check the number",
        ));
    }
    Ok(())
}

/// Whether a `share_options_granted` may be appended: a grant under a known
/// scheme, keeping outstanding options within [`MAX_SHARES`].
fn check_share_options_granted(issuer: &IssuerState, e: &ShareOptionsMoved) -> Result<(), Refusal> {
    let s = issuer.scheme_or_refuse(&e.scheme, "scheme")?;
    positive(e.options, "options")?;
    if s.outstanding + e.options > MAX_SHARES {
        return Err(Refusal::new(
            K::TooManyShares,
            "options",
            "outstanding options would exceed the limit",
            "check the number",
        ));
    }
    Ok(())
}

/// Whether a `share_options_lapsed` and `share_options_cancelled` may be
/// appended: a lapse or cancellation of options under a known scheme, no more
/// than are outstanding.
fn check_share_options_lapsed_or_cancelled(
    issuer: &IssuerState,
    e: &ShareOptionsMoved,
) -> Result<(), Refusal> {
    let s = issuer.scheme_or_refuse(&e.scheme, "scheme")?;
    positive(e.options, "options")?;
    if e.options > s.outstanding {
        return Err(Refusal::new(
            K::ExceedsOutstandingOptions,
            "options",
            format!(
                "{} options lapse or are cancelled under `{}`, which has only {} outstanding",
                e.options, e.scheme, s.outstanding
            ),
            "check the number",
        ));
    }
    Ok(())
}

/// Whether a `results_announcement_scheduled` may be appended: a results
/// timetable names its period, and its announcement is not before the board
/// meeting.
fn check_results_announcement_scheduled(e: &ResultsAnnouncementScheduled) -> Result<(), Refusal> {
    non_empty(&e.period, "period")?;
    if let Some(a) = e.announcement_date {
        if a < e.board_meeting_date {
            return Err(Refusal::new(
                K::InvalidDates,
                "announcement_date",
                format!(
                    "announcement {a} is before the board meeting {}",
                    e.board_meeting_date
                ),
                "check the dates",
            ));
        }
    }
    Ok(())
}

/// Whether a `return_filed` may be appended: a Monthly Return is dated on its
/// month's last day.
fn check_return_filed(issuer: &IssuerState, e: &ReturnFiled) -> Result<(), Refusal> {
    if e.form == ReturnForm::Monthly && !crate::calendar::is_month_end(e.date) {
        return Err(Refusal::new(
            K::NotMonthEnd,
            "date",
            format!(
                "a Monthly Return's date is the last day of its month, not {}",
                e.date
            ),
            "give the month's last day, like 2022-11-30",
        ));
    }
    if let Some(amended) = e.amends {
        match issuer.filings.iter().find(|(id, _)| *id == amended) {
            Some((_, f)) if f.form == e.form && f.date == e.date => {}
            Some((_, f)) => return Err(Refusal::new(
                K::InvalidAmendment,
                "amends",
                format!(
                    "the filing {amended} is of the {:?} return of {}, not of this one ({:?}, {})",
                    f.form, f.date, e.form, e.date
                ),
                "an amended return corrects the filing of the same return: name that filing's id",
            )),
            None => {
                return Err(Refusal::new(
                    K::InvalidAmendment,
                    "amends",
                    format!("no return_filed {amended} of issuer {} to amend", issuer.id),
                    "name the id of the earlier return_filed of the same return",
                ))
            }
        }
    }
    Ok(())
}

/// Whether a `closing_price` may be appended: a closing price of a known class.
fn check_closing_price(issuer: &IssuerState, e: &ClosingPrice) -> Result<(), Refusal> {
    issuer.class_or_refuse(&e.class)?;
    Ok(())
}

/// Whether an `event_voided` may be appended: a correction: of an event of this
/// issuer, not already voided, not a foundation (registration, class, opening
/// balance, correction), and whose replay without the voided event stays
/// possible.
fn check_event_voided(issuer: &IssuerState, e: &EventVoided) -> Result<(), Refusal> {
    non_empty(&e.reason, "reason")?;
    let Some(target) = issuer.history.iter().find(|h| h.id == e.voided_id) else {
        return Err(Refusal::new(
            K::InvalidVoid,
            "voided_id",
            format!("issuer {} has no event with id {}", issuer.id, e.voided_id),
            "find the id with `shareledger log --issuer ID --format json`",
        ));
    };
    if issuer.voided.contains(&e.voided_id) {
        return Err(Refusal::new(
            K::InvalidVoid,
            "voided_id",
            format!("event {} is already voided", e.voided_id),
            "nothing to do",
        ));
    }
    if matches!(
        target.event,
        Event::IssuerRegistered(_)
            | Event::ShareClassDefined(_)
            | Event::EventVoided(_)
            | Event::OpeningBalance(_)
    ) {
        return Err(Refusal::new(
            K::InvalidVoid,
            "voided_id",
            format!(
                "{} {} cannot be voided",
                if target.event.type_name().starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                },
                target.event.type_name()
            ),
            "correct an issuer with issuer_settings_changed; a class and its opening balance are the ledger's foundation",
        ));
    }
    let mut voided = issuer.voided.clone();
    voided.insert(e.voided_id);
    replay(&issuer.history, &voided)
        .map(|_| ())
        .map_err(|inner| {
            Refusal::new(
                K::InvalidVoid,
                "voided_id",
                format!(
                    "voiding {} would make a later event impossible: {}",
                    e.voided_id, inner.message
                ),
                "void the later events that depend on it first",
            )
        })
}

/// Whether a `shares_reclassified` may be appended: a reclassification: two
/// different classes of the issuer, at least one share, dated after both
/// opening balances, and no more shares than the class it leaves has (excluding
/// those pending cancellation) on its date and every later day.
fn check_shares_reclassified(issuer: &IssuerState, e: &SharesReclassified) -> Result<(), Refusal> {
    let from = issuer.class_or_refuse(&e.from_class).map_err(|r| Refusal {
        field: "from_class",
        ..r
    })?;
    let to = issuer.class_or_refuse(&e.to_class).map_err(|r| Refusal {
        field: "to_class",
        ..r
    })?;
    if e.from_class == e.to_class {
        return Err(Refusal::new(
            K::SameClass,
            "to_class",
            format!(
                "shares of class {} cannot be reclassified as class {}",
                e.from_class, e.to_class
            ),
            "name the class the shares leave (from_class) and the other class they join (to_class)",
        ));
    }
    positive(e.shares, "shares")?;
    after_opening(from, e.date, "date")?;
    after_opening(to, e.date, "date")?;
    let n = e.shares as i128;
    from.check_delta(
        e.date,
        Delta {
            issued: -n,
            ..Delta::default()
        },
        "shares",
        "a reclassification",
    )?;
    to.check_delta(
        e.date,
        Delta {
            issued: n,
            ..Delta::default()
        },
        "shares",
        "a reclassification",
    )
}

/// The instrument an issue of shares exercises or converts: a warrant
/// exercise, a conversion or an `other` issue whose `scheme` names a
/// recorded instrument. (An exercise naming no recorded instrument is
/// accepted as before: history whose instrument the ledger never had.)
pub fn exercised_instrument<'a>(
    issuer: &'a IssuerState,
    e: &SharesIssued,
) -> Option<&'a InstrumentState> {
    if !matches!(
        e.kind,
        IssueKind::WarrantExercise | IssueKind::Conversion | IssueKind::Other
    ) {
        return None;
    }
    issuer.instruments.get(e.scheme.as_deref()?)
}

fn refuse_amount(given: Amount, left: Option<Decimal>, name: &str) -> Result<(), Refusal> {
    match left {
        Some(left) if given.0 > left => Err(Refusal::new(
            K::ExceedsIssuable,
            "amount",
            format!(
                "{} is more than the {left} outstanding under `{name}`",
                given.0
            ),
            "check the amount, or leave it out to take it pro rata",
        )),
        None => Err(Refusal::new(
            K::ExceedsIssuable,
            "amount",
            format!("`{name}` was recorded without an amount, so none can be used"),
            "leave the amount out, or record the instrument with its amount",
        )),
        _ => Ok(()),
    }
}

/// An exercise or conversion under a recorded instrument: of its class and
/// kind, not before it was issued, and no more shares than it can still
/// issue (domain.md section 2), nor more of its amount than is outstanding.
fn check_instrument_exercise(issuer: &IssuerState, e: &SharesIssued) -> Result<(), Refusal> {
    let Some(inst) = exercised_instrument(issuer, e) else {
        return Ok(());
    };
    let i = &inst.issued;
    if i.kind.issue_kind() != e.kind {
        return Err(Refusal::new(
            K::UnknownScheme,
            "kind",
            format!(
                "`{}` is a {} instrument; an issue under it is of kind {}",
                i.instrument,
                serde_json::to_value(i.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                serde_json::to_value(i.kind.issue_kind())
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
            ),
            "correct the kind, or name the right instrument in scheme",
        ));
    }
    if i.class != e.class {
        return Err(Refusal::new(
            K::UnknownScheme,
            "class",
            format!(
                "`{}` issues class {} shares, not class {}",
                i.instrument, i.class, e.class
            ),
            "record the issue in the instrument's class, or name the right instrument",
        ));
    }
    if e.date < i.date {
        return Err(Refusal::new(
            K::InvalidDates,
            "date",
            format!(
                "{} is before `{}` was issued on {}",
                e.date, i.instrument, i.date
            ),
            "check the date",
        ));
    }
    if e.shares > inst.issuable {
        return Err(Refusal::new(
            K::ExceedsIssuable,
            "shares",
            format!(
                "issuing {} shares under `{}`, which can issue only {} more",
                e.shares, i.instrument, inst.issuable
            ),
            "check the number; record the instrument (instrument_issued) with all the shares it can issue",
        ));
    }
    if let Some(a) = e.amount {
        refuse_amount(a, inst.amount, &i.instrument)?;
    }
    Ok(())
}

/// Whether an `instrument_issued` may be appended: a new instrument: of a known
/// class, with a new name and at least one share issuable; a price needs its
/// currency; expiry not before the issue.
fn check_instrument_issued(issuer: &IssuerState, e: &InstrumentIssued) -> Result<(), Refusal> {
    issuer.class_or_refuse(&e.class)?;
    non_empty(&e.instrument, "instrument")?;
    if issuer.instruments.contains_key(&e.instrument) {
        return Err(Refusal::new(
            K::InstrumentExists,
            "instrument",
            format!("issuer {} already has an instrument `{}`", issuer.id, e.instrument),
            "choose another name; an instrument is issued once (record further tranches under their own names)",
        ));
    }
    positive(e.shares_issuable, "shares_issuable")?;
    if e.price.is_some() && e.currency.is_none() {
        return Err(Refusal::new(
            K::IncompletePrices,
            "currency",
            "a price needs its currency",
            "add \"currency\": \"HKD\" (for example)",
        ));
    }
    for (a, field) in [(e.amount, "amount"), (e.price, "price")] {
        if a.is_some_and(|a| a.0.checked_mul(Decimal::from(MAX_SHARES)).is_none()) {
            return Err(Refusal::new(
                K::PriceOutOfRange,
                field,
                "is beyond any amount the ledger can compute with",
                "check the figure",
            ));
        }
    }
    if let Some(x) = e.expiry_date {
        if x < e.date {
            return Err(Refusal::new(
                K::InvalidDates,
                "expiry_date",
                format!("expiry {x} is before the issue {}", e.date),
                "check the dates",
            ));
        }
    }
    Ok(())
}

/// Whether an `instrument_cancelled` may be appended: shares an instrument can
/// no longer issue: a recorded instrument, not before its issue, no more than
/// it can still issue.
fn check_instrument_cancelled(
    issuer: &IssuerState,
    e: &InstrumentCancelled,
) -> Result<(), Refusal> {
    let Some(inst) = issuer.instruments.get(&e.instrument) else {
        let known: Vec<&str> = issuer.instruments.keys().map(String::as_str).collect();
        return Err(Refusal::new(
            K::UnknownScheme,
            "instrument",
            format!("issuer {} has no instrument `{}`", issuer.id, e.instrument),
            if known.is_empty() {
                "record instrument_issued for it first".to_string()
            } else {
                format!("use one of: {}", known.join(", "))
            },
        ));
    };
    positive(e.shares_issuable, "shares_issuable")?;
    if e.date < inst.issued.date {
        return Err(Refusal::new(
            K::InvalidDates,
            "date",
            format!(
                "{} is before `{}` was issued on {}",
                e.date, e.instrument, inst.issued.date
            ),
            "check the date",
        ));
    }
    if e.shares_issuable > inst.issuable {
        return Err(Refusal::new(
            K::ExceedsIssuable,
            "shares_issuable",
            format!(
                "cancelling {} shares issuable under `{}`, which can issue only {} more",
                e.shares_issuable, e.instrument, inst.issuable
            ),
            "check the number",
        ));
    }
    if let Some(a) = e.amount {
        refuse_amount(a, inst.amount, &e.instrument)?;
    }
    Ok(())
}

/// Whether an `exchange_approval_recorded` may be appended: an approval names a
/// rule, and covers only events of the issuer that are in force (each at most
/// once).
fn check_exchange_approval_recorded(
    issuer: &IssuerState,
    e: &ExchangeApprovalRecorded,
) -> Result<(), Refusal> {
    check_exchange_approval_as_stored(e)?;
    for id in e.covers.iter().flatten() {
        if !issuer.live_events().any(|r| r.id == *id) {
            return Err(Refusal::new(
                K::InvalidVoid,
                "covers",
                format!("issuer {} has no event in force with id {id}", issuer.id),
                "find the ids with `shareledger log --issuer ID --format json` (or `audit --format json`, whose findings name their event)",
            ));
        }
    }
    Ok(())
}

/// What an `exchange_approval_recorded` says of itself: it names a rule
/// and each event it covers once. Whether those events are in force needs
/// the history ([`check_exchange_approval_recorded`]); a register replaying
/// the log without it judges this much ([`super::Register::replaying_log`]).
pub(super) fn check_exchange_approval_as_stored(
    e: &ExchangeApprovalRecorded,
) -> Result<(), Refusal> {
    non_empty(&e.rule, "rule")?;
    for (i, id) in e.covers.iter().flatten().enumerate() {
        if e.covers.iter().flatten().take(i).any(|x| x == id) {
            return Err(Refusal::new(
                K::InvalidDates,
                "covers",
                format!("event {id} is named twice"),
                "name each event once",
            ));
        }
    }
    Ok(())
}

/// How far an announced number may lie from the exact scaled one: 1%
/// [assumed: fractions are the issuer's affair and small; a larger gap is
/// a wrong ratio or a number from before the reorganisation].
const REORGANISATION_TOLERANCE_PERCENT: u128 = 1;

/// The net movement and the scaled pending lines a capital reorganisation
/// makes, from the class's balances at the end of its date.
pub(super) fn reorganisation_effect(
    class: &ClassState,
    e: &CapitalReorganised,
) -> (Delta, Vec<(NaiveDate, i128)>) {
    let before = class.current();
    let treasury_after = e
        .treasury_shares_after
        .unwrap_or_else(|| e.scale(before.treasury));
    let mut lines = Vec::new();
    for (trade_date, now) in class.open_lines() {
        let scaled = e.scale(now);
        if scaled != now {
            lines.push((trade_date, scaled as i128 - now as i128));
        }
    }
    let delta = Delta {
        issued: e.issued_shares_after as i128 - before.issued_excluding_treasury as i128,
        treasury: treasury_after as i128 - before.treasury as i128,
        pending: lines.iter().map(|l| l.1).sum(),
    };
    (delta, lines)
}

/// Whether a `capital_reorganised` may be appended: a ratio of whole shares,
/// neither 0, that fits its kind; dated after the opening balance and on or
/// after every movement of the class (later movements are in the new shares);
/// announced numbers within 1% of the exact scaled ones, and the shares pending
/// cancellation, scaled, within the issued shares.
fn check_capital_reorganised(issuer: &IssuerState, e: &CapitalReorganised) -> Result<(), Refusal> {
    let class = issuer.class_or_refuse(&e.class)?;
    for (n, field) in [(e.ratio_from, "ratio_from"), (e.ratio_to, "ratio_to")] {
        if n == 0 {
            return Err(Refusal::new(
                K::InvalidRatio,
                field,
                "is 0",
                "a ratio is of whole shares: 10 → 1 is a ten-into-one consolidation",
            ));
        }
        if n > MAX_SHARES {
            return Err(Refusal::new(
                K::InvalidRatio,
                field,
                format!("{n} is above {MAX_SHARES}"),
                "check the ratio",
            ));
        }
    }
    let fits = match e.kind {
        ReorganisationKind::Consolidation => e.ratio_from > e.ratio_to,
        ReorganisationKind::Subdivision => e.ratio_from < e.ratio_to,
        ReorganisationKind::Other => true,
    };
    if !fits {
        return Err(Refusal::new(
            K::InvalidRatio,
            "kind",
            format!(
                "a {} of {} into {} does not fit its kind",
                serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                e.ratio_from,
                e.ratio_to
            ),
            "a consolidation makes fewer shares (ratio_from > ratio_to), a subdivision more; or use kind other",
        ));
    }
    after_opening(class, e.date, "date")?;
    if let Some(last) = class.days.keys().next_back() {
        if *last > e.date {
            return Err(Refusal::new(
                K::BeforeReorganisation,
                "date",
                format!(
                    "class {} already has movements dated {last}, after the reorganisation on {}; they would be in the old shares",
                    class.id(),
                    e.date
                ),
                "record the reorganisation before the later movements (void and re-record them in the new shares)",
            ));
        }
    }
    for (n, field) in [
        (e.issued_shares_after, "issued_shares_after"),
        (
            e.treasury_shares_after.unwrap_or(0),
            "treasury_shares_after",
        ),
        (
            e.authorised_shares_after.unwrap_or(0),
            "authorised_shares_after",
        ),
    ] {
        if n > MAX_SHARES {
            return Err(Refusal::new(
                K::TooManyShares,
                field,
                format!("{n} is above {MAX_SHARES}"),
                "check the number",
            ));
        }
    }
    let before = class.current();
    let close = |announced: u64,
                 before: u64,
                 field: &'static str,
                 what: &str|
     -> Result<(), Refusal> {
        let exact_num = u128::from(before) * u128::from(e.ratio_to);
        let den = u128::from(e.ratio_from);
        // |announced − before × to / from| × 100 ≤ 1 × before × to / from, without dividing.
        let a = u128::from(announced) * den;
        let gap = a.abs_diff(exact_num);
        if gap * 100 > exact_num * REORGANISATION_TOLERANCE_PERCENT && gap >= den {
            return Err(Refusal::new(
                K::InvalidRatio,
                field,
                format!(
                    "{announced} {what} after a {} into {} reorganisation of {before} is more than 1% from {}",
                    e.ratio_from,
                    e.ratio_to,
                    e.scale(before)
                ),
                "check the ratio and the announced number (the number after, excluding treasury shares)",
            ));
        }
        Ok(())
    };
    close(
        e.issued_shares_after,
        before.issued_excluding_treasury,
        "issued_shares_after",
        "issued shares",
    )?;
    if let Some(t) = e.treasury_shares_after {
        close(
            t,
            before.treasury,
            "treasury_shares_after",
            "treasury shares",
        )?;
    }
    let (delta, _) = reorganisation_effect(class, e);
    let pending_after = class.totals.pending + delta.pending;
    if pending_after > e.issued_shares_after as i128 {
        return Err(Refusal::new(
            K::NegativeBalance,
            "issued_shares_after",
            format!(
                "{pending_after} shares pending cancellation after the reorganisation (scaled, rounded down) but only {} issued",
                e.issued_shares_after
            ),
            "check the announced number of issued shares",
        ));
    }
    class.check_delta(
        e.date,
        delta,
        "issued_shares_after",
        "a capital reorganisation",
    )
}

pub(super) fn non_empty(s: &str, field: &'static str) -> Result<(), Refusal> {
    if s.trim().is_empty() {
        return Err(Refusal::new(
            K::EmptyText,
            field,
            "is empty",
            "give it a value",
        ));
    }
    Ok(())
}

fn positive(shares: u64, field: &'static str) -> Result<(), Refusal> {
    if shares == 0 {
        return Err(Refusal::new(
            K::ZeroShares,
            field,
            "is 0",
            match field {
                "issued_shares_at_resolution" => {
                    "a mandate is granted over the shares in issue at the resolution: give that number (at least one share)"
                }
                "options" => "an event that moves options moves at least one",
                _ => "an event that moves shares moves at least one share",
            },
        ));
    }
    if shares > MAX_SHARES {
        return Err(Refusal::new(
            K::TooManyShares,
            field,
            format!("{shares} is more shares than any issuer has (limit {MAX_SHARES})"),
            "check the number",
        ));
    }
    Ok(())
}

/// Refuse a balance-moving event dated on or before the class's opening
/// balance date: the opening balance already contains it.
fn after_opening(class: &ClassState, date: NaiveDate, field: &'static str) -> Result<(), Refusal> {
    if let Some(o) = &class.opening {
        if date <= o.date {
            return Err(Refusal::new(
                K::BeforeOpeningBalance,
                field,
                format!(
                    "{date} is on or before the opening balance date {} of class {}, which already contains it",
                    o.date,
                    class.id()
                ),
                format!("record only movements after {}", o.date),
            ));
        }
    }
    if let Some((r, _)) = class.reorganisations.last() {
        if date <= r.date {
            return Err(Refusal::new(
                K::BeforeReorganisation,
                field,
                format!(
                    "{date} is on or before the capital reorganisation of class {} on {}, whose announced numbers already contain it",
                    class.id(),
                    r.date
                ),
                format!("record only movements after {} (in the new shares)", r.date),
            ));
        }
    }
    Ok(())
}

fn check_prices(
    shares: u64,
    currency: &Option<Currency>,
    highest: Option<Amount>,
    lowest: Option<Amount>,
    total: Option<Amount>,
    total_field: &'static str,
) -> Result<(), Refusal> {
    let present = [
        currency.is_some(),
        highest.is_some(),
        lowest.is_some(),
        total.is_some(),
    ];
    if present.iter().all(|p| !p) {
        return Ok(());
    }
    if !present.iter().all(|p| *p) {
        let names = ["currency", "highest_price", "lowest_price", total_field];
        let missing: Vec<&str> = names
            .iter()
            .zip(present)
            .filter(|(_, p)| !p)
            .map(|(n, _)| *n)
            .collect();
        return Err(Refusal::new(
            K::IncompletePrices,
            if missing.len() == 1 { field_name(missing[0]) } else { "currency" },
            format!("price details are incomplete: {} missing", missing.join(", ")),
            format!("give all of currency, highest_price, lowest_price and {total_field}, or none of them"),
        ));
    }
    let (h, l, t) = (highest.unwrap().0, lowest.unwrap().0, total.unwrap().0);
    check_price_range(shares, h, l, t, total_field)
}

fn check_price_range(
    shares: u64,
    h: Decimal,
    l: Decimal,
    t: Decimal,
    total_field: &'static str,
) -> Result<(), Refusal> {
    if l > h {
        return Err(Refusal::new(
            K::InvalidPrices,
            "lowest_price",
            format!("lowest price {l} is above highest price {h}"),
            "swap them, or correct the figures",
        ));
    }
    let n = Decimal::from(shares);
    let (Some(low), Some(high), Some(max)) = (
        n.checked_mul(l),
        n.checked_mul(h),
        n.checked_mul(h).and_then(|x| x.checked_add(Decimal::ONE)),
    ) else {
        return Err(Refusal::new(
            K::PriceOutOfRange,
            "highest_price",
            format!("{shares} shares × {h} is beyond any amount the ledger can hold"),
            "check the prices and the share count",
        ));
    };
    let min = low - Decimal::ONE;
    if t < min || t > max {
        return Err(Refusal::new(
            K::PriceOutOfRange,
            total_field,
            format!(
                "{t} lies outside {shares} shares × [{l}, {h}] = [{low}, {high}] (tolerance one unit of the currency)"
            ),
            "check the total, the share count and the prices against the broker's confirmation",
        ));
    }
    Ok(())
}

fn field_name(s: &str) -> &'static str {
    match s {
        "currency" => "currency",
        "highest_price" => "highest_price",
        "lowest_price" => "lowest_price",
        "total_paid" => "total_paid",
        _ => "total_received",
    }
}

fn treasury_allowed(date: NaiveDate, field: &'static str) -> Result<(), Refusal> {
    if date < TREASURY_REGIME_START {
        return Err(Refusal::new(
            K::TreasuryBeforeRegime,
            field,
            format!(
                "{date} is before {}, when treasury shares became possible in Hong Kong",
                TREASURY_REGIME_START.format("%-d %B %Y")
            ),
            "check the date, or record a repurchase for cancellation",
        ));
    }
    Ok(())
}

fn method_exchange(method: Option<Method>, exchange: &Option<String>) -> Result<(), Refusal> {
    if method == Some(Method::OtherExchange)
        && exchange.as_deref().is_none_or(|s| s.trim().is_empty())
    {
        return Err(Refusal::new(
            K::MissingExchange,
            "exchange",
            "method other_exchange needs the exchange's name",
            "add \"exchange\": \"Shanghai Stock Exchange\" (for example)",
        ));
    }
    Ok(())
}
