//! Given / when / then for the returns.
//!
//! *Given* a ledger built from JSON lines exactly as a user would import them
//! (read with `parse_line`, completed with a fixed clock and deterministic
//! ids, judged and applied by `Register::execute`), *when* an NDDR or a
//! Monthly Return is produced, *then* the document is exactly the one the
//! forms call for. Figures are the real filed ones where the spec gives them
//! (Tencent, Baozun); the rest are round numbers whose percentages can be
//! checked by eye.
//!
//! Every NDDR built here is also checked to reconcile: closing balance =
//! opening balance + the sum of its lines' changes (issued and treasury), and
//! every Monthly Return: Part III's total = Part II's change.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use serde_json::{json, Value};
use shareledger_core::rules::NddrLayout;
use shareledger_core::{parse_line, IssuerState, Register};
use shareledger_returns::document::{MonthlyReturn, Nddr};
use shareledger_returns::monthly::{monthly, MonthlyRequest};
use shareledger_returns::nddr::{nddr, NddrRequest};
use shareledger_returns::ReturnError;
use uuid::Uuid;

// ---- the ledger under test ---------------------------------------------------------

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("bad test date {s}: {e}"))
}

/// The fixed clock events are recorded by (plus a minute per event).
fn clock() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-12-31T09:00:00+08:00").expect("valid time")
}

/// The deterministic id of the `seq`-th event of a ledger.
fn event_id(seq: u64) -> Uuid {
    Uuid::from_u128(0x5ce0_0000_0000_0000_0000_0000_0000_0000 + seq as u128)
}

/// One issuer and one class, built event by event; every event must be accepted.
#[derive(Clone)]
struct Ledger {
    register: Register,
    seq: u64,
    issuer: &'static str,
    class: &'static str,
}

impl Ledger {
    /// Issuer `issuer` registered (with `extra` fields: presentation, primary
    /// listing, ...) and its class `class` defined (with `class_fields`).
    fn new(issuer: &'static str, class: &'static str, extra: Value, class_fields: Value) -> Self {
        let l = Ledger {
            register: Register::new(),
            seq: 0,
            issuer,
            class,
        };
        let reg = merge(
            json!({"type": "issuer_registered", "issuer": issuer, "name": "Test Holdings Limited",
                   "signatory": {"name": "Chan Tai Man", "title": "Company Secretary"}}),
            extra,
        );
        let l = l.line(reg);
        let def = merge(
            json!({"class_of_shares": "Ordinary shares", "stock_code": issuer}),
            class_fields,
        );
        l.class_event("share_class_defined", def)
    }

    /// Any JSON line, which must be accepted.
    fn line(mut self, line: Value) -> Self {
        let text = line.to_string();
        let incoming =
            parse_line(&text).unwrap_or_else(|e| panic!("test line does not parse: {e}\n{text}"));
        let seq = self.seq;
        let r = incoming.into_recorded(
            || event_id(seq),
            clock() + Duration::minutes(seq as i64),
            "tester",
        );
        if let Err(refusal) = self.register.execute(r) {
            panic!("given event refused: {refusal}\n{text}");
        }
        self.seq += 1;
        self
    }

    /// An event of the issuer (`type` and `issuer` added).
    fn issuer_event(self, ty: &str, fields: Value) -> Self {
        let line = merge(json!({"type": ty, "issuer": self.issuer}), fields);
        self.line(line)
    }

    /// An event of the class (`type`, `issuer` and `class` added).
    fn class_event(self, ty: &str, fields: Value) -> Self {
        let line = merge(
            json!({"type": ty, "issuer": self.issuer, "class": self.class}),
            fields,
        );
        self.line(line)
    }

    fn opening(self, date: &str, issued: u64, treasury: u64) -> Self {
        self.class_event(
            "opening_balance",
            json!({"date": date, "issued_shares": issued, "treasury_shares": treasury}),
        )
    }

    fn mandate(self, resolution: &str, issued_at_resolution: u64, extra: Value) -> Self {
        self.class_event(
            "repurchase_mandate_granted",
            merge(
                json!({"resolution_date": resolution,
                       "issued_shares_at_resolution": issued_at_resolution}),
                extra,
            ),
        )
    }

    /// A repurchase for cancellation on the Exchange, without prices (history).
    fn repurchase(self, date: &str, shares: u64) -> Self {
        self.class_event(
            "shares_repurchased",
            json!({"trade_date": date, "shares": shares}),
        )
    }

    /// A repurchase with its prices in HKD; `extra` may set purpose, method, ...
    fn repurchase_at(
        self,
        date: &str,
        shares: u64,
        (highest, lowest, total): (&str, &str, &str),
        extra: Value,
    ) -> Self {
        self.class_event(
            "shares_repurchased",
            merge(
                json!({"trade_date": date, "shares": shares, "currency": "HKD",
                       "highest_price": highest, "lowest_price": lowest, "total_paid": total}),
                extra,
            ),
        )
    }

    /// A repurchase for cancellation on the Exchange at exactly HKD 10 a share.
    fn repurchase_10(self, date: &str, shares: u64) -> Self {
        let total = (shares * 10).to_string();
        self.repurchase_at(date, shares, ("10", "10", &total), json!({}))
    }

    fn cancel(self, date: &str, shares: u64) -> Self {
        self.class_event(
            "repurchased_shares_cancelled",
            json!({"date": date, "shares": shares}),
        )
    }

    fn issue(self, date: &str, shares: u64, kind: &str, extra: Value) -> Self {
        self.class_event(
            "shares_issued",
            merge(json!({"date": date, "shares": shares, "kind": kind}), extra),
        )
    }

    /// A `return_filed` (form `nddr` or `monthly`) with closing date `date`.
    fn filed(self, form: &str, date: &str) -> Self {
        self.issuer_event(
            "return_filed",
            json!({"form": form, "date": date,
                   "submitted_at": format!("{date}T19:00:00+08:00")}),
        )
    }

    fn state(&self) -> &IssuerState {
        self.register
            .issuer(self.issuer)
            .expect("the issuer is registered")
    }

    fn try_nddr(&self, date: &str, layout: Option<NddrLayout>) -> Result<Nddr, ReturnError> {
        nddr(
            self.state(),
            &NddrRequest {
                date: d(date),
                submitted: None,
                layout,
            },
        )
    }

    /// The NDDR whose last event is on `date`, checked to reconcile.
    fn nddr(&self, date: &str) -> Nddr {
        self.nddr_as(date, None)
    }

    fn nddr_as(&self, date: &str, layout: Option<NddrLayout>) -> Nddr {
        let doc = self
            .try_nddr(date, layout)
            .unwrap_or_else(|e| panic!("NDDR of {date}: {e}"));
        assert_nddr_reconciles(&doc);
        doc
    }

    /// The Monthly Return for `year`-`month`, checked to reconcile.
    fn monthly(&self, year: i32, month: u32) -> MonthlyReturn {
        let doc = monthly(
            self.state(),
            &MonthlyRequest {
                year,
                month,
                submitted: d("2030-01-02"),
            },
        )
        .unwrap_or_else(|e| panic!("Monthly Return {year}-{month}: {e}"));
        assert_monthly_reconciles(&doc);
        doc
    }
}

/// `base` with the fields of `extra` added (or replaced).
fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

fn js<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("documents serialize")
}

fn hkd(amount: &str) -> Value {
    json!({"currency": "HKD", "amount": amount})
}

/// A Section I line as the JSON shows it; `extra` overrides the defaults.
fn nddr_line(
    label: &str,
    date: &str,
    shares: u64,
    issued: i64,
    treasury: i64,
    extra: Value,
) -> Value {
    merge(
        json!({"label": label, "detail": null, "date": date, "shares": shares,
               "issued_change": issued, "treasury_change": treasury, "percent": null,
               "price": null, "previous_close": null, "discount_premium": null,
               "carried_forward": false}),
        extra,
    )
}

fn balance_row(date: &str, issued: u64, treasury: u64) -> Value {
    json!({"date": date, "issued_excluding_treasury": issued, "treasury": treasury,
           "total": issued + treasury})
}

const FF304_PENDING: &str = "Repurchase of shares (or other securities) but not cancelled";
const FF305_CANCELLED: &str = "Repurchase of shares (shares repurchased and cancelled)";
const FF305_TREASURY: &str = "Repurchase of shares (shares held as treasury shares)";

/// Closing = opening + the lines' changes, for every class; total = issued + treasury;
/// FF304 has no Part B, FF305 no carried-forward lines.
fn assert_nddr_reconciles(doc: &Nddr) {
    for s in &doc.section_i {
        let issued: i64 = s.events.iter().map(|l| l.issued_change).sum();
        let treasury: i64 = s.events.iter().map(|l| l.treasury_change).sum();
        assert_eq!(
            s.opening_balance.issued_excluding_treasury as i64 + issued,
            s.closing_balance.issued_excluding_treasury as i64,
            "class {}: issued shares do not reconcile opening to closing",
            s.class
        );
        assert_eq!(
            s.opening_balance.treasury as i64 + treasury,
            s.closing_balance.treasury as i64,
            "class {}: treasury shares do not reconcile opening to closing",
            s.class
        );
        for b in [&s.opening_balance, &s.closing_balance] {
            assert_eq!(b.total, b.issued_excluding_treasury + b.treasury);
        }
        assert_eq!(s.closing_balance.date, doc.closing_date);
        match doc.form.as_str() {
            "FF304" => assert!(s.pending_cancellation.is_empty()),
            "FF305" => assert!(s.events.iter().all(|l| !l.carried_forward)),
            other => panic!("unknown form {other}"),
        }
    }
}

