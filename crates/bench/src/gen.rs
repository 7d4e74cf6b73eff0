//! The synthetic registrar: N issuers × M events each, every event valid.
//!
//! Each issuer has the same shape of history (so one issuer's size does not
//! change with the number of issuers), with its own share counts drawn from a
//! seeded generator. Dates run in business days of the Hong Kong calendar
//! (general holidays plus the market closures of the `$market` stream) from
//! January 2021, in two-month cycles (so that 1000 events per issuer end in
//! 2024, well before the clock of the import that records them):
//!
//! * setup: `issuer_registered`, `share_class_defined`, `opening_balance`
//!   (31 December 2020), `share_option_scheme_adopted`, five
//!   `closing_price`s, and each January a `repurchase_mandate_granted`;
//! * a buy-back month: options granted; six days of on-Exchange repurchases
//!   for cancellation with prices (and that day's closing price), then their
//!   cancellation; from 11 June 2024 three days of treasury repurchases, a
//!   transfer of treasury shares to a share scheme and a cancellation of
//!   treasury shares; option exercises;
//! * a distribution month: options granted and exercised; more than 30 days
//!   after the last repurchase (rule 10.06(3)) a placing, then (from 11 June
//!   2024) a sale and a transfer of treasury shares;
//! * an NDDR (`return_filed`) the evening of every disclosable day and a
//!   Monthly Return on the first day of the next month.
//!
//! The history is cut at exactly M events. Lines are JSON in the import format
//! (interchange.md section 1) without `id` and `recorded_at`: the ledger
//! assigns both, as it does for a registrar's own import.

use chrono::{Datelike, Days, NaiveDate};
use serde_json::json;
use shareledger_core::calendar::BusinessCalendar;

/// Fewest events per issuer: the setup plus one month.
pub const MIN_PER_ISSUER: usize = 20;

/// Market closures recorded in the `$market` stream (synthetic dates).
pub(crate) const CLOSURES: &[(&str, &str)] = &[
    ("2023-07-17", "Typhoon signal No. 8 (synthetic)"),
    ("2023-09-08", "Black rainstorm warning (synthetic)"),
    ("2024-09-06", "Typhoon signal No. 8 (synthetic)"),
    ("2025-07-22", "Black rainstorm warning (synthetic)"),
];

const SCHEME: &str = "2020 Share Option Scheme";
/// The opening balance's date; the histories start the next month.
const OPENING: &str = "2020-12-31";
const TOTAL_PER_MONTH_CAP: usize = 64;

/// Deterministic, dependency-free PRNG (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A round lot count in `[lo, hi)`, a multiple of 100.
    fn lots(&mut self, lo: u64, hi: u64) -> u64 {
        (lo + self.next() % (hi - lo)) / 100 * 100
    }
}

/// The generator of one synthetic registrar.
pub struct Generator {
    calendar: BusinessCalendar,
    per_issuer: usize,
}

/// Cents as a decimal string: 995 → "9.95".
fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn d(s: &str) -> NaiveDate {
    s.parse().expect("valid date")
}

fn month_end(y: i32, m: u32) -> NaiveDate {
    shareledger_core::calendar::month_end(y, m).expect("valid month")
}

fn treasury_regime() -> NaiveDate {
    shareledger_core::rules::TREASURY_REGIME_START
}

impl Generator {
    pub fn new(per_issuer: usize) -> Generator {
        assert!(
            per_issuer >= MIN_PER_ISSUER,
            "at least {MIN_PER_ISSUER} events per issuer"
        );
        let mut calendar = BusinessCalendar::new();
        for (date, _) in CLOSURES {
            calendar.add_market_closure(d(date));
        }
        Generator {
            calendar,
            per_issuer,
        }
    }

    /// The id of issuer `i` (a stock-code-like number).
    pub fn issuer_id(i: usize) -> String {
        format!("{:05}", 10001 + i)
    }

    /// The `$market` stream's events.
    pub fn market_lines(&self) -> Vec<String> {
        Generator::market_lines_static()
    }

    /// The `$market` stream's events (the same for every generator).
    pub fn market_lines_static() -> Vec<String> {
        CLOSURES
            .iter()
            .map(|(date, reason)| {
                json!({"type": "market_closed", "date": date, "reason": reason}).to_string()
            })
            .collect()
    }

    fn business_days(&self, y: i32, m: u32) -> Vec<NaiveDate> {
        let first = NaiveDate::from_ymd_opt(y, m, 1).expect("valid");
        first
            .iter_days()
            .take_while(|x| x.month() == m)
            .filter(|x| self.calendar.is_business_day(*x))
            .collect()
    }

