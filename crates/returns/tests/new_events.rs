//! Given / when / then for the share-capital events of issue #13:
//! reclassifications, capital reorganisations, warrants, convertibles and
//! other arrangements. *Given* a ledger built from JSON lines as a user
//! imports them, *when* a return is produced, *then* it shows what the forms
//! call for; every NDDR and Monthly Return built here is also checked to
//! reconcile (closing = opening + lines; Part III's total = Part II's change).

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use serde_json::{json, Value};
use shareledger_core::{parse_line, IssuerState, Refusal, RefusalKind as K, Register};
use shareledger_returns::document::{MonthlyReturn, Nddr};
use shareledger_returns::monthly::{monthly, MonthlyRequest};
use shareledger_returns::nddr::{nddr, NddrRequest};
use uuid::Uuid;

const ISSUER: &str = "09999";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("bad test date {s}: {e}"))
}

fn clock() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-12-31T09:00:00+08:00").expect("valid time")
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

#[allow(dead_code)]
fn js<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("documents serialize")
}

/// One issuer built event by event; every `given` event must be accepted.
#[derive(Clone)]
struct Ledger {
    register: Register,
    seq: u64,
}

impl Ledger {
    /// The issuer registered, with a signatory.
    fn new() -> Self {
        Ledger {
            register: Register::new(),
            seq: 0,
        }
        .line(json!({"type": "issuer_registered", "issuer": ISSUER,
                     "name": "Harbour Test Holdings Limited",
                     "signatory": {"name": "Chan Tai Man", "title": "Company Secretary"}}))
    }

    fn try_line(&mut self, line: &Value) -> Result<(), Refusal> {
        let text = line.to_string();
        let incoming =
            parse_line(&text).unwrap_or_else(|e| panic!("test line does not parse: {e}\n{text}"));
        let seq = self.seq;
        let r = incoming.into_recorded(
            || Uuid::from_u128(0x13e0_0000_0000_0000_0000_0000_0000_0000 + seq as u128),
            clock() + Duration::minutes(seq as i64),
            "tester",
        );
        self.seq += 1;
        self.register.execute(r)
    }

    fn line(mut self, line: Value) -> Self {
        if let Err(refusal) = self.try_line(&line) {
            panic!("given event refused: {refusal}\n{line}");
        }
        self
    }

    /// An event of the issuer (`type` and `issuer` added).
    fn ev(self, ty: &str, fields: Value) -> Self {
        self.line(merge(json!({"type": ty, "issuer": ISSUER}), fields))
    }

    /// The event under test is refused: kind, field, figures named; nothing changed.
    fn refused(&self, ty: &str, fields: Value, kind: K, field: &str, figures: &[&str]) {
        let mut l = self.clone();
        let line = merge(json!({"type": ty, "issuer": ISSUER}), fields);
        let refusal = match l.try_line(&line) {
            Ok(()) => panic!("expected {kind:?} on `{field}`, but it was accepted\n{line}"),
            Err(r) => r,
        };
        assert_eq!(refusal.kind, kind, "{refusal}");
        assert_eq!(refusal.field, field, "{refusal}");
        let text = format!("{} {}", refusal.message, refusal.hint);
        for f in figures {
            assert!(text.contains(f), "refusal should mention `{f}`: {refusal}");
        }
        assert!(
            l.register == self.register,
            "a refused event changed the register"
        );
    }

    fn class(self, class: &str, fields: Value) -> Self {
        self.ev(
            "share_class_defined",
            merge(
                json!({"class": class, "class_of_shares": "Ordinary shares", "stock_code": ISSUER}),
                fields,
            ),
        )
    }

    fn opening(self, class: &str, date: &str, issued: u64, treasury: u64) -> Self {
        self.ev(
            "opening_balance",
            json!({"class": class, "date": date, "issued_shares": issued, "treasury_shares": treasury}),
        )
    }

    fn filed(self, form: &str, date: &str) -> Self {
        self.ev(
            "return_filed",
            json!({"form": form, "date": date, "submitted_at": format!("{date}T19:00:00+08:00")}),
        )
    }

    fn state(&self) -> &IssuerState {
        self.register.issuer(ISSUER).expect("registered")
    }

    fn nddr(&self, date: &str) -> Nddr {
        let doc = nddr(
            self.state(),
            &NddrRequest {
                date: d(date),
                submitted: None,
                layout: None,
            },
        )
        .unwrap_or_else(|e| panic!("NDDR of {date}: {e}"));
        for s in &doc.section_i {
            let issued: i64 = s.events.iter().map(|l| l.issued_change).sum();
            let treasury: i64 = s.events.iter().map(|l| l.treasury_change).sum();
            assert_eq!(
                s.opening_balance.issued_excluding_treasury as i64 + issued,
                s.closing_balance.issued_excluding_treasury as i64,
                "class {}: issued does not reconcile",
                s.class
            );
            assert_eq!(
                s.opening_balance.treasury as i64 + treasury,
                s.closing_balance.treasury as i64,
                "class {}: treasury does not reconcile",
                s.class
            );
        }
        doc
    }

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
        for (row, total) in doc.issued.iter().zip(&doc.total_change) {
            assert_eq!(
                row.change.issued_excluding_treasury,
                total.issued_excluding_treasury
            );
            assert_eq!(row.change.treasury, total.treasury);
        }
        doc
    }
}

