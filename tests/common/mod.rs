//! Helpers shared by the end-to-end tests in tests/*.rs: run the built
//! `shareledger` binary against a ledger file (`--db`), from the package root
//! and with `SHARELEDGER_DB` removed from its environment, and read what it
//! printed.
//!
//! A test file that uses them says `mod common;`. Files under tests/common/
//! are not test crates of their own. Not every test crate uses every helper,
//! hence `allow(dead_code)`.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_shareledger");

/// The package root: relative paths in arguments (examples/...) are read from here.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `shareledger --db DB`, ready for its arguments: run from the package root,
/// with `SHARELEDGER_DB` removed from its environment.
pub fn shareledger(db: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(ROOT)
        .arg("--db")
        .arg(db)
        .env_remove("SHARELEDGER_DB");
    c
}

/// Bytes as text, anything that is not UTF-8 replaced.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A run's standard output, which must be UTF-8.
pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// A run's standard error, which must be UTF-8.
pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 output")
}

/// `shareledger --db DB ARGS`; what it printed and its exit status.
pub fn run(db: &Path, args: &[&str]) -> Output {
    shareledger(db)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// As [`run`], with `input` (if any) on standard input, which is closed after it.
pub fn run_with_input(db: &Path, args: &[&str], input: Option<&str>) -> Output {
    let mut child = shareledger(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        if let Some(s) = input {
            stdin.write_all(s.as_bytes()).expect("write stdin");
        }
    }
    child.wait_with_output().expect("the binary finishes")
}

/// A run that must have succeeded (`what` names it if not, with what it
/// printed); its standard output.
pub fn succeeded(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `shareledger --db DB ARGS`, which must succeed; its standard output.
pub fn ok(db: &Path, args: &[&str]) -> String {
    succeeded(run(db, args), &format!("shareledger {args:?}"))
}

/// What a run printed, as text (anything not UTF-8 replaced), and its exit
/// code (-1 when it was ended by a signal).
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Out {
    fn from(out: Output) -> Self {
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
        }
    }
}

/// [`run`], as text.
pub fn capture(db: &Path, args: &[&str]) -> Out {
    run(db, args).into()
}

/// [`run`], as text; it must exit 0.
pub fn capture_ok(db: &Path, args: &[&str]) -> Out {
    let out = capture(db, args);
    assert_eq!(out.code, 0, "{args:?}:\n{}\n{}", out.stdout, out.stderr);
    out
}

/// A ledger file, `ledger.db`, in a new temporary directory of its own
/// (removed when the `Ledger` is dropped). The file is made by the first
/// command that writes.
pub struct Ledger {
    dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Ledger {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("ledger.db");
        Ledger { dir, db }
    }

    /// The temporary directory, for other files of the test.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        run(&self.db, args)
    }

    pub fn run_with_input(&self, args: &[&str], input: Option<&str>) -> Output {
        run_with_input(&self.db, args, input)
    }

    /// Run a command that must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        ok(&self.db, args)
    }
}

/// The example ledger of the seed filings (Qingdao AInnovation, 02121, 2022).
pub fn example() -> PathBuf {
    Path::new(ROOT).join("examples/ainnovation-2022.jsonl")
}

/// A new ledger, `seed.db` in a temporary directory, with the example imported.
pub fn seed_ledger() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("seed.db");
    ok(&db, &["import", example().to_str().expect("UTF-8 path")]);
    (dir, db)
}

/// Record into `db` the issuer of the broker CSV examples (examples/trades-*.csv):
/// 08888, Example Harbour Holdings Limited; class ORD, 1,200,000,000 issued
/// on 30 May 2025; a repurchase mandate of 22 May 2025.
pub fn record_harbour_holdings(db: &Path) {
    let i = "08888";
    ok(
        db,
        &[
            "record",
            "issuer-registered",
            "--issuer",
            i,
            "--name",
            "Example Harbour Holdings Limited",
        ],
    );
    ok(
        db,
        &[
            "record",
            "share-class-defined",
            "--issuer",
            i,
            "--class",
            "ORD",
            "--class-of-shares",
            "Ordinary shares",
        ],
    );
    ok(
        db,
        &[
            "record",
            "opening-balance",
            "--issuer",
            i,
            "--class",
            "ORD",
            "--date",
            "2025-05-30",
            "--issued-shares",
            "1200000000",
        ],
    );
    ok(
        db,
        &[
            "record",
            "repurchase-mandate-granted",
            "--issuer",
            i,
            "--class",
            "ORD",
            "--resolution-date",
            "2025-05-22",
            "--issued-shares-at-resolution",
            "1200000000",
        ],
    );
}