/// Part III's total = Part II's change, and Part II's closing = preceding + change.
fn assert_monthly_reconciles(doc: &MonthlyReturn) {
    assert_eq!(doc.issued.len(), doc.total_change.len());
    for (row, total) in doc.issued.iter().zip(&doc.total_change) {
        assert_eq!(row.class, total.class);
        assert_eq!(
            row.change.issued_excluding_treasury,
            total.issued_excluding_treasury
        );
        assert_eq!(row.change.treasury, total.treasury);
        for (p, c, e) in [
            (
                row.preceding.issued_excluding_treasury,
                row.change.issued_excluding_treasury,
                row.closing.issued_excluding_treasury,
            ),
            (
                row.preceding.treasury,
                row.change.treasury,
                row.closing.treasury,
            ),
            (row.preceding.total, row.change.total, row.closing.total),
        ] {
            assert_eq!(p + c, e, "Part II of class {} does not add up", row.class);
        }
    }
}

// ---- the issuers -------------------------------------------------------------------

/// Tencent (00700), ordinary shares of HKD 0.00002, default presentation.
fn tencent() -> Ledger {
    Ledger::new(
        "00700",
        "ORD",
        json!({"name": "Tencent Holdings Limited",
               "description": "(Incorporated in the Cayman Islands with limited liability)"}),
        json!({"par_value": {"currency": "HKD", "amount": "0.00002"}}),
    )
}

/// A round-numbered issuer: 1,000,000,000 shares (so 1,000,000 shares = 0.1%).
fn round_issuer(extra: Value) -> Ledger {
    Ledger::new(
        "01234",
        "ORD",
        extra,
        json!({"par_value": {"currency": "HKD", "amount": "0.1"},
               "authorised_shares": 2_000_000_000u64}),
    )
}

// ---- Section I: the percentages of the filed returns --------------------------------

#[test]
fn ff305_pending_line_percent_is_on_the_opening_balance_tencent_13_june_2025() {
    let l = tencent()
        .opening("2025-06-12", 9_190_417_249, 0)
        .mandate(
            "2025-05-14",
            9_189_018_660,
            json!({"explanatory_statement_date": "2025-04-08",
                   "repurchased_before_ledger": 10_000_000}),
        )
        .repurchase_at(
            "2025-06-13",
            979_000,
            ("515", "506.5", "500422507.2"),
            json!({}),
        );
    let doc = l.nddr("2025-06-13");

    assert_eq!(doc.form, "FF305");
    assert_eq!(doc.date_submitted, d("2025-06-13"));
    assert_eq!(doc.previous_return, None);
    assert_eq!(
        js(&doc.section_i[0]),
        json!({
            "class": "ORD",
            "class_info": {"class_of_shares": "Ordinary shares", "type_of_shares": "Not applicable",
                           "listed": true, "stock_code": "00700", "description": null},
            "opening_balance": balance_row("2025-06-12", 9_190_417_249, 0),
            "events": [nddr_line("Other (please specify)", "2025-06-13", 0, 0, 0,
                                 json!({"detail": "See Part B"}))],
            "closing_balance": balance_row("2025-06-13", 9_190_417_249, 0),
            "pending_cancellation": [
                {"date": "2025-06-13", "shares": 979_000, "percent": "0.01065",
                 "price": hkd("511.1568")}
            ]
        })
    );
    assert_eq!(
        js(&doc.section_ii[0]),
        json!({
            "class": "ORD",
            "class_info": {"class_of_shares": "Ordinary shares", "type_of_shares": "Not applicable",
                           "listed": true, "stock_code": "00700", "description": null},
            "repurchases": [
                {"trading_date": "2025-06-13", "shares": 979_000, "method": "On the Exchange",
                 "highest_price": hkd("515"), "lowest_price": hkd("506.5"),
                 "total_paid": hkd("500422507.2")}
            ],
            "total_shares": 979_000,
            "total_paid": hkd("500422507.2"),
            "for_cancellation": 979_000,
            "for_treasury": 0,
            "mandate": {
                "resolution_date": "2025-05-14",
                // 10% of 9,189,018,660 [filed: Tencent's 918,901,866].
                "authorised_shares": 918_901_866u64,
                "issued_shares_at_resolution": 9_189_018_660u64,
                // 10,000,000 before the ledger + 979,000.
                "repurchased_under_mandate": 10_979_000,
                "percent": "0.11948",
                // "Up to" 13 June 2025 + 30 days [filed].
                "moratorium_until": "2025-07-13",
                "explanatory_statement_date": "2025-04-08"
            }
        })
    );
    assert!(doc.section_iii.is_empty());
}

#[test]
fn ff305_cancellation_line_percent_and_pending_lines_cleared_oldest_first() {
    let l = tencent()
        .opening("2025-06-12", 9_190_417_249, 0)
        .mandate("2025-05-14", 9_189_018_660, json!({}))
        .repurchase_at(
            "2025-06-13",
            979_000,
            ("515", "506.5", "500422507.2"),
            json!({}),
        )
        .filed("nddr", "2025-06-13")
        .repurchase_at(
            "2025-06-16",
            500_000,
            ("520", "510", "257500000"),
            json!({}),
        )
        .filed("nddr", "2025-06-16")
        .cancel("2025-07-02", 979_000);
    let doc = l.nddr("2025-07-02");

    assert_eq!(doc.form, "FF305");
    assert_eq!(doc.previous_return, Some(d("2025-06-16")));
    let s = &doc.section_i[0];
    assert_eq!(
        js(&s.opening_balance),
        balance_row("2025-06-16", 9_190_417_249, 0)
    );
    // Part A: the cancellation, issued shares −979,000, % on the opening
    // balance, at the volume-weighted price paid for the shares cancelled
    // (500,422,507.2 / 979,000 = 511.15680... → 4 places).
    assert_eq!(
        js(&s.events),
        json!([nddr_line(
            FF305_CANCELLED,
            "2025-07-02",
            979_000,
            -979_000,
            0,
            json!({"percent": "0.01065", "price": hkd("511.1568")})
        )])
    );
    assert_eq!(
        js(&s.closing_balance),
        balance_row("2025-07-02", 9_189_438_249, 0)
    );
    // Part B: the oldest line (13 June) is cleared; 16 June is still pending.
    assert_eq!(
        js(&s.pending_cancellation),
        json!([{"date": "2025-06-16", "shares": 500_000, "percent": "0.00544",
                "price": hkd("515")}])
    );
    // No repurchase in this return: no Section II.
    assert!(doc.section_ii.is_empty());
}

#[test]
fn ff305_cancellation_across_two_pending_lines_takes_the_oldest_first() {
    let l = round_issuer(json!({}))
        .opening("2025-03-31", 1_000_000_000, 0)
        .repurchase("2025-04-01", 100_000)
        .repurchase("2025-04-02", 200_000)
        .repurchase("2025-04-03", 300_000)
        .filed("nddr", "2025-04-03")
        .cancel("2025-04-10", 250_000);
    let doc = l.nddr("2025-04-10");
    let s = &doc.section_i[0];
    assert_eq!(
        js(&s.events),
        json!([nddr_line(
            FF305_CANCELLED,
            "2025-04-10",
            250_000,
            -250_000,
            0,
            json!({"percent": "0.025"})
        )])
    );
    assert_eq!(s.closing_balance.issued_excluding_treasury, 999_750_000);
    assert_eq!(
        js(&s.pending_cancellation),
        json!([
            {"date": "2025-04-02", "shares": 50_000, "percent": "0.005", "price": null},
            {"date": "2025-04-03", "shares": 300_000, "percent": "0.03", "price": null}
        ])
    );
}

#[test]
fn ff305_cancellation_price_is_weighted_by_the_shares_taken_from_each_pending_line() {
    // 1 April: 100,000 for HKD 1,000,000 (10), or without prices; 2 April:
    // 200,000 for HKD 2,400,000 (12). Cancelling 250,000 takes all of 1 April
    // and 150,000 of 2 April.
    let given = |first_priced: bool| {
        let l = round_issuer(json!({})).opening("2025-03-31", 1_000_000_000, 0);
        let l = if first_priced {
            l.repurchase_at("2025-04-01", 100_000, ("10", "10", "1000000"), json!({}))
        } else {
            l.repurchase("2025-04-01", 100_000)
        };
        l.repurchase_at(
            "2025-04-02",
            200_000,
            ("12.5", "11.5", "2400000"),
            json!({}),
        )
        .filed("nddr", "2025-04-02")
        .cancel("2025-04-10", 250_000)
        .nddr("2025-04-10")
    };
    // (1,000,000 + 150,000 × 12) / 250,000 = 11.2.
    let s = &given(true).section_i[0];
    assert_eq!(s.events.len(), 1);
    assert_eq!(js(&s.events[0].price), hkd("11.2"));
    assert_eq!(
        js(&s.pending_cancellation),
        json!([{"date": "2025-04-02", "shares": 50_000, "percent": "0.005", "price": hkd("12")}])
    );
    // One of the lines drawn from has no prices: the cancellation has none.
    assert_eq!(given(false).section_i[0].events[0].price, None);
}

