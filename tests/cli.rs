//! End to end through the `shareledger` binary: import, log, balance (as of
//! and as known at), audit, a refused import that writes nothing,
//! idempotent re-import, tampering detected, usage errors.

mod common;

use std::path::{Path, PathBuf};

use common::{ok, run, stderr, stdout};
use serde_json::{json, Value};

fn json_of(db: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&ok(db, args)).expect("one JSON document")
}

/// A hand-written ledger: issuer 08888 (HKD 0.1 shares, 2,000,000,000
/// authorised), 1,000,000,000 issued at 31 January 2023; repurchases on 1 and
/// 2 February, each reported by an NDDR that evening; 120,000 cancelled on 10
/// February; and an option exercise of 3 February that the ledger learned
/// only on 20 February (recorded late).
const LEDGER: &str = r#"# A test ledger, by hand.
{"type": "issuer_registered", "issuer": "08888", "name": "Test Holdings Limited", "signatory": {"name": "Chan Tai Man", "title": "Company Secretary"}, "id": "00000000-0000-4000-8000-000000000001", "recorded_at": "2023-01-31T18:00:00+08:00"}
{"type": "share_class_defined", "issuer": "08888", "class": "ORD", "class_of_shares": "Ordinary shares", "stock_code": "08888", "par_value": {"currency": "HKD", "amount": "0.1"}, "authorised_shares": 2000000000, "id": "00000000-0000-4000-8000-000000000002", "recorded_at": "2023-01-31T18:00:00+08:00"}
{"type": "opening_balance", "issuer": "08888", "class": "ORD", "date": "2023-01-31", "issued_shares": 1000000000, "id": "00000000-0000-4000-8000-000000000003", "recorded_at": "2023-01-31T18:00:00+08:00"}
{"type": "repurchase_mandate_granted", "issuer": "08888", "class": "ORD", "resolution_date": "2022-06-01", "issued_shares_at_resolution": 1000000000, "explanatory_statement_date": "2022-04-28", "id": "00000000-0000-4000-8000-000000000004", "recorded_at": "2023-01-31T18:00:00+08:00"}

{"type": "share_option_scheme_adopted", "issuer": "08888", "class": "ORD", "scheme": "2020 Scheme", "adoption_date": "2020-06-01", "outstanding_options": 1000000, "id": "00000000-0000-4000-8000-000000000005", "recorded_at": "2023-01-31T18:00:00+08:00"}
{"type": "shares_repurchased", "issuer": "08888", "class": "ORD", "trade_date": "2023-02-01", "shares": 100000, "currency": "HKD", "highest_price": "10.2", "lowest_price": "10", "total_paid": "1010000", "id": "00000000-0000-4000-8000-000000000006", "recorded_at": "2023-02-01T18:00:00+08:00"}
{"type": "return_filed", "issuer": "08888", "form": "nddr", "date": "2023-02-01", "submitted_at": "2023-02-01T19:00:00+08:00", "id": "00000000-0000-4000-8000-000000000007", "recorded_at": "2023-02-01T19:05:00+08:00"}
{"type": "shares_repurchased", "issuer": "08888", "class": "ORD", "trade_date": "2023-02-02", "shares": 50000, "currency": "HKD", "highest_price": "10.4", "lowest_price": "10.2", "total_paid": "515000", "id": "00000000-0000-4000-8000-000000000008", "recorded_at": "2023-02-02T18:00:00+08:00"}
{"type": "return_filed", "issuer": "08888", "form": "nddr", "date": "2023-02-02", "submitted_at": "2023-02-02T19:00:00+08:00", "id": "00000000-0000-4000-8000-000000000009", "recorded_at": "2023-02-02T19:05:00+08:00"}
{"type": "repurchased_shares_cancelled", "issuer": "08888", "class": "ORD", "date": "2023-02-10", "shares": 120000, "id": "00000000-0000-4000-8000-00000000000a", "recorded_at": "2023-02-10T18:00:00+08:00"}
{"type": "return_filed", "issuer": "08888", "form": "nddr", "date": "2023-02-10", "submitted_at": "2023-02-10T19:00:00+08:00", "id": "00000000-0000-4000-8000-00000000000b", "recorded_at": "2023-02-10T19:05:00+08:00"}
{"type": "shares_issued", "issuer": "08888", "class": "ORD", "date": "2023-02-03", "shares": 50000, "kind": "share_option_exercise", "scheme": "2020 Scheme", "currency": "HKD", "price": "5", "id": "00000000-0000-4000-8000-00000000000c", "recorded_at": "2023-02-20T10:00:00+08:00", "note": "recorded late"}
"#;

