//! Filing a return through the binary: the Date Submitted printed and
//! stored is the day it was submitted, and a return dated before one
//! already filed is refused unless the filer says it was submitted late.

mod common;

use common::{capture, capture_ok, seed_ledger};

fn events(db: &std::path::Path) -> usize {
    capture_ok(db, &["log", "--format", "json"])
        .stdout
        .lines()
        .count()
}

#[test]
fn date_submitted_is_the_hong_kong_date_of_the_submission() {
    let (_dir, db) = seed_ledger();
    // 01:30 UTC on 2 December is 09:30 on 2 December in Hong Kong; the
    // default without --mark-filed would be the first business day after
    // the month (1 December).
    let out = capture_ok(
        &db,
        &[
            "return",
            "monthly",
            "--issuer",
            "02121",
            "--month",
            "2022-11",
            "--mark-filed",
            "--submitted-at",
            "2022-12-02T01:30:00Z",
        ],
    );
    assert!(
        out.stdout.contains("Date Submitted: 02 December 2022"),
        "{}",
        out.stdout
    );
    // The document as stored says so too: the filing regenerates with it.
    let json = capture_ok(
        &db,
        &[
            "return", "monthly", "--issuer", "02121", "--month", "2022-11", "--format", "json",
        ],
    );
    assert!(
        json.stdout.contains("\"date_submitted\": \"2022-12-01\""),
        "{}",
        json.stdout
    );
    // --submitted still wins when given.
    let (_dir2, db2) = seed_ledger();
    let out = capture_ok(
        &db2,
        &[
            "return",
            "monthly",
            "--issuer",
            "02121",
            "--month",
            "2022-11",
            "--mark-filed",
            "--submitted-at",
            "2022-12-02T10:00:00+08:00",
            "--submitted",
            "2022-12-05",
        ],
    );
    assert!(
        out.stdout.contains("Date Submitted: 05 December 2022"),
        "{}",
        out.stdout
    );
    // And the audit proves both filings (the digest leaves the date out).
    for db in [&db, &db2] {
        let audit = capture(
            db,
            &[
                "audit",
                "--now",
                "2022-12-05T09:00:00+08:00",
                "--format",
                "json",
            ],
        );
        assert!(
            !audit.stdout.contains("does not regenerate"),
            "{}",
            audit.stdout
        );
    }
}

#[test]
fn a_return_dated_before_one_already_filed_is_refused_unless_late() {
    let (_dir, db) = seed_ledger();
    // The seed has the NDDRs of 4 to 18 November 2022 filed; filing the
    // one of 7 November again would be filed after those of 8 November on.
    let before = events(&db);
    let args = [
        "return",
        "nddr",
        "--issuer",
        "02121",
        "--date",
        "2022-11-07",
        "--mark-filed",
        "--submitted-at",
        "2022-11-21T10:00:00+08:00",
    ];
    let out = capture(&db, &args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("2022-11-08 (log position"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--out-of-order"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "nothing printed: {}", out.stdout);
    assert_eq!(events(&db), before, "nothing recorded");

    let mut late = args.to_vec();
    late.push("--out-of-order");
    let out = capture_ok(&db, &late);
    assert!(
        out.stderr.contains("recorded return_filed"),
        "{}",
        out.stderr
    );
    assert_eq!(events(&db), before + 1);
}
