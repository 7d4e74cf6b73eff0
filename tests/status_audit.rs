//! `status` and `audit` agree on every Monthly Return due: the months
//! `status` lists as overdue are exactly those `audit` reports as missing
//! (rule 13.25B), over several ledgers and times, including a ledger whose
//! first filing is an NDDR dated on a month end (both decide through
//! `shareledger_core::rules::monthly_returns_due`).

mod common;

use common::{example, text, Ledger};
use serde_json::{json, Value};

const ISSUER: &str = "02121";

fn import(l: &Ledger, lines: &[Value]) {
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = l.run_with_input(&["import", "-"], Some(&input));
    assert!(out.status.success(), "import: {}", text(&out.stderr));
}

/// Issuer 02121, class H, 559,304,838 shares as at `opening`.
fn issuer(opening: &str) -> Vec<Value> {
    vec![
        json!({"type": "issuer_registered", "issuer": ISSUER, "name": "Example"}),
        json!({"type": "share_class_defined", "issuer": ISSUER, "class": "H",
               "class_of_shares": "Ordinary shares"}),
        json!({"type": "opening_balance", "issuer": ISSUER, "class": "H", "date": opening,
               "issued_shares": 559_304_838}),
        json!({"type": "repurchase_mandate_granted", "issuer": ISSUER, "class": "H",
               "resolution_date": "2022-05-10", "issued_shares_at_resolution": 559_304_838}),
    ]
}

fn filed(form: &str, date: &str, submitted_at: &str) -> Value {
    json!({"type": "return_filed", "issuer": ISSUER, "form": form, "date": date,
           "submitted_at": submitted_at})
}

/// The month ends `status` lists as overdue Monthly Returns.
fn status_overdue(l: &Ledger, now: &str) -> Vec<String> {
    let out = l.run(&[
        "status", "--issuer", ISSUER, "--now", now, "--format", "json",
    ]);
    assert!(out.status.success(), "status: {}", text(&out.stderr));
    let s: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    s["returns_due"]
        .as_array()
        .expect("returns_due")
        .iter()
        .filter(|r| r["form"] == "monthly" && r["overdue"] == true)
        .map(|r| r["date"].as_str().expect("date").to_string())
        .collect()
}

/// The month ends `audit` reports with no Monthly Return recorded.
fn audit_missing(l: &Ledger, now: &str) -> Vec<String> {
    let out = l.run(&["audit", "--format", "json", "--now", now]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("audit JSON ({e}): {}", text(&out.stderr));
    });
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| {
            f["rule"] == "13.25B"
                && f["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("no Monthly Return is recorded"))
        })
        .map(|f| f["date"].as_str().expect("date").to_string())
        .collect()
}

#[test]
fn status_and_audit_agree_on_every_monthly_return_due() {
    let seed = Ledger::new();
    seed.ok(&["import", example().to_str().expect("UTF-8 path")]);

    let month_end_nddr = Ledger::new();
    let mut lines = issuer("2022-05-27");
    lines.extend([
        json!({"type": "shares_repurchased", "issuer": ISSUER, "class": "H",
               "trade_date": "2022-11-30", "shares": 1000}),
        filed("nddr", "2022-11-30", "2022-11-30T19:00:00+08:00"),
    ]);
    import(&month_end_nddr, &lines);

    let no_filing = Ledger::new();
    import(&no_filing, &issuer("2022-10-31"));

    let some_filed = Ledger::new();
    let mut lines = issuer("2022-05-27");
    lines.extend([
        filed("monthly", "2022-10-31", "2022-11-02T17:00:00+08:00"),
        filed("monthly", "2022-12-31", "2023-01-05T17:00:00+08:00"),
    ]);
    import(&some_filed, &lines);

    let ledgers = [
        ("seed", &seed),
        ("first filing an NDDR on a month end", &month_end_nddr),
        ("no filing", &no_filing),
        ("some filed", &some_filed),
    ];
    let nows = [
        "2022-12-07T08:30:00+08:00",
        "2022-12-07T08:31:00+08:00",
        "2023-01-09T09:00:00+08:00",
        "2023-03-15T12:00:00+08:00",
    ];
    for (name, l) in ledgers {
        for now in nows {
            assert_eq!(
                status_overdue(l, now),
                audit_missing(l, now),
                "{name} at {now}"
            );
        }
    }
    // The case that used to disagree: November 2022 is owed by both.
    let now = "2023-01-09T09:00:00+08:00";
    assert_eq!(
        status_overdue(&month_end_nddr, now),
        vec!["2022-11-30", "2022-12-31"]
    );
    assert_eq!(audit_missing(&some_filed, now), vec!["2022-11-30"]);
    assert_eq!(
        audit_missing(&no_filing, "2023-03-15T12:00:00+08:00"),
        vec!["2022-11-30", "2022-12-31", "2023-01-31", "2023-02-28"]
    );
}

/// Every return `status` lists as due can be produced: a Monthly Return for
/// the month of a mid-month opening balance cannot (Part II needs the
/// closing balance of the month before, which the ledger was never told), so
/// it is not listed, and the next month is the first owed.
#[test]
fn every_monthly_return_status_lists_can_be_produced() {
    for opening in ["2022-10-14", "2022-10-31", "2022-10-03"] {
        let l = Ledger::new();
        import(&l, &issuer(opening));
        let out = l.run(&[
            "status",
            "--issuer",
            ISSUER,
            "--now",
            "2023-01-20T12:00:00+08:00",
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "status: {}", text(&out.stderr));
        let s: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
        let months: Vec<String> = s["returns_due"]
            .as_array()
            .expect("returns_due")
            .iter()
            .filter(|r| r["form"] == "monthly")
            .map(|r| r["date"].as_str().expect("date")[..7].to_string())
            .collect();
        assert_eq!(
            months,
            vec!["2022-11", "2022-12", "2023-01"],
            "opening {opening}"
        );
        for month in &months {
            let out = l.run(&["return", "monthly", "--issuer", ISSUER, "--month", month]);
            assert!(
                out.status.success(),
                "opening {opening}: the Monthly Return for {month} status lists cannot be produced: {}",
                text(&out.stderr)
            );
        }
        // And the month of the opening itself is refused, saying why.
        let out = l.run(&[
            "return", "monthly", "--issuer", ISSUER, "--month", "2022-10",
        ]);
        if opening != "2022-10-31" {
            assert!(!out.status.success(), "opening {opening}: October produced");
        }
    }
}