/// Line 7 cancels more shares than are pending (40,000): the whole file is
/// refused, the market closure and the repurchase before it included.
const REFUSED: &str = r#"# A file refused at line 7.

{"type": "market_closed", "date": "2023-02-14", "reason": "Typhoon signal No. 8"}
# another comment
{"type": "shares_repurchased", "issuer": "08888", "class": "ORD", "trade_date": "2023-02-13", "shares": 10000, "currency": "HKD", "highest_price": "10", "lowest_price": "10", "total_paid": "100000"}

{"type": "repurchased_shares_cancelled", "issuer": "08888", "class": "ORD", "date": "2023-02-15", "shares": 1000000}
"#;

/// When the audit judges deadlines: before the February Monthly Return is due.
const AUDIT_NOW: &str = "2023-03-01T00:00:00+08:00";

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    db: PathBuf,
    ledger: PathBuf,
}

fn imported() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    let ledger = path.join("ledger.jsonl");
    std::fs::write(&ledger, LEDGER).expect("written");
    let db = path.join("ledger.db");
    ok(&db, &["import", ledger.to_str().expect("UTF-8")]);
    Fixture {
        _dir: dir,
        dir: path,
        db,
        ledger,
    }
}

fn balance(db: &Path, as_of: &str, known_at: Option<&str>) -> Value {
    let mut args = vec![
        "balance", "--issuer", "08888", "--as-of", as_of, "--format", "json",
    ];
    if let Some(k) = known_at {
        args.extend(["--known-at", k]);
    }
    let doc = json_of(db, &args);
    assert_eq!(doc["issuer"], "08888");
    assert_eq!(doc["as_of"], as_of);
    doc["classes"][0].clone()
}

fn class_balance(issued: u64, pending: u64) -> Value {
    json!({"class": "ORD", "issued_excluding_treasury": issued, "treasury": 0,
           "total": issued, "pending_cancellation": pending, "authorised": 2_000_000_000u64})
}

