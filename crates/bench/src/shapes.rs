//! The shapes of files users produce, for `shareledger-bench commands`: a
//! registrar's daily file (many issuers, interleaved day by day) and one
//! issuer with a long history (many executions a day), written as JSON lines
//! in the import format (interchange.md section 1) without `id` or
//! `recorded_at` (the ledger draws both when it imports them).
//!
//! What the generator respects (the ledger's rules as they are):
//!
//! * every repurchase is on-Exchange and dated on a trading day of the
//!   Exchange: no weekend, no Hong Kong general holiday
//!   (`shareledger_core::calendar`), no market closure of the `$market`
//!   stream the file starts with;
//! * every date is in the past: the history starts on 3 January 2022 and
//!   [`Shape::write`] refuses a history that would reach today;
//! * no two events of one issuer are identical (the double-entry rule): the
//!   k-th repurchase of a day has its own (shares, total paid);
//! * each year's repurchases are under a `repurchase_mandate_granted` of
//!   that year (resolution on its first trading day, expiry 31 December),
//!   and they stay well within its 10% (rule 10.06(1)); nothing is issued,
//!   so no moratorium (rule 10.06(3)) is ever at stake;
//! * prices are complete and `total_paid` lies within shares × [lowest,
//!   highest].
//!
//! [`Filing::All`] files an NDDR the evening of every repurchase day and
//! each Monthly Return on the first day of the next month (the audit then
//! finds little: one price-cap warning per issuer, as no closing prices are
//! recorded); [`Filing::FirstMonthOnly`] files only the first Monthly Return,
//! so from then on every NDDR and Monthly Return is owed and missing (many
//! findings).

use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{Datelike, Days, NaiveDate};
use serde_json::json;
use shareledger_core::calendar::{month_end, BusinessCalendar};

use crate::gen::Generator;

/// Which returns the file files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filing {
    /// Every NDDR and every Monthly Return.
    All,
    /// Only the first Monthly Return: most returns never filed.
    FirstMonthOnly,
}

/// `issuers` issuers, each with `repurchases` on-Exchange repurchases,
/// `per_day` of them on each trading day, interleaved day by day.
#[derive(Debug, Clone)]
pub struct Shape {
    pub issuers: usize,
    /// Index of the first issuer (ids are `20001 + index`).
    pub first: usize,
    pub repurchases: usize,
    pub per_day: usize,
    pub filing: Filing,
}

/// What a written file holds, for the commands run on it.
#[derive(Debug, Clone)]
pub struct Written {
    pub events: u64,
    /// The last trading day of the history (a repurchase day).
    pub last_day: NaiveDate,
    /// The last whole month of the history, "YYYY-MM".
    pub last_full_month: String,
}

/// The first day of the histories.
pub fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 3).expect("valid date")
}

/// The Exchange's trading days as the generator (and the file's `$market`
/// stream) knows them.
pub fn calendar() -> BusinessCalendar {
    let mut c = BusinessCalendar::new();
    for (date, _) in crate::gen::CLOSURES {
        c.add_market_closure(date.parse().expect("valid date"));
    }
    c
}

/// Issuer `i`'s id.
pub fn issuer_id(i: usize) -> String {
    format!("{:05}", 20001 + i)
}

