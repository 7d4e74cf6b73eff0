//! `import-trades FILE.csv --issuer ID --class C`: a broker's execution
//! report (or daily summary) read by `shareledger_ledger::import::broker_csv`
//! and recorded as `shares_repurchased` events in one transaction, or none
//! (docs/broker-csv.md). This module holds the flags and the printing, and
//! says a refusal in the words of the CSV (its rows and columns).

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use shareledger_core::event::Event;
use shareledger_ledger::import::broker_csv::{
    currency, events, method_name, money, parse, purpose_name, row_ranges, word, DateFormat,
    Defaults, Key, Layout,
};
use shareledger_ledger::log::{recorded_json, stored_json};
use shareledger_ledger::{AppendOptions, Engine, Lines};
use uuid::Uuid;

use super::{default_actor, now};
use crate::CliError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TradesFormat {
    /// A table of the events.
    Text,
    /// The events as stored, one JSON object a line.
    Json,
}

#[derive(Debug, Args)]
pub struct ImportTradesArgs {
    /// The broker's CSV file, or - for standard input.
    pub file: PathBuf,
    /// The issuer's id.
    #[arg(long)]
    pub issuer: String,
    /// The share class bought back.
    #[arg(long)]
    pub class: String,
    /// How the shares were bought, for rows without a `method` column.
    #[arg(long, default_value = "on_exchange", value_parser = ["on_exchange", "on-exchange", "other_exchange", "other-exchange", "private_arrangement", "private-arrangement", "general_offer", "general-offer"], hide_possible_values = true)]
    pub method: String,
    /// The other exchange's name, with --method other_exchange.
    #[arg(long)]
    pub exchange: Option<String>,
    /// What the shares are for, for rows without a `purpose` column.
    #[arg(long, default_value = "cancellation", value_parser = ["cancellation", "treasury"])]
    pub purpose: String,
    /// Currency of the prices, for rows without a `currency` column.
    #[arg(long, default_value = "HKD")]
    pub currency: String,
    /// How the file writes its dates: YYYY-MM-DD, DD/MM/YYYY (Hong Kong Excel) or MM/DD/YYYY.
    #[arg(long, default_value = "YYYY-MM-DD", value_parser = parse_date_format)]
    pub date_format: DateFormat,
    /// Columns of the broker's file to skip (comma-separated); any other unknown column is refused.
    #[arg(long, value_delimiter = ',', value_name = "COLUMN,...")]
    pub ignore_columns: Vec<String>,
    /// Check every row and show the events without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// Record a day's repurchases even though an equal one is already recorded (from another file).
    #[arg(long)]
    pub allow_duplicate: bool,
    /// Output: a table, or the events as JSON lines.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TradesFormat,
}

pub const AFTER_HELP: &str = "\
Examples:
  shareledger import-trades examples/trades-executions.csv --issuer 08888 --class ORD
  shareledger import-trades examples/trades-daily.csv --issuer 08888 --class ORD --dry-run
  shareledger import-trades fills.csv --issuer 08888 --class ORD --purpose treasury --ignore-columns broker,fee

Two layouts, told apart by the header row (names are case-insensitive):
  one row per execution:  date,shares,price            (total paid = sum of shares x price, exactly)
  one row per day:        date,shares,high,low,total
Optional columns: time, reference (kept out of the ledger), method, exchange, purpose,
currency (override the flags for their row). Dates are YYYY-MM-DD.
Rows are added up per trade date (and method, exchange, purpose, currency) into one
shares_repurchased event each. A bad row is refused with its row and column, and nothing
is written. Importing the same file again records nothing twice. See docs/broker-csv.md.";

/// A ledger message about an event's field, in the words of the CSV.
pub fn as_columns(message: &str, layout: Layout) -> String {
    let Some((before, rest)) = message.split_once("field `") else {
        return message.to_string();
    };
    let Some((field, after)) = rest.split_once('`') else {
        return message.to_string();
    };
    let name = match (field, layout) {
        ("trade_date", _) => "column `date`",
        ("shares", _) => "column `shares`",
        ("highest_price" | "lowest_price", Layout::Executions) => "column `price`",
        ("highest_price", Layout::Daily) => "column `high`",
        ("lowest_price", Layout::Daily) => "column `low`",
        ("total_paid", Layout::Executions) => "the total paid (shares × price)",
        ("total_paid", Layout::Daily) => "column `total`",
        ("class", _) => "--class",
        ("issuer", _) => "--issuer",
        ("exchange", _) => "--exchange (or column `exchange`)",
        ("method", _) => "--method (or column `method`)",
        ("currency", _) => "--currency (or column `currency`)",
        _ => return message.to_string(),
    };
    format!("{before}{name}{after}")
}

fn parse_date_format(s: &str) -> Result<DateFormat, String> {
    DateFormat::from_name(s).ok_or_else(|| {
        format!("`{s}`: give YYYY-MM-DD, DD/MM/YYYY (13/06/2025) or MM/DD/YYYY (06/13/2025)")
    })
}

