//! The Monthly Return (FF301) for (issuer, month): a fold over the issuer's
//! live events dated in the month (domain.md 3.2).
//!
//! Part III's total must equal Part II's change; a mismatch is a bug and is
//! reported as [`ReturnError::Unreconciled`], never printed.

use std::collections::BTreeMap;
use std::ops::Bound;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use shareledger_core::amount::exact_mul;
use shareledger_core::event::{Event, InstrumentIssued, InstrumentKind, IssueKind, Purpose};
use shareledger_core::rules::monthly_has_treasury_columns;
use shareledger_core::state::{
    effect_on, exercised_instrument, ClassState, InstrumentState, IssuerState, PendingLine,
    PendingOrigin,
};
use shareledger_core::{Currency, Money};

use crate::common::*;
use crate::dates::{format_long_date, format_remark_dates, month_end, previous_month_end};
use crate::document::*;
use crate::window::View;
use crate::ReturnError;

#[derive(Debug, Clone)]
pub struct MonthlyRequest {
    pub year: i32,
    pub month: u32,
    /// Date submitted; default the first business day after the month (the caller decides).
    pub submitted: NaiveDate,
}

pub fn monthly(issuer: &IssuerState, req: &MonthlyRequest) -> Result<MonthlyReturn, ReturnError> {
    monthly_in(&View::new(issuer), req)
}

