//! The command line's comforts through the binary: `status`, shell
//! completions, the man page, and an example in every command's --help.

mod common;

use std::path::{Path, PathBuf};

use common::{capture, capture_ok, record_harbour_holdings};

/// The issuer of the broker CSV examples, with both example files imported.
fn ledger() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let i = "08888";
    record_harbour_holdings(&db);
    capture_ok(
        &db,
        &[
            "import-trades",
            "examples/trades-executions.csv",
            "--issuer",
            i,
            "--class",
            "ORD",
        ],
    );
    capture_ok(
        &db,
        &[
            "import-trades",
            "examples/trades-daily.csv",
            "--issuer",
            i,
            "--class",
            "ORD",
        ],
    );
    (dir, db)
}

fn status(db: &Path, now: &str) -> serde_json::Value {
    let out = capture_ok(
        db,
        &[
            "status", "--issuer", "08888", "--now", now, "--format", "json",
        ],
    );
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn status_shows_balances_pending_mandate_moratorium_and_returns_due() {
    let (_dir, db) = ledger();
    capture_ok(
        &db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2025-06-13",
            "--mark-filed",
            "--submitted-at",
            "2025-06-13T19:30:00+08:00",
        ],
    );

    let s = status(&db, "2025-06-18T20:00:00+08:00");
    assert_eq!(s["as_of"], "2025-06-18");
    let c = &s["classes"][0];
    assert_eq!(c["class"], "ORD");
    assert_eq!(c["balances"]["issued_excluding_treasury"], 1_200_000_000u64);
    assert_eq!(c["balances"]["pending_cancellation"], 2_050_000u64);
    let pending: Vec<(String, u64)> = c["pending_cancellation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["trade_date"].as_str().unwrap().to_string(),
                p["shares"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pending,
        vec![
            ("2025-06-13".to_string(), 750_000),
            ("2025-06-16".to_string(), 500_000),
            ("2025-06-17".to_string(), 420_000),
            ("2025-06-18".to_string(), 380_000),
        ]
    );
    assert_eq!(c["mandate"]["authorised_shares"], 120_000_000u64);
    assert_eq!(c["mandate"]["used"], 2_050_000u64);
    assert_eq!(c["mandate"]["left"], 117_950_000u64);
    assert_eq!(c["moratorium"]["last_repurchase"], "2025-06-18");
    assert_eq!(c["moratorium"]["until"], "2025-07-18");
    assert_eq!(c["moratorium"]["in_force"], true);

    // NDDRs for the days after the last filed one (13 June), then June's Monthly Return.
    let due: Vec<(String, String, String, bool)> = s["returns_due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["form"].as_str().unwrap().to_string(),
                r["date"].as_str().unwrap().to_string(),
                r["deadline"].as_str().unwrap().to_string(),
                r["overdue"].as_bool().unwrap(),
            )
        })
        .collect();
    let d = |f: &str, date: &str, deadline: &str, overdue: bool| {
        (
            f.to_string(),
            date.to_string(),
            deadline.to_string(),
            overdue,
        )
    };
    assert_eq!(
        due,
        vec![
            d("nddr", "2025-06-16", "2025-06-17T08:30:00+08:00", true),
            d("nddr", "2025-06-17", "2025-06-18T08:30:00+08:00", true),
            d("nddr", "2025-06-18", "2025-06-19T08:30:00+08:00", false),
            // The 5th business day after 30 June 2025 (1 July is a holiday).
            d("monthly", "2025-06-30", "2025-07-08T08:30:00+08:00", false),
        ]
    );
    assert_eq!(s["last_filed"]["nddr"]["date"], "2025-06-13");
    assert!(s["last_filed"]["monthly"].is_null());

    // After the cancellation and the filings, only the next Monthly Return is due.
    capture_ok(
        &db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2025-06-18",
            "--mark-filed",
            "--submitted-at",
            "2025-06-18T19:30:00+08:00",
        ],
    );
    capture_ok(
        &db,
        &[
            "record",
            "repurchased-shares-cancelled",
            "--issuer",
            "08888",
            "--class",
            "ORD",
            "--date",
            "2025-06-27",
            "--shares",
            "2050000",
        ],
    );
    capture_ok(
        &db,
        &[
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "2025-06-27",
            "--mark-filed",
            "--submitted-at",
            "2025-06-27T19:30:00+08:00",
        ],
    );
    capture_ok(
        &db,
        &[
            "return",
            "monthly",
            "--issuer",
            "08888",
            "--month",
            "2025-06",
            "--mark-filed",
            "--submitted-at",
            "2025-07-02T10:00:00+08:00",
        ],
    );
    let s = status(&db, "2025-07-20");
    let c = &s["classes"][0];
    assert_eq!(c["balances"]["issued_excluding_treasury"], 1_197_950_000u64);
    assert_eq!(c["balances"]["pending_cancellation"], 0);
    assert_eq!(c["moratorium"]["in_force"], false);
    let due = s["returns_due"].as_array().unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0]["form"], "monthly");
    assert_eq!(due[0]["date"], "2025-07-31");

    // The text for a person.
    let out = capture_ok(&db, &["status", "--issuer", "08888", "--now", "2025-07-20"]);
    assert!(
        out.stdout.contains("mandate of 2025-05-22"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Monthly 2025-07"), "{}", out.stdout);

    let out = capture(&db, &["status", "--issuer", "01111"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let out = capture(&db, &["status", "--issuer", "08888", "--now", "soon"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--now"), "{}", out.stderr);
}

#[test]
fn completions_and_man_page_are_generated() {
    let db = Path::new("unused.db");
    for shell in ["bash", "zsh", "fish"] {
        let out = capture_ok(db, &["completions", shell]);
        assert!(out.stdout.contains("import-trades"), "{shell}");
        if shell != "fish" {
            assert!(
                out.stdout.contains("shares-repurchased"),
                "{shell}: the event types complete"
            );
        }
    }
    let out = capture(db, &["completions", "tcsh"]);
    assert_eq!(out.code, 2);
    let out = capture_ok(db, &["man"]);
    assert!(
        out.stdout.starts_with(".ie") || out.stdout.contains(".TH shareledger 1"),
        "{}",
        &out.stdout[..200.min(out.stdout.len())]
    );
    assert!(out.stdout.contains(".TH shareledger 1"));
    assert!(out.stdout.contains("import\\-trades"));
    let out = capture_ok(db, &["man", "status"]);
    assert!(out.stdout.contains(".TH shareledger-status 1"));
    assert_eq!(capture(db, &["man", "nope"]).code, 2);
    assert!(!db.exists());
}

#[test]
fn every_command_has_an_example_in_its_help() {
    let db = Path::new("unused.db");
    let top = capture_ok(db, &["--help"]).stdout;
    assert!(top.contains("Examples:"));
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 13, "{commands:?}");
    let mut paths: Vec<Vec<String>> = commands.iter().map(|c| vec![c.clone()]).collect();
    paths.push(vec!["return".into(), "nddr".into()]);
    paths.push(vec!["return".into(), "monthly".into()]);
    for p in paths {
        let mut args: Vec<&str> = p.iter().map(String::as_str).collect();
        args.push("--help");
        let out = capture_ok(db, &args);
        assert!(
            out.stdout.contains("Example:") || out.stdout.contains("Examples:"),
            "`shareledger {}` has no example:\n{}",
            p.join(" "),
            out.stdout
        );
        assert!(out.stdout.contains("shareledger "), "{}", p.join(" "));
    }
}

#[test]
fn status_lets_small_option_exercises_ride_along_as_audit_judges_them() {
    let (_dir, db) = ledger();
    let i = "08888";
    capture_ok(
        &db,
        &[
            "record",
            "share-option-scheme-adopted",
            "--issuer",
            i,
            "--class",
            "ORD",
            "--scheme",
            "2020 Scheme",
            "--adoption-date",
            "2020-06-01",
            "--outstanding-options",
            "100000000",
        ],
    );
    // 1,000 shares: far below 5% of 1,200,000,000, so no NDDR of its own.
    capture_ok(
        &db,
        &[
            "record",
            "shares-issued",
            "--issuer",
            i,
            "--class",
            "ORD",
            "--date",
            "2025-06-20",
            "--shares",
            "1000",
            "--kind",
            "share_option_exercise",
            "--scheme",
            "2020 Scheme",
        ],
    );
    let s = status(&db, "2025-06-20T20:00:00+08:00");
    let nddrs: Vec<&serde_json::Value> = s["returns_due"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["form"] == "nddr")
        .collect();
    assert!(nddrs.iter().all(|r| r["date"] != "2025-06-20"), "{s:#}");
    let last = nddrs.last().expect("the repurchases' NDDRs are due");
    let riders: Vec<&str> = last["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .filter(|e| e.contains("below the 5% threshold") && e.contains("2025-06-20"))
        .collect();
    assert_eq!(riders.len(), 1, "{last:#}");

    // 70,000,000 more (about 5.8%): now an NDDR of its own on 23 June.
    capture_ok(
        &db,
        &[
            "record",
            "shares-issued",
            "--issuer",
            i,
            "--class",
            "ORD",
            "--date",
            "2025-06-23",
            "--shares",
            "70000000",
            "--kind",
            "share_option_exercise",
            "--scheme",
            "2020 Scheme",
        ],
    );
    let s = status(&db, "2025-06-23T20:00:00+08:00");
    assert!(
        s["returns_due"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["form"] == "nddr" && r["date"] == "2025-06-23"),
        "{s:#}"
    );
}

/// `status` without `--issuer`: every issuer, the one with an overdue
/// return first, then the one whose return is due, then the one with
/// nothing due; as JSON (one status document each) and as text.
#[test]
fn status_of_every_issuer_puts_the_most_urgent_first() {
    let (_dir, db) = ledger();
    // A second issuer that owes nothing yet (history opens on the day
    // judged), and a third whose repurchase of 2025-07-18 awaits its NDDR.
    for (id, name) in [
        ("00001", "Quiet Holdings Limited"),
        ("09999", "Busy Limited"),
    ] {
        capture_ok(
            &db,
            &[
                "record",
                "issuer-registered",
                "--issuer",
                id,
                "--name",
                name,
            ],
        );
        capture_ok(
            &db,
            &[
                "record",
                "share-class-defined",
                "--issuer",
                id,
                "--class",
                "ORD",
                "--class-of-shares",
                "Ordinary shares",
            ],
        );
        capture_ok(
            &db,
            &[
                "record",
                "opening-balance",
                "--issuer",
                id,
                "--class",
                "ORD",
                "--date",
                "2025-06-30",
                "--issued-shares",
                "1000000",
            ],
        );
    }
    capture_ok(
        &db,
        &[
            "record",
            "shares-issued",
            "--issuer",
            "09999",
            "--class",
            "ORD",
            "--date",
            "2025-07-18",
            "--shares",
            "100000",
            "--kind",
            "placing",
        ],
    );
    let out = capture_ok(
        &db,
        &[
            "status",
            "--now",
            "2025-07-18T20:00:00+08:00",
            "--format",
            "json",
        ],
    );
    let all: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["issuer"]["id"].as_str().unwrap())
        .collect();
    // 08888 owes its June Monthly Return (overdue on 8 July); 09999 owes
    // the NDDR of its placing (due 08:30 the next business day); 00001
    // owes only July's Monthly Return, due in August.
    assert_eq!(ids, vec!["08888", "09999", "00001"], "{}", out.stdout);
    assert!(all[0]["returns_due"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["overdue"] == true));
    let due = |i: usize| -> Vec<(String, bool)> {
        all[i]["returns_due"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["form"].as_str().unwrap().to_string(),
                    r["overdue"] == true,
                )
            })
            .collect()
    };
    assert_eq!(
        due(1),
        vec![("nddr".into(), false), ("monthly".into(), false)]
    );
    assert_eq!(due(2), vec![("monthly".into(), false)]);

    let out = capture_ok(&db, &["status", "--now", "2025-07-18T20:00:00+08:00"]);
    let text = &out.stdout;
    let pos = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} not in {text}"));
    assert!(
        pos("08888") < pos("09999") && pos("09999") < pos("00001"),
        "{text}"
    );
    assert!(text.contains("OVERDUE"), "{text}");
    assert!(text.contains("NDDR     2025-07-18"), "{text}");
}

/// Small comforts of issue #14: a date flag written the Hong Kong way is
/// refused with the format to use (not "invalid characters"), and
/// `return nddr --help` describes `--issuer`.
#[test]
fn date_flags_say_how_to_write_a_date_and_issuer_is_described() {
    let (_dir, db) = ledger();
    for args in [
        vec!["balance", "--issuer", "08888", "--as-of", "15/03/2025"],
        vec![
            "return",
            "nddr",
            "--issuer",
            "08888",
            "--date",
            "15/03/2025",
        ],
    ] {
        let out = capture(&db, &args);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("write it as YYYY-MM-DD, like 2025-03-15"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("invalid characters"), "{}", out.stderr);
    }
    let help = capture_ok(&db, &["return", "nddr", "--help"]).stdout;
    let at = help
        .find("\n      --issuer <ISSUER>")
        .expect("--issuer is listed")
        + 1;
    let after: String = help[at..].lines().take(2).collect();
    assert!(after.contains("The issuer's id"), "{help}");
}

/// Bash completes `record TYPE`'s field flags (generated from the event
/// table), and still the types and the other commands' flags (clap's).
#[test]
fn bash_completes_the_fields_of_record() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "bash is needed in CI");
        eprintln!("skipped: no bash");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("shareledger.bash");
    let out = capture_ok(Path::new("unused.db"), &["completions", "bash"]);
    std::fs::write(&script, &out.stdout).unwrap();
    let complete = |words: &str| -> Vec<String> {
        let cword = words.split(' ').count() - 1;
        let prog = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; {}; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            "_shareledger_record_fields shareledger"
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &prog])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        complete("shareledger record shares-repurchased --tr"),
        vec!["--trade-date"]
    );
    // After other fields, nested fields, the snake_case spelling of the type.
    assert_eq!(
        complete("shareledger record share_class_defined --issuer 08888 --par-value.c"),
        vec!["--par-value.currency"]
    );
    let all = complete("shareledger record shares-repurchased --");
    for flag in [
        "--issuer",
        "--shares",
        "--highest-price",
        "--dry-run",
        "--allow-duplicate",
        "--format",
    ] {
        assert!(all.iter().any(|f| f == flag), "{flag} in {all:?}");
    }
    assert!(!all.iter().any(|f| f == "--resolution-date"), "{all:?}");
    // The type itself and other commands: clap's completion.
    assert!(complete("shareledger record shares-rep").contains(&"shares-repurchased".to_string()));
    assert!(complete("shareledger status --iss").contains(&"--issuer".to_string()));
}