/// Cents as a decimal string: 995 → "9.95".
fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// splitmix64, seeded per issuer: the same file every run.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Shape {
    /// Write the file (`only`: the lines of that one issuer index and the
    /// `$market` stream, for the store of one issuer alone; `market`: start
    /// with the `$market` stream's closures). `today` bounds every date.
    pub fn write(
        &self,
        path: &Path,
        only: Option<usize>,
        market: bool,
        today: NaiveDate,
    ) -> std::io::Result<Written> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut events = 0u64;
        let mut line = |out: &mut BufWriter<std::fs::File>, v: serde_json::Value| {
            events += 1;
            serde_json::to_writer(&mut *out, &v)?;
            out.write_all(b"\n")
        };
        if market {
            for l in Generator::market_lines_static() {
                let v: serde_json::Value = serde_json::from_str(&l)?;
                line(&mut out, v)?;
            }
        }
        let range: Vec<usize> = match only {
            Some(i) => vec![i],
            None => (self.first..self.first + self.issuers).collect(),
        };
        let mut issued: Vec<u64> = Vec::with_capacity(range.len());
        let mut rng: Vec<u64> = Vec::with_capacity(range.len());
        for &i in &range {
            let id = issuer_id(i);
            let mut seed = 0xC0FF_EE00 + i as u64;
            let shares = 4_000_000_000 + (next(&mut seed) % 500_000_000) / 100 * 100;
            issued.push(shares);
            rng.push(seed);
            line(
                &mut out,
                json!({"type": "issuer_registered", "issuer": id,
                       "name": format!("Synthetic Registrar Client {id} Limited"),
                       "description": "(incorporated in Bermuda with limited liability)",
                       "signatory": {"name": "Chan Tai Man", "title": "Company Secretary"}}),
            )?;
            line(
                &mut out,
                json!({"type": "share_class_defined", "issuer": id, "class": "H",
                       "class_of_shares": "Ordinary shares", "type_of_shares": "H",
                       "stock_code": id, "par_value": {"currency": "HKD", "amount": "0.10"},
                       "authorised_shares": 5_000_000_000u64}),
            )?;
            line(
                &mut out,
                json!({"type": "opening_balance", "issuer": id, "class": "H",
                       "date": "2021-12-31", "issued_shares": shares}),
            )?;
        }
        let cal = calendar();
        let mut day = start();
        let mut done = 0usize;
        let mut year = 0;
        let mut month: Option<(i32, u32)> = None;
        let mut last_day = day;
        let mut first_monthly = true;
        let mut last_full_month = String::new();
        while done < self.repurchases {
            if !cal.is_business_day(day) {
                day = day + Days::new(1);
                continue;
            }
            if day >= today {
                return Err(std::io::Error::other(format!(
                    "{} repurchases at {} a day run past today ({today}): use fewer",
                    self.repurchases, self.per_day
                )));
            }
            let m = (day.year(), day.month());
            if let Some(prev) = month.filter(|p| *p != m) {
                self.monthly(&mut out, &mut line, &range, prev, &mut first_monthly)?;
                last_full_month = format!("{}-{:02}", prev.0, prev.1);
            }
            month = Some(m);
            if day.year() != year {
                year = day.year();
                for (k, &i) in range.iter().enumerate() {
                    line(
                        &mut out,
                        json!({"type": "repurchase_mandate_granted", "issuer": issuer_id(i),
                               "class": "H", "resolution_date": day.to_string(),
                               "issued_shares_at_resolution": issued[k],
                               "expiry_date": format!("{year}-12-31")}),
                    )?;
                }
            }
            let today_n = self.per_day.min(self.repurchases - done);
            for (k, &i) in range.iter().enumerate() {
                let id = issuer_id(i);
                for j in 0..today_n {
                    let (shares, paid) = if self.per_day == 1 {
                        let s = 10_000 + (next(&mut rng[k]) % 40_000) / 100 * 100;
                        (s, s * 995)
                    } else {
                        // Unique per day: 9 lot sizes × a cent more per round.
                        let s = 100 * (1 + (j % 9) as u64);
                        (s, s * 980 + (j / 9) as u64)
                    };
                    line(
                        &mut out,
                        json!({"type": "shares_repurchased", "issuer": id, "class": "H",
                               "trade_date": day.to_string(), "shares": shares,
                               "method": "on_exchange", "purpose": "cancellation",
                               "currency": "HKD", "highest_price": "10.10",
                               "lowest_price": "9.80", "total_paid": money(paid)}),
                    )?;
                }
                if self.filing == Filing::All {
                    line(
                        &mut out,
                        json!({"type": "return_filed", "issuer": id, "form": "nddr",
                               "date": day.to_string(),
                               "submitted_at": format!("{day}T19:00:00+08:00")}),
                    )?;
                }
            }
            done += today_n;
            last_day = day;
            day = day + Days::new(1);
        }
        if let Some(prev) = month {
            if month_end(prev.0, prev.1).is_some_and(|e| e < today) {
                self.monthly(&mut out, &mut line, &range, prev, &mut first_monthly)?;
            }
        }
        out.flush()?;
        drop(out);
        Ok(Written {
            events,
            last_day,
            last_full_month,
        })
    }

    /// The Monthly Returns of month `m` (all of them, or only the first
    /// month's under [`Filing::FirstMonthOnly`]).
    fn monthly<F>(
        &self,
        out: &mut BufWriter<std::fs::File>,
        line: &mut F,
        range: &[usize],
        m: (i32, u32),
        first: &mut bool,
    ) -> std::io::Result<()>
    where
        F: FnMut(&mut BufWriter<std::fs::File>, serde_json::Value) -> std::io::Result<()>,
    {
        if self.filing == Filing::FirstMonthOnly && !*first {
            return Ok(());
        }
        *first = false;
        let end = month_end(m.0, m.1).expect("valid month");
        for &i in range {
            line(
                out,
                json!({"type": "return_filed", "issuer": issuer_id(i), "form": "monthly",
                       "date": end.to_string(),
                       "submitted_at": format!("{}T10:00:00+08:00", end + Days::new(1))}),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shareledger_ledger::{self as ledger, AppendOptions};
    use shareledger_store::Store;

    /// Append `text`'s lines through the ledger (what `shareledger import`
    /// does): every line accepted, or the refusal.
    fn import(text: &str) -> Result<usize, String> {
        let dir = std::env::temp_dir().join(format!(
            "shareledger-bench-shapes-{}-{}",
            std::process::id(),
            Uuid::now_v7()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut store = Store::open(&dir.join("t.db")).map_err(|e| e.to_string())?;
        let lines: ledger::Lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| shareledger_core::event::parse_line(l).map(|e| (i + 1, e)))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{e:?}"))?;
        let n = lines.len();
        let r = ledger::append::append(
            &mut store,
            lines,
            chrono::Utc::now().fixed_offset(),
            "test",
            AppendOptions::dry_run(false),
        );
        let _ = std::fs::remove_dir_all(&dir);
        r.map(|_| n).map_err(|e| e.to_string())
    }

    use uuid::Uuid;

    fn write(shape: &Shape, only: Option<usize>, market: bool) -> (String, Written) {
        let path = std::env::temp_dir().join(format!("shapes-{}.jsonl", Uuid::now_v7()));
        let today = chrono::Utc::now().date_naive();
        let w = shape.write(&path, only, market, today).expect("written");
        let text = std::fs::read_to_string(&path).expect("read back");
        let _ = std::fs::remove_file(&path);
        (text, w)
    }

    #[test]
    fn a_registrars_file_is_imported_whole_and_counted() {
        for filing in [Filing::All, Filing::FirstMonthOnly] {
            let shape = Shape {
                issuers: 3,
                first: 0,
                repurchases: 300,
                per_day: 1,
                filing,
            };
            let (text, w) = write(&shape, None, true);
            assert_eq!(text.lines().count() as u64, w.events);
            assert_eq!(import(&text), Ok(w.events as usize), "{filing:?}");
            // Interleaved day by day: the first repurchases are of three issuers.
            let first: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("shares_repurchased"))
                .take(3)
                .collect();
            for (i, l) in first.iter().enumerate() {
                assert!(
                    l.contains(&format!("\"issuer\":\"{}\"", issuer_id(i))),
                    "{l}"
                );
            }
            // One issuer alone: its own lines and the market's.
            let (alone, wa) = write(&shape, Some(1), true);
            assert!(!alone.contains(&issuer_id(0)));
            assert_eq!(import(&alone), Ok(wa.events as usize));
        }
    }

    #[test]
    fn a_long_history_has_many_distinct_repurchases_a_day() {
        let shape = Shape {
            issuers: 1,
            first: 100,
            repurchases: 2000,
            per_day: 200,
            filing: Filing::All,
        };
        let (text, w) = write(&shape, None, true);
        assert_eq!(import(&text), Ok(w.events as usize));
        assert_eq!(
            text.lines()
                .filter(|l| l.contains("shares_repurchased"))
                .count(),
            2000
        );
    }

    #[test]
    fn the_library_generator_still_makes_files_the_ledger_imports() {
        let g = Generator::new(1000);
        let mut text = g.market_lines().join("\n");
        for i in 0..2 {
            for l in g.issuer_lines(i) {
                text.push('\n');
                text.push_str(&l);
            }
        }
        assert_eq!(import(&text), Ok(4 + 2000));
    }

    #[test]
    fn a_history_reaching_today_is_refused_by_the_generator() {
        let shape = Shape {
            issuers: 1,
            first: 0,
            repurchases: 100_000,
            per_day: 1,
            filing: Filing::All,
        };
        let path = std::env::temp_dir().join(format!("shapes-{}.jsonl", Uuid::now_v7()));
        let r = shape.write(
            &path,
            None,
            true,
            NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
        );
        let _ = std::fs::remove_file(&path);
        assert!(r.is_err());
    }
}