/// [`monthly`] from a [`View`]: the same document, the month's events found
/// through the view's index.
pub fn monthly_in(view: &View<'_>, req: &MonthlyRequest) -> Result<MonthlyReturn, ReturnError> {
    let issuer = view.issuer();
    let end = month_end(req.year, req.month).ok_or(ReturnError::BadMonth {
        year: req.year,
        month: req.month,
    })?;
    let prev_end = previous_month_end(req.year, req.month).expect("a month has a previous month");
    let treasury_columns = monthly_has_treasury_columns(end);

    let mut authorised = Vec::new();
    let mut capital: BTreeMap<String, Money> = BTreeMap::new();
    let mut issued = Vec::new();
    let mut movements = Movements::default();
    let mut total_change = Vec::new();
    let mut remarks = Vec::new();
    let several_classes = issuer.classes().len() > 1;

    for class in issuer.classes().values() {
        let id = class.id().to_string();
        let info = class_info(class);
        // Part I.
        let a_prev = class.authorised_as_of(prev_end);
        let a_end = class.authorised_as_of(end);
        // The par value at each close (a capital reorganisation may change it).
        let par = class.par_value_as_of(end);
        let par_prev = class.par_value_as_of(prev_end);
        // Capital = shares × par value, exactly, without the par value's
        // trailing zeros ("HKD 0.1" × 2,000,000,000 = "HKD 200000000").
        let cap_at = |n: Option<u64>, par: &Option<Money>| -> Result<Option<Money>, ReturnError> {
            n.zip(par.clone())
                .map(|(n, p)| {
                    exact_mul(Decimal::from(n), p.amount.0)
                        .map(|v| Money::new(p.currency.clone(), v.normalize()))
                        .ok_or_else(|| ReturnError::TooLarge {
                            what: format!(
                                "the capital of class {id}, {n} shares × par value {}",
                                p.amount
                            ),
                        })
                })
                .transpose()
        };
        let cap = |n: Option<u64>| cap_at(n, &par);
        if let Some(c) = cap(a_end)? {
            let entry = capital
                .entry(c.currency.to_string())
                .or_insert_with(|| Money::new(c.currency.clone(), Decimal::ZERO));
            let sum =
                entry
                    .amount
                    .0
                    .checked_add(c.amount.0)
                    .ok_or_else(|| ReturnError::TooLarge {
                        what: format!("the total authorised capital in {}", c.currency),
                    })?;
            *entry = Money::new(c.currency.clone(), sum.normalize());
        }
        authorised.push(AuthorisedRow {
            class: id.clone(),
            class_info: info.clone(),
            preceding: a_prev,
            change: a_prev
                .zip(a_end)
                .map(|(p, e)| signed(e, p))
                .filter(|c| *c != 0),
            closing: a_end,
            par_value: par.clone(),
            par_value_preceding: par_prev.clone().filter(|p| Some(p) != par.as_ref()),
            capital_preceding: cap_at(a_prev, &par_prev)?,
            capital_closing: cap(a_end)?,
        });

        // Part II.
        let before = class
            .balances_as_of(prev_end)
            .ok_or_else(|| ReturnError::BeforeHistory {
                class: id.clone(),
                date: prev_end,
                opening: class.opening().map(|o| o.date).unwrap_or(prev_end),
            })?;
        let after = class
            .balances_as_of(end)
            .expect("a later date is known when an earlier one is");
        let cols = |b: shareledger_core::Balances| IssuedColumns {
            issued_excluding_treasury: b.issued_excluding_treasury as i64,
            treasury: b.treasury as i64,
            total: b.total() as i64,
        };
        let change = IssuedColumns {
            issued_excluding_treasury: signed(
                after.issued_excluding_treasury,
                before.issued_excluding_treasury,
            ),
            treasury: signed(after.treasury, before.treasury),
            total: signed(after.total(), before.total()),
        };
        issued.push(IssuedRow {
            class: id.clone(),
            class_info: info.clone(),
            preceding: cols(before),
            change,
            closing: cols(after),
        });

        // Part III.
        movements_of_class(view, class, prev_end, end, treasury_columns, &mut movements)?;
        let (ti, tt) = class_total(&movements, &id);
        if ti != change.issued_excluding_treasury || tt != change.treasury {
            return Err(ReturnError::Unreconciled {
                class: id,
                part_ii: (change.issued_excluding_treasury, change.treasury),
                part_iii: (ti, tt),
            });
        }
        total_change.push(TotalChange {
            class: id.clone(),
            issued_excluding_treasury: ti,
            treasury: tt,
        });

        // Remarks on shares repurchased (or redeemed) but not cancelled.
        for (origin, verb) in [
            (PendingOrigin::Repurchase, "Repurchases"),
            (PendingOrigin::Redemption, "Redemptions"),
        ] {
            let pending: Vec<(NaiveDate, u64)> = class
                .pending()
                .values()
                .filter(|l| l.origin == origin)
                .map(|l| (l.trade_date, l.pending_as_of(end)))
                .filter(|(_, n)| *n > 0)
                .collect();
            if pending.is_empty() {
                continue;
            }
            let total: u64 = pending.iter().map(|(_, n)| n).sum();
            let dates: Vec<NaiveDate> = pending.iter().map(|(d, _)| *d).collect();
            let what = class.definition().class_of_shares.to_lowercase();
            let which = if several_classes {
                format!(" (class {id})")
            } else {
                String::new()
            };
            remarks.push(format!(
                "{verb} of a total of {} {what}{which} were made on {} but such shares are not yet cancelled as at {}.",
                crate::dates::thousands(total),
                format_remark_dates(&dates),
                format_long_date(end, false),
            ));
        }
    }

    Ok(MonthlyReturn {
        form: "FF301".into(),
        treasury_columns,
        month_ended: end,
        date_submitted: req.submitted,
        status: NEW_SUBMISSION.into(),
        amends: None,
        issuer: issuer_ref(issuer),
        authorised,
        total_authorised_capital: capital.into_values().collect(),
        issued,
        movements,
        total_change,
        remarks: if remarks.is_empty() {
            None
        } else {
            Some(remarks.join(" "))
        },
        signatory: issuer.signatory().cloned(),
    })
}

