//! The conformance suite of [`EventStore`]: what every backend must pass
//! before the application layer may use it. Each check is a function that
//! takes a [`Harness`] (fresh empty ledgers, and the backend's own way of
//! tampering with its rows behind the store's back) and panics on the first
//! broken promise; [`run_all`] runs them all. The SQLite backend runs it in
//! `crates/store/tests/conformance.rs`, the PostgreSQL backend in
//! `crates/store/tests/pg_conformance.rs`; every new backend adds one such
//! file.
//!
//! It is compiled into the library (it is small) so that backends in other
//! crates can run it; it is test code: it panics, it never returns an error.

#![allow(clippy::missing_panics_doc)]

use crate::engine::{EventRead, EventStore, EventTx};
use crate::error::StoreError;
use crate::event::{AppendOutcome, ExpectedVersion, NewEvent};
use crate::read::ReadFilter;
use crate::snapshot::Snapshot;

/// What a backend gives the suite.
pub trait Harness {
    /// The backend.
    type Store: EventStore;
    /// A new, empty ledger.
    fn fresh(&mut self) -> Self::Store;
    /// Change the `actor` of the row at `position` behind the store's back
    /// (append-only guards lifted as an attacker would).
    fn change_row(&mut self, store: &Self::Store, position: u64);
    /// Delete the row at `position` behind the store's back.
    fn delete_row(&mut self, store: &Self::Store, position: u64);
}

/// Run every check of the suite.
pub fn run_all<H: Harness>(h: &mut H) {
    append_and_read(h);
    filters(h);
    version_conflicts(h);
    idempotent_ids(h);
    recorded_at_never_backwards(h);
    failed_transaction_writes_nothing(h);
    a_failed_batch_or_abort_never_commits(h);
    chain_finds_changed_row(h);
    chain_finds_deleted_row(h);
    checkpoint_finds_cut_tail(h);
    streaming_reads(h);
    readers_see_commits(h);
    snapshots(h);
    scan_derived_matches_events(h);
    scan_on_date_matches_events(h);
    scan_from_date_matches_events(h);
    from_version_starts_a_stream_there(h);
}

/// A fixed-width timestamp `n` seconds after 2024-01-01T00:00:00Z.
pub fn ts(n: u64) -> String {
    format!(
        "2024-01-01T{:02}:{:02}:{:02}.000000Z",
        (n / 3600) % 24,
        (n / 60) % 60,
        n % 60
    )
}

