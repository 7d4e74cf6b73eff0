//! Rule checks: the ledger records facts, these judge them (domain.md
//! section 2, "what can happen but breaks a rule"). Each check is one
//! function named with its Main Board Rule; each finding names the rule, the
//! issuer, the effective date concerned (a Monthly Return: its month end) and
//! what to do.
//!
//! Deadlines are judged against `now`, which comes in as data. Filing
//! obligations are judged from the date of the issuer's first recorded filing
//! on, that date included: a ledger started mid-life cannot know how its
//! earlier returns were filed. The assumptions the checks rely on are listed
//! in docs/rules.md ("Rule checks").

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use shareledger_core::calendar::BusinessCalendar;
use shareledger_core::event::{
    Event, IssueKind, Method, Recorded, ResultsAnnouncementScheduled, ReturnForm,
};
use shareledger_core::rules::{
    monthly_returns_due, moratorium_end, moratorium_trade_dates, nddr_disclosure, Disclosure,
    NDDR_THRESHOLD_PERCENT, PRICE_CAP_PERCENT, PRICE_CAP_TRADING_DAYS,
};
use shareledger_core::state::{exercised_instrument, IssuerState, Mandate};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One judgment of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The Main Board Rule, e.g. "10.06(3)"; or "integrity" / "replay".
    pub rule: String,
    pub issuer: String,
    /// The effective date of the event or return concerned (a Monthly Return: its month end).
    pub date: Option<NaiveDate>,
    pub message: String,
    /// The event that introduced the finding, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Uuid>,
}

impl Finding {
    pub fn error(
        rule: &str,
        issuer: &str,
        date: Option<NaiveDate>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity: Severity::Error,
            rule: rule.into(),
            issuer: issuer.into(),
            date,
            message: message.into(),
            event: None,
        }
    }
    pub fn warning(
        rule: &str,
        issuer: &str,
        date: Option<NaiveDate>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity: Severity::Warning,
            rule: rule.into(),
            issuer: issuer.into(),
            date,
            message: message.into(),
            event: None,
        }
    }
    fn by(mut self, event: Uuid) -> Self {
        self.event = Some(event);
        self
    }

    /// Whether `other` reports the same thing: the same rule, issuer, date
    /// and severity, about the same event; a finding about no event in
    /// particular (a return missing, a check that could not run) is the
    /// same only with the same words. What a later event only adds to
    /// (a mandate's breach, now with one more repurchase beyond it) is the
    /// same finding, so `record` and `import` do not report it again.
    pub fn is_same(&self, other: &Finding) -> bool {
        self.severity == other.severity
            && self.rule == other.rule
            && self.issuer == other.issuer
            && self.date == other.date
            && self.event == other.event
            && (self.event.is_some() || self.message == other.message)
    }
}

/// What makes two findings the same ([`Finding::is_same`]), as a key.
type Identity<'f> = (
    Severity,
    &'f str,
    &'f str,
    Option<NaiveDate>,
    Option<Uuid>,
    Option<&'f str>,
);

fn identity(f: &Finding) -> Identity<'_> {
    (
        f.severity,
        &f.rule,
        &f.issuer,
        f.date,
        f.event,
        f.event.is_none().then_some(f.message.as_str()),
    )
}

/// The findings of `new` that are not the same as any of `old`
/// ([`Finding::is_same`]), in `new`'s order: what an append introduces.
/// Linear in both (a hash of what makes findings the same).
pub fn introduced(old: &[Finding], new: Vec<Finding>) -> Vec<Finding> {
    let old: std::collections::HashSet<Identity<'_>> = old.iter().map(identity).collect();
    new.into_iter()
        .filter(|f| !old.contains(&identity(f)))
        .collect()
}

