//! The register: per issuer and class, the balances the log implies, and the
//! pure rules that keep them possible.
//!
//! * [`decide`] judges one event against the register: `Ok` with the event to
//!   append, or a [`Refusal`] (domain.md section 2, "what can never happen").
//! * [`Register::apply`] folds an accepted event in. It never fails; it
//!   asserts the invariants `decide` guarantees.
//!
//! Balances are kept per effective date (net movement a day), so they can be
//! read *as of* any date, and an event recorded late (dated before events
//! already in the log) is checked against every later day's balance, not only
//! the latest. Within one issuer the whole history is kept, so a correction
//! (`event_voided`) is a replay of the history without the voided event, and
//! is refused if that replay would break an invariant.
//!
//! Invariants, for every class and every date on or after its opening balance:
//! issued (excluding treasury) ≥ 0, treasury ≥ 0, every pending-cancellation
//! line ≥ 0 and ≤ what was repurchased on its trade date, and each scheme's
//! outstanding options ≥ 0.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::amount::{Amount, Currency, Money};
use crate::event::*;
use crate::presentation::Presentation;
use crate::refusal::{Refusal, RefusalKind as K};

/// No balance may exceed this many shares (a quadrillion): far above any
/// issuer, low enough that no sum of counts can overflow.
pub const MAX_SHARES: u64 = 1_000_000_000_000_000;

/// The first day treasury shares exist in Hong Kong [rule, 11 June 2024].
pub fn treasury_regime_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 11).expect("valid date")
}

/// The balances of one class at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Balances {
    pub issued_excluding_treasury: u64,
    pub treasury: u64,
    /// Repurchased (or redeemed) for cancellation but not yet cancelled;
    /// these are inside `issued_excluding_treasury`.
    pub pending_cancellation: u64,
}

impl Balances {
    pub fn total(&self) -> u64 {
        self.issued_excluding_treasury + self.treasury
    }
}

/// The net movement of one effective date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delta {
    pub issued: i128,
    pub treasury: i128,
    /// Shares pending cancellation (inside `issued`).
    pub pending: i128,
}

impl Delta {
    fn of(e: Effect) -> Delta {
        Delta {
            issued: e.issued,
            treasury: e.treasury,
            pending: e.pending,
        }
    }
    fn plus(self, o: Delta) -> Delta {
        Delta {
            issued: self.issued + o.issued,
            treasury: self.treasury + o.treasury,
            pending: self.pending + o.pending,
        }
    }
    fn minus(self, o: Delta) -> Delta {
        Delta {
            issued: self.issued - o.issued,
            treasury: self.treasury - o.treasury,
            pending: self.pending - o.pending,
        }
    }
}

/// What the ledger learned to move shares, in one place: how each event
/// changes issued shares (excluding treasury), treasury shares and the shares
/// pending cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effect {
    pub issued: i128,
    pub treasury: i128,
    pub pending: i128,
}

/// The effect of an event on its class's balances (zero for events that move
/// nothing). This is the one table of domain.md section 2.
pub fn effect(event: &Event) -> Effect {
    let n = |s: u64| s as i128;
    match event {
        Event::SharesRepurchased(e) => match e.purpose_or_default() {
            Purpose::Cancellation => Effect {
                pending: n(e.shares),
                ..Effect::default()
            },
            Purpose::Treasury => Effect {
                issued: -n(e.shares),
                treasury: n(e.shares),
                pending: 0,
            },
        },
        Event::RepurchasedSharesCancelled(e) => Effect {
            issued: -n(e.shares),
            treasury: 0,
            pending: -n(e.shares),
        },
        Event::SharesIssued(e) => Effect {
            issued: n(e.shares),
            ..Effect::default()
        },
        Event::SharesRedeemed(e) => {
            if e.cancelled_or_default() {
                Effect {
                    issued: -n(e.shares),
                    ..Effect::default()
                }
            } else {
                Effect {
                    pending: n(e.shares),
                    ..Effect::default()
                }
            }
        }
        Event::TreasurySharesSold(e) => Effect {
            issued: n(e.shares),
            treasury: -n(e.shares),
            pending: 0,
        },
        Event::TreasurySharesTransferred(e) => Effect {
            issued: n(e.shares),
            treasury: -n(e.shares),
            pending: 0,
        },
        Event::TreasurySharesCancelled(e) => Effect {
            treasury: -n(e.shares),
            ..Effect::default()
        },
        _ => Effect::default(),
    }
}

