//! Rule checks: the ledger records facts, these judge them (domain.md
//! section 2, "what can happen but breaks a rule"). Each check is one
//! function named with its Main Board Rule; each finding names the rule, the
//! issuer, the effective date concerned and what to do.
//!
//! Deadlines are judged against `now`, which comes in as data. Filing
//! obligations are judged from the issuer's first recorded filing on: a
//! ledger started mid-life cannot know how its earlier returns were filed
//! (docs/decisions.md).

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use shareledger_core::calendar::BusinessCalendar;
use shareledger_core::event::{Event, IssueKind, Method, ReturnForm};
use shareledger_core::rules::{
    moratorium_end, BLACKOUT_DAYS, NDDR_THRESHOLD_PERCENT, PRICE_CAP_PERCENT,
    PRICE_CAP_TRADING_DAYS,
};
use shareledger_core::state::IssuerState;
use uuid::Uuid;

use crate::dates::month_end;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

/// Every rule check of one issuer.
pub fn run(
    issuer: &IssuerState,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<Finding> {
    let mut f = Vec::new();
    f.extend(repurchase_mandate_10_06_1(issuer));
    f.extend(moratorium_10_06_3(issuer));
    f.extend(blackout_10_06_2_e(issuer));
    f.extend(price_cap_10_06_2_a(issuer));
    f.extend(nddr_deadline_13_25a(issuer, calendar, now));
    f.extend(monthly_deadline_13_25b(issuer, calendar, now));
    f
}

fn fmt_date(d: NaiveDate) -> String {
    crate::dates::format_long_date(d, false)
}

/// Rule 10.06(1): a repurchase needs a mandate in force, and may not take the
/// shares repurchased under it beyond the number it authorises. Applies to
/// issuers whose primary listing is on the Exchange.
pub fn repurchase_mandate_10_06_1(issuer: &IssuerState) -> Vec<Finding> {
    let mut out = Vec::new();
    if !issuer.primary_listing {
        return out;
    }
    for r in issuer.live_events() {
        let Event::SharesRepurchased(e) = &r.event else {
            continue;
        };
        let Some(class) = issuer.class(&e.class) else {
            continue;
        };
        let Some(m) = class.mandate_in_force(e.trade_date) else {
            out.push(
                Finding::error(
                    "10.06(1)",
                    &issuer.id,
                    Some(e.trade_date),
                    format!(
                        "repurchase of {} class {} shares on {} with no repurchase mandate in force: record the mandate (repurchase_mandate_granted) if one was granted",
                        e.shares, e.class, fmt_date(e.trade_date)
                    ),
                )
                .by(r.id),
            );
            continue;
        };
        let (_, used) = class.repurchased_under(m, e.trade_date);
        let authorised = m.authorised_or_default();
        if used > authorised {
            out.push(
                Finding::error(
                    "10.06(1)",
                    &issuer.id,
                    Some(e.trade_date),
                    format!(
                        "repurchases under the mandate of {} reach {used} class {} shares by {}, beyond the {authorised} it authorises (by {})",
                        fmt_date(m.resolution_date),
                        e.class,
                        fmt_date(e.trade_date),
                        used - authorised
                    ),
                )
                .by(r.id),
            );
        }
    }
    out
}

/// Rule 10.06(3): no new issue, and no sale or transfer of treasury shares,
/// within 30 days after a repurchase. Carved out [assumed]: issues under share
/// schemes (option exercises, share awards), exercises of warrants and
/// conversions of instruments in issue before the repurchase, and transfers
/// of treasury shares to share schemes.
pub fn moratorium_10_06_3(issuer: &IssuerState) -> Vec<Finding> {
    let repurchases: Vec<(NaiveDate, String)> = issuer
        .live_events()
        .filter_map(|r| match &r.event {
            Event::SharesRepurchased(e) => Some((e.trade_date, e.class.clone())),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for r in issuer.live_events() {
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
                (
                    e.date,
                    format!("issue of {} new shares ({:?})", e.shares, e.kind).to_lowercase(),
                )
            }
            Event::TreasurySharesSold(e) => (
                e.trade_date,
                format!("sale of {} treasury shares", e.shares),
            ),
            Event::TreasurySharesTransferred(e) => {
                if e.scheme.is_some() {
                    continue;
                }
                (
                    e.date,
                    format!("transfer of {} treasury shares ({})", e.shares, e.purpose),
                )
            }
            _ => continue,
        };
        let last = repurchases
            .iter()
            .filter(|(t, _)| *t <= date && date <= moratorium_end(*t))
            .map(|(t, _)| *t)
            .max();
        if let Some(t) = last {
            out.push(
                Finding::error(
                    "10.06(3)",
                    &issuer.id,
                    Some(date),
                    format!(
                        "{what} on {} is within 30 days after the repurchase of {} (moratorium up to {})",
                        fmt_date(date),
                        fmt_date(t),
                        fmt_date(moratorium_end(t))
                    ),
                )
                .by(r.id),
            );
        }
    }
    out
}

/// Rule 10.06(2)(e): no repurchase from 30 days before the earlier of the
/// results board meeting and the publication deadline until the results are
/// announced (the deadline, while no announcement is recorded).
pub fn blackout_10_06_2_e(issuer: &IssuerState) -> Vec<Finding> {
    let mut out = Vec::new();
    for res in &issuer.results {
        let earlier = res.board_meeting_date.min(res.publication_deadline);
        let start = earlier - Days::new(BLACKOUT_DAYS);
        for r in issuer.live_events() {
            let Event::SharesRepurchased(e) = &r.event else {
                continue;
            };
            let inside = match res.announcement_date {
                Some(a) => e.trade_date >= start && e.trade_date < a,
                None => e.trade_date >= start && e.trade_date <= res.publication_deadline,
            };
            if inside {
                out.push(
                    Finding::error(
                        "10.06(2)(e)",
                        &issuer.id,
                        Some(e.trade_date),
                        format!(
                            "repurchase on {} falls in the blackout before the {} results: from {} {}",
                            fmt_date(e.trade_date),
                            res.period,
                            fmt_date(start),
                            match res.announcement_date {
                                Some(a) => format!("until the announcement on {}", fmt_date(a)),
                                None => format!("until the results are announced (deadline {})", fmt_date(res.publication_deadline)),
                            }
                        ),
                    )
                    .by(r.id),
                );
            }
        }
    }
    out
}

/// Rule 10.06(2)(a): no on-Exchange repurchase at a price 5% or more above the
/// average closing price of the 5 preceding trading days. Without 5 recorded
/// closing prices the check cannot run: a warning, not an error.
pub fn price_cap_10_06_2_a(issuer: &IssuerState) -> Vec<Finding> {
    let mut out = Vec::new();
    for class in issuer.classes.values() {
        let mut not_run: Vec<NaiveDate> = Vec::new();
        for r in issuer.live_events() {
            let Event::SharesRepurchased(e) = &r.event else {
                continue;
            };
            if e.class != class.id() || e.method_or_default() != Method::OnExchange {
                continue;
            }
            let Some(p) = e.prices() else {
                not_run.push(e.trade_date);
                continue;
            };
            let closes: Vec<_> = class
                .closing_prices
                .range(..e.trade_date)
                .rev()
                .take(PRICE_CAP_TRADING_DAYS)
                .filter(|(_, m)| m.currency == p.currency)
                .collect();
            if closes.len() < PRICE_CAP_TRADING_DAYS {
                not_run.push(e.trade_date);
                continue;
            }
            let avg: Decimal = closes.iter().map(|(_, m)| m.amount.0).sum::<Decimal>()
                / Decimal::from(PRICE_CAP_TRADING_DAYS as u64);
            let cap = avg * Decimal::from(100 + PRICE_CAP_PERCENT) / Decimal::from(100);
            if p.highest.0 >= cap {
                out.push(
                    Finding::error(
                        "10.06(2)(a)",
                        &issuer.id,
                        Some(e.trade_date),
                        format!(
                            "repurchase on {} at up to {} {} is 5% or more above the average close of the 5 preceding trading days ({} {}; cap {} {})",
                            fmt_date(e.trade_date),
                            p.currency,
                            p.highest,
                            p.currency,
                            avg.round_dp(4).normalize(),
                            p.currency,
                            cap.round_dp(4).normalize()
                        ),
                    )
                    .by(r.id),
                );
            }
        }
        if !not_run.is_empty() {
            out.push(Finding::warning(
                "10.06(2)(a)",
                &issuer.id,
                not_run.last().copied(),
                format!(
                    "the 5% price cap check could not run for {} on-Exchange repurchase(s) of class {}: record their prices and the closing prices of the 5 preceding trading days (closing_price)",
                    not_run.len(),
                    class.id()
                ),
            ));
        }
    }
    out
}

/// Whether an event forces an NDDR on its own [rule 13.25A(2)], rides along
/// only at the 5% threshold [13.25A(3)], or is not for the NDDR at all.
enum Disclosure {
    Always,
    Threshold(u64),
    Never,
}

fn disclosure(event: &Event) -> Disclosure {
    match event {
        Event::SharesIssued(e) => match e.kind {
            IssueKind::ShareOptionExercise if !e.by_director.unwrap_or(false) => {
                Disclosure::Threshold(e.shares)
            }
            IssueKind::WarrantExercise | IssueKind::Conversion => Disclosure::Threshold(e.shares),
            _ => Disclosure::Always,
        },
        Event::SharesRedeemed(e) => Disclosure::Threshold(e.shares),
        Event::SharesRepurchased(_)
        | Event::RepurchasedSharesCancelled(_)
        | Event::TreasurySharesSold(_)
        | Event::TreasurySharesTransferred(_)
        | Event::TreasurySharesCancelled(_) => Disclosure::Always,
        _ => Disclosure::Never,
    }
}

/// The date from which filing obligations are judged: the issuer's first
/// recorded filing (`None`: nothing filed yet, so everything is judged).
fn judged_from(issuer: &IssuerState) -> Option<NaiveDate> {
    issuer.filings.iter().map(|(_, f)| f.date).min()
}

/// Rules 13.25A and 10.06(4)(a): an NDDR by 08:30 on the business day after
/// each disclosable event; threshold events once they reach 5% of issued
/// shares since the last return, or with the next return.
pub fn nddr_deadline_13_25a(
    issuer: &IssuerState,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let start = judged_from(issuer);
    let mut nddrs: Vec<(NaiveDate, DateTime<FixedOffset>)> = issuer
        .filings
        .iter()
        .filter(|(_, f)| f.form == ReturnForm::Nddr)
        .map(|(_, f)| (f.date, f.submitted_at))
        .collect();
    nddrs.sort();
    let mut returns: Vec<NaiveDate> = issuer.filings.iter().map(|(_, f)| f.date).collect();
    returns.sort();

    // Dates on which an NDDR became due, with the event that made it due.
    let mut due: Vec<(NaiveDate, Uuid, String)> = Vec::new();
    let mut events: Vec<(NaiveDate, &shareledger_core::Recorded)> = issuer
        .live_events()
        .filter_map(|r| r.event.effective_date().map(|d| (d, r)))
        .collect();
    events.sort_by_key(|(d, _)| *d);
    let mut accumulated: u64 = 0;
    let mut last_reset: Option<NaiveDate> = None;
    for (date, r) in events {
        if start.is_some_and(|s| date <= s) {
            continue;
        }
        // A return filed since the last threshold event resets the count.
        let last_return = returns.iter().filter(|d| **d < date).max().copied();
        if last_return != last_reset {
            accumulated = 0;
            last_reset = last_return;
        }
        match disclosure(&r.event) {
            Disclosure::Always => due.push((date, r.id, r.event.type_name().replace('_', " "))),
            Disclosure::Threshold(n) => {
                accumulated += n;
                let class = r.event.class().and_then(|c| issuer.class(c));
                let issued = class
                    .and_then(|c| c.balances_as_of(date.pred_opt().unwrap_or(date)))
                    .map(|b| b.issued_excluding_treasury)
                    .unwrap_or(0);
                if issued > 0 && accumulated * 100 >= issued * NDDR_THRESHOLD_PERCENT {
                    due.push((
                        date,
                        r.id,
                        format!(
                            "{} shares issued or redeemed since the last return, reaching 5%",
                            accumulated
                        ),
                    ));
                    accumulated = 0;
                }
            }
            Disclosure::Never => {}
        }
    }
    due.dedup_by_key(|(d, _, _)| *d);
    for (date, id, what) in due {
        let deadline = calendar.nddr_deadline(date);
        let filing = nddrs.iter().find(|(d, _)| *d >= date);
        match filing {
            Some((_, submitted)) if *submitted <= deadline => {}
            Some((d, submitted)) => out.push(
                Finding::error(
                    "13.25A",
                    &issuer.id,
                    Some(date),
                    format!(
                        "the NDDR for {} ({what}) was due by {} and was submitted at {} (the return of {})",
                        fmt_date(date),
                        deadline.format("%H:%M on %d %B %Y"),
                        submitted.with_timezone(&deadline.timezone()).format("%H:%M on %d %B %Y"),
                        fmt_date(*d)
                    ),
                )
                .by(id),
            ),
            None if now > deadline => out.push(
                Finding::error(
                    "13.25A",
                    &issuer.id,
                    Some(date),
                    format!(
                        "no NDDR is recorded for {} ({what}); it was due by {}: file it, then record it (return nddr --mark-filed)",
                        fmt_date(date),
                        deadline.format("%H:%M on %d %B %Y")
                    ),
                )
                .by(id),
            ),
            None => {}
        }
    }
    out
}

/// Rule 13.25B: a Monthly Return for every month, by 08:30 on the 5th
/// business day after the month's end, whether or not anything moved.
pub fn monthly_deadline_13_25b(
    issuer: &IssuerState,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(start) = judged_from(issuer).or_else(|| {
        issuer
            .classes
            .values()
            .filter_map(|c| c.opening.as_ref().map(|o| o.date))
            .min()
    }) else {
        return out;
    };
    let monthly: Vec<(NaiveDate, DateTime<FixedOffset>)> = issuer
        .filings
        .iter()
        .filter(|(_, f)| f.form == ReturnForm::Monthly)
        .map(|(_, f)| (f.date, f.submitted_at))
        .collect();
    let (mut y, mut m) = (start.year(), start.month());
    loop {
        let Some(end) = month_end(y, m) else { break };
        let deadline = calendar.monthly_deadline(y, m);
        if deadline >= now {
            break;
        }
        // The month containing the start date is judged only if it ends after it.
        if end > start {
            match monthly.iter().filter(|(d, _)| *d == end).map(|(_, s)| *s).min() {
                Some(s) if s <= deadline => {}
                Some(s) => out.push(Finding::error(
                    "13.25B",
                    &issuer.id,
                    Some(end),
                    format!(
                        "the Monthly Return for {} was due by {} and was submitted at {}",
                        end.format("%B %Y"),
                        deadline.format("%H:%M on %d %B %Y"),
                        s.with_timezone(&deadline.timezone()).format("%H:%M on %d %B %Y")
                    ),
                )),
                None => out.push(Finding::error(
                    "13.25B",
                    &issuer.id,
                    Some(end),
                    format!(
                        "no Monthly Return is recorded for {}; it was due by {}: file it, then record it (return monthly --mark-filed)",
                        end.format("%B %Y"),
                        deadline.format("%H:%M on %d %B %Y")
                    ),
                )),
            }
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}
