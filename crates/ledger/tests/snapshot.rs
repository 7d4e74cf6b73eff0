//! Per-issuer snapshots never change a result: over random histories with
//! corrections and double entries, a ledger that decides with its snapshots
//! and one that replays every issuer (snapshots dropped before each append)
//! accept and refuse alike and store the same log; the state a snapshot
//! holds is the state the log replays to (the same balances), and the
//! returns are the same.

use chrono::{DateTime, FixedOffset, NaiveDate};
use proptest::prelude::*;
use shareledger_core::event::parse_line;
use shareledger_ledger::append::append;
use shareledger_ledger::replay::load_issuer;
use shareledger_ledger::returns::{produce_current, ReturnKind, ReturnRequest};
use shareledger_ledger::{
    AppendOptions, AppendSummary, LedgerError, Lines, ReadFilter, Store, StoreError,
};
use shareledger_store::{EventRead, EventTx, Snapshot};
use uuid::Uuid;

const ISSUER: &str = "00001";

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2024-06-30T10:00:00+08:00").unwrap()
}

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 2).unwrap() + chrono::Days::new(u64::from(n % 120))
}

#[derive(Debug, Clone)]
enum Op {
    Repurchase(u32, u64),
    Cancel(u32, u64),
    Issue(u32, u64),
    Grant(u32, u64),
    Lapse(u32, u64),
    Price(u32),
    /// Void the n-th event accepted so far (mod their number).
    Void(usize),
    /// An Exchange approval that covers the n-th event accepted so far: the
    /// appends after it replay it without history when no snapshot is kept.
    Approve(usize),
    /// The content of the n-th event accepted so far again, with a new id
    /// (and perhaps `allow_duplicate`).
    Again(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..120, 1u64..50_000).prop_map(|(d, n)| Op::Repurchase(d, n)),
        2 => (0u32..120, 1u64..50_000).prop_map(|(d, n)| Op::Cancel(d, n)),
        2 => (0u32..120, 1u64..50_000).prop_map(|(d, n)| Op::Issue(d, n)),
        1 => (0u32..120, 1u64..5_000).prop_map(|(d, n)| Op::Grant(d, n)),
        1 => (0u32..120, 1u64..5_000).prop_map(|(d, n)| Op::Lapse(d, n)),
        1 => (0u32..120).prop_map(Op::Price),
        2 => (0usize..1000).prop_map(Op::Void),
        1 => (0usize..1000).prop_map(Op::Approve),
        2 => (0usize..1000, any::<bool>()).prop_map(|(i, allow)| Op::Again(i, allow)),
    ]
}