/// The effect of an event on the balances of `class`: [`effect`] for an
/// event of one class; for a reclassification, −N issued in the class it
/// leaves and +N in the class it joins (domain.md section 2).
pub fn effect_on(event: &Event, class: &str) -> Effect {
    match event {
        Event::SharesReclassified(e) => {
            let n = e.shares as i128;
            let issued = if class == e.from_class {
                -n
            } else if class == e.to_class {
                n
            } else {
                0
            };
            Effect {
                issued,
                ..Effect::default()
            }
        }
        other if other.class() == Some(class) => effect(other),
        _ => Effect::default(),
    }
}

/// Where a pending-cancellation line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingOrigin {
    Repurchase,
    Redemption,
}

/// Shares repurchased (or redeemed) on one trade date for cancellation, and
/// what has been cancelled of them since.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A repurchase mandate as granted.
pub type Mandate = RepurchaseMandateGranted;

/// One share class of an issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassState {
    pub definition: ShareClassDefined,
    pub opening: Option<OpeningBalance>,
    /// Net movements by effective date.
    pub days: BTreeMap<NaiveDate, Delta>,
    /// Issued and treasury after every movement in the log.
    pub totals: Delta,
    /// Pending-cancellation lines by trade date.
    pub pending: BTreeMap<NaiveDate, PendingLine>,
    /// Trade dates of pending lines not yet wholly cancelled (so oldest-first
    /// allocation never walks the lines already cancelled).
    pub open_pending: std::collections::BTreeSet<NaiveDate>,
    /// Authorised/registered shares from each change date on.
    pub authorised_changes: BTreeMap<NaiveDate, u64>,
    /// Mandates in order of resolution date.
    pub mandates: Vec<Mandate>,
    /// Shares repurchased per trade date: (on the Exchange, by any method).
    pub repurchased: BTreeMap<NaiveDate, (u64, u64)>,
    pub closing_prices: BTreeMap<NaiveDate, Money>,
    /// Whether any balance-moving event has been applied.
    pub has_movements: bool,
    /// Capital reorganisations in date order, each with the net movement it
    /// made on its date (announced numbers less those before it).
    pub reorganisations: Vec<(CapitalReorganised, Delta)>,
}

impl ClassState {
    fn new(definition: ShareClassDefined) -> Self {
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
            has_movements: false,
            reorganisations: Vec::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.definition.class
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
        let mut b = self.opening_delta();
        for d in self.days.range(..=date).map(|(_, d)| d) {
            b.issued += d.issued;
            b.treasury += d.treasury;
        }
        let pending = self.pending.values().map(|l| l.pending_as_of(date)).sum();
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
        self.pending
            .values()
            .map(|l| (l.trade_date, l.pending_as_of(date)))
            .filter(|(_, n)| *n > 0)
            .collect()
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
        let end = self
            .mandates
            .iter()
            .find(|m| m.resolution_date > mandate.resolution_date)
            .map(|m| m.resolution_date);
        let mut on_exchange = before;
        let mut all = before;
        if through < mandate.resolution_date {
            return (on_exchange, all);
        }
        for (date, (ex, any)) in self.repurchased.range(mandate.resolution_date..=through) {
            if end.is_some_and(|e| *date >= e) {
                break;
            }
            on_exchange += ex;
            all += any;
        }
        (on_exchange, all)
    }