/// A Part III (E) row: (type, date, issued during the month, issuable at the close).
type PartERow = (String, Option<NaiveDate>, Option<i64>, Option<i64>);

/// Part III (E) rows of `class`.
fn part_e(doc: &MonthlyReturn, class: &str) -> Vec<PartERow> {
    doc.movements
        .other
        .iter()
        .filter(|r| r.class == class)
        .map(|r| {
            (
                r.kind.clone(),
                r.date,
                r.issued_during_month,
                r.issuable_at_close,
            )
        })
        .collect()
}

// ---- shares_reclassified ---------------------------------------------------------

const B_TO_A: &str = "Conversion of Class B ordinary shares to Class A ordinary shares";

/// A WVR issuer: 1,000,000,000 class A and 100,000,000 class B shares at 30 June 2024.
fn wvr() -> Ledger {
    Ledger::new()
        .class("A", json!({"class_of_shares": "Class A ordinary shares"}))
        .class(
            "B",
            json!({"class_of_shares": "Class B ordinary shares", "listed": false}),
        )
        .opening("A", "2024-06-30", 1_000_000_000, 0)
        .opening("B", "2024-06-30", 100_000_000, 0)
}

fn reclassify(date: &str, shares: u64) -> Value {
    json!({"from_class": "B", "to_class": "A", "date": date, "shares": shares, "description": B_TO_A})
}

#[test]
fn a_reclassification_moves_shares_between_the_classes_in_both_returns() {
    // Given 5,000,000 class B shares converted into class A on 15 July 2024,
    let l = wvr().ev("shares_reclassified", reclassify("2024-07-15", 5_000_000));
    // when the NDDR of that day is produced, then both classes disclose it:
    // +5,000,000 in A (0.5% of 1,000,000,000), −5,000,000 in B (5%).
    let doc = l.nddr("2024-07-15");
    assert_eq!(doc.form, "FF305");
    let lines: Vec<(String, Value)> = doc
        .section_i
        .iter()
        .map(|s| {
            (
                s.class.clone(),
                json!(s
                    .events
                    .iter()
                    .map(|e| json!([
                        e.label,
                        e.detail,
                        e.shares,
                        e.issued_change,
                        e.treasury_change,
                        e.percent
                    ]))
                    .collect::<Vec<_>>()),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                "A".to_string(),
                json!([[
                    "Other (please specify)",
                    B_TO_A,
                    5_000_000,
                    5_000_000,
                    0,
                    "0.5"
                ]])
            ),
            (
                "B".to_string(),
                json!([[
                    "Other (please specify)",
                    B_TO_A,
                    5_000_000,
                    -5_000_000,
                    0,
                    "5"
                ]])
            ),
        ]
    );
    assert_eq!(
        doc.section_i[0].closing_balance.issued_excluding_treasury,
        1_005_000_000
    );
    assert_eq!(
        doc.section_i[1].closing_balance.issued_excluding_treasury,
        95_000_000
    );
    // and the July Monthly Return shows Part II and a Part III (E) "Other" line in each.
    let m = l.monthly(2024, 7);
    let changes: Vec<(String, i64)> = m
        .issued
        .iter()
        .map(|r| (r.class.clone(), r.change.issued_excluding_treasury))
        .collect();
    assert_eq!(changes, [("A".into(), 5_000_000), ("B".into(), -5_000_000)]);
    let other = format!("Other ({B_TO_A})");
    assert_eq!(
        part_e(&m, "A"),
        [(other.clone(), Some(d("2024-07-15")), Some(5_000_000), None)]
    );
    assert_eq!(
        part_e(&m, "B"),
        [(other, Some(d("2024-07-15")), Some(-5_000_000), None)]
    );
}

#[test]
fn a_reclassification_without_description_names_both_classes() {
    let l = wvr().ev(
        "shares_reclassified",
        json!({"from_class": "B", "to_class": "A", "date": "2024-07-15", "shares": 10}),
    );
    let m = l.monthly(2024, 7);
    assert_eq!(
        part_e(&m, "A")[0].0,
        "Other (Reclassification of class B shares as class A shares)"
    );
}

#[test]
fn a_reclassification_is_refused_beyond_the_shares_the_class_has() {
    let l = wvr();
    l.refused(
        "shares_reclassified",
        reclassify("2024-07-15", 100_000_001),
        K::NegativeBalance,
        "shares",
        &["class B", "-1", "100000000"],
    );
    // Later events count: B falls to 60,000,000 on 1 August, so 50,000,000
    // reclassified on 15 July would leave it negative at the end of 1 August.
    let l = l.ev("shares_reclassified", reclassify("2024-08-01", 60_000_000));
    l.refused(
        "shares_reclassified",
        reclassify("2024-07-15", 50_000_000),
        K::NegativeBalance,
        "shares",
        &["class B", "2024-08-01"],
    );
}

