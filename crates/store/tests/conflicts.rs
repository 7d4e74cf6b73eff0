//! Refusals of `WriteTx::append`: version conflicts, id conflicts and
//! duplicates, timestamps, malformed fields — and that a refused batch
//! writes nothing.

mod common;

use common::*;
use shareledger_store::{AppendOutcome, ExpectedVersion, NewEvent, ReadFilter, Store, StoreError};

/// An edit applied to a test event.
type Change = Box<dyn Fn(&mut NewEvent)>;

#[test]
fn version_conflict_carries_expected_and_actual() {
    let l = ledger();
    let mut s = filled(&l.path, 3, &["s"]);
    let err = s
        .write(|tx| tx.append(&[exact("s", 2)], &[ev(4, "s")]))
        .unwrap_err();
    match &err {
        StoreError::VersionConflict {
            stream,
            expected,
            actual,
        } => {
            assert_eq!(stream, "s");
            assert_eq!(*expected, ExpectedVersion::Exact(2));
            assert_eq!(*actual, 3);
        }
        other => panic!("expected VersionConflict, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("version 2") && msg.contains("version 3"),
        "{msg}"
    );

    let err = s
        .write(|tx| tx.append(&[("s".into(), ExpectedVersion::NoStream)], &[ev(4, "s")]))
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::VersionConflict {
            expected: ExpectedVersion::NoStream,
            actual: 3,
            ..
        }
    ));
    assert_eq!(s.count().unwrap(), 3);

    // The right expectation, and Any, succeed.
    s.write(|tx| tx.append(&[exact("s", 3)], &[ev(4, "s")]))
        .unwrap();
    s.write(|tx| tx.append(&[("s".into(), ExpectedVersion::Any)], &[ev(5, "s")]))
        .unwrap();
    // Expectations are checked against the version at the start of the call,
    // for each listed stream (here one untouched by the batch).
    let err = s
        .write(|tx| tx.append(&[exact("s", 5), exact("other", 1)], &[ev(6, "s")]))
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict { actual: 0, .. }));
    assert_eq!(s.count().unwrap(), 5);
}

#[test]
fn same_id_same_content_is_a_duplicate_and_adds_nothing() {
    let l = ledger();
    let mut s = filled(&l.path, 3, &["s"]);
    let head = s.head().unwrap();

    // Exact resend.
    let out = append(&mut s, &[ev(2, "s")]).unwrap();
    assert_eq!(out, vec![AppendOutcome::Duplicate { position: 2 }]);

    // Resend later, by someone else: recorded_at/actor are not content, and
    // an older recorded_at does not trip the time-order check.
    let mut late = ev(1, "s");
    late.actor = "bob".into();
    let out = append(&mut s, &[late]).unwrap();
    assert_eq!(out, vec![AppendOutcome::Duplicate { position: 1 }]);
    let mut later = ev(3, "s");
    later.recorded_at = ts(1_000);
    assert_eq!(
        append(&mut s, &[later]).unwrap(),
        vec![AppendOutcome::Duplicate { position: 3 }]
    );

    assert_eq!(s.count().unwrap(), 3);
    assert_eq!(s.head().unwrap(), head);

    // A batch mixing a duplicate and a new event; and a repeat inside one batch.
    let out = append(&mut s, &[ev(3, "s"), ev(4, "s"), ev(4, "s")]).unwrap();
    assert_eq!(
        out,
        vec![
            AppendOutcome::Duplicate { position: 3 },
            AppendOutcome::Appended {
                position: 4,
                version: 4
            },
            AppendOutcome::Duplicate { position: 4 },
        ]
    );
    assert_eq!(s.count().unwrap(), 4);
    assert!(s.verify().unwrap().is_intact());
}