/// Every rule check of one issuer, in date order.
pub fn run(
    issuer: &IssuerState,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<Finding> {
    run_on(issuer, &live(issuer), None, calendar, now)
}

/// The issuer's live events (neither voided nor voids), in log order: what
/// [`run`] walks.
pub fn live(issuer: &IssuerState) -> Vec<&Recorded> {
    issuer.live_events().collect()
}

/// The rule checks of one issuer over the live events it is given
/// (`events`, in log order), in date order: with `from` `None`, every live
/// event of the issuer ([`run`]); with `from` a date, the live events whose
/// effective date is that day or later (a window read through the store's
/// day index), the rest of the history read from the state.
///
/// What a window gives: the checks that judge an event by what the state
/// holds of the days before it (10.06(1) from the mandate's usage per day,
/// 10.06(2)(a) from the closing prices, 10.06(2)(e) from the results
/// timetables, 10.06(3) from the repurchase days) judge every event of the
/// window as the whole run does; a mandate exceeded before `from` is not
/// reported again. The price cap's "could not run" warnings (from
/// `ClassState::on_exchange_repurchases`) and the Monthly Return's findings
/// (from the filings) are the whole run's. The NDDR's due dates are judged
/// from `from` on, threshold events counted from `from`: on a day with an
/// always-disclosed event (and on every day after it) that is the whole
/// run's count; before the first such day it may not be. The findings an
/// append introduces compare two runs over the same window
/// (`shareledger-ledger`'s append: see docs/performance.md, "The findings
/// of a tail append"), and only events appended after the issuer's latest
/// date, of the kinds that judge nothing before their own day, take that
/// path.
pub fn run_on(
    issuer: &IssuerState,
    events: &[&Recorded],
    from: Option<NaiveDate>,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<Finding> {
    debug_assert!(
        issuer.horizon().is_none(),
        "the rule checks judge a whole state, not one folded before {:?}",
        issuer.horizon()
    );
    let mut f = of_events(
        issuer,
        events,
        from,
        calendar,
        now,
        &mut NddrCarry::default(),
    );
    f.extend(of_state(issuer, calendar, now));
    in_order(f)
}

/// Where the whole run puts a finding: its date, then the check that found
/// it (in the order of [`run_on`]), then, for the price cap, its class (a
/// class's findings of events before its warning); findings with the same
/// key keep the order their check gave them.
type Key = (Option<NaiveDate>, u8, u32);

/// The keys' checks, in the order the whole run gives their findings.
const MANDATE: u8 = 0;
const PRICE_CAP: u8 = 1;
const BLACKOUT: u8 = 2;
const MORATORIUM: u8 = 3;
const NDDR: u8 = 4;
const MONTHLY: u8 = 5;

fn keyed(check: u8, sub: u32, findings: Vec<Finding>) -> impl Iterator<Item = (Key, Finding)> {
    findings.into_iter().map(move |f| ((f.date, check, sub), f))
}

/// A stable sort by key, the keys dropped.
fn in_order(mut f: Vec<(Key, Finding)>) -> Vec<Finding> {
    f.sort_by_key(|(k, _)| *k);
    f.into_iter().map(|(_, f)| f).collect()
}

/// The findings of `events` (each dated with its event), the Exchange's
/// approvals applied, keyed: what a window of days gives.
fn of_events(
    issuer: &IssuerState,
    events: &[&Recorded],
    from: Option<NaiveDate>,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
    nddr: &mut NddrCarry,
) -> Vec<(Key, Finding)> {
    let reps = repurchases(events);
    let mut f: Vec<(Key, Finding)> = Vec::new();
    f.extend(keyed(
        MANDATE,
        0,
        repurchase_mandate_10_06_1(issuer, &reps, from),
    ));
    f.extend(price_cap_parts(issuer, &reps, calendar, Parts::Events));
    f.extend(keyed(BLACKOUT, 0, blackout_10_06_2_e(issuer, &reps)));
    f.extend(keyed(MORATORIUM, 0, moratorium_10_06_3(issuer, events)));
    f.extend(keyed(
        NDDR,
        0,
        nddr_deadline(issuer, events, calendar, now, nddr),
    ));
    approved(issuer, f)
}

/// The findings of the state as a whole (the price cap's "could not run"
/// warnings, the Monthly Returns), the Exchange's approvals applied, keyed.
fn of_state(
    issuer: &IssuerState,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<(Key, Finding)> {
    let mut f: Vec<(Key, Finding)> = price_cap_parts(issuer, &[], calendar, Parts::Warnings);
    f.extend(keyed(
        MONTHLY,
        0,
        monthly_deadline_13_25b(issuer, calendar, now),
    ));
    approved(issuer, f)
}

fn approved(issuer: &IssuerState, mut f: Vec<(Key, Finding)>) -> Vec<(Key, Finding)> {
    apply_exchange_approvals(issuer, f.iter_mut().map(|(_, f)| f));
    f
}

/// The rule checks of one issuer run window after window of days, so that
/// only one window's events need be in memory: the findings of each window
/// ([`Windows::window`]) followed by those of [`Windows::finish`] are
/// [`run`]'s, finding for finding and in order. Each window is given the
/// live events of the issuer dated in it (in log order); the windows come
/// in date order and cover every date that has such an event. What a
/// window cannot read from the state is carried from one to the next (the
/// NDDR's count of threshold events since the last return); the findings
/// of the state as a whole (the price cap's "could not run" warnings, the
/// Monthly Returns) are worked out once and given with the window of their
/// date. Comparing two such runs window by window (the same windows) gives
/// what comparing two whole runs gives: a finding is the same as another
/// only on the same date ([`Finding::is_same`]).
pub struct Windows<'s> {
    issuer: &'s IssuerState,
    calendar: &'s BusinessCalendar,
    now: DateTime<FixedOffset>,
    nddr: NddrCarry,
    /// The findings of the state as a whole not yet given, in order.
    whole: std::collections::VecDeque<(Key, Finding)>,
}

impl<'s> Windows<'s> {
    pub fn new(
        issuer: &'s IssuerState,
        calendar: &'s BusinessCalendar,
        now: DateTime<FixedOffset>,
    ) -> Self {
        debug_assert!(
            issuer.horizon().is_none(),
            "the rule checks judge a whole state"
        );
        let mut whole = of_state(issuer, calendar, now);
        whole.sort_by_key(|(k, _)| *k);
        Windows {
            issuer,
            calendar,
            now,
            nddr: NddrCarry::default(),
            whole: whole.into(),
        }
    }

    /// The findings dated from `from` (`None`: the first window) until
    /// `until` (excluded; `None`: the last window), given `events`, the
    /// issuer's live events dated in that span, in log order.
    pub fn window(
        &mut self,
        events: &[&Recorded],
        from: Option<NaiveDate>,
        until: Option<NaiveDate>,
    ) -> Vec<Finding> {
        debug_assert!(events.iter().all(|r| {
            let d = r.event.effective_date();
            d.is_some_and(|d| from.is_none_or(|f| d >= f) && until.is_none_or(|u| d < u))
        }));
        let mut f = of_events(
            self.issuer,
            events,
            from,
            self.calendar,
            self.now,
            &mut self.nddr,
        );
        while let Some((k, _)) = self.whole.front() {
            if until.is_some_and(|u| k.0.is_some_and(|d| d >= u)) {
                break;
            }
            f.extend(self.whole.pop_front());
        }
        in_order(f)
    }

    /// The findings of the state as a whole dated after the last window.
    pub fn finish(self) -> Vec<Finding> {
        self.whole.into_iter().map(|(_, f)| f).collect()
    }
}

/// Whether an event appended at the end of its issuer's history (dated on
/// or after every live event of the issuer) is judged exactly by comparing
/// [`run_on`] before and after it over a window from its own day: it
/// changes no finding dated before that day, and what the checks need of
/// the days before (mandate usage, closing prices, repurchase days, results
/// timetables, filings, approvals) is in the state. The movements of shares
/// the NDDR always discloses and closing prices are; not the events that
/// change how earlier events are judged (mandates, results timetables,
/// filings, approvals, voids, definitions, settings, opening balances,
/// instruments, schemes), nor the threshold events whose NDDR count runs
/// from before the window.
pub fn judged_in_window(event: &Event) -> bool {
    match event {
        Event::SharesRepurchased(_)
        | Event::ClosingPrice(_)
        | Event::RepurchasedSharesCancelled(_)
        | Event::TreasurySharesSold(_)
        | Event::TreasurySharesTransferred(_)
        | Event::TreasurySharesCancelled(_) => true,
        Event::SharesIssued(_) => matches!(nddr_disclosure(event), Disclosure::Always),
        _ => false,
    }
}

/// Whether a rule check judges `event` itself, from the events it is
/// given (a repurchase, an issue or a sale or transfer of treasury shares,
/// an event the NDDR discloses), rather than through the state (mandates,
/// closing prices, results timetables, filings, approvals, …). An event
/// that is not can be left out of [`run_on`]'s window whatever its date.
pub fn judged_as_event(event: &Event) -> bool {
    matches!(
        event,
        Event::SharesRepurchased(_)
            | Event::SharesIssued(_)
            | Event::TreasurySharesSold(_)
            | Event::TreasurySharesTransferred(_)
    ) || !matches!(nddr_disclosure(event), Disclosure::Never)
}

/// A live repurchase: its record and its payload.
pub type Repurchase<'a> = (&'a Recorded, &'a shareledger_core::event::SharesRepurchased);

/// The Exchange's prior approvals and waivers (`exchange_approval_recorded`):
/// a finding of the approval's rule on an event it covers (its `covers`, or
/// by default every finding of that rule dated on the approval's date)
/// stays visible, as a warning saying it was approved: information, not a
/// breach. Rules are compared as written, spaces ignored ("10.06(3)").
pub fn apply_exchange_approvals<'f>(
    issuer: &IssuerState,
    findings: impl IntoIterator<Item = &'f mut Finding>,
) {
    let norm = |s: &str| s.split_whitespace().collect::<String>();
    for f in findings {
        let Some((_, approval)) = issuer.approvals().iter().find(|(_, a)| {
            norm(&a.rule) == norm(&f.rule)
                && match &a.covers {
                    Some(ids) => f.event.is_some_and(|e| ids.contains(&e)),
                    None => f.date == Some(a.date),
                }
        }) else {
            continue;
        };
        f.severity = Severity::Warning;
        f.message = format!(
            "approved by the Exchange on {}{} (information, not a breach): {}",
            fmt_date(approval.date),
            approval
                .reference
                .as_deref()
                .map(|r| format!(", {r}"))
                .unwrap_or_default(),
            f.message
        );
    }
}

fn fmt_date(d: NaiveDate) -> String {
    crate::dates::format_long_date(d, false)
}

/// "08:30 on 05 January 2022", Hong Kong time (chrono's `%H:%M on %d %B
/// %Y`, written without parsing a format string: one a finding).
fn fmt_time(t: DateTime<FixedOffset>) -> String {
    use chrono::Timelike;
    let local = t.with_timezone(&shareledger_core::calendar::hong_kong_offset());
    let mut out = format!("{:02}:{:02} on ", local.hour(), local.minute());
    crate::dates::push_long_date(&mut out, local.date_naive(), true);
    out
}

/// The repurchases of `events` in trade-date order (log order within a day).
pub fn repurchases<'a>(events: &[&'a Recorded]) -> Vec<Repurchase<'a>> {
    let mut v: Vec<Repurchase<'a>> = events
        .iter()
        .filter_map(|&r| match &r.event {
            Event::SharesRepurchased(e) => Some((r, e)),
            _ => None,
        })
        .collect();
    v.sort_by_key(|(_, e)| e.trade_date);
    v
}