    /// Check that adding `delta` on `date` keeps, at the end of `date` and of
    /// every later day: 0 ≤ pending ≤ issued ≤ MAX_SHARES and
    /// 0 ≤ treasury ≤ MAX_SHARES.
    fn check_delta(
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

    fn add_delta(&mut self, date: NaiveDate, delta: Delta) {
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
        let candidates: Vec<&PendingLine> = match trade_dates {
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
                    match self.pending.get(d) {
                        Some(l) if l.trade_date <= date => lines.push(l),
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
            None => self
                .open_pending
                .range(..=date)
                .map(|d| &self.pending[d])
                .collect(),
        };
        let mut left = shares;
        let mut allocation = Vec::new();
        for line in candidates {
            if left == 0 {
                break;
            }
            let take = line.remaining().min(left);
            if take > 0 {
                allocation.push((line.trade_date, take));
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
            .pending
            .values()
            .filter(|l| l.remaining() > 0)
            .map(|l| format!("{} ({})", l.trade_date, l.remaining()))
            .collect();
        if lines.is_empty() {
            "none".into()
        } else {
            lines.join(", ")
        }
    }
}

fn to_count(n: i128) -> u64 {
    debug_assert!(
        (0..=MAX_SHARES as i128).contains(&n),
        "balance out of range: {n}"
    );
    n.clamp(0, MAX_SHARES as i128) as u64
}

/// A share option scheme and its outstanding options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeState {
    pub adoption: ShareOptionSchemeAdopted,
    pub outstanding: u64,
}

/// Warrants, convertibles or another arrangement, and what they can still issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentState {
    pub issued: InstrumentIssued,
    /// Shares still issuable.
    pub issuable: u64,
    /// Units or principal outstanding, when the issue gave an amount.
    pub amount: Option<Decimal>,
}

impl InstrumentState {
    pub fn new(e: &InstrumentIssued) -> Self {
        InstrumentState {
            issued: e.clone(),
            issuable: e.shares_issuable,
            amount: e.amount.map(|a| a.0),
        }
    }

    /// The amount a use of `shares` takes: as `given`, else pro rata to the
    /// shares still issuable (amount × shares / issuable, rounded half away
    /// from zero to the decimals of the amount issued), and all of what is
    /// left when the last issuable shares go. `None` when the instrument has
    /// no amount.
    pub fn amount_for(&self, shares: u64, given: Option<Amount>) -> Option<Decimal> {
        if let Some(a) = given {
            return Some(a.0);
        }
        let amount = self.amount?;
        if shares >= self.issuable || self.issuable == 0 {
            return Some(amount);
        }
        let dp = self.issued.amount.map(|a| a.0.scale()).unwrap_or(0);
        amount
            .checked_mul(Decimal::from(shares))?
            .checked_div(Decimal::from(self.issuable))
            .map(|x| {
                x.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            })
    }

    /// Record a use (exercise, conversion, cancellation) of `shares`.
    pub fn take(&mut self, shares: u64, given: Option<Amount>) {
        let used = self.amount_for(shares, given);
        self.issuable -= shares;
        if let (Some(a), Some(u)) = (self.amount.as_mut(), used) {
            *a -= u.min(*a);
        }
    }
}

/// One issuer: its settings, classes, schemes, filings and whole history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerState {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub primary_listing: bool,
    pub signatory: Option<Signatory>,
    pub presentation: Presentation,
    pub classes: BTreeMap<String, ClassState>,
    pub schemes: BTreeMap<String, SchemeState>,
    /// Warrants, convertibles and other arrangements, by name.
    pub instruments: BTreeMap<String, InstrumentState>,
    /// The Exchange's prior approvals and waivers, in log order.
    pub approvals: Vec<(Uuid, ExchangeApprovalRecorded)>,
    pub results: Vec<ResultsAnnouncementScheduled>,
    pub filings: Vec<(Uuid, ReturnFiled)>,
    /// Every event of the issuer in log order, corrections included.
    pub history: Vec<Recorded>,
    /// Ids of voided events.
    pub voided: HashSet<Uuid>,
}

impl IssuerState {
    fn new(e: &IssuerRegistered) -> Self {
        let mut presentation = Presentation::default();
        if let Some(p) = &e.presentation {
            presentation.merge(p);
        }
        IssuerState {
            id: e.issuer.clone(),
            name: e.name.clone(),
            description: e.description.clone(),
            primary_listing: e.primary_listing.unwrap_or(true),
            signatory: e.signatory.clone(),
            presentation,
            classes: BTreeMap::new(),
            schemes: BTreeMap::new(),
            instruments: BTreeMap::new(),
            approvals: Vec::new(),
            results: Vec::new(),
            filings: Vec::new(),
            history: Vec::new(),
            voided: HashSet::new(),
        }
    }

    /// The name with its legal description, as the forms print it.
    pub fn full_name(&self) -> String {
        match &self.description {
            Some(d) if !d.is_empty() => format!("{} {}", self.name, d),
            _ => self.name.clone(),
        }
    }

    pub fn class(&self, id: &str) -> Option<&ClassState> {
        self.classes.get(id)
    }