/// Event number `n` of `stream`, recorded at `ts(n)`.
pub fn ev(n: u64, stream: &str) -> NewEvent {
    NewEvent {
        id: format!("00000000-0000-4000-8000-{n:012}"),
        stream: stream.to_string(),
        event_type: "thing_happened".to_string(),
        schema_version: 1,
        payload: format!(r#"{{"n":{n},"s":"{stream}"}}"#),
        effective_date: n.is_multiple_of(2).then(|| "2024-03-28".to_string()),
        recorded_at: ts(n),
        actor: "tester".to_string(),
    }
}

fn append<S: EventStore>(
    s: &mut S,
    expected: &[(String, ExpectedVersion)],
    events: &[NewEvent],
) -> Result<Vec<AppendOutcome>, StoreError> {
    s.write(|tx| tx.append(expected, events))
}

fn fill<S: EventStore>(s: &mut S, n: u64, streams: &[&str]) {
    let events: Vec<NewEvent> = (1..=n)
        .map(|i| ev(i, streams[(i as usize - 1) % streams.len()]))
        .collect();
    append(s, &[], &events).expect("appends");
}

fn all<S: EventStore>(s: &S, filter: &ReadFilter) -> Vec<crate::StoredEvent> {
    s.events(filter).collect::<Result<_, _>>().expect("reads")
}

/// Appended events read back whole, in order, with gapless positions and
/// per-stream versions; `scan` sees the same rows as `events`.
pub fn append_and_read<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    assert_eq!(s.count().unwrap(), 0);
    assert_eq!(s.head().unwrap(), None);
    let events: Vec<NewEvent> = (1..=7).map(|i| ev(i, ["a", "b"][i as usize % 2])).collect();
    let out = append(&mut s, &[], &events).expect("appends");
    assert_eq!(out.len(), 7);
    for (i, o) in out.iter().enumerate() {
        assert_eq!(o.position(), i as u64 + 1);
        assert!(matches!(o, AppendOutcome::Appended { .. }));
    }
    let rows = all(&s, &ReadFilter::default());
    assert_eq!(rows.len(), 7);
    for (i, (row, new)) in rows.iter().zip(&events).enumerate() {
        assert_eq!(row.position, i as u64 + 1);
        assert_eq!(row.id, new.id);
        assert_eq!(row.stream, new.stream);
        assert_eq!(row.payload, new.payload);
        assert_eq!(row.effective_date, new.effective_date);
        assert_eq!(row.recorded_at, new.recorded_at);
        assert_eq!(row.actor, new.actor);
        assert_eq!(
            row.hash,
            row.computed_hash(),
            "hash of position {}",
            row.position
        );
        if i > 0 {
            assert_eq!(row.prev_hash, rows[i - 1].hash);
        }
    }
    let versions: Vec<u64> = rows
        .iter()
        .filter(|r| r.stream == "a")
        .map(|r| r.version)
        .collect();
    assert_eq!(versions, vec![1, 2, 3]);
    assert_eq!(s.stream_version("b").unwrap(), 4);
    assert_eq!(s.stream_version("none").unwrap(), 0);
    assert_eq!(s.streams().unwrap(), vec!["a".to_string(), "b".to_string()]);
    assert_eq!(s.count().unwrap(), 7);
    assert_eq!(s.head().unwrap(), Some((7, rows[6].hash.clone())));
    assert_eq!(s.hash_at(3).unwrap(), Some(rows[2].hash.clone()));
    assert_eq!(s.hash_at(8).unwrap(), None);
    assert_eq!(s.last_recorded_at().unwrap(), Some(ts(7)));
    let found = s.find_by_id(&events[4].id).unwrap().expect("found");
    assert_eq!(found, rows[4]);
    let mut scanned = Vec::new();
    let n = s
        .scan(&ReadFilter::default(), |r| -> Result<(), StoreError> {
            scanned.push((
                r.position,
                r.stream.to_string(),
                r.version,
                r.id.to_string(),
                r.payload.to_string(),
            ));
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 7);
    let expected: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.position,
                r.stream.clone(),
                r.version,
                r.id.clone(),
                r.payload.clone(),
            )
        })
        .collect();
    assert_eq!(scanned, expected);
    assert!(s.verify().unwrap().is_intact());
}

/// Stream, position and recorded-until filters, on `events` and `scan` alike.
pub fn filters<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 30, &["a", "b", "c"]);
    let cases = [
        (
            ReadFilter::stream("b"),
            (1..=30).filter(|i| i % 3 == 2).collect::<Vec<u64>>(),
        ),
        (
            ReadFilter {
                from_position: 10,
                to_position: Some(14),
                ..ReadFilter::default()
            },
            (11..=14).collect(),
        ),
        (
            ReadFilter {
                recorded_until: Some(ts(5)),
                ..ReadFilter::default()
            },
            (1..=5).collect(),
        ),
        (
            ReadFilter {
                stream: Some("a".into()),
                from_position: 4,
                to_position: Some(25),
                recorded_until: Some(ts(19)),
                ..ReadFilter::default()
            },
            vec![7, 10, 13, 16, 19],
        ),
        (
            ReadFilter {
                from_position: 30,
                ..ReadFilter::default()
            },
            vec![],
        ),
    ];
    for (filter, want) in cases {
        let got: Vec<u64> = all(&s, &filter).iter().map(|r| r.position).collect();
        assert_eq!(got, want, "events {filter:?}");
        let mut scanned = Vec::new();
        s.scan(&filter, |r| -> Result<(), StoreError> {
            scanned.push(r.position);
            Ok(())
        })
        .unwrap();
        assert_eq!(scanned, want, "scan {filter:?}");
    }
}