// ---- 10.06(1): the repurchase mandate ---------------------------------------

/// Rule 10.06(1): a repurchase needs a mandate in force, and the shares
/// repurchased under a mandate may not exceed the number it authorises
/// (10.06(1)(c): at most 10% of the issued shares at the resolution). Applies
/// to issuers whose primary listing is on the Exchange. Every repurchase
/// counts against the mandate, whatever its method \[assumed\]; shares bought
/// before the ledger's history (`repurchased_before_ledger`) count too.
/// Within a day, repurchases count in log order. A mandate exceeded is one
/// breach, reported once, on the repurchase that crossed its limit (the
/// later repurchases under it are counted in the same finding, not each
/// reported again). A repurchase with no mandate in force is its own
/// breach. The count before each day is the register's
/// (`ClassState::mandate_usage`), the same the NDDR and `status` report.
/// `reps`: the live repurchases in trade-date order ([`repurchases`]);
/// those dated from `from` on only when it is given (a mandate exceeded on
/// a day before it was reported then, and is not again).
pub fn repurchase_mandate_10_06_1(
    issuer: &IssuerState,
    reps: &[Repurchase<'_>],
    from: Option<NaiveDate>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if !issuer.primary_listing() {
        return out;
    }
    // Per (class, mandate): shares used through the end of each trade date.
    let mut usage: HashMap<(&str, NaiveDate), BTreeMap<NaiveDate, u64>> = HashMap::new();
    // Per (class, mandate, trade date): used so far that day, in log order.
    let mut used: HashMap<(&str, NaiveDate, NaiveDate), u64> = HashMap::new();
    // Per (class, mandate) exceeded: the finding's index in `out`, the
    // mandate, the day of the repurchase that exceeded it and how many later
    // repurchases that day went beyond it too (those of later days are
    // counted from the register's repurchases per day).
    let mut breached: HashMap<(&str, NaiveDate), (usize, &Mandate, NaiveDate, u64)> =
        HashMap::new();
    // Mandates exceeded before `from`: their breach is not in `reps`.
    let mut breached_before: BTreeSet<(&str, NaiveDate)> = BTreeSet::new();
    for &(r, e) in reps {
        let Some(class) = issuer.class(&e.class) else {
            continue;
        };
        let Some(m) = class.mandate_in_force(e.trade_date) else {
            out.push(
                Finding::error(
                    "10.06(1)",
                    issuer.id(),
                    Some(e.trade_date),
                    format!(
                        "repurchase of {} class {} shares on {} with no repurchase mandate in force: record the mandate (repurchase_mandate_granted) if one was granted, else the repurchase needed shareholders' approval",
                        e.shares, e.class, fmt_date(e.trade_date)
                    ),
                )
                .by(r.id),
            );
            continue;
        };
        let by_day = usage
            .entry((class.id(), m.resolution_date))
            .or_insert_with(|| {
                let by_day: BTreeMap<NaiveDate, u64> = class
                    .mandate_usage(m)
                    .map(|(day, (_, any))| (day, any))
                    .collect();
                // Usage only grows: beyond the mandate through a day before
                // `from` with a repurchase under it, exceeded by then.
                if let Some((_, used)) = from.and_then(|f| by_day.range(..f).next_back()) {
                    if *used > m.authorised_or_default() {
                        breached_before.insert((class.id(), m.resolution_date));
                    }
                }
                by_day
            });
        let u = used
            .entry((class.id(), m.resolution_date, e.trade_date))
            .or_insert_with(|| {
                by_day
                    .range(..e.trade_date)
                    .next_back()
                    .map_or(m.repurchased_before_ledger.unwrap_or(0), |(_, n)| *n)
            });
        *u = u.saturating_add(e.shares);
        let authorised = m.authorised_or_default();
        if *u <= authorised || breached_before.contains(&(class.id(), m.resolution_date)) {
            continue;
        }
        match breached.get_mut(&(class.id(), m.resolution_date)) {
            Some((_, _, day, same_day)) => {
                if *day == e.trade_date {
                    *same_day += 1;
                }
            }
            None => {
                breached.insert(
                    (class.id(), m.resolution_date),
                    (out.len(), m, e.trade_date, 0),
                );
                out.push(
                    Finding::error(
                        "10.06(1)",
                        issuer.id(),
                        Some(e.trade_date),
                        format!(
                            "the repurchase of {} class {} shares on {} takes the shares repurchased under the mandate of {} to {}, {} beyond the {authorised} it authorises",
                            e.shares,
                            e.class,
                            fmt_date(e.trade_date),
                            fmt_date(m.resolution_date),
                            *u,
                            *u - authorised
                        ),
                    )
                    .by(r.id),
                );
            }
        }
    }
    // The later repurchases beyond a mandate, in its one finding: those of
    // its day counted above, and those of every later day under it (before
    // the next mandate's resolution, up to its expiry) from the register,
    // whatever `reps` holds.
    for ((class, _), (at, m, day, same_day)) in breached {
        let Some(class) = issuer.class(class) else {
            continue;
        };
        let (later, last) = match class.repurchases_under_after(m, day) {
            Some((n, last)) => (same_day + n, last),
            None if same_day > 0 => (same_day, day),
            None => continue,
        };
        let total = class.repurchased_under(m, last).1;
        if let Some(f) = out.get_mut(at) {
            f.message = format!(
                "{}; {later} later repurchase(s) under it, the last on {}, took the total to {total}",
                f.message,
                fmt_date(last)
            );
        }
    }
    out
}

// ---- 10.06(2)(a): the 5% price cap ---------------------------------------------

/// Rule 10.06(2)(a): no on-Exchange repurchase at a price 5% or more above the
/// average closing price of the 5 preceding trading days. The day's highest
/// price is compared, exactly (no rounding). The 5 closes are the latest
/// recorded before the trade date in the trade's currency, and must cover
/// every business day from the first of them to the trade date; otherwise
/// the check cannot run: one warning per class, not an error, counted from
/// the class's on-Exchange repurchases per day
/// (`ClassState::on_exchange_repurchases`: the whole history whatever
/// `reps` holds). `reps`: the repurchases to judge, in trade-date order
/// ([`repurchases`]).
pub fn price_cap_10_06_2_a(
    issuer: &IssuerState,
    reps: &[Repurchase<'_>],
    calendar: &BusinessCalendar,
) -> Vec<Finding> {
    price_cap_parts(issuer, reps, calendar, Parts::Both)
        .into_iter()
        .map(|(_, f)| f)
        .collect()
}

/// Which of the price cap's findings: those of the repurchases given, the
/// "could not run" warnings of the state, or both.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Events,
    Warnings,
    Both,
}

/// [`price_cap_10_06_2_a`]'s findings, keyed: per class in order, its
/// repurchases' findings, then its warning.
fn price_cap_parts(
    issuer: &IssuerState,
    reps: &[Repurchase<'_>],
    calendar: &BusinessCalendar,
    parts: Parts,
) -> Vec<(Key, Finding)> {
    let mut out = Vec::new();
    for (rank, class) in (0u32..).zip(issuer.classes().values()) {
        let key = |f: &Finding, warning: u32| (f.date, PRICE_CAP, rank * 2 + warning);
        for &(r, e) in reps.iter().filter(|_| parts != Parts::Warnings) {
            if e.class != class.id() || e.method_or_default() != Method::OnExchange {
                continue;
            }
            let Some(p) = e.prices() else {
                continue;
            };
            let Some(closes) = closes_before(class, e.trade_date, &p.currency, calendar) else {
                continue;
            };
            let sum: Decimal = closes.values().copied().sum();
            let n = Decimal::from(PRICE_CAP_TRADING_DAYS as u64);
            // highest ≥ average × (100 + 5) / 100, without dividing.
            let breach = p.highest.0 * n * Decimal::ONE_HUNDRED
                >= sum * Decimal::from(100 + PRICE_CAP_PERCENT);
            if breach {
                let avg = sum / n;
                let cap = avg * Decimal::from(100 + PRICE_CAP_PERCENT) / Decimal::ONE_HUNDRED;
                let f = Finding::error(
                        "10.06(2)(a)",
                        issuer.id(),
                        Some(e.trade_date),
                        format!(
                            "repurchase on {} at up to {} {} is 5% or more above the average close of the 5 preceding trading days ({} {}; 5% above it is {} {})",
                            fmt_date(e.trade_date),
                            p.currency,
                            p.highest,
                            p.currency,
                            avg.round_dp(4).normalize(),
                            p.currency,
                            cap.round_dp(4).normalize()
                        ),
                    )
                    .by(r.id);
                out.push((key(&f, 0), f));
            }
        }
        if parts == Parts::Events {
            continue;
        }
        // The repurchases the check could not run for: per day, those
        // without prices and those whose currency's closes are incomplete.
        let mut not_run = (0u64, None, None);
        // Of those, the repurchases recorded without their own prices.
        let mut unpriced = 0u64;
        for (day, count) in class.on_exchange_repurchases() {
            let n = count.unpriced
                + count
                    .priced
                    .iter()
                    .filter(|(c, _)| closes_before(class, *day, c, calendar).is_none())
                    .map(|(_, n)| n)
                    .sum::<u64>();
            if n > 0 {
                not_run.0 += n;
                not_run.1.get_or_insert(*day);
                not_run.2 = Some(*day);
                unpriced += count.unpriced;
            }
        }
        if let (n, Some(first), Some(last)) = not_run {
            let (first, last) = (&first, &last);
            let f = Finding::warning(
                "10.06(2)(a)",
                issuer.id(),
                Some(*last),
                format!(
                    "the 5% price cap check could not run for {} on-Exchange repurchase(s) of class {} ({}{}): {}",
                    n,
                    class.id(),
                    fmt_date(*first),
                    if first == last { String::new() } else { format!(" to {}", fmt_date(*last)) },
                    match unpriced {
                        0 => "record the closing prices (closing_price) of the 5 trading days before each".to_string(),
                        u if u == n => "record their prices (highest, lowest, total paid), and the closing prices (closing_price) of the 5 trading days before each".to_string(),
                        u => format!("{u} of them have no prices of their own (record them); for all, record the closing prices (closing_price) of the 5 trading days before each"),
                    }
                ),
            );
            out.push((key(&f, 1), f));
        }
    }
    out
}

/// The closes the price cap compares a repurchase on `trade_date` in
/// `currency` with: the latest [`PRICE_CAP_TRADING_DAYS`] recorded before
/// it in that currency, by date, when they cover every business day from
/// the first of them to the trade date; `None` when they do not (the check
/// cannot run).
fn closes_before(
    class: &shareledger_core::state::ClassState,
    trade_date: NaiveDate,
    currency: &shareledger_core::amount::Currency,
    calendar: &BusinessCalendar,
) -> Option<BTreeMap<NaiveDate, Decimal>> {
    let closes: BTreeMap<NaiveDate, Decimal> = class
        .closing_prices()
        .range(..trade_date)
        .rev()
        .filter(|(_, m)| m.currency == *currency)
        .take(PRICE_CAP_TRADING_DAYS)
        .map(|(d, m)| (*d, m.amount.0))
        .collect();
    let complete = closes.len() == PRICE_CAP_TRADING_DAYS
        && closes.keys().next().is_some_and(|first| {
            first
                .iter_days()
                .take_while(|d| *d < trade_date)
                .all(|d| !calendar.is_business_day(d) || closes.contains_key(&d))
        });
    complete.then_some(closes)
}

// ---- 10.06(2)(e): the blackout before results -------------------------------------

/// The results timetables in force: for each period, the latest record in
/// log order (a later `results_announcement_scheduled` for the same period,
/// e.g. with the announcement date, replaces the earlier one).
fn results_in_force(issuer: &IssuerState) -> Vec<&ResultsAnnouncementScheduled> {
    let mut out: Vec<&ResultsAnnouncementScheduled> = Vec::new();
    for res in issuer.results() {
        let key = res.period.trim().to_lowercase();
        match out
            .iter_mut()
            .find(|r| r.period.trim().to_lowercase() == key)
        {
            Some(slot) => *slot = res,
            None => out.push(res),
        }
    }
    out
}

pub use shareledger_core::rules::blackout_window;

/// Rule 10.06(2)(e): no repurchase from 30 days before the earlier of the
/// results board meeting and the publication deadline until the results are
/// announced (see [`blackout_window`]). Every method counts \[assumed\].
/// `reps`: the repurchases to judge, in trade-date order ([`repurchases`]).
pub fn blackout_10_06_2_e(issuer: &IssuerState, reps: &[Repurchase<'_>]) -> Vec<Finding> {
    let mut out = Vec::new();
    for res in results_in_force(issuer) {
        let (start, end) = blackout_window(res);
        // `reps` is in trade-date order: the window's repurchases, by bisection.
        let from = reps.partition_point(|(_, e)| e.trade_date < start);
        let to = reps.partition_point(|(_, e)| e.trade_date <= end);
        for (r, e) in &reps[from..to.max(from)] {
            out.push(
                Finding::error(
                    "10.06(2)(e)",
                    issuer.id(),
                    Some(e.trade_date),
                    format!(
                        "repurchase of {} class {} shares on {} falls in the blackout before the {} results: from {} (30 days before the {} on {}) {}",
                        e.shares,
                        e.class,
                        fmt_date(e.trade_date),
                        res.period,
                        fmt_date(start),
                        if res.board_meeting_date <= res.publication_deadline { "board meeting" } else { "publication deadline" },
                        fmt_date(res.board_meeting_date.min(res.publication_deadline)),
                        match res.announcement_date {
                            Some(a) => format!("to the announcement on {}", fmt_date(a)),
                            None => format!(
                                "until the results are announced (no announcement recorded; the deadline is {}: record announcement_date)",
                                fmt_date(res.publication_deadline)
                            ),
                        }
                    ),
                )
                .by(r.id),
            );
        }
    }
    out
}

// ---- 10.06(3): no new issue for 30 days after a repurchase -------------------------

/// Rule 10.06(3): no new issue of shares, and no sale or transfer of treasury
/// shares, for 30 days after a repurchase (any class, any method): an event
/// dated from the day after a repurchase to its "Up to" date (trade date + 30)
/// is an error. One dated on the repurchase day itself is a warning: it
/// breaks the rule only if it came after the repurchase that day, and the
/// ledger does not know the time of day. Carved out \[assumed\]: issues under
/// share schemes (option exercises, share awards), exercises of warrants and
/// conversions (the ledger assumes those instruments were outstanding before
/// the repurchase), issues under another arrangement recorded
/// (`instrument_issued`) on or before the repurchase, and transfers of
/// treasury shares to a share scheme. `events`: the live events to judge,
/// in log order; the repurchase days are the register's (every class's
/// `ClassState::repurchased`, the whole history).
pub fn moratorium_10_06_3(issuer: &IssuerState, events: &[&Recorded]) -> Vec<Finding> {
    let trade_dates: BTreeSet<NaiveDate> = issuer
        .classes()
        .values()
        .flat_map(|c| c.repurchased().keys().copied())
        .collect();
    let mut out = Vec::new();
    for &r in events {
        // An issue under another arrangement (a recorded instrument) is
        // carved out for the repurchases made on or after the arrangement's
        // date (it was in place before them): only earlier ones count
        // [assumed, as for warrants].
        let mut arranged: Option<NaiveDate> = None;
        let (date, what) = match &r.event {
            Event::SharesIssued(e) => {
                if matches!(
                    e.kind,
                    IssueKind::ShareOptionExercise
                        | IssueKind::ShareAward
                        | IssueKind::WarrantExercise
                        | IssueKind::Conversion
                ) {
                    continue;
                }
                arranged = exercised_instrument(issuer, e).map(|i| i.issued().date);
                (
                    e.date,
                    format!(
                        "issue of {} new class {} shares ({})",
                        e.shares,
                        e.class,
                        kind_name(e.kind)
                    ),
                )
            }
            Event::TreasurySharesSold(e) => (
                e.trade_date,
                format!("sale of {} class {} treasury shares", e.shares, e.class),
            ),
            Event::TreasurySharesTransferred(e) => {
                if e.scheme.is_some() {
                    continue;
                }
                (
                    e.date,
                    format!(
                        "transfer of {} class {} treasury shares ({})",
                        e.shares, e.class, e.purpose
                    ),
                )
            }
            _ => continue,
        };
        let window = moratorium_trade_dates(date);
        let until = arranged.map_or(window.end, |a| a.min(window.end));
        if let Some(t) = trade_dates
            .range(window.start..until.max(window.start))
            .next_back()
        {
            out.push(
                Finding::error(
                    "10.06(3)",
                    issuer.id(),
                    Some(date),
                    format!(
                        "{what} on {} is within 30 days after the repurchase of {} (no new issue up to {}): it needed the Exchange's prior approval",
                        fmt_date(date),
                        fmt_date(*t),
                        fmt_date(moratorium_end(*t))
                    ),
                )
                .by(r.id),
            );
        } else if trade_dates.contains(&date) && arranged.is_none() {
            out.push(
                Finding::warning(
                    "10.06(3)",
                    issuer.id(),
                    Some(date),
                    format!(
                        "{what} on {} is on the day of a repurchase: it breaks the 30-day moratorium if it came after the repurchase that day; check the order",
                        fmt_date(date)
                    ),
                )
                .by(r.id),
            );
        }
    }
    out
}

/// "scrip dividend": the kind as the log spells it, in words.
fn kind_name(kind: IssueKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_else(|| format!("{kind:?}"))
}

// ---- 13.25A: the Next Day Disclosure Return -------------------------------------------

/// The date from which filing obligations are judged, that date included:
/// the date of the issuer's first recorded filing (`None`: nothing filed yet).
pub fn judged_from(issuer: &IssuerState) -> Option<NaiveDate> {
    issuer.first_filing_date()
}

/// A filed NDDR and the events it disclosed: those dated after `previous`
/// (the latest return dated before it among those recorded before it, which
/// is the return its opening balance came from) up to its `date`.
struct FiledNddr {
    id: Uuid,
    date: NaiveDate,
    previous: Option<NaiveDate>,
    submitted: DateTime<FixedOffset>,
}

impl FiledNddr {
    fn discloses(&self, date: NaiveDate) -> bool {
        date <= self.date && self.previous.is_none_or(|p| p < date)
    }
}

fn filed_nddrs(issuer: &IssuerState) -> Vec<FiledNddr> {
    let f = issuer.filings();
    let previous = crate::nddr::previous_returns(f);
    f.iter()
        .zip(previous)
        .filter(|((_, x), _)| x.form == ReturnForm::Nddr)
        .map(|((id, x), previous)| FiledNddr {
            id: *id,
            date: x.date,
            previous,
            submitted: x.submitted_at,
        })
        .collect()
}

/// For each due date (in `dues`' order), the filed NDDR that discloses it
/// and was submitted first (the first of `filed` among those submitted at
/// the same time): what `filed.iter().filter(|f| f.discloses(d))
/// .min_by_key(|f| f.submitted)` gives, in one sweep of the dates in
/// order instead of a walk of every filing per date.
fn first_disclosing(filed: &[FiledNddr], dues: &[Due]) -> Vec<Option<usize>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut order: Vec<usize> = (0..dues.len()).collect();
    order.sort_by_key(|i| dues[*i].date);
    // The filings by where their window opens (`previous`; none first).
    let mut opening: Vec<usize> = (0..filed.len()).collect();
    opening.sort_by_key(|i| filed[*i].previous);
    let mut next = 0;
    // The windows opened so far, the first submitted on top; those closed
    // before the date are dropped when they come to the top (the dates only
    // grow, so a window closed stays closed).
    let mut open: BinaryHeap<Reverse<(DateTime<FixedOffset>, usize)>> = BinaryHeap::new();
    let mut out = vec![None; dues.len()];
    for i in order {
        let date = dues[i].date;
        while let Some(&f) = opening.get(next) {
            if filed[f].previous.is_some_and(|p| p >= date) {
                break;
            }
            open.push(Reverse((filed[f].submitted, f)));
            next += 1;
        }
        while let Some(Reverse((_, f))) = open.peek() {
            if filed[*f].date >= date {
                break;
            }
            open.pop();
        }
        out[i] = open.peek().map(|Reverse((_, f))| *f);
        debug_assert_eq!(
            out[i],
            filed
                .iter()
                .enumerate()
                .filter(|(_, f)| f.discloses(date))
                .min_by_key(|(_, f)| f.submitted)
                .map(|(k, _)| k)
        );
    }
    out
}

/// An NDDR that became due: the date of the event that made it due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub date: NaiveDate,
    pub event: Uuid,
    pub what: String,
}

/// The dates on which an NDDR became due, from `start` on (inclusive).
/// Threshold events (non-director option exercises, warrant exercises,
/// conversions, redemptions) accumulate per class since the last return;
/// they force a return on the day they reach 5% of the class's issued shares
/// (excluding treasury) before the first of them, and ride along, with the
/// count starting again, in a return an always-disclosed event forces (the
/// NDDR covers every class up to its date). `events`: the live events to
/// judge, in log order ([`live`]: all of them).
pub fn nddrs_due(issuer: &IssuerState, events: &[&Recorded], start: Option<NaiveDate>) -> Vec<Due> {
    nddrs_due_carried(issuer, events, start, &mut NddrCarry::default())
}

/// What [`nddrs_due`] has counted at the end of a window of days, for the
/// next: per class, the threshold events' shares accumulated since the
/// last return and the issued shares before the first of them; and the
/// latest return dated before the window's last day with events.
#[derive(Debug, Default, Clone)]
struct NddrCarry {
    acc: BTreeMap<String, (u64, u64)>,
    last_return: Option<NaiveDate>,
}

/// [`nddrs_due`] of the events of a window of days, from what the windows
/// before counted (`carry`, updated).
fn nddrs_due_carried<'a>(
    issuer: &IssuerState,
    events: &[&'a Recorded],
    start: Option<NaiveDate>,
    carry: &mut NddrCarry,
) -> Vec<Due> {
    let mut events: Vec<(NaiveDate, &'a Recorded)> = events
        .iter()
        .filter_map(|r| r.event.effective_date().map(|d| (d, *r)))
        .filter(|(d, _)| start.is_none_or(|s| *d >= s))
        .filter(|(_, r)| !matches!(nddr_disclosure(&r.event), Disclosure::Never))
        .collect();
    events.sort_by_key(|(d, _)| *d);
    let mut returns: Vec<NaiveDate> = issuer.filings().iter().map(|(_, f)| f.date).collect();
    returns.sort();

    let mut due = Vec::new();
    // Per class: (shares accumulated, issued shares before the first of them).
    let NddrCarry { acc, last_return } = carry;
    let mut i = 0;
    while i < events.len() {
        let date = events[i].0;
        let day: Vec<&Recorded> = events[i..]
            .iter()
            .take_while(|(d, _)| *d == date)
            .map(|(_, r)| *r)
            .collect();
        i += day.len();
        // A return filed with a closing date since disclosed what came before
        // (`returns` is sorted: the latest before `date`, by bisection).
        let lr = returns[..returns.partition_point(|d| *d < date)]
            .last()
            .copied();
        if lr != *last_return {
            acc.clear();
            *last_return = lr;
        }
        if let Some(r) = day
            .iter()
            .find(|r| matches!(nddr_disclosure(&r.event), Disclosure::Always))
        {
            due.push(Due {
                date,
                event: r.id,
                what: r.event.type_name().replace('_', " "),
            });
            acc.clear();
            continue;
        }
        for r in day {
            let Disclosure::Threshold(n) = nddr_disclosure(&r.event) else {
                continue;
            };
            let Some(class) = r.event.class().and_then(|c| issuer.class(c)) else {
                continue;
            };
            let entry = acc.entry(class.id().to_string()).or_insert_with(|| {
                let before = date.pred_opt().unwrap_or(date);
                let issued = class
                    .balances_as_of(before)
                    .map(|b| b.issued_excluding_treasury)
                    .unwrap_or(0);
                (0, issued)
            });
            entry.0 += n;
            let (sum, basis) = *entry;
            if basis > 0
                && u128::from(sum) * 100 >= u128::from(basis) * u128::from(NDDR_THRESHOLD_PERCENT)
            {
                due.push(Due {
                    date,
                    event: r.id,
                    what: format!(
                        "{sum} class {} shares issued or redeemed by option or warrant exercises, conversions or redemptions since the last return, 5% or more of {basis}",
                        class.id()
                    ),
                });
                acc.clear();
                break;
            }
        }
    }
    due
}

/// Rules 13.25A and 10.06(4)(a): an NDDR by 08:30 on the business day after
/// each disclosable event (see `nddrs_due`). An event is disclosed by a
/// filed NDDR whose date is on or after it and whose opening balance is
/// before it; the first such NDDR submitted decides whether it was on time.
/// A filed NDDR later than the deadline is an error dated with the event;
/// none at all, once the deadline has passed at `now`, too.
pub fn nddr_deadline_13_25a(
    issuer: &IssuerState,
    events: &[&Recorded],
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<Finding> {
    nddr_deadline(issuer, events, calendar, now, &mut NddrCarry::default())
}

/// [`nddr_deadline_13_25a`] of a window of days, the threshold events'
/// count carried from the window before ([`NddrCarry`]).
fn nddr_deadline(
    issuer: &IssuerState,
    events: &[&Recorded],
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
    carry: &mut NddrCarry,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let filed = filed_nddrs(issuer);
    let dues = nddrs_due_carried(issuer, events, judged_from(issuer), carry);
    let firsts = first_disclosing(&filed, &dues);
    for (due, first) in dues.into_iter().zip(firsts) {
        let deadline = calendar.nddr_deadline(due.date);
        let first = first.map(|k| &filed[k]);
        match first {
            Some(f) if f.submitted <= deadline => {}
            Some(f) => out.push(
                Finding::error(
                    "13.25A",
                    issuer.id(),
                    Some(due.date),
                    format!(
                        "the NDDR for {} ({}) was due by {} and was submitted at {} (the return of {})",
                        fmt_date(due.date),
                        due.what,
                        fmt_time(deadline),
                        fmt_time(f.submitted),
                        fmt_date(f.date)
                    ),
                )
                .by(f.id),
            ),
            None if now > deadline => out.push(
                Finding::error(
                    "13.25A",
                    issuer.id(),
                    Some(due.date),
                    format!(
                        "no NDDR recorded discloses {} ({}); it was due by {}: file it, then record it (return nddr --mark-filed)",
                        fmt_date(due.date),
                        due.what,
                        fmt_time(deadline)
                    ),
                )
                .by(due.event),
            ),
            None => {}
        }
    }
    out
}

// ---- 13.25B: the Monthly Return ---------------------------------------------------------

/// Rule 13.25B: a Monthly Return for every month, by 08:30 on the 5th
/// business day after the month's end, whether or not anything moved.
/// Judged for the months the core says are owed
/// (`IssuerState::first_monthly_return_owed`: from the month of the first
/// recorded filing, that month included; with no filing recorded, the months
/// ending after the earliest opening balance) — the same months `status`
/// lists (`rules::monthly_returns_due`). A month whose deadline is not past
/// at `now` is not judged.
pub fn monthly_deadline_13_25b(
    issuer: &IssuerState,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(first) = issuer.first_monthly_return_owed() else {
        return out;
    };
    // Per month end, the first Monthly Return submitted (the first recorded
    // among those submitted at the same time).
    let mut monthly: HashMap<NaiveDate, (Uuid, DateTime<FixedOffset>)> = HashMap::new();
    for (id, f) in issuer.filings() {
        if f.form != ReturnForm::Monthly {
            continue;
        }
        monthly
            .entry(f.date)
            .and_modify(|first| {
                if f.submitted_at < first.1 {
                    *first = (*id, f.submitted_at);
                }
            })
            .or_insert((*id, f.submitted_at));
    }
    for due in monthly_returns_due(first, now, calendar) {
        if !due.overdue(now) {
            break;
        }
        let (end, deadline) = (due.month_end, due.deadline);
        let first = monthly.get(&end).map(|(id, s)| (id, end, s));
        match first {
            Some((_, _, s)) if *s <= deadline => {}
            Some((id, _, s)) => out.push(
                Finding::error(
                    "13.25B",
                    issuer.id(),
                    Some(end),
                    format!(
                        "the Monthly Return for {} was due by {} and was submitted at {}",
                        end.format("%B %Y"),
                        fmt_time(deadline),
                        fmt_time(*s)
                    ),
                )
                .by(*id),
            ),
            None => out.push(Finding::error(
                "13.25B",
                issuer.id(),
                Some(end),
                format!(
                    "no Monthly Return is recorded for {}; it was due by {}: file it, then record it (return monthly --mark-filed)",
                    end.format("%B %Y"),
                    fmt_time(deadline)
                ),
            )),
        }
    }
    out
}
