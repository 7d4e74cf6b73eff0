//! `import-trades FILE.csv --issuer ID --class C`: a broker's execution
//! report (or daily summary) as `shares_repurchased` events, one per trade
//! date, method, exchange, purpose and currency: the highest and the lowest
//! price and the total paid, exactly (docs/broker-csv.md).
//!
//! Two layouts, told apart by the header:
//! * executions: `date,shares,price` (one row per execution; total paid is
//!   the exact sum of shares × price);
//! * daily: `date,shares,high,low,total` (one row per day, as the broker
//!   summed it).
//!
//! Every row is read and checked before anything is written; the events are
//! appended in one transaction (`ledger::append`), or none.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use rust_decimal::Decimal;
use serde_json::Value;
use shareledger_core::amount::{Amount, Currency};
use shareledger_core::event::{Event, Incoming, Method, Purpose, SharesRepurchased};
use uuid::Uuid;

use super::{default_actor, now};
use crate::ledger;
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
    /// Columns of the broker's file to skip (comma-separated); any other unknown column is refused.
    #[arg(long, value_delimiter = ',', value_name = "COLUMN,...")]
    pub ignore_columns: Vec<String>,
    /// Check every row and show the events without writing.
    #[arg(long)]
    pub dry_run: bool,
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

/// The columns the reader knows, with the names a broker may use for them.
const COLUMNS: &[(&str, &[&str])] = &[
    ("date", &["date", "trade_date", "trading_date"]),
    ("shares", &["shares", "quantity", "qty"]),
    ("price", &["price", "execution_price", "exec_price"]),
    ("high", &["high", "highest", "highest_price"]),
    ("low", &["low", "lowest", "lowest_price"]),
    ("total", &["total", "total_paid", "consideration"]),
    ("method", &["method"]),
    ("exchange", &["exchange"]),
    ("purpose", &["purpose"]),
    ("currency", &["currency", "ccy"]),
    ("time", &["time", "execution_time"]),
    (
        "reference",
        &["reference", "ref", "order_id", "execution_id"],
    ),
];

fn normalise(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

fn canonical(h: &str) -> Option<&'static str> {
    let n = normalise(h);
    COLUMNS
        .iter()
        .find(|(_, names)| names.contains(&n.as_str()))
        .map(|(c, _)| *c)
}

/// A spreadsheet column letter: 0 → A, 26 → AA.
fn letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Executions,
    Daily,
}

impl Layout {
    fn describe(self) -> &'static str {
        match self {
            Layout::Executions => "one row per execution (date,shares,price)",
            Layout::Daily => "one row per day (date,shares,high,low,total)",
        }
    }
}

/// The rows of one event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub date: NaiveDate,
    pub method: Method,
    pub exchange: Option<String>,
    pub purpose: Purpose,
    pub currency: String,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub shares: u64,
    pub high: Decimal,
    pub low: Decimal,
    pub total: Decimal,
    /// Spreadsheet row numbers (the header is row 1).
    pub rows: Vec<u64>,
}

/// What the file says, aggregated.
#[derive(Debug)]
pub struct Parsed {
    pub layout: Layout,
    pub groups: BTreeMap<Key, Group>,
    pub ignored: Vec<String>,
}

/// Defaults for rows without their own column.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub method: Method,
    pub exchange: Option<String>,
    pub purpose: Purpose,
    pub currency: String,
}

fn word<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(Value::String(
        s.trim().to_ascii_lowercase().replace(['-', ' '], "_"),
    ))
    .ok()
}

fn currency(s: &str) -> Result<String, String> {
    let c = s.trim().to_ascii_uppercase();
    c.parse::<Currency>().map(|_| c)
}

