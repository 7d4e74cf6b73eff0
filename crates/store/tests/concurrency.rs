//! Two writers (own connections, own threads) appending to the same stream:
//! `BEGIN IMMEDIATE` + busy timeout make both succeed, one after the other.

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use shareledger_store::{AppendOutcome, ExpectedVersion, ReadFilter, Store, StoreError};

#[test]
fn two_connections_append_to_one_stream_concurrently() {
    let l = ledger();
    drop(Store::open(&l.path).unwrap());
    let per_writer = 150u64;
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2u64)
        .map(|w| {
            let path = l.path.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut s = Store::open(&path).unwrap();
                barrier.wait();
                let mut outcomes = Vec::new();
                for i in 0..per_writer {
                    let n = w * 1_000_000 + i + 1;
                    let out = s
                        .write(|tx| {
                            // Read-decide-append inside one transaction: the
                            // expectation always holds because the lock is
                            // taken up front.
                            let v = tx.stream_version("shared")?;
                            let mut e = ev(n, "shared");
                            // Timestamps must not go backwards across writers:
                            // derive from the latest stored one.
                            let latest = tx.last_recorded_at()?;
                            let next = latest.map_or(0, |t| parse_ts(&t) + 1);
                            e.recorded_at = ts(next);
                            tx.append(&[("shared".into(), ExpectedVersion::Exact(v))], &[e])
                        })
                        .unwrap();
                    outcomes.extend(out);
                }
                outcomes
            })
        })
        .collect();
    let results: Vec<Vec<AppendOutcome>> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let s = Store::open_existing(&l.path).unwrap();
    let total = 2 * per_writer;
    assert_eq!(s.count().unwrap(), total);
    assert_eq!(s.stream_version("shared").unwrap(), total);
    let mut positions: Vec<u64> = results.iter().flatten().map(|o| o.position()).collect();
    positions.sort_unstable();
    assert_eq!(
        positions,
        (1..=total).collect::<Vec<_>>(),
        "each event stored once"
    );
    for w in 0..2u64 {
        for i in 0..per_writer {
            let id = ev(w * 1_000_000 + i + 1, "shared").id;
            assert!(s.find_by_id(&id).unwrap().is_some());
        }
    }
    let versions: Vec<u64> = s
        .events(&ReadFilter::stream("shared"))
        .map(|e| e.unwrap().version)
        .collect();
    assert_eq!(versions, (1..=total).collect::<Vec<_>>());
    let v = s.verify().unwrap();
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.events, total);
}

#[test]
fn stale_expectation_from_outside_the_transaction_conflicts() {
    // Reading the version *before* `write` and appending later is a real race;
    // the store turns it into a VersionConflict instead of a fork.
    let l = ledger();
    let mut a = filled(&l.path, 1, &["s"]);
    let mut b = Store::open(&l.path).unwrap();
    let seen_by_a = a.stream_version("s").unwrap();
    let seen_by_b = b.stream_version("s").unwrap();
    b.write(|tx| tx.append(&[exact("s", seen_by_b)], &[ev(2, "s")]))
        .unwrap();
    let err = a
        .write(|tx| tx.append(&[exact("s", seen_by_a)], &[ev(3, "s")]))
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::VersionConflict {
            expected: ExpectedVersion::Exact(1),
            actual: 2,
            ..
        }
    ));
    assert!(a.verify().unwrap().is_intact());
}

#[test]
fn writer_waits_for_a_held_lock() {
    // One connection holds the write lock for a while; the other's `write`
    // waits on the busy timeout and then succeeds.
    let l = ledger();
    drop(Store::open(&l.path).unwrap());
    let holder_path = l.path.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut s = Store::open(&holder_path).unwrap();
        s.write(|tx| {
            tx.append(&[], &[ev(1, "s")])?;
            locked_tx.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok::<_, StoreError>(())
        })
        .unwrap();
    });
    locked_rx.recv().unwrap();
    let mut s = Store::open(&l.path).unwrap();
    let t = std::time::Instant::now();
    let out = s
        .write(|tx| tx.append(&[exact("s", 1)], &[ev(2, "s")]))
        .unwrap();
    assert!(t.elapsed() >= std::time::Duration::from_millis(100));
    assert_eq!(
        out,
        vec![AppendOutcome::Appended {
            position: 2,
            version: 2
        }]
    );
    holder.join().unwrap();
    assert!(s.verify().unwrap().is_intact());
}

/// Inverse of `common::ts`.
fn parse_ts(t: &str) -> u64 {
    let h: u64 = t[11..13].parse().unwrap();
    let m: u64 = t[14..16].parse().unwrap();
    let sec: u64 = t[17..19].parse().unwrap();
    let us: u64 = t[20..26].parse().unwrap();
    ((h * 60 + m) * 60 + sec) * 1_000_000 + us
}