#[test]
fn a_reclassification_into_its_own_or_an_unknown_class_or_before_the_opening_is_refused() {
    let l = wvr();
    l.refused(
        "shares_reclassified",
        merge(reclassify("2024-07-15", 1), json!({"to_class": "B"})),
        K::SameClass,
        "to_class",
        &["class B"],
    );
    l.refused(
        "shares_reclassified",
        merge(reclassify("2024-07-15", 1), json!({"to_class": "C"})),
        K::UnknownClass,
        "to_class",
        &["`C`", "A, B"],
    );
    l.refused(
        "shares_reclassified",
        merge(reclassify("2024-07-15", 1), json!({"from_class": "Z"})),
        K::UnknownClass,
        "from_class",
        &["`Z`"],
    );
    l.refused(
        "shares_reclassified",
        reclassify("2024-06-30", 1),
        K::BeforeOpeningBalance,
        "date",
        &["2024-06-30"],
    );
    l.refused(
        "shares_reclassified",
        reclassify("2024-07-15", 0),
        K::ZeroShares,
        "shares",
        &[],
    );
}

#[test]
fn a_reclassification_forces_an_nddr_and_follows_the_previous_return() {
    // Disclosed with the FF304 layout too, each class opening at the last return.
    let l = Ledger::new()
        .class("A", json!({}))
        .class("B", json!({}))
        .opening("A", "2023-01-31", 2_000, 0)
        .opening("B", "2023-01-31", 1_000, 0)
        .ev(
            "shares_reclassified",
            merge(reclassify("2023-02-10", 100), json!({"description": null})),
        )
        .filed("nddr", "2023-02-10")
        .ev("shares_reclassified", reclassify("2023-02-20", 50));
    let doc = l.nddr("2023-02-20");
    assert_eq!(doc.form, "FF304");
    assert_eq!(doc.previous_return, Some(d("2023-02-10")));
    let a = &doc.section_i[0];
    assert_eq!(
        (
            a.opening_balance.issued_excluding_treasury,
            a.closing_balance.issued_excluding_treasury
        ),
        (2_100, 2_150)
    );
    assert_eq!(a.events[0].percent.as_deref(), Some("2.38095")); // 50 / 2,100
    assert!(matches!(
        shareledger_core::rules::nddr_disclosure(&l.state().history().last().unwrap().event),
        shareledger_core::rules::Disclosure::Always
    ));
}

// ---- warrants, convertibles and other arrangements ----------------------------------

/// 1,000,000,000 ordinary shares at 30 June 2024; warrants issued on 2 July
/// (10,000,000 units for 10,000,000 shares at HKD 2.50), convertible bonds
/// outstanding since before the ledger (HKD 100,000,000 at HKD 5: 20,000,000
/// shares), and a subscription agreement for 1,000,000 shares.
fn with_instruments() -> Ledger {
    Ledger::new()
        .class("ORD", json!({}))
        .opening("ORD", "2024-06-30", 1_000_000_000, 0)
        .ev(
            "instrument_issued",
            json!({"class": "ORD", "instrument": "2024 Warrants", "kind": "warrant",
                   "date": "2024-07-02", "currency": "HKD", "amount": "10000000", "price": "2.50",
                   "shares_issuable": 10_000_000, "expiry_date": "2026-07-01",
                   "stock_code": "01937", "general_meeting_date": "2024-06-20",
                   "description": "Listed warrants, one share per warrant"}),
        )
        .ev(
            "instrument_issued",
            json!({"class": "ORD", "instrument": "2027 Bonds", "kind": "convertible",
                   "date": "2024-06-01", "currency": "HKD", "amount": "100000000", "price": "5",
                   "shares_issuable": 20_000_000,
                   "description": "HK$100,000,000 3.5% convertible bonds due 2027"}),
        )
        .ev(
            "instrument_issued",
            json!({"class": "ORD", "instrument": "Subscription agreement", "kind": "other_arrangement",
                   "date": "2024-07-05", "shares_issuable": 1_000_000,
                   "description": "Subscription agreement with Harbour Capital dated 5 July 2024"}),
        )
}

fn exercise(kind: &str, scheme: &str, date: &str, shares: u64) -> Value {
    json!({"class": "ORD", "date": date, "shares": shares, "kind": kind, "scheme": scheme})
}