/// Read and aggregate a broker CSV. Errors name the row and the column.
pub fn parse(input: impl Read, defaults: &Defaults, ignore: &[String]) -> Result<Parsed, CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| CliError::refused(format!("the header row cannot be read: {e}")))?
        .clone();
    let ignore: Vec<String> = ignore.iter().map(|c| normalise(c)).collect();
    // Column index of each known column; unknown columns refused unless ignored.
    let mut at: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut ignored = Vec::new();
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if ignore.contains(&normalise(h)) {
            ignored.push(h.to_string());
            continue;
        }
        match canonical(h) {
            Some(c) => {
                if at.insert(c, i).is_some() {
                    return Err(CliError::refused(format!(
                        "row 1, column {} `{h}`: a second `{c}` column: keep one, or skip it with --ignore-columns \"{h}\"",
                        letter(i)
                    )));
                }
            }
            None if h.trim().is_empty() => unknown.push(format!("column {} (no name)", letter(i))),
            None => unknown.push(format!("column {} `{h}`", letter(i))),
        }
    }
    let has = |c: &str| at.contains_key(c);
    let layout = if has("price") && !has("high") && !has("low") && !has("total") {
        Layout::Executions
    } else if !has("price") && has("high") && has("low") && has("total") {
        Layout::Daily
    } else {
        return Err(CliError::refused(format!(
            "row 1: the header `{}` is neither layout: one row per execution needs the columns date,shares,price; one row per day needs date,shares,high,low,total (docs/broker-csv.md)",
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    };
    for c in ["date", "shares"] {
        if !has(c) {
            return Err(CliError::refused(format!(
                "row 1: no `{c}` column: {} needs it",
                layout.describe()
            )));
        }
    }
    if !unknown.is_empty() {
        let names: Vec<&str> = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !at.values().any(|j| j == i))
            .map(|(_, h)| h)
            .filter(|h| !ignore.contains(&normalise(h)))
            .collect();
        return Err(CliError::refused(format!(
            "row 1: unknown {}: the known columns are date, shares, price (or high, low, total), method, exchange, purpose, currency, time, reference; \
             skip the others with --ignore-columns \"{}\" (a misspelt `purpose` or `currency` must not be passed over silently)",
            unknown.join(", "),
            names.join(",")
        )));
    }

    let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
    let mut rows = 0;
    for result in reader.records() {
        let record = result.map_err(|e| match e.position() {
            Some(p) => CliError::refused(format!(
                "row {}: cannot be read: {}",
                p.line(),
                csv_reason(&e)
            )),
            None => CliError::refused(format!("the file cannot be read: {e}")),
        })?;
        let row = record.position().map(|p| p.line()).unwrap_or_default();
        if record.iter().all(|c| c.is_empty()) {
            continue;
        }
        rows += 1;
        let cell = |c: &str| at.get(c).map(|i| (record.get(*i).unwrap_or(""), *i));
        let err = |c: &str, msg: String| {
            let i = at[c];
            CliError::refused(format!(
                "row {row}, column {} `{}`: {msg}; nothing was written",
                letter(i),
                &headers[i]
            ))
        };
        let (date_text, _) = cell("date").expect("checked");
        let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d").map_err(|_| {
            err(
                "date",
                format!("`{date_text}` is not a date written YYYY-MM-DD, like 2025-06-13 (day/month order is ambiguous, so the year comes first)"),
            )
        })?;
        let (shares_text, _) = cell("shares").expect("checked");
        let shares: u64 = shares_text
            .replace([',', '_'], "")
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                err(
                    "shares",
                    format!("`{shares_text}` is not a whole positive number of shares, like 4300"),
                )
            })?;
        let amount = |c: &str| -> Result<Decimal, CliError> {
            let (text, _) = cell(c).expect("column present");
            let a: Amount = text.replace(',', "").parse().map_err(|_| {
                err(
                    c,
                    format!("`{text}` is not an exact decimal amount, like 21.55"),
                )
            })?;
            Ok(a.0)
        };
        let method = match cell("method").map(|(t, _)| t).filter(|t| !t.is_empty()) {
            Some(t) => word::<Method>(t).ok_or_else(|| {
                err(
                    "method",
                    format!("`{t}` is not a method: use on_exchange, other_exchange, private_arrangement or general_offer"),
                )
            })?,
            None => defaults.method,
        };
        let purpose = match cell("purpose").map(|(t, _)| t).filter(|t| !t.is_empty()) {
            Some(t) => word::<Purpose>(t).ok_or_else(|| {
                err(
                    "purpose",
                    format!("`{t}` is not a purpose: use cancellation or treasury"),
                )
            })?,
            None => defaults.purpose,
        };
        let exchange = match cell("exchange").map(|(t, _)| t).filter(|t| !t.is_empty()) {
            Some(t) => Some(t.to_string()),
            None => defaults.exchange.clone(),
        };
        let currency = match cell("currency").map(|(t, _)| t).filter(|t| !t.is_empty()) {
            Some(t) => currency(t).map_err(|m| err("currency", m))?,
            None => defaults.currency.clone(),
        };
        let (high, low, total) = match layout {
            Layout::Executions => {
                let price = amount("price")?;
                if price.is_zero() {
                    return Err(err("price", "a price of zero: check the row".into()));
                }
                let paid = Decimal::from(shares)
                    .checked_mul(price)
                    .ok_or_else(|| err("price", "shares × price is too large to hold".into()))?;
                (price, price, paid)
            }
            Layout::Daily => {
                let (high, low, total) = (amount("high")?, amount("low")?, amount("total")?);
                if low > high {
                    return Err(err(
                        "low",
                        format!("the low {low} is above the high {high}"),
                    ));
                }
                let n = Decimal::from(shares);
                let (min, max) = match (n.checked_mul(low), n.checked_mul(high)) {
                    (Some(a), Some(b)) => (a - Decimal::ONE, b + Decimal::ONE),
                    _ => return Err(err("high", "shares × price is too large to hold".into())),
                };
                if total < min || total > max {
                    return Err(err(
                        "total",
                        format!(
                            "{total} lies outside {shares} shares × [{low}, {high}] = [{}, {}] (tolerance one unit of the currency): check it against the broker's confirmation",
                            min + Decimal::ONE,
                            max - Decimal::ONE
                        ),
                    ));
                }
                (high, low, total)
            }
        };
        let key = Key {
            date,
            method,
            exchange,
            purpose,
            currency,
        };
        let too_large = || {
            CliError::refused(format!(
                "row {row}: the day's totals are too large to hold; nothing was written"
            ))
        };
        match groups.get_mut(&key) {
            Some(g) => {
                g.shares = g.shares.checked_add(shares).ok_or_else(too_large)?;
                g.high = g.high.max(high);
                g.low = g.low.min(low);
                g.total = g.total.checked_add(total).ok_or_else(too_large)?;
                g.rows.push(row);
            }
            None => {
                groups.insert(
                    key,
                    Group {
                        shares,
                        high,
                        low,
                        total,
                        rows: vec![row],
                    },
                );
            }
        }
    }
    if rows == 0 {
        return Err(CliError::refused(
            "the file has a header but no rows: nothing to import",
        ));
    }
    Ok(Parsed {
        layout,
        groups,
        ignored,
    })
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "it has {len} cells where the header has {expected_len}: check for a stray comma, or quote a value that holds one (\"4,300\")"
        ),
        csv::ErrorKind::Utf8 { .. } => {
            "it is not UTF-8 text: save the file as CSV UTF-8".to_string()
        }
        _ => e.to_string(),
    }
}

