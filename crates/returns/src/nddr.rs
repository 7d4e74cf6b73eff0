//! The Next Day Disclosure Return for (issuer, date): a fold over the
//! issuer's live events (domain.md 3.1).
//!
//! * Opening balance: the closing balance of the later of the last NDDR and
//!   the last Monthly Return filed before the date (`return_filed`), else the
//!   class's opening balance.
//! * Lines: every share-capital change dated after the opening, up to the date.
//! * FF304 carries repurchases not yet cancelled forward as lines (with a %
//!   only where the issuer repeats it); FF305 lists them in Section I B and
//!   shows treasury shares in Part A.
//! * Section II: repurchases per trading date and method, and the mandate.
//! * Section III: on-market sales of treasury shares.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use shareledger_core::event::{Event, IssueKind, Purpose, Recorded, ReturnFiled, ReturnForm};
use shareledger_core::rules::{moratorium_end, NddrLayout};
use shareledger_core::state::{effect_on, ClassState, IssuerState};
use shareledger_core::{Amount, Currency, Money};

use crate::common::*;
use crate::document::*;
use crate::window::View;
use crate::ReturnError;
use uuid::Uuid;

/// What NDDR to produce.
#[derive(Debug, Clone)]
pub struct NddrRequest {
    /// The closing balance date: the date of the last event disclosed.
    pub date: NaiveDate,
    /// Date submitted; default the closing balance date.
    pub submitted: Option<NaiveDate>,
    /// Layout; default by date.
    pub layout: Option<NddrLayout>,
}

/// The return this NDDR follows: the latest return (NDDR or Monthly Return)
/// with a closing date before `date`, among those filed before this NDDR
/// itself was filed (if it was), so a filed return regenerates as it was even
/// after later returns are recorded.
pub fn previous_return(issuer: &IssuerState, date: NaiveDate) -> Option<NaiveDate> {
    previous_return_among(issuer.filings(), date)
}

/// [`previous_return`] among `filings` (an issuer's, in log order, or the
/// first of them).
pub fn previous_return_among(
    filings: &[(Uuid, ReturnFiled)],
    date: NaiveDate,
) -> Option<NaiveDate> {
    let this_filing = filings
        .iter()
        .position(|(_, f)| f.form == ReturnForm::Nddr && f.date == date)
        .unwrap_or(filings.len());
    filings[..this_filing]
        .iter()
        .map(|(_, f)| f.date)
        .filter(|d| *d < date)
        .max()
}

/// [`previous_return_among`] of each of `filings` (its own date, among
/// `filings`), for every filing at once: O(F log F) where asking for each
/// in turn walks the filings once per filing.
pub fn previous_returns(filings: &[(Uuid, ReturnFiled)]) -> Vec<Option<NaiveDate>> {
    use std::collections::{BTreeSet, HashMap};
    // Where the first NDDR of each date was filed: the filings before it
    // are those the return opens from.
    let mut first_nddr: HashMap<NaiveDate, usize> = HashMap::new();
    for (at, (_, f)) in filings.iter().enumerate() {
        if f.form == ReturnForm::Nddr {
            first_nddr.entry(f.date).or_insert(at);
        }
    }
    // Each filing's question: the latest date before its own among the
    // first `upto` filings; answered in order of `upto`.
    let mut asks: Vec<(usize, usize)> = filings
        .iter()
        .enumerate()
        .map(|(i, (_, f))| (first_nddr.get(&f.date).copied().unwrap_or(filings.len()), i))
        .collect();
    asks.sort_unstable();
    let mut seen: BTreeSet<NaiveDate> = BTreeSet::new();
    let mut added = 0;
    let mut out = vec![None; filings.len()];
    for (upto, i) in asks {
        while added < upto {
            seen.insert(filings[added].1.date);
            added += 1;
        }
        let date = filings[i].1.date;
        out[i] = seen.range(..date).next_back().copied();
    }
    out
}