#[test]
fn ff304_note_4_basis_excludes_shares_pending_at_the_opening_tencent_18_january_2024() {
    let given = || {
        tencent()
            .opening("2024-01-12", 9_452_393_365, 0)
            .mandate("2023-05-17", 9_566_648_945, json!({}))
            .repurchase("2024-01-16", 8_470_000)
            .repurchase("2024-01-17", 8_500_000)
            .filed("nddr", "2024-01-17")
            .repurchase_at(
                "2024-01-18",
                3_640_000,
                ("280", "272", "1004640000"),
                json!({}),
            )
    };
    // The form's default: carried-forward lines without a %.
    let doc = given().nddr("2024-01-18");
    assert_eq!(doc.form, "FF304");
    let s = &doc.section_i[0];
    assert_eq!(
        js(&s.opening_balance),
        balance_row("2024-01-17", 9_452_393_365, 0)
    );
    assert_eq!(
        js(&s.events),
        json!([
            nddr_line(
                FF304_PENDING,
                "2024-01-16",
                8_470_000,
                0,
                0,
                json!({"carried_forward": true})
            ),
            nddr_line(
                FF304_PENDING,
                "2024-01-17",
                8_500_000,
                0,
                0,
                json!({"carried_forward": true})
            ),
            // 3,640,000 / (9,452,393,365 − 16,970,000) [filed: 0.03858].
            nddr_line(
                FF304_PENDING,
                "2024-01-18",
                3_640_000,
                0,
                0,
                json!({"percent": "0.03858"})
            ),
        ])
    );
    assert_eq!(
        js(&s.closing_balance),
        balance_row("2024-01-18", 9_452_393_365, 0)
    );
    assert!(s.pending_cancellation.is_empty());

    // An issuer that repeats the % on carried lines: same basis.
    let doc = given()
        .issuer_event(
            "issuer_settings_changed",
            json!({"presentation": {"percent_on_carried_lines": true}}),
        )
        .nddr("2024-01-18");
    let pcts: Vec<Option<&str>> = doc.section_i[0]
        .events
        .iter()
        .map(|l| l.percent.as_deref())
        .collect();
    assert_eq!(pcts, [Some("0.08977"), Some("0.09009"), Some("0.03858")]);

    // An issuer computing on the opening balance (pending included): 0.03851.
    let doc = given()
        .issuer_event(
            "issuer_settings_changed",
            json!({"presentation": {"percent_basis": "opening_balance"}}),
        )
        .nddr("2024-01-18");
    assert_eq!(
        doc.section_i[0].events[2].percent.as_deref(),
        Some("0.03851")
    );
    assert_eq!(doc.section_i[0].events[0].percent, None);
}

#[test]
fn ff305_treasury_repurchase_baozun_two_places_rounded_down() {
    let l = Ledger::new(
        "09991",
        "A",
        json!({"name": "Baozun Inc.", "primary_listing": false,
               "presentation": {"percent_decimals": 2, "percent_rounding": "down"}}),
        json!({"class_of_shares": "Class A ordinary shares"}),
    )
    .opening("2024-06-30", 168_313_204, 2_507_727)
    .repurchase_at(
        "2024-07-02",
        150_000,
        ("7.9", "7.5", "1170000"),
        json!({"purpose": "treasury"}),
    );
    let doc = l.nddr("2024-07-02");
    assert_eq!(doc.form, "FF305");
    let s = &doc.section_i[0];
    assert_eq!(
        js(&s.opening_balance),
        json!({"date": "2024-06-30", "issued_excluding_treasury": 168_313_204,
               "treasury": 2_507_727, "total": 170_820_931})
    );
    assert_eq!(
        js(&s.events),
        json!([nddr_line(
            FF305_TREASURY,
            "2024-07-02",
            150_000,
            -150_000,
            150_000,
            json!({"percent": "0.08", "price": hkd("7.8")})
        )])
    );
    assert_eq!(
        js(&s.closing_balance),
        json!({"date": "2024-07-02", "issued_excluding_treasury": 168_163_204,
               "treasury": 2_657_727, "total": 170_820_931})
    );
    assert!(s.pending_cancellation.is_empty());
    let s2 = &doc.section_ii[0];
    assert_eq!((s2.for_cancellation, s2.for_treasury), (0, 150_000));
    // Not a primary listing on the Exchange: no Section II B.
    assert_eq!(js(&s2.mandate), Value::Null);
}

// ---- the layout -----------------------------------------------------------------------

#[test]
fn the_layout_is_chosen_by_date_either_side_of_11_june_2024_unless_given() {
    let l = round_issuer(json!({}))
        .opening("2024-05-31", 1_000_000_000, 0)
        .repurchase_at("2024-06-10", 1_000_000, ("10", "10", "10000000"), json!({}));
    let ff304 = l.nddr("2024-06-10");
    assert_eq!(ff304.form, "FF304");
    assert_eq!(
        js(&ff304.section_i[0].events),
        json!([nddr_line(
            FF304_PENDING,
            "2024-06-10",
            1_000_000,
            0,
            0,
            json!({"percent": "0.1"})
        )])
    );
    // The same events in the FF305 layout when asked for.
    let ff305 = l.nddr_as("2024-06-10", Some(NddrLayout::Ff305));
    assert_eq!(ff305.form, "FF305");
    assert_eq!(
        js(&ff305.section_i[0].pending_cancellation),
        json!([{"date": "2024-06-10", "shares": 1_000_000, "percent": "0.1", "price": hkd("10")}])
    );

    let l = l.filed("nddr", "2024-06-10").repurchase_at(
        "2024-06-11",
        500_000,
        ("10", "10", "5000000"),
        json!({}),
    );
    let ff305 = l.nddr("2024-06-11");
    assert_eq!(ff305.form, "FF305");
    assert_eq!(
        js(&ff305.section_i[0].pending_cancellation),
        json!([
            {"date": "2024-06-10", "shares": 1_000_000, "percent": "0.1", "price": hkd("10")},
            {"date": "2024-06-11", "shares": 500_000, "percent": "0.05", "price": hkd("10")}
        ])
    );
    let ff304 = l.nddr_as("2024-06-11", Some(NddrLayout::Ff304));
    assert_eq!(ff304.form, "FF304");
    assert_eq!(
        js(&ff304.section_i[0].events),
        json!([
            nddr_line(
                FF304_PENDING,
                "2024-06-10",
                1_000_000,
                0,
                0,
                json!({"carried_forward": true})
            ),
            // Note 4: 500,000 / (1,000,000,000 − 1,000,000 pending at the opening).
            nddr_line(
                FF304_PENDING,
                "2024-06-11",
                500_000,
                0,
                0,
                json!({"percent": "0.05005"})
            ),
        ])
    );
}

// ---- cancellations in the FF304 era --------------------------------------------------

#[test]
fn ff304_cancellation_clears_pending_lines_oldest_first_and_issued_falls() {
    let l = round_issuer(json!({}))
        .opening("2023-02-28", 1_000_000_000, 0)
        .repurchase("2023-03-01", 100_000)
        .repurchase("2023-03-02", 200_000)
        .repurchase("2023-03-03", 300_000)
        .filed("nddr", "2023-03-03")
        .cancel("2023-03-10", 250_000);
    let doc = l.nddr("2023-03-10");
    assert_eq!(doc.form, "FF304");
    let s = &doc.section_i[0];
    assert_eq!(
        js(&s.opening_balance),
        balance_row("2023-03-03", 1_000_000_000, 0)
    );
    // The basis of note 4 excludes the 600,000 pending at the opening.
    assert_eq!(
        js(&s.events),
        json!([
            // 1 March is cleared; 50,000 of 2 March are still not cancelled.
            nddr_line(
                FF304_PENDING,
                "2023-03-02",
                50_000,
                0,
                0,
                json!({"carried_forward": true})
            ),
            nddr_line(
                FF304_PENDING,
                "2023-03-03",
                300_000,
                0,
                0,
                json!({"carried_forward": true})
            ),
            nddr_line(
                "Cancellation of repurchased shares",
                "2023-03-10",
                250_000,
                -250_000,
                0,
                json!({"percent": "0.02502"})
            ),
        ])
    );
    assert_eq!(
        js(&s.closing_balance),
        balance_row("2023-03-10", 999_750_000, 0)
    );
}

// ---- issues ---------------------------------------------------------------------------