    /// The events in force: in log order, without voided events and without
    /// the corrections themselves.
    pub fn live_events(&self) -> impl Iterator<Item = &Recorded> {
        self.history
            .iter()
            .filter(|r| !self.voided.contains(&r.id) && !matches!(r.event, Event::EventVoided(_)))
    }

    fn class_or_refuse(&self, class: &str) -> Result<&ClassState, Refusal> {
        self.classes.get(class).ok_or_else(|| {
            let known: Vec<&str> = self.classes.keys().map(String::as_str).collect();
            Refusal::new(
                K::UnknownClass,
                "class",
                format!("issuer {} has no share class `{class}`", self.id),
                if known.is_empty() {
                    "record share_class_defined for it first".to_string()
                } else {
                    format!(
                        "use one of: {}, or record share_class_defined first",
                        known.join(", ")
                    )
                },
            )
        })
    }

    fn scheme_or_refuse(&self, scheme: &str, field: &'static str) -> Result<&SchemeState, Refusal> {
        self.schemes.get(scheme).ok_or_else(|| {
            Refusal::new(
                K::UnknownScheme,
                field,
                format!("issuer {} has no share option scheme `{scheme}`", self.id),
                "record share_option_scheme_adopted for it first, or correct the name",
            )
        })
    }
}

/// The whole register: every issuer, and the market calendar's closures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Register {
    pub issuers: BTreeMap<String, IssuerState>,
    pub market_closures: BTreeMap<NaiveDate, String>,
    /// The live `market_closed` events by id (what an issuer-less
    /// `event_voided` may void).
    market_closed_ids: BTreeMap<Uuid, NaiveDate>,
}

/// Judge one event against the register: the event to append, or why not.
pub fn decide(state: &Register, command: Recorded) -> Result<Recorded, Refusal> {
    state.check(&command)?;
    Ok(command)
}

impl Register {
    pub fn new() -> Self {
        Register::default()
    }

    pub fn issuer(&self, id: &str) -> Option<&IssuerState> {
        self.issuers.get(id)
    }

    /// Judge and, if accepted, apply.
    pub fn execute(&mut self, r: Recorded) -> Result<(), Refusal> {
        let r = decide(self, r)?;
        self.apply(r);
        Ok(())
    }

    /// Whether `r` may be appended (domain.md section 2).
    pub fn check(&self, r: &Recorded) -> Result<(), Refusal> {
        match &r.event {
            Event::MarketClosed(e) => {
                non_empty(&e.reason, "reason")?;
                if let Some(reason) = self.market_closures.get(&e.date) {
                    return Err(Refusal::new(
                        K::MarketClosureExists,
                        "date",
                        format!(
                            "the market is already recorded as closed on {} ({reason})",
                            e.date
                        ),
                        "record each closure once; void nothing, the calendar keeps the first",
                    ));
                }
                Ok(())
            }
            Event::EventVoided(e) if e.issuer.is_none() => self.check_market_void(e),
            Event::IssuerRegistered(e) => {
                non_empty(&e.issuer, "issuer")?;
                non_empty(&e.name, "name")?;
                if self.issuers.contains_key(&e.issuer) {
                    return Err(Refusal::new(
                        K::IssuerExists,
                        "issuer",
                        format!("issuer {} is already registered", e.issuer),
                        "use issuer_settings_changed to change its name, signatory or presentation",
                    ));
                }
                Ok(())
            }
            other => {
                let id = other.issuer().expect("every other event has an issuer");
                let issuer = self.issuers.get(id).ok_or_else(|| {
                    Refusal::new(
                        K::UnknownIssuer,
                        "issuer",
                        format!("no issuer `{id}` is registered"),
                        "record issuer_registered for it first, or correct the issuer id",
                    )
                })?;
                check_issuer_event(issuer, r)
            }
        }
    }

    /// An `event_voided` without issuer voids a `market_closed`: the day
    /// becomes a trading day again (nothing recorded on it can become
    /// impossible by that). Anything else needs its issuer.
    fn check_market_void(&self, e: &EventVoided) -> Result<(), Refusal> {
        non_empty(&e.reason, "reason")?;
        if self.market_closed_ids.contains_key(&e.voided_id) {
            return Ok(());
        }
        let owner = self
            .issuers
            .values()
            .find(|i| i.history.iter().any(|h| h.id == e.voided_id));
        Err(match owner {
            Some(i) => Refusal::new(
                K::InvalidVoid,
                "issuer",
                format!(
                    "event {} belongs to issuer {}: only a market_closed is voided without an issuer",
                    e.voided_id, i.id
                ),
                format!("add \"issuer\": \"{}\"", i.id),
            ),
            None => Refusal::new(
                K::InvalidVoid,
                "voided_id",
                format!(
                    "no live market_closed has id {} (an event_voided without issuer voids a market closure)",
                    e.voided_id
                ),
                "find the id with `shareledger log --format json`; a closure voided already is voided",
            ),
        })
    }

