//! `shareledger copy --to TARGET` through the binary: the seed ledger from
//! SQLite to PostgreSQL and back to a new file, with the same positions,
//! ids, recorded times, actors and hashes at every step, and the returns
//! the same on each; and the refusals that write nothing.

mod common;

use std::path::Path;

use common::{capture, capture_ok, seed_ledger};

fn log(db: &Path) -> String {
    capture_ok(db, &["log", "--format", "json"]).stdout
}

#[test]
fn the_seed_ledger_goes_to_postgresql_and_back_unchanged() {
    let Some(url) = shareledger_store::pg_testing::database() else {
        return; // said why ("skipped: …"); fails instead when CI is set
    };
    let (dir, db) = seed_ledger();
    let out = capture_ok(&db, &["copy", "--to", &url]);
    assert!(out.stdout.starts_with("copied "), "{}", out.stdout);
    assert!(
        out.stdout.contains("both chains verified"),
        "{}",
        out.stdout
    );
    let pg = Path::new(&url);
    let original = log(&db);
    assert!(original.lines().count() > 30);
    assert_eq!(log(pg), original, "same rows on PostgreSQL");
    let back = dir.path().join("back.db");
    capture_ok(pg, &["copy", "--to", back.to_str().unwrap()]);
    assert_eq!(log(&back), original, "same rows back on SQLite");
    for db in [pg, back.as_path()] {
        let nddr = [
            "return",
            "nddr",
            "--issuer",
            "02121",
            "--date",
            "2022-11-07",
            "--format",
            "json",
        ];
        assert_eq!(
            capture_ok(db, &nddr).stdout,
            capture_ok(&seed_ledger().1, &nddr).stdout
        );
        let audit = capture(
            db,
            &[
                "audit",
                "--now",
                "2022-12-31T09:00:00+08:00",
                "--format",
                "json",
            ],
        );
        assert_eq!(audit.code, 0, "{}", audit.stdout);
    }
    // A target that is not empty is refused, and left as it was.
    let out = capture(&db, &["copy", "--to", &url]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(log(pg), original);
    let out = capture(&db, &["copy", "--to", back.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert_eq!(log(&back), original);
}

#[test]
fn a_copy_into_a_directory_that_does_not_exist_writes_nothing() {
    let (dir, db) = seed_ledger();
    let nowhere = dir.path().join("no-such-dir").join("copy.db");
    let out = capture(&db, &["copy", "--to", nowhere.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("no-such-dir"), "{}", out.stderr);
    assert!(!nowhere.exists());
    // A file target works, and leaves no scratch behind.
    let copy = dir.path().join("copy.db");
    capture_ok(&db, &["copy", "--to", copy.to_str().unwrap()]);
    assert_eq!(log(&copy), log(&db));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".shareledger-copy-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