/// An opening balance dated in the past makes every later return owed: the
/// record says so in one line pointing to `status`, not a warning per
/// return and "15 more".
#[test]
fn an_opening_balance_in_the_past_is_one_line_about_overdue_returns() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    for args in [
        vec![
            "record",
            "issuer-registered",
            "--issuer",
            "07777",
            "--name",
            "Past Limited",
        ],
        vec![
            "record",
            "share-class-defined",
            "--issuer",
            "07777",
            "--class",
            "ORD",
            "--class-of-shares",
            "Ordinary shares",
        ],
    ] {
        capture_ok(&db, &args);
    }
    let out = capture_ok(
        &db,
        &[
            "record",
            "opening-balance",
            "--issuer",
            "07777",
            "--class",
            "ORD",
            "--date",
            "2024-01-31",
            "--issued-shares",
            "1000000",
        ],
    );
    let lines: Vec<&str> = out.stderr.lines().filter(|l| l.contains("13.25")).collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].starts_with("error: [13.25A/13.25B] 07777: ")
            && lines[0].contains("returns dated 2024-02-29 to ")
            && lines[0].contains("shareledger status --issuer 07777"),
        "{}",
        lines[0]
    );
    assert!(!out.stderr.contains("more finding"), "{}", out.stderr);
}