#[test]
fn instruments_reach_part_iii_b_c_d_with_amounts_and_shares_still_issuable() {
    // Given exercises, a conversion, an issue under the agreement and a lapse in July 2024,
    let l = with_instruments()
        .ev("shares_issued", exercise("warrant_exercise", "2024 Warrants", "2024-07-15", 3_000_000))
        .ev("shares_issued", exercise("conversion", "2027 Bonds", "2024-07-20", 2_000_000))
        .ev("shares_issued", exercise("other", "Subscription agreement", "2024-07-25", 400_000))
        .ev(
            "instrument_cancelled",
            json!({"instrument": "2024 Warrants", "date": "2024-07-31", "shares_issuable": 1_000_000,
                   "reason": "lapsed"}),
        );
    // when the July Monthly Return is produced,
    let m = l.monthly(2024, 7);
    let row = |v: &shareledger_returns::document::InstrumentRow| {
        let f = v.instrument.as_ref().expect("a recorded instrument");
        json!([
            v.name,
            v.issued_during_month,
            f.amount_preceding,
            f.amount_movement,
            f.amount_closing,
            f.issuable_at_close,
            v.funds_raised
        ])
    };
    // then (B) warrants: 10,000,000 issued on 2 July, 3,000,000 exercised, 1,000,000 lapsed
    // (pro rata: 1,000,000 units), 6,000,000 still issuable; funds at the subscription price,
    assert_eq!(
        m.movements.warrants.iter().map(row).collect::<Vec<_>>(),
        [
            json!(["2024 Warrants", 3_000_000, "0", "6000000", "6000000", 6_000_000,
                [{"currency": "HKD", "amount": "7500000"}]])
        ]
    );
    // (C) convertibles: HKD 10,000,000 converted (pro rata to 2,000,000 of 20,000,000 shares),
    assert_eq!(
        m.movements.convertibles.iter().map(row).collect::<Vec<_>>(),
        [json!([
            "2027 Bonds",
            2_000_000,
            "100000000",
            "-10000000",
            "90000000",
            18_000_000,
            []
        ])]
    );
    // (D) the agreement, recorded without an amount,
    assert_eq!(
        m.movements
            .other_arrangements
            .iter()
            .map(row)
            .collect::<Vec<_>>(),
        [json!([
            "Subscription agreement",
            400_000,
            null,
            null,
            null,
            600_000,
            []
        ])]
    );
    let w = m.movements.warrants[0].instrument.as_ref().unwrap();
    assert_eq!(
        js(w),
        json!({"description": "Listed warrants, one share per warrant", "stock_code": "01937",
               "currency": "HKD", "price": {"currency": "HKD", "amount": "2.50"},
               "general_meeting_date": "2024-06-20", "expiry_date": "2026-07-01",
               "amount_preceding": "0", "amount_movement": "6000000", "amount_closing": "6000000",
               "issuable_at_close": 6_000_000})
    );
    // and Part II grows by the shares issued, none in (E).
    assert_eq!(m.issued[0].change.issued_excluding_treasury, 5_400_000);
    assert!(m.movements.other.is_empty());
    // In August nothing moves, but what is outstanding is still listed.
    let aug = l.monthly(2024, 8);
    assert_eq!(
        aug.movements.warrants.iter().map(row).collect::<Vec<_>>(),
        [json!([
            "2024 Warrants",
            0,
            "6000000",
            null,
            "6000000",
            6_000_000,
            []
        ])]
    );
    assert_eq!(aug.movements.convertibles.len(), 1);
    // An instrument wholly used up before the month is left out.
    let l = l.ev(
        "shares_issued",
        exercise("other", "Subscription agreement", "2024-08-05", 600_000),
    );
    assert_eq!(l.monthly(2024, 8).movements.other_arrangements.len(), 1);
    assert!(l.monthly(2024, 9).movements.other_arrangements.is_empty());
}

#[test]
fn an_exercise_beyond_what_the_instrument_can_still_issue_is_refused() {
    let l = with_instruments().ev(
        "shares_issued",
        exercise("warrant_exercise", "2024 Warrants", "2024-07-15", 9_000_000),
    );
    l.refused(
        "shares_issued",
        exercise("warrant_exercise", "2024 Warrants", "2024-07-16", 1_000_001),
        K::ExceedsIssuable,
        "shares",
        &["1000001", "2024 Warrants", "1000000"],
    );
    l.refused(
        "instrument_cancelled",
        json!({"instrument": "2024 Warrants", "date": "2024-07-31", "shares_issuable": 1_000_001}),
        K::ExceedsIssuable,
        "shares_issuable",
        &["1000000"],
    );
    l.refused(
        "shares_issued",
        merge(
            exercise("warrant_exercise", "2024 Warrants", "2024-07-16", 10),
            json!({"amount": "1000001"}),
        ),
        K::ExceedsIssuable,
        "amount",
        &["1000001", "1000000"],
    );
    // The last shares take what is left: nothing remains outstanding.
    let l = l.ev(
        "shares_issued",
        exercise("warrant_exercise", "2024 Warrants", "2024-07-16", 1_000_000),
    );
    let w = &l.state().instruments()["2024 Warrants"];
    assert_eq!(
        (w.issuable(), w.amount()),
        (0, Some(rust_decimal::Decimal::ZERO))
    );
}

