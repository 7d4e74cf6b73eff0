//! One share class: balances per effective date, pending-cancellation lines,
//! authorised changes, mandates and their usage, closing prices.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::amount::{Currency, Money};
use crate::event::*;
use crate::refusal::{Refusal, RefusalKind as K};

use super::balances::{to_count, Delta};
use super::{Balances, MAX_SHARES};

/// Where a pending-cancellation line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PendingOrigin {
    Repurchase,
    Redemption,
}

/// Shares repurchased (or redeemed) on one trade date for cancellation, and
/// what has been cancelled of them since.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingLine {
    pub trade_date: NaiveDate,
    pub repurchased: u64,
    pub origin: PendingOrigin,
    /// (cancellation date, shares).
    pub cancellations: Vec<(NaiveDate, u64)>,
    /// (capital reorganisation date, shares added (+) or taken (−) by
    /// scaling what was still pending then: see docs/decisions.md).
    pub reorganised: Vec<(NaiveDate, i128)>,
}

impl PendingLine {
    pub fn cancelled(&self) -> u64 {
        self.cancellations.iter().map(|c| c.1).sum()
    }
    /// Shares of this line not cancelled by any cancellation in the log.
    pub fn remaining(&self) -> u64 {
        let adjusted: i128 = self.reorganised.iter().map(|a| a.1).sum();
        (self.repurchased as i128 + adjusted - self.cancelled() as i128).max(0) as u64
    }
    /// Shares of this line pending at the end of `date`.
    pub fn pending_as_of(&self, date: NaiveDate) -> u64 {
        if self.trade_date > date {
            return 0;
        }
        let cancelled: u64 = self
            .cancellations
            .iter()
            .filter(|c| c.0 <= date)
            .map(|c| c.1)
            .sum();
        let adjusted: i128 = self
            .reorganised
            .iter()
            .filter(|a| a.0 <= date)
            .map(|a| a.1)
            .sum();
        (self.repurchased as i128 + adjusted - cancelled as i128).max(0) as u64
    }
}

/// The on-Exchange repurchases of one class on one trade date, counted:
/// those recorded without prices, and those with prices in each currency
/// (the 5% price cap compares a repurchase with the closes in its own
/// currency).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OnExchangeDay {
    pub unpriced: u64,
    /// (currency, repurchases), in currency order.
    pub priced: Vec<(Currency, u64)>,
}

impl OnExchangeDay {
    pub(super) fn count(&mut self, currency: Option<&Currency>) {
        match currency {
            None => self.unpriced += 1,
            Some(c) => match self.priced.binary_search_by(|(x, _)| x.cmp(c)) {
                Ok(i) => self.priced[i].1 += 1,
                Err(i) => self.priced.insert(i, (c.clone(), 1)),
            },
        }
    }

    /// How many, priced or not.
    pub fn total(&self) -> u64 {
        self.unpriced + self.priced.iter().map(|(_, n)| n).sum::<u64>()
    }
}

/// A repurchase mandate as granted.
pub type Mandate = RepurchaseMandateGranted;

/// One share class of an issuer.
///
/// Read-only outside the register (see [`Register`](super::Register)):
///
/// ```compile_fail
/// fn edit(class: &mut shareledger_core::ClassState) {
///     class.days.clear();
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassState {
    pub(super) definition: ShareClassDefined,
    pub(super) opening: Option<OpeningBalance>,
    /// Net movements by effective date.
    pub(super) days: BTreeMap<NaiveDate, Delta>,
    /// Issued and treasury after every movement in the log.
    pub(super) totals: Delta,
    /// Pending-cancellation lines by trade date.
    pub(super) pending: BTreeMap<NaiveDate, PendingLine>,
    /// Trade dates of pending lines not yet wholly cancelled (so oldest-first
    /// allocation never walks the lines already cancelled).
    pub(super) open_pending: std::collections::BTreeSet<NaiveDate>,
    /// Authorised/registered shares from each change date on.
    pub(super) authorised_changes: BTreeMap<NaiveDate, u64>,
    /// Mandates in order of resolution date.
    pub(super) mandates: Vec<Mandate>,
    /// Per trade date: the shares repurchased on the Exchange, the shares
    /// repurchased by any method, and how many repurchases (any method).
    pub(super) repurchased: BTreeMap<NaiveDate, (u64, u64, u64)>,
    pub(super) closing_prices: BTreeMap<NaiveDate, Money>,
    /// On-Exchange repurchases per trade date, counted (what the 5% price
    /// cap check's warning counts without walking the history).
    pub(super) on_exchange: BTreeMap<NaiveDate, OnExchangeDay>,
    /// Whether any balance-moving event has been applied.
    pub(super) has_movements: bool,
    /// Capital reorganisations in date order, each with the net movement it
    /// made on its date (announced numbers less those before it).
    pub(super) reorganisations: Vec<(CapitalReorganised, Delta)>,
    /// What folding left of the detail dated before the issuer's horizon
    /// ([`super::Register::fold_issuer`]); `None`: nothing folded (never
    /// serialised then: a snapshot is never of a folded state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) folded: Option<Box<Folded>>,
}

