//! Given / when / then for the register, in the style of cqrs-es.
//!
//! Events are written as JSON lines exactly as a user would import them, read
//! with [`parse_line`], completed with a fixed clock and deterministic ids,
//! and fed through [`Register::execute`]. Every `given` event must be
//! accepted; `when` keeps the register as it was before, so a refusal can be
//! checked to have changed nothing.
#![allow(dead_code)]

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use serde_json::{json, Value};
use shareledger_core::state::Balances;
use shareledger_core::{
    parse_line, ClassState, IssuerState, Recorded, Refusal, RefusalKind, Register,
};
use uuid::Uuid;

/// The seed issuer (Qingdao AInnovation) and its H class.
pub const ISSUER: &str = "02121";
pub const CLASS: &str = "H";

/// A date from `YYYY-MM-DD`.
pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("bad test date {s}: {e}"))
}

/// A deterministic event id.
pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// The fixed clock every event is recorded by (plus a minute per event).
pub fn clock() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-01-02T09:00:00+08:00").expect("valid time")
}

/// Read a JSON event as an import line and complete its envelope.
pub fn record(line: &Value, seq: u64) -> Recorded {
    let text = line.to_string();
    let incoming = parse_line(&text)
        .or_else(|e| {
            // A figure beyond the bounds read at the door
            // (`event::check_bounds`): build the event directly, so that
            // the core's own refusal (defence in depth) is what is tested.
            let event: shareledger_core::Event =
                serde_json::from_value(line.clone()).map_err(|_| e.clone())?;
            match shareledger_core::event::check_bounds(&event) {
                Ok(()) => Err(e),
                Err(_) => Ok(shareledger_core::Incoming {
                    id: None,
                    recorded_at: None,
                    actor: None,
                    note: None,
                    allow_duplicate: false,
                    event,
                }),
            }
        })
        .unwrap_or_else(|e| panic!("test line does not parse: {e}\n{text}"));
    incoming.into_recorded(
        || Uuid::from_u128(0xfeed_0000_0000_0000_0000_0000_0000_0000 + seq as u128),
        clock() + Duration::minutes(seq as i64),
        "tester",
    )
}

/// `base` with the fields of `extra` added (or replaced).
pub fn with(mut base: Value, extra: Value) -> Value {
    let (Value::Object(b), Value::Object(e)) = (&mut base, extra) else {
        panic!("with() merges JSON objects");
    };
    b.extend(e);
    base
}

/// `base` without `field`.
pub fn without(mut base: Value, field: &str) -> Value {
    base.as_object_mut().expect("an object").remove(field);
    base
}

// ---- event lines for the seed issuer and class --------------------------------

pub fn repurchase(trade_date: &str, shares: u64) -> Value {
    json!({"type": "shares_repurchased", "issuer": ISSUER, "class": CLASS,
           "trade_date": trade_date, "shares": shares})
}

pub fn treasury_repurchase(trade_date: &str, shares: u64) -> Value {
    with(
        repurchase(trade_date, shares),
        json!({"purpose": "treasury"}),
    )
}

pub fn cancellation(date: &str, shares: u64) -> Value {
    json!({"type": "repurchased_shares_cancelled", "issuer": ISSUER, "class": CLASS,
           "date": date, "shares": shares})
}

pub fn issue(date: &str, shares: u64) -> Value {
    json!({"type": "shares_issued", "issuer": ISSUER, "class": CLASS,
           "date": date, "shares": shares, "kind": "placing"})
}

pub fn redemption(date: &str, shares: u64) -> Value {
    json!({"type": "shares_redeemed", "issuer": ISSUER, "class": CLASS,
           "date": date, "shares": shares})
}

pub fn treasury_sale(trade_date: &str, shares: u64) -> Value {
    // Priced at exactly HKD 10 a share.
    json!({"type": "treasury_shares_sold", "issuer": ISSUER, "class": CLASS,
           "trade_date": trade_date, "shares": shares, "currency": "HKD",
           "highest_price": "10", "lowest_price": "10", "total_received": (shares * 10).to_string()})
}