#[test]
fn an_option_exercise_line_has_its_price_previous_close_and_discount() {
    let l = round_issuer(json!({}))
        .opening("2023-04-28", 1_000_000_000, 0)
        .class_event(
            "share_option_scheme_adopted",
            json!({"scheme": "2015 Share Option Scheme", "adoption_date": "2015-06-01",
                   "general_meeting_date": "2015-05-20", "outstanding_options": 5_000_000}),
        )
        .issue(
            "2023-05-02",
            200_000,
            "share_option_exercise",
            json!({"scheme": "2015 Share Option Scheme", "by_director": true,
                   "currency": "HKD", "price": "10.5", "previous_close": "12"}),
        );
    let doc = l.nddr("2023-05-02");
    assert_eq!(doc.form, "FF304");
    assert_eq!(
        js(&doc.section_i[0].events),
        json!([nddr_line(
            "Exercise of share options",
            "2023-05-02",
            200_000,
            200_000,
            0,
            json!({"detail": "2015 Share Option Scheme", "percent": "0.02",
                                "price": hkd("10.5"), "previous_close": hkd("12"),
                                "discount_premium": "-12.5"})
        )])
    );
    assert_eq!(
        doc.section_i[0].closing_balance.issued_excluding_treasury,
        1_000_200_000
    );
    assert!(doc.section_ii.is_empty());

    // Two exercises of one scheme on one day at two prices: one line, the
    // volume-weighted price (100,000 × 10.5 + 50,000 × 12.35) / 150,000 = 11.11666…
    let doc = l
        .filed("nddr", "2023-05-02")
        .issue(
            "2023-05-03",
            100_000,
            "share_option_exercise",
            json!({"scheme": "2015 Share Option Scheme", "by_director": true,
                   "currency": "HKD", "price": "10.5", "previous_close": "12.2"}),
        )
        .issue(
            "2023-05-03",
            50_000,
            "share_option_exercise",
            json!({"scheme": "2015 Share Option Scheme", "by_director": true,
                   "currency": "HKD", "price": "12.35", "previous_close": "12.2"}),
        )
        .nddr("2023-05-03");
    assert_eq!(
        js(&doc.section_i[0].events),
        json!([nddr_line(
            "Exercise of share options",
            "2023-05-03",
            150_000,
            150_000,
            0,
            json!({"detail": "2015 Share Option Scheme",
                                "percent": pct_of(150_000, 1_000_200_000),
                                "price": hkd("11.1167"), "previous_close": hkd("12.2"),
                                // (11.1167 − 12.2) / 12.2: the weighted price's discount.
                                "discount_premium": "-8.87951"})
        )])
    );
}

#[test]
fn a_placing_at_a_premium_and_a_price_with_more_decimals_than_the_policy() {
    let l = round_issuer(json!({"presentation": {"price_decimals": 2}}))
        .opening("2024-08-30", 1_000_000_000, 0)
        .issue(
            "2024-09-02",
            30_000_000,
            "placing",
            json!({"currency": "HKD", "price": "3.3", "previous_close": "3.0"}),
        );
    let doc = l.nddr("2024-09-02");
    assert_eq!(doc.form, "FF305");
    assert_eq!(
        js(&doc.section_i[0].events),
        json!([nddr_line(
            "Placing",
            "2024-09-02",
            30_000_000,
            30_000_000,
            0,
            json!({"percent": "3", "price": hkd("3.3"),
                                "previous_close": hkd("3.0"), "discount_premium": "10"})
        )])
    );
    // Two executions of a treasury repurchase on one day: one line at the
    // day's volume-weighted price (10 + 4) / 4 = 3.5, presented to the
    // issuer's 2 places (not the average of the executions' rounded averages,
    // 3.33 and 4, which gives 3.4975).
    let l = l
        .filed("nddr", "2024-09-02")
        .repurchase_at(
            "2024-09-03",
            3,
            ("3.34", "3.33", "10"),
            json!({"purpose": "treasury"}),
        )
        .repurchase_at(
            "2024-09-03",
            1,
            ("4", "4", "4"),
            json!({"purpose": "treasury"}),
        );
    let doc = l.nddr("2024-09-03");
    let line = &doc.section_i[0].events[0];
    assert_eq!(
        (line.shares, line.issued_change, line.treasury_change),
        (4, -4, 4)
    );
    assert_eq!(js(&line.price), hkd("3.5"));
    // Three executions at 10 / 3 each: 3.333… to 2 places.
    let doc = l
        .filed("nddr", "2024-09-03")
        .repurchase_at(
            "2024-09-04",
            3,
            ("3.34", "3.33", "10"),
            json!({"purpose": "treasury"}),
        )
        .repurchase_at(
            "2024-09-04",
            3,
            ("3.34", "3.33", "10"),
            json!({"purpose": "treasury"}),
        )
        .repurchase_at(
            "2024-09-04",
            3,
            ("3.34", "3.33", "10"),
            json!({"purpose": "treasury"}),
        )
        .nddr("2024-09-04");
    assert_eq!(js(&doc.section_i[0].events[0].price), hkd("3.33"));
}

// ---- the opening balance --------------------------------------------------------------

#[test]
fn the_opening_is_the_later_of_the_last_nddr_and_the_last_monthly_return() {
    let base = || {
        round_issuer(json!({}))
            .opening("2023-01-31", 1_000_000_000, 0)
            .repurchase("2023-02-27", 1_000_000)
            .repurchase("2023-03-03", 2_000_000)
            .filed("nddr", "2023-03-03")
    };
    // The Monthly Return for March (31 March) is later than the NDDR of 3 March.
    let l = base()
        .filed("monthly", "2023-03-31")
        .repurchase_10("2023-04-03", 500_000);
    let doc = l.nddr("2023-04-03");
    assert_eq!(doc.previous_return, Some(d("2023-03-31")));
    let s = &doc.section_i[0];
    assert_eq!(s.opening_balance.date, d("2023-03-31"));
    let carried: Vec<(NaiveDate, bool, Option<&str>)> = s
        .events
        .iter()
        .map(|l| (l.date, l.carried_forward, l.percent.as_deref()))
        .collect();
    // Basis: 1,000,000,000 − 3,000,000 pending at the opening.
    assert_eq!(
        carried,
        [
            (d("2023-02-27"), true, None),
            (d("2023-03-03"), true, None),
            (
                d("2023-04-03"),
                false,
                Some(pct_of(500_000, 997_000_000).as_str())
            ),
        ]
    );

    // A Monthly Return for February (28 February) is earlier than the NDDR of 3 March.
    let l = base()
        .filed("monthly", "2023-02-28")
        .repurchase_10("2023-03-06", 500_000);
    let doc = l.nddr("2023-03-06");
    assert_eq!(doc.previous_return, Some(d("2023-03-03")));
    assert_eq!(doc.section_i[0].opening_balance.date, d("2023-03-03"));
    // Without any return filed, the opening is the class's opening balance.
    let l = round_issuer(json!({}))
        .opening("2023-01-31", 1_000_000_000, 0)
        .repurchase_10("2023-02-01", 1_000);
    let doc = l.nddr("2023-02-01");
    assert_eq!(doc.previous_return, None);
    assert_eq!(doc.section_i[0].opening_balance.date, d("2023-01-31"));
}

#[test]
fn carried_lines_repeat_a_percent_only_for_an_issuer_that_does() {
    let with = |carried: bool| {
        round_issuer(json!({"presentation": {"percent_on_carried_lines": carried,
                                             "percent_basis": "opening_balance"}}))
        .opening("2023-01-31", 1_000_000_000, 0)
        .repurchase("2023-02-01", 1_000_000)
        .filed("nddr", "2023-02-01")
        .repurchase_10("2023-02-02", 2_000_000)
        .nddr("2023-02-02")
    };
    let pcts = |doc: &Nddr| -> Vec<Option<String>> {
        doc.section_i[0]
            .events
            .iter()
            .map(|l| l.percent.clone())
            .collect()
    };
    assert_eq!(pcts(&with(true)), [Some("0.1".into()), Some("0.2".into())]);
    assert_eq!(pcts(&with(false)), [None, Some("0.2".into())]);
}

#[test]
fn an_nddr_date_without_an_event_or_with_nothing_new_is_an_error() {
    let l = round_issuer(json!({}))
        .opening("2023-01-31", 1_000_000_000, 0)
        .repurchase("2023-02-01", 1_000_000)
        .filed("nddr", "2023-02-01");
    match l.try_nddr("2023-02-03", None) {
        Err(ReturnError::NothingToDisclose { after, .. }) => {
            assert_eq!(after, Some(d("2023-02-01")))
        }
        other => panic!("expected NothingToDisclose, got {other:?}"),
    }
    let l = l.repurchase_10("2023-02-02", 1_000);
    match l.try_nddr("2023-02-03", None) {
        Err(ReturnError::NoEventOnDate { date, last }) => {
            assert_eq!((date, last), (d("2023-02-03"), d("2023-02-02")))
        }
        other => panic!("expected NoEventOnDate, got {other:?}"),
    }
}

// ---- Section II -------------------------------------------------------------------------

