//! A dry run writes nothing (it is the streaming append in a write
//! transaction rolled back): the ledger file is byte for byte as before,
//! and the outcome is the append's. On a ledger that cannot be written (an
//! auditor's copy in a read-only directory) it decides in memory, with the
//! same outcome. And `status` of every issuer, now written one issuer at a
//! time, prints what each issuer's own `status` prints.

mod common;

use std::path::Path;

use common::{capture, seed_ledger, Out};

/// A new issuer with an opening balance in the past (several overdue
/// returns: one summed-up line), and a market closure.
const INPUT: &str = r#"{"type":"issuer_registered","issuer":"09999","name":"Dry Run Ltd"}
{"type":"share_class_defined","issuer":"09999","class":"H","class_of_shares":"Ordinary shares"}
{"type":"opening_balance","issuer":"09999","class":"H","date":"2024-01-02","issued_shares":1000000}
{"type":"market_closed","date":"2025-01-06","reason":"typhoon"}
"#;

/// A `record` dry run (a market closure: it needs no issuer).
const RECORD_DRY_RUN: &[&str] = &[
    "record",
    "market-closed",
    "--date",
    "2025-01-07",
    "--reason",
    "typhoon",
    "--dry-run",
];

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
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

/// Standard error with the ledger's path taken out and the verb made the
/// append's, to compare a dry run with the append.
fn said(out: &Out, db: &Path) -> String {
    out.stderr
        .replace(&db.display().to_string(), "LEDGER")
        .replace("would import", "imported")
}

#[test]
fn a_dry_run_leaves_the_file_byte_for_byte_and_says_what_the_import_does() {
    let (dir, db) = seed_ledger();
    let file = dir.path().join("more.jsonl");
    std::fs::write(&file, INPUT).unwrap();
    let before = listing(dir.path());
    let dry = capture(&db, &["import", "--dry-run", file.to_str().unwrap()]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stderr.contains("would import 4 events"),
        "{}",
        dry.stderr
    );
    assert!(
        dry.stderr.contains("[13.25A/13.25B] 09999:"),
        "the overdue returns summed up: {}",
        dry.stderr
    );
    assert_eq!(listing(dir.path()), before, "a dry run wrote something");
    let record = capture(&db, RECORD_DRY_RUN);
    assert_eq!(record.code, 0, "{}", record.stderr);
    assert!(record.stdout.starts_with("dry run: "), "{}", record.stdout);
    assert_eq!(listing(dir.path()), before, "a dry run wrote something");
    // The import itself does what the dry run said.
    let real = capture(&db, &["import", file.to_str().unwrap()]);
    assert_eq!(real.code, 0, "{}", real.stderr);
    assert_eq!(said(&dry, &db), said(&real, &db));
}

/// The binary as a user who cannot write (as root, which writes anywhere,
/// through `setpriv` as `nobody`).
fn as_reader(db: &Path, args: &[&str]) -> Out {
    let root = std::process::Command::new("id").arg("-u").output().unwrap();
    let mut c = if String::from_utf8_lossy(&root.stdout).trim() == "0" {
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            common::BIN,
        ]);
        c
    } else {
        std::process::Command::new(common::BIN)
    };
    c.current_dir("/")
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("SHARELEDGER_DB");
    c.output().unwrap().into()
}

#[test]
fn a_dry_run_on_a_read_only_ledger_decides_as_the_import() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, seed) = seed_ledger();
    let parent = tempfile::Builder::new()
        .prefix("shareledger-dry-ro-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = parent.path().join("more.jsonl");
    std::fs::write(&file, INPUT).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ro = parent.path().join("auditor");
    std::fs::create_dir(&ro).unwrap();
    let db = ro.join("copy.db");
    std::fs::copy(&seed, &db).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = listing(&ro);
    let dry = as_reader(&db, &["import", "--dry-run", file.to_str().unwrap()]);
    let record = as_reader(&db, RECORD_DRY_RUN);
    let after = listing(&ro);
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(record.code, 0, "{}", record.stderr);
    assert!(record.stdout.starts_with("dry run: "), "{}", record.stdout);
    assert_eq!(after, before, "a dry run changed the directory");
    // The same outcome as a dry run on a ledger that can be written.
    let writable = capture(&seed, &["import", "--dry-run", file.to_str().unwrap()]);
    assert_eq!(writable.code, 0, "{}", writable.stderr);
    let note = dry
        .stderr
        .lines()
        .filter(|l| !l.starts_with("note: "))
        .collect::<Vec<_>>()
        .join("\n");
    let note = Out {
        code: 0,
        stdout: String::new(),
        stderr: note + "\n",
    };
    assert_eq!(said(&note, &db), said(&writable, &seed));
}

#[test]
fn status_of_every_issuer_prints_each_issuers_status() {
    let (_dir, db) = seed_ledger();
    common::record_harbour_holdings(&db);
    let now = "2023-07-01T12:00:00+08:00";
    let all = capture(&db, &["status", "--now", now, "--format", "json"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    let parsed: serde_json::Value = serde_json::from_str(&all.stdout).unwrap();
    let ids: Vec<String> = parsed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["issuer"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let each: Vec<String> = ids
        .iter()
        .map(|id| {
            let one = capture(
                &db,
                &["status", "--issuer", id, "--now", now, "--format", "json"],
            );
            assert_eq!(one.code, 0, "{}", one.stderr);
            one.stdout
                .trim_end()
                .lines()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert_eq!(all.stdout, format!("[\n{}\n]\n", each.join(",\n")));
    // The text view: one block per issuer, in the same order.
    let text = capture(&db, &["status", "--now", now]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let first = text.stdout.find(&format!("\n{}", ids[0])).unwrap();
    let second = text.stdout.find(&format!("\n{}", ids[1])).unwrap();
    assert!(first < second, "{}", text.stdout);
}