#[test]
fn import_log_balance_and_audit_end_to_end() {
    let f = imported();

    // log: the import format plus position, id, recorded_at, hash.
    let log = ok(&f.db, &["log", "--format", "json"]);
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 12);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["position"], i as u64 + 1);
        assert_eq!(
            l["id"],
            format!("00000000-0000-4000-8000-{:012x}", i + 1),
            "line {i}"
        );
        let hash = l["hash"].as_str().expect("a hash");
        assert!(
            hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{hash}"
        );
        assert!(l["recorded_at"].as_str().is_some_and(|t| t.len() >= 20));
        assert!(l["type"].is_string());
    }
    assert_eq!(lines[5]["type"], "shares_repurchased");
    assert_eq!(lines[5]["shares"], 100_000);
    assert_eq!(lines[5]["total_paid"], "1010000");
    assert_eq!(lines[0]["recorded_at"], "2023-01-31T18:00:00+08:00");
    assert_eq!(lines[11]["note"], "recorded late");
    // The hashes form a chain: all distinct.
    let mut hashes: Vec<&str> = lines.iter().filter_map(|l| l["hash"].as_str()).collect();
    hashes.dedup();
    assert_eq!(hashes.len(), 12);
    // The JSON lines of `log` import again as they are (a backup).
    let copy = f.dir.join("restored.db");
    let backup = f.dir.join("backup.jsonl");
    std::fs::write(&backup, &log).expect("written");
    let restored = run(&copy, &["import", backup.to_str().expect("UTF-8")]);
    // (position and hash are not event fields: a restore drops them first.)
    if !restored.status.success() {
        let stripped: String = lines
            .iter()
            .map(|l| {
                let mut l = l.clone();
                let m = l.as_object_mut().expect("object");
                for k in ["position", "hash"] {
                    m.remove(k);
                }
                format!("{l}\n")
            })
            .collect();
        std::fs::write(&backup, stripped).expect("written");
        let _ = std::fs::remove_file(&copy);
        ok(&copy, &["import", backup.to_str().expect("UTF-8")]);
    }
    assert_eq!(
        ok(&copy, &["log", "--format", "json"])
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON")["hash"].clone())
            .collect::<Vec<_>>(),
        lines.iter().map(|l| l["hash"].clone()).collect::<Vec<_>>(),
        "a ledger restored from `log --format json` has the same chain"
    );

    // balance as of several dates.
    assert_eq!(
        balance(&f.db, "2023-01-31", None),
        class_balance(1_000_000_000, 0)
    );
    assert_eq!(
        balance(&f.db, "2023-02-01", None),
        class_balance(1_000_000_000, 100_000)
    );
    assert_eq!(
        balance(&f.db, "2023-02-02", None),
        class_balance(1_000_000_000, 150_000)
    );
    assert_eq!(
        balance(&f.db, "2023-02-03", None),
        class_balance(1_000_050_000, 150_000)
    );
    assert_eq!(
        balance(&f.db, "2023-02-10", None),
        class_balance(999_930_000, 30_000)
    );
    // Before the ledger's history: refused, saying why.
    let out = run(
        &f.db,
        &["balance", "--issuer", "08888", "--as-of", "2023-01-30"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("2023-01-31"), "{}", stderr(&out));

    // As known before and after the late-recorded exercise (20 February).
    assert_eq!(
        balance(&f.db, "2023-02-10", Some("2023-02-15T12:00:00+08:00")),
        class_balance(999_880_000, 30_000)
    );
    assert_eq!(
        balance(&f.db, "2023-02-10", Some("2023-02-15")),
        class_balance(999_880_000, 30_000)
    );
    assert_eq!(
        balance(&f.db, "2023-02-10", Some("2023-02-20T10:00:00+08:00")),
        class_balance(999_930_000, 30_000)
    );
    assert_eq!(
        balance(&f.db, "2023-02-10", Some("2023-02-21T09:00:00+08:00")),
        class_balance(999_930_000, 30_000)
    );
    // Known at 1 February evening: only the first repurchase.
    assert_eq!(
        balance(&f.db, "2023-02-10", Some("2023-02-01T18:30:00+08:00")),
        class_balance(1_000_000_000, 100_000)
    );

    // audit: the chain intact, no errors.
    let out = run(&f.db, &["audit", "--now", AUDIT_NOW, "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report["chain"], "intact");
    assert_eq!(report["events"], 12);
    assert!(report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .all(|f| f["severity"] != "error"));

    // The NDDR of 10 February, as the log stands, opens from the NDDR of 2 February.
    let nddr = json_of(
        &f.db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2023-02-10",
            "--format",
            "json",
        ],
    );
    assert_eq!(nddr["form"], "FF304");
    let s = &nddr["section_i"][0];
    assert_eq!(s["opening_balance"]["date"], "2023-02-02");
    assert_eq!(
        s["opening_balance"]["issued_excluding_treasury"],
        1_000_000_000
    );
    assert_eq!(
        s["closing_balance"]["issued_excluding_treasury"],
        999_930_000
    );
    let changes: i64 = s["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|l| l["issued_change"].as_i64().expect("a number"))
        .sum();
    assert_eq!(1_000_000_000 + changes, 999_930_000);

    // The same NDDR as the ledger knew it when filed (before the late
    // exercise was recorded): without the exercise line.
    let filed = json_of(
        &f.db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2023-02-10",
            "--known-at",
            "2023-02-10T19:00:00+08:00",
            "--format",
            "json",
        ],
    );
    let s = &filed["section_i"][0];
    let labels: Vec<&str> = s["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|l| l["label"].as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "Repurchase of shares (or other securities) but not cancelled",
            "Cancellation of repurchased shares"
        ]
    );
    assert_eq!(
        s["closing_balance"]["issued_excluding_treasury"],
        999_880_000
    );
    assert!(nddr["section_i"][0]["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(|l| l["label"] == "Exercise of share options"));
}

#[test]
fn a_refused_import_names_the_line_and_field_and_writes_nothing() {
    let f = imported();
    let before = ok(&f.db, &["log", "--format", "json"]);
    let db_bytes = std::fs::read(&f.db).expect("readable");
    let refused = f.dir.join("refused.jsonl");
    std::fs::write(&refused, REFUSED).expect("written");

    let out = run(&f.db, &["import", refused.to_str().expect("UTF-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("line 7"), "{err}");
    assert!(err.contains("`shares`"), "{err}");
    assert!(
        err.contains("40000"),
        "the message says what is pending: {err}"
    );
    assert_eq!(ok(&f.db, &["log", "--format", "json"]), before);
    assert_eq!(
        std::fs::read(&f.db).expect("readable"),
        db_bytes,
        "a refused import changed the ledger file"
    );

    // A line that is not an event: refused with its line number and field.
    std::fs::write(
        &refused,
        "{\"type\": \"market_closed\", \"date\": \"2023-02-14\", \"reason\": \"Typhoon\"}\n\
         {\"type\": \"shares_repurchased\", \"issuer\": \"08888\", \"class\": \"ORD\", \
          \"trade_date\": \"2023-02-13\", \"shares\": \"10000\"}\n",
    )
    .expect("written");
    let out = run(&f.db, &["import", refused.to_str().expect("UTF-8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("line 2") && err.contains("shares"), "{err}");
    assert_eq!(ok(&f.db, &["log", "--format", "json"]), before);
}

#[test]
fn reimporting_with_ids_is_a_no_op_and_an_id_reused_for_other_content_is_refused() {
    let f = imported();
    let before = ok(&f.db, &["log", "--format", "json"]);
    ok(&f.db, &["import", f.ledger.to_str().expect("UTF-8")]);
    assert_eq!(ok(&f.db, &["log", "--format", "json"]), before);

    let other = f.dir.join("other.jsonl");
    std::fs::write(
        &other,
        "{\"type\": \"shares_repurchased\", \"issuer\": \"08888\", \"class\": \"ORD\", \
          \"trade_date\": \"2023-02-01\", \"shares\": 100001, \"currency\": \"HKD\", \
          \"highest_price\": \"10.2\", \"lowest_price\": \"10\", \"total_paid\": \"1010000\", \
          \"id\": \"00000000-0000-4000-8000-000000000006\"}\n",
    )
    .expect("written");
    let out = run(&f.db, &["import", other.to_str().expect("UTF-8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("line 1") && err.contains("`id`"), "{err}");
    assert!(err.contains("position 6"), "{err}");
    assert_eq!(ok(&f.db, &["log", "--format", "json"]), before);
}

/// A copy of the ledger (with its write-ahead log) that a test may alter.
fn copy_ledger(f: &Fixture, name: &str) -> PathBuf {
    let copy = f.dir.join(name);
    std::fs::copy(&f.db, &copy).expect("copied");
    let mut wal = f.db.clone().into_os_string();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        let mut to = copy.clone().into_os_string();
        to.push("-wal");
        std::fs::copy(&wal, &to).expect("copied");
    }
    copy
}

/// Alter the copy behind shareledger's back: drop the append-only triggers
/// (crates/store/src/schema.rs), then run `sql`.
fn tamper(db: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(db).expect("opens");
    conn.execute_batch(
        "DROP TRIGGER events_no_update;
         DROP TRIGGER events_no_delete;",
    )
    .expect("triggers dropped");
    let changed = conn.execute(sql, []).expect("tampered");
    assert_eq!(changed, 1, "{sql}");
}

fn audit_fails_at(db: &Path, position: u64) {
    let out = run(db, &["audit", "--now", AUDIT_NOW, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["chain"],
        json!({"broken_at": position}),
        "{report:#}"
    );
    assert!(
        stderr(&out).contains(&format!("position {position}")),
        "{}",
        stderr(&out)
    );
    // The text report names it too.
    let out = run(db, &["audit", "--now", AUDIT_NOW]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!("position {position}")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn tampering_with_a_stored_event_is_found_by_audit_at_its_position() {
    let f = imported();
    // Changed payload at position 6.
    let changed = copy_ledger(&f, "changed.db");
    tamper(
        &changed,
        "UPDATE events SET payload = replace(payload, '\"shares\":100000', '\"shares\":100001') \
         WHERE position = 6",
    );
    audit_fails_at(&changed, 6);

    // A deleted event at position 8.
    let deleted = copy_ledger(&f, "deleted.db");
    tamper(&deleted, "DELETE FROM events WHERE position = 8");
    audit_fails_at(&deleted, 8);

    // The original is untouched.
    let out = run(&f.db, &["audit", "--now", AUDIT_NOW, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn usage_errors_exit_2() {
    let f = imported();
    for args in [
        vec!["balance"],
        vec!["frobnicate"],
        vec!["balance", "--issuer", "08888", "--as-of", "2023-02-30"],
        vec!["balance", "--issuer", "08888", "--known-at", "yesterday"],
        vec![
            "return", "monthly", "--issuer", "08888", "--month", "2023-13",
        ],
        vec![
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2023-02-10",
            "--form",
            "FF999",
        ],
        vec!["log", "--format", "pdf"],
    ] {
        let out = run(&f.db, &args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "shareledger {args:?}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).is_empty(),
            "shareledger {args:?} says nothing"
        );
    }
    // A refusal by the ledger is 1, not 2.
    let out = run(
        &f.db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2023-02-04",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn log_as_known_at_a_time_is_the_prefix_recorded_by_then() {
    let f = imported();
    let lines = |known: Option<&str>| -> Vec<Value> {
        let mut args = vec!["log", "--format", "json"];
        if let Some(k) = known {
            args.extend(["--known-at", k]);
        }
        ok(&f.db, &args)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    };
    let all = lines(None);
    assert_eq!(all.len(), 12);
    // Before the late option exercise was recorded (20 February): 11 events.
    let before = lines(Some("2023-02-19"));
    assert_eq!(before.len(), 11);
    assert_eq!(before[..], all[..11]);
    // As known at the first evening: the set-up and the 1 February repurchase.
    let first = lines(Some("2023-02-01T18:30:00+08:00"));
    assert_eq!(first.len(), 6);
    assert_eq!(first[5]["trade_date"], "2023-02-01");
    let bad = run(&f.db, &["log", "--known-at", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

/// `return ... --output FILE` writes exactly what standard output would get;
/// a file that cannot be written is an error naming it, nothing is left
/// behind, and `--mark-filed` records nothing.
#[test]
fn return_output_writes_the_whole_return_or_nothing() {
    let (dir, db) = common::seed_ledger();
    let args = [
        "return", "monthly", "--issuer", "02121", "--month", "2022-11",
    ];
    let printed = ok(&db, &args);
    let file = dir.path().join("monthly.txt");
    let mut with_output = args.to_vec();
    with_output.extend(["--output", file.to_str().unwrap()]);
    assert_eq!(ok(&db, &with_output), "", "nothing on stdout with --output");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), printed);

    let log_before = ok(&db, &["log", "--format", "json"]);
    let nowhere = dir.path().join("no-such-dir").join("nddr.txt");
    let out = run(
        &db,
        &[
            "return",
            "nddr",
            "--issuer",
            "02121",
            "--date",
            "2022-11-07",
            "--output",
            nowhere.to_str().unwrap(),
            "--mark-filed",
            // The seed has later NDDRs filed: this one is filed late.
            "--out-of-order",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot write") && err.contains("no-such-dir"),
        "{err}"
    );
    assert!(!nowhere.exists());
    assert_eq!(ok(&db, &["log", "--format", "json"]), log_before);
}