fn class_total(m: &Movements, class: &str) -> (i64, i64) {
    let mut issued = 0;
    let mut treasury = 0;
    for r in m.share_options.iter().filter(|r| r.class == class) {
        issued += r.issued_during_month;
        treasury += r.treasury_during_month;
    }
    for r in m
        .warrants
        .iter()
        .chain(&m.convertibles)
        .chain(&m.other_arrangements)
        .filter(|r| r.class == class)
    {
        issued += r.issued_during_month;
        treasury += r.treasury_during_month;
    }
    for r in m.other.iter().filter(|r| r.class == class) {
        issued += r.issued_during_month.unwrap_or(0);
        treasury += r.treasury_during_month.unwrap_or(0);
    }
    (issued, treasury)
}

/// Part III rows of one class for the month `(prev_end, end]`.
fn movements_of_class(
    view: &View<'_>,
    class: &ClassState,
    prev_end: NaiveDate,
    end: NaiveDate,
    new_era: bool,
    out: &mut Movements,
) -> Result<(), ReturnError> {
    let issuer = view.issuer();
    let id = class.id();
    // (A) share option schemes of this class: outstanding at both ends, movements in the month.
    for scheme in issuer.schemes().values().filter(|s| s.adoption.class == id) {
        let name = &scheme.adoption.scheme;
        let mut row = OptionSchemeRow {
            scheme: name.clone(),
            class: id.to_string(),
            general_meeting_date: scheme.adoption.general_meeting_date,
            outstanding_preceding: 0,
            granted: 0,
            exercised: 0,
            cancelled: 0,
            lapsed: 0,
            outstanding_closing: 0,
            issued_during_month: 0,
            treasury_during_month: 0,
            issuable_at_close: 0,
            funds_raised: Vec::new(),
        };
        let mut funds: Vec<Money> = Vec::new();
        let mut moved = false;
        for r in view.live_between(Bound::Excluded(prev_end), end) {
            let (n, slot) = match &r.event {
                Event::ShareOptionsGranted(e) if &e.scheme == name => (e.options, &mut row.granted),
                Event::ShareOptionsLapsed(e) if &e.scheme == name => (e.options, &mut row.lapsed),
                Event::ShareOptionsCancelled(e) if &e.scheme == name => {
                    (e.options, &mut row.cancelled)
                }
                Event::SharesIssued(e)
                    if e.kind == IssueKind::ShareOptionExercise
                        && e.scheme.as_deref() == Some(name.as_str()) =>
                {
                    row.issued_during_month += e.shares as i64;
                    if let (Some(c), Some(p)) = (&e.currency, e.price) {
                        funds.extend(funds_raised(c, p.0, e.shares));
                    }
                    (e.shares, &mut row.exercised)
                }
                _ => continue,
            };
            *slot += n;
            moved = true;
        }
        // Preceding = outstanding after every event up to prev_end.
        row.outstanding_preceding = outstanding_at(
            view,
            name,
            scheme.adoption.outstanding_options.unwrap_or(0),
            prev_end,
        );
        row.outstanding_closing = outstanding_at(
            view,
            name,
            scheme.adoption.outstanding_options.unwrap_or(0),
            end,
        );
        row.issuable_at_close = row.outstanding_closing;
        row.funds_raised = sum_money(funds, "funds raised")?
            .map(normalized)
            .into_iter()
            .collect();
        if moved || row.outstanding_closing > 0 || row.outstanding_preceding > 0 {
            out.share_options.push(row);
        }
    }

    // (B)–(E) from the month's events. (E) rows are in date order and, within
    // a date, in the order the events happened (log order): each row keeps
    // the log position of the first event it stands for. The shares still
    // pending cancellation at the close come last.
    let mut other: Vec<(usize, OtherMovementRow)> = Vec::new();
    let mut instruments: BTreeMap<(u8, String), InstrumentRow> = BTreeMap::new();
    let mut treasury_repurchases: BTreeMap<NaiveDate, (usize, u64)> = BTreeMap::new();
    // The first cancellation event of each date in the month, by log position.
    let mut cancellation_seen: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for (seq, (r, date)) in class_events(view, id, Some(prev_end), end).enumerate() {
        let eff = effect_on(&r.event, id);
        match &r.event {
            Event::CapitalReorganised(e) => {
                let delta = class
                    .reorganisation_on(e.date)
                    .map(|(_, d)| *d)
                    .unwrap_or_default();
                other.push((
                    seq,
                    OtherMovementRow {
                        kind: format!("{CAPITAL_REORGANISATION} ({})", e.description_or_default()),
                        class: id.to_string(),
                        date: Some(date),
                        general_meeting_date: e.general_meeting_date,
                        price: None,
                        issued_during_month: Some(delta.issued as i64),
                        treasury_during_month: Some(delta.treasury as i64).filter(|t| *t != 0),
                        issuable_at_close: None,
                    },
                ))
            }
            Event::SharesReclassified(e) => other.push((
                seq,
                OtherMovementRow {
                    kind: format!("{OTHER_LABEL} ({})", e.description_or_default()),
                    class: id.to_string(),
                    date: Some(date),
                    general_meeting_date: None,
                    price: None,
                    issued_during_month: Some(eff.issued as i64),
                    treasury_during_month: None,
                    issuable_at_close: None,
                },
            )),
            Event::SharesIssued(e) => {
                let recorded = exercised_instrument(issuer, e).is_some();
                let slot = match e.kind {
                    IssueKind::ShareOptionExercise => continue, // in (A)
                    IssueKind::WarrantExercise => Some((1u8, "Warrants")),
                    IssueKind::Conversion => Some((2, "Convertibles")),
                    IssueKind::ShareAward => Some((3, "Share award")),
                    IssueKind::Other if recorded => Some((3, "Other arrangement")),
                    _ => None,
                };
                let price = e.currency.clone().zip(e.price).map(|(c, p)| Money {
                    currency: c,
                    amount: p,
                });
                // An exercise without its own price raises the instrument's
                // subscription price (a conversion raises nothing).
                let funds_price = price.clone().or_else(|| {
                    exercised_instrument(issuer, e)
                        .filter(|i| i.issued().kind != InstrumentKind::Convertible)
                        .and_then(|i| i.issued().currency.clone().zip(i.issued().price))
                        .map(|(c, p)| Money {
                            currency: c,
                            amount: p,
                        })
                });
                match slot {
                    Some((part, kind)) => {
                        let name = e
                            .scheme
                            .clone()
                            .or_else(|| e.description.clone())
                            .unwrap_or_else(|| kind.to_string());
                        let row = instruments.entry((part, name.clone())).or_insert_with(|| {
                            InstrumentRow {
                                name,
                                class: id.to_string(),
                                kind: kind.to_string(),
                                issued_during_month: 0,
                                treasury_during_month: 0,
                                funds_raised: Vec::new(),
                                instrument: None,
                            }
                        });
                        row.issued_during_month += e.shares as i64;
                        if let Some(funds) = funds_price
                            .as_ref()
                            .and_then(|p| funds_raised(&p.currency, p.amount.0, e.shares))
                        {
                            row.funds_raised = sum_money(
                                row.funds_raised.drain(..).chain([funds]),
                                "funds raised",
                            )?
                            .map(normalized)
                            .into_iter()
                            .collect();
                        }
                    }
                    None => other.push((
                        seq,
                        OtherMovementRow {
                            kind: match (e.kind, &e.description) {
                                (IssueKind::Other, Some(d)) => format!("{OTHER_LABEL} ({d})"),
                                (k, _) => issue_label(k).to_string(),
                            },
                            class: id.to_string(),
                            date: Some(date),
                            general_meeting_date: e.general_meeting_date,
                            price,
                            issued_during_month: Some(e.shares as i64),
                            treasury_during_month: None,
                            issuable_at_close: None,
                        },
                    )),
                }
            }
            Event::SharesRepurchased(e) if e.purpose_or_default() == Purpose::Treasury => {
                treasury_repurchases.entry(date).or_insert((seq, 0)).1 += e.shares;
            }
            Event::RepurchasedSharesCancelled(_) => {
                cancellation_seen.entry(date).or_insert(seq);
            }
            Event::SharesRedeemed(e) if e.cancelled_or_default() => other.push((
                seq,
                OtherMovementRow {
                    kind: REDEMPTION.to_string(),
                    class: id.to_string(),
                    date: Some(date),
                    general_meeting_date: None,
                    price: e.currency.clone().zip(e.price).map(|(c, p)| Money {
                        currency: c,
                        amount: p,
                    }),
                    issued_during_month: Some(eff.issued as i64),
                    treasury_during_month: None,
                    issuable_at_close: None,
                },
            )),
            Event::TreasurySharesSold(_)
            | Event::TreasurySharesTransferred(_)
            | Event::TreasurySharesCancelled(_) => {
                let kind = match &r.event {
                    Event::TreasurySharesSold(_) => TREASURY_SOLD.to_string(),
                    Event::TreasurySharesTransferred(t) => match &t.scheme {
                        Some(scheme) => {
                            format!("{TREASURY_TRANSFERRED} ({}: {scheme})", t.purpose)
                        }
                        None => format!("{TREASURY_TRANSFERRED} ({})", t.purpose),
                    },
                    _ => TREASURY_CANCELLED.to_string(),
                };
                other.push((
                    seq,
                    OtherMovementRow {
                        kind,
                        class: id.to_string(),
                        date: Some(date),
                        general_meeting_date: None,
                        price: None,
                        issued_during_month: Some(eff.issued as i64).filter(|n| *n != 0),
                        treasury_during_month: Some(eff.treasury as i64),
                        issuable_at_close: None,
                    },
                ));
            }
            _ => {}
        }
    }
    for (date, (seq, shares)) in treasury_repurchases {
        other.push((
            seq,
            OtherMovementRow {
                kind: FF305_TREASURY.to_string(),
                class: id.to_string(),
                date: Some(date),
                general_meeting_date: class.mandate_in_force(date).map(|m| m.resolution_date),
                price: None,
                issued_during_month: Some(-(shares as i64)),
                treasury_during_month: Some(shares as i64),
                issuable_at_close: None,
            },
        ));
    }
    // Cancellations of repurchased (or redeemed) shares in the month: one row
    // per cancellation date and general meeting, the meeting being that of
    // the mandate in force when the shares were bought (not when cancelled);
    // in the log where that date's first cancellation was recorded.
    let repurchase_label = if new_era {
        FF305_CANCELLED
    } else {
        "Repurchase of shares"
    };
    let mandate_of = |line: &PendingLine| match line.origin {
        PendingOrigin::Repurchase => class
            .mandate_in_force(line.trade_date)
            .map(|m| m.resolution_date),
        PendingOrigin::Redemption => None,
    };
    let is_redemption = |line: &PendingLine| line.origin == PendingOrigin::Redemption;
    let mut cancelled: BTreeMap<(NaiveDate, bool, Option<NaiveDate>), u64> = BTreeMap::new();
    for line in class.pending().values() {
        for (date, n) in &line.cancellations {
            if prev_end < *date && *date <= end {
                *cancelled
                    .entry((*date, is_redemption(line), mandate_of(line)))
                    .or_default() += n;
            }
        }
    }
    for ((date, redemption, gm), shares) in cancelled {
        // A cancellation is always an event of its date; `usize::MAX` only
        // if the state and the log ever disagreed (then: last of the date).
        let seq = cancellation_seen.get(&date).copied().unwrap_or(usize::MAX);
        other.push((
            seq,
            OtherMovementRow {
                kind: if redemption {
                    REDEMPTION
                } else {
                    repurchase_label
                }
                .to_string(),
                class: id.to_string(),
                date: Some(date),
                general_meeting_date: gm,
                price: None,
                issued_during_month: Some(-(shares as i64)),
                treasury_during_month: None,
                issuable_at_close: None,
            },
        ));
    }
    // Date order; within a date, log order (stable: rows of one event keep
    // the order they were made in).
    other.sort_by_key(|(seq, r)| (r.date, *seq));
    let mut other: Vec<OtherMovementRow> = other.into_iter().map(|(_, r)| r).collect();
    // Shares repurchased but not yet cancelled at the close: one row per
    // general meeting (as filed: one line, the meeting of 10 May 2022).
    let mut pending: BTreeMap<(bool, Option<NaiveDate>), u64> = BTreeMap::new();
    for line in class.pending().values() {
        let n = line.pending_as_of(end);
        if n > 0 {
            *pending
                .entry((is_redemption(line), mandate_of(line)))
                .or_default() += n;
        }
    }
    for ((redemption, gm), shares) in pending {
        other.push(OtherMovementRow {
            kind: if redemption {
                REDEMPTION
            } else {
                repurchase_label
            }
            .to_string(),
            class: id.to_string(),
            date: None,
            general_meeting_date: gm,
            price: None,
            issued_during_month: None,
            treasury_during_month: None,
            issuable_at_close: Some(-(shares as i64)),
        });
    }
    out.other.extend(other);
    // The recorded instruments of this class: their amounts and the shares
    // they can still issue, with a row even in a month without exercises
    // while anything is outstanding.
    for inst in issuer
        .instruments()
        .values()
        .filter(|i| i.issued().class == id)
    {
        let i = inst.issued();
        if i.date > end {
            continue;
        }
        let (part, kind) = match i.kind {
            InstrumentKind::Warrant => (1u8, "Warrants"),
            InstrumentKind::Convertible => (2, "Convertibles"),
            InstrumentKind::OtherArrangement => (3, "Other arrangement"),
        };
        let f = instrument_figures(issuer, i, prev_end, end);
        let moved = f.amount_movement.is_some()
            || instruments.contains_key(&(part, i.instrument.clone()))
            || (prev_end < i.date && i.date <= end);
        let preceding_issuable = instrument_issuable_at(issuer, i, prev_end);
        if !moved && f.issuable_at_close == 0 && preceding_issuable == 0 {
            continue;
        }
        let row = instruments
            .entry((part, i.instrument.clone()))
            .or_insert_with(|| InstrumentRow {
                name: i.instrument.clone(),
                class: id.to_string(),
                kind: kind.to_string(),
                issued_during_month: 0,
                treasury_during_month: 0,
                funds_raised: Vec::new(),
                instrument: None,
            });
        row.kind = kind.to_string();
        row.instrument = Some(f);
    }
    for ((part, _), row) in instruments {
        match part {
            1 => out.warrants.push(row),
            2 => out.convertibles.push(row),
            _ => out.other_arrangements.push(row),
        }
    }
    Ok(())
}