/// Row numbers as ranges: "2-4, 7".
pub fn row_ranges(rows: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let start = rows[i];
        let mut end = start;
        while i + 1 < rows.len() && rows[i + 1] == end + 1 {
            end += 1;
            i += 1;
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(", ")
}

/// A ledger message about an event's field, in the words of the CSV.
fn as_columns(message: &str, layout: Layout) -> String {
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

/// An amount with thousands separators: 2341000.00 → 2,341,000.00.
pub fn money(d: Decimal) -> String {
    let s = d.to_string();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), format!(".{f}")),
        None => (s.clone(), String::new()),
    };
    let digits: Vec<char> = int.chars().collect();
    let mut out = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*c);
    }
    out + &frac
}

/// The namespace of import-trades ids: the same trades give the same id, so
/// importing a file again is a no-op.
const NAMESPACE: Uuid = Uuid::from_u128(0x5b1e_d6e2_8f0c_4a57_9d43_7c1f_26a0_b8e4);

/// The events of the parsed groups.
pub fn events(
    parsed: &Parsed,
    issuer: &str,
    class: &str,
) -> Result<Vec<(Key, Incoming)>, CliError> {
    let mut out = Vec::new();
    for (key, g) in &parsed.groups {
        let event = Event::SharesRepurchased(SharesRepurchased {
            issuer: issuer.to_string(),
            class: class.to_string(),
            trade_date: key.date,
            shares: g.shares,
            method: Some(key.method),
            exchange: key.exchange.clone(),
            purpose: Some(key.purpose),
            currency: Some(key.currency.parse().map_err(CliError::refused)?),
            highest_price: Some(Amount(g.high)),
            lowest_price: Some(Amount(g.low)),
            total_paid: Some(Amount(g.total)),
        });
        let note = match parsed.layout {
            Layout::Executions => format!(
                "import-trades: {} execution{} from a broker report",
                g.rows.len(),
                if g.rows.len() == 1 { "" } else { "s" }
            ),
            Layout::Daily => "import-trades: a broker's daily summary".to_string(),
        };
        let id = Uuid::new_v5(
            &NAMESPACE,
            format!("{}\n{note}", event.to_value()).as_bytes(),
        );
        out.push((
            key.clone(),
            Incoming {
                id: Some(id),
                recorded_at: None,
                actor: None,
                note: Some(note),
                event,
            },
        ));
    }
    Ok(out)
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::OnExchange => "on_exchange",
        Method::OtherExchange => "other_exchange",
        Method::PrivateArrangement => "private_arrangement",
        Method::GeneralOffer => "general_offer",
    }
}

fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::Cancellation => "cancellation",
        Purpose::Treasury => "treasury",
    }
}

pub fn run(db: &Path, args: ImportTradesArgs) -> Result<(), CliError> {
    let defaults = Defaults {
        method: word(&args.method).expect("clap checked the method"),
        exchange: args.exchange.clone(),
        purpose: word(&args.purpose).expect("clap checked the purpose"),
        currency: currency(&args.currency)
            .map_err(|m| CliError::usage(format!("--currency: {m}")))?,
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
    let (mut store, _scratch) = super::open_for_append(db, args.dry_run)?;

    // Repurchases already recorded on these days are added to, not replaced: say so.
    if let Ok(register) = ledger::load_issuer(&store, &args.issuer, None) {
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
                        eprintln!(
                            "note: class {} already has a repurchase of {} shares recorded on {} (log position {}); the rows of that day are added to it",
                            e.class,
                            e.shares,
                            e.trade_date,
                            r.position.map(|p| p.to_string()).unwrap_or_default()
                        );
                    }
                }
            }
        }
    }

    let keys: Vec<Key> = events.iter().map(|(k, _)| k.clone()).collect();
    let rows: Vec<Vec<u64>> = parsed.groups.values().map(|g| g.rows.clone()).collect();
    let lines: ledger::Lines = events
        .into_iter()
        .enumerate()
        .map(|(i, (_, inc))| (i + 1, inc))
        .collect();
    let summary = ledger::append(&mut store, lines, now(), &default_actor(), args.dry_run)
        .map_err(|e| {
            // "line N: ..." is the N-th event: name its trade date and rows.
            let msg = match e
                .message
                .strip_prefix("line ")
                .and_then(|r| r.split_once(": "))
            {
                Some((n, rest)) => match n
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| keys.get(n - 1).zip(rows.get(n - 1)))
                {
                    Some((k, r)) => format!(
                        "the trades of {} (row{} {}): {}; nothing was written",
                        k.date,
                        if r.len() == 1 { "" } else { "s" },
                        row_ranges(r),
                        as_columns(rest, parsed.layout)
                    ),
                    None => e.message.clone(),
                },
                None => e.message.clone(),
            };
            CliError {
                message: msg,
                code: e.code,
            }
        })?;

    match args.format {
        TradesFormat::Json => {
            for rec in &summary.appended {
                let v = match rec.position {
                    Some(_) => match store.find_by_id(&rec.id.to_string())? {
                        Some(row) => super::stored_json(&row)?,
                        None => super::recorded_json(rec),
                    },
                    None => super::recorded_json(rec),
                };
                super::print_json_line(&v);
            }
        }
        TradesFormat::Text => {
            println!(
                "{:<10}  {:<14} {:<12} {:>14}  {:>10}  {:>10}  {:>20}  rows",
                "trade date", "method", "purpose", "shares", "highest", "lowest", "total paid"
            );
            for (key, g) in &parsed.groups {
                println!(
                    "{:<10}  {:<14} {:<12} {:>14}  {:>10}  {:>10}  {:>20}  {}",
                    key.date,
                    method_name(key.method),
                    purpose_name(key.purpose),
                    shareledger_returns::dates::thousands(g.shares),
                    g.high,
                    g.low,
                    format!("{} {}", key.currency, money(g.total)),
                    row_ranges(&g.rows)
                );
            }
        }
    }
    if !parsed.ignored.is_empty() {
        eprintln!("ignored columns: {}", parsed.ignored.join(", "));
    }
    let n = summary.appended.len();
    if n == 0 && summary.duplicates > 0 {
        eprintln!(
            "nothing new: {} event{} already recorded by an earlier import of these trades",
            summary.duplicates,
            if summary.duplicates == 1 {
                " was"
            } else {
                "s were"
            }
        );
        return Ok(());
    }
    let verb = if args.dry_run {
        "dry run: would record"
    } else {
        "recorded"
    };
    eprintln!(
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
            format!("; nothing written to {}", db.display())
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
                    db.display()
                ),
                _ => String::new(),
            }
        }
    );
    if args.dry_run {
        super::audit::print_findings_of(&store, &summary.appended, true)?;
    } else {
        super::audit::print_new_findings(&store, &summary.appended)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            method: Method::OnExchange,
            exchange: None,
            purpose: Purpose::Cancellation,
            currency: "HKD".into(),
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn executions_add_up_exactly_per_day() {
        let csv = "Date,Time,Shares,Price\n\
                   2022-11-07,09:30,1000,21.55\n\
                   2022-11-07,10:00,\"3,300\",21.35\n\
                   2022-11-08,09:30,100,0.1\n\
                   2022-11-08,09:31,200,0.2\n";
        let p = parse(csv.as_bytes(), &defaults(), &[]).unwrap();
        assert_eq!(p.layout, Layout::Executions);
        let g: Vec<&Group> = p.groups.values().collect();
        assert_eq!(g[0].shares, 4300);
        assert_eq!(g[0].high, d("21.55"));
        assert_eq!(g[0].low, d("21.35"));
        assert_eq!(g[0].total, d("92005.00"));
        assert_eq!(g[0].rows, vec![2, 3]);
        // 100 × 0.1 + 200 × 0.2 = 50 exactly (no float).
        assert_eq!(g[1].total, d("50.0"));
    }

    #[test]
    fn daily_rows_and_purposes_are_kept_apart() {
        let csv = "date,shares,high,low,total,purpose\n\
                   2024-07-05,4300,21.55,21.35,92569,\n\
                   2024-07-05,1000,21.50,21.40,21450,treasury\n";
        let p = parse(csv.as_bytes(), &defaults(), &[]).unwrap();
        assert_eq!(p.layout, Layout::Daily);
        assert_eq!(p.groups.len(), 2);
        let ev = events(&p, "02121", "H").unwrap();
        let Event::SharesRepurchased(e) = &ev[0].1.event else {
            panic!()
        };
        assert_eq!(e.total_paid, Some(Amount(d("92569"))));
        // The same trades give the same id.
        assert_eq!(ev[0].1.id, events(&p, "02121", "H").unwrap()[0].1.id);
    }

    #[test]
    fn bad_cells_name_row_and_column() {
        let csv = "date,shares,price\n2022-11-07,100,21.5\n2022-11-07,100,21.5x\n";
        let e = parse(csv.as_bytes(), &defaults(), &[]).unwrap_err();
        assert!(
            e.message.contains("row 3, column C `price`"),
            "{}",
            e.message
        );
        let csv = "date,shares,price\n07/11/2022,100,21.5\n";
        let e = parse(csv.as_bytes(), &defaults(), &[]).unwrap_err();
        assert!(
            e.message.contains("row 2, column A `date`"),
            "{}",
            e.message
        );
        let csv = "date,shares,high,low,total\n2022-11-07,100,21.5,21.4,3000\n";
        let e = parse(csv.as_bytes(), &defaults(), &[]).unwrap_err();
        assert!(
            e.message.contains("row 2, column E `total`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_columns_are_refused_unless_ignored() {
        let csv = "date,shares,price,purpse\n2022-11-07,100,21.5,treasury\n";
        let e = parse(csv.as_bytes(), &defaults(), &[]).unwrap_err();
        assert!(e.message.contains("column D `purpse`"), "{}", e.message);
        let csv = "date,shares,price,broker\n2022-11-07,100,21.5,X\n";
        let p = parse(csv.as_bytes(), &defaults(), &["broker".into()]).unwrap();
        assert_eq!(p.ignored, vec!["broker"]);
    }

    #[test]
    fn letters_and_ranges() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
        assert_eq!(row_ranges(&[2, 3, 4, 7, 9, 10]), "2-4, 7, 9-10");
        assert_eq!(money(d("2341000.00")), "2,341,000.00");
        assert_eq!(money(d("999")), "999");
        assert_eq!(money(d("1000.5")), "1,000.5");
    }
}
