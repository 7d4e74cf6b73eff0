//! `status --issuer ID [--now TIME]`: where an issuer stands today, per
//! class (balances, what awaits cancellation, the mandate used and left, the
//! moratorium), and which returns are due next with their deadlines.
//!
//! Deadlines follow the rule checks of `shareledger_returns::checks` (an
//! NDDR by 08:30 on the business day after each disclosable event not yet
//! covered by a filed NDDR; a Monthly Return by 08:30 on the 5th business
//! day after each month's end), so `status` and `audit` agree.

use chrono::{DateTime, FixedOffset, NaiveDate};
use clap::Args;
use serde::Serialize;
use shareledger_core::calendar::BusinessCalendar;
use shareledger_core::event::{Event, ReturnForm};
use shareledger_core::rules::{
    monthly_returns_due, moratorium_end, moratorium_in_force, nddr_disclosure, Disclosure, Month,
};
use shareledger_core::state::IssuerState;
use shareledger_returns::checks::{self, judged_from};
use shareledger_returns::dates::thousands;

use crate::ledger::{self, hk};
use crate::{CliError, ReportFormat, ReportFormatArg};

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long)]
    pub issuer: String,
    /// Judge as at this time: its date gives the balances, and deadlines are
    /// overdue after it (RFC 3339, or a date: the end of that day; default now).
    /// Everything recorded counts, as in `audit --now`.
    #[arg(long)]
    pub now: Option<String>,
    #[command(flatten)]
    pub format: ReportFormatArg,
}

pub const AFTER_HELP: &str = "\
Examples:
  shareledger status --issuer 02121
  shareledger status --issuer 02121 --now 2022-11-07T18:00:00+08:00
  shareledger status --issuer 02121 --format json

Per class: the balances today, the shares awaiting cancellation (per trade date), the
repurchase mandate used and left, and the moratorium after the last repurchase (no new
issue and no sale or transfer of treasury shares until then, rule 10.06(3)). Then the
returns due: an NDDR for each day with a disclosable event not yet covered by a filed
NDDR, and the Monthly Returns not yet filed, each with its deadline.";

#[derive(Debug, Serialize)]
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

pub fn run(db: &std::path::Path, args: StatusArgs) -> Result<(), CliError> {
    let now = match args.now.as_deref() {
        Some(t) => ledger::parse_known_at(t).map_err(|e| CliError {
            message: e.message.replace("--known-at", "--now"),
            code: e.code,
        })?,
        None => super::now(),
    };
    let store = ledger::open_existing(db)?;
    let register = ledger::load_issuer(&store, &args.issuer, None)?;
    let issuer = register.issuer(&args.issuer).expect("loaded");
    let calendar = super::returns::calendar(&register);
    let status = status(issuer, &calendar, now);
    match args.format.format {
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&status).expect("serializes")
        ),
        ReportFormat::Text => print!("{}", text(&status)),
    }
    Ok(())
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
    let due_dates: Vec<NaiveDate> = checks::nddrs_due(issuer, judged_from(issuer))
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

    let mut due: Vec<ReturnDue> = due_dates
        .iter()
        .map(|&date| {
            let deadline = calendar.nddr_deadline(date);
            ReturnDue {
                form: "nddr",
                date,
                deadline: deadline_text(deadline),
                overdue: now > deadline,
                events: events
                    .iter()
                    .filter(|(d, _)| *d == date)
                    .map(|(_, e)| describe(e))
                    .collect(),
                command: format!(
                    "shareledger return nddr --issuer {} --date {date} --mark-filed",
                    issuer.id()
                ),
            }
        })
        .collect();
    // Threshold events below 5% ride along with the next NDDR.
    if let Some(last) = due.last_mut() {
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
    let filed: Vec<NaiveDate> = issuer
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
            }
        })
        .collect()
}

fn long(t: &str) -> String {
    DateTime::parse_from_rfc3339(t)
        .map(|t| t.format("%H:%M %a %d %b %Y").to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// The status as text for a person.
pub fn text(s: &Status) -> String {
    let mut out = format!(
        "{} {} — status on {} (at {} Hong Kong time)\n",
        s.issuer.id,
        s.issuer.name,
        s.as_of,
        long(&s.now)
    );
    for c in &s.classes {
        out.push_str(&format!(
            "\nClass {} ({}){}\n",
            c.class,
            c.class_of_shares,
            c.opening_balance_date
                .map(|d| format!(", history from the opening balance as at {d}"))
                .unwrap_or_else(|| ", no opening balance recorded yet".into())
        ));
        match &c.balances {
            Some(b) => {
                let row = |label: &str, v: String| format!("  {label:<30}{v:>16}\n");
                out.push_str(&row(
                    "issued (excluding treasury)",
                    thousands(b.issued_excluding_treasury),
                ));
                out.push_str(&row("treasury", thousands(b.treasury)));
                out.push_str(&row("total issued", thousands(b.total)));
                out.push_str(&row(
                    "authorised",
                    b.authorised.map(thousands).unwrap_or_else(|| "N/A".into()),
                ));
                out.push_str(&row(
                    "pending cancellation",
                    thousands(b.pending_cancellation),
                ));
                for p in &c.pending_cancellation {
                    out.push_str(&format!(
                        "    repurchased on {}{:>20}\n",
                        p.trade_date,
                        thousands(p.shares)
                    ));
                }
            }
            None => out.push_str(&format!(
                "  no balances on {}: the history starts later\n",
                s.as_of
            )),
        }
        match &c.mandate {
            Some(m) => out.push_str(&format!(
                "  mandate of {}: {} authorised, {} used, {} left{}\n",
                m.resolution_date,
                thousands(m.authorised_shares),
                thousands(m.used),
                thousands(m.left),
                m.expiry_date
                    .map(|d| format!(" (expires {d})"))
                    .unwrap_or_default()
            )),
            None => out.push_str(
                "  mandate: none in force (a repurchase now would break rule 10.06(1))\n",
            ),
        }
        match &c.moratorium {
            Some(m) if m.in_force => out.push_str(&format!(
                "  moratorium: until {} (last repurchase {}): no new issue, no sale or transfer of treasury shares\n",
                m.until, m.last_repurchase
            )),
            Some(m) => out.push_str(&format!(
                "  moratorium: ended {} (last repurchase {})\n",
                m.until, m.last_repurchase
            )),
            None => out.push_str("  moratorium: none (no repurchase recorded)\n"),
        }
    }
    out.push_str("\nReturns due\n");
    if s.returns_due.is_empty() {
        out.push_str("  none\n");
    }
    for r in &s.returns_due {
        let (form, period) = match r.form {
            "nddr" => ("NDDR", r.date.to_string()),
            _ => ("Monthly", r.date.format("%Y-%m").to_string()),
        };
        out.push_str(&format!(
            "  {form:<8}{period:<12}due {}{}\n",
            long(&r.deadline),
            if r.overdue { "  OVERDUE" } else { "" }
        ));
        for e in &r.events {
            out.push_str(&format!("            {e}\n"));
        }
        out.push_str(&format!("            {}\n", r.command));
    }
    let filed = |f: &Option<Filed>| match f {
        Some(f) => format!("{} (submitted {})", f.date, long(&f.submitted_at)),
        None => "none recorded".into(),
    };
    out.push_str(&format!(
        "\nLast filed: NDDR {}; Monthly Return {}\n",
        filed(&s.last_filed.nddr),
        filed(&s.last_filed.monthly)
    ));
    out
}