/// Part III (E)'s "Other" line: the type, then what it was in brackets
/// ("Other (Conversion of Class B ordinary shares to Class A ordinary shares)").
const OTHER_LABEL: &str = "Other";

/// Price × shares, exactly. `None` beyond a decimal's range (~7.9e28), which
/// no real issue reaches; the core should refuse such a price (it is then
/// left out here rather than panicking).
fn funds_raised(currency: &Currency, price: Decimal, shares: u64) -> Option<Money> {
    price
        .checked_mul(Decimal::from(shares))
        .map(|t| Money::new(currency.clone(), t))
}

/// Money without trailing zeros: a sum of products of prices and counts.
fn normalized(m: Money) -> Money {
    Money::new(m.currency, m.amount.0.normalize())
}

/// The uses of a recorded instrument in log order, each with its date,
/// the shares it takes and the amount (units or principal) it takes, pro
/// rata where not given, exactly as the core computes it.
fn instrument_uses(
    issuer: &IssuerState,
    i: &InstrumentIssued,
) -> Vec<(NaiveDate, u64, Option<Decimal>)> {
    let mut state = InstrumentState::new(i);
    let mut uses = Vec::new();
    for r in issuer.live_events() {
        let (date, shares, given) = match &r.event {
            Event::SharesIssued(e)
                if e.scheme.as_deref() == Some(i.instrument.as_str())
                    && e.kind == i.kind.issue_kind() =>
            {
                (e.date, e.shares, e.amount)
            }
            Event::InstrumentCancelled(e) if e.instrument == i.instrument => {
                (e.date, e.shares_issuable, e.amount)
            }
            _ => continue,
        };
        let used = state.amount_for(shares, given);
        state.take(shares.min(state.issuable()), given);
        uses.push((date, shares, used));
    }
    uses
}

