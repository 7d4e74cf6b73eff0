//! `backup_to`: a verified, consistent copy, also while a writer is running.

mod common;

use common::*;
use shareledger_store::{ReadFilter, Store, StoreError};

#[test]
fn backup_is_a_verified_identical_copy() {
    let l = ledger();
    let s = filled(&l.path, 2500, &["a", "b"]);
    let dest = l.dir.path().join("copy.db");
    let v = s.backup_to(&dest).unwrap();
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.events, 2500);
    assert_eq!(v.head, s.head().unwrap());

    let copy = Store::open_existing(&dest).unwrap();
    let a: Vec<_> = s
        .events(&ReadFilter::default())
        .map(Result::unwrap)
        .collect();
    let b: Vec<_> = copy
        .events(&ReadFilter::default())
        .map(Result::unwrap)
        .collect();
    assert_eq!(a, b);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The copy is a working ledger: the append-only triggers came along.
    assert!(copy.connection().execute("DELETE FROM events", []).is_err());
}

#[test]
fn backup_never_overwrites() {
    let l = ledger();
    let s = filled(&l.path, 3, &["a"]);
    let dest = l.dir.path().join("exists.db");
    std::fs::write(&dest, b"precious").unwrap();
    let err = s.backup_to(&dest).unwrap_err();
    assert!(
        matches!(err, StoreError::BackupDestinationExists { .. }),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), b"precious");
}

#[test]
fn backup_of_an_empty_ledger() {
    let l = ledger();
    let s = Store::open(&l.path).unwrap();
    let dest = l.dir.path().join("empty-copy.db");
    let v = s.backup_to(&dest).unwrap();
    assert!(v.is_intact());
    assert_eq!(v.events, 0);
    assert_eq!(v.head, None);
}

#[test]
fn backup_while_a_writer_appends_is_consistent() {
    let l = ledger();
    let s = filled(&l.path, 500, &["a"]);
    let path = l.path.clone();
    let writer = std::thread::spawn(move || {
        let mut w = Store::open(&path).unwrap();
        for i in 501..=800u64 {
            append(&mut w, &[ev(i, "a")]).unwrap();
        }
    });
    let mut copies = Vec::new();
    for k in 0..5 {
        let dest = l.dir.path().join(format!("live-{k}.db"));
        let v = s.backup_to(&dest).unwrap();
        assert!(v.is_intact(), "{v:?}");
        assert!((500..=800).contains(&v.events));
        copies.push(v.events);
    }
    writer.join().unwrap();
    assert!(copies.windows(2).all(|w| w[0] <= w[1]), "{copies:?}");
    assert_eq!(s.count().unwrap(), 800);
}

#[test]
fn backup_of_a_tampered_ledger_reports_the_break() {
    let l = ledger();
    let s = filled(&l.path, 5, &["a"]);
    let c = raw(&l.path);
    c.execute_batch("DROP TRIGGER events_no_update;").unwrap();
    c.execute("UPDATE events SET actor = 'm' WHERE position = 4", [])
        .unwrap();
    let dest = l.dir.path().join("t.db");
    let v = s.backup_to(&dest).unwrap();
    assert_eq!(v.broken_at, Some(4));
    assert!(dest.exists(), "the copy is kept for inspection");
}