pub fn treasury_transfer(date: &str, shares: u64) -> Value {
    json!({"type": "treasury_shares_transferred", "issuer": ISSUER, "class": CLASS,
           "date": date, "shares": shares, "purpose": "share award scheme"})
}

pub fn treasury_cancellation(date: &str, shares: u64) -> Value {
    json!({"type": "treasury_shares_cancelled", "issuer": ISSUER, "class": CLASS,
           "date": date, "shares": shares})
}

pub fn authorised_change(date: &str, authorised: u64) -> Value {
    json!({"type": "authorised_shares_changed", "issuer": ISSUER, "class": CLASS,
           "date": date, "authorised_shares": authorised})
}

pub fn mandate(resolution_date: &str, issued_at_resolution: u64) -> Value {
    json!({"type": "repurchase_mandate_granted", "issuer": ISSUER, "class": CLASS,
           "resolution_date": resolution_date, "issued_shares_at_resolution": issued_at_resolution})
}

pub fn scheme_adopted(scheme: &str, adoption_date: &str, outstanding: u64) -> Value {
    json!({"type": "share_option_scheme_adopted", "issuer": ISSUER, "class": CLASS,
           "scheme": scheme, "adoption_date": adoption_date, "outstanding_options": outstanding})
}

pub fn options(kind: &str, scheme: &str, date: &str, n: u64) -> Value {
    json!({"type": format!("share_options_{kind}"), "issuer": ISSUER,
           "scheme": scheme, "date": date, "options": n})
}

pub fn option_exercise(scheme: &str, date: &str, shares: u64) -> Value {
    json!({"type": "shares_issued", "issuer": ISSUER, "class": CLASS, "date": date,
           "shares": shares, "kind": "share_option_exercise", "scheme": scheme})
}

pub fn results_scheduled(board: &str, deadline: &str) -> Value {
    json!({"type": "results_announcement_scheduled", "issuer": ISSUER, "period": "2022 interim",
           "board_meeting_date": board, "publication_deadline": deadline})
}

pub fn void(voided: Uuid) -> Value {
    json!({"type": "event_voided", "issuer": ISSUER, "voided_id": voided.to_string(),
           "reason": "entered in error"})
}

/// `line` with an explicit event id.
pub fn with_id(line: Value, n: u128) -> Value {
    with(line, json!({"id": id(n).to_string()}))
}

// ---- given / when / then -------------------------------------------------------

/// A register built from accepted events.
#[derive(Debug, Clone, Default)]
pub struct Given {
    register: Register,
    seq: u64,
}

impl Given {
    pub fn new() -> Self {
        Given::default()
    }

    /// Issuer 02121 (or another id) registered.
    pub fn issuer(self, issuer: &str) -> Self {
        self.event(json!({"type": "issuer_registered", "issuer": issuer,
                          "name": "Qingdao AInnovation Technology Group Co., Ltd"}))
    }

    /// A class of the seed issuer, with authorised/registered shares if any.
    pub fn class(self, class: &str, authorised: Option<u64>) -> Self {
        let mut line = json!({"type": "share_class_defined", "issuer": ISSUER, "class": class,
                              "class_of_shares": "Ordinary shares", "type_of_shares": "H",
                              "stock_code": ISSUER,
                              "par_value": {"currency": "RMB", "amount": "1"}});
        if let Some(n) = authorised {
            line = with(line, json!({"authorised_shares": n}));
        }
        self.event(line)
    }

    /// An opening balance of a class of the seed issuer.
    pub fn opening(self, class: &str, date: &str, issued: u64, treasury: u64) -> Self {
        self.event(
            json!({"type": "opening_balance", "issuer": ISSUER, "class": class,
                          "date": date, "issued_shares": issued, "treasury_shares": treasury}),
        )
    }