/// A stale expected version is refused with expected and actual, and the
/// whole batch is left unwritten.
pub fn version_conflicts<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 4, &["a", "b"]);
    let head = s.head().unwrap();
    let e = append(
        &mut s,
        &[("a".into(), ExpectedVersion::Exact(1))],
        &[ev(5, "a")],
    )
    .unwrap_err();
    match e {
        StoreError::VersionConflict {
            stream,
            expected,
            actual,
        } => {
            assert_eq!(stream, "a");
            assert_eq!(expected, ExpectedVersion::Exact(1));
            assert_eq!(actual, 2);
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }
    let e = append(
        &mut s,
        &[("b".into(), ExpectedVersion::NoStream)],
        &[ev(5, "b")],
    )
    .unwrap_err();
    assert!(
        matches!(e, StoreError::VersionConflict { actual: 2, .. }),
        "{e:?}"
    );
    assert_eq!(s.head().unwrap(), head, "nothing written");
    let ok = append(
        &mut s,
        &[
            ("a".into(), ExpectedVersion::Exact(2)),
            ("new".into(), ExpectedVersion::NoStream),
        ],
        &[ev(5, "a"), ev(6, "new")],
    )
    .expect("right versions append");
    assert_eq!(
        ok.iter().map(|o| o.position()).collect::<Vec<_>>(),
        vec![5, 6]
    );
}

/// The same id with the same content is a no-op; with other content it is
/// refused, naming the stored position, and the batch is not written.
pub fn idempotent_ids<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 3, &["a"]);
    let again = append(&mut s, &[], &[ev(2, "a")]).expect("a retry is fine");
    assert_eq!(again, vec![AppendOutcome::Duplicate { position: 2 }]);
    assert_eq!(s.count().unwrap(), 3);
    let mut changed = ev(2, "a");
    changed.payload = r#"{"n":999}"#.into();
    changed.recorded_at = ts(10);
    let e = append(&mut s, &[], &[ev(4, "a"), changed]).unwrap_err();
    assert!(
        matches!(e, StoreError::IdConflict { position: 2, .. }),
        "{e:?}"
    );
    assert_eq!(s.count().unwrap(), 3, "the batch is not written");
    // A duplicate within one batch.
    let out = append(&mut s, &[], &[ev(4, "a"), ev(4, "a")]).expect("appends");
    assert_eq!(
        out,
        vec![
            AppendOutcome::Appended {
                position: 4,
                version: 4
            },
            AppendOutcome::Duplicate { position: 4 }
        ]
    );
}

/// `recorded_at` earlier than the latest stored event is refused.
pub fn recorded_at_never_backwards<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 5, &["a"]);
    let mut early = ev(6, "a");
    early.recorded_at = ts(3);
    let e = append(&mut s, &[], &[early]).unwrap_err();
    assert!(matches!(e, StoreError::RecordedAtBackwards { .. }), "{e:?}");
    assert_eq!(s.count().unwrap(), 5);
    let mut same = ev(6, "a");
    same.recorded_at = ts(5);
    append(&mut s, &[], &[same]).expect("the same time as the latest is fine");
}

/// A transaction whose closure fails leaves nothing behind, even after a
/// successful append inside it.
pub fn failed_transaction_writes_nothing<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 2, &["a"]);
    let r: Result<(), StoreError> = s.write(|tx| {
        tx.append(&[], &[ev(3, "a"), ev(4, "b")])?;
        assert_eq!(tx.count()?, 4, "the transaction sees its own rows");
        assert_eq!(tx.stream_version("b")?, 1);
        Err(StoreError::invalid(
            "x",
            "field",
            "value",
            "the caller gave up",
        ))
    });
    assert!(r.is_err());
    assert_eq!(s.count().unwrap(), 2);
    assert_eq!(s.stream_version("b").unwrap(), 0);
    fill_more(&mut s, 3..=3);
    assert!(s.verify().unwrap().is_intact());
}