/// Shares still issuable under a recorded instrument at the end of `date`.
fn instrument_issuable_at(issuer: &IssuerState, i: &InstrumentIssued, date: NaiveDate) -> u64 {
    if i.date > date {
        return 0;
    }
    let used: u64 = instrument_uses(issuer, i)
        .iter()
        .filter(|(d, _, _)| *d <= date)
        .map(|(_, n, _)| n)
        .sum();
    i.shares_issuable.saturating_sub(used)
}

/// Part III (B)–(D) figures of a recorded instrument for the month `(prev_end, end]`.
fn instrument_figures(
    issuer: &IssuerState,
    i: &InstrumentIssued,
    prev_end: NaiveDate,
    end: NaiveDate,
) -> InstrumentFigures {
    let uses = instrument_uses(issuer, i);
    let amount_at = |date: NaiveDate| -> Option<Decimal> {
        let start = i.amount?.0;
        if i.date > date {
            return Some(Decimal::ZERO);
        }
        let used: Decimal = uses
            .iter()
            .filter(|(d, _, _)| *d <= date)
            .filter_map(|(_, _, a)| *a)
            .sum();
        Some((start - used).max(Decimal::ZERO))
    };
    let preceding = amount_at(prev_end);
    let closing = amount_at(end);
    let text = |d: Decimal| d.normalize().to_string();
    InstrumentFigures {
        description: i.description.clone(),
        stock_code: i.stock_code.clone(),
        currency: i.currency.as_ref().map(|c| c.to_string()),
        price: i.currency.clone().zip(i.price).map(|(c, p)| Money {
            currency: c,
            amount: p,
        }),
        general_meeting_date: i.general_meeting_date,
        expiry_date: i.expiry_date,
        amount_preceding: preceding.map(text),
        amount_movement: preceding
            .zip(closing)
            .map(|(p, c)| c - p)
            .filter(|m| !m.is_zero())
            .map(text),
        amount_closing: closing.map(text),
        issuable_at_close: instrument_issuable_at(issuer, i, end),
    }
}

/// Options outstanding under `scheme` at the end of `date`.
fn outstanding_at(view: &View<'_>, scheme: &str, initial: u64, date: NaiveDate) -> u64 {
    let mut n = initial as i128;
    for r in view.live_between(Bound::Unbounded, date) {
        n += match &r.event {
            Event::ShareOptionsGranted(e) if e.scheme == scheme => e.options as i128,
            Event::ShareOptionsLapsed(e) | Event::ShareOptionsCancelled(e)
                if e.scheme == scheme =>
            {
                -(e.options as i128)
            }
            Event::SharesIssued(e)
                if e.kind == IssueKind::ShareOptionExercise
                    && e.scheme.as_deref() == Some(scheme) =>
            {
                -(e.shares as i128)
            }
            _ => 0,
        };
    }
    n.max(0) as u64
}