#[test]
fn several_executions_on_one_day_are_one_line_highest_of_highs_lowest_of_lows_sum_of_totals() {
    let l = round_issuer(json!({}))
        .opening("2025-11-28", 1_000_000_000, 0)
        .mandate(
            "2025-05-20",
            990_000_000,
            json!({"repurchased_before_ledger": 5_000_000,
                   "explanatory_statement_date": "2025-04-17"}),
        )
        .repurchase_at("2025-12-22", 100_000, ("10.2", "10", "1010000"), json!({}))
        .repurchase_at("2025-12-22", 50_000, ("10.5", "10.1", "510000"), json!({}))
        .repurchase_at("2025-12-22", 10_000, ("10.3", "9.9", "100500"), json!({}));
    let doc = l.nddr("2025-12-22");
    assert_eq!(
        js(&doc.section_ii[0].repurchases),
        json!([{"trading_date": "2025-12-22", "shares": 160_000, "method": "On the Exchange",
                "highest_price": hkd("10.5"), "lowest_price": hkd("9.9"),
                "total_paid": hkd("1620500")}])
    );
    assert_eq!(doc.section_ii[0].total_shares, 160_000);
    assert_eq!(js(&doc.section_ii[0].total_paid), hkd("1620500"));
    assert_eq!(
        js(&doc.section_ii[0].mandate),
        json!({"resolution_date": "2025-05-20",
               "authorised_shares": 99_000_000,
               "issued_shares_at_resolution": 990_000_000,
               "repurchased_under_mandate": 5_160_000,
               // 5,160,000 × 100 / 990,000,000 = 0.521212…
               "percent": "0.52121",
               // "Up to" 22 December 2025 + 30 days [filed: 21 January 2026].
               "moratorium_until": "2026-01-21",
               "explanatory_statement_date": "2025-04-17"})
    );
    // Part B: one line at the day's volume-weighted price 1,620,500 / 160,000.
    assert_eq!(
        js(&doc.section_i[0].pending_cancellation),
        json!([{"date": "2025-12-22", "shares": 160_000, "percent": "0.016",
                "price": hkd("10.1281")}])
    );
}

#[test]
fn section_ii_lists_each_trading_date_and_method_and_totals_cancellation_and_treasury() {
    let l = round_issuer(json!({}))
        .opening("2025-06-30", 1_000_000_000, 0)
        .mandate("2025-05-20", 1_000_000_000, json!({}))
        .repurchase_at("2025-07-02", 100_000, ("10", "10", "1000000"), json!({}))
        .repurchase_at(
            "2025-07-03",
            200_000,
            ("10", "10", "2000000"),
            json!({"purpose": "treasury"}),
        )
        .repurchase_at(
            "2025-07-03",
            300_000,
            ("9.5", "9.5", "2850000"),
            json!({"method": "private_arrangement"}),
        );
    let doc = l.nddr("2025-07-03");
    let s2 = &doc.section_ii[0];
    let rows: Vec<(NaiveDate, u64, &str)> = s2
        .repurchases
        .iter()
        .map(|r| (r.trading_date, r.shares, r.method.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (d("2025-07-02"), 100_000, "On the Exchange"),
            (d("2025-07-03"), 200_000, "On the Exchange"),
            (d("2025-07-03"), 300_000, "By private arrangement"),
        ]
    );
    assert_eq!(s2.total_shares, 600_000);
    assert_eq!(js(&s2.total_paid), hkd("5850000"));
    assert_eq!((s2.for_cancellation, s2.for_treasury), (400_000, 200_000));
    let m = s2.mandate.as_ref().expect("primary listing");
    // Only shares bought on the Exchange count towards (a).
    assert_eq!(m.repurchased_under_mandate, 300_000);
    assert_eq!(m.percent.as_deref(), Some("0.03"));
    assert_eq!(m.moratorium_until, Some(d("2025-08-02")));
    // Section I: the treasury line in Part A, the rest in Part B.
    let s = &doc.section_i[0];
    assert_eq!(
        js(&s.events),
        json!([nddr_line(
            FF305_TREASURY,
            "2025-07-03",
            200_000,
            -200_000,
            200_000,
            json!({"percent": "0.02", "price": hkd("10")})
        )])
    );
    assert_eq!(
        js(&s.pending_cancellation),
        json!([
            {"date": "2025-07-02", "shares": 100_000, "percent": "0.01", "price": hkd("10")},
            {"date": "2025-07-03", "shares": 300_000, "percent": "0.03", "price": hkd("9.5")}
        ])
    );
}

#[test]
fn a_repurchase_without_prices_in_the_window_is_an_error_naming_the_event() {
    let l = round_issuer(json!({}))
        .opening("2025-06-30", 1_000_000_000, 0)
        .mandate("2025-05-20", 1_000_000_000, json!({}))
        .repurchase_at("2025-07-02", 100_000, ("10", "10", "1000000"), json!({}))
        .repurchase("2025-07-02", 7_000); // the 5th event of the ledger
    let err = l.try_nddr("2025-07-02", None).expect_err("no prices");
    let missing = event_id(5);
    assert_eq!(
        err,
        ReturnError::MissingPrices {
            event: missing.to_string(),
            position: None,
            trade_date: d("2025-07-02"),
            shares: 7_000,
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&missing.to_string()) && msg.contains("2025-07-02"),
        "{msg}"
    );
    // Repurchases before the window need no prices (the seed's history).
    let l = l.filed("nddr", "2025-07-02").repurchase_at(
        "2025-07-03",
        1_000,
        ("10", "10", "10000"),
        json!({}),
    );
    assert_eq!(l.nddr("2025-07-03").section_ii[0].total_shares, 1_000);
}

#[test]
fn the_mandate_in_force_is_the_latest_and_counts_only_its_own_repurchases() {
    let l = round_issuer(json!({}))
        .opening("2024-12-31", 1_000_000_000, 0)
        .mandate("2024-05-20", 950_000_000, json!({}))
        .repurchase_at("2025-01-02", 2_000_000, ("10", "10", "20000000"), json!({}))
        .filed("nddr", "2025-01-02")
        .mandate(
            "2025-05-21",
            998_000_000,
            json!({"authorised_shares": 90_000_000}),
        )
        .repurchase_at("2025-06-02", 1_000_000, ("10", "10", "10000000"), json!({}));
    let doc = l.nddr("2025-06-02");
    let m = doc.section_ii[0].mandate.as_ref().expect("a mandate");
    assert_eq!(m.resolution_date, d("2025-05-21"));
    assert_eq!(m.authorised_shares, 90_000_000);
    assert_eq!(m.repurchased_under_mandate, 1_000_000);
    assert_eq!(
        m.percent.as_deref(),
        Some(pct_of(1_000_000, 998_000_000).as_str())
    );
}

#[test]
fn no_mandate_figures_without_a_primary_listing_on_the_exchange() {
    let l = round_issuer(json!({"primary_listing": false}))
        .opening("2025-06-30", 1_000_000_000, 0)
        .mandate("2025-05-20", 1_000_000_000, json!({}))
        .repurchase_at("2025-07-02", 100_000, ("10", "10", "1000000"), json!({}));
    let doc = l.nddr("2025-07-02");
    assert!(!doc.primary_listing);
    assert_eq!(js(&doc.section_ii[0])["mandate"], Value::Null);
}

// ---- Section III --------------------------------------------------------------------------

#[test]
fn section_iii_lists_on_market_sales_of_treasury_shares_per_trading_date() {
    let sale = |date: &str, shares: u64, hi: &str, lo: &str, total: &str| {
        json!({"trade_date": date, "shares": shares, "currency": "HKD",
               "highest_price": hi, "lowest_price": lo, "total_received": total})
    };
    let l = round_issuer(json!({}))
        .opening("2025-06-30", 990_000_000, 10_000_000)
        .class_event(
            "treasury_shares_sold",
            sale("2025-09-01", 100_000, "12", "11.5", "1180000"),
        )
        .class_event(
            "treasury_shares_sold",
            sale("2025-09-01", 50_000, "12.2", "11.8", "600000"),
        )
        .class_event(
            "treasury_shares_transferred",
            json!({"date": "2025-09-01", "shares": 20_000, "purpose": "share award",
                   "scheme": "2024 Share Award Scheme"}),
        );
    let doc = l.nddr("2025-09-01");
    assert_eq!(
        js(&doc.section_iii),
        json!([{"class": "ORD", "trading_date": "2025-09-01", "shares": 150_000,
                "method": "On the Exchange", "highest_price": hkd("12.2"),
                "lowest_price": hkd("11.5"), "total_received": hkd("1780000")}])
    );
    let s = &doc.section_i[0];
    assert_eq!(
        js(&s.events),
        json!([
            nddr_line(
                "Sale of treasury shares",
                "2025-09-01",
                150_000,
                150_000,
                -150_000,
                json!({"percent": "0.01515", "price": hkd("11.8667")})
            ),
            nddr_line(
                "Transfer of treasury shares",
                "2025-09-01",
                20_000,
                20_000,
                -20_000,
                json!({"percent": "0.00202",
                             "detail": "share award (2024 Share Award Scheme)"})
            ),
        ])
    );
    assert_eq!(
        js(&s.closing_balance),
        balance_row("2025-09-01", 990_170_000, 9_830_000)
    );
    assert!(doc.section_ii.is_empty());
}

// ---- the Monthly Return ---------------------------------------------------------------------