fn head() -> Vec<String> {
    vec![
        format!(r#"{{"type": "issuer_registered", "issuer": "{ISSUER}", "name": "Snapshot Ltd"}}"#),
        format!(
            r#"{{"type": "share_class_defined", "issuer": "{ISSUER}", "class": "H", "class_of_shares": "Ordinary shares", "par_value": {{"currency": "HKD", "amount": "1"}}, "authorised_shares": 100000000}}"#
        ),
        format!(
            r#"{{"type": "opening_balance", "issuer": "{ISSUER}", "class": "H", "date": "2024-01-02", "issued_shares": 10000000}}"#
        ),
        format!(
            r#"{{"type": "repurchase_mandate_granted", "issuer": "{ISSUER}", "class": "H", "resolution_date": "2024-01-02", "issued_shares_at_resolution": 10000000}}"#
        ),
        format!(
            r#"{{"type": "share_option_scheme_adopted", "issuer": "{ISSUER}", "class": "H", "scheme": "S", "adoption_date": "2024-01-02", "outstanding_options": 100000}}"#
        ),
    ]
}

/// The JSON line of `op`, given the events accepted so far (id, line).
fn content(op: &Op, accepted: &[(Uuid, String)]) -> Option<String> {
    Some(match op {
        Op::Repurchase(d, n) => format!(
            r#"{{"type": "shares_repurchased", "issuer": "{ISSUER}", "class": "H", "trade_date": "{}", "shares": {n}, "method": "on_exchange", "purpose": "cancellation"}}"#,
            day(*d)
        ),
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
        Op::Price(d) => format!(
            r#"{{"type": "closing_price", "issuer": "{ISSUER}", "class": "H", "date": "{}", "currency": "HKD", "price": "2.40"}}"#,
            day(*d)
        ),
        Op::Void(i) => {
            let (id, _) = accepted.get(i % accepted.len().max(1))?;
            format!(
                r#"{{"type": "event_voided", "issuer": "{ISSUER}", "voided_id": "{id}", "reason": "entered in error"}}"#
            )
        }
        Op::Approve(i) => {
            let (id, _) = accepted.get(i % accepted.len().max(1))?;
            format!(
                r#"{{"type": "exchange_approval_recorded", "issuer": "{ISSUER}", "rule": "10.06(3)", "date": "2024-05-01", "covers": ["{id}"]}}"#
            )
        }
        Op::Again(i, allow) => {
            let (_, c) = accepted.get(i % accepted.len().max(1))?;
            if *allow {
                let mut v: serde_json::Value = serde_json::from_str(c).unwrap();
                v["allow_duplicate"] = serde_json::Value::Bool(true);
                v.to_string()
            } else {
                c.clone()
            }
        }
    })
}

fn lines(batch: &[(u128, String)]) -> Lines {
    batch
        .iter()
        .enumerate()
        .map(|(n, (id, text))| {
            let mut inc = parse_line(text).expect("parses");
            inc.id = Some(Uuid::from_u128(*id));
            (n + 1, inc)
        })
        .collect()
}

fn outcome(r: &Result<AppendSummary, LedgerError>) -> String {
    match r {
        Ok(s) => format!(
            "ok {} {} {:?} {:?}",
            s.appended, s.duplicates, s.first_position, s.last_position
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

/// The issuer's state as the log replays it, serialised (its history is
/// not part of the serialised state).
fn replayed(store: &Store) -> serde_json::Value {
    let r = load_issuer(store, ISSUER, None).unwrap();
    serde_json::to_value(r.issuer(ISSUER).unwrap()).unwrap()
}

/// The snapshot kept of the issuer, read back as the append reads it.
fn restored(store: &Store) -> Option<shareledger_core::IssuerState> {
    let snap = store.snapshot(ISSUER).unwrap()?;
    assert_eq!(snap.format, shareledger_ledger::snapshot::FORMAT);
    assert_eq!(snap.version, store.stream_version(ISSUER).unwrap());
    assert_eq!(snap.position, last_position(store));
    let (state, _) = shareledger_ledger::snapshot::decode(&snap.data, ISSUER).expect("decodes");
    Some(state)
}

fn last_position(store: &Store) -> u64 {
    let mut last = 0;
    store
        .scan(
            &ReadFilter::stream(ISSUER),
            |row| -> Result<(), StoreError> {
                last = row.position;
                Ok(())
            },
        )
        .unwrap();
    last
}

fn run(ops: Vec<(Op, u8)>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut snap = Store::open(&dir.path().join("snap.db")).unwrap();
    let mut replay = Store::open(&dir.path().join("replay.db")).unwrap();
    let mut next_id = 1u128;
    let mut accepted: Vec<(Uuid, String)> = Vec::new();
    let mut batches: Vec<Vec<(u128, String)>> = vec![head()
        .into_iter()
        .map(|l| {
            next_id += 1;
            (next_id, l)
        })
        .collect()];
    let mut batch = Vec::new();
    let mut ops = ops.into_iter().map(Some).chain(std::iter::once(None));
    loop {
        let op = ops.next().flatten();
        let last = op.is_none();
        if let Some((op, size)) = op {
            if let Some(c) = content(&op, &accepted) {
                next_id += 1;
                batch.push((next_id, c));
            }
            if batch.len() > usize::from(size % 3) {
                batches.push(std::mem::take(&mut batch));
            }
        } else if !batch.is_empty() {
            batches.push(std::mem::take(&mut batch));
        }
        for b in batches.drain(..) {
            let options = AppendOptions::default();
            let a = append(&mut snap, lines(&b), now(), "t", options);
            replay
                .write(|tx| tx.drop_snapshots(None).map(|_| ()))
                .unwrap();
            let r = append(&mut replay, lines(&b), now(), "t", options);
            prop_assert_eq!(outcome(&a), outcome(&r), "batch {:?}", b);
            if a.is_ok() {
                for (id, c) in &b {
                    let v: serde_json::Value = serde_json::from_str(c).unwrap();
                    if v["type"] != "event_voided" {
                        accepted.push((Uuid::from_u128(*id), c.clone()));
                    }
                }
            }
            // The snapshot holds what the log replays to.
            let state = restored(&snap).expect("a snapshot after the first append");
            prop_assert_eq!(serde_json::to_value(&state).unwrap(), replayed(&snap));
        }
        if last {
            break;
        }
    }
    prop_assert_eq!(rows(&snap), rows(&replay));
    // The same returns; the balances of the restored state are those of
    // the replayed one.
    let full = load_issuer(&snap, ISSUER, None).unwrap();
    let other = load_issuer(&replay, ISSUER, None).unwrap();
    for month in 1..=4 {
        let req = ReturnRequest::new(ISSUER, ReturnKind::Monthly { year: 2024, month });
        let a = produce_current(&full, &req).map(|p| p.json);
        let b = produce_current(&other, &req).map(|p| p.json);
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
    let state = restored(&snap).unwrap();
    for d in [0, 30, 60, 119] {
        let a = shareledger_returns::balance::balance(&state, None, day(d), None);
        let b =
            shareledger_returns::balance::balance(full.issuer(ISSUER).unwrap(), None, day(d), None);
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn snapshots_never_change_a_result(ops in proptest::collection::vec((op(), any::<u8>()), 1..40)) {
        run(ops)?;
    }
}

/// A snapshot of another format, behind or ahead of the log, or that does
/// not read back, is ignored: the issuer is replayed and the outcome is the
/// same.
#[test]
fn a_stale_or_foreign_snapshot_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Store::open(&dir.path().join("l.db")).unwrap();
    let head: Vec<(u128, String)> = head()
        .into_iter()
        .enumerate()
        .map(|(i, t)| (i as u128 + 1, t))
        .collect();
    append(&mut l, lines(&head), now(), "t", AppendOptions::default()).unwrap();
    let grant = |id: u128| vec![(id, content(&Op::Grant(3, 10), &[]).unwrap())];
    append(
        &mut l,
        lines(&grant(100)),
        now(),
        "t",
        AppendOptions::default(),
    )
    .unwrap();
    let good = l.snapshot(ISSUER).unwrap().unwrap();
    for (i, bad) in [
        Snapshot {
            format: 99,
            ..good.clone()
        },
        Snapshot {
            version: good.version - 1,
            ..good.clone()
        },
        Snapshot {
            version: good.version + 1,
            ..good.clone()
        },
        Snapshot {
            data: b"not a snapshot".to_vec(),
            ..good.clone()
        },
    ]
    .into_iter()
    .enumerate()
    {
        l.write(|tx| -> Result<(), StoreError> { tx.put_snapshot(&bad) })
            .unwrap();
        // The same grant again: the double-entry rule sees the first one,
        // from the log.
        let e = append(
            &mut l,
            lines(&grant(101 + i as u128)),
            now(),
            "t",
            AppendOptions::default(),
        )
        .expect_err("a double entry");
        assert!(e.to_string().contains("double entry"), "{e}");
        assert!(e.to_string().contains("at log position 6"), "{e}");
    }
    // With the good snapshot back, the same refusal.
    l.write(|tx| -> Result<(), StoreError> { tx.put_snapshot(&good) })
        .unwrap();
    let e = append(
        &mut l,
        lines(&grant(110)),
        now(),
        "t",
        AppendOptions::default(),
    )
    .expect_err("a double entry");
    assert!(e.to_string().contains("at log position 6"), "{e}");
    // The next append leaves a snapshot that reflects the log again.
    l.write(|tx| -> Result<(), StoreError> {
        tx.put_snapshot(&Snapshot {
            format: 99,
            ..good.clone()
        })
    })
    .unwrap();
    append(
        &mut l,
        lines(&[(200, content(&Op::Grant(4, 11), &[]).unwrap())]),
        now(),
        "t",
        AppendOptions::default(),
    )
    .unwrap();
    assert!(restored(&l).is_some());
    assert_eq!(
        serde_json::to_value(restored(&l).unwrap()).unwrap(),
        replayed(&l)
    );
}

/// A large append (the pipeline's size, its states folded) writes no
/// snapshot as it decides; its findings replay each issuer it folded whole
/// and write that state's snapshot when its history is long (at least the
/// pipeline's size), in the same transaction: the state the log replays
/// to, at the stream's version and last position. Without findings (or as
/// a dry run) nothing is written; nor for an issuer with a short history.
#[test]
fn a_large_append_leaves_the_snapshots_its_findings_replayed() {
    let mut batch: Vec<(u128, String)> = Vec::new();
    for l in head() {
        batch.push((batch.len() as u128 + 1, l));
    }
    // The trading days among the days `day` gives.
    let calendar = shareledger_core::calendar::BusinessCalendar::new();
    let trading: Vec<u32> = (1..120)
        .filter(|d| calendar.is_business_day(day(*d)))
        .collect();
    let mut n = 0u32;
    while batch.len() < shareledger_ledger::append::PIPELINE_MIN_LINES + 10 {
        let d = trading[(n / 40) as usize % trading.len()];
        let op = match n % 4 {
            0 => Op::Price(d),
            3 => Op::Cancel(d, 1),
            _ => Op::Repurchase(d, 1 + u64::from(n % 7)),
        };
        if let Some(text) = content(&op, &[]) {
            batch.push((batch.len() as u128 + 1, text));
        }
        n += 1;
    }
    // And an issuer with a short history, in the same input.
    const SHORT: &str = "00002";
    for text in head()
        .into_iter()
        .chain(["2024-01-03", "2024-01-04"].map(|d| {
            format!(
                r#"{{"type": "shares_repurchased", "issuer": "{ISSUER}", "class": "H", "trade_date": "{d}", "shares": 10, "method": "on_exchange", "purpose": "cancellation"}}"#
            )
        }))
    {
        batch.push((batch.len() as u128 + 1, text.replace(ISSUER, SHORT)));
    }
    // Two days may hold the same close: let equal lines through.
    let options = AppendOptions {
        findings: true,
        allow_duplicate: true,
        ..AppendOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut digests = Vec::new();
    // The last: the findings window by window (`windowed`), as for a
    // history of 65,536 events or more.
    for (findings, dry_run, written, windowed) in [
        (true, false, true, false),
        (false, false, false, false),
        (true, true, false, false),
        (true, false, true, true),
    ] {
        let mut store = Store::open(
            &dir.path()
                .join(format!("l{findings}{dry_run}{windowed}.db")),
        )
        .unwrap();
        let summary = append(
            &mut store,
            lines(&batch),
            now(),
            "t",
            AppendOptions {
                findings,
                dry_run,
                findings_windows: if windowed {
                    shareledger_ledger::windowed::Windowing {
                        min_events: 4096,
                        window_events: 64,
                        kept_states: true,
                    }
                } else {
                    shareledger_ledger::windowed::Windowing::default()
                },
                ..options
            },
        )
        .unwrap();
        if findings && !dry_run {
            digests.push(format!("{:?}", summary.findings));
        }
        assert_eq!(summary.appended, batch.len(), "{findings} {dry_run}");
        assert!(store.snapshot(SHORT).unwrap().is_none());
        if dry_run {
            assert_eq!(store.count().unwrap(), 0);
        }
        match restored(&store) {
            Some(state) => {
                assert!(
                    written,
                    "a snapshot with findings {findings}, dry run {dry_run}"
                );
                assert_eq!(serde_json::to_value(&state).unwrap(), replayed(&store));
            }
            None => assert!(
                !written,
                "no snapshot with findings {findings}, dry run {dry_run}"
            ),
        }
    }
    // The same findings either way.
    assert_eq!(digests.len(), 2);
    assert_eq!(digests[0], digests[1]);
    assert!(digests[0].contains("10.06"), "{}", digests[0]);
}