    /// Fold an accepted event in. Panics (an invariant, not an input error)
    /// if `r` was not accepted by [`decide`].
    pub fn apply(&mut self, r: Recorded) {
        match &r.event {
            Event::MarketClosed(e) => {
                self.market_closures.insert(e.date, e.reason.clone());
                self.market_closed_ids.insert(r.id, e.date);
            }
            Event::EventVoided(v) if v.issuer.is_none() => {
                let date = self
                    .market_closed_ids
                    .remove(&v.voided_id)
                    .expect("decide checked the closure exists");
                self.market_closures.remove(&date);
            }
            Event::IssuerRegistered(e) => {
                let mut issuer = IssuerState::new(e);
                issuer.history.push(r);
                self.issuers.insert(issuer.id.clone(), issuer);
            }
            other => {
                let id = other.issuer().expect("issuer-scoped").to_string();
                let issuer = self
                    .issuers
                    .get_mut(&id)
                    .expect("decide checked the issuer exists");
                if let Event::EventVoided(v) = &r.event {
                    let mut voided = issuer.voided.clone();
                    voided.insert(v.voided_id);
                    let mut rebuilt = replay(&issuer.history, &voided)
                        .expect("decide checked the correction replays");
                    rebuilt.history = std::mem::take(&mut issuer.history);
                    rebuilt.history.push(r);
                    rebuilt.voided = voided;
                    *issuer = rebuilt;
                } else {
                    apply_issuer_event(issuer, &r);
                    issuer.history.push(r);
                }
            }
        }
    }
}

/// Rebuild an issuer from its history, leaving out `voided` events and the
/// corrections. The returned state has an empty history.
fn replay(history: &[Recorded], voided: &HashSet<Uuid>) -> Result<IssuerState, Refusal> {
    let mut iter = history.iter();
    let first = iter
        .next()
        .expect("an issuer's history starts with its registration");
    let Event::IssuerRegistered(reg) = &first.event else {
        unreachable!("an issuer's history starts with its registration")
    };
    let mut state = IssuerState::new(reg);
    for r in iter {
        if voided.contains(&r.id) || matches!(r.event, Event::EventVoided(_)) {
            continue;
        }
        check_issuer_event(&state, r)?;
        apply_issuer_event(&mut state, r);
    }
    Ok(state)
}

