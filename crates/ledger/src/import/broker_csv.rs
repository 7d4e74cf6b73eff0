//! A broker's execution
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
//! appended in one transaction ([`crate::append::append`]), or none.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;
use shareledger_core::amount::{ungroup_thousands, within_bounds, Amount, Currency};
use shareledger_core::event::{Event, Incoming, Method, Purpose, SharesRepurchased};
use uuid::Uuid;

use crate::error::{LedgerError, Rejection};

fn refused(message: String) -> LedgerError {
    let mut r = Rejection::input(message);
    r.kind = "broker_csv".into();
    r.into()
}

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

/// The two layouts a broker's file comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One row per execution: `date,shares,price`.
    Executions,
    /// One row per day: `date,shares,high,low,total`.
    Daily,
}

impl Layout {
    /// The layout in words, with its columns.
    pub fn describe(self) -> &'static str {
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
    /// How the `date` column is written.
    pub date_format: DateFormat,
}

/// How a broker's file writes its dates. ISO (2025-06-13) unless the user
/// says otherwise: 13/06/2025 and 06/13/2025 cannot be told apart in
/// general, so the day-first and month-first spellings are read only when
/// asked for, never guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateFormat {
    /// YYYY-MM-DD.
    #[default]
    Iso,
    /// DD/MM/YYYY (what Hong Kong Excel exports; also DD-MM-YYYY, D/M/YYYY).
    DayFirst,
    /// MM/DD/YYYY (also MM-DD-YYYY, M/D/YYYY).
    MonthFirst,
}

impl DateFormat {
    /// The spelling users give (`--date-format`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "YYYY-MM-DD" | "ISO" => Some(DateFormat::Iso),
            "DD/MM/YYYY" | "DD-MM-YYYY" => Some(DateFormat::DayFirst),
            "MM/DD/YYYY" | "MM-DD-YYYY" => Some(DateFormat::MonthFirst),
            _ => None,
        }
    }

    /// How it is written, for messages.
    pub fn name(self) -> &'static str {
        match self {
            DateFormat::Iso => "YYYY-MM-DD",
            DateFormat::DayFirst => "DD/MM/YYYY",
            DateFormat::MonthFirst => "MM/DD/YYYY",
        }
    }

    /// `text` read in this format: the whole cell, a real calendar date, a
    /// four-digit year; `/` or `-` between the parts of the day-first and
    /// month-first spellings.
    pub fn parse(self, text: &str) -> Option<NaiveDate> {
        let text = text.trim();
        match self {
            DateFormat::Iso => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
            DateFormat::DayFirst | DateFormat::MonthFirst => {
                let parts: Vec<&str> = text.split(['/', '-']).collect();
                let [a, b, y] = parts.as_slice() else {
                    return None;
                };
                let digits = |s: &str, max: usize| {
                    (!s.is_empty() && s.len() <= max && s.bytes().all(|c| c.is_ascii_digit()))
                        .then(|| s.parse::<u32>().ok())
                        .flatten()
                };
                let (a, b) = (digits(a, 2)?, digits(b, 2)?);
                let year = (y.len() == 4).then(|| digits(y, 4)).flatten()?;
                let (day, month) = match self {
                    DateFormat::DayFirst => (a, b),
                    _ => (b, a),
                };
                NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
            }
        }
    }

    /// 13 June 2025 as this format writes it, for examples.
    fn example(self) -> &'static str {
        match self {
            DateFormat::Iso => "2025-06-13",
            DateFormat::DayFirst => "13/06/2025",
            DateFormat::MonthFirst => "06/13/2025",
        }
    }
}

pub fn word<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(Value::String(
        s.trim().to_ascii_lowercase().replace(['-', ' '], "_"),
    ))
    .ok()
}

pub fn currency(s: &str) -> Result<String, String> {
    let c = s.trim().to_ascii_uppercase();
    c.parse::<Currency>().map(|_| c)
}

