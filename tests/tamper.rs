//! The threat model's claims, end to end through the binary (issue #5,
//! part 5; docs/threat-model.md): `audit` exits 1 on a changed row, a
//! deleted row, and — given a checkpoint — a cut tail or a rewritten
//! history; `backup` taken while writers run is a verified, consistent copy;
//! a file that is not a ledger is refused and left unchanged; a new ledger
//! is private (mode 0600).
//!
//! Tampering is done the way an attacker with write access to the file would:
//! with SQLite directly, after dropping the append-only triggers
//! (`events_no_update`, `events_no_delete`: crates/store/src/schema.rs).

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{shareledger, succeeded, text};
use serde_json::Value;
use shareledger_store::{event_hash, ReadFilter, Store, GENESIS_PREV_HASH};

const ISSUER: &str = "06666";
/// Deadlines are judged as at the opening date: a consistent ledger audits
/// clean, so exit 1 below is the tampering and nothing else.
const AUDIT_NOW: &str = "2025-01-02";
/// Events in the test ledger.
const EVENTS: u64 = 13;

/// Issuer, class, opening balance and ten repurchases of 100 + k shares.
fn ledger_lines() -> String {
    let at = r#""recorded_at":"2025-01-02T18:00:00+08:00""#;
    let mut s = String::new();
    writeln!(s, r#"{{"type":"issuer_registered","issuer":"{ISSUER}","name":"Tamper Proof Ltd","primary_listing":false,"id":"00000000-0000-4000-8000-000000000001",{at}}}"#).unwrap();
    writeln!(s, r#"{{"type":"share_class_defined","issuer":"{ISSUER}","class":"O","class_of_shares":"Ordinary shares","id":"00000000-0000-4000-8000-000000000002",{at}}}"#).unwrap();
    writeln!(s, r#"{{"type":"opening_balance","issuer":"{ISSUER}","class":"O","date":"2025-01-02","issued_shares":1000000,"id":"00000000-0000-4000-8000-000000000003",{at}}}"#).unwrap();
    // Ten trading days of buy-backs from 3 January, recorded at the month's end.
    let at = r#""recorded_at":"2025-01-31T18:00:00+08:00""#;
    let calendar = shareledger_core::calendar::BusinessCalendar::new();
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap();
    for k in 0..10u64 {
        let shares = 100 + k;
        let day = calendar.nth_business_day_after(start, k as u32 + 1);
        writeln!(s, r#"{{"type":"shares_repurchased","issuer":"{ISSUER}","class":"O","trade_date":"{day}","shares":{shares},"currency":"HKD","highest_price":"3","lowest_price":"3","total_paid":"{}","id":"00000000-0000-4000-8000-0000000001{k:02}",{at}}}"#, shares * 3).unwrap();
    }
    s
}

struct Ledger {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Ledger {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db");
        let f = dir.path().join("events.jsonl");
        std::fs::write(&f, ledger_lines()).unwrap();
        succeeded(
            shareledger(&db).arg("import").arg(&f).output().unwrap(),
            "import",
        );
        Ledger { dir, db }
    }

    /// A copy of the (closed, checkpointed) ledger to tamper with.
    fn copy(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::copy(&self.db, &p).unwrap();
        p
    }

    fn checkpoint(&self) -> String {
        checkpoint(&self.db)
    }
}

/// `shareledger checkpoint` of the ledger at `db` (a file or a URL).
fn checkpoint(db: &Path) -> String {
    let out = succeeded(
        shareledger(db).arg("checkpoint").output().unwrap(),
        "checkpoint",
    );
    let line = out.trim().to_string();
    let (pos, hash) = line.split_once(':').expect("POSITION:HASH");
    assert_eq!(pos, EVENTS.to_string());
    assert_eq!(hash.len(), 64);
    line
}

/// `audit --format json` (and `--expect` if given): (exit code, report).
fn audit(db: &Path, expect: Option<&str>) -> (i32, Value) {
    let mut c = shareledger(db);
    c.args(["audit", "--format", "json", "--now", AUDIT_NOW]);
    if let Some(e) = expect {
        c.args(["--expect", e]);
    }
    let out = c.output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "audit printed no JSON ({e}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    (out.status.code().expect("exited"), report)
}

fn integrity_messages(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "integrity")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

/// Open the file as an attacker would, without the append-only triggers.
fn attacker(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
        .unwrap();
    c
}

/// A plausible forgery at position 8: the repurchase of 104 shares at HKD 3
/// becomes 10,400 shares for HKD 31,200, still a valid event.
fn forge(db: &Path) {
    let c = attacker(db);
    let n = c
        .execute(
            "UPDATE events SET payload = replace(replace(payload, '\"shares\":104', '\"shares\":10400'), '\"total_paid\":\"312\"', '\"total_paid\":\"31200\"') WHERE position = 8",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    let payload: String = c
        .query_row("SELECT payload FROM events WHERE position = 8", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        payload.contains("\"shares\":10400") && payload.contains("\"total_paid\":\"31200\""),
        "{payload}"
    );
}

#[test]
fn untouched_ledger_audits_clean_with_its_checkpoint() {
    let l = Ledger::new();
    let cp = l.checkpoint();
    let (code, report) = audit(&l.db, Some(&cp));
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["chain"], "intact");
    assert_eq!(report["events"], EVENTS);
    // Warnings only (the price-cap check lacks closing prices), no errors.
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "warning"),
        "{report}"
    );
}

#[test]
fn triggers_refuse_update_and_delete_through_sqlite() {
    let l = Ledger::new();
    let c = rusqlite::Connection::open(&l.db).unwrap();
    for sql in [
        "UPDATE events SET payload = '{}' WHERE position = 5",
        "DELETE FROM events WHERE position = 13",
    ] {
        let e = c.execute(sql, []).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    drop(c);
    assert_eq!(audit(&l.db, None).0, 0);
}

#[test]
fn audit_exits_1_on_a_changed_row() {
    let l = Ledger::new();
    let cp = l.checkpoint();
    let db = l.copy("changed.db");
    forge(&db);
    let (code, report) = audit(&db, None);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["chain"]["broken_at"], 8, "{report}");
    assert!(integrity_messages(&report)[0].contains("position 8"));
    // With the checkpoint too.
    let (code, report) = audit(&db, Some(&cp));
    assert_eq!(code, 1);
    assert_eq!(report["chain"]["broken_at"], 8);
}

#[test]
fn audit_exits_1_on_a_changed_row_whose_own_hash_was_recomputed() {
    let l = Ledger::new();
    let db = l.copy("rehashed.db");
    forge(&db);
    rehash(&db, 8, 8);
    // The forged row verifies on its own; the next one no longer follows it.
    let (code, report) = audit(&db, None);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["chain"]["broken_at"], 9, "{report}");
}

#[test]
fn audit_exits_1_on_a_deleted_row() {
    let l = Ledger::new();
    let cp = l.checkpoint();
    let db = l.copy("deleted.db");
    let c = attacker(&db);
    assert_eq!(
        c.execute("DELETE FROM events WHERE position = 6", [])
            .unwrap(),
        1
    );
    drop(c);
    let (code, report) = audit(&db, None);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["chain"]["broken_at"], 6, "{report}");
    assert!(integrity_messages(&report)[0].contains("missing"));
    let (code, _) = audit(&db, Some(&cp));
    assert_eq!(code, 1);
}