/// Build the NDDR.
pub fn nddr(issuer: &IssuerState, req: &NddrRequest) -> Result<Nddr, ReturnError> {
    build(&View::new(issuer), req, false)
}

/// Build the NDDR of a date whose filed NDDR a correction contradicts (an
/// amended return, domain.md 3.1a): as [`nddr`], except that it may
/// disclose nothing on that date — the correction may have voided the only
/// event the filed return disclosed — and then has no lines.
pub fn nddr_amendment(issuer: &IssuerState, req: &NddrRequest) -> Result<Nddr, ReturnError> {
    build(&View::new(issuer), req, true)
}

/// [`nddr`] (with `amendment`, [`nddr_amendment`]) from a [`View`]: the
/// same document, its events found through the view's index and its
/// previous return among the filings the view sees.
pub fn nddr_in(view: &View<'_>, req: &NddrRequest, amendment: bool) -> Result<Nddr, ReturnError> {
    build(view, req, amendment)
}

fn build(view: &View<'_>, req: &NddrRequest, amendment: bool) -> Result<Nddr, ReturnError> {
    let issuer = view.issuer();
    let layout = req.layout.unwrap_or_else(|| NddrLayout::for_date(req.date));
    let previous = previous_return_among(view.filings(), req.date);
    let mut section_i = Vec::new();
    let mut section_ii = Vec::new();
    let mut section_iii = Vec::new();
    let mut last_event: Option<NaiveDate> = None;

    for class in issuer.classes().values() {
        let start = start_date(class, previous);
        let events: Vec<(&Recorded, NaiveDate)> = class_events(view, class.id(), start, req.date)
            .filter(|(r, _)| {
                r.event.moves_balance() && !matches!(r.event, Event::AuthorisedSharesChanged(_))
            })
            .collect();
        if events.is_empty() {
            continue;
        }
        last_event = last_event.max(events.iter().map(|(_, d)| *d).max());
        let opening_date = start.unwrap_or_else(|| day_before(events[0].1));
        let opening = balance_row(class, opening_date)?;
        let closing = balance_row(class, req.date)?;
        let basis = percent_basis(issuer, class, layout, opening_date, &opening);
        // After a capital reorganisation in the window, percentages are of
        // the new number of shares: the same basis taken at the end of the
        // reorganisation's date.
        let basis_on = |date: NaiveDate| -> u64 {
            let reorg = class
                .reorganisations()
                .iter()
                .rev()
                .find(|(r, _)| r.date < date || (r.date == date && date == req.date))
                .filter(|(r, _)| start.is_none_or(|s| r.date > s));
            match reorg.and_then(|(r, _)| balance_row(class, r.date).ok().map(|b| (r.date, b))) {
                Some((d, b)) => percent_basis(issuer, class, layout, d, &b),
                None => basis,
            }
        };
        let closing_basis = basis_on(req.date);
        let pct = |shares: u64| issuer.presentation().percent(shares, closing_basis);

        let mut drafts: Vec<Draft> = Vec::new();
        let mut pending_rows = Vec::new();
        for (r, date) in &events {
            let line_basis = if matches!(r.event, Event::CapitalReorganised(_)) {
                basis
            } else {
                basis_on(*date)
            };
            let pct = |shares: u64| issuer.presentation().percent(shares, line_basis);
            if let Some(draft) = section_i_line(issuer, class, layout, r, *date, &pct) {
                push_merged(issuer, &mut drafts, draft, &pct);
            }
        }
        let mut lines: Vec<NddrLine> = drafts.into_iter().map(|d| d.line).collect();
        let pending = class.pending_lines_as_of(req.date);
        match layout {
            NddrLayout::Ff304 => {
                for (trade_date, shares) in &pending {
                    let carried = start.is_some_and(|s| *trade_date <= s);
                    let show_pct = !carried || issuer.presentation().percent_on_carried_lines;
                    let origin = class.pending()[trade_date].origin;
                    lines.push(NddrLine {
                        label: pending_label(origin).into(),
                        detail: None,
                        date: *trade_date,
                        shares: *shares,
                        issued_change: 0,
                        treasury_change: 0,
                        percent: if show_pct { pct(*shares) } else { None },
                        price: None,
                        previous_close: None,
                        discount_premium: None,
                        carried_forward: carried,
                    });
                }
            }
            NddrLayout::Ff305 => {
                for l in lines.iter_mut().filter(|l| l.label == FF305_CANCELLED) {
                    l.price = cancellation_vwap(view, class, l.date);
                }
                for (trade_date, shares) in &pending {
                    pending_rows.push(PendingRow {
                        date: *trade_date,
                        shares: *shares,
                        percent: pct(*shares),
                        price: repurchase_vwap(
                            view,
                            class.id(),
                            *trade_date,
                            Purpose::Cancellation,
                        ),
                    });
                }
                if lines.is_empty() {
                    let date = events.iter().map(|(_, d)| *d).max().expect("non-empty");
                    lines.push(NddrLine {
                        label: OTHER.into(),
                        detail: Some("See Part B".into()),
                        date,
                        shares: 0,
                        issued_change: 0,
                        treasury_change: 0,
                        percent: None,
                        price: None,
                        previous_close: None,
                        discount_premium: None,
                        carried_forward: false,
                    });
                }
            }
        }
        // Date order; within a date, log order (a stable sort keeps it).
        lines.sort_by_key(|l| l.date);
        debug_assert_eq!(
            opening.issued_excluding_treasury as i64
                + lines.iter().map(|l| l.issued_change).sum::<i64>(),
            closing.issued_excluding_treasury as i64,
            "NDDR lines must reconcile opening to closing"
        );
        debug_assert_eq!(
            opening.treasury as i64 + lines.iter().map(|l| l.treasury_change).sum::<i64>(),
            closing.treasury as i64,
        );
        section_i.push(NddrSectionI {
            class: class.id().to_string(),
            class_info: class_info(class),
            opening_balance: opening,
            events: lines,
            closing_balance: closing,
            pending_cancellation: pending_rows,
        });

        if let Some(s2) = section_ii_for(issuer, class, &events, req.date)? {
            section_ii.push(s2);
        }
        section_iii.extend(section_iii_for(class, &events));
    }

    match last_event {
        _ if amendment => {}
        None => {
            return Err(ReturnError::NothingToDisclose {
                issuer: issuer.id().to_string(),
                after: previous,
                date: req.date,
            })
        }
        Some(last) if last != req.date => {
            return Err(ReturnError::NoEventOnDate {
                date: req.date,
                last,
            })
        }
        Some(_) => {}
    }
    Ok(Nddr {
        form: layout.code().to_string(),
        issuer: issuer_ref(issuer),
        date_submitted: req.submitted.unwrap_or(req.date),
        status: NEW_SUBMISSION.into(),
        amends: None,
        closing_date: req.date,
        previous_return: previous,
        primary_listing: issuer.primary_listing(),
        section_i,
        section_ii,
        section_iii,
        signatory: issuer.signatory().cloned(),
    })
}