/// `append_valid_or_abort`: the same outcomes as `append_valid` when it
/// succeeds; when a batch fails, nothing of the write is stored, whether the
/// caller gives up (`Err`) or, wrongly, goes on to commit (`Ok`: the backend
/// rolls back and says [`StoreError::Aborted`], or its batch was atomic).
pub fn a_failed_batch_or_abort_never_commits<H: Harness>(h: &mut H) {
    let valid = |evs: Vec<NewEvent>| -> Vec<crate::ValidEvent> {
        evs.into_iter()
            .map(|e| e.validate().expect("valid"))
            .collect()
    };
    let mut s = h.fresh();
    fill(&mut s, 3, &["a"]);
    let out = s
        .write(|tx| {
            let mut out = tx.append_valid_or_abort(&[], &valid(vec![ev(4, "a"), ev(5, "b")]))?;
            out.extend(tx.append_valid_or_abort(&[], &valid(vec![ev(5, "b"), ev(6, "a")]))?);
            Ok::<_, StoreError>(out)
        })
        .expect("appends");
    assert_eq!(
        out,
        vec![
            AppendOutcome::Appended {
                position: 4,
                version: 4
            },
            AppendOutcome::Appended {
                position: 5,
                version: 1
            },
            AppendOutcome::Duplicate { position: 5 },
            AppendOutcome::Appended {
                position: 6,
                version: 5
            },
        ]
    );
    let mut changed = ev(2, "a");
    changed.payload = r#"{"n":999}"#.into();
    changed.recorded_at = ts(10);
    for caller_commits in [false, true] {
        let r = s.write(|tx| {
            tx.append_valid_or_abort(&[], &valid(vec![ev(7, "a")]))?;
            let e = tx
                .append_valid_or_abort(&[], &valid(vec![ev(8, "b"), ev(9, "a"), changed.clone()]))
                .unwrap_err();
            assert!(
                matches!(e, StoreError::IdConflict { position: 2, .. }),
                "{e:?}"
            );
            match caller_commits {
                true => Ok(()),
                false => Err(e),
            }
        });
        match (caller_commits, &r) {
            (false, Err(StoreError::IdConflict { .. })) => {}
            (true, Err(StoreError::Aborted { reason, .. })) => {
                assert!(reason.contains("already stored"), "{reason}")
            }
            // A backend whose batch is atomic keeps the batch before.
            (true, Ok(())) => {
                assert_eq!(s.count().unwrap(), 7);
                assert!(s.verify().unwrap().is_intact());
                return;
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.count().unwrap(), 6, "nothing of the write is stored");
        assert_eq!(s.stream_version("b").unwrap(), 1);
    }
    fill_more(&mut s, 7..=7);
    assert!(s.verify().unwrap().is_intact());
}

/// Snapshots: kept per stream beside the log, replaced in place, committed
/// or rolled back with their transaction, dropped one or all, and never part
/// of the chain (the head hash and `verify` are the same with or without
/// them).
pub fn snapshots<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    assert_eq!(s.snapshot("a").unwrap(), None, "none in a new ledger");
    fill(&mut s, 4, &["a", "b"]);
    let head = s.head().unwrap();
    let snap = |stream: &str, version: u64, position: u64, data: &[u8]| Snapshot {
        stream: stream.to_string(),
        version,
        position,
        format: 7,
        data: data.to_vec(),
    };
    // Bytes of every value, a NUL among them: opaque.
    let bytes: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    s.write(|tx| -> Result<(), StoreError> {
        tx.put_snapshot(&snap("a", 2, 3, &bytes))?;
        assert_eq!(
            tx.snapshot("a")?,
            Some(snap("a", 2, 3, &bytes)),
            "the transaction sees its own snapshot"
        );
        tx.put_snapshot(&snap("b", 2, 4, b"b"))?;
        Ok(())
    })
    .unwrap();
    assert_eq!(s.snapshot("a").unwrap(), Some(snap("a", 2, 3, &bytes)));
    assert_eq!(s.snapshot("b").unwrap(), Some(snap("b", 2, 4, b"b")));
    assert_eq!(s.snapshot("c").unwrap(), None);
    assert_eq!(s.head().unwrap(), head, "a snapshot is not an event");
    assert_eq!(s.count().unwrap(), 4);
    assert!(s.verify().unwrap().is_intact());
    // Replaced in place.
    s.write(|tx| tx.put_snapshot(&snap("a", 3, 5, b"newer")))
        .unwrap();
    assert_eq!(s.snapshot("a").unwrap(), Some(snap("a", 3, 5, b"newer")));
    // A failed transaction keeps the old one.
    let r: Result<(), StoreError> = s.write(|tx| {
        tx.put_snapshot(&snap("a", 9, 9, b"lost"))?;
        tx.drop_snapshots(Some("b"))?;
        Err(StoreError::invalid(
            "x",
            "field",
            "value",
            "the caller gave up",
        ))
    });
    assert!(r.is_err());
    assert_eq!(s.snapshot("a").unwrap(), Some(snap("a", 3, 5, b"newer")));
    assert_eq!(s.snapshot("b").unwrap(), Some(snap("b", 2, 4, b"b")));
    // Other readers see committed snapshots.
    let reader = s.reader().unwrap();
    assert_eq!(reader.snapshot("b").unwrap(), Some(snap("b", 2, 4, b"b")));
    drop(reader);
    // Dropped one, then all.
    assert_eq!(s.write(|tx| tx.drop_snapshots(Some("a"))).unwrap(), 1);
    assert_eq!(s.snapshot("a").unwrap(), None);
    assert_eq!(s.snapshot("b").unwrap(), Some(snap("b", 2, 4, b"b")));
    s.write(|tx| tx.put_snapshot(&snap("a", 1, 1, b"")))
        .unwrap();
    assert_eq!(s.write(|tx| tx.drop_snapshots(None)).unwrap(), 2);
    assert_eq!(s.snapshot("a").unwrap(), None);
    assert_eq!(s.snapshot("b").unwrap(), None);
    fill_more(&mut s, 5..=5);
    assert!(s.verify().unwrap().is_intact());
}