#[test]
fn cut_tail_is_invisible_to_the_chain_alone_but_not_to_a_checkpoint() {
    let l = Ledger::new();
    let cp = l.checkpoint();
    let db = l.copy("cut.db");
    let c = attacker(&db);
    assert_eq!(
        c.execute("DELETE FROM events WHERE position > 10", [])
            .unwrap(),
        3
    );
    drop(c);
    // What the chain cannot prove: the shorter log is a valid chain.
    let (code, report) = audit(&db, None);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["chain"], "intact");
    assert_eq!(report["events"], 10);
    // What the checkpoint kept elsewhere proves.
    let (code, report) = audit(&db, Some(&cp));
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false);
    assert!(
        integrity_messages(&report)
            .iter()
            .any(|m| m.contains("tail was cut off")),
        "{report}"
    );
}

/// Recompute `prev_hash` and `hash` of positions `from..=to` in order, as
/// someone who knows the (documented) hash scheme would.
fn rehash(db: &Path, from: u64, to: u64) {
    let rows: Vec<_> = {
        let s = Store::open_existing(db).unwrap();
        s.events(&ReadFilter::default())
            .map(|e| e.unwrap())
            .collect()
    };
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch(
        "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;",
    )
    .unwrap();
    let mut prev = GENESIS_PREV_HASH.to_string();
    for r in rows {
        if (from..=to).contains(&r.position) {
            let hash = event_hash(&prev, &r.fields());
            c.execute(
                "UPDATE events SET prev_hash = ?1, hash = ?2 WHERE position = ?3",
                rusqlite::params![prev, hash, r.position],
            )
            .unwrap();
            prev = hash;
        } else {
            prev = r.hash;
        }
    }
}

