//! `shareledger import-trades` through the binary, with the sample files of
//! docs/broker-csv.md: both layouts, exact totals, per-day aggregation, bad
//! rows refused with row and column and nothing written, re-imports.

mod common;

use std::path::{Path, PathBuf};

use common::{capture, capture_ok, record_harbour_holdings};

/// A ledger with issuer 08888, class ORD and a mandate.
fn ledger() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    record_harbour_holdings(&db);
    (dir, db)
}

fn repurchases(db: &Path) -> Vec<serde_json::Value> {
    let out = capture_ok(db, &["log", "--issuer", "08888", "--format", "json"]);
    out.stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "shares_repurchased")
        .collect()
}

#[test]
fn executions_become_one_event_per_day_with_the_exact_total() {
    let (_dir, db) = ledger();
    let out = capture_ok(
        &db,
        &[
            "import-trades",
            "examples/trades-executions.csv",
            "--issuer",
            "08888",
            "--class",
            "ORD",
        ],
    );
    assert!(out.stdout.contains("HKD 2,341,000.00"), "{}", out.stdout);
    assert!(
        out.stderr.contains("recorded 1 shares_repurchased event"),
        "{}",
        out.stderr
    );
    let r = repurchases(&db);
    assert_eq!(r.len(), 1);
    let e = &r[0];
    assert_eq!(e["trade_date"], "2025-06-13");
    assert_eq!(e["shares"], 750000);
    assert_eq!(e["highest_price"], "3.15");
    assert_eq!(e["lowest_price"], "3.10");
    // 200000×3.12 + 150000×3.15 + 250000×3.10 + 100000×3.14 + 50000×3.11, exactly.
    assert_eq!(e["total_paid"], "2341000.00");
    assert_eq!(e["currency"], "HKD");
    assert_eq!(e["method"], "on_exchange");
    assert_eq!(e["purpose"], "cancellation");

    // Importing the same file again records nothing twice.
    let out = capture_ok(
        &db,
        &[
            "import-trades",
            "examples/trades-executions.csv",
            "--issuer",
            "08888",
            "--class",
            "ORD",
        ],
    );
    assert!(out.stderr.contains("nothing new"), "{}", out.stderr);
    assert_eq!(repurchases(&db).len(), 1);
}