fn fill_more<S: EventStore>(s: &mut S, range: std::ops::RangeInclusive<u64>) {
    let events: Vec<NewEvent> = range.map(|i| ev(i, "a")).collect();
    append(s, &[], &events).expect("appends");
}

/// A row changed behind the store's back breaks the chain at its position.
pub fn chain_finds_changed_row<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 10, &["a", "b"]);
    h.change_row(&s, 6);
    let v = s.verify().unwrap();
    assert_eq!(v.broken_at, Some(6), "{v:?}");
    assert_eq!(v.events, 5);
}

/// A row deleted from the middle breaks the chain where it was.
pub fn chain_finds_deleted_row<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 10, &["a", "b"]);
    h.delete_row(&s, 4);
    let v = s.verify().unwrap();
    assert_eq!(v.broken_at, Some(4), "{v:?}");
}

/// Cutting the newest rows leaves a valid shorter chain: only a checkpoint
/// kept elsewhere (`head`, then `hash_at`) shows it.
pub fn checkpoint_finds_cut_tail<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 6, &["a"]);
    let (pos, hash) = s.head().unwrap().expect("head");
    assert_eq!(s.hash_at(pos).unwrap(), Some(hash));
    h.delete_row(&s, 6);
    assert!(
        s.verify().unwrap().is_intact(),
        "a cut tail verifies on its own"
    );
    assert_eq!(
        s.hash_at(pos).unwrap(),
        None,
        "the checkpoint's position is gone"
    );
}

/// Reads page through the log instead of loading it: a reader that has
/// started still sees rows committed after its first page, and a scan of
/// many rows keeps nothing of them.
pub fn streaming_reads<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    let n = 2_500;
    fill(&mut s, n, &["a", "b", "c", "d"]);
    let mut writer = s.reader().expect("second connection");
    let mut it = s.events(&ReadFilter::default());
    let first = it.next().expect("a row").expect("reads");
    assert_eq!(first.position, 1);
    let more: Vec<NewEvent> = (n + 1..=n + 10).map(|i| ev(i, "a")).collect();
    append(&mut writer, &[], &more).expect("appends while a reader is open");
    let rest: Vec<u64> = it.map(|r| r.expect("reads").position).collect();
    assert_eq!(
        rest.last(),
        Some(&(n + 10)),
        "later pages see later commits"
    );
    assert_eq!(rest.len() as u64, n + 9);
    let mut total = 0u64;
    let count = s
        .scan(&ReadFilter::default(), |r| -> Result<(), StoreError> {
            total += r.payload.len() as u64;
            Ok(())
        })
        .unwrap();
    assert_eq!(count, n + 10);
    assert!(total > 0);
}