#[test]
fn monthly_return_before_june_2024_reconciles_with_every_part_iii_movement() {
    let l = round_issuer(json!({}))
        .opening("2023-02-28", 1_000_000_000, 0)
        .mandate("2022-06-01", 980_000_000, json!({}))
        .class_event(
            "share_option_scheme_adopted",
            json!({"scheme": "2015 Scheme", "adoption_date": "2015-06-01",
                   "general_meeting_date": "2015-05-20", "outstanding_options": 5_000_000}),
        )
        .issuer_event(
            "share_options_granted",
            json!({"scheme": "2015 Scheme", "date": "2023-02-10", "options": 1_000_000}),
        )
        .issuer_event(
            "share_options_granted",
            json!({"scheme": "2015 Scheme", "date": "2023-03-01", "options": 400_000}),
        )
        .issue(
            "2023-03-06",
            300_000,
            "share_option_exercise",
            json!({"scheme": "2015 Scheme", "currency": "HKD", "price": "2.5"}),
        )
        .issue(
            "2023-03-20",
            200_000,
            "share_option_exercise",
            json!({"scheme": "2015 Scheme", "currency": "HKD", "price": "3"}),
        )
        .issuer_event(
            "share_options_lapsed",
            json!({"scheme": "2015 Scheme", "date": "2023-03-21", "options": 100_000}),
        )
        .issuer_event(
            "share_options_cancelled",
            json!({"scheme": "2015 Scheme", "date": "2023-03-22", "options": 50_000}),
        )
        .issue(
            "2023-03-07",
            1_000_000,
            "warrant_exercise",
            json!({"scheme": "2022 Warrants", "currency": "HKD", "price": "1.2"}),
        )
        .issue(
            "2023-03-08",
            2_000_000,
            "conversion",
            json!({"scheme": "2025 Convertible Bonds"}),
        )
        .issue(
            "2023-03-09",
            10_000_000,
            "placing",
            json!({"currency": "HKD", "price": "1.5", "general_meeting_date": "2022-06-01"}),
        )
        .issue(
            "2023-03-10",
            500_000,
            "other",
            json!({"description": "Issue to a consultant"}),
        )
        .issue(
            "2023-03-10",
            10_000,
            "share_award",
            json!({"scheme": "2021 Share Award Plan"}),
        )
        .repurchase("2023-03-13", 400_000)
        .repurchase("2023-03-14", 100_000)
        .cancel("2023-03-24", 400_000)
        .class_event(
            "authorised_shares_changed",
            json!({"date": "2023-03-15", "authorised_shares": 3_000_000_000u64}),
        );
    let doc = l.monthly(2023, 3);
    assert_eq!(doc.form, "FF301");
    assert!(!doc.treasury_columns);
    assert_eq!(doc.month_ended, d("2023-03-31"));

    // Part I: authorised shares changed in the month; capital = shares × par.
    assert_eq!(
        js(&doc.authorised[0]),
        json!({"class": "ORD",
               "class_info": {"class_of_shares": "Ordinary shares", "type_of_shares": "Not applicable",
                              "listed": true, "stock_code": "01234", "description": null},
               "preceding": 2_000_000_000u64, "change": 1_000_000_000, "closing": 3_000_000_000u64,
               "par_value": hkd("0.1"),
               "capital_preceding": hkd("200000000"), "capital_closing": hkd("300000000")})
    );
    assert_eq!(js(&doc.total_authorised_capital), json!([hkd("300000000")]));

    // Part II: +300,000 + 200,000 + 1,000,000 + 2,000,000 + 10,000,000 + 500,000
    // + 10,000 − 400,000.
    let change = 13_610_000;
    assert_eq!(
        js(&doc.issued[0])["change"],
        json!({"issued_excluding_treasury": change, "treasury": 0, "total": change})
    );
    assert_eq!(
        doc.issued[0].closing.issued_excluding_treasury,
        1_000_000_000 + change
    );

    // (A) the scheme: 6,000,000 outstanding at the end of February.
    assert_eq!(
        js(&doc.movements.share_options),
        json!([{"scheme": "2015 Scheme", "class": "ORD", "general_meeting_date": "2015-05-20",
                "outstanding_preceding": 6_000_000, "granted": 400_000, "exercised": 500_000,
                "cancelled": 50_000, "lapsed": 100_000, "outstanding_closing": 5_750_000,
                "issued_during_month": 500_000, "treasury_during_month": 0,
                "issuable_at_close": 5_750_000, "funds_raised": [hkd("1350000")]}])
    );
    // (B) warrants, (C) convertibles; (D) nothing.
    assert_eq!(
        js(&doc.movements.warrants),
        json!([{"name": "2022 Warrants", "class": "ORD", "kind": "Warrants",
                "issued_during_month": 1_000_000, "treasury_during_month": 0,
                "funds_raised": [hkd("1200000")]}])
    );
    assert_eq!(
        js(&doc.movements.convertibles),
        json!([{"name": "2025 Convertible Bonds", "class": "ORD", "kind": "Convertibles",
                "issued_during_month": 2_000_000, "treasury_during_month": 0,
                "funds_raised": []}])
    );
    // (D) the share award plan.
    assert_eq!(
        js(&doc.movements.other_arrangements),
        json!([{"name": "2021 Share Award Plan", "class": "ORD", "kind": "Share award",
                "issued_during_month": 10_000, "treasury_during_month": 0,
                "funds_raised": []}])
    );
    // (E): the placing, the other issue, the cancellation, and the shares still pending.
    assert_eq!(
        js(&doc.movements.other),
        json!([
            {"type": "Placing", "class": "ORD", "date": "2023-03-09",
             "general_meeting_date": "2022-06-01", "price": hkd("1.5"),
             "issued_during_month": 10_000_000, "treasury_during_month": null,
             "issuable_at_close": null},
            {"type": "Other (Issue to a consultant)", "class": "ORD", "date": "2023-03-10",
             "general_meeting_date": null, "price": null,
             "issued_during_month": 500_000, "treasury_during_month": null,
             "issuable_at_close": null},
            {"type": "Repurchase of shares", "class": "ORD", "date": "2023-03-24",
             "general_meeting_date": "2022-06-01", "price": null,
             "issued_during_month": -400_000, "treasury_during_month": null,
             "issuable_at_close": null},
            {"type": "Repurchase of shares", "class": "ORD", "date": null,
             "general_meeting_date": "2022-06-01", "price": null,
             "issued_during_month": null, "treasury_during_month": null,
             "issuable_at_close": -100_000}
        ])
    );
    assert_eq!(
        js(&doc.total_change),
        json!([{"class": "ORD", "issued_excluding_treasury": change, "treasury": 0}])
    );
    assert_eq!(
        doc.remarks.as_deref(),
        Some(
            "Repurchases of a total of 100,000 ordinary shares were made on 14 March 2023 \
             but such shares are not yet cancelled as at 31 March 2023."
        )
    );
}

#[test]
fn monthly_return_from_june_2024_has_treasury_columns_that_reconcile() {
    let l = round_issuer(json!({}))
        .opening("2024-06-30", 990_000_000, 10_000_000)
        .mandate("2024-05-20", 990_000_000, json!({}))
        .repurchase_at(
            "2024-07-02",
            1_000_000,
            ("10", "10", "10000000"),
            json!({"purpose": "treasury"}),
        )
        .repurchase_at(
            "2024-07-03",
            500_000,
            ("10", "10", "5000000"),
            json!({"purpose": "treasury"}),
        )
        .repurchase_at("2024-07-04", 200_000, ("10", "10", "2000000"), json!({}))
        .cancel("2024-07-15", 200_000)
        .class_event(
            "treasury_shares_sold",
            json!({"trade_date": "2024-07-16", "shares": 300_000, "currency": "HKD",
                   "highest_price": "11", "lowest_price": "11", "total_received": "3300000"}),
        )
        .class_event(
            "treasury_shares_transferred",
            json!({"date": "2024-07-17", "shares": 100_000, "purpose": "share award"}),
        )
        .class_event(
            "treasury_shares_cancelled",
            json!({"date": "2024-07-18", "shares": 2_000_000}),
        );
    let doc = l.monthly(2024, 7);
    assert!(doc.treasury_columns);
    // Issued: −1,000,000 −500,000 −200,000 +300,000 +100,000 = −1,300,000.
    // Treasury: +1,000,000 +500,000 −300,000 −100,000 −2,000,000 = −900,000.
    assert_eq!(
        js(&doc.issued[0]),
        json!({"class": "ORD",
               "class_info": {"class_of_shares": "Ordinary shares", "type_of_shares": "Not applicable",
                              "listed": true, "stock_code": "01234", "description": null},
               "preceding": {"issued_excluding_treasury": 990_000_000, "treasury": 10_000_000,
                             "total": 1_000_000_000},
               "change": {"issued_excluding_treasury": -1_300_000, "treasury": -900_000,
                          "total": -2_200_000},
               "closing": {"issued_excluding_treasury": 988_700_000, "treasury": 9_100_000,
                           "total": 997_800_000}})
    );
    let other: Vec<(String, Option<i64>, Option<i64>)> = doc
        .movements
        .other
        .iter()
        .map(|r| {
            (
                r.kind.clone(),
                r.issued_during_month,
                r.treasury_during_month,
            )
        })
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        other,
        // In date order.
        [
            (s(FF305_TREASURY), Some(-1_000_000), Some(1_000_000)),
            (s(FF305_TREASURY), Some(-500_000), Some(500_000)),
            (s(FF305_CANCELLED), Some(-200_000), None),
            (s("Sale of treasury shares"), Some(300_000), Some(-300_000)),
            (
                s("Transfer of treasury shares (share award)"),
                Some(100_000),
                Some(-100_000)
            ),
            (s("Cancellation of treasury shares"), None, Some(-2_000_000)),
        ]
    );
    assert_eq!(
        js(&doc.total_change),
        json!([{"class": "ORD", "issued_excluding_treasury": -1_300_000, "treasury": -900_000}])
    );
    assert_eq!(doc.remarks, None);

    // May 2024: the old layout, no treasury columns.
    let l = round_issuer(json!({})).opening("2024-04-30", 1_000_000_000, 0);
    assert!(!l.monthly(2024, 5).treasury_columns);
}

