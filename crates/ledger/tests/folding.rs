//! A large append folds each issuer's state to its last days
//! (docs/decisions.md, "An import in bounded memory"): an event dated
//! before the horizon, a cancellation naming an old trade date or an
//! amended filing reads the issuer's whole state back from the write
//! transaction first. Over random histories with back-dated events,
//! cancellations (oldest first and by trade date), mandates, filings and
//! their amendments, closing prices, corrections and double entries, an
//! append folding to a one-day window (on one thread and on two) and one
//! keeping whole states give the same outcome — the same refusal and
//! message, the same counts and findings — and store the same log
//! (positions, ids, payloads, hashes).

use chrono::{DateTime, FixedOffset, NaiveDate};
use proptest::prelude::*;
use shareledger_core::event::parse_line;
use shareledger_ledger::append::{append, append_with_window};
use shareledger_ledger::{AppendOptions, AppendSummary, LedgerError, Lines, ReadFilter, Store};
use shareledger_store::EventRead;
use uuid::Uuid;

const ISSUER: &str = "00001";
const OTHER: &str = "00002";

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2024-06-30T10:00:00+08:00").unwrap()
}

/// The n-th business day of the Exchange from 3 January 2024 (within
/// about five months).
fn day(n: u8) -> NaiveDate {
    let calendar = shareledger_core::calendar::BusinessCalendar::new();
    let first = NaiveDate::from_ymd_opt(2024, 1, 3).unwrap();
    match n % 100 {
        0 => first,
        k => calendar.nth_business_day_after(first, u32::from(k)),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Repurchase(bool, u8, u64),
    Cancel(bool, u8, u64, Option<u8>),
    Issue(bool, u8, u64),
    Mandate(bool, u8),
    Authorised(bool, u8, u64),
    Close(bool, u8),
    /// An NDDR; or an amendment of the n-th filing so far.
    Filed(bool, u8, Option<usize>),
    Grant(bool, u64),
    /// Void the n-th event accepted so far.
    Void(usize),
    /// The content of the n-th event accepted so far again, new id.
    Again(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), any::<u8>(), 1u64..50_000).prop_map(|(o, d, n)| Op::Repurchase(o, d, n)),
        3 => (any::<bool>(), any::<u8>(), 1u64..80_000, proptest::option::of(any::<u8>()))
            .prop_map(|(o, d, n, t)| Op::Cancel(o, d, n, t)),
        1 => (any::<bool>(), any::<u8>(), 1u64..50_000).prop_map(|(o, d, n)| Op::Issue(o, d, n)),
        1 => (any::<bool>(), any::<u8>()).prop_map(|(o, d)| Op::Mandate(o, d)),
        1 => (any::<bool>(), any::<u8>(), 20_000_000u64..90_000_000).prop_map(|(o, d, n)| Op::Authorised(o, d, n)),
        1 => (any::<bool>(), any::<u8>()).prop_map(|(o, d)| Op::Close(o, d)),
        2 => (any::<bool>(), any::<u8>(), proptest::option::of(0usize..100)).prop_map(|(o, d, a)| Op::Filed(o, d, a)),
        1 => (any::<bool>(), 1u64..5_000).prop_map(|(o, n)| Op::Grant(o, n)),
        2 => (0usize..1000).prop_map(Op::Void),
        1 => (0usize..1000).prop_map(Op::Again),
    ]
}

fn head() -> Vec<String> {
    let mut out = Vec::new();
    for issuer in [ISSUER, OTHER] {
        out.extend([
            format!(r#"{{"type": "issuer_registered", "issuer": "{issuer}", "name": "Folding Ltd"}}"#),
            format!(
                r#"{{"type": "share_class_defined", "issuer": "{issuer}", "class": "H", "class_of_shares": "Ordinary shares", "authorised_shares": 100000000}}"#
            ),
            format!(
                r#"{{"type": "opening_balance", "issuer": "{issuer}", "class": "H", "date": "2024-01-02", "issued_shares": 10000000}}"#
            ),
            format!(
                r#"{{"type": "repurchase_mandate_granted", "issuer": "{issuer}", "class": "H", "resolution_date": "2024-01-02", "issued_shares_at_resolution": 10000000}}"#
            ),
            format!(
                r#"{{"type": "share_option_scheme_adopted", "issuer": "{issuer}", "class": "H", "scheme": "S", "adoption_date": "2024-01-02", "outstanding_options": 100000}}"#
            ),
        ]);
    }
    out
}

fn issuer(other: bool) -> &'static str {
    if other {
        OTHER
    } else {
        ISSUER
    }
}

