//! The paging iterator with every filter, across page boundaries.

mod common;

use common::*;
use shareledger_store::{ReadFilter, Store, StoredEvent, DEFAULT_PAGE_SIZE};

fn collect(s: &Store, f: &ReadFilter) -> Vec<StoredEvent> {
    s.events(f).map(Result::unwrap).collect()
}

fn positions(s: &Store, f: &ReadFilter) -> Vec<u64> {
    collect(s, f).iter().map(|e| e.position).collect()
}

/// Positions 1..=n, round-robin over streams a, b, c; event n is recorded at ts(n).
fn reference(n: u64) -> Vec<(u64, &'static str)> {
    (1..=n)
        .map(|i| (i, ["a", "b", "c"][(i as usize - 1) % 3]))
        .collect()
}

fn expected(n: u64, f: &ReadFilter) -> Vec<u64> {
    reference(n)
        .into_iter()
        .filter(|(p, s)| {
            // An event's version in its stream: round-robin over three.
            let version = p.div_ceil(3);
            f.stream.as_deref().is_none_or(|fs| fs == *s)
                && (f.stream.is_none() || version > f.from_version)
                && *p > f.from_position
                && f.to_position.is_none_or(|t| *p <= t)
                && f.recorded_until
                    .as_deref()
                    .is_none_or(|u| ts(*p).as_str() <= u)
        })
        .map(|(p, _)| p)
        .collect()
}

#[test]
fn filters_agree_with_a_reference_for_many_page_sizes() {
    let l = ledger();
    let n = 50;
    let mut s = filled(&l.path, n, &["a", "b", "c"]);
    let mut filters = Vec::new();
    for stream in [None, Some("a"), Some("c"), Some("zzz")] {
        for from in [0, 1, 16, 17, 49, 50, 60] {
            for to in [None, Some(0), Some(17), Some(18), Some(50), Some(1000)] {
                for until in [None, Some(ts(0)), Some(ts(20)), Some(ts(50))] {
                    for from_version in [0, 4, 17] {
                        filters.push(ReadFilter {
                            stream: stream.map(str::to_string),
                            from_position: from,
                            from_version,
                            to_position: to,
                            recorded_until: until.clone(),
                        });
                    }
                }
            }
        }
    }
    for page in [1, 2, 3, 7, 16, 17, 50, 51, DEFAULT_PAGE_SIZE] {
        s.set_read_page_size(page);
        for f in &filters {
            assert_eq!(positions(&s, f), expected(n, f), "page {page}, {f:?}");
        }
    }
}

#[test]
fn stream_reads_yield_gapless_versions_in_order() {
    let l = ledger();
    let mut s = filled(&l.path, 30, &["a", "b", "c"]);
    s.set_read_page_size(4);
    let a = collect(&s, &ReadFilter::stream("a"));
    assert_eq!(
        a.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert!(a.iter().all(|e| e.stream == "a"));
    assert!(a.windows(2).all(|w| w[0].position < w[1].position));
}

#[test]
fn more_rows_than_the_default_page() {
    let l = ledger();
    let n = 2 * DEFAULT_PAGE_SIZE as u64 + 5;
    let s = filled(&l.path, n, &["a", "b"]);
    assert_eq!(s.read_page_size(), DEFAULT_PAGE_SIZE);
    let all = positions(&s, &ReadFilter::default());
    assert_eq!(all, (1..=n).collect::<Vec<_>>());
    let b = collect(&s, &ReadFilter::stream("b"));
    assert_eq!(b.len() as u64, n / 2);
    let window = positions(
        &s,
        &ReadFilter {
            from_position: 999,
            to_position: Some(1001),
            ..ReadFilter::default()
        },
    );
    assert_eq!(window, vec![1000, 1001]);
}

#[test]
fn iterator_sees_events_committed_after_it_started() {
    // Append-only: a reader paging through may pick up new tail events,
    // never changed ones.
    let l = ledger();
    let mut s = filled(&l.path, 4, &["a"]);
    s.set_read_page_size(2);
    let mut writer = Store::open(&l.path).unwrap();
    let mut it = s.events(&ReadFilter::default());
    assert_eq!(it.next().unwrap().unwrap().position, 1);
    append(&mut writer, &[ev(5, "a")]).unwrap();
    let rest: Vec<u64> = it.map(|e| e.unwrap().position).collect();
    assert_eq!(rest, vec![2, 3, 4, 5]);
}

#[test]
fn recorded_until_stops_early_at_equal_timestamps() {
    let l = ledger();
    let mut s = Store::open(&l.path).unwrap();
    let events: Vec<_> = (1..=6)
        .map(|i| {
            let mut e = ev(i, "a");
            e.recorded_at = ts(if i <= 3 { 100 } else { 200 });
            e
        })
        .collect();
    append(&mut s, &events).unwrap();
    s.set_read_page_size(2);
    let f = ReadFilter {
        recorded_until: Some(ts(100)),
        ..ReadFilter::default()
    };
    assert_eq!(positions(&s, &f), vec![1, 2, 3]);
}

#[test]
#[should_panic(expected = "positive")]
fn zero_page_size_is_refused() {
    let l = ledger();
    let mut s = Store::open(&l.path).unwrap();
    s.set_read_page_size(0);
}