#[test]
fn an_instrument_is_refused_when_misnamed_of_another_kind_class_or_date() {
    let l = with_instruments()
        .class("P", json!({}))
        .opening("P", "2024-06-30", 10, 0);
    l.refused(
        "shares_issued",
        exercise("conversion", "2024 Warrants", "2024-07-15", 1),
        K::UnknownScheme,
        "kind",
        &["2024 Warrants", "warrant_exercise"],
    );
    l.refused(
        "shares_issued",
        merge(
            exercise("warrant_exercise", "2024 Warrants", "2024-07-15", 1),
            json!({"class": "P"}),
        ),
        K::UnknownScheme,
        "class",
        &["class ORD"],
    );
    l.refused(
        "shares_issued",
        exercise("other", "Subscription agreement", "2024-07-04", 1),
        K::InvalidDates,
        "date",
        &["2024-07-05"],
    );
    l.refused(
        "instrument_issued",
        json!({"class": "ORD", "instrument": "2024 Warrants", "kind": "warrant", "date": "2024-08-01",
               "shares_issuable": 1}),
        K::InstrumentExists,
        "instrument",
        &["2024 Warrants"],
    );
    l.refused(
        "instrument_issued",
        json!({"class": "ORD", "instrument": "W2", "kind": "warrant", "date": "2024-08-01",
               "shares_issuable": 0}),
        K::ZeroShares,
        "shares_issuable",
        &[],
    );
    l.refused(
        "instrument_issued",
        json!({"class": "ORD", "instrument": "W2", "kind": "warrant", "date": "2024-08-01",
               "shares_issuable": 1, "price": "1"}),
        K::IncompletePrices,
        "currency",
        &[],
    );
    l.refused(
        "instrument_issued",
        json!({"class": "X", "instrument": "W2", "kind": "warrant", "date": "2024-08-01",
               "shares_issuable": 1}),
        K::UnknownClass,
        "class",
        &["`X`"],
    );
    l.refused(
        "instrument_cancelled",
        json!({"instrument": "2025 Warrants", "date": "2024-07-31", "shares_issuable": 1}),
        K::UnknownScheme,
        "instrument",
        &["2025 Warrants", "2024 Warrants"],
    );
    l.refused(
        "instrument_cancelled",
        json!({"instrument": "2024 Warrants", "date": "2024-07-01", "shares_issuable": 1}),
        K::InvalidDates,
        "date",
        &["2024-07-02"],
    );
    l.refused(
        "instrument_cancelled",
        json!({"instrument": "Subscription agreement", "date": "2024-07-31", "shares_issuable": 1,
               "amount": "5"}),
        K::ExceedsIssuable,
        "amount",
        &["without an amount"],
    );
}

#[test]
fn instrument_exercises_force_an_nddr_only_at_the_threshold_and_show_their_label() {
    use shareledger_returns::checks::{self, nddrs_due};
    // 3,000,000 warrants exercised: 0.3% of 1,000,000,000, below 5%: no NDDR due.
    let l = with_instruments().ev(
        "shares_issued",
        exercise("warrant_exercise", "2024 Warrants", "2024-07-15", 3_000_000),
    );
    assert!(nddrs_due(l.state(), &checks::live(l.state()), None).is_empty());
    // A conversion of 18,000,000 and an issue under the agreement take the
    // threshold events to 21,400,000 — still 2.14%; a placing forces the return.
    let l = l
        .ev(
            "shares_issued",
            exercise("conversion", "2027 Bonds", "2024-07-16", 18_000_000),
        )
        .ev(
            "shares_issued",
            exercise("other", "Subscription agreement", "2024-07-17", 400_000),
        );
    assert!(nddrs_due(l.state(), &checks::live(l.state()), None).is_empty());
    let l = l.ev(
        "shares_issued",
        json!({"class": "ORD", "date": "2024-07-18", "shares": 100, "kind": "placing"}),
    );
    let due = nddrs_due(l.state(), &checks::live(l.state()), None);
    assert_eq!(
        due.iter().map(|x| x.date).collect::<Vec<_>>(),
        [d("2024-07-18")]
    );
    // The NDDR then carries every one of them, with its label and instrument.
    let doc = l.nddr("2024-07-18");
    let lines: Vec<(String, Option<String>, u64)> = doc.section_i[0]
        .events
        .iter()
        .map(|e| (e.label.clone(), e.detail.clone(), e.shares))
        .collect();
    assert_eq!(
        lines,
        [
            (
                "Exercise of warrants".into(),
                Some("2024 Warrants".into()),
                3_000_000
            ),
            (
                "Conversion of convertible securities".into(),
                Some("2027 Bonds".into()),
                18_000_000
            ),
            (
                "Other (please specify)".into(),
                Some("Subscription agreement".into()),
                400_000
            ),
            ("Placing".into(), None, 100),
        ]
    );
    // Alone, 5% of the issued shares forces a return on the day it is reached.
    let big = Ledger::new()
        .class("ORD", json!({}))
        .opening("ORD", "2024-06-30", 100_000_000, 0)
        .ev(
            "instrument_issued",
            json!({"class": "ORD", "instrument": "W", "kind": "warrant",
                                        "date": "2024-07-01", "shares_issuable": 10_000_000}),
        )
        .ev(
            "shares_issued",
            exercise("warrant_exercise", "W", "2024-07-02", 4_999_999),
        )
        .ev(
            "shares_issued",
            exercise("warrant_exercise", "W", "2024-07-03", 1),
        );
    let due = nddrs_due(big.state(), &checks::live(big.state()), None);
    assert_eq!(
        due.iter().map(|x| x.date).collect::<Vec<_>>(),
        [d("2024-07-03")]
    );
}