    /// The last date any issuer's history reaches (all issuers share one shape).
    pub fn last_date(&self) -> NaiveDate {
        self.issuer_lines(0)
            .iter()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                ["date", "trade_date", "resolution_date"]
                    .iter()
                    .find_map(|k| v.get(*k).and_then(|x| x.as_str()).map(d))
            })
            .max()
            .expect("dated events")
    }

    /// A date with repurchases late in the history, and the last full month
    /// with them: what the return benchmark asks for.
    pub fn return_dates(&self) -> (NaiveDate, (i32, u32)) {
        let mut last_repurchase = None;
        for l in self.issuer_lines(0) {
            let v: serde_json::Value = serde_json::from_str(&l).expect("json");
            if v["type"] == "shares_repurchased" {
                last_repurchase = Some(d(v["trade_date"].as_str().expect("date")));
            }
        }
        let date = last_repurchase.expect("the history has repurchases");
        (date, (date.year(), date.month()))
    }

    /// Exactly `per_issuer` lines of issuer `i`'s history.
    pub fn issuer_lines(&self, i: usize) -> Vec<String> {
        let issuer = Generator::issuer_id(i);
        let issuer = issuer.as_str();
        let mut rng = Rng(0x5EED_0000 + i as u64);
        let mut out: Vec<String> = Vec::with_capacity(self.per_issuer + TOTAL_PER_MONTH_CAP);
        let mut issued: u64 = 1_000_000_000 + rng.lots(0, 500_000_000);
        let mut treasury: u64 = 0;
        let nddr = |out: &mut Vec<String>, date: NaiveDate| {
            out.push(
                json!({"type": "return_filed", "issuer": issuer, "form": "nddr",
                       "date": date.to_string(),
                       "submitted_at": format!("{date}T19:00:00+08:00")})
                .to_string(),
            );
        };
        let close = |out: &mut Vec<String>, date: NaiveDate| {
            out.push(
                json!({"type": "closing_price", "issuer": issuer, "class": "H",
                       "date": date.to_string(), "currency": "HKD", "price": "10.00"})
                .to_string(),
            );
        };

        // Setup.
        out.push(
            json!({"type": "issuer_registered", "issuer": issuer,
                   "name": format!("Synthetic Holdings {issuer} Limited"),
                   "description": "(incorporated in the Cayman Islands with limited liability)",
                   "signatory": {"name": "Chan Tai Man", "title": "Company Secretary"}})
            .to_string(),
        );
        out.push(
            json!({"type": "share_class_defined", "issuer": issuer, "class": "H",
                   "class_of_shares": "Ordinary shares", "type_of_shares": "H",
                   "stock_code": issuer, "par_value": {"currency": "HKD", "amount": "0.10"},
                   "authorised_shares": 5_000_000_000u64})
            .to_string(),
        );
        out.push(
            json!({"type": "opening_balance", "issuer": issuer, "class": "H",
                   "date": OPENING, "issued_shares": issued})
            .to_string(),
        );
        out.push(
            json!({"type": "share_option_scheme_adopted", "issuer": issuer, "class": "H",
                   "scheme": SCHEME, "adoption_date": "2020-06-30",
                   "outstanding_options": 10_000_000u64})
            .to_string(),
        );
        // The closes of the five trading days up to the opening balance.
        let mut closes: Vec<NaiveDate> = Vec::new();
        let mut day = d(OPENING);
        while closes.len() < 5 {
            if self.calendar.is_business_day(day) {
                closes.insert(0, day);
            }
            day = day.pred_opt().expect("a date before the opening");
        }
        for date in closes {
            close(&mut out, date);
        }

        let (mut y, mut m) = (2021, 1);
        let mut last_repurchase = d(OPENING);
        let mut buyback_month = true;
        let today = chrono::Utc::now().date_naive();
        while out.len() < self.per_issuer {
            // Every date in the past: the ledger refuses an event dated
            // after its `recorded_at` (the import's clock).
            assert!(
                month_end(y, m) < today,
                "{} events per issuer run into {y}-{m:02}, not over on {today}; use fewer",
                self.per_issuer
            );
            let days = self.business_days(y, m);
            let post = |date: NaiveDate| date >= treasury_regime();
            if m == 1 {
                out.push(
                    json!({"type": "repurchase_mandate_granted", "issuer": issuer, "class": "H",
                           "resolution_date": days[0].to_string(),
                           "issued_shares_at_resolution": issued,
                           "expiry_date": format!("{y}-12-31")})
                    .to_string(),
                );
            }
            out.push(
                json!({"type": "share_options_granted", "issuer": issuer, "scheme": SCHEME,
                       "date": days[0].to_string(), "options": 100_000})
                .to_string(),
            );
            let exercise = |out: &mut Vec<String>, date: NaiveDate, shares: u64| {
                out.push(
                    json!({"type": "shares_issued", "issuer": issuer, "class": "H",
                           "date": date.to_string(), "shares": shares,
                           "kind": "share_option_exercise", "scheme": SCHEME,
                           "currency": "HKD", "price": "8.20"})
                    .to_string(),
                );
            };
            if buyback_month {
                let mut pending = 0;
                for &date in &days[1..=6] {
                    let shares = rng.lots(10_000, 50_000);
                    out.push(
                        json!({"type": "shares_repurchased", "issuer": issuer, "class": "H",
                               "trade_date": date.to_string(), "shares": shares,
                               "method": "on_exchange", "purpose": "cancellation",
                               "currency": "HKD", "highest_price": "10.10",
                               "lowest_price": "9.80", "total_paid": money(shares * 995)})
                        .to_string(),
                    );
                    close(&mut out, date);
                    nddr(&mut out, date);
                    pending += shares;
                    last_repurchase = date;
                }
                out.push(
                    json!({"type": "repurchased_shares_cancelled", "issuer": issuer,
                           "class": "H", "date": days[7].to_string(), "shares": pending})
                    .to_string(),
                );
                issued -= pending;
                nddr(&mut out, days[7]);
                if post(days[8]) {
                    for &date in &days[8..=10] {
                        let shares = rng.lots(20_000, 80_000);
                        out.push(
                            json!({"type": "shares_repurchased", "issuer": issuer, "class": "H",
                                   "trade_date": date.to_string(), "shares": shares,
                                   "purpose": "treasury", "currency": "HKD",
                                   "highest_price": "10.05", "lowest_price": "9.85",
                                   "total_paid": money(shares * 995)})
                            .to_string(),
                        );
                        close(&mut out, date);
                        nddr(&mut out, date);
                        issued -= shares;
                        treasury += shares;
                        last_repurchase = date;
                    }
                }
                exercise(&mut out, days[11], 20_000);
                issued += 20_000;
                if post(days[12]) && treasury > 0 {
                    let shares = treasury.min(5_000);
                    out.push(
                        json!({"type": "treasury_shares_transferred", "issuer": issuer,
                               "class": "H", "date": days[12].to_string(), "shares": shares,
                               "purpose": "Awards under the share award scheme",
                               "scheme": "2023 Share Award Scheme"})
                        .to_string(),
                    );
                    nddr(&mut out, days[12]);
                    treasury -= shares;
                    issued += shares;
                    let cancel = treasury / 3;
                    if cancel > 0 {
                        out.push(
                            json!({"type": "treasury_shares_cancelled", "issuer": issuer,
                                   "class": "H", "date": days[13].to_string(), "shares": cancel})
                            .to_string(),
                        );
                        nddr(&mut out, days[13]);
                        treasury -= cancel;
                    }
                }
            } else {
                exercise(&mut out, days[2], 15_000);
                exercise(&mut out, days[4], 15_000);
                issued += 30_000;
                // Past the moratorium of rule 10.06(3): more than 30 days on.
                let free = shareledger_core::rules::moratorium_end(last_repurchase) + Days::new(1);
                let mut later = days.iter().copied().filter(|x| *x >= free && *x > days[4]);
                if let Some(date) = later.next() {
                    let shares = rng.lots(1_000_000, 5_000_000);
                    out.push(
                        json!({"type": "shares_issued", "issuer": issuer, "class": "H",
                               "date": date.to_string(), "shares": shares, "kind": "placing",
                               "currency": "HKD", "price": "9.50", "previous_close": "10.00",
                               "general_meeting_date": "2020-06-15",
                               "description": "Placing of new shares under the general mandate"})
                        .to_string(),
                    );
                    nddr(&mut out, date);
                    issued += shares;
                }
                if let Some(date) = later.next().filter(|x| post(*x) && treasury > 0) {
                    let shares = treasury.min(10_000);
                    out.push(
                        json!({"type": "treasury_shares_sold", "issuer": issuer, "class": "H",
                               "trade_date": date.to_string(), "shares": shares,
                               "currency": "HKD", "highest_price": "10.20",
                               "lowest_price": "10.00", "total_received": money(shares * 1010)})
                        .to_string(),
                    );
                    nddr(&mut out, date);
                    treasury -= shares;
                    issued += shares;
                }
                if let Some(date) = later.next().filter(|x| post(*x) && treasury > 0) {
                    let shares = treasury.min(3_000);
                    out.push(
                        json!({"type": "treasury_shares_transferred", "issuer": issuer,
                               "class": "H", "date": date.to_string(), "shares": shares,
                               "purpose": "Consideration for an acquisition"})
                        .to_string(),
                    );
                    nddr(&mut out, date);
                    treasury -= shares;
                    issued += shares;
                }
            }
            let end = month_end(y, m);
            out.push(
                json!({"type": "return_filed", "issuer": issuer, "form": "monthly",
                       "date": end.to_string(),
                       "submitted_at": format!("{}T10:00:00+08:00", end + Days::new(1))})
                .to_string(),
            );
            buyback_month = !buyback_month;
            (y, m) = shareledger_core::calendar::next_month(y, m);
        }
        out.truncate(self.per_issuer);
        out
    }
}