#[test]
fn an_empty_month_is_not_applicable_everywhere() {
    let l = round_issuer(json!({})).opening("2023-01-31", 1_000_000_000, 0);
    let doc = l.monthly(2023, 2);
    let v = js(&doc);
    assert_eq!(
        v["movements"],
        json!({"share_options": [], "warrants": [], "convertibles": [],
               "other_arrangements": [], "other": []})
    );
    assert_eq!(v["remarks"], Value::Null);
    assert_eq!(v["authorised"][0]["change"], Value::Null);
    assert_eq!(
        v["issued"][0]["change"],
        json!({"issued_excluding_treasury": 0, "treasury": 0, "total": 0})
    );
    assert_eq!(
        v["total_change"],
        json!([{"class": "ORD", "issued_excluding_treasury": 0, "treasury": 0}])
    );
    assert_eq!(v["date_submitted"], json!("2030-01-02"));
    assert_eq!(v["month_ended"], json!("2023-02-28"));
}

#[test]
fn remarks_list_pending_repurchases_over_several_months_and_a_change_of_year() {
    let l = round_issuer(json!({}))
        .opening("2023-11-30", 1_000_000_000, 0)
        .mandate("2023-05-20", 1_000_000_000, json!({}))
        .repurchase("2023-12-28", 100_000)
        .repurchase("2023-12-29", 200_000)
        .repurchase("2024-01-02", 300_000)
        .repurchase("2024-01-03", 400_000)
        .repurchase("2024-02-01", 1_000);
    let doc = l.monthly(2024, 1);
    assert_eq!(
        doc.remarks.as_deref(),
        Some(
            "Repurchases of a total of 1,000,000 ordinary shares were made on 28, 29 December 2023, \
             2 and 3 January 2024 but such shares are not yet cancelled as at 31 January 2024."
        )
    );
    assert_eq!(
        js(&doc.movements.other),
        json!([{"type": "Repurchase of shares", "class": "ORD", "date": null,
                "general_meeting_date": "2023-05-20", "price": null,
                "issued_during_month": null, "treasury_during_month": null,
                "issuable_at_close": -1_000_000}])
    );
    // December alone.
    assert_eq!(
        l.monthly(2023, 12).remarks.as_deref(),
        Some(
            "Repurchases of a total of 300,000 ordinary shares were made on 28 and 29 December 2023 \
             but such shares are not yet cancelled as at 31 December 2023."
        )
    );
}

#[test]
fn a_cancellation_names_the_general_meeting_of_the_mandate_the_shares_were_bought_under() {
    // Bought under the 2023 mandate, cancelled after the 2024 AGM renewed it.
    let l = round_issuer(json!({}))
        .opening("2024-04-30", 1_000_000_000, 0)
        .mandate("2023-05-20", 1_000_000_000, json!({}))
        .repurchase("2024-05-10", 100_000)
        .repurchase("2024-05-31", 50_000)
        .mandate("2024-05-22", 1_000_000_000, json!({}))
        .cancel("2024-06-14", 120_000);
    let doc = l.monthly(2024, 5);
    let gm: Vec<(Option<NaiveDate>, Option<i64>)> = doc
        .movements
        .other
        .iter()
        .map(|r| (r.general_meeting_date, r.issuable_at_close))
        .collect();
    assert_eq!(
        gm,
        [
            (Some(d("2023-05-20")), Some(-100_000)),
            (Some(d("2024-05-22")), Some(-50_000)),
        ]
    );
    let doc = l.monthly(2024, 6);
    let gm: Vec<(Option<NaiveDate>, Option<i64>, Option<i64>)> = doc
        .movements
        .other
        .iter()
        .map(|r| {
            (
                r.general_meeting_date,
                r.issued_during_month,
                r.issuable_at_close,
            )
        })
        .collect();
    assert_eq!(
        gm,
        [
            // 100,000 of 10 May (2023 mandate) and 20,000 of 31 May (2024 mandate).
            (Some(d("2023-05-20")), Some(-100_000), None),
            (Some(d("2024-05-22")), Some(-20_000), None),
            (Some(d("2024-05-22")), None, Some(-30_000)),
        ]
    );
}

#[test]
fn two_classes_each_reconcile_and_the_remarks_name_the_class() {
    let l = Ledger::new(
        "02121",
        "H",
        json!({}),
        json!({"type_of_shares": "H", "par_value": {"currency": "RMB", "amount": "1"},
               "authorised_shares": 559_304_838}),
    )
    .opening("2022-10-31", 559_304_838, 0)
    .class_event(
        "share_class_defined",
        json!({"class": "A", "class_of_shares": "Ordinary shares", "type_of_shares": "A",
               "stock_code": "688000", "listed": false,
               "par_value": {"currency": "RMB", "amount": "1"}, "authorised_shares": 1_000_000}),
    )
    .class_event(
        "opening_balance",
        json!({"class": "A", "date": "2022-10-31", "issued_shares": 1_000_000}),
    )
    .repurchase("2022-11-07", 4_300)
    .class_event(
        "shares_issued",
        json!({"class": "A", "date": "2022-11-08", "shares": 1_000, "kind": "other",
               "description": "Test"}),
    );
    let doc = l.monthly(2022, 11);
    assert_eq!(
        js(&doc.total_authorised_capital),
        json!([{"currency": "RMB", "amount": "560304838"}])
    );
    assert_eq!(doc.issued.len(), 2);
    assert_eq!(
        doc.remarks.as_deref(),
        Some(
            "Repurchases of a total of 4,300 ordinary shares (class H) were made on 7 November 2022 \
             but such shares are not yet cancelled as at 30 November 2022."
        )
    );
    // The NDDR of 8 November, after the one of 7 November: only class A has
    // something new; class H is left out.
    let doc = l.filed("nddr", "2022-11-07").nddr("2022-11-08");
    let classes: Vec<&str> = doc.section_i.iter().map(|s| s.class.as_str()).collect();
    assert_eq!(classes, ["A"]);
    assert_eq!(doc.section_i[0].events[0].percent.as_deref(), Some("0.1"));
    assert!(doc.section_ii.is_empty());
}

#[test]
fn a_redemption_not_yet_cancelled_is_carried_and_remarked_like_a_repurchase() {
    let l = round_issuer(json!({}))
        .opening("2023-05-31", 1_000_000_000, 0)
        .class_event(
            "shares_redeemed",
            json!({"date": "2023-06-01", "shares": 1_000_000, "currency": "HKD",
                   "price": "1.05", "cancelled": false}),
        )
        .filed("nddr", "2023-06-01")
        .class_event(
            "shares_redeemed",
            json!({"date": "2023-06-02", "shares": 500_000, "currency": "HKD", "price": "1.05"}),
        );
    let doc = l.nddr("2023-06-02");
    assert_eq!(
        js(&doc.section_i[0].events),
        json!([
            nddr_line(
                "Redemption of shares (or other securities) but not cancelled",
                "2023-06-01",
                1_000_000,
                0,
                0,
                json!({"carried_forward": true})
            ),
            // Note 4: on 1,000,000,000 − 1,000,000 redeemed but not cancelled.
            nddr_line(
                "Redemption of shares",
                "2023-06-02",
                500_000,
                -500_000,
                0,
                json!({"percent": pct_of(500_000, 999_000_000), "price": hkd("1.05")})
            ),
        ])
    );
    let l = l.cancel("2023-07-03", 400_000);
    let june = l.monthly(2023, 6);
    let rows = other_rows(&june);
    assert_eq!(
        rows,
        [
            (
                "Redemption of shares",
                Some(d("2023-06-02")),
                Some(-500_000),
                None
            ),
            ("Redemption of shares", None, None, Some(-1_000_000)),
        ]
    );
    assert_eq!(
        june.remarks.as_deref(),
        Some(
            "Redemptions of a total of 1,000,000 ordinary shares were made on 1 June 2023 \
             but such shares are not yet cancelled as at 30 June 2023."
        )
    );
    let july = l.monthly(2023, 7);
    let rows = other_rows(&july);
    assert_eq!(
        rows,
        [
            (
                "Redemption of shares",
                Some(d("2023-07-03")),
                Some(-400_000),
                None
            ),
            ("Redemption of shares", None, None, Some(-600_000)),
        ]
    );
}