/// What a class keeps of its detail dated before its issuer's horizon once
/// folded (docs/decisions.md, "An import in bounded memory"): the sum of the
/// net movements folded, and the pending-cancellation lines traded before
/// the horizon that are still open and have nothing dated on or after it,
/// as (trade date, shares still pending, origin) in trade-date order. The
/// rest of that detail is gone: `days`, `closing_prices`, the wholly
/// cancelled lines before the horizon; `repurchased` is summed per mandate
/// (one entry per mandate's span, on its last day folded);
/// `authorised_changes` keeps the last change before the horizon.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Folded {
    /// The horizon: every date folded is before it.
    pub(super) before: Option<NaiveDate>,
    /// The net movement of every day folded.
    pub(super) days: Delta,
    /// Open pending lines folded: (trade date, shares pending, origin).
    pub(super) open: Vec<(NaiveDate, u64, PendingOrigin)>,
}

impl ClassState {
    pub(super) fn new(definition: ShareClassDefined) -> Self {
        ClassState {
            definition,
            opening: None,
            days: BTreeMap::new(),
            totals: Delta::default(),
            pending: BTreeMap::new(),
            open_pending: std::collections::BTreeSet::new(),
            authorised_changes: BTreeMap::new(),
            mandates: Vec::new(),
            repurchased: BTreeMap::new(),
            closing_prices: BTreeMap::new(),
            on_exchange: BTreeMap::new(),
            has_movements: false,
            reorganisations: Vec::new(),
            folded: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.definition.class
    }

    /// The class as defined (`share_class_defined`).
    pub fn definition(&self) -> &ShareClassDefined {
        &self.definition
    }

    /// The opening balance, if one is recorded: the ledger's history of the
    /// class starts on its date.
    pub fn opening(&self) -> Option<&OpeningBalance> {
        self.opening.as_ref()
    }

    /// The net movements of each effective date.
    pub fn days(&self) -> &BTreeMap<NaiveDate, Delta> {
        &self.days
    }

    /// The pending-cancellation lines by trade date (wholly cancelled ones
    /// included, with their cancellations).
    pub fn pending(&self) -> &BTreeMap<NaiveDate, PendingLine> {
        &self.pending
    }

    /// Authorised/registered shares from each change date on.
    pub fn authorised_changes(&self) -> &BTreeMap<NaiveDate, u64> {
        &self.authorised_changes
    }

    /// The mandates in order of resolution date.
    pub fn mandates(&self) -> &[Mandate] {
        &self.mandates
    }

    /// Per trade date: the shares repurchased on the Exchange, the shares
    /// repurchased by any method, and how many repurchases (any method:
    /// what the 10.06(1) check counts of the repurchases after a mandate's
    /// breach without walking the history).
    pub fn repurchased(&self) -> &BTreeMap<NaiveDate, (u64, u64, u64)> {
        &self.repurchased
    }

    /// The closing prices recorded, by date.
    pub fn closing_prices(&self) -> &BTreeMap<NaiveDate, Money> {
        &self.closing_prices
    }

    /// The on-Exchange repurchases of each trade date, counted.
    pub fn on_exchange_repurchases(&self) -> &BTreeMap<NaiveDate, OnExchangeDay> {
        &self.on_exchange
    }

    /// Whether any balance-moving event has been applied.
    pub fn has_movements(&self) -> bool {
        self.has_movements
    }

    /// The capital reorganisations in date order, each with the net
    /// movement it made on its date (announced numbers less those before it).
    pub fn reorganisations(&self) -> &[(CapitalReorganised, Delta)] {
        &self.reorganisations
    }

    fn opening_delta(&self) -> Delta {
        match &self.opening {
            Some(o) => Delta {
                issued: o.issued_shares as i128,
                treasury: o.treasury_shares.unwrap_or(0) as i128,
                pending: 0,
            },
            None => Delta::default(),
        }
    }

    /// The balances at the end of `date`. Before the opening balance date the
    /// ledger knows nothing: `None`.
    pub fn balances_as_of(&self, date: NaiveDate) -> Option<Balances> {
        if let Some(o) = &self.opening {
            if date < o.date {
                return None;
            }
        }
        self.assert_not_folded(date);
        let mut b = self.opening_delta();
        if let Some(f) = &self.folded {
            b = b.plus(f.days);
        }
        for d in self.days.range(..=date).map(|(_, d)| d) {
            b.issued += d.issued;
            b.treasury += d.treasury;
        }
        let folded: u64 = self
            .folded_open()
            .iter()
            .filter(|l| l.0 <= date)
            .map(|l| l.1)
            .sum();
        let pending = folded
            + self
                .pending
                .values()
                .map(|l| l.pending_as_of(date))
                .sum::<u64>();
        Some(Balances {
            issued_excluding_treasury: to_count(b.issued),
            treasury: to_count(b.treasury),
            pending_cancellation: pending,
        })
    }

    /// Balances after every event in the log.
    pub fn current(&self) -> Balances {
        let o = self.opening_delta();
        Balances {
            issued_excluding_treasury: to_count(o.issued + self.totals.issued),
            treasury: to_count(o.treasury + self.totals.treasury),
            pending_cancellation: to_count(self.totals.pending),
        }
    }

    /// Pending lines with shares still pending at the end of `date`: (trade date, shares).
    pub fn pending_lines_as_of(&self, date: NaiveDate) -> Vec<(NaiveDate, u64)> {
        self.assert_not_folded(date);
        let mut lines: Vec<(NaiveDate, u64)> = self
            .folded_open()
            .iter()
            .filter(|l| l.0 <= date)
            .map(|l| (l.0, l.1))
            .chain(
                self.pending
                    .values()
                    .map(|l| (l.trade_date, l.pending_as_of(date))),
            )
            .filter(|(_, n)| *n > 0)
            .collect();
        lines.sort_by_key(|l| l.0);
        lines
    }

    /// The open pending lines folded (see [`Folded`]): (trade date, shares
    /// pending, origin), by trade date; empty when nothing is folded.
    pub fn folded_open(&self) -> &[(NaiveDate, u64, PendingOrigin)] {
        self.folded.as_ref().map_or(&[], |f| &f.open)
    }

    /// The horizon of a folded class: its detail before this date is
    /// folded (see [`Folded`]); `None` when nothing is.
    pub fn folded_before(&self) -> Option<NaiveDate> {
        self.folded.as_ref().and_then(|f| f.before)
    }

    /// A folded class answers only for dates on or after its horizon.
    fn assert_not_folded(&self, date: NaiveDate) {
        debug_assert!(
            self.folded_before().is_none_or(|h| date >= h),
            "class {} is folded before {:?}: it cannot answer for {date}",
            self.id(),
            self.folded_before()
        );
    }

    /// Every pending line with shares still pending (folded or not):
    /// (trade date, shares), by trade date.
    pub(super) fn open_lines(&self) -> Vec<(NaiveDate, u64)> {
        let mut lines: Vec<(NaiveDate, u64)> = self
            .folded_open()
            .iter()
            .map(|l| (l.0, l.1))
            .chain(
                self.open_pending
                    .iter()
                    .map(|d| (*d, self.pending[d].remaining())),
            )
            .collect();
        lines.sort_by_key(|l| l.0);
        lines
    }

    /// The pending line of `trade_date` to change, a folded one made a
    /// line again (with what is pending of it as its shares: see
    /// [`Self::fold`]).
    pub(super) fn line_mut(&mut self, trade_date: NaiveDate) -> Option<&mut PendingLine> {
        if !self.pending.contains_key(&trade_date) {
            let f = self.folded.as_mut()?;
            let at = f.open.binary_search_by_key(&trade_date, |l| l.0).ok()?;
            let (_, pending, origin) = f.open.remove(at);
            self.pending.insert(
                trade_date,
                PendingLine {
                    trade_date,
                    repurchased: pending,
                    origin,
                    cancellations: Vec::new(),
                    reorganised: Vec::new(),
                },
            );
            self.open_pending.insert(trade_date);
        }
        self.pending.get_mut(&trade_date)
    }

    /// Fold the detail dated before `horizon` (see [`Folded`]). What is
    /// kept answers every question about a date on or after `horizon`
    /// exactly as before, and every event dated on or after it that
    /// [`super::needs_full_state`] lets through changes it as it would
    /// the whole state folded after: folding commutes with applying.
    pub(super) fn fold(&mut self, horizon: NaiveDate) {
        let f = self.folded.get_or_insert_with(Box::default);
        if f.before.is_some_and(|b| b >= horizon) {
            return;
        }
        f.before = Some(horizon);
        let kept = self.days.split_off(&horizon);
        for d in std::mem::replace(&mut self.days, kept).into_values() {
            f.days = f.days.plus(d);
        }
        let kept = self.pending.split_off(&horizon);
        let mut compacted = false;
        for (date, line) in std::mem::replace(&mut self.pending, kept) {
            // What is pending of the line at the horizon becomes its
            // shares; only its parts dated on or after it stay.
            let adjusted: i128 = line
                .reorganised
                .iter()
                .filter(|a| a.0 < horizon)
                .map(|a| a.1)
                .sum();
            let cancelled: u64 = line
                .cancellations
                .iter()
                .filter(|c| c.0 < horizon)
                .map(|c| c.1)
                .sum();
            let at_horizon =
                (line.repurchased as i128 + adjusted - cancelled as i128).max(0) as u64;
            let cancellations: Vec<_> = line
                .cancellations
                .into_iter()
                .filter(|c| c.0 >= horizon)
                .collect();
            let reorganised: Vec<_> = line
                .reorganised
                .into_iter()
                .filter(|a| a.0 >= horizon)
                .collect();
            if !cancellations.is_empty() || !reorganised.is_empty() {
                self.pending.insert(
                    date,
                    PendingLine {
                        trade_date: date,
                        repurchased: at_horizon,
                        origin: line.origin,
                        cancellations,
                        reorganised,
                    },
                );
            } else {
                self.open_pending.remove(&date);
                if at_horizon > 0 {
                    f.open.push((date, at_horizon, line.origin));
                    compacted = true;
                }
            }
        }
        if compacted {
            f.open.sort_by_key(|l| l.0);
        }
        // Mandate usage: one entry per mandate's span (the days from its
        // resolution to the next mandate's), on the last day folded.
        let kept = self.repurchased.split_off(&horizon);
        let mut spans: BTreeMap<usize, (NaiveDate, (u64, u64, u64))> = BTreeMap::new();
        for (date, (ex, any, count)) in std::mem::replace(&mut self.repurchased, kept) {
            let span = self.mandates.partition_point(|m| m.resolution_date <= date);
            let s = spans.entry(span).or_insert((date, (0, 0, 0)));
            s.0 = date;
            s.1 .0 += ex;
            s.1 .1 += any;
            s.1 .2 += count;
        }
        for (date, used) in spans.into_values() {
            self.repurchased.insert(date, used);
        }
        let kept = self.authorised_changes.split_off(&horizon);
        let last = self.authorised_changes.pop_last();
        self.authorised_changes = kept;
        if let Some((date, n)) = last {
            self.authorised_changes.insert(date, n);
        }
        self.closing_prices = self.closing_prices.split_off(&horizon);
        self.on_exchange = self.on_exchange.split_off(&horizon);
    }

    /// Authorised/registered shares at the end of `date` (`None`: the issuer
    /// has no such concept for this class).
    pub fn authorised_as_of(&self, date: NaiveDate) -> Option<u64> {
        self.authorised_changes
            .range(..=date)
            .next_back()
            .map(|(_, n)| *n)
            .or(self.definition.authorised_shares)
    }

    /// The par value at the end of `date`: the class's, or the last
    /// capital reorganisation's on or before it that changed it.
    pub fn par_value_as_of(&self, date: NaiveDate) -> Option<Money> {
        self.reorganisations
            .iter()
            .rev()
            .filter(|(r, _)| r.date <= date)
            .find_map(|(r, _)| r.par_value_after.clone())
            .or_else(|| self.definition.par_value.clone())
    }

    /// The capital reorganisation of `date`, if any, with its net movement.
    pub fn reorganisation_on(&self, date: NaiveDate) -> Option<&(CapitalReorganised, Delta)> {
        self.reorganisations.iter().find(|(r, _)| r.date == date)
    }

    /// The mandate in force on `date`: the latest resolved on or before it,
    /// unless it has expired. A new mandate replaces the previous one.
    pub fn mandate_in_force(&self, date: NaiveDate) -> Option<&Mandate> {
        self.mandates
            .iter()
            .rev()
            .find(|m| m.resolution_date <= date)
            .filter(|m| m.expiry_date.is_none_or(|x| date <= x))
    }

    /// Shares repurchased under `mandate` from its resolution to `through`
    /// inclusive, including those bought before the ledger began:
    /// (on the Exchange, by any method).
    pub fn repurchased_under(&self, mandate: &Mandate, through: NaiveDate) -> (u64, u64) {
        let before = mandate.repurchased_before_ledger.unwrap_or(0);
        self.mandate_usage(mandate)
            .take_while(|(date, _)| *date <= through)
            .last()
            .map_or((before, before), |(_, used)| used)
    }

    /// The resolution date of the mandate that replaces `mandate`, if any.
    fn replaced_on(&self, mandate: &Mandate) -> Option<NaiveDate> {
        self.mandates
            .iter()
            .find(|m| m.resolution_date > mandate.resolution_date)
            .map(|m| m.resolution_date)
    }

    /// The repurchases of this class made under `mandate` (in force: before
    /// the mandate that replaces it, up to its expiry) on the trade dates
    /// after `day`: how many (any method) and the last such date; `None`
    /// when there are none. What the rule 10.06(1) check counts of the
    /// repurchases after a mandate's breach, without walking the history.
    pub fn repurchases_under_after(
        &self,
        mandate: &Mandate,
        day: NaiveDate,
    ) -> Option<(u64, NaiveDate)> {
        let end = self.replaced_on(mandate);
        self.repurchased
            .range((std::ops::Bound::Excluded(day), std::ops::Bound::Unbounded))
            .take_while(|(d, _)| {
                end.is_none_or(|e| **d < e) && mandate.expiry_date.is_none_or(|x| **d <= x)
            })
            .fold(None, |acc, (d, (_, _, n))| {
                Some((acc.map_or(0, |(c, _)| c) + n, *d))
            })
    }

    /// How `mandate` was used, day by day: for each trade date with a
    /// repurchase of this class from the mandate's resolution date until the
    /// next mandate's (which replaces it), the shares repurchased under it
    /// through the end of that day, counting first those bought before the
    /// ledger began: (on the Exchange, by any method). The one definition of
    /// a mandate's usage: [`Self::repurchased_under`], the NDDR's Section II
    /// B and the rule 10.06(1) check all read it.
    pub fn mandate_usage<'a>(
        &'a self,
        mandate: &Mandate,
    ) -> impl Iterator<Item = (NaiveDate, (u64, u64))> + 'a {
        let before = mandate.repurchased_before_ledger.unwrap_or(0);
        let start = mandate.resolution_date;
        let end = self.replaced_on(mandate);
        let mut used = (before, before);
        self.repurchased
            .range(start..)
            .take_while(move |(date, _)| end.is_none_or(|e| **date < e))
            .map(move |(date, (ex, any, _))| {
                used = (used.0 + ex, used.1 + any);
                (*date, used)
            })
    }

    /// Check that adding `delta` on `date` keeps, at the end of `date` and of
    /// every later day: 0 ≤ pending ≤ issued ≤ MAX_SHARES and
    /// 0 ≤ treasury ≤ MAX_SHARES.
    pub(super) fn check_delta(
        &self,
        date: NaiveDate,
        delta: Delta,
        field: &'static str,
        what: &str,
    ) -> Result<(), Refusal> {
        if delta == Delta::default() {
            return Ok(());
        }
        let o = self.opening_delta();
        let mut bal = o.plus(self.totals);
        let check = |bal: Delta, day: NaiveDate| -> Result<(), Refusal> {
            let after = bal.plus(delta);
            let problem = if after.treasury < 0 {
                Some((
                    K::ExceedsTreasury,
                    format!(
                        "{} treasury shares (it holds {})",
                        after.treasury, bal.treasury
                    ),
                ))
            } else if after.issued < 0 {
                Some((
                    K::NegativeBalance,
                    format!("{} issued shares (it has {})", after.issued, bal.issued),
                ))
            } else if after.pending < 0 {
                Some((
                    K::ExceedsPending,
                    format!(
                        "{} shares pending cancellation (it has {})",
                        after.pending, bal.pending
                    ),
                ))
            } else if after.pending > after.issued {
                Some((
                    K::NegativeBalance,
                    format!(
                        "{} shares pending cancellation but only {} issued shares (shares repurchased for cancellation are still issued shares)",
                        after.pending, after.issued
                    ),
                ))
            } else {
                None
            };
            if let Some((kind, state)) = problem {
                return Err(Refusal::new(
                    kind,
                    field,
                    format!(
                        "{what} of {} shares on {date} would leave class {} with {state} at the end of {day}",
                        delta.issued.abs().max(delta.treasury.abs()).max(delta.pending.abs()),
                        self.id()
                    ),
                    "check the number of shares and the date; no balance can go below zero",
                ));
            }
            if after.issued > MAX_SHARES as i128 || after.treasury > MAX_SHARES as i128 {
                return Err(Refusal::new(
                    K::TooManyShares,
                    field,
                    format!(
                        "{what} would take class {} above {MAX_SHARES} shares",
                        self.id()
                    ),
                    "check the number of shares",
                ));
            }
            Ok(())
        };
        // Walk back from the latest day: `bal` is the balance at the end of
        // each day in turn, the new delta added to it.
        for (day, d) in self.days.range(date..).rev() {
            check(bal, *day)?;
            bal = bal.minus(*d);
        }
        if !self.days.contains_key(&date) {
            check(bal, date)?;
        }
        Ok(())
    }

    pub(super) fn add_delta(&mut self, date: NaiveDate, delta: Delta) {
        if delta == Delta::default() {
            return;
        }
        let d = self.days.entry(date).or_default();
        *d = d.plus(delta);
        self.totals = self.totals.plus(delta);
    }

    /// Which pending lines a cancellation of `shares` on `date` draws from,
    /// and how many from each: the named trade dates in order, else oldest first.
    pub fn allocate_cancellation(
        &self,
        date: NaiveDate,
        shares: u64,
        trade_dates: Option<&[NaiveDate]>,
    ) -> Result<Vec<(NaiveDate, u64)>, Refusal> {
        let candidates: Vec<(NaiveDate, u64)> = match trade_dates {
            Some(dates) => {
                let mut lines = Vec::new();
                for (i, d) in dates.iter().enumerate() {
                    if dates[..i].contains(d) {
                        return Err(Refusal::new(
                            K::UnknownPendingLine,
                            "trade_dates",
                            format!("trade date {d} is named twice"),
                            "name each pending trade date once",
                        ));
                    }
                    let line = self
                        .pending
                        .get(d)
                        .map(|l| (l.trade_date, l.remaining()))
                        .or_else(|| {
                            self.folded_open()
                                .iter()
                                .find(|l| l.0 == *d)
                                .map(|l| (l.0, l.1))
                        });
                    match line {
                        Some(l) if l.0 <= date => lines.push(l),
                        Some(_) => {
                            return Err(Refusal::new(
                                K::UnknownPendingLine,
                                "trade_dates",
                                format!("trade date {d} is after the cancellation date {date}"),
                                "shares can only be cancelled on or after the day they were repurchased",
                            ))
                        }
                        None => {
                            return Err(Refusal::new(
                                K::UnknownPendingLine,
                                "trade_dates",
                                format!("class {} has no repurchase pending cancellation with trade date {d}", self.id()),
                                format!("name trade dates of pending repurchases: {}", self.describe_pending()),
                            ))
                        }
                    }
                }
                lines
            }
            None if self.folded_open().is_empty() => self
                .open_pending
                .range(..=date)
                .map(|d| (*d, self.pending[d].remaining()))
                .collect(),
            None => self
                .open_lines()
                .into_iter()
                .filter(|l| l.0 <= date)
                .collect(),
        };
        let mut left = shares;
        let mut allocation = Vec::new();
        for (trade_date, remaining) in candidates {
            if left == 0 {
                break;
            }
            let take = remaining.min(left);
            if take > 0 {
                allocation.push((trade_date, take));
                left -= take;
            }
        }
        if left > 0 {
            let available = shares - left;
            return Err(Refusal::new(
                K::ExceedsPending,
                "shares",
                format!(
                    "cancelling {shares} shares of class {} on {date}, but only {available} repurchased shares are pending cancellation{}",
                    self.id(),
                    if trade_dates.is_some() { " on the named trade dates" } else { " on or before that date" },
                ),
                format!("cancel at most {available} shares, or record the repurchase first (pending: {})", self.describe_pending()),
            ));
        }
        Ok(allocation)
    }

    fn describe_pending(&self) -> String {
        let lines: Vec<String> = self
            .open_lines()
            .into_iter()
            .map(|(d, n)| format!("{d} ({n})"))
            .collect();
        if lines.is_empty() {
            "none".into()
        } else {
            lines.join(", ")
        }
    }
}