#[test]
fn full_rewrite_with_recomputed_hashes_needs_the_checkpoint() {
    let l = Ledger::new();
    let cp = l.checkpoint();
    let db = l.copy("rewritten.db");
    forge(&db);
    rehash(&db, 8, EVENTS);
    // The chain alone cannot tell: every hash recomputes, and the forged
    // event is a valid one.
    let (code, report) = audit(&db, None);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["chain"], "intact");
    // The checkpoint kept elsewhere can.
    let (code, report) = audit(&db, Some(&cp));
    assert_eq!(code, 1, "{report}");
    assert!(
        integrity_messages(&report)
            .iter()
            .any(|m| m.contains("rewritten")),
        "{report}"
    );
    // So can a checkpoint of any position at or after the change.
    let (pos, _) = cp.split_once(':').unwrap();
    assert_eq!(pos, EVENTS.to_string());
}

#[test]
fn backup_while_writers_run_is_a_verified_consistent_copy() {
    let l = Ledger::new();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Two writers appending one event per process, until told to stop.
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let db = l.db.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 200 {
                    let shares = (1 + 2 * n + w as u64).to_string(); // no two alike
                    succeeded(
                        shareledger(&db)
                            .args(["record", "shares-repurchased", "--issuer", ISSUER])
                            .args(["--class", "O", "--trade-date", "2025-02-03"])
                            .args(["--shares", &shares])
                            .args([
                                "--id",
                                &format!("00000000-0000-4000-{:04x}-{n:012x}", 0xb000 + w),
                            ])
                            .output()
                            .unwrap(),
                        "writer",
                    );
                    n += 1;
                }
                n
            })
        })
        .collect();

    let mut copies = Vec::new();
    for i in 0..4 {
        std::thread::sleep(std::time::Duration::from_millis(150));
        let copy = l.dir.path().join(format!("backup-{i}.db"));
        let out = succeeded(
            shareledger(&l.db)
                .arg("backup")
                .arg(&copy)
                .output()
                .unwrap(),
            "backup",
        );
        assert!(out.contains("chain verified"), "{out}");
        copies.push(copy);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(written > 0);

    let live = Store::open_existing(&l.db).unwrap();
    assert_eq!(live.count().unwrap(), EVENTS + written);
    let mut last = 0;
    for copy in &copies {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(copy).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", copy.display());
        }
        let b = Store::open_existing(copy).unwrap();
        let v = b.verify().unwrap();
        assert!(v.is_intact(), "{v:?}");
        let (pos, hash) = v.head.clone().unwrap();
        // A consistent snapshot: a prefix of the live log, head and all.
        assert_eq!(live.hash_at(pos).unwrap().as_deref(), Some(hash.as_str()));
        assert!(pos >= last);
        last = pos;
        // And it audits as a ledger of its own.
        let (code, report) = audit(copy, None);
        assert_eq!(report["chain"], "intact", "{report}");
        assert_eq!(code, 0, "{report}");
    }
    // An existing destination is refused, and not overwritten.
    let before = std::fs::read(&copies[0]).unwrap();
    let out = shareledger(&l.db)
        .arg("backup")
        .arg(&copies[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&copies[0]).unwrap(), before);
}

fn dir_listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_file_that_is_not_a_ledger_is_refused_and_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    // A text file, a SQLite database of another program, and an empty
    // SQLite-sized file of zeros.
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "quarterly notes\n".repeat(20)).unwrap();
    let foreign = dir.path().join("other.sqlite");
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        c.execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO customers (name) VALUES ('Alice'), ('Bob');",
        )
        .unwrap();
    }
    let zeros = dir.path().join("zeros.db");
    std::fs::write(&zeros, vec![0u8; 4096]).unwrap();
    let events = tempfile::tempdir().unwrap();
    let f = events.path().join("events.jsonl");
    std::fs::write(&f, ledger_lines()).unwrap();

    let before = dir_listing(dir.path());
    for db in [&text_file, &foreign, &zeros] {
        for args in [
            vec!["import".to_string(), f.display().to_string()],
            vec!["log".into()],
            vec!["audit".into()],
            vec!["checkpoint".into()],
            vec!["balance".into(), "--issuer".into(), ISSUER.into()],
            vec![
                "backup".into(),
                events.path().join("b.db").display().to_string(),
            ],
        ] {
            let out = shareledger(db).args(&args).output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(1),
                "{args:?} on {}: {}",
                db.display(),
                text(&out.stderr)
            );
            assert!(!text(&out.stderr).is_empty());
            assert_eq!(
                dir_listing(dir.path()),
                before,
                "{args:?} changed {}",
                db.display()
            );
            assert!(!events.path().join("b.db").exists());
        }
    }
}