pub fn run<S: Engine>(db: &Path, args: ImportTradesArgs) -> Result<(), CliError> {
    let defaults = Defaults {
        method: word(&args.method).expect("clap checked the method"),
        exchange: args.exchange.clone(),
        purpose: word(&args.purpose).expect("clap checked the purpose"),
        currency: currency(&args.currency)
            .map_err(|m| CliError::usage(format!("--currency: {m}")))?,
        date_format: args.date_format,
    };
    let parsed = if args.file.as_os_str() == "-" {
        let mut s = Vec::new();
        std::io::stdin().read_to_end(&mut s)?;
        parse(s.as_slice(), &defaults, &args.ignore_columns)?
    } else {
        let f = std::fs::File::open(&args.file).map_err(|e| {
            CliError::refused(format!(
                "cannot open {}: {e}: check the path",
                args.file.display()
            ))
        })?;
        parse(std::io::BufReader::new(f), &defaults, &args.ignore_columns)?
    };
    let events = events(&parsed, &args.issuer, &args.class)?;
    let (mut ledger, _scratch) = super::open_for_append::<S>(db, args.dry_run)?;

    // Repurchases already recorded on these days are added to, not replaced: say so.
    if let Ok(register) = ledger.load_issuer(&args.issuer, None) {
        let ids: std::collections::HashSet<Uuid> =
            events.iter().filter_map(|(_, i)| i.id).collect();
        if let Some(class) = register
            .issuer(&args.issuer)
            .and_then(|i| i.class(&args.class))
        {
            let days: std::collections::BTreeSet<NaiveDate> =
                events.iter().map(|(k, _)| k.date).collect();
            let issuer = register.issuer(&args.issuer).expect("loaded");
            for r in issuer.live_events() {
                if let Event::SharesRepurchased(e) = &r.event {
                    if e.class == class.id() && days.contains(&e.trade_date) && !ids.contains(&r.id)
                    {
                        crate::note!(
                            "note: class {} already has a repurchase of {} shares recorded on {} (log position {}); the rows of that day are added to it",
                            e.class,
                            e.shares,
                            e.trade_date,
                            r.position.map(|p| p.to_string()).unwrap_or_default()
                        )?;
                    }
                }
            }
        }
    }

    let keys: Vec<Key> = events.iter().map(|(k, _)| k.clone()).collect();
    let rows: Vec<Vec<u64>> = parsed.groups.values().map(|g| g.rows.clone()).collect();
    let lines: Lines = events
        .into_iter()
        .enumerate()
        .map(|(i, (_, inc))| (i + 1, inc))
        .collect();
    let options = AppendOptions {
        dry_run: args.dry_run,
        allow_duplicate: args.allow_duplicate,
        pipeline: None,
        keep_events: true,
        findings: true,
        ..AppendOptions::default()
    };
    let summary = ledger
        .append(lines, now(), &default_actor(), options)
        .map_err(|e| {
            // Line N is the N-th event: name its trade date and rows.
            let place = e
                .rejection()
                .and_then(|r| r.line.map(|n| (n, r.without_line())))
                .and_then(|(n, rest)| {
                    let i = n.checked_sub(1)?;
                    Some((keys.get(i)?, rows.get(i)?, rest))
                });
            match place {
                Some((k, r, rest)) => CliError::refused(format!(
                    "the trades of {} (row{} {}): {}; nothing was written",
                    k.date,
                    if r.len() == 1 { "" } else { "s" },
                    row_ranges(r),
                    as_columns(&rest, parsed.layout)
                )),
                None => CliError::from(e),
            }
        })?;

    match args.format {
        TradesFormat::Json => {
            for rec in &summary.events {
                let v = match rec.position {
                    Some(_) => match ledger.find_by_id(&rec.id.to_string())? {
                        Some(row) => stored_json(&row)?,
                        None => recorded_json(rec),
                    },
                    None => recorded_json(rec),
                };
                super::print_json_line(&v)?;
            }
        }
        TradesFormat::Text => {
            crate::outln!(
                "{:<10}  {:<14} {:<12} {:>14}  {:>10}  {:>10}  {:>20}  rows",
                "trade date",
                "method",
                "purpose",
                "shares",
                "highest",
                "lowest",
                "total paid"
            )?;
            for (key, g) in &parsed.groups {
                crate::outln!(
                    "{:<10}  {:<14} {:<12} {:>14}  {:>10}  {:>10}  {:>20}  {}",
                    key.date,
                    method_name(key.method),
                    purpose_name(key.purpose),
                    shareledger_returns::dates::thousands(g.shares),
                    g.high,
                    g.low,
                    format!("{} {}", key.currency, money(g.total)),
                    row_ranges(&g.rows)
                )?;
            }
        }
    }
    if !parsed.ignored.is_empty() {
        crate::note!("ignored columns: {}", parsed.ignored.join(", "))?;
    }
    let n = summary.appended;
    if n == 0 && summary.duplicates > 0 {
        crate::note!(
            "nothing new: {} event{} already recorded by an earlier import of these trades",
            summary.duplicates,
            if summary.duplicates == 1 {
                " was"
            } else {
                "s were"
            }
        )?;
        return Ok(());
    }
    let verb = if args.dry_run {
        "dry run: would record"
    } else {
        "recorded"
    };
    crate::note!(
        "{verb} {n} shares_repurchased event{} ({}){}{}",
        if n == 1 { "" } else { "s" },
        parsed.layout.describe(),
        if summary.duplicates > 0 {
            format!(
                "; {} already recorded by an earlier import, skipped",
                summary.duplicates
            )
        } else {
            String::new()
        },
        if args.dry_run {
            format!("; nothing written to {}", ledger.location())
        } else {
            match (summary.first_position, n) {
                (Some(p), n) if n > 0 => format!(
                    " at log position{} {p}{} in {}",
                    if n == 1 { "" } else { "s" },
                    if n > 1 {
                        format!("-{}", p + n as u64 - 1)
                    } else {
                        String::new()
                    },
                    ledger.location()
                ),
                _ => String::new(),
            }
        }
    )?;
    super::audit::print_findings(&summary.findings)?;
    Ok(())
}