// ---- exchange_approval_recorded ---------------------------------------------------------

/// A repurchase on 3 July 2024, then a placing on 10 July: within the
/// 30-day moratorium of rule 10.06(3).
fn moratorium_breach() -> (Ledger, Uuid) {
    let l = Ledger::new()
        .class("ORD", json!({}))
        .opening("ORD", "2024-06-30", 1_000_000_000, 0)
        .ev(
            "repurchase_mandate_granted",
            json!({"class": "ORD", "resolution_date": "2024-06-20",
                                                 "issued_shares_at_resolution": 1_000_000_000}),
        )
        .ev(
            "shares_repurchased",
            json!({"class": "ORD", "trade_date": "2024-07-03", "shares": 1_000}),
        )
        .ev(
            "shares_issued",
            json!({"class": "ORD", "date": "2024-07-10", "shares": 500, "kind": "placing"}),
        );
    let placing = l.state().history().last().unwrap().id;
    (l, placing)
}

fn moratorium_findings(l: &Ledger) -> Vec<shareledger_returns::checks::Finding> {
    let now = DateTime::parse_from_rfc3339("2024-07-05T09:00:00+08:00").unwrap();
    shareledger_returns::checks::run(
        l.state(),
        &shareledger_core::calendar::BusinessCalendar::new(),
        now,
    )
    .into_iter()
    .filter(|f| f.rule == "10.06(3)")
    .collect()
}

#[test]
fn a_recorded_approval_turns_the_breach_it_covers_into_information() {
    use shareledger_returns::checks::Severity;
    let (l, placing) = moratorium_breach();
    // Given the breach, the check reports an error on the placing;
    let before = moratorium_findings(&l);
    assert_eq!(before.len(), 1);
    assert_eq!(
        (before[0].severity, before[0].event),
        (Severity::Error, Some(placing))
    );
    // when the Exchange's prior approval for that day is recorded (covers by default),
    let approved = l.clone().ev(
        "exchange_approval_recorded",
        json!({"rule": "10.06(3)", "date": "2024-07-10", "reference": "letter ref. LD/2024/17"}),
    );
    // then the same finding stays visible as a warning that says so.
    let after = moratorium_findings(&approved);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].severity, Severity::Warning);
    assert!(
        after[0].message.starts_with(
            "approved by the Exchange on 10 July 2024, letter ref. LD/2024/17 (information, not a breach): "
        ) && after[0].message.ends_with(&before[0].message),
        "{}",
        after[0].message
    );
    // Naming the event in `covers` does the same whatever the approval's date;
    let by_id = l.clone().ev(
        "exchange_approval_recorded",
        json!({"rule": "10.06(3)", "date": "2024-07-01", "covers": [placing.to_string()]}),
    );
    assert_eq!(moratorium_findings(&by_id)[0].severity, Severity::Warning);
    // an approval of another rule, another day or other events covers nothing.
    for other in [
        json!({"rule": "10.06(1)", "date": "2024-07-10"}),
        json!({"rule": "10.06(3)", "date": "2024-07-11"}),
    ] {
        let l = l.clone().ev("exchange_approval_recorded", other);
        assert_eq!(moratorium_findings(&l)[0].severity, Severity::Error);
    }
}

#[test]
fn an_approval_must_name_a_rule_and_events_in_force() {
    let (l, placing) = moratorium_breach();
    l.refused(
        "exchange_approval_recorded",
        json!({"rule": " ", "date": "2024-07-10"}),
        K::EmptyText,
        "rule",
        &[],
    );
    let unknown = Uuid::from_u128(42);
    l.refused(
        "exchange_approval_recorded",
        json!({"rule": "10.06(3)", "date": "2024-07-10", "covers": [unknown.to_string()]}),
        K::InvalidVoid,
        "covers",
        &[&unknown.to_string()],
    );
    l.refused(
        "exchange_approval_recorded",
        json!({"rule": "10.06(3)", "date": "2024-07-10",
               "covers": [placing.to_string(), placing.to_string()]}),
        K::InvalidDates,
        "covers",
        &["named twice"],
    );
}

// ---- capital_reorganised ------------------------------------------------------------------

/// 1,000,000,000 issued and 5,000,000 treasury shares of HKD 0.10 (2,000,000,000
/// authorised) at 30 June 2024; 1,000,000 repurchased for cancellation on 3 July
/// and still pending; a ten-into-one consolidation effective 15 July 2024.
fn consolidated() -> Ledger {
    Ledger::new()
        .class("ORD", json!({"par_value": {"currency": "HKD", "amount": "0.1"},
                             "authorised_shares": 2_000_000_000u64}))
        .opening("ORD", "2024-06-30", 1_000_000_000, 5_000_000)
        .ev("shares_repurchased", json!({"class": "ORD", "trade_date": "2024-07-03", "shares": 1_000_000,
                                         "currency": "HKD", "highest_price": "1", "lowest_price": "1",
                                         "total_paid": "1000000"}))
        .ev("capital_reorganised", consolidation())
}

