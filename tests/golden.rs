//! Byte-for-byte: the documents, reports and filing digests the binary
//! prints for the seed ledger and the example broker files, against files
//! kept in `tests/golden/` that were written by the binary as it was before
//! the application layer moved out of the command line (issue #10). A
//! refactoring must not change one byte of a return, a report or a digest;
//! a deliberate change of a document rewrites the files
//! (`SHARELEDGER_GOLDEN_WRITE=1 cargo test --test golden`) and shows in the
//! diff for review.
//!
//! `SHARELEDGER_GOLDEN_BIN` runs another build of the binary (how the files
//! were first written: with the build before the move).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every case: a name, and the arguments after `--db DB`. They run in this
/// order against one ledger.
const CASES: &[(&str, &[&str])] = &[
    ("import", &["import", "examples/ainnovation-2022.jsonl"]),
    (
        "nddr.txt",
        &[
            "return",
            "nddr",
            "--issuer",
            "02121",
            "--date",
            "2022-11-07",
        ],
    ),
    (
        "nddr.json",
        &[
            "return",
            "nddr",
            "--issuer",
            "02121",
            "--date",
            "2022-11-07",
            "--format",
            "json",
        ],
    ),
    (
        "nddr.html",
        &[
            "return",
            "nddr",
            "--issuer",
            "02121",
            "--date",
            "2022-11-07",
            "--format",
            "html",
        ],
    ),
    (
        "nddr.md",
        &[
            "return",
            "nddr",
            "--issuer",
            "02121",
            "--date",
            "2022-11-07",
            "--format",
            "md",
        ],
    ),
    (
        "nddr-ff305.json",
        &[
            "return",
            "nddr",
            "--issuer",
            "02121",
            "--date",
            "2022-11-07",
            "--form",
            "FF305",
            "--format",
            "json",
        ],
    ),
    (
        "monthly.txt",
        &[
            "return",
            "monthly",
            "--issuer",
            "02121",
            "--month",
            "2022-11",
            "--submitted",
            "2022-12-02",
        ],
    ),
    (
        "monthly.json",
        &[
            "return", "monthly", "--issuer", "02121", "--month", "2022-11", "--format", "json",
        ],
    ),
    (
        "monthly.html",
        &[
            "return", "monthly", "--issuer", "02121", "--month", "2022-11", "--format", "html",
        ],
    ),
    (
        "monthly.md",
        &[
            "return", "monthly", "--issuer", "02121", "--month", "2022-11", "--format", "md",
        ],
    ),
    (
        "balance.json",
        &[
            "balance",
            "--issuer",
            "02121",
            "--as-of",
            "2022-11-30",
            "--format",
            "json",
        ],
    ),
    (
        "balance.txt",
        &["balance", "--issuer", "02121", "--as-of", "2022-11-07"],
    ),
    (
        "status.json",
        &[
            "status",
            "--issuer",
            "02121",
            "--now",
            "2022-11-08T09:00:00+08:00",
            "--format",
            "json",
        ],
    ),
    (
        "audit.json",
        &[
            "audit",
            "--now",
            "2022-12-31T09:00:00+08:00",
            "--format",
            "json",
        ],
    ),
    (
        "file-nddr",
        &[
            "return",
            "nddr",
            "--issuer",
            "02121",
            "--date",
            "2022-11-07",
            "--format",
            "json",
            "--mark-filed",
            "--submitted-at",
            "2022-11-07T19:05:00+08:00",
            "--out-of-order",
        ],
    ),
    (
        "file-monthly",
        &[
            "return",
            "monthly",
            "--issuer",
            "02121",
            "--month",
            "2022-11",
            "--format",
            "json",
            "--mark-filed",
            "--submitted-at",
            "2022-12-02T10:00:00+08:00",
        ],
    ),
    (
        "trades-dry-run.txt",
        &[
            "import-trades",
            "examples/trades-executions.csv",
            "--issuer",
            "02121",
            "--class",
            "H",
            "--dry-run",
        ],
    ),
    (
        "trades-daily-dry-run.txt",
        &[
            "import-trades",
            "examples/trades-daily.csv",
            "--issuer",
            "02121",
            "--class",
            "H",
            "--dry-run",
        ],
    ),
    (
        "audit-after.json",
        &[
            "audit",
            "--now",
            "2022-12-31T09:00:00+08:00",
            "--format",
            "json",
        ],
    ),
];

fn golden_dir() -> PathBuf {
    Path::new(common::ROOT).join("tests/golden")
}

/// What a case's output is compared on: standard output, with the digest
/// and the exit status of the run; for `import` and the filings, what they
/// say on standard error too (positions, digests), which is deterministic.
fn observed(name: &str, out: &std::process::Output) -> String {
    let stdout = common::text(&out.stdout);
    let stderr = common::text(&out.stderr);
    let mut s = format!("exit: {}\n", out.status.code().unwrap_or(-1));
    if name.starts_with("file-") {
        let digest = stderr
            .split("(digest ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .unwrap_or("none");
        s.push_str(&format!("digest: {digest}\n"));
    }
    s.push_str(&stdout);
    s
}

#[test]
fn documents_reports_and_digests_are_byte_identical() {
    let dir = tempfile::tempdir().expect("tempdir");
    check_against_golden_files(&dir.path().join("golden.db"));
}

/// The same commands on a PostgreSQL ledger print the same bytes: every
/// document, report and digest is the same on either engine.
#[test]
fn the_same_on_postgresql() {
    let Some(url) = shareledger_store::pg_testing::database() else {
        return; // said why ("skipped: …"); fails instead when CI is set
    };
    check_against_golden_files(Path::new(&url));
}

fn check_against_golden_files(db: &Path) {
    let db = db.to_path_buf();
    let bin = std::env::var_os("SHARELEDGER_GOLDEN_BIN");
    // The files are written from SQLite only; PostgreSQL is held to them.
    let write = std::env::var_os("SHARELEDGER_GOLDEN_WRITE").is_some()
        && !db.to_string_lossy().starts_with("postgres");
    let mut mismatched = Vec::new();
    for (name, args) in CASES {
        let out = match &bin {
            Some(b) => Command::new(b)
                .current_dir(common::ROOT)
                .arg("--db")
                .arg(&db)
                .args(*args)
                .env_remove("SHARELEDGER_DB")
                .output()
                .expect("the other binary runs"),
            None => common::run(&db, args),
        };
        let got = observed(name, &out);
        let path = golden_dir().join(name);
        if write {
            std::fs::create_dir_all(golden_dir()).expect("mkdir");
            std::fs::write(&path, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}: write the golden files first", path.display()));
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            mismatched.push(format!(
                "{name}: first difference at line {}:\n  got:  {:?}\n  want: {:?}",
                line + 1,
                got.lines().nth(line),
                want.lines().nth(line)
            ));
        }
    }
    assert!(mismatched.is_empty(), "{}", mismatched.join("\n"));
}