#[test]
fn same_id_other_content_is_an_id_conflict() {
    let l = ledger();
    let mut s = filled(&l.path, 3, &["s"]);
    let variants: Vec<Change> = vec![
        Box::new(|e| e.payload = r#"{"n":99}"#.into()),
        Box::new(|e| e.stream = "t".into()),
        Box::new(|e| e.event_type = "other".into()),
        Box::new(|e| e.schema_version = 2),
        Box::new(|e| e.effective_date = Some("2024-01-02".into())),
        Box::new(|e| e.effective_date = None),
    ];
    for change in variants {
        let mut e = ev(2, "s");
        e.recorded_at = ts(10); // later than everything: only the id clashes
        change(&mut e);
        if e == ev(2, "s") {
            continue;
        }
        let err = append(&mut s, &[e.clone()]).unwrap_err();
        match &err {
            StoreError::IdConflict { id, position } => {
                assert_eq!(id, &e.id);
                assert_eq!(*position, 2);
            }
            other => panic!("expected IdConflict for {e:?}, got {other:?}"),
        }
        assert!(err.to_string().contains(&e.id));
    }
    assert_eq!(s.count().unwrap(), 3);
}

#[test]
fn nothing_is_written_when_any_event_of_a_batch_fails() {
    let l = ledger();
    let mut s = filled(&l.path, 2, &["s"]);
    let before: Vec<_> = s
        .events(&ReadFilter::default())
        .map(Result::unwrap)
        .collect();

    let mut clash = ev(1, "s");
    clash.payload = r#"{"changed":true}"#.into();
    clash.recorded_at = ts(50);
    let mut malformed = ev(6, "s");
    malformed.recorded_at = "2024-01-01T00:00:00Z".into();
    let mut backwards = ev(7, "s");
    backwards.recorded_at = ts(0);
    let mut bad_json = ev(8, "s");
    bad_json.payload = "{not json".into();

    for bad in [clash, malformed, backwards, bad_json] {
        // Good events before the bad one must not survive.
        let batch = vec![ev(3, "s"), ev(4, "t"), bad.clone(), ev(9, "s")];
        assert!(append(&mut s, &batch).is_err(), "{bad:?}");
        assert_eq!(s.count().unwrap(), 2, "{bad:?}");

        // Even when the caller swallows the error and commits the
        // transaction, the failed batch leaves no rows.
        s.write(|tx| {
            assert!(tx.append(&[], &batch).is_err());
            tx.append(&[], &[])
        })
        .unwrap();
        assert_eq!(s.count().unwrap(), 2, "{bad:?}");
    }
    let after: Vec<_> = s
        .events(&ReadFilter::default())
        .map(Result::unwrap)
        .collect();
    assert_eq!(before, after);
    assert_eq!(s.stream_version("t").unwrap(), 0);

    // A later good append takes the next position, proving no hidden gap.
    let out = append(&mut s, &[ev(3, "s")]).unwrap();
    assert_eq!(
        out,
        vec![AppendOutcome::Appended {
            position: 3,
            version: 3
        }]
    );
    assert!(s.verify().unwrap().is_intact());
}

#[test]
fn recorded_at_going_backwards_is_refused() {
    let l = ledger();
    let mut s = filled(&l.path, 5, &["s"]);
    let mut e = ev(6, "s");
    e.recorded_at = ts(4);
    match append(&mut s, &[e]).unwrap_err() {
        StoreError::RecordedAtBackwards { given, latest } => {
            assert_eq!(given, ts(4));
            assert_eq!(latest, ts(5));
        }
        other => panic!("expected RecordedAtBackwards, got {other:?}"),
    }
    // Within one batch too.
    let mut a = ev(7, "s");
    a.recorded_at = ts(20);
    let mut b = ev(8, "s");
    b.recorded_at = ts(19);
    let err = append(&mut s, &[a, b]).unwrap_err();
    assert!(
        matches!(err, StoreError::RecordedAtBackwards { .. }),
        "{err:?}"
    );
    assert_eq!(s.count().unwrap(), 5);
}

#[test]
fn malformed_fields_are_refused() {
    let l = ledger();
    let mut s = Store::open(&l.path).unwrap();
    let cases: Vec<(&str, Change)> = vec![
        (
            "recorded_at",
            Box::new(|e| e.recorded_at = "2024-01-01T00:00:00Z".into()),
        ),
        (
            "recorded_at",
            Box::new(|e| e.recorded_at = "2024-01-01T00:00:00.000000+08:00".into()),
        ),
        (
            "recorded_at",
            Box::new(|e| e.recorded_at = "2024-02-30T00:00:00.000000Z".into()),
        ),
        (
            "recorded_at",
            Box::new(|e| e.recorded_at = "2024-01-01 00:00:00.000000Z".into()),
        ),
        ("recorded_at", Box::new(|e| e.recorded_at = String::new())),
        (
            "effective_date",
            Box::new(|e| e.effective_date = Some("28/03/2024".into())),
        ),
        (
            "effective_date",
            Box::new(|e| e.effective_date = Some(String::new())),
        ),
        ("payload", Box::new(|e| e.payload = "".into())),
        ("payload", Box::new(|e| e.payload = "{} {}".into())),
        ("id", Box::new(|e| e.id = String::new())),
        ("stream", Box::new(|e| e.stream = String::new())),
        ("event_type", Box::new(|e| e.event_type = String::new())),
    ];
    for (field, change) in cases {
        let mut e = ev(1, "s");
        change(&mut e);
        match append(&mut s, &[e.clone()]) {
            Err(StoreError::InvalidField { field: f, .. }) => assert_eq!(f, field, "{e:?}"),
            other => panic!("{field}: expected InvalidField, got {other:?}"),
        }
    }
    assert_eq!(s.count().unwrap(), 0);
}

#[test]
fn version_conflict_inside_write_rolls_back_earlier_appends_of_that_write() {
    let l = ledger();
    let mut s = Store::open(&l.path).unwrap();
    let r = s.write(|tx| {
        tx.append(&[exact("s", 0)], &[ev(1, "s")])?;
        tx.append(&[exact("s", 0)], &[ev(2, "s")]) // stale expectation
    });
    assert!(matches!(
        r,
        Err(StoreError::VersionConflict { actual: 1, .. })
    ));
    assert_eq!(s.count().unwrap(), 0);
}

#[test]
fn same_id_twice_in_one_batch_with_other_content_is_refused() {
    let l = ledger();
    let mut s = filled(&l.path, 1, &["s"]);
    let mut twin = ev(2, "s");
    twin.payload = r#"{"twin":true}"#.into();
    let err = append(&mut s, &[ev(2, "s"), twin]).unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidField { field: "id", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("twice in this batch"));
    assert_eq!(s.count().unwrap(), 1);
}