fn non_empty(s: &str, field: &'static str) -> Result<(), Refusal> {
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
            "an event that moves shares moves at least one share",
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
    let (Some(low), Some(high)) = (n.checked_mul(l), n.checked_mul(h)) else {
        return Err(Refusal::new(
            K::PriceOutOfRange,
            "highest_price",
            format!("{shares} shares × {h} is beyond any amount the ledger can hold"),
            "check the prices and the share count",
        ));
    };
    let (min, max) = (low - Decimal::ONE, high + Decimal::ONE);
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
    if date < treasury_regime_start() {
        return Err(Refusal::new(
            K::TreasuryBeforeRegime,
            field,
            format!(
                "{date} is before 11 June 2024, when treasury shares became possible in Hong Kong"
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

fn check_issuer_event(issuer: &IssuerState, r: &Recorded) -> Result<(), Refusal> {
    let eff = effect(&r.event);
    match &r.event {
        Event::IssuerRegistered(_) | Event::MarketClosed(_) => {
            unreachable!("handled by the register")
        }
        Event::IssuerSettingsChanged(e) => {
            if let Some(n) = &e.name {
                non_empty(n, "name")?;
            }
            Ok(())
        }
        Event::ShareClassDefined(e) => {
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
        Event::OpeningBalance(e) => {
            let class = issuer.class_or_refuse(&e.class)?;
            if let Some(o) = &class.opening {
                return Err(Refusal::new(
                    K::OpeningBalanceExists,
                    "class",
                    format!("class {} already has an opening balance as at {}", e.class, o.date),
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
        Event::RepurchaseMandateGranted(e) => {
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
        Event::SharesRepurchased(e) => {
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
            class.check_delta(e.trade_date, Delta::of(eff), "shares", "a repurchase")?;
            let pending_now = class.totals.pending + eff.pending;
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
        Event::RepurchasedSharesCancelled(e) => {
            let class = issuer.class_or_refuse(&e.class)?;
            positive(e.shares, "shares")?;
            after_opening(class, e.date, "date")?;
            class.allocate_cancellation(e.date, e.shares, e.trade_dates.as_deref())?;
            class.check_delta(e.date, Delta::of(eff), "shares", "a cancellation")
        }
        Event::SharesIssued(e) => {
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
                let scheme =
                    issuer.scheme_or_refuse(e.scheme.as_deref().unwrap_or_default(), "scheme")?;
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
            class.check_delta(e.date, Delta::of(eff), "shares", "an issue")
        }
        Event::SharesRedeemed(e) => {
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
            class.check_delta(e.date, Delta::of(eff), "shares", "a redemption")
        }
        Event::TreasurySharesSold(e) => {
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
            class.check_delta(
                e.trade_date,
                Delta::of(eff),
                "shares",
                "a sale of treasury shares",
            )
        }
        Event::TreasurySharesTransferred(e) => {
            let class = issuer.class_or_refuse(&e.class)?;
            positive(e.shares, "shares")?;
            non_empty(&e.purpose, "purpose")?;
            after_opening(class, e.date, "date")?;
            treasury_allowed(e.date, "date")?;
            class.check_delta(
                e.date,
                Delta::of(eff),
                "shares",
                "a transfer of treasury shares",
            )
        }
        Event::TreasurySharesCancelled(e) => {
            let class = issuer.class_or_refuse(&e.class)?;
            positive(e.shares, "shares")?;
            after_opening(class, e.date, "date")?;
            treasury_allowed(e.date, "date")?;
            class.check_delta(
                e.date,
                Delta::of(eff),
                "shares",
                "a cancellation of treasury shares",
            )
        }
        Event::AuthorisedSharesChanged(e) => {
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
        Event::ShareOptionSchemeAdopted(e) => {
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
        Event::ShareOptionsGranted(e) => {
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
        Event::ShareOptionsLapsed(e) | Event::ShareOptionsCancelled(e) => {
            let s = issuer.scheme_or_refuse(&e.scheme, "scheme")?;
            positive(e.options, "options")?;
            if e.options > s.outstanding {
                return Err(Refusal::new(
                    K::ExceedsOutstandingOptions,
                    "options",
                    format!("{} options lapse or are cancelled under `{}`, which has only {} outstanding", e.options, e.scheme, s.outstanding),
                    "check the number",
                ));
            }
            Ok(())
        }
        Event::ResultsAnnouncementScheduled(e) => {
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
        Event::ReturnFiled(e) => {
            if e.form == ReturnForm::Monthly
                && e.date
                    .succ_opt()
                    .is_none_or(|d| d.month() == e.date.month())
            {
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
            Ok(())
        }
        Event::ClosingPrice(e) => {
            issuer.class_or_refuse(&e.class)?;
            Ok(())
        }
        Event::SharesReclassified(e) => check_shares_reclassified(issuer, e),
        Event::InstrumentIssued(e) => check_instrument_issued(issuer, e),
        Event::InstrumentCancelled(e) => check_instrument_cancelled(issuer, e),
        Event::ExchangeApprovalRecorded(e) => check_exchange_approval_recorded(issuer, e),
        Event::CapitalReorganised(e) => check_capital_reorganised(issuer, e),
        Event::EventVoided(e) => {
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
                    format!("a {} cannot be voided", target.event.type_name()),
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
    }
}

/// A reclassification: two different classes of the issuer, at least one
/// share, dated after both opening balances, and no more shares than the
/// class it leaves has (excluding those pending cancellation) on its date
/// and every later day.
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

/// A new instrument: of a known class, with a new name and at least one
/// share issuable; a price needs its currency; expiry not before the issue.
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

/// Shares an instrument can no longer issue: a recorded instrument, not
/// before its issue, no more than it can still issue.
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

/// An approval names a rule, and covers only events of the issuer that are
/// in force (each at most once).
fn check_exchange_approval_recorded(
    issuer: &IssuerState,
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

/// How far an announced number may lie from the exact scaled one: 1%
/// [assumed: fractions are the issuer's affair and small; a larger gap is
/// a wrong ratio or a number from before the reorganisation].
const REORGANISATION_TOLERANCE_PERCENT: u128 = 1;

/// The net movement and the scaled pending lines a capital reorganisation
/// makes, from the class's balances at the end of its date.
fn reorganisation_effect(
    class: &ClassState,
    e: &CapitalReorganised,
) -> (Delta, Vec<(NaiveDate, i128)>) {
    let before = class.current();
    let treasury_after = e
        .treasury_shares_after
        .unwrap_or_else(|| e.scale(before.treasury));
    let mut lines = Vec::new();
    for line in class.pending.values() {
        let now = line.remaining();
        if now > 0 {
            let scaled = e.scale(now);
            if scaled != now {
                lines.push((line.trade_date, scaled as i128 - now as i128));
            }
        }
    }
    let delta = Delta {
        issued: e.issued_shares_after as i128 - before.issued_excluding_treasury as i128,
        treasury: treasury_after as i128 - before.treasury as i128,
        pending: lines.iter().map(|l| l.1).sum(),
    };
    (delta, lines)
}

/// A capital reorganisation: a ratio of whole shares, neither 0, that fits
/// its kind; dated after the opening balance and on or after every movement
/// of the class (later movements are in the new shares); announced numbers
/// within 1% of the exact scaled ones, and the shares pending cancellation,
/// scaled, within the issued shares.
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

fn apply_issuer_event(issuer: &mut IssuerState, r: &Recorded) {
    let eff = effect(&r.event);
    match &r.event {
        Event::IssuerRegistered(_) | Event::MarketClosed(_) | Event::EventVoided(_) => {
            unreachable!("handled by the register")
        }
        Event::IssuerSettingsChanged(e) => {
            if let Some(n) = &e.name {
                issuer.name = n.clone();
            }
            if let Some(d) = &e.description {
                issuer.description = Some(d.clone());
            }
            if let Some(p) = e.primary_listing {
                issuer.primary_listing = p;
            }
            if let Some(s) = &e.signatory {
                issuer.signatory = Some(s.clone());
            }
            if let Some(p) = &e.presentation {
                issuer.presentation.merge(p);
            }
        }
        Event::ShareClassDefined(e) => {
            issuer
                .classes
                .insert(e.class.clone(), ClassState::new(e.clone()));
        }
        Event::OpeningBalance(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            debug_assert!(class.opening.is_none() && !class.has_movements);
            class.opening = Some(e.clone());
        }
        Event::RepurchaseMandateGranted(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            let at = class
                .mandates
                .partition_point(|m| m.resolution_date <= e.resolution_date);
            class.mandates.insert(at, e.clone());
        }
        Event::SharesRepurchased(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            class.has_movements = true;
            class.add_delta(e.trade_date, Delta::of(eff));
            if eff.pending > 0 {
                class
                    .pending
                    .entry(e.trade_date)
                    .or_insert_with(|| PendingLine {
                        trade_date: e.trade_date,
                        repurchased: 0,
                        origin: PendingOrigin::Repurchase,
                        cancellations: Vec::new(),
                        reorganised: Vec::new(),
                    })
                    .repurchased += e.shares;
                class.open_pending.insert(e.trade_date);
            }
            let day = class.repurchased.entry(e.trade_date).or_default();
            if e.method_or_default() == Method::OnExchange {
                day.0 += e.shares;
            }
            day.1 += e.shares;
        }
        Event::RepurchasedSharesCancelled(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            let allocation = class
                .allocate_cancellation(e.date, e.shares, e.trade_dates.as_deref())
                .expect("decide checked the allocation");
            for (trade_date, n) in allocation {
                let line = class
                    .pending
                    .get_mut(&trade_date)
                    .expect("allocated from existing lines");
                line.cancellations.push((e.date, n));
                debug_assert!(
                    line.cancelled() as i128
                        <= line.repurchased as i128
                            + line.reorganised.iter().map(|a| a.1).sum::<i128>()
                );
                if line.remaining() == 0 {
                    class.open_pending.remove(&trade_date);
                }
            }
            class.has_movements = true;
            class.add_delta(e.date, Delta::of(eff));
        }
        Event::SharesIssued(e) => {
            if let Some(name) = exercised_instrument(issuer, e).map(|i| i.issued.instrument.clone())
            {
                let inst = issuer.instruments.get_mut(&name).expect("found");
                inst.take(e.shares, e.amount);
            }
            if e.kind == IssueKind::ShareOptionExercise {
                let s = issuer
                    .schemes
                    .get_mut(e.scheme.as_deref().unwrap_or_default())
                    .expect("checked");
                s.outstanding -= e.shares;
            }
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            class.has_movements = true;
            class.add_delta(e.date, Delta::of(eff));
        }
        Event::SharesRedeemed(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            class.has_movements = true;
            class.add_delta(e.date, Delta::of(eff));
            if eff.pending > 0 {
                class
                    .pending
                    .entry(e.date)
                    .or_insert_with(|| PendingLine {
                        trade_date: e.date,
                        repurchased: 0,
                        origin: PendingOrigin::Redemption,
                        cancellations: Vec::new(),
                        reorganised: Vec::new(),
                    })
                    .repurchased += e.shares;
                class.open_pending.insert(e.date);
            }
        }
        Event::TreasurySharesSold(TreasurySharesSold {
            class,
            trade_date: date,
            ..
        })
        | Event::TreasurySharesTransferred(TreasurySharesTransferred { class, date, .. })
        | Event::TreasurySharesCancelled(TreasurySharesCancelled { class, date, .. }) => {
            let class = issuer.classes.get_mut(class).expect("checked");
            class.has_movements = true;
            class.add_delta(*date, Delta::of(eff));
        }
        Event::AuthorisedSharesChanged(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            class.has_movements = true;
            class.authorised_changes.insert(e.date, e.authorised_shares);
        }
        Event::ShareOptionSchemeAdopted(e) => {
            issuer.schemes.insert(
                e.scheme.clone(),
                SchemeState {
                    adoption: e.clone(),
                    outstanding: e.outstanding_options.unwrap_or(0),
                },
            );
        }
        Event::ShareOptionsGranted(e) => {
            issuer
                .schemes
                .get_mut(&e.scheme)
                .expect("checked")
                .outstanding += e.options;
        }
        Event::ShareOptionsLapsed(e) | Event::ShareOptionsCancelled(e) => {
            issuer
                .schemes
                .get_mut(&e.scheme)
                .expect("checked")
                .outstanding -= e.options;
        }
        Event::ResultsAnnouncementScheduled(e) => issuer.results.push(e.clone()),
        Event::ReturnFiled(e) => issuer.filings.push((r.id, e.clone())),
        Event::ExchangeApprovalRecorded(e) => issuer.approvals.push((r.id, e.clone())),
        Event::CapitalReorganised(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            let (delta, lines) = reorganisation_effect(class, e);
            for (trade_date, adjustment) in lines {
                let line = class.pending.get_mut(&trade_date).expect("a pending line");
                line.reorganised.push((e.date, adjustment));
                if line.remaining() == 0 {
                    class.open_pending.remove(&trade_date);
                }
            }
            let authorised = e
                .authorised_shares_after
                .or_else(|| class.authorised_as_of(e.date).map(|a| e.scale(a)));
            if let Some(a) = authorised {
                class.authorised_changes.insert(e.date, a);
            }
            class.has_movements = true;
            class.add_delta(e.date, delta);
            class.reorganisations.push((e.clone(), delta));
        }
        Event::InstrumentIssued(e) => {
            issuer
                .instruments
                .insert(e.instrument.clone(), InstrumentState::new(e));
        }
        Event::InstrumentCancelled(e) => {
            issuer
                .instruments
                .get_mut(&e.instrument)
                .expect("checked")
                .take(e.shares_issuable, e.amount);
        }
        Event::SharesReclassified(e) => {
            for id in [&e.from_class, &e.to_class] {
                let class = issuer.classes.get_mut(id).expect("checked");
                class.has_movements = true;
                class.add_delta(e.date, Delta::of(effect_on(&r.event, id)));
            }
        }
        Event::ClosingPrice(e) => {
            let class = issuer.classes.get_mut(&e.class).expect("checked");
            class.closing_prices.insert(
                e.date,
                Money {
                    currency: e.currency.clone(),
                    amount: e.price,
                },
            );
        }
    }
}
