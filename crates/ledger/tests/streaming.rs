//! The append decides against the store (no histories, a Bloom filter for
//! the double-entry rule, corrections and repeated ids read back from the
//! write transaction, findings issuer by issuer from the store); a dry run
//! decides in memory as every append did before. Over random histories with
//! corrections, double entries (allowed or not), ids given again (same or
//! other content) and line numbers with gaps, both give the same outcome —
//! the same refusal and message, the same counts, the same findings — and
//! an append on one thread stores the same log as one on two.
//!
//! A dry run is the streaming append rolled back; the in-memory decision
//! is kept for a ledger that cannot be written
//! (`append::dry_run_read_only`). Both dry runs give the append's outcome,
//! every finding included, and leave the log as it was; the digest the
//! summary hands back is the digest of every finding.

use chrono::{DateTime, FixedOffset, NaiveDate};
use proptest::prelude::*;
use shareledger_core::event::parse_line;
use shareledger_ledger::append::{append, append_into, dry_run_read_only};
use shareledger_ledger::{
    AppendOptions, AppendSummary, FindingsDigest, LedgerError, Lines, ReadFilter, Store,
};
use shareledger_returns::checks::Finding;
use uuid::Uuid;

const ISSUER: &str = "00001";
const OTHER: &str = "00002";

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2024-06-30T10:00:00+08:00").unwrap()
}

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 2).unwrap() + chrono::Days::new(u64::from(n % 90))
}

#[derive(Debug, Clone)]
enum Op {
    Repurchase(bool, u32, u64),
    Cancel(bool, u32, u64),
    Grant(bool, u32, u64),
    Lapse(bool, u32, u64),
    /// Void the n-th event accepted so far.
    Void(usize),
    /// The content of the n-th event accepted so far again, new id (and
    /// perhaps `allow_duplicate`).
    Again(usize, bool),
    /// The id of the n-th line given so far again: with its content (a
    /// retry) or with other content.
    SameId(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 0u32..90, 1u64..50_000).prop_map(|(o, d, n)| Op::Repurchase(o, d, n)),
        2 => (any::<bool>(), 0u32..90, 1u64..50_000).prop_map(|(o, d, n)| Op::Cancel(o, d, n)),
        1 => (any::<bool>(), 0u32..90, 1u64..5_000).prop_map(|(o, d, n)| Op::Grant(o, d, n)),
        1 => (any::<bool>(), 0u32..90, 1u64..5_000).prop_map(|(o, d, n)| Op::Lapse(o, d, n)),
        2 => (0usize..1000).prop_map(Op::Void),
        2 => (0usize..1000, any::<bool>()).prop_map(|(i, a)| Op::Again(i, a)),
        1 => (0usize..1000, any::<bool>()).prop_map(|(i, s)| Op::SameId(i, s)),
    ]
}