/// An issue whose price × shares is beyond a decimal (~7.9e28).
fn absurd_issue(l: &Ledger, price: &str) -> Value {
    json!({"type": "shares_issued", "issuer": l.issuer, "class": l.class, "date": "2023-02-01",
           "shares": 999_999_999_000_000u64, "kind": "share_option_exercise",
           "scheme": "S", "currency": "HKD", "price": price})
}

#[test]
fn an_issue_whose_price_times_shares_overflows_is_refused() {
    let l = round_issuer(json!({}))
        .opening("2023-01-31", 1_000, 0)
        .class_event(
            "share_option_scheme_adopted",
            json!({"scheme": "S", "adoption_date": "2020-01-01",
                   "outstanding_options": 1_000_000_000_000_000u64}),
        );
    // Beyond any amount: refused when read (issue #11).
    let line = absurd_issue(&l, "79000000000000000000000");
    let e = parse_line(&line.to_string()).expect_err("refused when read");
    assert_eq!(e.field.as_deref(), Some("price"));
    // Within the amount bound but price × shares beyond a decimal, built
    // past the door: the core refuses it too.
    let line = absurd_issue(&l, "1000000000000000000");
    let r = shareledger_core::Recorded {
        id: event_id(99),
        recorded_at: clock(),
        actor: "tester".into(),
        note: None,
        event: serde_json::from_value(line).expect("an event"),
        position: None,
    };
    let mut register = l.register.clone();
    assert!(
        register.execute(r).is_err(),
        "an issue raising more than any decimal can hold was accepted"
    );
}

#[test]
fn an_option_exercise_of_another_class_than_its_scheme_is_refused() {
    let l = round_issuer(json!({}))
        .opening("2023-01-31", 1_000_000, 0)
        .class_event(
            "share_class_defined",
            json!({"class": "PREF", "class_of_shares": "Preference shares"}),
        )
        .class_event(
            "opening_balance",
            json!({"class": "PREF", "date": "2023-01-31", "issued_shares": 1_000}),
        )
        .class_event(
            "share_option_scheme_adopted",
            json!({"scheme": "S", "adoption_date": "2020-01-01", "outstanding_options": 1_000}),
        );
    let line = json!({"type": "shares_issued", "issuer": l.issuer, "class": "PREF",
                      "date": "2023-02-01", "shares": 100, "kind": "share_option_exercise",
                      "scheme": "S"});
    let mut register = l.register.clone();
    let r = parse_line(&line.to_string())
        .expect("parses")
        .into_recorded(|| event_id(99), clock(), "tester");
    if register.execute(r).is_ok() {
        // Accepted: then at least the Monthly Return must reconcile.
        let state = register.issuer(l.issuer).expect("registered");
        let doc = monthly(
            state,
            &MonthlyRequest {
                year: 2023,
                month: 2,
                submitted: d("2023-03-01"),
            },
        );
        assert!(doc.is_ok(), "{doc:?}");
    }
}

/// (E) rows as (type, date, issued during the month, issuable at the close).
type OtherRow<'a> = (&'a str, Option<NaiveDate>, Option<i64>, Option<i64>);

fn other_rows(doc: &MonthlyReturn) -> Vec<OtherRow<'_>> {
    doc.movements
        .other
        .iter()
        .map(|r| {
            (
                r.kind.as_str(),
                r.date,
                r.issued_during_month,
                r.issuable_at_close,
            )
        })
        .collect()
}

// ---- helpers for expected figures -----------------------------------------------------------

/// `part` as a % of `whole`, 5 places half-up (the default policy), computed
/// here independently of the code under test.
fn pct_of(part: u64, whole: u64) -> String {
    let scaled = part as u128 * 100 * 100_000;
    let w = whole as u128;
    let mut q = scaled / w;
    if 2 * (scaled % w) >= w {
        q += 1;
    }
    let s = format!("{}.{:05}", q / 100_000, q % 100_000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[test]
fn pct_of_agrees_with_the_filed_figures() {
    assert_eq!(pct_of(979_000, 9_190_417_249), "0.01065");
    assert_eq!(pct_of(1_000_000, 1_000_000_000), "0.1");
}

#[test]
fn a_filed_nddr_keeps_its_opening_after_a_later_monthly_return_is_filed() {
    // NDDR of 20 January filed; repurchase 1 February, its NDDR filed; then
    // the January Monthly Return (closing date 31 January) is filed on
    // 3 February. The 1 February NDDR regenerated now must still open at
    // 20 January, as filed; a new NDDR after it opens at 1 February.
    let l = round_issuer(json!({}))
        .opening("2025-01-10", 1_000_000, 0)
        .repurchase_10("2025-01-20", 1_000)
        .filed("nddr", "2025-01-20")
        .repurchase_10("2025-02-01", 2_000)
        .filed("nddr", "2025-02-01")
        .filed("monthly", "2025-01-31")
        .repurchase_10("2025-02-05", 3_000);
    let doc = l.nddr("2025-02-01");
    assert_eq!(doc.previous_return, Some(d("2025-01-20")));
    assert_eq!(doc.section_i[0].opening_balance.date, d("2025-01-20"));
    let next = l.nddr("2025-02-05");
    assert_eq!(next.previous_return, Some(d("2025-02-01")));
}

// ---- Part III (E): lines of one date in the order the events happened ---------------

/// (type, date, issued, treasury) of a Part III (E) row.
type PartERow = (String, Option<NaiveDate>, Option<i64>, Option<i64>);

/// The Part III (E) rows of a Monthly Return.
fn part_e(doc: &MonthlyReturn) -> Vec<PartERow> {
    doc.movements
        .other
        .iter()
        .map(|r| {
            (
                r.kind.clone(),
                r.date,
                r.issued_during_month,
                r.treasury_during_month,
            )
        })
        .collect()
}

#[test]
fn part_iii_e_keeps_the_log_order_of_issues_and_cancellations_within_a_date() {
    // Given shares repurchased in March, then on 20 March a cancellation
    // recorded before a placing, and on 25 March a placing recorded before a
    // cancellation.
    let l = round_issuer(json!({}))
        .opening("2023-02-28", 1_000_000_000, 0)
        .mandate("2023-01-10", 1_000_000_000, json!({}))
        .repurchase_10("2023-03-01", 300_000)
        .cancel("2023-03-20", 100_000)
        .issue(
            "2023-03-20",
            5_000_000,
            "placing",
            json!({"currency": "HKD", "price": "9"}),
        )
        .issue(
            "2023-03-25",
            2_000_000,
            "placing",
            json!({"currency": "HKD", "price": "9.5"}),
        )
        .cancel("2023-03-25", 200_000);
    // When the Monthly Return for March is produced,
    let doc = l.monthly(2023, 3);
    // then each date's lines are in log order, whatever their kind.
    let s = |x: &str| x.to_string();
    assert_eq!(
        part_e(&doc),
        [
            (
                s("Repurchase of shares"),
                Some(d("2023-03-20")),
                Some(-100_000),
                None
            ),
            (s("Placing"), Some(d("2023-03-20")), Some(5_000_000), None),
            (s("Placing"), Some(d("2023-03-25")), Some(2_000_000), None),
            (
                s("Repurchase of shares"),
                Some(d("2023-03-25")),
                Some(-200_000),
                None
            ),
        ]
    );
}

#[test]
fn part_iii_e_treasury_era_rows_of_one_date_follow_the_log() {
    // Given, on one July 2024 day: a cancellation, then a repurchase into
    // treasury, then a transfer of treasury shares to a share award scheme,
    // then a placing.
    let l = round_issuer(json!({}))
        .opening("2024-06-30", 990_000_000, 10_000_000)
        .mandate("2024-05-20", 990_000_000, json!({}))
        .repurchase_10("2024-07-02", 400_000)
        .cancel("2024-07-10", 400_000)
        .repurchase_at(
            "2024-07-10",
            100_000,
            ("10", "10", "1000000"),
            json!({"purpose": "treasury"}),
        )
        .class_event(
            "treasury_shares_transferred",
            json!({"date": "2024-07-10", "shares": 50_000, "purpose": "share award scheme",
                   "scheme": "2024 Share Award Scheme"}),
        )
        .issue(
            "2024-07-10",
            1_000_000,
            "placing",
            json!({"currency": "HKD", "price": "9"}),
        );
    let doc = l.monthly(2024, 7);
    let s = |x: &str| x.to_string();
    let day = Some(d("2024-07-10"));
    assert_eq!(
        part_e(&doc),
        [
            (s(FF305_CANCELLED), day, Some(-400_000), None),
            (s(FF305_TREASURY), day, Some(-100_000), Some(100_000)),
            (
                s("Transfer of treasury shares (share award scheme: 2024 Share Award Scheme)"),
                day,
                Some(50_000),
                Some(-50_000)
            ),
            (s("Placing"), day, Some(1_000_000), None),
        ]
    );
}
