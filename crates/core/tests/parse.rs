//! Reading JSON lines (interchange.md section 1): what is refused and what
//! field it names, exact amounts, the envelope, and the stored payload's
//! round trip for every event type.

mod support;

use std::collections::BTreeSet;

use chrono::DateTime;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use shareledger_core::event::{Event, EVENT_TYPES};
use shareledger_core::{parse_line, DecodeError, Recorded};
use support::*;

fn refused(line: &str) -> DecodeError {
    match parse_line(line) {
        Ok(i) => panic!("expected a refusal, read {:?}", i.event),
        Err(e) => e,
    }
}

fn refused_value(line: Value) -> DecodeError {
    refused(&line.to_string())
}

fn field(e: &DecodeError) -> Option<&str> {
    e.field.as_deref()
}

// ---- refusals --------------------------------------------------------------------------

#[test]
fn unknown_type_is_refused_naming_type_and_listing_valid_types() {
    let e = refused(r#"{"type": "shares_bought_back", "issuer": "02121"}"#);
    assert_eq!(field(&e), Some("type"));
    assert!(e.message.contains("shares_bought_back"), "{e}");
    for t in EVENT_TYPES {
        assert!(e.hint.contains(t), "hint should list `{t}`: {e}");
    }
}

#[test]
fn missing_or_non_string_type_is_refused() {
    let e = refused(r#"{"issuer": "02121"}"#);
    assert_eq!(field(&e), Some("type"));
    let e = refused(r#"{"type": 7}"#);
    assert_eq!(field(&e), Some("type"));
}

#[test]
fn unknown_field_is_refused() {
    let e = refused_value(with(
        repurchase("2022-11-07", 4300),
        json!({"sahres": 4300}),
    ));
    assert!(e.message.contains("unknown field"), "{e}");
    // The field is named (exactly how: see the ignored test below), and the
    // hint lists what would have been right.
    assert!(field(&e).is_some_and(|f| f.contains("sahres")), "{e}");
    assert!(
        e.hint.contains("sahres") && e.hint.contains("shares"),
        "{e}"
    );
    // `position` and `hash` belong to the log's output, not to an event.
    let e = refused_value(with(repurchase("2022-11-07", 4300), json!({"positon": 3})));
    assert!(field(&e).is_some_and(|f| f.contains("positon")), "{e}");
}

#[test]

fn unknown_field_is_refused_naming_exactly_that_field() {
    let e = refused_value(with(
        repurchase("2022-11-07", 4300),
        json!({"sahres": 4300}),
    ));
    assert_eq!(field(&e), Some("sahres"));
    let e = refused_value(with(repurchase("2022-11-07", 4300), json!({"positon": 3})));
    assert_eq!(field(&e), Some("positon"));
}

#[test]

fn unknown_nested_field_is_refused_naming_its_path() {
    let e = refused_value(
        json!({"type": "issuer_registered", "issuer": ISSUER, "name": "X",
                                 "signatory": {"name": "Xiao Lei", "title": "Secretary", "phone": "1"}}),
    );
    assert_eq!(field(&e), Some("signatory.phone"));
    let e = refused_value(
        json!({"type": "issuer_registered", "issuer": ISSUER, "name": "X",
                                 "presentation": {"percent_decimal": 2}}),
    );
    assert_eq!(field(&e), Some("presentation.percent_decimal"));
}

#[test]
fn missing_required_field_is_named() {
    let e = refused_value(without(repurchase("2022-11-07", 4300), "shares"));
    assert_eq!(field(&e), Some("shares"));
    assert!(e.message.contains("missing"), "{e}");
    let e = refused_value(without(repurchase("2022-11-07", 4300), "trade_date"));
    assert_eq!(field(&e), Some("trade_date"));
    let e = refused_value(without(issue("2022-11-07", 4300), "kind"));
    assert_eq!(field(&e), Some("kind"));
    let e = refused_value(without(treasury_sale("2024-07-02", 1), "total_received"));
    assert_eq!(field(&e), Some("total_received"));
    let e = refused_value(json!({"type": "market_closed", "date": "2023-09-08"}));
    assert_eq!(field(&e), Some("reason"));
}

#[test]
fn share_counts_must_be_whole_non_negative_json_integers() {
    for bad in [
        json!("4300"),
        json!(4300.5),
        json!(-1),
        json!(null),
        json!(true),
        json!(1e3),
    ] {
        let e = refused_value(with(repurchase("2022-11-07", 1), json!({"shares": bad})));
        assert_eq!(field(&e), Some("shares"), "{bad}: {e}");
    }
    // A string is told what a share count is.
    let e = refused_value(with(repurchase("2022-11-07", 1), json!({"shares": "4300"})));
    assert!(e.hint.contains("whole"), "{e}");
    let e = refused_value(
        json!({"type": "opening_balance", "issuer": ISSUER, "class": CLASS,
                                 "date": "2022-05-27", "issued_shares": "559304838"}),
    );
    assert_eq!(field(&e), Some("issued_shares"));
}

#[test]

fn negative_or_fractional_share_counts_say_what_a_share_count_is() {
    for bad in [json!(4300.5), json!(-1)] {
        let e = refused_value(with(repurchase("2022-11-07", 1), json!({"shares": bad})));
        assert!(e.hint.contains("whole"), "{bad}: {e}");
    }
}

#[test]
fn a_share_count_above_u64_is_refused() {
    let e = refused(
        r#"{"type": "shares_repurchased", "issuer": "02121", "class": "H", "trade_date": "2022-11-07", "shares": 18446744073709551616}"#,
    );
    assert_eq!(field(&e), Some("shares"));
}

#[test]
fn bad_dates_are_named() {
    for bad in [
        "2022-02-30",
        "07/11/2022",
        "",
        "2022-11-07T00:00:00",
        "2022-13-01",
    ] {
        let e = refused_value(with(
            repurchase("2022-11-07", 1),
            json!({"trade_date": bad}),
        ));
        assert_eq!(field(&e), Some("trade_date"), "{bad}: {e}");
    }
    let e = refused_value(with(
        repurchase("2022-11-07", 1),
        json!({"trade_date": "07/11/2022"}),
    ));
    assert!(e.hint.contains("YYYY-MM-DD"), "{e}");
    let e = refused_value(
        json!({"type": "return_filed", "issuer": ISSUER, "form": "monthly",
                                 "date": "2022-11-30", "submitted_at": "7 December 2022"}),
    );
    assert_eq!(field(&e), Some("submitted_at"));
}

#[test]

fn every_bad_date_gets_the_date_hint() {
    for bad in ["2022-02-30", "2022-11-07T00:00:00"] {
        let e = refused_value(with(
            repurchase("2022-11-07", 1),
            json!({"trade_date": bad}),
        ));
        assert!(e.hint.contains("YYYY-MM-DD"), "{bad}: {e}");
    }
}

#[test]
fn bad_enum_values_are_named() {
    let e = refused_value(with(
        repurchase("2022-11-07", 1),
        json!({"method": "on_market"}),
    ));
    assert_eq!(field(&e), Some("method"));
    let e = refused_value(with(
        repurchase("2022-11-07", 1),
        json!({"purpose": "holding"}),
    ));
    assert_eq!(field(&e), Some("purpose"));
    let e = refused_value(with(issue("2022-11-07", 1), json!({"kind": "gift"})));
    assert_eq!(field(&e), Some("kind"));
}

#[test]
fn bad_amounts_and_currencies_are_named() {
    let e = refused_value(with(
        repurchase("2022-11-07", 1),
        json!({"highest_price": "-21.55"}),
    ));
    assert_eq!(field(&e), Some("highest_price"));
    assert!(e.message.contains("negative"), "{e}");
    let e = refused_value(with(
        repurchase("2022-11-07", 1),
        json!({"total_paid": "92,569"}),
    ));
    assert_eq!(field(&e), Some("total_paid"));
    let e = refused_value(with(
        repurchase("2022-11-07", 1),
        json!({"currency": "hkd"}),
    ));
    assert_eq!(field(&e), Some("currency"));
    let e = refused_value(with(
        repurchase("2022-11-07", 1),
        json!({"lowest_price": true}),
    ));
    assert_eq!(field(&e), Some("lowest_price"));
}

#[test]
fn not_an_object_is_refused_without_a_field() {
    for line in [
        "not json",
        "[1, 2]",
        "\"shares_repurchased\"",
        "{\"type\": ",
    ] {
        let e = refused(line);
        assert_eq!(field(&e), None, "{line}: {e}");
        assert!(!e.hint.is_empty());
    }
}

#[test]
fn bad_envelope_fields_are_named() {
    let base = repurchase("2022-11-07", 1);
    let e = refused_value(with(base.clone(), json!({"id": "not-a-uuid"})));
    assert_eq!(field(&e), Some("id"));
    let e = refused_value(with(base.clone(), json!({"id": 7})));
    assert_eq!(field(&e), Some("id"));
    let e = refused_value(with(base.clone(), json!({"recorded_at": "2022-11-07"})));
    assert_eq!(field(&e), Some("recorded_at"));
    let e = refused_value(with(base.clone(), json!({"actor": 1})));
    assert_eq!(field(&e), Some("actor"));
    let e = refused_value(with(base, json!({"note": ["a"]})));
    assert_eq!(field(&e), Some("note"));
}

// ---- what is read -----------------------------------------------------------------------

fn repurchase_event(line: Value) -> shareledger_core::event::SharesRepurchased {
    match parse_line(&line.to_string()).expect("parses").event {
        Event::SharesRepurchased(e) => e,
        other => panic!("read {other:?}"),
    }
}

#[test]
fn amounts_given_as_json_numbers_are_read_exactly() {
    // Written raw, so no float ever touches the text.
    let line = r#"{"type": "shares_repurchased", "issuer": "02121", "class": "H", "trade_date": "2022-11-07", "shares": 4300, "currency": "HKD", "highest_price": 21.55, "lowest_price": 21.350, "total_paid": 92569.1000000001}"#;
    let e = match parse_line(line).expect("parses").event {
        Event::SharesRepurchased(e) => e,
        other => panic!("read {other:?}"),
    };
    assert_eq!(e.highest_price.unwrap().0, Decimal::new(2155, 2));
    assert_eq!(e.highest_price.unwrap().to_string(), "21.55");
    // The text's own scale is kept.
    assert_eq!(e.lowest_price.unwrap().to_string(), "21.350");
    assert_eq!(e.total_paid.unwrap().to_string(), "92569.1000000001");
    // More decimals than the ledger keeps: refused, never rounded.
    let e = parse_line(&line.replace("92569.1000000001", "92569.10000000001"))
        .expect_err("11 decimal places");
    assert_eq!(e.field.as_deref(), Some("total_paid"));
}

#[test]
fn amounts_given_as_strings_and_numbers_agree() {
    let as_string = repurchase_event(with(
        repurchase("2022-11-07", 4300),
        json!({"currency": "HKD", "highest_price": "21.55", "lowest_price": "21.35", "total_paid": "92569"}),
    ));
    let as_number = parse_line(
        r#"{"type": "shares_repurchased", "issuer": "02121", "class": "H", "trade_date": "2022-11-07", "shares": 4300, "currency": "HKD", "highest_price": 21.55, "lowest_price": 21.35, "total_paid": 92569}"#,
    )
    .expect("parses")
    .event;
    assert_eq!(Event::SharesRepurchased(as_string), as_number);
}

#[test]
fn envelope_fields_are_taken_out_of_the_event() {
    let line = json!({"type": "market_closed", "date": "2023-09-08", "reason": "black rainstorm",
                      "id": "3f2b8c1e-5d4a-4e8f-9a6b-1c2d3e4f5a6b",
                      "recorded_at": "2023-09-08T18:30:00+08:00",
                      "actor": "company secretary", "note": "per HKEX notice"});
    let incoming = parse_line(&line.to_string()).expect("parses");
    assert_eq!(
        incoming.id.unwrap().to_string(),
        "3f2b8c1e-5d4a-4e8f-9a6b-1c2d3e4f5a6b"
    );
    assert_eq!(
        incoming.recorded_at.unwrap().to_rfc3339(),
        "2023-09-08T18:30:00+08:00"
    );
    assert_eq!(incoming.actor.as_deref(), Some("company secretary"));
    assert_eq!(incoming.note.as_deref(), Some("per HKEX notice"));
    let Event::MarketClosed(e) = &incoming.event else {
        panic!("read {:?}", incoming.event)
    };
    assert_eq!(e.reason, "black rainstorm");
    // The given envelope wins over the caller's defaults.
    let r = incoming.into_recorded(|| panic!("an id was given"), clock(), "os-user");
    assert_eq!(
        r.id,
        "3f2b8c1e-5d4a-4e8f-9a6b-1c2d3e4f5a6b"
            .parse::<uuid::Uuid>()
            .unwrap()
    );
    assert_eq!(
        r.recorded_at,
        DateTime::parse_from_rfc3339("2023-09-08T18:30:00+08:00").unwrap()
    );
    assert_eq!(r.actor, "company secretary");
    assert_eq!(r.position, None);
}

#[test]
fn absent_envelope_fields_take_the_callers_defaults() {
    let incoming = parse_line(
        &json!({"type": "market_closed", "date": "2023-09-08",
                                      "reason": "rain", "id": null})
        .to_string(),
    )
    .expect("parses");
    assert_eq!(
        (
            incoming.id,
            incoming.recorded_at,
            &incoming.actor,
            &incoming.note
        ),
        (None, None, &None, &None)
    );
    let r = incoming.into_recorded(|| id(9), clock(), "os-user");
    assert_eq!(r.id, id(9));
    assert_eq!(r.recorded_at, clock());
    assert_eq!(r.actor, "os-user");
    assert_eq!(r.note, None);
}

#[test]
fn optional_fields_stay_absent_and_defaults_apply_where_used() {
    let e = repurchase_event(repurchase("2022-11-07", 4300));
    assert_eq!(
        (e.method, e.purpose, e.exchange.as_deref()),
        (None, None, None)
    );
    assert_eq!(
        e.method_or_default(),
        shareledger_core::event::Method::OnExchange
    );
    // The canonical form is what the user said: no defaults written in.
    let r = record(&repurchase("2022-11-07", 4300), 0);
    let payload: Value = serde_json::from_str(&r.payload()).unwrap();
    assert_eq!(
        payload,
        json!({"type": "shares_repurchased", "issuer": "02121", "class": "H",
               "trade_date": "2022-11-07", "shares": 4300})
    );
}

// ---- round trip of the stored payload for every event type -------------------------------

const ID: &str = "00000000-0000-0000-0000-0000000000aa";

/// One line per event type, with its optional fields filled where it has any.
fn samples() -> Vec<Value> {
    vec![
        json!({"type": "issuer_registered", "issuer": "02121",
               "name": "Qingdao AInnovation Technology Group Co., Ltd",
               "description": "(a joint stock company incorporated in the People's Republic of China with limited liability)",
               "primary_listing": true,
               "signatory": {"name": "Xiao Lei", "title": "Joint Company Secretary"},
               "presentation": {"percent_decimals": 2, "percent_rounding": "down",
                                "percent_basis": "opening_balance", "percent_on_carried_lines": true,
                                "price_decimals": 4}}),
        json!({"type": "issuer_settings_changed", "issuer": "02121", "name": "AInnovation",
               "description": "(PRC)", "primary_listing": false,
               "signatory": {"name": "Xiao Lei", "title": "Director"},
               "presentation": {"percent_basis": "excluding_pending"}}),
        json!({"type": "share_class_defined", "issuer": "02121", "class": "H",
               "class_of_shares": "Ordinary shares", "type_of_shares": "H", "listed": true,
               "stock_code": "02121", "multi_counter": [{"stock_code": "82121", "currency": "RMB"}],
               "description": "H shares", "par_value": {"currency": "RMB", "amount": "1"},
               "authorised_shares": 559_304_838}),
        json!({"type": "opening_balance", "issuer": "02121", "class": "H", "date": "2022-05-27",
               "issued_shares": 559_304_838, "treasury_shares": 0}),
        json!({"type": "repurchase_mandate_granted", "issuer": "02121", "class": "H",
               "resolution_date": "2022-05-10", "issued_shares_at_resolution": 559_304_838,
               "authorised_shares": 55_930_483, "explanatory_statement_date": "2022-04-14",
               "expiry_date": "2023-06-30", "repurchased_before_ledger": 0}),
        json!({"type": "shares_repurchased", "issuer": "02121", "class": "H", "trade_date": "2022-11-07",
               "shares": 4300, "method": "other_exchange", "exchange": "Shanghai Stock Exchange",
               "purpose": "cancellation", "currency": "HKD", "highest_price": 21.55,
               "lowest_price": "21.35", "total_paid": "92569"}),
        json!({"type": "repurchased_shares_cancelled", "issuer": "02121", "class": "H",
               "date": "2022-12-01", "shares": 4300, "trade_dates": ["2022-11-07", "2022-05-30"]}),
        json!({"type": "shares_issued", "issuer": "02121", "class": "H", "date": "2022-12-02",
               "shares": 1000, "kind": "share_option_exercise", "scheme": "2019 Scheme",
               "by_director": true, "currency": "HKD", "price": "3.2", "previous_close": "3.50",
               "general_meeting_date": "2019-06-01", "description": "exercise by Mr X",
               "amount": "1000"}),
        json!({"type": "shares_redeemed", "issuer": "02121", "class": "H", "date": "2022-12-03",
               "shares": 10, "currency": "USD", "price": "1.00", "cancelled": false}),
        json!({"type": "treasury_shares_sold", "issuer": "02121", "class": "H",
               "trade_date": "2024-07-02", "shares": 100, "method": "on_exchange",
               "currency": "HKD", "highest_price": "10.5", "lowest_price": "10",
               "total_received": "1025.5"}),
        json!({"type": "treasury_shares_transferred", "issuer": "02121", "class": "H",
               "date": "2024-07-03", "shares": 100, "purpose": "share award", "scheme": "2024 Award Scheme"}),
        json!({"type": "treasury_shares_cancelled", "issuer": "02121", "class": "H",
               "date": "2024-07-04", "shares": 100}),
        json!({"type": "authorised_shares_changed", "issuer": "02121", "class": "H",
               "date": "2024-07-05", "authorised_shares": 600_000_000}),
        json!({"type": "share_option_scheme_adopted", "issuer": "02121", "class": "H",
               "scheme": "2019 Scheme", "adoption_date": "2019-06-01",
               "general_meeting_date": "2019-05-30", "outstanding_options": 1_000_000}),
        json!({"type": "share_options_granted", "issuer": "02121", "scheme": "2019 Scheme",
               "date": "2022-06-01", "options": 500}),
        json!({"type": "share_options_lapsed", "issuer": "02121", "scheme": "2019 Scheme",
               "date": "2022-06-02", "options": 50}),
        json!({"type": "share_options_cancelled", "issuer": "02121", "scheme": "2019 Scheme",
               "date": "2022-06-03", "options": 5}),
        json!({"type": "results_announcement_scheduled", "issuer": "02121", "period": "2022 annual",
               "board_meeting_date": "2023-03-28", "publication_deadline": "2023-03-31",
               "announcement_date": "2023-03-28"}),
        json!({"type": "market_closed", "date": "2023-09-08", "reason": "black rainstorm"}),
        json!({"type": "return_filed", "issuer": "02121", "form": "monthly", "date": "2022-11-30",
               "submitted_at": "2022-12-07T08:00:00+08:00", "digest": "ab12", "layout": "FF301"}),
        json!({"type": "event_voided", "issuer": "02121", "voided_id": ID, "reason": "duplicate"}),
        json!({"type": "closing_price", "issuer": "02121", "class": "H", "date": "2022-11-04",
               "currency": "HKD", "price": "21.40"}),
        json!({"type": "shares_reclassified", "issuer": "02121", "from_class": "B", "to_class": "A",
               "date": "2024-07-15", "shares": 5_000_000,
               "description": "Conversion of Class B ordinary shares to Class A ordinary shares"}),
        json!({"type": "instrument_issued", "issuer": "02121", "class": "H", "instrument": "2024 Warrants",
               "kind": "warrant", "date": "2024-07-02", "currency": "HKD", "amount": "10000000",
               "price": "2.50", "shares_issuable": 10_000_000, "general_meeting_date": "2024-06-20",
               "expiry_date": "2026-07-01", "stock_code": "01937", "description": "Listed warrants"}),
        json!({"type": "instrument_cancelled", "issuer": "02121", "instrument": "2024 Warrants",
               "date": "2024-07-31", "shares_issuable": 1_000_000, "amount": "1000000",
               "reason": "lapsed"}),
        json!({"type": "exchange_approval_recorded", "issuer": "02121", "rule": "10.06(3)",
               "date": "2024-07-20", "covers": [ID], "reference": "Exchange letter of 20 July 2024"}),
        json!({"type": "capital_reorganised", "issuer": "02121", "class": "H", "date": "2024-07-15",
               "kind": "consolidation", "ratio_from": 10, "ratio_to": 1,
               "issued_shares_after": 55_930_483, "treasury_shares_after": 0,
               "authorised_shares_after": 55_930_483,
               "par_value_after": {"currency": "RMB", "amount": "10"},
               "general_meeting_date": "2024-07-10", "description": "Share consolidation"}),
    ]
}

#[test]
fn there_is_a_sample_for_every_event_type() {
    let sampled: BTreeSet<String> = samples()
        .iter()
        .map(|l| l["type"].as_str().unwrap().to_string())
        .collect();
    let known: BTreeSet<String> = EVENT_TYPES.iter().map(|t| t.to_string()).collect();
    assert_eq!(sampled, known);
    assert_eq!(samples().len(), EVENT_TYPES.len());
}

#[test]
fn every_event_type_round_trips_through_its_stored_payload() {
    for (n, line) in samples().into_iter().enumerate() {
        let type_name = line["type"].as_str().unwrap().to_string();
        let line = with(
            line,
            json!({"id": id(n as u128 + 1).to_string(), "recorded_at": "2025-01-02T09:00:00+08:00",
                   "actor": "tester", "note": format!("sample {n}")}),
        );
        let recorded = parse_line(&line.to_string())
            .unwrap_or_else(|e| panic!("{type_name}: {e}"))
            .into_recorded(|| unreachable!(), clock(), "nobody");
        assert_eq!(recorded.event.type_name(), type_name);

        let payload = recorded.payload();
        let back = Recorded::from_payload(
            recorded.id,
            recorded.recorded_at,
            recorded.actor.clone(),
            &payload,
            None,
        )
        .unwrap_or_else(|e| {
            panic!("{type_name}: stored payload does not read back: {e}\n{payload}")
        });
        assert_eq!(back, recorded, "{type_name}");
        // The payload is canonical: writing it again gives the same text.
        assert_eq!(back.payload(), payload, "{type_name}");

        // The payload holds exactly the line's fields less the envelope, and
        // keeps the note; amounts are canonical strings.
        let stored: Value = serde_json::from_str(&payload).unwrap();
        let mut expected = without(without(without(line.clone(), "id"), "recorded_at"), "actor");
        if let Some(obj) = expected.as_object_mut() {
            for v in obj.values_mut() {
                if v.is_f64() {
                    *v = Value::String(v.to_string());
                }
            }
        }
        assert_eq!(stored, expected, "{type_name}");
        let keys: Vec<&String> = stored.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{type_name}: keys sorted");

        // And the payload is itself an importable line giving the same event.
        let again = parse_line(&payload).unwrap_or_else(|e| panic!("{type_name}: {e}"));
        assert_eq!(again.event, recorded.event, "{type_name}");
        assert_eq!(again.note, recorded.note, "{type_name}");
    }
}

#[test]
fn from_payload_refuses_what_is_not_an_event() {
    let at = clock();
    for (payload, f) in [
        ("not json", None),
        (r#"{"issuer": "02121"}"#, Some("type")),
        (
            r#"{"type": "market_closed", "date": "2023-09-08", "reason": "x", "note": 1}"#,
            Some("note"),
        ),
        (r#"{"type": "no_such_event"}"#, Some("type")),
        (
            r#"{"type": "market_closed", "date": "2023-09-08"}"#,
            Some("reason"),
        ),
    ] {
        let e = Recorded::from_payload(id(1), at, "a".into(), payload, Some(1)).expect_err(payload);
        assert_eq!(e.field.as_deref(), f, "{payload}: {e}");
    }
}

#[test]
fn log_output_position_and_hash_are_accepted_and_not_kept() {
    // `log --format json` adds position and hash; a re-import recomputes them.
    let line = with(
        repurchase("2022-11-07", 4300),
        json!({"position": 3, "hash": "ab"}),
    );
    let incoming = parse_line(&line.to_string()).expect("accepted");
    let payload = incoming.into_recorded(|| id(1), clock(), "t").payload();
    assert!(
        !payload.contains("position") && !payload.contains("hash"),
        "{payload}"
    );
}

#[test]
fn dates_must_be_written_yyyy_mm_dd() {
    for bad in ["2022-11-7", "2022-1-07", "22-11-07", "2022/11/07"] {
        let line = json!({"type": "shares_repurchased", "issuer": "02121", "class": "H",
                          "trade_date": bad, "shares": 4300});
        let e = parse_line(&line.to_string()).expect_err(bad);
        assert_eq!(e.field.as_deref(), Some("trade_date"), "{e}");
    }
    let line = json!({"type": "repurchased_shares_cancelled", "issuer": "02121", "class": "H",
                      "date": "2022-11-30", "shares": 1, "trade_dates": ["2022-11-7"]});
    let e = parse_line(&line.to_string()).expect_err("a bad trade date in a list");
    assert_eq!(e.field.as_deref(), Some("trade_dates"), "{e}");
}