/// The (id, JSON line) of `op`, given the events accepted so far and the
/// filings among them: (id, issuer, date).
fn line(
    op: &Op,
    accepted: &[(Uuid, String)],
    filings: &[(Uuid, &'static str, NaiveDate)],
    next: &mut u128,
) -> Option<(Uuid, String)> {
    *next += 1;
    let id = Uuid::from_u128(*next);
    let text = match op {
        Op::Repurchase(o, d, n) => format!(
            r#"{{"type": "shares_repurchased", "issuer": "{}", "class": "H", "trade_date": "{}", "shares": {n}, "method": "on_exchange", "purpose": "cancellation"}}"#,
            issuer(*o),
            day(*d)
        ),
        Op::Cancel(o, d, n, named) => {
            let named = named
                .map(|t| format!(r#", "trade_dates": ["{}"]"#, day(t)))
                .unwrap_or_default();
            format!(
                r#"{{"type": "repurchased_shares_cancelled", "issuer": "{}", "class": "H", "date": "{}", "shares": {n}{named}}}"#,
                issuer(*o),
                day(*d)
            )
        }
        Op::Issue(o, d, n) => format!(
            r#"{{"type": "shares_issued", "issuer": "{}", "class": "H", "date": "{}", "shares": {n}, "kind": "placing"}}"#,
            issuer(*o),
            day(*d)
        ),
        Op::Mandate(o, d) => format!(
            r#"{{"type": "repurchase_mandate_granted", "issuer": "{}", "class": "H", "resolution_date": "{}", "issued_shares_at_resolution": 10000000}}"#,
            issuer(*o),
            day(*d)
        ),
        Op::Authorised(o, d, n) => format!(
            r#"{{"type": "authorised_shares_changed", "issuer": "{}", "class": "H", "date": "{}", "authorised_shares": {n}}}"#,
            issuer(*o),
            day(*d)
        ),
        Op::Close(o, d) => format!(
            r#"{{"type": "closing_price", "issuer": "{}", "class": "H", "date": "{}", "currency": "HKD", "price": "2.40"}}"#,
            issuer(*o),
            day(*d)
        ),
        Op::Filed(o, d, amends) => {
            let (who, date, amends) =
                match amends.and_then(|i| filings.get(i % filings.len().max(1))) {
                    // The same return (accepted), or, one time in three, another.
                    Some((fid, who, date)) => (
                        *who,
                        if fid.as_u128() % 3 == 0 {
                            day(*d)
                        } else {
                            *date
                        },
                        format!(r#", "amends": "{fid}""#),
                    ),
                    None => (issuer(*o), day(*d), String::new()),
                };
            format!(
                r#"{{"type": "return_filed", "issuer": "{who}", "form": "nddr", "date": "{date}", "submitted_at": "2024-06-01T19:00:00+08:00"{amends}}}"#
            )
        }
        Op::Grant(o, n) => format!(
            r#"{{"type": "share_options_granted", "issuer": "{}", "scheme": "S", "date": "2024-01-03", "options": {n}}}"#,
            issuer(*o)
        ),
        Op::Void(i) => {
            let (vid, text) = accepted.get(i % accepted.len().max(1))?;
            let owner = if text.contains(OTHER) { OTHER } else { ISSUER };
            format!(
                r#"{{"type": "event_voided", "issuer": "{owner}", "voided_id": "{vid}", "reason": "entered in error"}}"#
            )
        }
        Op::Again(i) => accepted.get(i % accepted.len().max(1))?.1.clone(),
    };
    Some((id, text))
}

fn lines(batch: &[(Uuid, String)]) -> Lines {
    batch
        .iter()
        .enumerate()
        .map(|(n, (id, text))| {
            let mut inc = parse_line(text).expect("parses");
            inc.id = Some(*id);
            (n + 1, inc)
        })
        .collect()
}

fn outcome(r: &Result<AppendSummary, LedgerError>) -> String {
    match r {
        Ok(s) => format!(
            "ok {} {} {:?} {:?} {:?}",
            s.appended,
            s.duplicates,
            s.first_position,
            s.last_position,
            // The digest: the first findings of each issuer and rule (a
            // small history's every one), the counts, the overdue returns.
            (
                s.findings.total(),
                s.findings
                    .kept()
                    .map(|f| serde_json::to_string(f).unwrap())
                    .collect::<Vec<_>>(),
                s.findings.more().collect::<Vec<_>>(),
                s.findings.overdue().collect::<Vec<_>>(),
            )
        ),
        Err(e) => format!("refused: {e}"),
    }
}

fn rows(store: &Store) -> Vec<shareledger_store::StoredEvent> {
    store
        .events(&ReadFilter::default())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn run(ops: Vec<(Op, u8)>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut whole = Store::open(&dir.path().join("whole.db")).unwrap();
    let mut plain = Store::open(&dir.path().join("plain.db")).unwrap();
    let mut piped = Store::open(&dir.path().join("piped.db")).unwrap();
    let mut next = 0u128;
    let mut accepted: Vec<(Uuid, String)> = Vec::new();
    let mut filings: Vec<(Uuid, &'static str, NaiveDate)> = Vec::new();
    let mut pending: Vec<Op> = Vec::new();
    let mut batches: Vec<Vec<Op>> = Vec::new();
    for (op, size) in ops {
        pending.push(op);
        if pending.len() > usize::from(size % 12) {
            batches.push(std::mem::take(&mut pending));
        }
    }
    batches.push(pending);
    let head: Vec<(Uuid, String)> = head()
        .into_iter()
        .map(|l| {
            next += 1;
            (Uuid::from_u128(next), l)
        })
        .collect();
    let options = AppendOptions {
        findings: true,
        ..AppendOptions::default()
    };
    for (n, ops) in std::iter::once(Vec::new()).chain(batches).enumerate() {
        let batch: Vec<(Uuid, String)> = if n == 0 {
            head.clone()
        } else {
            ops.iter()
                .filter_map(|op| line(op, &accepted, &filings, &mut next))
                .collect()
        };
        let a = append(
            &mut whole,
            lines(&batch),
            now(),
            "t",
            AppendOptions {
                pipeline: Some(false),
                ..options
            },
        );
        let b = append_with_window(
            &mut plain,
            lines(&batch),
            now(),
            "t",
            AppendOptions {
                pipeline: Some(false),
                ..options
            },
            1,
        );
        let c = append_with_window(
            &mut piped,
            lines(&batch),
            now(),
            "t",
            AppendOptions {
                pipeline: Some(true),
                ..options
            },
            1,
        );
        prop_assert_eq!(outcome(&a), outcome(&b), "whole and folded, batch {}", n);
        prop_assert_eq!(
            outcome(&a),
            outcome(&c),
            "whole and folded on two threads, batch {}",
            n
        );
        let stored = rows(&whole);
        prop_assert_eq!(&stored, &rows(&plain));
        prop_assert_eq!(&stored, &rows(&piped));
        if a.is_ok() {
            for (id, text) in &batch {
                if stored.iter().any(|r| r.id == id.to_string()) {
                    accepted.push((*id, text.clone()));
                    if text.contains("return_filed") {
                        let v: serde_json::Value = serde_json::from_str(text).unwrap();
                        let who = if v["issuer"] == OTHER { OTHER } else { ISSUER };
                        let date = v["date"].as_str().unwrap().parse().unwrap();
                        filings.push((*id, who, date));
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn folded_and_whole_states_decide_alike(ops in prop::collection::vec((op(), any::<u8>()), 1..60)) {
        run(ops)?;
    }
}

/// A back-dated line after the issuer was folded: decided on the whole
/// state read back (the refusal names a later day the folded state no
/// longer holds in detail), and accepted when it fits.
#[test]
fn a_line_before_the_horizon_is_decided_on_the_whole_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut folded = Store::open(&dir.path().join("f.db")).unwrap();
    let mut whole = Store::open(&dir.path().join("w.db")).unwrap();
    let mut next = 0u128;
    let mut texts: Vec<String> = head();
    for d in 0..40u8 {
        texts.push(format!(
            r#"{{"type": "shares_repurchased", "issuer": "{ISSUER}", "class": "H", "trade_date": "{}", "shares": 1000, "method": "on_exchange"}}"#,
            day(d)
        ));
    }
    // Cancel all but 500 of the 40,000 pending on day 39, then a
    // back-dated cancellation on day 5 of more than is left from then on.
    texts.push(format!(
        r#"{{"type": "repurchased_shares_cancelled", "issuer": "{ISSUER}", "class": "H", "date": "{}", "shares": 39500}}"#,
        day(39)
    ));
    let back = format!(
        r#"{{"type": "repurchased_shares_cancelled", "issuer": "{ISSUER}", "class": "H", "date": "{}", "shares": 3000}}"#,
        day(5)
    );
    let batch: Vec<(Uuid, String)> = texts
        .iter()
        .chain([&back])
        .map(|t| {
            next += 1;
            (Uuid::from_u128(next), t.clone())
        })
        .collect();
    let a = append(
        &mut whole,
        lines(&batch),
        now(),
        "t",
        AppendOptions::default(),
    );
    let b = append_with_window(
        &mut folded,
        lines(&batch),
        now(),
        "t",
        AppendOptions::default(),
        1,
    );
    let refused = outcome(&b);
    assert_eq!(outcome(&a), refused);
    assert!(refused.starts_with("refused"), "{refused}");
    assert!(rows(&folded).is_empty());
    // Without the back-dated line: accepted alike, the same log.
    let batch = &batch[..batch.len() - 1];
    let a = append(
        &mut whole,
        lines(batch),
        now(),
        "t",
        AppendOptions::default(),
    );
    let b = append_with_window(
        &mut folded,
        lines(batch),
        now(),
        "t",
        AppendOptions::default(),
        1,
    );
    assert_eq!(outcome(&a), outcome(&b));
    assert!(a.is_ok(), "{}", outcome(&a));
    assert_eq!(rows(&whole), rows(&folded));
    // The folded issuer's snapshot was not written; the whole one's was.
    assert!(whole.snapshot(ISSUER).unwrap().is_some());
    assert!(folded.snapshot(ISSUER).unwrap().is_none());
}
