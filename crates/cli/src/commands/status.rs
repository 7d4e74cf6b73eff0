//! `status --issuer ID [--now TIME]`: where an issuer stands today, per
//! class, and which returns are due next (`shareledger_ledger::status`),
//! as text for a person or as JSON.

use chrono::DateTime;
use clap::Args;
use shareledger_ledger::status::{Deadline, Filed, Overview, Status};
use shareledger_ledger::time::parse_time;
use shareledger_ledger::{default_threads, Engine};
use shareledger_returns::dates::thousands;

use crate::{CliError, ReportFormat, ReportFormatArg};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The issuer; without it, every issuer, most urgent first (a registrar's morning view).
    #[arg(long)]
    pub issuer: Option<String>,
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
  shareledger status
  shareledger status --issuer 02121
  shareledger status --issuer 02121 --now 2022-11-07T18:00:00+08:00
  shareledger status --issuer 02121 --format json

Per class: the balances today, the shares awaiting cancellation (per trade date), the
repurchase mandate used and left, and the moratorium after the last repurchase (no new
issue and no sale or transfer of treasury shares until then, rule 10.06(3)). Then the
returns due: an NDDR for each day with a disclosable event not yet covered by a filed
NDDR, and the Monthly Returns not yet filed, each with its deadline.
Without --issuer: every issuer's returns due, one line each, overdue first, then due soonest.";

pub fn run<S: Engine>(db: &std::path::Path, args: StatusArgs) -> Result<(), CliError> {
    let now = match args.now.as_deref() {
        Some(t) => parse_time("now", t)?,
        None => super::now(),
    };
    let ledger = super::open_to_read::<S>(db)?;
    let Some(issuer) = args.issuer.as_deref() else {
        match args.format.format {
            // The same array as one `serde_json::to_string_pretty` of every
            // status, written one issuer at a time.
            ReportFormat::Json => {
                let mut first = true;
                ledger.status_each(now, default_threads(), |s: Status| {
                    let one = serde_json::to_string_pretty(&s).map_err(|e| {
                        CliError::refused(format!("the status cannot be written: {e}"))
                    })?;
                    let mut text = String::from(if first { "[\n" } else { ",\n" });
                    first = false;
                    for (i, line) in one.lines().enumerate() {
                        if i > 0 {
                            text.push('\n');
                        }
                        text.push_str("  ");
                        text.push_str(line);
                    }
                    crate::out!("{text}")
                })?;
                crate::outln!("{}", if first { "[]" } else { "\n]" })?;
            }
            ReportFormat::Text => {
                let all = ledger.status_overview(now, default_threads())?;
                overview(&all, |text| crate::out!("{text}"))?
            }
        }
        return Ok(());
    };
    let status = ledger.status(issuer, now)?;
    match args.format.format {
        ReportFormat::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(&status)
                .map_err(|e| CliError::refused(format!("the status cannot be written: {e}")))?
        )?,
        ReportFormat::Text => crate::out!("{}", text(&status))?,
    }
    Ok(())
}

fn long(t: &str) -> String {
    DateTime::parse_from_rfc3339(t)
        .map(|t| long_at(&t))
        .unwrap_or_else(|_| t.to_string())
}

fn long_at(t: &DateTime<chrono::FixedOffset>) -> String {
    t.format("%H:%M %a %d %b %Y").to_string()
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

/// Every issuer's returns due, one line each, most urgent first, handed
/// to `write` a block of lines at a time (a registrar's store has as many
/// lines as returns due: the text is never held whole).
pub fn overview(
    all: &[Overview],
    mut write: impl FnMut(&str) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let Some(first) = all.first() else {
        return write("the ledger has no issuers yet\n");
    };
    let mut out = format!(
        "{} issuer{} — status at {} Hong Kong time, most urgent first\n\n",
        all.len(),
        if all.len() == 1 { "" } else { "s" },
        long(&first.now)
    );
    for s in all {
        let head = format!("{:<8} {}", s.issuer.id, s.issuer.name);
        if s.returns_due.is_empty() {
            out.push_str(&format!("{head}\n    nothing due\n"));
            continue;
        }
        out.push_str(&format!("{head}\n"));
        for r in &s.returns_due {
            out.push_str(&format!(
                "    {:<8} {:<8} {}  deadline {}\n",
                if r.overdue { "OVERDUE" } else { "due" },
                if r.form == "nddr" { "NDDR" } else { "Monthly" },
                r.date,
                match &r.deadline {
                    Deadline::At(t) => long_at(t),
                    Deadline::Text(t) => t.clone(),
                }
            ));
            if out.len() >= 1 << 16 {
                write(&out)?;
                out.clear();
            }
        }
    }
    write(&out)
}