fn consolidation() -> Value {
    json!({"class": "ORD", "date": "2024-07-15", "kind": "consolidation", "ratio_from": 10,
           "ratio_to": 1, "issued_shares_after": 100_000_000,
           "par_value_after": {"currency": "HKD", "amount": "1"},
           "general_meeting_date": "2024-07-10"})
}

#[test]
fn a_consolidation_scales_every_balance_and_the_par_value_and_later_percentages_use_the_new_count()
{
    // Given the consolidation and a placing of 1,000,000 new shares on 20 July,
    let l = consolidated().ev(
        "shares_issued",
        json!({"class": "ORD", "date": "2024-07-20", "shares": 1_000_000, "kind": "placing"}),
    );
    // then the register holds the announced and scaled numbers:
    let class = l.state().class("ORD").unwrap();
    let b = class.balances_as_of(d("2024-07-15")).unwrap();
    assert_eq!(
        (
            b.issued_excluding_treasury,
            b.treasury,
            b.pending_cancellation
        ),
        (100_000_000, 500_000, 100_000)
    );
    assert_eq!(class.authorised_as_of(d("2024-07-15")), Some(200_000_000));
    let b = class.balances_as_of(d("2024-07-14")).unwrap();
    assert_eq!(
        (
            b.issued_excluding_treasury,
            b.treasury,
            b.pending_cancellation
        ),
        (1_000_000_000, 5_000_000, 1_000_000)
    );
    // the NDDR has a "Capital reorganisation" line and the placing's % is of the new count,
    let doc = l.nddr("2024-07-20");
    let s = &doc.section_i[0];
    let lines: Vec<Value> = s
        .events
        .iter()
        .map(|e| {
            json!([
                e.label,
                e.detail,
                e.shares,
                e.issued_change,
                e.treasury_change,
                e.percent
            ])
        })
        .collect();
    assert_eq!(
        lines,
        [
            json!([
                "Capital reorganisation",
                "Consolidation of every 10 shares into 1 share",
                100_000_000,
                -900_000_000,
                -4_500_000,
                null
            ]),
            json!(["Placing", null, 1_000_000, 1_000_000, 0, "1"]),
        ]
    );
    assert_eq!(
        (
            s.closing_balance.issued_excluding_treasury,
            s.closing_balance.treasury
        ),
        (101_000_000, 500_000)
    );
    // the pending line is scaled (1,000,000 → 100,000) and its % is on the new count.
    assert_eq!(
        s.pending_cancellation
            .iter()
            .map(|p| (p.date, p.shares, p.percent.clone()))
            .collect::<Vec<_>>(),
        [(d("2024-07-03"), 100_000, Some("0.1".to_string()))]
    );
    // The Monthly Return: Part I with the new number and par value, capital unchanged,
    let m = l.monthly(2024, 7);
    let a = &m.authorised[0];
    assert_eq!(
        js(a)
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.as_str() != "class_info")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<serde_json::Map<_, _>>(),
        json!({"class": "ORD", "preceding": 2_000_000_000u64, "change": -1_800_000_000i64,
               "closing": 200_000_000, "par_value": {"currency": "HKD", "amount": "1"},
               "par_value_preceding": {"currency": "HKD", "amount": "0.1"},
               "capital_preceding": {"currency": "HKD", "amount": "200000000"},
               "capital_closing": {"currency": "HKD", "amount": "200000000"}})
        .as_object()
        .unwrap()
        .clone()
    );
    // Part II and a Part III (E) "Capital reorganisation" line that reconcile,
    assert_eq!(m.issued[0].change.issued_excluding_treasury, -899_000_000);
    assert_eq!(m.issued[0].change.treasury, -4_500_000);
    let rows = part_e(&m, "ORD");
    assert_eq!(
        rows,
        [
            (
                "Capital reorganisation (Consolidation of every 10 shares into 1 share)"
                    .to_string(),
                Some(d("2024-07-15")),
                Some(-900_000_000),
                None
            ),
            (
                "Placing".to_string(),
                Some(d("2024-07-20")),
                Some(1_000_000),
                None
            ),
            (
                "Repurchase of shares (shares repurchased and cancelled)".to_string(),
                None,
                None,
                Some(-100_000)
            ),
        ]
    );
    assert_eq!(
        m.movements.other[0].general_meeting_date,
        Some(d("2024-07-10"))
    );
    assert_eq!(m.movements.other[0].treasury_during_month, Some(-4_500_000));
    // and the par value before the reorganisation is the old one.
    assert_eq!(
        js(&l
            .state()
            .class("ORD")
            .unwrap()
            .par_value_as_of(d("2024-07-14"))),
        json!({"currency": "HKD", "amount": "0.1"})
    );
    // A later cancellation draws on the scaled line.
    let l = l.ev(
        "repurchased_shares_cancelled",
        json!({"class": "ORD", "date": "2024-07-25", "shares": 100_000}),
    );
    l.refused(
        "repurchased_shares_cancelled",
        json!({"class": "ORD", "date": "2024-07-26", "shares": 1}),
        K::ExceedsPending,
        "shares",
        &[],
    );
}

