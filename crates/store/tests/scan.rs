//! The fast paths of issue #6: `scan` (rows borrowed in place) against
//! `events`, and `append_valid` against `append`.

mod common;

use common::*;
use shareledger_store::{EventRef, NewEvent, ReadFilter, Store, StoreError};

fn via_events(store: &Store, filter: &ReadFilter) -> Vec<(u64, String, u64, String, String)> {
    store
        .events(filter)
        .map(|e| {
            let e = e.unwrap();
            (e.position, e.stream, e.version, e.id, e.payload)
        })
        .collect()
}

fn via_scan(store: &Store, filter: &ReadFilter) -> Vec<(u64, String, u64, String, String)> {
    let mut out = Vec::new();
    let n = store
        .scan(filter, |e: EventRef<'_>| -> Result<(), StoreError> {
            assert_eq!(e.event_type, "thing_happened");
            assert_eq!(e.actor, "tester");
            out.push((
                e.position,
                e.stream.to_string(),
                e.version,
                e.id.to_string(),
                e.payload.to_string(),
            ));
            Ok(())
        })
        .unwrap();
    assert_eq!(n as usize, out.len());
    out
}

#[test]
fn scan_reads_what_events_reads_whatever_the_page_size() {
    let l = ledger();
    let mut store = filled(&l.path, 53, &["a", "b", "c"]);
    let filters = [
        ReadFilter::default(),
        ReadFilter::stream("b"),
        ReadFilter::stream("nobody"),
        ReadFilter {
            from_position: 10,
            to_position: Some(40),
            ..ReadFilter::default()
        },
        ReadFilter {
            stream: Some("c".into()),
            from_position: 7,
            to_position: Some(31),
            ..ReadFilter::default()
        },
        ReadFilter {
            recorded_until: Some(ts(20)),
            ..ReadFilter::default()
        },
        ReadFilter {
            stream: Some("a".into()),
            recorded_until: Some(ts(33)),
            ..ReadFilter::default()
        },
        ReadFilter {
            from_position: 30,
            to_position: Some(30),
            ..ReadFilter::default()
        },
    ];
    for page in [1, 2, 7, 1000] {
        store.set_read_page_size(page);
        for f in &filters {
            let expected = via_events(&store, f);
            assert_eq!(via_scan(&store, f), expected, "page {page}, {f:?}");
        }
    }
    assert_eq!(via_scan(&store, &ReadFilter::default()).len(), 53);
}

#[test]
fn scan_stops_at_the_first_error_of_its_callback() {
    let l = ledger();
    let store = filled(&l.path, 20, &["a"]);
    let mut seen = 0;
    let r = store.scan(&ReadFilter::default(), |e| {
        seen += 1;
        if e.position == 5 {
            Err(StoreError::Busy {
                path: l.path.clone(),
            })
        } else {
            Ok(())
        }
    });
    assert!(matches!(r, Err(StoreError::Busy { .. })));
    assert_eq!(seen, 5);
}

#[test]
fn scan_inside_a_write_sees_the_transaction() {
    let l = ledger();
    let mut store = filled(&l.path, 4, &["a"]);
    store
        .write(|tx| {
            tx.append(&[], &[ev(5, "a")])?;
            let n = tx.scan(&ReadFilter::stream("a"), |_| Ok::<(), StoreError>(()))?;
            assert_eq!(n, 5);
            Ok::<(), StoreError>(())
        })
        .unwrap();
}

#[test]
fn append_valid_stores_what_append_stores() {
    let (a, b) = (ledger(), ledger());
    let mut plain = Store::open(&a.path).unwrap();
    let mut valid = Store::open(&b.path).unwrap();
    let events: Vec<NewEvent> = (1..=30)
        .map(|i| ev(i, ["x", "y"][i as usize % 2]))
        .collect();
    let o1 = plain
        .write(|tx| tx.append(&[exact("x", 0)], &events))
        .unwrap();
    let checked: Vec<_> = events
        .iter()
        .cloned()
        .map(|e| e.validate().unwrap())
        .collect();
    let o2 = valid
        .write(|tx| tx.append_valid(&[exact("x", 0)], &checked))
        .unwrap();
    assert_eq!(o1, o2);
    let all = |s: &Store| {
        s.events(&ReadFilter::default())
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    };
    assert_eq!(all(&plain), all(&valid), "same rows, same hash chain");
    assert!(valid.verify().unwrap().is_intact());
    // The same expectations are enforced, and duplicates are recognised.
    let again = valid.write(|tx| tx.append_valid(&[exact("x", 0)], &checked[..1]));
    assert!(matches!(again, Err(StoreError::VersionConflict { .. })));
    let dup = valid
        .write(|tx| tx.append_valid(&[], &checked[..3]))
        .unwrap();
    assert_eq!(
        dup,
        o1[..3]
            .iter()
            .map(|o| shareledger_store::AppendOutcome::Duplicate {
                position: o.position()
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn validate_refuses_what_append_refuses() {
    let mut bad = ev(1, "a");
    bad.payload = "not json".into();
    assert!(matches!(
        bad.clone().validate(),
        Err(StoreError::InvalidField { .. })
    ));
    let l = ledger();
    let mut store = Store::open(&l.path).unwrap();
    assert!(matches!(
        append(&mut store, &[bad]),
        Err(StoreError::InvalidField { .. })
    ));
    let mut bad = ev(1, "a");
    bad.recorded_at = "2024-01-01".into();
    assert!(bad.validate().is_err());
}

#[test]
fn a_reader_cache_can_be_made_small() {
    let l = ledger();
    let mut store = filled(&l.path, 10, &["a"]);
    store
        .set_cache_size_kib(shareledger_store::READ_CACHE_KIB)
        .unwrap();
    let kib: i64 = store
        .connection()
        .query_row("PRAGMA cache_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kib, -i64::from(shareledger_store::READ_CACHE_KIB));
    assert_eq!(via_scan(&store, &ReadFilter::default()).len(), 10);
}
