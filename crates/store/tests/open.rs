//! Opening files: creation mode, refusal of foreign or newer files without
//! changing them, migration of an older file, `open_existing`.

mod common;

use std::path::Path;

use common::*;
use shareledger_store::{Store, StoreError, APPLICATION_ID, SCHEMA_VERSION};

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn pragma(path: &Path, name: &str) -> i64 {
    raw(path)
        .pragma_query_value(None, name, |r| r.get(0))
        .unwrap()
}

#[cfg(unix)]
#[test]
fn new_file_has_mode_0600_and_so_do_its_wal_files() {
    use std::os::unix::fs::PermissionsExt;
    let l = ledger();
    let mut s = Store::open(&l.path).unwrap();
    append(&mut s, &[ev(1, "s")]).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&l.path), 0o600);
    let wal = l.dir.path().join("ledger.db-wal");
    let shm = l.dir.path().join("ledger.db-shm");
    assert!(wal.exists(), "a write leaves a WAL while the store is open");
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(mode(&shm), 0o600);
}

#[test]
fn new_file_is_a_stamped_wal_ledger() {
    let l = ledger();
    drop(Store::open(&l.path).unwrap());
    assert_eq!(pragma(&l.path, "application_id"), i64::from(APPLICATION_ID));
    assert_eq!(pragma(&l.path, "user_version"), i64::from(SCHEMA_VERSION));
    assert_eq!(pragma(&l.path, "page_size"), 8192);
    let c = raw(&l.path);
    let mode: String = c
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let triggers: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(triggers, 2);
}

#[test]
fn store_pragmas_are_set() {
    let l = ledger();
    let s = Store::open(&l.path).unwrap();
    let c = s.connection();
    let get = |name: &str| -> i64 { c.pragma_query_value(None, name, |r| r.get(0)).unwrap() };
    assert_eq!(get("synchronous"), 2, "FULL");
    assert_eq!(get("foreign_keys"), 1);
    assert_eq!(get("busy_timeout"), 30_000);
}

#[test]
fn missing_parent_directory_is_a_clear_error() {
    let l = ledger();
    let p = l.dir.path().join("no/such/dir/ledger.db");
    let err = Store::open(&p).unwrap_err();
    assert!(matches!(err, StoreError::Create { .. }), "{err:?}");
    assert!(err.to_string().contains(&p.display().to_string()));
}

#[test]
fn text_file_is_refused_and_unchanged() {
    let l = ledger();
    for content in [
        &b"hello, this is my shopping list\n"[..],
        b"x",
        &[b'a'; 4096][..],
        b"SQLite format 3\0 but truncated",
    ] {
        std::fs::write(&l.path, content).unwrap();
        let err = Store::open(&l.path).unwrap_err();
        assert!(matches!(err, StoreError::NotSqlite { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&l.path.display().to_string()), "{msg}");
        assert!(
            msg.contains("not a shareledger ledger") && msg.contains("not changed"),
            "{msg}"
        );
        assert_eq!(bytes(&l.path), content);
        assert!(matches!(
            Store::open_existing(&l.path).unwrap_err(),
            StoreError::NotSqlite { .. }
        ));
        assert_eq!(bytes(&l.path), content);
        assert!(!l.dir.path().join("ledger.db-wal").exists());
    }
}

#[test]
fn sqlite_file_with_magic_but_garbage_is_refused_and_unchanged() {
    let l = ledger();
    let mut content = b"SQLite format 3\0".to_vec();
    content.resize(8192, 0xAB);
    std::fs::write(&l.path, &content).unwrap();
    let err = Store::open(&l.path).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotSqlite { .. } | StoreError::NotAStore { .. }
        ),
        "{err:?}"
    );
    assert_eq!(bytes(&l.path), content);
}