#[test]
fn a_subdivision_scales_up_and_fractions_of_the_announced_number_are_the_issuers() {
    let l = Ledger::new()
        .class("ORD", json!({}))
        .opening("ORD", "2024-06-30", 1_000_001, 3)
        .ev("capital_reorganised", json!({"class": "ORD", "date": "2024-07-15", "kind": "subdivision",
                                          "ratio_from": 1, "ratio_to": 5, "issued_shares_after": 5_000_004}));
    let b = l
        .state()
        .class("ORD")
        .unwrap()
        .balances_as_of(d("2024-07-15"))
        .unwrap();
    assert_eq!((b.issued_excluding_treasury, b.treasury), (5_000_004, 15));
    // No authorised capital before: none after.
    assert_eq!(
        l.state()
            .class("ORD")
            .unwrap()
            .authorised_as_of(d("2024-07-15")),
        None
    );
}

#[test]
fn a_reorganisation_is_refused_with_a_zero_or_ill_fitting_ratio_or_numbers_far_from_it() {
    let l = Ledger::new()
        .class("ORD", json!({}))
        .opening("ORD", "2024-06-30", 1_000_000_000, 0)
        .ev(
            "shares_issued",
            json!({"class": "ORD", "date": "2024-07-16", "shares": 10, "kind": "placing"}),
        );
    let base = json!({"class": "ORD", "date": "2024-07-20", "kind": "consolidation", "ratio_from": 10,
                      "ratio_to": 1, "issued_shares_after": 100_000_001});
    l.refused(
        "capital_reorganised",
        merge(base.clone(), json!({"ratio_to": 0})),
        K::InvalidRatio,
        "ratio_to",
        &["0"],
    );
    l.refused(
        "capital_reorganised",
        merge(base.clone(), json!({"ratio_from": 0})),
        K::InvalidRatio,
        "ratio_from",
        &[],
    );
    l.refused(
        "capital_reorganised",
        merge(base.clone(), json!({"kind": "subdivision"})),
        K::InvalidRatio,
        "kind",
        &["10 into 1"],
    );
    l.refused(
        "capital_reorganised",
        merge(
            base.clone(),
            json!({"issued_shares_after": 1_000_000_010u64}),
        ),
        K::InvalidRatio,
        "issued_shares_after",
        &["1000000010", "100000001"],
    );
    l.refused(
        "capital_reorganised",
        merge(base.clone(), json!({"treasury_shares_after": 5})),
        K::InvalidRatio,
        "treasury_shares_after",
        &[],
    );
    // Dated before a movement already recorded: that movement is in the old shares.
    l.refused(
        "capital_reorganised",
        merge(
            base.clone(),
            json!({"date": "2024-07-15", "issued_shares_after": 100_000_000}),
        ),
        K::BeforeReorganisation,
        "date",
        &["2024-07-16"],
    );
    // After it, nothing may be dated on or before it.
    let l = l.ev("capital_reorganised", base);
    l.refused(
        "shares_issued",
        json!({"class": "ORD", "date": "2024-07-20", "shares": 1, "kind": "placing"}),
        K::BeforeReorganisation,
        "date",
        &["2024-07-20"],
    );
}

#[test]
fn an_issue_under_an_arrangement_made_before_a_repurchase_is_carved_out_of_the_moratorium() {
    use shareledger_returns::checks::{self, moratorium_10_06_3};
    // Given a repurchase on 8 July 2024 and, within 30 days, an issue under the
    // subscription agreement of 5 July and a placing,
    let l = with_instruments()
        .ev(
            "shares_repurchased",
            json!({"class": "ORD", "trade_date": "2024-07-08", "shares": 1_000}),
        )
        .ev(
            "shares_issued",
            exercise("other", "Subscription agreement", "2024-07-25", 400_000),
        )
        .ev(
            "shares_issued",
            json!({"class": "ORD", "date": "2024-07-26", "shares": 10, "kind": "placing"}),
        );
    // then only the placing breaks rule 10.06(3).
    let dates: Vec<_> = moratorium_10_06_3(l.state(), &checks::live(l.state()))
        .iter()
        .map(|f| f.date)
        .collect();
    assert_eq!(dates, [Some(d("2024-07-26"))]);
    // An arrangement made after the repurchase is not carved out.
    let l = Ledger::new()
        .class("ORD", json!({}))
        .opening("ORD", "2024-06-30", 1_000_000, 0)
        .ev(
            "shares_repurchased",
            json!({"class": "ORD", "trade_date": "2024-07-08", "shares": 1_000}),
        )
        .ev(
            "instrument_issued",
            json!({"class": "ORD", "instrument": "Late agreement",
                                        "kind": "other_arrangement", "date": "2024-07-10",
                                        "shares_issuable": 500}),
        )
        .ev(
            "shares_issued",
            exercise("other", "Late agreement", "2024-07-20", 500),
        );
    let dates: Vec<_> = moratorium_10_06_3(l.state(), &checks::live(l.state()))
        .iter()
        .map(|f| f.date)
        .collect();
    assert_eq!(dates, [Some(d("2024-07-20"))]);
}
