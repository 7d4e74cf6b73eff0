//! The audit's regenerations through a date index (`returns::window`) give
//! the documents a walk of the live events gives: over random histories
//! with corrections (voids), filings and amended filings, for the register
//! at every point of the replay ("as known when filed", read through the
//! index of the whole history) and at its end with only the filings before
//! each ("the log as it stands now", against `Register::with_filings_before`),
//! every NDDR and Monthly Return is the same document, or the same refusal.

use chrono::{DateTime, FixedOffset, NaiveDate};
use proptest::prelude::*;
use shareledger_core::event::parse_line;
use shareledger_core::state::Register;
use shareledger_ledger::append::append;
use shareledger_ledger::replay::{load_issuer, replay_rows};
use shareledger_ledger::{AppendOptions, Lines, ReadFilter, Store};
use shareledger_returns::monthly::{monthly, monthly_in, MonthlyRequest};
use shareledger_returns::nddr::{nddr, nddr_amendment, nddr_in, NddrRequest};
use shareledger_returns::window::{DateIndex, View};
use uuid::Uuid;

const ISSUER: &str = "00002";

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2024-12-31T10:00:00+08:00").unwrap()
}

/// 20 May 2024 onwards: the history crosses the FF304/FF305 switch (11 June
/// 2024) and three month ends.
fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 5, 20).unwrap() + chrono::Days::new(u64::from(n % 75))
}

#[derive(Debug, Clone)]
enum Op {
    Repurchase(u32, u64, bool),
    Cancel(u32, u64),
    Issue(u32, u64),
    Grant(u32, u64),
    Lapse(u32, u64),
    /// Void the n-th event accepted so far (mod their number).
    Void(usize),
    /// A filed NDDR dated with the n-th event accepted so far.
    FileNddr(usize, bool),
    /// A filed Monthly Return of month 5, 6 or 7.
    FileMonthly(u32, bool),
    /// A filing amending the n-th filing so far.
    Amend(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u32..75, 1u64..50_000, any::<bool>()).prop_map(|(d, n, t)| Op::Repurchase(d, n, t)),
        2 => (0u32..75, 1u64..50_000).prop_map(|(d, n)| Op::Cancel(d, n)),
        2 => (0u32..75, 1u64..50_000).prop_map(|(d, n)| Op::Issue(d, n)),
        1 => (0u32..75, 1u64..5_000).prop_map(|(d, n)| Op::Grant(d, n)),
        1 => (0u32..75, 1u64..5_000).prop_map(|(d, n)| Op::Lapse(d, n)),
        2 => (0usize..1000).prop_map(Op::Void),
        3 => (0usize..1000, any::<bool>()).prop_map(|(i, d)| Op::FileNddr(i, d)),
        1 => (5u32..8, any::<bool>()).prop_map(|(m, d)| Op::FileMonthly(m, d)),
        1 => (0usize..1000).prop_map(Op::Amend),
    ]
}