#[test]
fn foreign_sqlite_database_is_refused_and_unchanged() {
    let l = ledger();
    {
        let c = raw(&l.path);
        c.execute_batch(
            "PRAGMA application_id = 42; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
        )
        .unwrap();
    }
    let before = bytes(&l.path);
    let err = Store::open(&l.path).unwrap_err();
    match &err {
        StoreError::NotAStore { application_id, .. } => assert_eq!(*application_id, 42),
        other => panic!("expected NotAStore, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("0x0000002a") && msg.contains("--db"), "{msg}");
    assert_eq!(bytes(&l.path), before);
    assert!(Store::open_existing(&l.path).is_err());
    assert_eq!(bytes(&l.path), before);
}

#[test]
fn foreign_sqlite_database_without_application_id_is_refused_and_unchanged() {
    // application_id 0 but it has tables: someone else's database.
    let l = ledger();
    {
        let c = raw(&l.path);
        c.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
            .unwrap();
    }
    let before = bytes(&l.path);
    let err = Store::open(&l.path).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotAStore {
                application_id: 0,
                has_tables: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(bytes(&l.path), before);
}

#[test]
fn foreign_wal_database_is_refused_and_unchanged() {
    // A WAL-mode database with application_id 0 and tables, left with
    // un-checkpointed frames: refusing it must not checkpoint them into it.
    let l = ledger();
    {
        let c = raw(&l.path);
        c.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x);")
            .unwrap();
        c.execute_batch("PRAGMA wal_autocheckpoint = 0; INSERT INTO t VALUES (1);")
            .unwrap();
        // Leave the frames in the -wal file when this connection closes.
        c.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .unwrap();
    }
    let wal = l.dir.path().join("ledger.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    let before = bytes(&l.path);
    let wal_before = bytes(&wal);
    let err = Store::open(&l.path).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    assert_eq!(bytes(&l.path), before);
    assert_eq!(bytes(&wal), wal_before);
}

#[test]
fn newer_user_version_is_refused_and_unchanged() {
    let l = ledger();
    drop(filled(&l.path, 3, &["s"]));
    raw(&l.path)
        .execute_batch("PRAGMA user_version = 7;")
        .unwrap();
    let before = bytes(&l.path);
    for open in [Store::open, Store::open_existing] {
        let err = open(&l.path).unwrap_err();
        match &err {
            StoreError::TooNew { found, known, .. } => {
                assert_eq!(*found, 7);
                assert_eq!(*known, SCHEMA_VERSION);
            }
            other => panic!("expected TooNew, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("newer shareledger")
                && msg.contains("schema 7")
                && msg.contains("upgrade"),
            "{msg}"
        );
        assert_eq!(bytes(&l.path), before);
    }
}

#[test]
fn stamped_but_unmigrated_file_is_migrated() {
    // application_id set, user_version 0, no tables: an "older" ledger.
    let l = ledger();
    raw(&l.path)
        .execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID};"))
        .unwrap();
    assert_eq!(pragma(&l.path, "user_version"), 0);
    let mut s = Store::open_existing(&l.path).unwrap();
    append(&mut s, &[ev(1, "s")]).unwrap();
    assert!(s.verify().unwrap().is_intact());
    drop(s);
    assert_eq!(pragma(&l.path, "user_version"), i64::from(SCHEMA_VERSION));
}

#[test]
fn empty_sqlite_database_is_initialised_by_open_only() {
    // A valid but empty SQLite file (application_id 0, no tables).
    let l = ledger();
    raw(&l.path)
        .execute_batch("CREATE TABLE t (x); DROP TABLE t;")
        .unwrap();
    let before = bytes(&l.path);
    assert!(before.len() >= 512 && before.starts_with(b"SQLite format 3\0"));
    assert!(matches!(
        Store::open_existing(&l.path).unwrap_err(),
        StoreError::NotInitialised { .. }
    ));
    assert_eq!(bytes(&l.path), before);
    Store::open(&l.path).unwrap();
    assert_eq!(pragma(&l.path, "application_id"), i64::from(APPLICATION_ID));
}

#[test]
fn open_existing_never_creates() {
    let l = ledger();
    let err = Store::open_existing(&l.path).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains(&l.path.display().to_string()));
    assert!(!l.path.exists());

    std::fs::write(&l.path, b"").unwrap();
    let err = Store::open_existing(&l.path).unwrap_err();
    assert!(matches!(err, StoreError::NotInitialised { .. }), "{err:?}");
    assert_eq!(bytes(&l.path), b"");
}

#[test]
fn directory_is_refused() {
    let l = ledger();
    let err = Store::open(l.dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotAFile { .. }), "{err:?}");
}

#[test]
fn path_is_reported() {
    let l = ledger();
    let s = Store::open(&l.path).unwrap();
    assert_eq!(s.path(), l.path.as_path());
}

#[test]
fn two_stores_open_one_new_file_concurrently() {
    // Both race to initialise: exactly one migration runs, both succeed.
    let l = ledger();
    let p1 = l.path.clone();
    let p2 = l.path.clone();
    let t1 = std::thread::spawn(move || Store::open(&p1).map(|_| ()));
    let t2 = std::thread::spawn(move || Store::open(&p2).map(|_| ()));
    t1.join().unwrap().unwrap();
    t2.join().unwrap().unwrap();
    assert_eq!(pragma(&l.path, "user_version"), i64::from(SCHEMA_VERSION));
}
