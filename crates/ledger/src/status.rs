//! The status of an issuer: where it stands today, per
//! class (balances, what awaits cancellation, the mandate used and left, the
//! moratorium), and which returns are due next with their deadlines.
//!
//! Deadlines follow the rule checks of `shareledger_returns::checks` (an
//! NDDR by 08:30 on the business day after each disclosable event not yet
//! covered by a filed NDDR; a Monthly Return by 08:30 on the 5th business
//! day after each month's end), so `status` and `audit` agree.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;
use shareledger_core::calendar::BusinessCalendar;
use shareledger_core::event::{Event, ReturnForm};
use shareledger_core::rules::{
    monthly_returns_due, moratorium_end, moratorium_in_force, nddr_disclosure, Disclosure, Month,
};
use shareledger_core::state::IssuerState;
use shareledger_returns::checks::{self, judged_from};
use shareledger_returns::dates::thousands;

use crate::time::hk;

#[derive(Debug, Clone, Serialize)]
pub struct IssuerRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct Balances {
    pub issued_excluding_treasury: u64,
    pub treasury: u64,
    pub total: u64,
    pub pending_cancellation: u64,
    pub authorised: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct PendingLine {
    pub trade_date: NaiveDate,
    pub shares: u64,
}

#[derive(Debug, Serialize)]
pub struct MandateStatus {
    pub resolution_date: NaiveDate,
    pub expiry_date: Option<NaiveDate>,
    pub authorised_shares: u64,
    /// Repurchased under it (by any method, those before the ledger included).
    pub used: u64,
    pub left: u64,
}

#[derive(Debug, Serialize)]
pub struct Moratorium {
    pub last_repurchase: NaiveDate,
    /// The last day of the moratorium (rule 10.06(3)).
    pub until: NaiveDate,
    pub in_force: bool,
}

#[derive(Debug, Serialize)]
pub struct ClassStatus {
    pub class: String,
    pub class_of_shares: String,
    pub opening_balance_date: Option<NaiveDate>,
    /// Null before the opening balance date.
    pub balances: Option<Balances>,
    pub pending_cancellation: Vec<PendingLine>,
    /// Null: no mandate in force.
    pub mandate: Option<MandateStatus>,
    /// Null: no repurchase recorded.
    pub moratorium: Option<Moratorium>,
}

#[derive(Debug, Serialize)]
pub struct ReturnDue {
    /// "nddr" or "monthly".
    pub form: &'static str,
    /// An NDDR: the event date; a Monthly Return: the month's last day.
    pub date: NaiveDate,
    pub deadline: String,
    pub overdue: bool,
    /// What makes it due.
    pub events: Vec<String>,
    /// The command that produces (and files) it.
    pub command: String,
    /// For an amended return: the id of the filing it corrects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amends: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Filed {
    pub date: NaiveDate,
    pub submitted_at: String,
}

#[derive(Debug, Serialize)]
pub struct LastFiled {
    pub nddr: Option<Filed>,
    pub monthly: Option<Filed>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub issuer: IssuerRef,
    pub as_of: NaiveDate,
    pub now: String,
    pub classes: Vec<ClassStatus>,
    pub returns_due: Vec<ReturnDue>,
    pub last_filed: LastFiled,
}

fn describe(event: &Event) -> String {
    let what = event.type_name().replace('_', " ");
    let shares = match event {
        Event::SharesRepurchased(e) => Some(e.shares),
        Event::RepurchasedSharesCancelled(e) => Some(e.shares),
        Event::SharesIssued(e) => Some(e.shares),
        Event::SharesRedeemed(e) => Some(e.shares),
        Event::TreasurySharesSold(e) => Some(e.shares),
        Event::TreasurySharesTransferred(e) => Some(e.shares),
        Event::TreasurySharesCancelled(e) => Some(e.shares),
        _ => None,
    };
    match (shares, event.class()) {
        (Some(n), Some(c)) => format!("{what}: {} class {c} shares", thousands(n)),
        _ => what,
    }
}

fn deadline_text(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339()
}

/// The status of `issuer` at `now`.
pub fn status(
    issuer: &IssuerState,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Status {
    let today = hk(&now).date_naive();
    let mut classes = Vec::new();
    for class in issuer.classes().values() {
        let balances = class.balances_as_of(today).map(|b| Balances {
            issued_excluding_treasury: b.issued_excluding_treasury,
            treasury: b.treasury,
            total: b.total(),
            pending_cancellation: b.pending_cancellation,
            authorised: class.authorised_as_of(today),
        });
        let pending = class
            .pending_lines_as_of(today)
            .into_iter()
            .map(|(trade_date, shares)| PendingLine { trade_date, shares })
            .collect();
        let mandate = class.mandate_in_force(today).map(|m| {
            let (_, used) = class.repurchased_under(m, today);
            let authorised = m.authorised_or_default();
            MandateStatus {
                resolution_date: m.resolution_date,
                expiry_date: m.expiry_date,
                authorised_shares: authorised,
                used,
                left: authorised.saturating_sub(used),
            }
        });
        let moratorium = class
            .repurchased()
            .range(..=today)
            .next_back()
            .map(|(d, _)| Moratorium {
                last_repurchase: *d,
                until: moratorium_end(*d),
                in_force: moratorium_in_force(*d, today),
            });
        classes.push(ClassStatus {
            class: class.id().to_string(),
            class_of_shares: class.definition().class_of_shares.clone(),
            opening_balance_date: class.opening().map(|o| o.date),
            balances,
            pending_cancellation: pending,
            mandate,
            moratorium,
        });
    }

    let filed = |form: ReturnForm| {
        issuer
            .filings()
            .iter()
            .filter(|(_, f)| f.form == form)
            .max_by_key(|(_, f)| (f.date, f.submitted_at))
            .map(|(_, f)| Filed {
                date: f.date,
                submitted_at: hk(&f.submitted_at).to_rfc3339(),
            })
    };
    let last_filed = LastFiled {
        nddr: filed(ReturnForm::Nddr),
        monthly: filed(ReturnForm::Monthly),
    };

    let mut returns_due = nddrs_due(issuer, calendar, now);
    returns_due.extend(monthlies_due(issuer, calendar, now));

    Status {
        issuer: IssuerRef {
            id: issuer.id().to_string(),
            name: issuer.name().to_string(),
        },
        as_of: today,
        now: hk(&now).to_rfc3339(),
        classes,
        returns_due,
        last_filed,
    }
}

/// An NDDR for each date on which one became due (as `audit` judges it,
/// `checks::nddrs_due`) after the last filed NDDR; threshold events below 5%
/// since then ride along with the last of them.
fn nddrs_due(
    issuer: &IssuerState,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<ReturnDue> {
    let covered = issuer
        .filings()
        .iter()
        .filter(|(_, f)| f.form == ReturnForm::Nddr)
        .map(|(_, f)| f.date)
        .max();
    let after = judged_from(issuer).max(covered);
    let is_new = |d: NaiveDate| after.is_none_or(|a| d > a);
    let due_dates: Vec<NaiveDate> =
        checks::nddrs_due(issuer, &checks::live(issuer), judged_from(issuer))
            .into_iter()
            .map(|d| d.date)
            .filter(|d| is_new(*d))
            .collect();
    let mut events: Vec<(NaiveDate, &Event)> = issuer
        .live_events()
        .filter_map(|r| r.event.effective_date().map(|d| (d, &r.event)))
        .filter(|(d, e)| is_new(*d) && nddr_disclosure(e) != Disclosure::Never)
        .collect();
    events.sort_by_key(|(d, _)| *d);

    // The events of each date, in date order (one pass: an issuer with a
    // long history has as many due dates as events).
    let mut by_date: std::collections::BTreeMap<NaiveDate, Vec<&Event>> = Default::default();
    for (d, e) in &events {
        by_date.entry(*d).or_default().push(e);
    }
    let mut due: Vec<ReturnDue> = due_dates
        .iter()
        .map(|&date| {
            let deadline = calendar.nddr_deadline(date);
            ReturnDue {
                form: "nddr",
                date,
                deadline: deadline_text(deadline),
                overdue: now > deadline,
                events: by_date
                    .get(&date)
                    .map(|es| es.iter().map(|e| describe(e)).collect())
                    .unwrap_or_default(),
                command: format!(
                    "shareledger return nddr --issuer {} --date {date} --mark-filed",
                    issuer.id()
                ),
                amends: None,
            }
        })
        .collect();
    // Threshold events below 5% ride along with the next NDDR.
    if let Some(last) = due.last_mut() {
        let due_dates: std::collections::BTreeSet<NaiveDate> = due_dates.iter().copied().collect();
        for (date, e) in events.iter().filter(|(d, _)| !due_dates.contains(d)) {
            last.events.push(format!(
                "with it, below the 5% threshold: {date} {}",
                describe(e)
            ));
        }
    }
    due
}

/// Every Monthly Return not filed, from the first month owed through the
/// current month (whose deadline is still ahead): the months and deadlines
/// of `rules::monthly_returns_due`, as `audit` judges them.
fn monthlies_due(
    issuer: &IssuerState,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<ReturnDue> {
    let Some(first) = issuer.first_monthly_return_owed() else {
        return Vec::new();
    };
    let filed: std::collections::HashSet<NaiveDate> = issuer
        .filings()
        .iter()
        .filter(|(_, f)| f.form == ReturnForm::Monthly)
        .map(|(_, f)| f.date)
        .collect();
    monthly_returns_due(first, now, calendar)
        .into_iter()
        .filter(|due| !filed.contains(&due.month_end))
        .map(|due| {
            let (end, Month { year: y, month: m }) = (due.month_end, due.month);
            ReturnDue {
                form: "monthly",
                date: end,
                deadline: deadline_text(due.deadline),
                overdue: due.overdue(now),
                events: vec![format!("the month of {}", end.format("%B %Y"))],
                command: format!(
                    "shareledger return monthly --issuer {} --month {y}-{m:02} --mark-filed",
                    issuer.id()
                ),
                amends: None,
            }
        })
        .collect()
}

/// How urgent an issuer's status is, for sorting a registrar's view (lower
/// first): an overdue return, then a return due, then nothing due; within
/// each, the earliest deadline first, then the issuer's id.
pub fn urgency(s: &Status) -> (u8, Option<DateTime<FixedOffset>>, String) {
    let deadline = |r: &ReturnDue| DateTime::parse_from_rfc3339(&r.deadline).ok();
    let overdue = s
        .returns_due
        .iter()
        .filter(|r| r.overdue)
        .filter_map(deadline)
        .min();
    let due = s.returns_due.iter().filter_map(deadline).min();
    match (overdue, due) {
        (Some(d), _) => (0, Some(d), s.issuer.id.clone()),
        (None, Some(d)) => (1, Some(d), s.issuer.id.clone()),
        (None, None) => (2, None, s.issuer.id.clone()),
    }
}

/// One issuer's lines of the registrar's view (`status` of every issuer as
/// text): what [`Status`] holds of the returns due that the view prints
/// and sorts by, and nothing else, so that every issuer's can be held at
/// once (a few dozen bytes per return due instead of its events, command
/// and texts).
#[derive(Debug, Clone)]
pub struct Overview {
    pub issuer: IssuerRef,
    /// [`Status::now`].
    pub now: String,
    pub returns_due: Vec<DueLine>,
}

/// One return due, as the registrar's view prints it.
#[derive(Debug, Clone)]
pub struct DueLine {
    /// "nddr" or "monthly".
    pub form: &'static str,
    pub date: NaiveDate,
    /// The deadline ([`ReturnDue::deadline`] read back).
    pub deadline: Deadline,
    pub overdue: bool,
}

/// A deadline as a time, or as written when it does not read as one
/// (never, for a deadline the ledger wrote).
#[derive(Debug, Clone)]
pub enum Deadline {
    At(DateTime<FixedOffset>),
    Text(String),
}

impl Overview {
    /// The lines of `s`.
    pub fn of(s: &Status) -> Self {
        Overview {
            issuer: IssuerRef {
                id: s.issuer.id.clone(),
                name: s.issuer.name.clone(),
            },
            now: s.now.clone(),
            returns_due: s
                .returns_due
                .iter()
                .map(|r| DueLine {
                    form: r.form,
                    date: r.date,
                    deadline: match DateTime::parse_from_rfc3339(&r.deadline) {
                        Ok(t) => Deadline::At(t),
                        Err(_) => Deadline::Text(r.deadline.clone()),
                    },
                    overdue: r.overdue,
                })
                .collect(),
        }
    }

    /// [`urgency`] of the status these lines were taken from.
    pub fn urgency(&self) -> (u8, Option<DateTime<FixedOffset>>, String) {
        let deadline = |r: &DueLine| match r.deadline {
            Deadline::At(t) => Some(t),
            Deadline::Text(_) => None,
        };
        let overdue = self
            .returns_due
            .iter()
            .filter(|r| r.overdue)
            .filter_map(deadline)
            .min();
        let due = self.returns_due.iter().filter_map(deadline).min();
        match (overdue, due) {
            (Some(d), _) => (0, Some(d), self.issuer.id.clone()),
            (None, Some(d)) => (1, Some(d), self.issuer.id.clone()),
            (None, None) => (2, None, self.issuer.id.clone()),
        }
    }
}

/// The amended returns due: one for each filing the log now contradicts
/// (`audit::amendments_due`), due at once (`now`), first in the list.
pub fn add_amendments(
    status: &mut Status,
    contradicted: &[crate::audit::Contradicted],
    now: DateTime<FixedOffset>,
) {
    let due: Vec<ReturnDue> = contradicted
        .iter()
        .map(|c| {
            let (form, what, command) = match c.filed.form {
                ReturnForm::Nddr => (
                    "nddr",
                    "NDDR",
                    format!(
                        "shareledger return nddr --issuer {} --date {} --mark-filed",
                        status.issuer.id, c.filed.date
                    ),
                ),
                ReturnForm::Monthly => (
                    "monthly",
                    "Monthly Return",
                    format!(
                        "shareledger return monthly --issuer {} --month {} --mark-filed",
                        status.issuer.id,
                        c.filed.date.format("%Y-%m")
                    ),
                ),
            };
            ReturnDue {
                form,
                date: c.filed.date,
                deadline: deadline_text(hk(&now)),
                overdue: false,
                events: vec![format!(
                    "{what} for {} must be filed again (amendment): the log no longer reproduces the return filed at log position {}",
                    c.filed.date, c.position
                )],
                command,
                amends: Some(c.id.to_string()),
            }
        })
        .collect();
    status.returns_due.splice(0..0, due);
}