/// The number a line's % is a percentage of (domain.md 3.1): the issuer's
/// policy applied to the class's balances at the opening
/// (`PercentBasis::shares`, in the core).
fn percent_basis(
    issuer: &IssuerState,
    class: &ClassState,
    layout: NddrLayout,
    opening_date: NaiveDate,
    opening: &BalanceRow,
) -> u64 {
    let at_opening = class
        .balances_as_of(opening_date)
        .unwrap_or(shareledger_core::Balances {
            issued_excluding_treasury: opening.issued_excluding_treasury,
            treasury: opening.treasury,
            pending_cancellation: 0,
        });
    issuer
        .presentation()
        .percent_basis
        .shares(layout, at_opening)
}

/// A Section I line being built, with what was paid or received for its
/// shares exactly (currency, amount), so that lines merged from several
/// events carry the volume-weighted price of their totals, not an average of
/// rounded averages. `None`: the line has no price, or one of its events had none.
struct Draft {
    line: NddrLine,
    paid: Option<(Currency, Decimal)>,
}

/// The Section I line of one event, if it has one (repurchases for
/// cancellation appear through their pending lines instead).
fn section_i_line(
    issuer: &IssuerState,
    class: &ClassState,
    layout: NddrLayout,
    r: &Recorded,
    date: NaiveDate,
    pct: &dyn Fn(u64) -> Option<String>,
) -> Option<Draft> {
    let eff = effect_on(&r.event, class.id());
    let line = |label: &str, detail: Option<String>, shares: u64, price: Option<Money>| NddrLine {
        label: label.to_string(),
        detail,
        date,
        shares,
        issued_change: eff.issued as i64,
        treasury_change: eff.treasury as i64,
        percent: pct(shares),
        price,
        previous_close: None,
        discount_premium: None,
        carried_forward: false,
    };
    // A recorded price per share: shown as recorded; paid = price × shares.
    let per_share = |currency: &Option<Currency>, price: Option<Amount>, shares: u64| {
        let price = currency.clone().zip(price).map(|(c, p)| Money {
            currency: c,
            amount: p,
        });
        // (None if price × shares is beyond a decimal: no weighted price then.)
        let paid = price.as_ref().and_then(|m| {
            m.amount
                .0
                .checked_mul(Decimal::from(shares))
                .map(|t| (m.currency.clone(), t))
        });
        (price, paid)
    };
    // A total for all the shares: the price is its volume-weighted average.
    let total = |currency: &Currency, total: Decimal, shares: u64| {
        let price = issuer
            .presentation()
            .average_price(total, shares)
            .map(|avg| Money::new(currency.clone(), avg));
        (price, Some((currency.clone(), total)))
    };
    let (line, paid) = match &r.event {
        Event::SharesRepurchased(e) => match e.purpose_or_default() {
            Purpose::Cancellation => return None,
            Purpose::Treasury => {
                let (price, paid) = match e.prices() {
                    Some(p) => total(&p.currency, p.total.0, e.shares),
                    None => (None, None),
                };
                (line(FF305_TREASURY, None, e.shares, price), paid)
            }
        },
        Event::RepurchasedSharesCancelled(e) => {
            let label = match layout {
                NddrLayout::Ff304 => FF304_CANCELLED,
                NddrLayout::Ff305 => FF305_CANCELLED,
            };
            (line(label, None, e.shares, None), None)
        }
        Event::SharesIssued(e) => {
            let (price, paid) = per_share(&e.currency, e.price, e.shares);
            let detail = match e.kind {
                // An issue under another arrangement names it when no description does.
                IssueKind::Other => e.description.clone().or_else(|| e.scheme.clone()),
                _ => e.scheme.clone(),
            };
            let mut l = line(issue_label(e.kind), detail, e.shares, price);
            if let (Some(c), Some(prev)) = (&e.currency, e.previous_close) {
                l.previous_close = Some(Money {
                    currency: c.clone(),
                    amount: prev,
                });
                l.discount_premium = e
                    .price
                    .and_then(|p| issuer.presentation().percent_change(p.0, prev.0));
            }
            (l, paid)
        }
        Event::SharesRedeemed(e) => {
            if !e.cancelled_or_default() {
                return None;
            }
            let (price, paid) = per_share(&e.currency, e.price, e.shares);
            (line(REDEMPTION, None, e.shares, price), paid)
        }
        Event::TreasurySharesSold(e) => {
            let (price, paid) = total(&e.currency, e.total_received.0, e.shares);
            (line(TREASURY_SOLD, None, e.shares, price), paid)
        }
        Event::TreasurySharesTransferred(e) => {
            let detail = Some(match &e.scheme {
                Some(s) => format!("{} ({s})", e.purpose),
                None => e.purpose.clone(),
            });
            (line(TREASURY_TRANSFERRED, detail, e.shares, None), None)
        }
        Event::TreasurySharesCancelled(e) => (line(TREASURY_CANCELLED, None, e.shares, None), None),
        // Always disclosed: the number of shares after it, the change it
        // made to the issued and treasury shares; no percentage (it is of
        // every share).
        Event::CapitalReorganised(e) => {
            let delta = class
                .reorganisation_on(e.date)
                .map(|(_, d)| *d)
                .unwrap_or_default();
            let mut l = line(
                CAPITAL_REORGANISATION,
                Some(e.description_or_default()),
                e.issued_shares_after,
                None,
            );
            l.issued_change = delta.issued as i64;
            l.treasury_change = delta.treasury as i64;
            l.percent = None;
            (l, None)
        }
        // "Other (please specify)" with the description, in both classes:
        // −N in the class the shares leave, +N in the class they join.
        Event::SharesReclassified(e) => (
            line(OTHER, Some(e.description_or_default()), e.shares, None),
            None,
        ),
        _ => return None,
    };
    Some(Draft { line, paid })
}