#[test]
fn daily_summaries_become_one_event_per_row() {
    let (_dir, db) = ledger();
    // A dry run shows the events and writes nothing.
    let out = capture_ok(
        &db,
        &[
            "import-trades",
            "examples/trades-daily.csv",
            "--issuer",
            "08888",
            "--class",
            "ORD",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    assert!(out.stderr.contains("nothing written"), "{}", out.stderr);
    assert!(repurchases(&db).is_empty());

    let out = capture_ok(
        &db,
        &[
            "import-trades",
            "examples/trades-daily.csv",
            "--issuer",
            "08888",
            "--class",
            "ORD",
            "--format",
            "json",
        ],
    );
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["position"].is_u64()), "stored");
    let r = repurchases(&db);
    let days: Vec<(&str, u64, &str, &str, &str)> = r
        .iter()
        .map(|e| {
            (
                e["trade_date"].as_str().unwrap(),
                e["shares"].as_u64().unwrap(),
                e["highest_price"].as_str().unwrap(),
                e["lowest_price"].as_str().unwrap(),
                e["total_paid"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        vec![
            ("2025-06-16", 500000, "3.09", "3.05", "1535500.00"),
            ("2025-06-17", 420000, "3.08", "3.02", "1285200.00"),
            ("2025-06-18", 380000, "3.06", "3.01", "1152140.00"),
        ]
    );
}

#[test]
fn rows_of_one_day_are_split_by_purpose_and_defaults_come_from_flags() {
    let (dir, db) = ledger();
    let csv = dir.path().join("fills.csv");
    std::fs::write(
        &csv,
        "Trade Date,Qty,Price,Purpose,Broker\n\
         2025-06-13,1000,3.10,,ABC\n\
         2025-06-13,\"2,000\",3.20,treasury,ABC\n\
         2025-06-13,3000,3.00,,ABC\n",
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    // An unknown column is refused, naming it, unless ignored.
    let out = capture(
        &db,
        &["import-trades", csv, "--issuer", "08888", "--class", "ORD"],
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("column E `Broker`"), "{}", out.stderr);
    capture_ok(
        &db,
        &[
            "import-trades",
            csv,
            "--issuer",
            "08888",
            "--class",
            "ORD",
            "--currency",
            "hkd",
            "--ignore-columns",
            "broker",
        ],
    );
    let r = repurchases(&db);
    assert_eq!(r.len(), 2);
    let cancel = r.iter().find(|e| e["purpose"] == "cancellation").unwrap();
    assert_eq!(cancel["shares"], 4000);
    assert_eq!(cancel["total_paid"], "12100.00");
    assert_eq!(cancel["highest_price"], "3.10");
    assert_eq!(cancel["lowest_price"], "3.00");
    let treasury = r.iter().find(|e| e["purpose"] == "treasury").unwrap();
    assert_eq!(treasury["shares"], 2000);
    assert_eq!(treasury["total_paid"], "6400.00");
}

#[test]
fn a_bad_row_is_refused_with_row_and_column_and_nothing_is_written() {
    let (dir, db) = ledger();
    let cases: &[(&str, &str)] = &[
        (
            "date,shares,price\n2025-06-13,100,3.10\n2025-06-16,100,3.1O\n",
            "row 3, column C `price`",
        ),
        (
            "date,shares,price\n2025-06-13,100,3.10\n13/06/2025,100,3.10\n",
            "row 3, column A `date`",
        ),
        (
            "date,shares,price\n2025-06-13,-5,3.10\n",
            "row 2, column B `shares`",
        ),
        (
            "date,shares,high,low,total\n2025-06-13,1000,3.10,3.00,5000\n",
            "row 2, column E `total`",
        ),
        (
            "date,shares,high,low,total\n2025-06-13,1000,3.00,3.10,3050\n",
            "row 2, column D `low`",
        ),
        (
            "date,shares,price\n2025-06-13,100,3.10,7\n",
            "row 2: cannot be read",
        ),
        // The ledger refuses the day (before the opening balance): its rows are named.
        (
            "date,shares,price\n2025-06-13,100,3.10\n2025-05-29,100,3.10\n",
            "the trades of 2025-05-29 (row 3)",
        ),
        ("date,amount\n2025-06-13,100\n", "neither layout"),
    ];
    for (i, (csv, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.csv"));
        std::fs::write(&path, csv).unwrap();
        let out = capture(
            &db,
            &[
                "import-trades",
                path.to_str().unwrap(),
                "--issuer",
                "08888",
                "--class",
                "ORD",
            ],
        );
        assert_eq!(out.code, 1, "case {i}: {}", out.stderr);
        assert!(
            out.stderr.contains(expected),
            "case {i}: expected {expected:?} in {}",
            out.stderr
        );
        assert!(repurchases(&db).is_empty(), "case {i}: nothing written");
    }
    // Flags are checked by clap: usage (2).
    let out = capture(
        &db,
        &[
            "import-trades",
            "examples/trades-daily.csv",
            "--issuer",
            "08888",
            "--class",
            "ORD",
            "--purpose",
            "keep",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// A Hong Kong Excel export writes 13/06/2025: refused by default, saying
/// how to read it; read with `--date-format DD/MM/YYYY`; a bad format name
/// is a usage error. Nothing is written by a refusal.
#[test]
fn day_first_dates_are_read_when_the_user_says_so() {
    let (dir, db) = ledger();
    let csv = dir.path().join("fills-dmy.csv");
    std::fs::write(
        &csv,
        "date,shares,price\n13/06/2025,200000,3.12\n13/06/2025,150000,3.15\n",
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    let args = ["import-trades", csv, "--issuer", "08888", "--class", "ORD"];
    let out = capture(&db, &args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("--date-format DD/MM/YYYY"),
        "{}",
        out.stderr
    );
    assert!(repurchases(&db).is_empty());

    let mut bad = args.to_vec();
    bad.extend(["--date-format", "DD.MM.YY"]);
    let out = capture(&db, &bad);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("DD/MM/YYYY"), "{}", out.stderr);

    let mut ok = args.to_vec();
    ok.extend(["--date-format", "DD/MM/YYYY"]);
    capture_ok(&db, &ok);
    let r = repurchases(&db);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["trade_date"], "2025-06-13");
    assert_eq!(r[0]["shares"], 350000);
    assert_eq!(r[0]["total_paid"], "1096500.00");
}
