//! The share-capital events of issue #13 end to end, through the binary:
//! imported as JSON lines, refused with line and field, reaching both
//! returns, exported by `log` and re-imported, and the market calendar's
//! corrections (`event_voided` without issuer) through `record`.

mod common;

use common::{stderr, Ledger};
use serde_json::Value;

/// A treasury-era issuer with two classes, warrants, convertibles, another
/// arrangement, a reclassification and a consolidation (as
/// crates/returns/tests/render_events.rs renders them).
const LEDGER: &str = r#"{"type": "issuer_registered", "issuer": "09988", "name": "Harbour Dual Class Holdings Limited", "signatory": {"name": "Chan Tai Man", "title": "Company Secretary"}}
{"type": "share_class_defined", "issuer": "09988", "class": "A", "class_of_shares": "Class A ordinary shares", "stock_code": "09988", "par_value": {"currency": "HKD", "amount": "0.1"}, "authorised_shares": 2000000000}
{"type": "share_class_defined", "issuer": "09988", "class": "B", "class_of_shares": "Class B ordinary shares", "listed": false, "par_value": {"currency": "HKD", "amount": "0.1"}, "authorised_shares": 200000000}
{"type": "opening_balance", "issuer": "09988", "class": "A", "date": "2024-06-30", "issued_shares": 1000000000}
{"type": "opening_balance", "issuer": "09988", "class": "B", "date": "2024-06-30", "issued_shares": 100000000}
{"type": "instrument_issued", "issuer": "09988", "class": "A", "instrument": "2024 Warrants", "kind": "warrant", "date": "2024-07-02", "currency": "HKD", "amount": "10000000", "price": "2.50", "shares_issuable": 10000000}
{"type": "instrument_issued", "issuer": "09988", "class": "A", "instrument": "2027 Bonds", "kind": "convertible", "date": "2024-06-01", "currency": "HKD", "amount": "100000000", "price": "5", "shares_issuable": 20000000}
{"type": "shares_issued", "issuer": "09988", "class": "A", "date": "2024-07-08", "shares": 3000000, "kind": "warrant_exercise", "scheme": "2024 Warrants"}
{"type": "shares_issued", "issuer": "09988", "class": "A", "date": "2024-07-09", "shares": 2000000, "kind": "conversion", "scheme": "2027 Bonds"}
{"type": "shares_reclassified", "issuer": "09988", "from_class": "B", "to_class": "A", "date": "2024-07-10", "shares": 5000000, "description": "Conversion of Class B ordinary shares to Class A ordinary shares"}
{"type": "capital_reorganised", "issuer": "09988", "class": "B", "date": "2024-07-15", "kind": "consolidation", "ratio_from": 10, "ratio_to": 1, "issued_shares_after": 9500000, "par_value_after": {"currency": "HKD", "amount": "1"}}
{"type": "instrument_cancelled", "issuer": "09988", "instrument": "2024 Warrants", "date": "2024-07-31", "shares_issuable": 1000000, "reason": "lapsed"}
{"type": "exchange_approval_recorded", "issuer": "09988", "rule": "10.06(3)", "date": "2024-07-10", "reference": "LD/2024/1"}
"#;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn imported() -> Ledger {
    let l = Ledger::new();
    let out = l.run_with_input(&["import", "-"], Some(LEDGER));
    assert!(out.status.success(), "import refused: {}", stderr(&out));
    l
}