/// Add a line, merging it into an earlier one of the same label, detail,
/// date and previous close (several executions of one day are one line; the
/// % is recomputed on the merged count). The merged price is the recorded
/// one when every event had the same, else the volume-weighted average of
/// the exact totals, presented by the issuer's policy, with its discount or
/// premium to the previous close.
fn push_merged(
    issuer: &IssuerState,
    drafts: &mut Vec<Draft>,
    draft: Draft,
    pct: &dyn Fn(u64) -> Option<String>,
) {
    let Some(prev) = drafts.iter_mut().find(|d| {
        let (a, b) = (&d.line, &draft.line);
        a.label == b.label
            && a.detail == b.detail
            && a.date == b.date
            && a.previous_close == b.previous_close
    }) else {
        drafts.push(draft);
        return;
    };
    let line = draft.line;
    let same_price = prev.line.price == line.price;
    prev.paid = match (prev.paid.take(), draft.paid) {
        (Some((c, a)), Some((d, b))) if c == d => a.checked_add(b).map(|t| (c, t)),
        _ => None,
    };
    prev.line.shares += line.shares;
    prev.line.issued_change += line.issued_change;
    prev.line.treasury_change += line.treasury_change;
    prev.line.percent = pct(prev.line.shares);
    if same_price {
        return;
    }
    prev.line.price = prev.paid.as_ref().and_then(|(c, total)| {
        issuer
            .presentation()
            .average_price(*total, prev.line.shares)
            .map(|avg| Money::new(c.clone(), avg))
    });
    prev.line.discount_premium = match (&prev.line.price, &prev.line.previous_close) {
        (Some(p), Some(close)) => issuer
            .presentation()
            .percent_change(p.amount.0, close.amount.0),
        _ => None,
    };
}