/// A reader on another connection sees what was committed since it opened.
pub fn readers_see_commits<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 3, &["a"]);
    let r = s.reader().expect("reader");
    assert_eq!(r.count().unwrap(), 3);
    fill_more(&mut s, 4..=5);
    assert_eq!(r.count().unwrap(), 5);
    assert_eq!(r.head().unwrap(), s.head().unwrap());
}

/// `scan_derived` hands over the same rows as `events`, with the same
/// `effective_date` (present and absent) and `schema_version`, under every
/// filter, across page boundaries.
pub fn scan_derived_matches_events<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 2_300, &["a", "b", "c"]);
    let filters = [
        ReadFilter::default(),
        ReadFilter::stream("b"),
        ReadFilter {
            stream: Some("c".into()),
            from_position: 10,
            to_position: Some(2_000),
            ..ReadFilter::default()
        },
        ReadFilter {
            from_position: 1_200,
            ..ReadFilter::default()
        },
    ];
    for filter in &filters {
        let want: Vec<(u64, String, String, Option<String>, u32)> = all(&s, filter)
            .into_iter()
            .map(|e| {
                (
                    e.position,
                    e.stream,
                    e.payload,
                    e.effective_date,
                    e.schema_version,
                )
            })
            .collect();
        let mut got = Vec::new();
        let n = s
            .scan_derived(filter, |r, d| -> Result<(), StoreError> {
                got.push((
                    r.position,
                    r.stream.to_string(),
                    r.payload.to_string(),
                    d.effective_date.map(str::to_string),
                    d.schema_version,
                ));
                Ok(())
            })
            .expect("scans");
        assert_eq!(n, want.len() as u64, "{filter:?}");
        assert_eq!(got, want, "{filter:?}");
        assert!(
            got.iter().any(|g| g.3.is_some()) && got.iter().any(|g| g.3.is_none()),
            "{filter:?}"
        );
    }
}

/// A stream read `from_version` on hands over its rows with a later
/// version only, the same through `scan` and `events`, and with
/// `from_position` too (the rows of a batch); without a stream it is
/// ignored.
pub fn from_version_starts_a_stream_there<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 300, &["a", "b", "c"]);
    let scanned = |s: &H::Store, filter: &ReadFilter| {
        let mut got = Vec::new();
        s.scan(filter, |r| -> Result<(), StoreError> {
            got.push((r.position, r.version));
            Ok(())
        })
        .expect("scans");
        let read: Vec<(u64, u64)> = all(s, filter)
            .into_iter()
            .map(|e| (e.position, e.version))
            .collect();
        assert_eq!(got, read, "{filter:?}");
        got
    };
    for from_version in [0u64, 1, 57, 99, 100, 500] {
        for from_position in [0u64, 150] {
            let filter = ReadFilter {
                stream: Some("b".into()),
                from_version,
                from_position,
                ..ReadFilter::default()
            };
            let want: Vec<(u64, u64)> = all(&s, &ReadFilter::stream("b"))
                .into_iter()
                .filter(|e| e.version > from_version && e.position > from_position)
                .map(|e| (e.position, e.version))
                .collect();
            assert_eq!(scanned(&s, &filter), want, "{filter:?}");
        }
    }
    assert_eq!(scanned(&s, &ReadFilter::stream("b")).len(), 100);
    let everything = ReadFilter {
        from_version: 250,
        ..ReadFilter::default()
    };
    assert_eq!(scanned(&s, &everything).len(), 300);
}