fn head() -> Vec<String> {
    let mut out = Vec::new();
    for issuer in [ISSUER, OTHER] {
        out.extend([
            format!(r#"{{"type": "issuer_registered", "issuer": "{issuer}", "name": "Streaming Ltd"}}"#),
            format!(
                r#"{{"type": "share_class_defined", "issuer": "{issuer}", "class": "H", "class_of_shares": "Ordinary shares", "par_value": {{"currency": "HKD", "amount": "1"}}, "authorised_shares": 100000000}}"#
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

/// The (id, JSON line) of `op`, given the events accepted so far and every
/// line given so far.
fn line(
    op: &Op,
    accepted: &[(Uuid, String)],
    given: &[(Uuid, String)],
    next: &mut u128,
) -> Option<(Uuid, String)> {
    let mut fresh = || {
        *next += 1;
        Uuid::from_u128(*next)
    };
    Some(match op {
        Op::Repurchase(o, d, n) => (
            fresh(),
            format!(
                r#"{{"type": "shares_repurchased", "issuer": "{}", "class": "H", "trade_date": "{}", "shares": {n}, "method": "on_exchange", "purpose": "cancellation"}}"#,
                issuer(*o),
                day(*d)
            ),
        ),
        Op::Cancel(o, d, n) => (
            fresh(),
            format!(
                r#"{{"type": "repurchased_shares_cancelled", "issuer": "{}", "class": "H", "date": "{}", "shares": {n}}}"#,
                issuer(*o),
                day(*d)
            ),
        ),
        Op::Grant(o, d, n) => (
            fresh(),
            format!(
                r#"{{"type": "share_options_granted", "issuer": "{}", "scheme": "S", "date": "{}", "options": {n}, "note": "grant"}}"#,
                issuer(*o),
                day(*d)
            ),
        ),
        Op::Lapse(o, d, n) => (
            fresh(),
            format!(
                r#"{{"type": "share_options_lapsed", "issuer": "{}", "scheme": "S", "date": "{}", "options": {n}}}"#,
                issuer(*o),
                day(*d)
            ),
        ),
        Op::Void(i) => {
            let (id, text) = accepted.get(i % accepted.len().max(1))?;
            let owner = if text.contains(OTHER) { OTHER } else { ISSUER };
            (
                fresh(),
                format!(
                    r#"{{"type": "event_voided", "issuer": "{owner}", "voided_id": "{id}", "reason": "entered in error"}}"#
                ),
            )
        }
        Op::Again(i, allow) => {
            let (_, c) = accepted.get(i % accepted.len().max(1))?;
            let text = if *allow {
                let mut v: serde_json::Value = serde_json::from_str(c).unwrap();
                v["allow_duplicate"] = serde_json::Value::Bool(true);
                v.to_string()
            } else {
                c.clone()
            };
            (fresh(), text)
        }
        Op::SameId(i, same) => {
            let (id, c) = given.get(i % given.len().max(1))?;
            let text = if *same {
                c.clone()
            } else {
                format!(
                    r#"{{"type": "closing_price", "issuer": "{ISSUER}", "class": "H", "date": "2024-02-01", "currency": "HKD", "price": "2.40"}}"#
                )
            };
            (*id, text)
        }
    })
}

/// The lines of a batch, numbered with gaps (blank lines of a file).
fn lines(batch: &[(Uuid, String)], gaps: u8) -> Lines {
    let mut number = 0;
    batch
        .iter()
        .enumerate()
        .map(|(n, (id, text))| {
            number += 1 + usize::from(n as u8 % 3 == gaps % 3);
            let mut inc = parse_line(text).expect("parses");
            inc.id = Some(*id);
            (number, inc)
        })
        .collect()
}

/// What an append decided: counts and findings, or the refusal (a dry run
/// has no positions).
fn outcome(r: &Result<AppendSummary, LedgerError>, findings: &[Finding]) -> String {
    match r {
        Ok(s) => format!(
            "ok {} {} {:?}",
            s.appended,
            s.duplicates,
            findings
                .iter()
                .map(|f| serde_json::to_string(f).unwrap())
                .collect::<Vec<_>>()
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
    let mut plain = Store::open(&dir.path().join("plain.db")).unwrap();
    let mut piped = Store::open(&dir.path().join("piped.db")).unwrap();
    let mut next = 0u128;
    let mut accepted: Vec<(Uuid, String)> = Vec::new();
    let mut given: Vec<(Uuid, String)> = Vec::new();
    let mut batches: Vec<Vec<(Uuid, String)>> = vec![head()
        .into_iter()
        .map(|l| {
            next += 1;
            (Uuid::from_u128(next), l)
        })
        .collect()];
    let mut batch = Vec::new();
    for (op, size) in ops {
        if let Some(l) = line(&op, &accepted, &given, &mut next) {
            given.push(l.clone());
            batch.push(l);
        }
        if batch.len() > usize::from(size % 7) {
            batches.push(std::mem::take(&mut batch));
        }
    }
    batches.push(batch);
    for (n, batch) in batches.iter().enumerate() {
        let gaps = n as u8;
        let options = AppendOptions {
            findings: true,
            ..AppendOptions::default()
        };
        let before = rows(&plain);
        let dry = dry_run_read_only(
            &plain,
            lines(batch, gaps),
            now(),
            "t",
            AppendOptions {
                dry_run: true,
                ..options
            },
        );
        let mut streamed_findings = Vec::new();
        let streamed = append_into(
            &mut plain,
            lines(batch, gaps),
            now(),
            "t",
            AppendOptions {
                dry_run: true,
                pipeline: Some(n % 2 == 0),
                ..options
            },
            &mut streamed_findings,
        );
        prop_assert_eq!(&rows(&plain), &before, "a dry run writes nothing");
        let mut a_findings = Vec::new();
        let a = append_into(
            &mut plain,
            lines(batch, gaps),
            now(),
            "t",
            AppendOptions {
                pipeline: Some(false),
                ..options
            },
            &mut a_findings,
        );
        let b = append(
            &mut piped,
            lines(batch, gaps),
            now(),
            "t",
            AppendOptions {
                pipeline: Some(true),
                ..options
            },
        );
        // The in-memory dry run: the same outcome, and the digest of every
        // finding the append found.
        prop_assert_eq!(
            outcome(&dry, &[]),
            outcome(&a, &[]),
            "in-memory dry run and append, batch {}",
            n
        );
        if let (Ok(dry), Ok(_)) = (&dry, &a) {
            prop_assert_eq!(dry.first_position, None);
            let all: FindingsDigest = a_findings.iter().collect();
            prop_assert_eq!(
                &dry.findings,
                &all,
                "in-memory dry run's findings, batch {}",
                n
            );
        }
        prop_assert_eq!(
            outcome(&streamed, &streamed_findings),
            outcome(&a, &a_findings),
            "streamed dry run and append, batch {}",
            n
        );
        if let (Ok(b), Ok(_)) = (&b, &a) {
            let all: FindingsDigest = a_findings.iter().collect();
            prop_assert_eq!(&b.findings, &all, "one thread and two, batch {}", n);
        }
        prop_assert_eq!(
            outcome(&a, &[]),
            outcome(&b, &[]),
            "one thread and two, batch {}",
            n
        );
        if let (Ok(a), Ok(b)) = (&a, &b) {
            prop_assert_eq!(a.first_position, b.first_position);
            prop_assert_eq!(a.last_position, b.last_position);
            // The events accepted, for later corrections and doubles.
            let stored = rows(&plain);
            for (id, text) in batch {
                if stored.iter().any(|r| r.id == id.to_string())
                    && !accepted.iter().any(|(a, _)| a == id)
                {
                    accepted.push((*id, text.clone()));
                }
            }
        }
        prop_assert_eq!(rows(&plain), rows(&piped));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn streaming_and_in_memory_decide_alike(ops in prop::collection::vec((op(), any::<u8>()), 1..40)) {
        run(ops)?;
    }
}

/// One append names at most `MAX_ISSUERS_PER_APPEND` issuers: the line
/// naming one more is refused (its line, the bound, how to split), nothing
/// is written, and an input of exactly the bound goes in whole (the market
/// stream is not an issuer).
#[test]
fn an_input_naming_too_many_issuers_is_refused_whole() {
    use shareledger_ledger::append::MAX_ISSUERS_PER_APPEND;
    let registration = |n: usize| {
        let mut inc = parse_line(&format!(
            r#"{{"type": "issuer_registered", "issuer": "R{n:06}", "name": "Registered {n}"}}"#
        ))
        .expect("parses");
        inc.id = Some(Uuid::from_u128(n as u128 + 1));
        inc
    };
    let market =
        parse_line(r#"{"type": "market_closed", "date": "2024-07-02", "reason": "typhoon"}"#)
            .expect("parses");
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("many.db")).unwrap();
    let input = |n: usize| -> Lines {
        std::iter::once(market.clone())
            .chain((0..n).map(registration))
            .enumerate()
            .map(|(i, inc)| (i + 1, inc))
            .collect()
    };
    let err = append(
        &mut store,
        input(MAX_ISSUERS_PER_APPEND + 1),
        now(),
        "t",
        AppendOptions::default(),
    )
    .expect_err("one issuer too many");
    let r = err.rejection().expect("a rejection");
    assert_eq!(r.line, Some(MAX_ISSUERS_PER_APPEND + 2), "{err}");
    assert_eq!(r.field.as_deref(), Some("issuer"));
    assert!(
        r.message.contains(&MAX_ISSUERS_PER_APPEND.to_string()),
        "{err}"
    );
    assert!(
        r.hint.as_deref().is_some_and(|h| h.contains("split")),
        "{err}"
    );
    assert_eq!(store.count().unwrap(), 0, "nothing written");
    let ok = append(
        &mut store,
        input(MAX_ISSUERS_PER_APPEND),
        now(),
        "t",
        AppendOptions::default(),
    )
    .expect("exactly the bound");
    assert_eq!(ok.appended, MAX_ISSUERS_PER_APPEND + 1);
}
