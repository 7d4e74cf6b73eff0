//! `shareledger record TYPE --field value ...` through the binary: every
//! event type once, in an order the ledger accepts, on a fresh ledger; dry
//! runs write nothing; errors name the flag and give an example; exit status
//! 1 for refused input, 2 for a malformed command line.

mod common;

use std::path::Path;
use std::process::Command;

use common::capture;

/// Record and expect success; the event as stored (JSON) is returned.
fn record(db: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["record", "--format", "json"];
    all.extend_from_slice(args);
    let out = capture(db, &all);
    assert_eq!(
        out.code, 0,
        "record {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    let line = out.stdout.lines().next().expect("the event is printed");
    serde_json::from_str(line).expect("the event is JSON")
}

fn event_count(db: &Path) -> usize {
    let out = capture(db, &["log", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.lines().count()
}

const I: &str = "09999";

#[test]
fn every_event_type_records_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let db = db.as_path();
    let mut types = std::collections::BTreeSet::new();
    let mut rec = |args: &[&str]| {
        let v = record(db, args);
        types.insert(v["type"].as_str().unwrap().to_string());
        assert!(v["position"].as_u64().is_some(), "stored: {v}");
        assert!(v["hash"].as_str().is_some(), "stored: {v}");
        v
    };

    rec(&[
        "market-closed",
        "--date",
        "2024-07-17",
        "--reason",
        "Typhoon signal No. 8",
    ]);
    let v = rec(&[
        "issuer-registered",
        "--issuer",
        I,
        "--name",
        "Example Lantern Holdings Limited",
        "--description",
        "(incorporated in the Cayman Islands with limited liability)",
        "--primary-listing",
        "true",
        "--signatory.name",
        "Chan Tai Man",
        "--signatory.title",
        "Company Secretary",
        "--presentation.percent-decimals",
        "5",
        "--presentation.percent-rounding",
        "half-up",
        "--presentation.percent-basis",
        "form_default",
        "--presentation.percent-on-carried-lines",
        "false",
        "--presentation.price-decimals",
        "4",
    ]);
    assert_eq!(v["signatory"]["title"], "Company Secretary");
    assert_eq!(v["presentation"]["percent_rounding"], "half_up");
    assert_eq!(v["presentation"]["percent_decimals"], 5);
    rec(&[
        "issuer-settings-changed",
        "--issuer",
        I,
        "--note",
        "new secretary",
        "--signatory.name",
        "Lee Siu Ming",
        "--signatory.title",
        "Company Secretary",
    ]);
    let v = rec(&[
        "share-class-defined",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--class-of-shares",
        "Ordinary shares",
        "--listed",
        "yes",
        "--stock-code",
        I,
        "--multi-counter",
        "89999:RMB",
        "--par-value.currency",
        "HKD",
        "--par-value.amount",
        "0.01",
        "--authorised-shares",
        "10,000,000,000",
    ]);
    assert_eq!(
        v["par_value"],
        serde_json::json!({"currency": "HKD", "amount": "0.01"})
    );
    assert_eq!(v["multi_counter"][0]["stock_code"], "89999");
    assert_eq!(v["authorised_shares"], 10_000_000_000u64);
    rec(&[
        "opening-balance",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--date",
        "2024-06-28",
        "--issued-shares",
        "1000000000",
        "--treasury-shares",
        "0",
    ]);
    rec(&[
        "repurchase-mandate-granted",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--resolution-date",
        "2024-06-20",
        "--issued-shares-at-resolution",
        "1000000000",
        "--explanatory-statement-date",
        "2024-05-20",
        "--expiry-date",
        "2025-06-19",
    ]);
    rec(&[
        "share-option-scheme-adopted",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--scheme",
        "2024 Share Option Scheme",
        "--adoption-date",
        "2024-06-20",
        "--general-meeting-date",
        "2024-06-20",
        "--outstanding-options",
        "0",
    ]);
    rec(&[
        "share-options-granted",
        "--issuer",
        I,
        "--scheme",
        "2024 Share Option Scheme",
        "--date",
        "2024-07-02",
        "--options",
        "1000000",
    ]);
    rec(&[
        "share-options-lapsed",
        "--issuer",
        I,
        "--scheme",
        "2024 Share Option Scheme",
        "--date",
        "2024-07-03",
        "--options",
        "10000",
    ]);
    rec(&[
        "share-options-cancelled",
        "--issuer",
        I,
        "--scheme",
        "2024 Share Option Scheme",
        "--date",
        "2024-07-04",
        "--options",
        "10000",
    ]);
    rec(&[
        "results-announcement-scheduled",
        "--issuer",
        I,
        "--period",
        "2024 interim",
        "--board-meeting-date",
        "2024-08-28",
        "--publication-deadline",
        "2024-08-31",
        "--announcement-date",
        "2024-08-28",
    ]);
    let price = rec(&[
        "closing-price",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--date",
        "2024-07-04",
        "--currency",
        "hkd",
        "--price",
        "1.20",
    ]);
    assert_eq!(price["currency"], "HKD");
    let v = rec(&[
        "shares-repurchased",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--trade-date",
        "2024-07-05",
        "--shares",
        "100,000",
        "--method",
        "on-exchange",
        "--purpose",
        "cancellation",
        "--currency",
        "HKD",
        "--highest-price",
        "1.25",
        "--lowest-price",
        "1.20",
        "--total-paid",
        "123000",
    ]);
    assert_eq!(v["total_paid"], "123000");
    assert_eq!(v["shares"], 100000);
    rec(&[
        "shares-repurchased",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--trade-date",
        "2024-07-08",
        "--shares",
        "200000",
        "--purpose",
        "treasury",
        "--currency",
        "HKD",
        "--highest-price",
        "1.26",
        "--lowest-price",
        "1.21",
        "--total-paid",
        "247000",
    ]);
    let v = rec(&[
        "repurchased-shares-cancelled",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--date",
        "2024-07-10",
        "--shares",
        "100000",
        "--trade-dates",
        "2024-07-05",
    ]);
    assert_eq!(v["trade_dates"], serde_json::json!(["2024-07-05"]));
    rec(&[
        "treasury-shares-sold",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--trade-date",
        "2024-08-12",
        "--shares",
        "50000",
        "--currency",
        "HKD",
        "--highest-price",
        "1.30",
        "--lowest-price",
        "1.28",
        "--total-received",
        "64500",
    ]);
    rec(&[
        "treasury-shares-transferred",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--date",
        "2024-08-13",
        "--shares",
        "10000",
        "--purpose",
        "share award scheme",
        "--scheme",
        "2024 Share Award Scheme",
    ]);
    rec(&[
        "treasury-shares-cancelled",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--date",
        "2024-08-14",
        "--shares",
        "10000",
    ]);
    rec(&[
        "shares-issued",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--date",
        "2024-08-15",
        "--shares",
        "100000",
        "--kind",
        "share_option_exercise",
        "--scheme",
        "2024 Share Option Scheme",
        "--by-director",
        "true",
        "--currency",
        "HKD",
        "--price",
        "1.10",
        "--previous-close",
        "1.28",
        "--general-meeting-date",
        "2024-06-20",
        "--description",
        "exercise by a director",
    ]);
    rec(&[
        "shares-redeemed",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--date",
        "2024-08-16",
        "--shares",
        "1000",
        "--currency",
        "HKD",
        "--price",
        "1.00",
        "--cancelled",
        "true",
    ]);
    rec(&[
        "authorised-shares-changed",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--date",
        "2024-08-20",
        "--authorised-shares",
        "20000000000",
    ]);
    rec(&[
        "return-filed",
        "--issuer",
        I,
        "--form",
        "nddr",
        "--date",
        "2024-07-05",
        "--submitted-at",
        "2024-07-05T19:00:00+08:00",
        "--layout",
        "FF305",
    ]);
    let id = price["id"].as_str().unwrap().to_string();
    let v = rec(&[
        "event-voided",
        "--issuer",
        I,
        "--voided-id",
        &id,
        "--reason",
        "wrong counter's price",
    ]);
    assert_eq!(v["voided_id"], id.as_str());

    // The share-capital events of issue #13, dated after the balance checked
    // below (a class B to reclassify into, instruments, an approval, and a
    // subdivision last).
    rec(&[
        "share-class-defined",
        "--issuer",
        I,
        "--class",
        "B",
        "--class-of-shares",
        "Class B ordinary shares",
    ]);
    let warrants = rec(&[
        "instrument-issued",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--instrument",
        "2024 Warrants",
        "--kind",
        "warrant",
        "--date",
        "2024-09-02",
        "--currency",
        "HKD",
        "--amount",
        "1,000",
        "--price",
        "2.50",
        "--shares-issuable",
        "1,000",
    ]);
    rec(&[
        "instrument-cancelled",
        "--issuer",
        I,
        "--instrument",
        "2024 Warrants",
        "--date",
        "2024-09-30",
        "--shares-issuable",
        "100",
        "--reason",
        "lapsed",
    ]);
    rec(&[
        "exchange-approval-recorded",
        "--issuer",
        I,
        "--rule",
        "10.06(3)",
        "--date",
        "2024-08-16",
        "--covers",
        warrants["id"].as_str().unwrap(),
        "--reference",
        "LD/2024/1",
    ]);
    rec(&[
        "shares-reclassified",
        "--issuer",
        I,
        "--from-class",
        "ORD",
        "--to-class",
        "B",
        "--date",
        "2024-12-30",
        "--shares",
        "1000",
    ]);
    let r = rec(&[
        "capital-reorganised",
        "--issuer",
        I,
        "--class",
        "ORD",
        "--date",
        "2024-12-31",
        "--kind",
        "subdivision",
        "--ratio-from",
        "1",
        "--ratio-to",
        "2",
        "--issued-shares-after",
        "1999716000",
        "--par-value-after.currency",
        "HKD",
        "--par-value-after.amount",
        "0.05",
    ]);
    assert_eq!(r["par_value_after"]["amount"], "0.05");

    let all: std::collections::BTreeSet<String> = shareledger::core::event::EVENT_TYPES
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert_eq!(types, all, "every event type was recorded once");
    assert_eq!(event_count(db), 29);

    // The ledger is whole: balances replay from it.
    let out = capture(
        db,
        &[
            "balance",
            "--issuer",
            I,
            "--class",
            "ORD",
            "--as-of",
            "2024-08-31",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let b: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    // 1,000,000,000 − 100,000 cancelled − 200,000 to treasury + 50,000 sold
    // + 10,000 transferred + 100,000 issued − 1,000 redeemed.
    assert_eq!(b["classes"][0]["issued_excluding_treasury"], 999_859_000u64);
    assert_eq!(b["classes"][0]["treasury"], 130_000u64);
}

fn ledger_with_class(db: &Path) {
    record(
        db,
        &[
            "issuer-registered",
            "--issuer",
            I,
            "--name",
            "Example Lantern Holdings Limited",
        ],
    );
    record(
        db,
        &[
            "share-class-defined",
            "--issuer",
            I,
            "--class",
            "ORD",
            "--class-of-shares",
            "Ordinary shares",
        ],
    );
    record(
        db,
        &[
            "opening-balance",
            "--issuer",
            I,
            "--class",
            "ORD",
            "--date",
            "2024-06-28",
            "--issued-shares",
            "1000000000",
        ],
    );
}

#[test]
fn a_dry_run_shows_the_event_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    // Against a ledger that does not exist yet: nothing is created.
    let out = capture(
        &db,
        &[
            "record",
            "issuer-registered",
            "--issuer",
            I,
            "--name",
            "X Limited",
            "--dry-run",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // One line (the default text format): what would be recorded.
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(
        out.stdout.starts_with("dry run: ")
            && out
                .stdout
                .contains("issuer_registered: issuer 09999, name X Limited"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("nothing written"), "{}", out.stderr);
    assert!(!db.exists(), "a dry run creates no ledger file");

    ledger_with_class(&db);
    let before = event_count(&db);
    // --dry-run before the type, or among the fields.
    for args in [
        vec![
            "record",
            "--dry-run",
            "--format",
            "json",
            "shares-repurchased",
            "--issuer",
            I,
            "--class",
            "ORD",
            "--trade-date",
            "2024-07-05",
            "--shares",
            "100",
        ],
        vec![
            "record",
            "shares-repurchased",
            "--issuer",
            I,
            "--class",
            "ORD",
            "--trade-date",
            "2024-07-05",
            "--shares",
            "100",
            "--dry-run",
            "--format",
            "json",
        ],
    ] {
        let out = capture(&db, &args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let v: serde_json::Value =
            serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
        assert_eq!(v["shares"], 100);
        assert!(v.get("position").is_none(), "not stored: {v}");
        // The findings it would raise: no repurchase mandate is in force.
        assert!(out.stderr.contains("10.06(1)"), "{}", out.stderr);
        assert!(out.stderr.contains("nothing written"), "{}", out.stderr);
    }
    assert_eq!(event_count(&db), before, "a dry run writes nothing");
}

#[test]
fn a_recorded_event_prints_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    ledger_with_class(&db);
    let out = capture(
        &db,
        &[
            "record",
            "shares-repurchased",
            "--issuer",
            I,
            "--class",
            "ORD",
            "--trade-date",
            "2024-07-05",
            "--shares",
            "100",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("recorded shares_repurchased at log position 4"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("error: [10.06(1)]"),
        "no mandate: {}",
        out.stderr
    );
}

#[test]
fn errors_name_the_flag_and_give_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    ledger_with_class(&db);
    let before = event_count(&db);
    let base = [
        "record",
        "shares-repurchased",
        "--issuer",
        I,
        "--class",
        "ORD",
    ];
    let with = |extra: &[&str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(extra);
        capture(&db, &v)
    };

    // A misspelt flag: usage (2), a suggestion, and the type's fields.
    let out = with(&["--trade-dat", "2024-07-05", "--shares", "100"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("unknown flag --trade-dat"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean --trade-date?"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--total-paid"),
        "lists the fields: {}",
        out.stderr
    );

    // A missing required flag: usage (2), named with an example.
    let out = with(&["--shares", "100"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--trade-date 2022-11-07"),
        "{}",
        out.stderr
    );

    // A flag without its value: usage (2).
    let out = with(&["--trade-date", "2024-07-05", "--shares"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--shares needs a value, e.g. --shares 4300"),
        "{}",
        out.stderr
    );

    // A value that is not a date: refused (1), the flag, the value and an example.
    let out = with(&["--trade-date", "2024-13-05", "--shares", "100"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("--trade-date `2024-13-05`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("for example --trade-date 2022-11-07"),
        "{}",
        out.stderr
    );

    // Not a number.
    let out = with(&["--trade-date", "2024-07-05", "--shares", "many"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--shares `many`"), "{}", out.stderr);
    assert!(out.stderr.contains("--shares 4300"), "{}", out.stderr);

    // Not one of the words.
    let out = with(&[
        "--trade-date",
        "2024-07-05",
        "--shares",
        "100",
        "--method",
        "on-market",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("--method `on-market`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("on_exchange, other_exchange"),
        "{}",
        out.stderr
    );

    // The ledger refuses: the flag at fault, with an example.
    let out = with(&[
        "--trade-date",
        "2024-07-05",
        "--shares",
        "100",
        "--currency",
        "HKD",
        "--highest-price",
        "1.25",
        "--lowest-price",
        "1.20",
        "--total-paid",
        "5",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--total-paid `5`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("for example --total-paid"),
        "{}",
        out.stderr
    );
    let out = capture(
        &db,
        &[
            "record",
            "shares-repurchased",
            "--issuer",
            I,
            "--class",
            "PREF",
            "--trade-date",
            "2024-07-05",
            "--shares",
            "100",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--class `PREF`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("ORD"),
        "names the classes: {}",
        out.stderr
    );

    // A nested field half given: usage (2), the missing subfield named.
    let out = capture(
        &db,
        &[
            "record",
            "issuer-settings-changed",
            "--issuer",
            I,
            "--signatory.name",
            "Lee Siu Ming",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--signatory.title"), "{}", out.stderr);

    // An unknown type, and no type at all: usage (2), the types listed.
    let out = capture(&db, &["record", "shares-bought"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("shares-repurchased"), "{}", out.stderr);
    let out = capture(&db, &["record"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("repurchased-shares-cancelled"),
        "{}",
        out.stderr
    );

    assert_eq!(event_count(&db), before, "nothing refused was written");
}

#[test]
fn help_lists_the_types_and_each_type_lists_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let out = capture(&db, &["record", "--help"]);
    assert_eq!(out.code, 0);
    for t in shareledger::core::event::EVENT_TYPES {
        assert!(
            out.stdout.contains(&t.replace('_', "-")),
            "record --help lists {t}"
        );
    }
    let out = capture(&db, &["record", "issuer-registered", "--help"]);
    assert_eq!(out.code, 0);
    for flag in [
        "--issuer TEXT *",
        "--signatory.name",
        "--presentation.percent-decimals",
        "--primary-listing",
        "Example:",
    ] {
        assert!(out.stdout.contains(flag), "{flag} in:\n{}", out.stdout);
    }
    // The help's example is accepted as written.
    let out = capture(&db, &["record", "share_class_defined", "-h"]);
    assert!(
        out.stdout.contains("--par-value.currency CUR *"),
        "{}",
        out.stdout
    );
    assert!(!db.exists());
}

#[test]
fn every_types_help_example_is_a_well_formed_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_shareledger"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for t in shareledger::core::event::EVENT_TYPES {
        let help = capture(&db, &["record", t, "--help"]).stdout;
        let example: String = help
            .split("Example:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{t}: no example"))
            .lines()
            .map(|l| l.trim().trim_end_matches('\\').trim_end().to_string())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(example.starts_with("shareledger record "), "{t}: {example}");
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("{example} --dry-run"))
            .env("PATH", &path)
            .env("SHARELEDGER_DB", &db)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // On an empty ledger most are refused (no such issuer): exit 1, not a usage error.
        assert_ne!(out.status.code(), Some(2), "{t}: {example}\n{stderr}");
        if out.status.code() == Some(1) {
            assert!(
                stderr.contains("--issuer") || stderr.contains("--voided-id"),
                "{t}: refused for another reason than the empty ledger: {stderr}"
            );
        }
    }
    assert!(!db.exists());
}

/// `log` prints each event's position and the end of its id (the random
/// part of a UUIDv7), and `record event-voided --voided-id` takes either
/// (`@POSITION` or a unique end or start of an id) as well as the whole id; a reference that is not one event of
/// the issuer is refused and nothing is written.
#[test]
fn events_are_voided_by_position_or_id_prefix_as_log_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    common::record_harbour_holdings(&db);
    let buy = |date: &str| {
        common::capture_ok(
            &db,
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
                "1000",
                "--currency",
                "HKD",
                "--highest-price",
                "3.1",
                "--lowest-price",
                "3.0",
                "--total-paid",
                "3050",
            ],
        )
    };
    buy("2025-06-13");
    buy("2025-06-16");
    let log = common::capture_ok(&db, &["log", "--issuer", "08888"]).stdout;
    let rows: Vec<(u64, String)> = log
        .lines()
        .filter(|l| l.contains("shares_repurchased"))
        .map(|l| {
            let mut w = l.split_whitespace();
            (
                w.next().unwrap().parse().unwrap(),
                w.next().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 2, "{log}");
    let json = common::capture_ok(&db, &["log", "--issuer", "08888", "--format", "json"]).stdout;
    for (position, prefix) in &rows {
        assert_eq!(prefix.len(), 8, "{log}");
        let line = json
            .lines()
            .find(|l| l.contains(&format!("\"position\":{position},")))
            .unwrap();
        assert!(line.contains(&format!("{prefix}\",")), "{line}");
    }
    let void = |reference: &str| {
        common::capture(
            &db,
            &[
                "record",
                "event-voided",
                "--issuer",
                "08888",
                "--voided-id",
                reference,
                "--reason",
                "entered twice",
            ],
        )
    };
    let count = || {
        common::capture_ok(&db, &["log", "--format", "json"])
            .stdout
            .lines()
            .count()
    };
    let before = count();
    // Not an event of this issuer, not a position at all, no such prefix.
    for (bad, says) in [
        ("@999", "no event at log position 999"),
        ("@x", "not a log position"),
        ("ffffffff", "no event of 08888"),
        ("zz", "neither an event id"),
    ] {
        let out = void(bad);
        assert_eq!(out.code, 1, "{bad}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{bad}: {}", out.stderr);
    }
    // The start of a ledger-drawn id is its time: shared by every event
    // recorded in the same minute, so it names none of them.
    let start: String = {
        let line = json
            .lines()
            .find(|l| l.contains("shares_repurchased"))
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["id"].as_str().unwrap()[..8].to_string()
    };
    let out = void(&start);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("give more characters of the id"),
        "{}",
        out.stderr
    );
    assert_eq!(count(), before, "nothing written");
    // By position, then by prefix.
    let out = void(&format!("@{}", rows[0].0));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = void(&rows[1].1);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let balance = common::capture_ok(
        &db,
        &[
            "balance",
            "--issuer",
            "08888",
            "--as-of",
            "2025-06-30",
            "--format",
            "json",
        ],
    );
    let b: serde_json::Value = serde_json::from_str(&balance.stdout).unwrap();
    assert_eq!(b["classes"][0]["pending_cancellation"], 0, "both voided");
}

/// The double-entry rule (interchange.md section 1): an event equal in
/// every field but the envelope to a live event of the issuer is refused,
/// naming where the first is, and nothing is written — whether recorded
/// twice, imported twice, or twice in one file — unless the line or the
/// command allows it; a voided event does not count.
#[test]
fn double_entries_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    common::record_harbour_holdings(&db);
    let count = || {
        common::capture_ok(&db, &["log", "--format", "json"])
            .stdout
            .lines()
            .count()
    };
    let buy = [
        "record",
        "shares-repurchased",
        "--issuer",
        "08888",
        "--class",
        "ORD",
        "--trade-date",
        "2025-06-13",
        "--shares",
        "200000",
        "--currency",
        "HKD",
        "--highest-price",
        "3.1",
        "--lowest-price",
        "3.0",
        "--total-paid",
        "610000",
    ];
    common::capture_ok(&db, &buy);
    let first = count();
    let out = common::capture(&db, &buy);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("already recorded at log position {first}")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--allow-duplicate"), "{}", out.stderr);
    assert_eq!(count(), first, "nothing written");
    let mut again = buy.to_vec();
    again.push("--allow-duplicate");
    common::capture_ok(&db, &again);
    assert_eq!(count(), first + 1);

    // A file imported twice: its first line is refused the second time.
    let file = dir.path().join("day.jsonl");
    let line = |shares: u64, extra: &str| {
        format!(
            r#"{{"type": "shares_repurchased", "issuer": "08888", "class": "ORD", "trade_date": "2025-06-16", "shares": {shares}, "currency": "HKD", "highest_price": "3.1", "lowest_price": "3.0", "total_paid": "{}"{extra}}}"#,
            shares * 3
        )
    };
    std::fs::write(&file, format!("{}\n{}\n", line(1000, ""), line(2000, ""))).unwrap();
    let path = file.to_str().unwrap();
    common::capture_ok(&db, &["import", path]);
    let n = count();
    let out = common::capture(&db, &["import", path]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("line 1: shares_repurchased:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("already recorded at log position {}", n - 1)),
        "{}",
        out.stderr
    );
    assert_eq!(count(), n, "nothing written");
    // Twice in one file.
    std::fs::write(&file, format!("{}\n{}\n", line(5, ""), line(5, ""))).unwrap();
    let out = common::capture(&db, &["import", path]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("line 2: shares_repurchased:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("on line 1 of this input"),
        "{}",
        out.stderr
    );
    assert_eq!(count(), n, "nothing written");
    // The line says it is meant.
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            line(5, ""),
            line(5, r#", "allow_duplicate": true"#)
        ),
    )
    .unwrap();
    common::capture_ok(&db, &["import", path]);
    assert_eq!(count(), n + 2);
    // A voided event no longer counts: void, then record the same again.
    let log = common::capture_ok(&db, &["log", "--issuer", "08888", "--format", "json"]).stdout;
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    let id = last["id"].as_str().unwrap();
    std::fs::write(
        &file,
        format!(
            "{{\"type\": \"event_voided\", \"issuer\": \"08888\", \"voided_id\": \"{id}\", \"reason\": \"one too many\"}}\n{}\n",
            line(5, "")
        ),
    )
    .unwrap();
    let out = common::capture(&db, &["import", path]);
    assert_eq!(
        out.code, 1,
        "the first of the two 5-share lines is still live: {}",
        out.stderr
    );
    // Voiding both live copies, then recording one, is fine.
    let first5 =
        serde_json::from_str::<serde_json::Value>(log.lines().rev().nth(1).unwrap()).unwrap();
    std::fs::write(
        &file,
        format!(
            "{{\"type\": \"event_voided\", \"issuer\": \"08888\", \"voided_id\": \"{id}\", \"reason\": \"one too many\"}}\n{{\"type\": \"event_voided\", \"issuer\": \"08888\", \"voided_id\": \"{}\", \"reason\": \"re-recorded\"}}\n{}\n",
            first5["id"].as_str().unwrap(),
            line(5, "")
        ),
    )
    .unwrap();
    common::capture_ok(&db, &["import", path]);
}

/// The envelope rules of interchange.md section 1: an on-Exchange buy-back
/// dated on a weekend, a general holiday or a recorded market closure is
/// refused naming the calendar fact; a change dated after the day it is
/// recorded is refused; a buy-back off the Exchange may fall on any day.
#[test]
fn trades_on_days_the_exchange_was_shut_and_changes_not_yet_happened_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    common::record_harbour_holdings(&db);
    common::capture_ok(
        &db,
        &[
            "record",
            "market-closed",
            "--date",
            "2025-07-21",
            "--reason",
            "Black rainstorm warning",
        ],
    );
    let count = || {
        common::capture_ok(&db, &["log", "--format", "json"])
            .stdout
            .lines()
            .count()
    };
    let before = count();
    let buy = |date: &str, extra: &[&str]| {
        let mut args = vec![
            "record",
            "shares-repurchased",
            "--issuer",
            "08888",
            "--class",
            "ORD",
            "--trade-date",
            date,
            "--shares",
            "1000",
            "--currency",
            "HKD",
            "--highest-price",
            "3.1",
            "--lowest-price",
            "3.0",
            "--total-paid",
            "3050",
        ];
        args.extend_from_slice(extra);
        common::capture(&db, &args)
    };
    for (date, says) in [
        (
            "2025-06-07",
            "Saturday 7 June 2025 is not a trading day of the Exchange: a weekend",
        ),
        ("2025-07-01", "a Hong Kong general holiday"),
        (
            "2025-07-21",
            "the market was closed (Black rainstorm warning)",
        ),
        ("2099-01-05", "is after the day it is recorded"),
    ] {
        let out = buy(date, &[]);
        assert_eq!(out.code, 1, "{date}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{date}: {}", out.stderr);
        assert!(
            out.stderr.contains("--trade-date"),
            "{date}: {}",
            out.stderr
        );
    }
    assert_eq!(count(), before, "nothing written");
    // Off the Exchange a Saturday is possible; a trading day is fine.
    let out = buy("2025-06-07", &["--method", "private_arrangement"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = buy("2025-06-09", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // A share issue dated in the future is refused too.
    let out = common::capture(
        &db,
        &[
            "record",
            "shares-issued",
            "--issuer",
            "08888",
            "--class",
            "ORD",
            "--date",
            "2099-02-01",
            "--shares",
            "10",
            "--kind",
            "placing",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("is after the day it is recorded"),
        "{}",
        out.stderr
    );
}

/// `record` prints one line by default: the position, the end of the id
/// (what `--voided-id` takes) and the fields; `--format json` the stored
/// event; a bad `--format` is refused before anything is written.
#[test]
fn record_prints_one_line_and_json_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let out = capture(
        &db,
        &[
            "record",
            "issuer-registered",
            "--issuer",
            I,
            "--name",
            "X Limited",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = out.stdout.trim_end();
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(line.starts_with("@1 "), "{line}");
    assert!(
        line.ends_with("issuer_registered: issuer 09999, name X Limited"),
        "{line}"
    );
    // The 8 characters after the position are the end of the stored id.
    let log = common::capture_ok(&db, &["log", "--format", "json"]).stdout;
    let stored: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    let id = stored["id"].as_str().unwrap();
    assert_eq!(&line[3..11], &id[id.len() - 8..]);

    let out = capture(
        &db,
        &[
            "record",
            "share-class-defined",
            "--issuer",
            I,
            "--class",
            "ORD",
            "--class-of-shares",
            "Ordinary shares",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim_end()).unwrap();
    assert_eq!(v["position"], 2);
    assert_eq!(v["type"], "share_class_defined");

    let out = capture(
        &db,
        &[
            "record",
            "share-class-defined",
            "--issuer",
            I,
            "--class",
            "PREF",
            "--class-of-shares",
            "Preference shares",
            "--format",
            "yaml",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--format json"), "{}", out.stderr);
    assert_eq!(event_count(&db), 2, "nothing written");
}

/// The example in a refusal is in the user's own figures when the command
/// gives them (a price beside the bad one), not the demo company's.
#[test]
fn a_price_example_uses_the_users_own_price() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    ledger_with_class(&db);
    let before = event_count(&db);
    for lowest in ["1.2x", "1.25"] {
        let out = capture(
            &db,
            &[
                "record",
                "shares-repurchased",
                "--issuer",
                I,
                "--class",
                "ORD",
                "--trade-date",
                "2024-07-05",
                "--shares",
                "100",
                "--currency",
                "HKD",
                "--highest-price",
                "1.20",
                "--lowest-price",
                lowest,
                "--total-paid",
                "120",
            ],
        );
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stderr.contains("--lowest-price"), "{}", out.stderr);
        assert!(
            out.stderr.contains("for example --lowest-price 1.20"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("21.35"), "{}", out.stderr);
    }
    // The bad price the first of the command's prices: the example is still
    // another price the user gave.
    for highest in ["1.2x", "1,2"] {
        let out = capture(
            &db,
            &[
                "record",
                "shares-repurchased",
                "--issuer",
                I,
                "--class",
                "ORD",
                "--trade-date",
                "2024-07-05",
                "--shares",
                "100",
                "--currency",
                "HKD",
                "--highest-price",
                highest,
                "--lowest-price",
                "1.15",
                "--total-paid",
                "116",
            ],
        );
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("for example --highest-price 1.15"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(event_count(&db), before);
}