fn section_ii_for(
    issuer: &IssuerState,
    class: &ClassState,
    events: &[(&Recorded, NaiveDate)],
    date: NaiveDate,
) -> Result<Option<NddrSectionII>, ReturnError> {
    let repurchases: Vec<(&Recorded, &shareledger_core::event::SharesRepurchased)> = events
        .iter()
        .filter_map(|(r, _)| match &r.event {
            Event::SharesRepurchased(e) => Some((*r, e)),
            _ => None,
        })
        .collect();
    if repurchases.is_empty() {
        return Ok(None);
    }
    let mut rows: Vec<RepurchaseRow> = Vec::new();
    let (mut for_cancellation, mut for_treasury) = (0, 0);
    for (r, e) in &repurchases {
        let prices = e.prices().ok_or_else(|| ReturnError::MissingPrices {
            event: r.id.to_string(),
            position: r.position,
            trade_date: e.trade_date,
            shares: e.shares,
        })?;
        match e.purpose_or_default() {
            Purpose::Cancellation => for_cancellation += e.shares,
            Purpose::Treasury => for_treasury += e.shares,
        }
        let method = method_label(e.method_or_default(), e.exchange.as_deref());
        let money = |a: shareledger_core::Amount| Money {
            currency: prices.currency.clone(),
            amount: a,
        };
        match rows
            .iter_mut()
            .find(|row| row.trading_date == e.trade_date && row.method == method)
        {
            Some(row) => {
                if row.total_paid.currency != prices.currency {
                    return Err(ReturnError::MixedCurrencies {
                        what: format!("repurchases of {}", e.trade_date),
                        first: row.total_paid.currency.to_string(),
                        second: prices.currency.to_string(),
                    });
                }
                row.shares += e.shares;
                row.highest_price = money(row.highest_price.amount.max(prices.highest));
                row.lowest_price = money(row.lowest_price.amount.min(prices.lowest));
                row.total_paid = money(shareledger_core::Amount(
                    row.total_paid.amount.0 + prices.total.0,
                ));
            }
            None => rows.push(RepurchaseRow {
                trading_date: e.trade_date,
                shares: e.shares,
                method,
                highest_price: money(prices.highest),
                lowest_price: money(prices.lowest),
                total_paid: money(prices.total),
            }),
        }
    }
    rows.sort_by_key(|r| r.trading_date);
    let total_paid = sum_money(rows.iter().map(|r| r.total_paid.clone()), "total paid")?
        .expect("at least one row");
    let last_trade = rows
        .iter()
        .map(|r| r.trading_date)
        .max()
        .expect("non-empty");
    let mandate = if issuer.primary_listing() {
        class.mandate_in_force(date).map(|m| {
            let (on_exchange, _) = class.repurchased_under(m, date);
            MandateReport {
                resolution_date: m.resolution_date,
                authorised_shares: m.authorised_or_default(),
                issued_shares_at_resolution: m.issued_shares_at_resolution,
                repurchased_under_mandate: on_exchange,
                percent: issuer
                    .presentation()
                    .percent(on_exchange, m.issued_shares_at_resolution),
                moratorium_until: Some(moratorium_end(last_trade)),
                explanatory_statement_date: m.explanatory_statement_date,
            }
        })
    } else {
        None
    };
    Ok(Some(NddrSectionII {
        class: class.id().to_string(),
        class_info: class_info(class),
        total_shares: rows.iter().map(|r| r.shares).sum(),
        repurchases: rows,
        total_paid,
        for_cancellation,
        for_treasury,
        mandate,
    }))
}

