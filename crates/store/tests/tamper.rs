//! Tamper evidence: the triggers refuse UPDATE/DELETE, and with the triggers
//! dropped `verify` pinpoints altered and deleted rows. Truncating the newest
//! events is *not* visible to the chain alone — only to a checkpoint.

mod common;

use common::*;
use shareledger_store::Store;

fn drop_triggers(c: &rusqlite::Connection) {
    c.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
        .unwrap();
}

#[test]
fn update_and_delete_are_refused_by_triggers() {
    let l = ledger();
    let s = filled(&l.path, 3, &["s"]);
    let c = raw(&l.path);
    for sql in [
        "UPDATE events SET payload = '{}' WHERE position = 2",
        "UPDATE events SET actor = 'mallory'",
        "DELETE FROM events WHERE position = 3",
        "DELETE FROM events",
    ] {
        let err = c.execute(sql, []).unwrap_err();
        assert!(
            err.to_string()
                .contains("shareledger events are append-only"),
            "{sql}: {err}"
        );
    }
    // Also through the store's own connection.
    let err = s
        .connection()
        .execute("DELETE FROM events WHERE position = 1", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"));
    assert_eq!(s.count().unwrap(), 3);
    assert!(s.verify().unwrap().is_intact());
}

#[test]
fn changed_payload_at_k_is_broken_at_k() {
    for k in [1u64, 4, 7] {
        let l = ledger();
        let s = filled(&l.path, 7, &["a", "b"]);
        let c = raw(&l.path);
        drop_triggers(&c);
        c.execute(
            "UPDATE events SET payload = '{\"n\":1000000}' WHERE position = ?1",
            [k],
        )
        .unwrap();
        let v = s.verify().unwrap();
        assert_eq!(v.broken_at, Some(k), "{v:?}");
        assert_eq!(v.events, k - 1);
        assert_eq!(v.head.map(|h| h.0), (k > 1).then_some(k - 1));
        assert!(v.reason.unwrap().contains("hash"));
    }
}

#[test]
fn other_field_changes_at_k_are_broken_at_k() {
    // Events 1..=5 in one stream; even positions carry an effective date.
    for (k, set) in [
        (3u64, "actor = 'mallory'"),
        (4, "effective_date = NULL"),
        (3, "effective_date = ''"),
        (4, "effective_date = ''"),
        (3, "recorded_at = '2024-01-01T00:00:00.000002Z'"),
        (3, "stream = 'b'"),
        (3, "event_type = 'other'"),
        (3, "schema_version = 2"),
        (3, "version = 9"),
        (3, "id = 'x'"),
        (3, "position = 30"),
    ] {
        let l = ledger();
        let s = filled(&l.path, 5, &["a"]);
        let c = raw(&l.path);
        drop_triggers(&c);
        // The SET clause is a test constant, never input.
        let sql = format!("UPDATE events SET {set} WHERE position = ?1");
        assert_eq!(c.execute(&sql, [k]).unwrap(), 1, "{set}");
        let v = s.verify().unwrap();
        assert_eq!(v.broken_at, Some(k), "{set}: {v:?}");
    }
}

#[test]
fn rehashed_row_is_caught_at_the_next_position() {
    // A forger who recomputes the altered row's hash breaks the link to k + 1.
    let l = ledger();
    let s = filled(&l.path, 5, &["a"]);
    let mut e = s.find_by_id(&ev(2, "a").id).unwrap().unwrap();
    e.payload = r#"{"n":2,"forged":true}"#.into();
    let forged = e.computed_hash();
    let c = raw(&l.path);
    drop_triggers(&c);
    c.execute(
        "UPDATE events SET payload = ?1, hash = ?2 WHERE position = 2",
        rusqlite::params![e.payload, forged],
    )
    .unwrap();
    let v = s.verify().unwrap();
    assert_eq!(v.broken_at, Some(3), "{v:?}");
    assert!(v.reason.unwrap().contains("prev_hash"));
}

#[test]
fn deleted_row_at_k_is_broken_at_k() {
    for k in [1u64, 3, 5] {
        let l = ledger();
        let s = filled(&l.path, 6, &["a", "b", "c"]);
        let c = raw(&l.path);
        drop_triggers(&c);
        assert_eq!(
            c.execute("DELETE FROM events WHERE position = ?1", [k])
                .unwrap(),
            1
        );
        let v = s.verify().unwrap();
        assert_eq!(v.broken_at, Some(k), "{v:?}");
        assert_eq!(v.events, k - 1);
        assert!(v.reason.unwrap().contains("missing"));
    }
}

#[test]
fn deleting_the_last_row_is_not_detectable_by_the_chain_alone() {
    let l = ledger();
    let s = filled(&l.path, 5, &["a"]);
    // The caller's checkpoint: the head at some moment, kept elsewhere.
    let checkpoint = s.head().unwrap().unwrap();
    assert_eq!(checkpoint.0, 5);

    let c = raw(&l.path);
    drop_triggers(&c);
    c.execute("DELETE FROM events WHERE position = 5", [])
        .unwrap();

    // The truncated log is itself a valid chain ...
    let v = s.verify().unwrap();
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.events, 4);
    // ... but the head moved, and the checkpoint no longer resolves.
    let head = s.head().unwrap().unwrap();
    assert_ne!(head, checkpoint);
    assert_eq!(head.0, 4);
    assert_eq!(v.head, Some(head));
    assert_eq!(s.hash_at(checkpoint.0).unwrap(), None);
}

#[test]
fn tampered_ledger_is_still_readable_and_refuses_nothing_silently() {
    // After tampering, appends still chain from the (tampered) head; verify
    // keeps pointing at the first break.
    let l = ledger();
    let mut s = filled(&l.path, 3, &["a"]);
    let c = raw(&l.path);
    drop_triggers(&c);
    c.execute("UPDATE events SET payload = '[]' WHERE position = 2", [])
        .unwrap();
    append(&mut s, &[ev(4, "a")]).unwrap();
    assert_eq!(s.verify().unwrap().broken_at, Some(2));
    drop(s);
    assert_eq!(
        Store::open_existing(&l.path)
            .unwrap()
            .verify()
            .unwrap()
            .broken_at,
        Some(2)
    );
}