/// Read and aggregate a broker CSV. Errors name the row and the column.
pub fn parse(
    input: impl Read,
    defaults: &Defaults,
    ignore: &[String],
) -> Result<Parsed, LedgerError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| refused(format!("the header row cannot be read: {e}")))?
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
                    return Err(refused(format!(
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
        return Err(refused(format!(
            "row 1: the header `{}` is neither layout: one row per execution needs the columns date,shares,price; one row per day needs date,shares,high,low,total (docs/broker-csv.md)",
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    };
    for c in ["date", "shares"] {
        if !has(c) {
            return Err(refused(format!(
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
        return Err(refused(format!(
            "row 1: unknown {}: the known columns are date, shares, price (or high, low, total), method, exchange, purpose, currency, time, reference; \
             skip the others with --ignore-columns \"{}\" (a misspelt `purpose` or `currency` must not be passed over silently)",
            unknown.join(", "),
            names.join(",")
        )));
    }

    let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
    // Execution references seen: (reference, row).
    let mut references: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut rows = 0;
    for result in reader.records() {
        let record = result.map_err(|e| match e.position() {
            Some(p) => refused(format!(
                "row {}: cannot be read: {}",
                p.line(),
                csv_reason(&e)
            )),
            None => refused(format!("the file cannot be read: {e}")),
        })?;
        let row = record.position().map(|p| p.line()).unwrap_or_default();
        if record.iter().all(|c| c.is_empty()) {
            continue;
        }
        rows += 1;
        let cell = |c: &str| at.get(c).map(|i| (record.get(*i).unwrap_or(""), *i));
        let err = |c: &str, msg: String| {
            let i = at[c];
            refused(format!(
                "row {row}, column {} `{}`: {msg}; nothing was written",
                letter(i),
                &headers[i]
            ))
        };
        // Informative columns are not recorded, but a malformed one means
        // the row is not what it seems: refused, never passed over.
        if let Some((t, _)) = cell("time").filter(|(t, _)| !t.is_empty()) {
            let ok = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
                .iter()
                .any(|f| chrono::NaiveTime::parse_from_str(t, f).is_ok());
            if !ok {
                return Err(err(
                    "time",
                    format!("`{t}` is not a time of day written HH:MM:SS (00:00:00 to 23:59:59), like 10:31:05"),
                ));
            }
        }
        if let Some((r, _)) = cell("reference").filter(|(r, _)| !r.is_empty()) {
            if let Some(first) = references.insert(r.to_string(), row) {
                return Err(err(
                    "reference",
                    format!("`{r}` is also the reference of row {first}: a broker's file lists each execution once; remove the repeated row (nothing was written)"),
                ));
            }
        }
        let (date_text, _) = cell("date").expect("checked");
        let date = defaults.date_format.parse(date_text).ok_or_else(|| {
            let f = defaults.date_format;
            err(
                "date",
                match f {
                    DateFormat::Iso => format!(
                        "`{date_text}` is not a date written YYYY-MM-DD, like 2025-06-13 (day/month order is ambiguous, so the year comes first; for a file written 13/06/2025 give --date-format DD/MM/YYYY)"
                    ),
                    _ => format!(
                        "`{date_text}` is not a date written {}, like {}",
                        f.name(),
                        f.example()
                    ),
                },
            )
        })?;
        let (shares_text, _) = cell("shares").expect("checked");
        let shares: u64 = ungroup_thousands(shares_text)
            .filter(|d| !d.contains('.'))
            .and_then(|d| d.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                err(
                    "shares",
                    format!("`{shares_text}` is not a whole positive number of shares, like 4300"),
                )
            })?;
        let amount = |c: &str| -> Result<Decimal, LedgerError> {
            let (text, _) = cell(c).expect("column present");
            let a: Amount = ungroup_thousands(text)
                .ok_or_else(|| {
                    err(
                        c,
                        format!("`{text}` is not an exact decimal amount, like 21.55 or 92,569.50"),
                    )
                })?
                .parse()
                .map_err(|e: shareledger_core::amount::AmountError| err(c, e.to_string()))?;
            within_bounds(a.0).map_err(|e| err(c, e.to_string()))?;
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
                let (min, max) = match (
                    n.checked_mul(low).and_then(|a| a.checked_sub(Decimal::ONE)),
                    n.checked_mul(high)
                        .and_then(|b| b.checked_add(Decimal::ONE)),
                ) {
                    (Some(a), Some(b)) => (a, b),
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
            refused(format!(
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
        return Err(refused(
            "the file has a header but no rows: nothing to import".into(),
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
) -> Result<Vec<(Key, Incoming)>, LedgerError> {
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
            currency: Some(key.currency.parse().map_err(refused)?),
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
                allow_duplicate: false,
                event,
            },
        ));
    }
    Ok(out)
}

pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::OnExchange => "on_exchange",
        Method::OtherExchange => "other_exchange",
        Method::PrivateArrangement => "private_arrangement",
        Method::GeneralOffer => "general_offer",
    }
}

pub fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::Cancellation => "cancellation",
        Purpose::Treasury => "treasury",
    }
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
            date_format: DateFormat::Iso,
        }
    }

    #[test]
    fn dates_in_the_format_asked_for_and_only_that() {
        let dmy = DateFormat::DayFirst;
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(dmy.parse("13/06/2025"), d(2025, 6, 13));
        assert_eq!(dmy.parse("3/6/2025"), d(2025, 6, 3));
        assert_eq!(dmy.parse("03-06-2025"), d(2025, 6, 3));
        assert_eq!(DateFormat::MonthFirst.parse("06/13/2025"), d(2025, 6, 13));
        for bad in [
            "06/13/2025",
            "31/02/2025",
            "13/06/25",
            "2025-06-13",
            "13/06/2025x",
            "1/2",
            "",
            "+1/2/2025",
            "13/06/02025",
        ] {
            assert_eq!(dmy.parse(bad), None, "{bad}");
        }
        assert_eq!(DateFormat::Iso.parse("13/06/2025"), None);
        assert_eq!(DateFormat::from_name("dd/mm/yyyy"), Some(dmy));
        assert_eq!(DateFormat::from_name("YYYY/DD/MM"), None);
        // A day-first file, read as asked; the same file without the
        // format is refused, saying how to read it.
        let csv = "date,shares,price\n13/06/2025,100,21.5\n";
        let p = parse(
            csv.as_bytes(),
            &Defaults {
                date_format: dmy,
                ..defaults()
            },
            &[],
        )
        .unwrap();
        assert_eq!(
            p.groups.keys().next().unwrap().date,
            NaiveDate::from_ymd_opt(2025, 6, 13).unwrap()
        );
        let e = parse(csv.as_bytes(), &defaults(), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--date-format DD/MM/YYYY"), "{e}");
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
            e.to_string().contains("row 3, column C `price`"),
            "{}",
            e.to_string()
        );
        let csv = "date,shares,price\n07/11/2022,100,21.5\n";
        let e = parse(csv.as_bytes(), &defaults(), &[]).unwrap_err();
        assert!(
            e.to_string().contains("row 2, column A `date`"),
            "{}",
            e.to_string()
        );
        let csv = "date,shares,high,low,total\n2022-11-07,100,21.5,21.4,3000\n";
        let e = parse(csv.as_bytes(), &defaults(), &[]).unwrap_err();
        assert!(
            e.to_string().contains("row 2, column E `total`"),
            "{}",
            e.to_string()
        );
    }

    #[test]
    fn unknown_columns_are_refused_unless_ignored() {
        let csv = "date,shares,price,purpse\n2022-11-07,100,21.5,treasury\n";
        let e = parse(csv.as_bytes(), &defaults(), &[]).unwrap_err();
        assert!(
            e.to_string().contains("column D `purpse`"),
            "{}",
            e.to_string()
        );
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
