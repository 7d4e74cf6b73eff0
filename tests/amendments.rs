//! Correcting a mistake after its return was filed (domain.md 3.1a),
//! through the binary: void the wrong event, record the right one; the
//! audit and `status` say the filed NDDR must be filed again; `return nddr`
//! for that date gives the corrected return as an amendment naming the
//! filing it amends; `--mark-filed` records it with `amends`; the audit is
//! then satisfied and nothing more is due for that date.

mod common;

use std::path::Path;

use common::{capture, capture_ok, record_harbour_holdings};
use serde_json::Value;

const NOW: &str = "2025-06-17T12:00:00+08:00";

fn json(db: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&capture_ok(db, args).stdout).unwrap()
}

fn buy(db: &Path, date: &str, shares: &str, total: &str) {
    capture_ok(
        db,
        &[
            "record",
            "shares-repurchased",
            "--issuer",
            "08888",
            "--class",
            "ORD",
            "--trade-date",
            date,
            "--shares",
            shares,
            "--currency",
            "HKD",
            "--highest-price",
            "3.10",
            "--lowest-price",
            "3.00",
            "--total-paid",
            total,
        ],
    );
}

fn file_nddr(db: &Path, date: &str, at: &str) -> String {
    capture_ok(
        db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            date,
            "--mark-filed",
            "--submitted-at",
            at,
        ],
    )
    .stderr
}

fn last_event(db: &Path) -> Value {
    let log = capture_ok(db, &["log", "--issuer", "08888", "--format", "json"]).stdout;
    serde_json::from_str(log.lines().last().unwrap()).unwrap()
}

/// Two days of buy-backs, each NDDR filed; then the second day's entry is
/// found wrong (20,000 shares, not 200,000).
fn filed_then_corrected(db: &Path) -> String {
    record_harbour_holdings(db);
    buy(db, "2025-06-13", "100000", "305000");
    file_nddr(db, "2025-06-13", "2025-06-13T19:00:00+08:00");
    buy(db, "2025-06-16", "200000", "610000");
    let wrong = last_event(db)["id"].as_str().unwrap().to_string();
    file_nddr(db, "2025-06-16", "2025-06-16T19:00:00+08:00");
    let filing = last_event(db)["id"].as_str().unwrap().to_string();
    capture_ok(
        db,
        &[
            "record",
            "event-voided",
            "--issuer",
            "08888",
            "--voided-id",
            &wrong,
            "--reason",
            "200,000 typed for 20,000",
        ],
    );
    filing
}

#[test]
fn a_corrected_nddr_is_due_again_filed_as_an_amendment_and_then_satisfied() {
    let dir = tempfile::tempdir().unwrap();
    amend(&dir.path().join("ledger.db"));
}

/// The same correction on a PostgreSQL ledger.
#[test]
fn the_same_correction_on_postgresql() {
    let Some(url) = shareledger_store::pg_testing::database() else {
        return; // said why ("skipped: …"); fails instead when CI is set
    };
    amend(Path::new(&url));
}

fn amend(db: &Path) {
    let db = db.to_path_buf();
    let filing = filed_then_corrected(&db);
    buy(&db, "2025-06-16", "20000", "61000");

    // The audit says so, and so does status, first in its list.
    let audit = capture(&db, &["audit", "--now", NOW, "--format", "json"]);
    assert_eq!(audit.code, 1, "{}", audit.stdout);
    assert!(
        audit.stdout.contains("file an amended return"),
        "{}",
        audit.stdout
    );
    let status = json(
        &db,
        &[
            "status", "--issuer", "08888", "--now", NOW, "--format", "json",
        ],
    );
    let due = &status["returns_due"][0];
    assert_eq!(due["form"], "nddr");
    assert_eq!(due["date"], "2025-06-16");
    assert_eq!(due["amends"], filing.as_str());
    assert!(
        due["events"][0]
            .as_str()
            .unwrap()
            .contains("must be filed again (amendment)"),
        "{due}"
    );
    let text = capture_ok(&db, &["status", "--issuer", "08888", "--now", NOW]).stdout;
    assert!(text.contains("must be filed again (amendment)"), "{text}");

    // The return for that date is the corrected one, as an amendment.
    let doc = json(
        &db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2025-06-16",
            "--format",
            "json",
        ],
    );
    assert_eq!(doc["status"], "Amendment");
    assert_eq!(doc["amends"]["id"], filing.as_str());
    assert_eq!(doc["amends"]["submitted_at"], "2025-06-16T19:00:00+08:00");
    assert_eq!(
        doc["section_ii"][0]["repurchases"][0]["shares"], 20000,
        "{doc}"
    );
    let text = capture_ok(
        &db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2025-06-16",
            "--status",
            "Amended Submission",
        ],
    )
    .stdout;
    assert!(text.contains("Status: Amended Submission"), "{text}");
    assert!(text.contains(&format!("(filing {filing})")), "{text}");

    // Filing it records `amends`, in order although later returns exist.
    let said = file_nddr(&db, "2025-06-16", "2025-06-17T10:00:00+08:00");
    assert!(said.contains("recorded return_filed"), "{said}");
    let amendment = last_event(&db);
    assert_eq!(amendment["type"], "return_filed");
    assert_eq!(amendment["amends"], filing.as_str());
    assert_eq!(amendment["status"], "Amendment");

    // Satisfied: the audit passes, nothing is due for that date, and the
    // return asked again is the amendment as filed.
    let audit = capture(&db, &["audit", "--now", NOW, "--format", "json"]);
    assert_eq!(audit.code, 0, "{}", audit.stdout);
    let status = json(
        &db,
        &[
            "status", "--issuer", "08888", "--now", NOW, "--format", "json",
        ],
    );
    assert!(
        status["returns_due"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("amends").is_none()),
        "{status}"
    );
    let doc = json(
        &db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2025-06-16",
            "--format",
            "json",
        ],
    );
    assert_eq!(doc["status"], "Amendment");
    assert_eq!(doc["amends"]["id"], filing.as_str());
}

#[test]
fn an_nddr_whose_only_event_was_voided_is_amended_with_nothing_to_disclose() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let filing = filed_then_corrected(&db);
    // Nothing is re-recorded: the 16 June NDDR disclosed a buy-back that
    // never happened.
    let doc = json(
        &db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2025-06-16",
            "--format",
            "json",
        ],
    );
    assert_eq!(doc["status"], "Amendment");
    assert_eq!(doc["amends"]["id"], filing.as_str());
    assert_eq!(doc["section_i"].as_array().unwrap().len(), 0, "{doc}");
    assert_eq!(doc["section_ii"].as_array().unwrap().len(), 0, "{doc}");
    file_nddr(&db, "2025-06-16", "2025-06-17T10:00:00+08:00");
    let audit = capture(&db, &["audit", "--now", NOW, "--format", "json"]);
    assert_eq!(audit.code, 0, "{}", audit.stdout);
    // An `amends` that names no filing of that return is refused.
    let out = capture(
        &db,
        &[
            "record",
            "return-filed",
            "--issuer",
            "08888",
            "--form",
            "nddr",
            "--date",
            "2025-06-13",
            "--submitted-at",
            "2025-06-17T11:00:00+08:00",
            "--amends",
            &filing,
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("amends"), "{}", out.stderr);
}