fn section_iii_for(class: &ClassState, events: &[(&Recorded, NaiveDate)]) -> Vec<TreasurySaleRow> {
    let mut rows: Vec<TreasurySaleRow> = Vec::new();
    for (r, _) in events {
        let Event::TreasurySharesSold(e) = &r.event else {
            continue;
        };
        let method = method_label(e.method.unwrap_or_default(), e.exchange.as_deref());
        let money = |a: shareledger_core::Amount| Money {
            currency: e.currency.clone(),
            amount: a,
        };
        match rows.iter_mut().find(|row| {
            row.trading_date == e.trade_date
                && row.method == method
                && row.total_received.currency == e.currency
        }) {
            Some(row) => {
                row.shares += e.shares;
                row.highest_price = money(row.highest_price.amount.max(e.highest_price));
                row.lowest_price = money(row.lowest_price.amount.min(e.lowest_price));
                row.total_received = money(shareledger_core::Amount(
                    row.total_received.amount.0 + e.total_received.0,
                ));
            }
            None => rows.push(TreasurySaleRow {
                class: class.id().to_string(),
                trading_date: e.trade_date,
                shares: e.shares,
                method,
                highest_price: money(e.highest_price),
                lowest_price: money(e.lowest_price),
                total_received: money(e.total_received),
            }),
        }
    }
    rows.sort_by_key(|r| r.trading_date);
    rows
}