#[test]
fn a_new_ledger_is_private() {
    let l = Ledger::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&l.db).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // SQLite gives the WAL and shared-memory files the database's
        // mode: open a connection so they exist, and look.
        let s = Store::open_existing(&l.db).unwrap();
        s.count().unwrap();
        for suffix in ["-wal", "-shm"] {
            let mut p = l.db.as_os_str().to_owned();
            p.push(suffix);
            if let Ok(m) = std::fs::metadata(PathBuf::from(&p)) {
                assert_eq!(m.permissions().mode() & 0o777, 0o600, "{p:?}");
            }
        }
    }
}

// ---------------------------------------------------------------- PostgreSQL
//
// The same attacks on a PostgreSQL ledger (issue #15): the ledger written
// through the binary into a database of the throwaway cluster
// (`shareledger_store::pg_testing`; skipped without one, failed under
// `CI`), then a row changed or deleted as the tables' owner could, with
// the append-only triggers disabled for the time of it.

/// The test ledger imported into a new PostgreSQL database: its URL.
fn pg_ledger() -> Option<String> {
    let url = shareledger_store::pg_testing::database()?;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("events.jsonl");
    std::fs::write(&f, ledger_lines()).unwrap();
    succeeded(
        shareledger(Path::new(&url))
            .arg("import")
            .arg(&f)
            .output()
            .unwrap(),
        "import into PostgreSQL",
    );
    Some(url)
}

/// Run `sql` on the ledger at `url` with its triggers disabled.
fn pg_attack(url: &str, sql: &str) -> u64 {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("ALTER TABLE events DISABLE TRIGGER USER")
        .unwrap();
    let n = tx.execute(sql, &[]).unwrap();
    tx.batch_execute("ALTER TABLE events ENABLE TRIGGER USER")
        .unwrap();
    tx.commit().unwrap();
    n
}

#[test]
fn on_postgresql_the_triggers_refuse_update_and_delete() {
    let Some(url) = pg_ledger() else {
        return;
    };
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE events SET payload = '{}' WHERE position = 5",
        "DELETE FROM events WHERE position = 13",
        "TRUNCATE events",
    ] {
        let e = c.batch_execute(sql).unwrap_err();
        assert!(format!("{e:?}").contains("append-only"), "{sql}: {e:?}");
    }
    assert_eq!(audit(Path::new(&url), None).0, 0);
}

#[test]
fn on_postgresql_audit_exits_1_on_a_changed_row_naming_its_position() {
    let Some(url) = pg_ledger() else {
        return;
    };
    let db = Path::new(&url);
    let cp = checkpoint(db);
    let (code, report) = audit(db, Some(&cp));
    assert_eq!(code, 0, "untouched: {report}");
    let n = pg_attack(
        &url,
        "UPDATE events SET payload = replace(replace(payload, '\"shares\":104', '\"shares\":10400'), '\"total_paid\":\"312\"', '\"total_paid\":\"31200\"') WHERE position = 8",
    );
    assert_eq!(n, 1, "the forgery changed one row");
    let (code, report) = audit(db, None);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["chain"]["broken_at"], 8, "{report}");
    assert!(
        integrity_messages(&report)[0].contains("position 8"),
        "{report}"
    );
    let (code, report) = audit(db, Some(&cp));
    assert_eq!(code, 1);
    assert_eq!(report["chain"]["broken_at"], 8);
}

#[test]
fn on_postgresql_audit_exits_1_on_a_deleted_row() {
    let Some(url) = pg_ledger() else {
        return;
    };
    let db = Path::new(&url);
    let cp = checkpoint(db);
    assert_eq!(pg_attack(&url, "DELETE FROM events WHERE position = 6"), 1);
    let (code, report) = audit(db, None);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["chain"]["broken_at"], 6, "{report}");
    assert!(
        integrity_messages(&report)[0].contains("missing"),
        "{report}"
    );
    let (code, _) = audit(db, Some(&cp));
    assert_eq!(code, 1);
}