fn head() -> Vec<String> {
    vec![
        format!(r#"{{"type": "issuer_registered", "issuer": "{ISSUER}", "name": "Window Ltd"}}"#),
        format!(
            r#"{{"type": "share_class_defined", "issuer": "{ISSUER}", "class": "H", "class_of_shares": "Ordinary shares", "par_value": {{"currency": "HKD", "amount": "1"}}, "authorised_shares": 100000000}}"#
        ),
        format!(
            r#"{{"type": "opening_balance", "issuer": "{ISSUER}", "class": "H", "date": "2024-05-17", "issued_shares": 10000000}}"#
        ),
        format!(
            r#"{{"type": "repurchase_mandate_granted", "issuer": "{ISSUER}", "class": "H", "resolution_date": "2024-05-17", "issued_shares_at_resolution": 10000000}}"#
        ),
        format!(
            r#"{{"type": "share_option_scheme_adopted", "issuer": "{ISSUER}", "class": "H", "scheme": "S", "adoption_date": "2024-05-17", "outstanding_options": 100000}}"#
        ),
    ]
}

/// The JSON line of `op`, given the events accepted so far (id, date) and
/// the filings so far (ids).
fn content(op: &Op, accepted: &[(Uuid, NaiveDate)], filings: &[Uuid], k: u64) -> Option<String> {
    let digest = |yes: bool| match yes {
        true => format!(r#", "digest": "{:064x}""#, k),
        false => String::new(),
    };
    Some(match op {
        Op::Repurchase(d, n, treasury) => {
            // Exactly 2.45 a share.
            let total = format!("{}.{:02}", n * 245 / 100, n * 245 % 100);
            format!(
                r#"{{"type": "shares_repurchased", "issuer": "{ISSUER}", "class": "H", "trade_date": "{}", "shares": {n}, "method": "on_exchange", "purpose": "{}", "currency": "HKD", "highest_price": "2.50", "lowest_price": "2.40", "total_paid": "{total}"}}"#,
                day(*d),
                if *treasury {
                    "treasury"
                } else {
                    "cancellation"
                },
            )
        }
        Op::Cancel(d, n) => format!(
            r#"{{"type": "repurchased_shares_cancelled", "issuer": "{ISSUER}", "class": "H", "date": "{}", "shares": {n}}}"#,
            day(*d)
        ),
        Op::Issue(d, n) => format!(
            r#"{{"type": "shares_issued", "issuer": "{ISSUER}", "class": "H", "date": "{}", "shares": {n}, "kind": "share_option_exercise", "scheme": "S", "currency": "HKD", "price": "2.50"}}"#,
            day(*d)
        ),
        Op::Grant(d, n) => format!(
            r#"{{"type": "share_options_granted", "issuer": "{ISSUER}", "scheme": "S", "date": "{}", "options": {n}}}"#,
            day(*d)
        ),
        Op::Lapse(d, n) => format!(
            r#"{{"type": "share_options_lapsed", "issuer": "{ISSUER}", "scheme": "S", "date": "{}", "options": {n}}}"#,
            day(*d)
        ),
        Op::Void(i) => {
            let (id, _) = accepted.get(i % accepted.len().max(1))?;
            format!(
                r#"{{"type": "event_voided", "issuer": "{ISSUER}", "voided_id": "{id}", "reason": "entered in error"}}"#
            )
        }
        Op::FileNddr(i, d) => {
            let (_, date) = accepted.get(i % accepted.len().max(1))?;
            format!(
                r#"{{"type": "return_filed", "issuer": "{ISSUER}", "form": "nddr", "date": "{date}", "submitted_at": "2024-08-20T18:00:00+08:00"{}}}"#,
                digest(*d)
            )
        }
        Op::FileMonthly(m, d) => {
            let end = shareledger_returns::dates::month_end(2024, *m)?;
            format!(
                r#"{{"type": "return_filed", "issuer": "{ISSUER}", "form": "monthly", "date": "{end}", "submitted_at": "2024-08-20T18:00:00+08:00"{}}}"#,
                digest(*d)
            )
        }
        Op::Amend(i) => {
            let id = filings.get(i % filings.len().max(1))?;
            format!(
                r#"{{"type": "return_filed", "issuer": "{ISSUER}", "form": "nddr", "date": "{}", "submitted_at": "2024-08-21T18:00:00+08:00", "amends": "{id}"{}}}"#,
                day(74),
                digest(true)
            )
        }
    })
}

fn lines(text: &str, id: u128) -> Lines {
    let mut inc = parse_line(text).expect("parses");
    inc.id = Some(Uuid::from_u128(id));
    vec![(1, inc)]
}

/// How the test walks a register: it calls the function given with the
/// register to read (for "now", with only the filings before one).
type Walked<'a> = dyn Fn(&dyn Fn(&Register) -> String) -> String + 'a;

/// Every document (or refusal) a regeneration may be asked for, as text:
/// an NDDR on each day and each day's amendment, the Monthly Returns.
fn documents(view: &View<'_>, plain: &Walked<'_>) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for d in 0..75 {
        let req = NddrRequest {
            date: day(d),
            submitted: None,
            layout: None,
        };
        for amendment in [false, true] {
            let indexed = show(nddr_in(view, &req, amendment));
            let walked = plain(&|r: &Register| {
                let s = r.issuer(ISSUER).expect("registered");
                show(match amendment {
                    false => nddr(s, &req),
                    true => nddr_amendment(s, &req),
                })
            });
            out.push((format!("nddr {} {amendment}", req.date), indexed, walked));
        }
    }
    for month in 5..=8 {
        let req = MonthlyRequest {
            year: 2024,
            month,
            submitted: day(74),
        };
        let indexed = show(monthly_in(view, &req));
        let walked =
            plain(&|r: &Register| show(monthly(r.issuer(ISSUER).expect("registered"), &req)));
        out.push((format!("monthly {month}"), indexed, walked));
    }
    out
}

fn show<T: serde::Serialize, E: std::fmt::Display>(r: Result<T, E>) -> String {
    match r {
        Ok(doc) => serde_json::to_string(&doc).expect("serializes"),
        Err(e) => format!("error: {e}"),
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("w.db")).unwrap();
    let mut next = 1u128;
    let mut accepted: Vec<(Uuid, NaiveDate)> = Vec::new();
    let mut filings: Vec<Uuid> = Vec::new();
    let texts: Vec<Option<String>> = head().into_iter().map(Some).collect();
    for text in texts
        .into_iter()
        .chain(ops.iter().map(|_| None))
        .enumerate()
    {
        let (k, head_line) = text;
        let line = match head_line {
            Some(l) => Some(l),
            None => content(&ops[k - head().len()], &accepted, &filings, k as u64),
        };
        let Some(line) = line else { continue };
        next += 1;
        if append(
            &mut store,
            lines(&line, next),
            now(),
            "t",
            AppendOptions::default(),
        )
        .is_ok()
        {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            let id = Uuid::from_u128(next);
            match v["type"].as_str() {
                Some("return_filed") => filings.push(id),
                Some("event_voided") => {}
                _ => {
                    if let Some(d) = ["trade_date", "date", "resolution_date", "adoption_date"]
                        .iter()
                        .find_map(|k| v[*k].as_str())
                        .and_then(|d| d.parse().ok())
                    {
                        accepted.push((id, d));
                    }
                }
            }
        }
    }
    let current = load_issuer(&store, ISSUER, None).unwrap();
    let state = current.issuer(ISSUER).expect("registered").clone();
    let index = DateIndex::of(&state);
    prop_assert_eq!(index.len(), state.history().len());

    // At every point of the replay, through the index of the whole history.
    let last = store.count().unwrap();
    for p in 1..=last {
        let mut then = Register::new();
        replay_rows(
            &mut then,
            store.events(&ReadFilter {
                stream: Some(ISSUER.to_string()),
                to_position: Some(p),
                ..ReadFilter::default()
            }),
        )
        .unwrap();
        let Some(s) = then.issuer(ISSUER) else {
            continue;
        };
        let view = View::indexed(s, &index);
        for (what, indexed, walked) in documents(&view, &|f| f(&then)) {
            prop_assert_eq!(indexed, walked, "at position {}: {}", p, what);
        }
    }
    // At the end, with the filings before each.
    let current = std::cell::RefCell::new(current);
    for n in 0..=state.filings().len() {
        let view = View::indexed(&state, &index).filings_before(n);
        let docs = documents(&view, &|f| {
            current
                .borrow_mut()
                .with_filings_before(ISSUER, n, |r| f(r))
        });
        for (what, indexed, walked) in docs {
            prop_assert_eq!(indexed, walked, "filings before {}: {}", n, what);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn regenerations_through_the_index_are_the_walked_ones(ops in proptest::collection::vec(op(), 1..30)) {
        run(ops)?;
    }
}

/// An index of another history (another ledger's ids, or a shorter one)
/// is not used: the view walks the live events, with the same documents.
#[test]
fn an_index_of_another_history_is_not_used() {
    let issuer_in = |first_id: u128, repurchases: &[u32]| {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("w.db")).unwrap();
        let mut id = first_id;
        for l in head() {
            id += 1;
            append(
                &mut store,
                lines(&l, id),
                now(),
                "t",
                AppendOptions::default(),
            )
            .unwrap();
        }
        for d in repurchases {
            let r = content(&Op::Repurchase(*d, 1000, false), &[], &[], 0).unwrap();
            id += 1;
            append(
                &mut store,
                lines(&r, id),
                now(),
                "t",
                AppendOptions::default(),
            )
            .unwrap();
        }
        let register = load_issuer(&store, ISSUER, None).unwrap();
        register.issuer(ISSUER).unwrap().clone()
    };
    let state = issuer_in(100, &[3, 4]);
    let req = NddrRequest {
        date: day(4),
        submitted: None,
        layout: None,
    };
    let expected = show(nddr(&state, &req));
    assert!(expected.contains("\"closing_date\""), "{expected}");
    let own = DateIndex::of(&state);
    assert_eq!(
        show(nddr_in(&View::indexed(&state, &own), &req, false)),
        expected
    );
    for index in [
        DateIndex::new(),
        DateIndex::of(&issuer_in(500, &[3, 4])),
        DateIndex::of(&issuer_in(100, &[3])),
    ] {
        assert_eq!(
            show(nddr_in(&View::indexed(&state, &index), &req, false)),
            expected
        );
    }
}