/// `scan_from_date` hands over exactly the rows of one stream dated on or
/// after the given day (and before the second, when given), in position
/// order (rows without a date never), also inside a write transaction
/// (rows appended by it included).
pub fn scan_from_date_matches_events<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    // Three dates and none, in every stream.
    let events: Vec<NewEvent> = (1..=300u64)
        .map(|i| NewEvent {
            effective_date: (i % 4 != 0).then(|| format!("2024-03-{:02}", 26 + (i / 3) % 4)),
            ..ev(i, ["a", "b", "c"][(i as usize - 1) % 3])
        })
        .collect();
    append(&mut s, &[], &events).expect("appends");
    let from = |s: &H::Store, stream: &str, day: &str, until: Option<&str>| {
        let mut got = Vec::new();
        let n = s
            .scan_from_date(stream, day, until, |r| -> Result<(), StoreError> {
                got.push((r.position, r.stream.to_string(), r.payload.to_string()));
                Ok(())
            })
            .expect("scans");
        assert_eq!(n, got.len() as u64);
        got
    };
    let dates: std::collections::BTreeSet<String> = all(&s, &ReadFilter::default())
        .into_iter()
        .filter_map(|e| e.effective_date)
        .collect();
    assert_eq!(dates.len(), 4, "{dates:?}");
    let mut days: Vec<String> = dates.iter().cloned().collect();
    days.extend(["0000-01-01".to_string(), "9999-12-31".to_string()]);
    for stream in ["a", "b", "c", "nope"] {
        for day in &days {
            for until in std::iter::once(None).chain(days.iter().map(|u| Some(u.as_str()))) {
                let want: Vec<(u64, String, String)> = all(&s, &ReadFilter::stream(stream))
                    .into_iter()
                    .filter(|e| {
                        e.effective_date
                            .as_deref()
                            .is_some_and(|d| d >= day.as_str() && until.is_none_or(|u| d < u))
                    })
                    .map(|e| (e.position, e.stream, e.payload))
                    .collect();
                assert_eq!(
                    from(&s, stream, day, until),
                    want,
                    "{stream} {day} {until:?}"
                );
            }
        }
        if stream != "nope" {
            assert!(!from(&s, stream, "0000-01-01", None).is_empty(), "{stream}");
            assert!(from(&s, stream, "9999-12-31", None).is_empty(), "{stream}");
        }
    }
    let seen = s
        .write(|tx| {
            tx.append(&[], &[ev(301, "a"), ev(302, "a")])?;
            let mut seen = Vec::new();
            tx.scan_from_date("a", "0000-01-01", None, |r| -> Result<(), StoreError> {
                seen.push(r.position);
                Ok(())
            })?;
            Ok::<_, StoreError>(seen)
        })
        .expect("writes");
    assert_eq!(seen.last(), Some(&302), "{seen:?}");
}

/// `scan_on_date` hands over exactly the rows of one stream with the given
/// `effective_date` (or none), in position order, also inside a write
/// transaction (rows appended by it included).
pub fn scan_on_date_matches_events<H: Harness>(h: &mut H) {
    let mut s = h.fresh();
    fill(&mut s, 300, &["a", "b", "c"]);
    let on = |s: &H::Store, stream: &str, date: Option<&str>| {
        let mut got = Vec::new();
        let n = s
            .scan_on_date(stream, date, |r| -> Result<(), StoreError> {
                got.push((r.position, r.stream.to_string(), r.payload.to_string()));
                Ok(())
            })
            .expect("scans");
        assert_eq!(n, got.len() as u64);
        got
    };
    for stream in ["a", "b", "c", "nope"] {
        for date in [Some("2024-03-28"), None, Some("2024-03-29")] {
            let want: Vec<(u64, String, String)> = all(&s, &ReadFilter::stream(stream))
                .into_iter()
                .filter(|e| e.effective_date.as_deref() == date)
                .map(|e| (e.position, e.stream, e.payload))
                .collect();
            assert_eq!(on(&s, stream, date), want, "{stream} {date:?}");
            if stream != "nope" && date != Some("2024-03-29") {
                assert!(!want.is_empty(), "{stream} {date:?}");
            }
        }
    }
    let seen = s
        .write(|tx| {
            tx.append(&[], &[ev(301, "a"), ev(302, "a")])?;
            let mut seen = Vec::new();
            tx.scan_on_date("a", Some("2024-03-28"), |r| -> Result<(), StoreError> {
                seen.push(r.position);
                Ok(())
            })?;
            Ok::<_, StoreError>(seen)
        })
        .expect("writes");
    assert_eq!(seen.last(), Some(&302), "{seen:?}");
}