#[test]
fn the_new_events_import_and_reach_both_returns() {
    let l = imported();
    let m = json(&l.ok(&[
        "return", "monthly", "--issuer", "09988", "--month", "2024-07", "--format", "json",
    ]));
    let w = &m["movements"]["warrants"][0];
    assert_eq!(
        (
            w["name"].as_str(),
            w["issued_during_month"].as_i64(),
            w["issuable_at_close"].as_u64()
        ),
        (Some("2024 Warrants"), Some(3_000_000), Some(6_000_000))
    );
    assert_eq!(
        m["movements"]["convertibles"][0]["amount_closing"],
        "90000000"
    );
    let b = &m["issued"][1];
    assert_eq!(b["closing"]["issued_excluding_treasury"], 9_500_000);
    assert_eq!(m["authorised"][1]["par_value"]["amount"], "1");
    let n = json(&l.ok(&[
        "return",
        "nddr",
        "--issuer",
        "09988",
        "--date",
        "2024-07-15",
        "--format",
        "json",
    ]));
    let labels: Vec<&str> = n["section_i"][1]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Other (please specify)", "Capital reorganisation"]);
    let text = l.ok(&[
        "return", "monthly", "--issuer", "09988", "--month", "2024-07",
    ]);
    assert!(text.contains("Capital reorganisation"), "{text}");
    // The balance of class B as known now.
    let bal = json(&l.ok(&[
        "balance", "--issuer", "09988", "--class", "B", "--format", "json",
    ]));
    assert_eq!(bal["classes"][0]["issued_excluding_treasury"], 9_500_000);
    assert_eq!(bal["classes"][0]["authorised"], 20_000_000);
}

#[test]
fn log_exports_the_new_events_and_they_import_again_to_the_same_returns() {
    let l = imported();
    let log = l.ok(&["log", "--format", "json"]);
    let copy = Ledger::new();
    let out = copy.run_with_input(&["import", "-"], Some(&log));
    assert!(out.status.success(), "re-import refused: {}", stderr(&out));
    let args = [
        "return", "monthly", "--issuer", "09988", "--month", "2024-07", "--format", "json",
    ];
    assert_eq!(json(&copy.ok(&args)), json(&l.ok(&args)));
    let audit = copy.run(&[
        "audit",
        "--format",
        "json",
        "--now",
        "2024-08-01T12:00:00+08:00",
    ]);
    let report = json(&String::from_utf8_lossy(&audit.stdout));
    assert_eq!(report["chain"], "intact", "{report:#}");
}

#[test]
fn an_exercise_beyond_the_instrument_is_refused_naming_line_and_field() {
    let l = imported();
    let line = r#"{"type": "shares_issued", "issuer": "09988", "class": "A", "date": "2024-08-01", "shares": 7000001, "kind": "warrant_exercise", "scheme": "2024 Warrants"}
"#;
    let input = format!("# a comment\n{line}");
    let out = l.run_with_input(&["import", "-"], Some(&input));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("line 2") && err.contains("shares") && err.contains("6000000"),
        "{err}"
    );
    let ratio = r#"{"type": "capital_reorganised", "issuer": "09988", "class": "A", "date": "2024-08-01", "kind": "consolidation", "ratio_from": 0, "ratio_to": 1, "issued_shares_after": 1}"#;
    let out = l.run_with_input(&["import", "-"], Some(ratio));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("line 1") && err.contains("ratio_from"),
        "{err}"
    );
}

#[test]
fn a_market_closure_is_voided_without_an_issuer_through_record() {
    let l = Ledger::new();
    l.ok(&[
        "record",
        "market-closed",
        "--date",
        "2023-09-08",
        "--reason",
        "rain",
    ]);
    let log = l.ok(&["log", "--format", "json"]);
    let closure = json(log.lines().next().unwrap());
    let position = closure["position"].as_u64().unwrap();
    l.ok(&[
        "record",
        "event-voided",
        "--voided-id",
        &format!("@{position}"),
        "--reason",
        "recorded by mistake",
    ]);
    let log: Vec<Value> = l
        .ok(&["log", "--format", "json"])
        .lines()
        .map(json)
        .collect();
    let void = log.last().unwrap();
    assert_eq!(void["type"], "event_voided");
    assert!(void.get("issuer").is_none(), "{void}");
    assert_eq!(void["voided_id"], closure["id"]);
    // The date is free again.
    l.ok(&[
        "record",
        "market-closed",
        "--date",
        "2023-09-08",
        "--reason",
        "black rainstorm",
    ]);
    // Voiding it twice is refused.
    let out = l.run(&[
        "record",
        "event-voided",
        "--voided-id",
        &format!("@{position}"),
        "--reason",
        "again",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}