    /// Issuer 02121, class H (559,304,838 registered), opening 559,304,838 as at 2022-05-27.
    pub fn seed() -> Self {
        Given::new()
            .issuer(ISSUER)
            .class(CLASS, Some(559_304_838))
            .opening(CLASS, "2022-05-27", 559_304_838, 0)
    }

    /// A treasury-era issuer (Baozun's figures): 168,313,204 issued, 2,507,727
    /// treasury, as at 2024-06-30.
    pub fn baozun() -> Self {
        Given::new().issuer(ISSUER).class(CLASS, None).opening(
            CLASS,
            "2024-06-30",
            168_313_204,
            2_507_727,
        )
    }

    /// Any event, which must be accepted.
    pub fn event(mut self, line: Value) -> Self {
        let r = record(&line, self.seq);
        self.seq += 1;
        if let Err(refusal) = self.register.execute(r) {
            panic!("given event refused: {refusal}\n{line}");
        }
        self
    }

    /// Several events, each of which must be accepted.
    pub fn events(self, lines: impl IntoIterator<Item = Value>) -> Self {
        lines.into_iter().fold(self, Given::event)
    }

    pub fn register(&self) -> &Register {
        &self.register
    }

    /// The event under test: judged and, if accepted, applied.
    pub fn when(mut self, line: Value) -> When {
        let before = self.register.clone();
        let r = record(&line, self.seq);
        self.seq += 1;
        let result = self.register.execute(r);
        When {
            before,
            given: self,
            line,
            result,
        }
    }
}

/// The outcome of `when`.
#[derive(Debug)]
pub struct When {
    before: Register,
    given: Given,
    line: Value,
    result: Result<(), Refusal>,
}

impl When {
    /// Accepted: the register after the event (to keep going from).
    pub fn then_accepted(self) -> Given {
        if let Err(refusal) = &self.result {
            panic!(
                "expected acceptance, got refusal {:?}: {refusal}\n{}",
                refusal.kind, self.line
            );
        }
        self.given
    }

    /// Refused with `kind` at `field`; the message and hint together mention
    /// every one of `figures`; the register is exactly as before.
    pub fn then_refused(self, kind: RefusalKind, field: &str, figures: &[&str]) -> Refusal {
        let refusal = match self.result {
            Ok(()) => panic!(
                "expected {kind:?} on `{field}`, but it was accepted\n{}",
                self.line
            ),
            Err(r) => r,
        };
        assert_eq!(refusal.kind, kind, "kind of {refusal}\n{}", self.line);
        assert_eq!(refusal.field, field, "field of {refusal}\n{}", self.line);
        assert!(
            !refusal.message.trim().is_empty(),
            "empty message: {refusal:?}"
        );
        assert!(!refusal.hint.trim().is_empty(), "empty hint: {refusal:?}");
        let text = format!("{} {}", refusal.message, refusal.hint);
        for figure in figures {
            assert!(
                text.contains(figure),
                "refusal should mention `{figure}`: {refusal}"
            );
        }
        assert!(
            self.given.register == self.before,
            "a refused event changed the register\n{}",
            self.line
        );
        refusal
    }
}

// ---- reading the register ---------------------------------------------------------

pub fn issuer_state(g: &Given) -> &IssuerState {
    g.register()
        .issuer(ISSUER)
        .expect("the issuer is registered")
}

pub fn class_state(g: &Given) -> &ClassState {
    issuer_state(g).class(CLASS).expect("the class is defined")
}

/// Balances at the end of `date` (panics if the ledger knows nothing yet).
pub fn balances(g: &Given, date: &str) -> Balances {
    class_state(g)
        .balances_as_of(d(date))
        .unwrap_or_else(|| panic!("no balances as of {date}"))
}

/// (issued excluding treasury, treasury, pending cancellation).
pub fn triple(b: Balances) -> (u64, u64, u64) {
    (
        b.issued_excluding_treasury,
        b.treasury,
        b.pending_cancellation,
    )
}
