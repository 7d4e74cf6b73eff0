//! Acceptance: the seed filings reproduced from the example ledger, through
//! the `shareledger` binary (shared/spec/seed-acceptance.md). Every figure of
//! the filed NDDR of 7 November 2022 and Monthly Return for November 2022 of
//! Qingdao AInnovation (02121) is checked against `--format json`, and the
//! text rendering against the filed captions.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ok, run, seed_ledger, BIN};
use serde_json::{json, Value};

fn nddr_json(db: &Path) -> Value {
    let out = ok(
        db,
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
    );
    serde_json::from_str(&out).expect("one JSON document")
}

fn monthly_json(db: &Path) -> Value {
    let out = ok(
        db,
        &[
            "return",
            "monthly",
            "--issuer",
            "02121",
            "--month",
            "2022-11",
            "--submitted",
            "2022-12-02",
            "--format",
            "json",
        ],
    );
    serde_json::from_str(&out).expect("one JSON document")
}

/// A decimal text as an integer of 10^-12 units, exactly.
fn micro(text: &str) -> i128 {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    assert!(frac.len() <= 12, "too many decimals in {text}");
    let frac = format!("{frac:0<12}");
    let neg = int.starts_with('-');
    let v = int.trim_start_matches('-').parse::<i128>().expect("digits") * 10i128.pow(12)
        + frac.parse::<i128>().expect("digits");
    if neg {
        -v
    } else {
        v
    }
}

/// Whether `ours` agrees with the filed figure to within half a unit of the
/// filed figure's last digit (domain.md section 4).
fn agrees(ours: &str, filed: &str) -> bool {
    let decimals = filed.split_once('.').map_or(0, |(_, f)| f.len()) as u32;
    let half_unit = 5 * 10i128.pow(12 - decimals - 1);
    (micro(ours) - micro(filed)).abs() <= half_unit
}

/// The 22 lines of the filed NDDR: date, shares, filed %.
const FILED_LINES: [(&str, u64, &str); 22] = [
    ("2022-05-30", 1_130_600, "0.2"),
    ("2022-05-31", 263_700, "0.047"),
    ("2022-06-01", 2_116_600, "0.378"),
    ("2022-06-02", 1_621_500, "0.29"),
    ("2022-06-13", 106_800, "0.02"),
    ("2022-06-14", 126_000, "0.02"),
    ("2022-06-20", 262_500, "0.05"),
    ("2022-06-21", 108_700, "0.02"),
    ("2022-06-22", 80_000, "0.01"),
    ("2022-06-23", 76_600, "0.01"),
    ("2022-06-24", 54_800, "0.01"),
    ("2022-06-28", 562_100, "0.1"),
    ("2022-06-30", 1_300_000, "0.23"),
    ("2022-07-06", 69_300, "0.01"),
    ("2022-07-07", 364_900, "0.07"),
    ("2022-07-08", 164_700, "0.03"),
    ("2022-07-14", 66_100, "0.01"),
    ("2022-07-21", 76_500, "0.01"),
    ("2022-07-29", 82_700, "0.01"),
    ("2022-09-30", 37_700, "0.0067"),
    ("2022-11-04", 49_700, "0.0089"),
    ("2022-11-07", 4_300, "0.0008"),
];

const LABEL: &str = "Repurchase of shares (or other securities) but not cancelled";

#[test]
fn the_agreement_rule_itself() {
    assert!(agrees("0.20214", "0.2"));
    assert!(agrees("0.00077", "0.0008"));
    assert!(agrees("0.0191", "0.02"));
    assert!(!agrees("0.0149", "0.02"));
    assert!(agrees("0.00085", "0.0008"));
    assert!(!agrees("0.00086", "0.0008"));
    assert!(agrees("1.56012", "1.56"));
    assert!(!agrees("1.566", "1.56"));
}

#[test]
fn the_seed_nddr_of_7_november_2022_figure_by_figure() {
    let (_dir, db) = seed_ledger();
    let doc = nddr_json(&db);

    assert_eq!(doc["form"], "FF304");
    assert_eq!(doc["date_submitted"], "2022-11-07");
    assert_eq!(doc["issuer"]["id"], "02121");
    assert_eq!(
        doc["issuer"]["name"],
        "Qingdao AInnovation Technology Group Co., Ltd (a joint stock company incorporated \
         in the People's Republic of China with limited liability)"
    );

    // Section I, class H.
    let sections = doc["section_i"].as_array().expect("section_i");
    assert_eq!(sections.len(), 1);
    let s = &sections[0];
    assert_eq!(s["class"], "H");
    assert_eq!(
        s["opening_balance"],
        json!({"date": "2022-11-04", "issued_excluding_treasury": 559_304_838,
               "treasury": 0, "total": 559_304_838})
    );
    let lines = s["events"].as_array().expect("events");
    assert_eq!(lines.len(), 22, "the filed NDDR has 22 lines");
    for (i, (line, (date, shares, filed_pct))) in lines.iter().zip(FILED_LINES).enumerate() {
        let n = i + 1;
        assert_eq!(line["label"], LABEL, "line {n}");
        assert_eq!(line["date"], date, "line {n}");
        assert_eq!(line["shares"], shares, "line {n}");
        assert_eq!(line["issued_change"], 0, "line {n}");
        assert_eq!(line["treasury_change"], 0, "line {n}");
        let pct = line["percent"]
            .as_str()
            .unwrap_or_else(|| panic!("line {n} has no %"));
        assert!(
            agrees(pct, filed_pct),
            "line {n} ({date}): {pct}% does not agree with the filed {filed_pct}%"
        );
    }
    assert_eq!(
        s["closing_balance"],
        json!({"date": "2022-11-07", "issued_excluding_treasury": 559_304_838,
               "treasury": 0, "total": 559_304_838})
    );
    assert_eq!(s["pending_cancellation"], json!([]));
    // Closing = opening + the lines' changes.
    let issued_change: i64 = lines
        .iter()
        .map(|l| l["issued_change"].as_i64().expect("a number"))
        .sum();
    assert_eq!(
        s["opening_balance"]["issued_excluding_treasury"]
            .as_i64()
            .expect("a number")
            + issued_change,
        s["closing_balance"]["issued_excluding_treasury"]
            .as_i64()
            .expect("a number")
    );

    // Section II.
    let s2 = &doc["section_ii"][0];
    assert_eq!(doc["section_ii"].as_array().map(Vec::len), Some(1));
    assert_eq!(s2["class"], "H");
    assert_eq!(
        s2["repurchases"],
        json!([{"trading_date": "2022-11-07", "shares": 4300, "method": "On the Exchange",
                "highest_price": {"currency": "HKD", "amount": "21.55"},
                "lowest_price": {"currency": "HKD", "amount": "21.35"},
                "total_paid": {"currency": "HKD", "amount": "92569"}}])
    );
    assert_eq!(s2["total_shares"], 4300);
    assert_eq!(
        s2["total_paid"],
        json!({"currency": "HKD", "amount": "92569"})
    );
    assert_eq!(s2["for_cancellation"], 4300);
    assert_eq!(s2["for_treasury"], 0);
    let m = &s2["mandate"];
    assert_eq!(m["resolution_date"], "2022-05-10");
    assert_eq!(m["repurchased_under_mandate"], 8_725_800);
    let pct = m["percent"].as_str().expect("a mandate %");
    assert!(
        agrees(pct, "1.56"),
        "mandate % {pct} does not round to 1.56"
    );
    assert_eq!(m["explanatory_statement_date"], "2022-04-14");
    assert_eq!(doc["section_iii"], json!([]));
    assert_eq!(
        doc["signatory"],
        json!({"name": "Xiao Lei", "title": "Joint Company Secretary"})
    );
}

#[test]
fn the_seed_monthly_return_for_november_2022_figure_by_figure() {
    let (_dir, db) = seed_ledger();
    let doc = monthly_json(&db);

    assert_eq!(doc["form"], "FF301");
    assert_eq!(doc["month_ended"], "2022-11-30");
    assert_eq!(doc["date_submitted"], "2022-12-02");
    assert_eq!(doc["issuer"]["id"], "02121");

    // I.
    let a = &doc["authorised"];
    assert_eq!(a.as_array().map(Vec::len), Some(1));
    let rmb = |n: &str| json!({"currency": "RMB", "amount": n});
    assert_eq!(a[0]["class"], "H");
    assert_eq!(a[0]["preceding"], 559_304_838);
    assert_eq!(a[0]["change"], Value::Null);
    assert_eq!(a[0]["closing"], 559_304_838);
    assert_eq!(a[0]["par_value"], rmb("1"));
    assert_eq!(a[0]["capital_preceding"], rmb("559304838"));
    assert_eq!(a[0]["capital_closing"], rmb("559304838"));
    assert_eq!(doc["total_authorised_capital"], json!([rmb("559304838")]));

    // II.
    let i = &doc["issued"];
    assert_eq!(i.as_array().map(Vec::len), Some(1));
    assert_eq!(i[0]["class"], "H");
    let cols = |n: i64| json!({"issued_excluding_treasury": n, "treasury": 0, "total": n});
    assert_eq!(i[0]["preceding"], cols(559_304_838));
    assert_eq!(i[0]["change"], cols(0));
    assert_eq!(i[0]["closing"], cols(559_304_838));

    // III.
    let mv = &doc["movements"];
    for part in [
        "share_options",
        "warrants",
        "convertibles",
        "other_arrangements",
    ] {
        assert_eq!(mv[part], json!([]), "({part}) is not applicable");
    }
    assert_eq!(
        mv["other"],
        json!([{"type": "Repurchase of shares", "class": "H", "date": null,
                "general_meeting_date": "2022-05-10", "price": null,
                "issued_during_month": null, "treasury_during_month": null,
                "issuable_at_close": -11_891_200}])
    );
    assert_eq!(
        doc["total_change"],
        json!([{"class": "H", "issued_excluding_treasury": 0, "treasury": 0}])
    );
    assert_eq!(
        doc["remarks"],
        "Repurchases of a total of 11,891,200 ordinary shares were made on 30, 31 May, 1, 2, 13, \
         14, 20, 21, 22, 23, 24, 28, 30 June, 6, 7, 8, 14, 21, 29 July, 30 September, 4, 7, 8, 9, \
         10, 11 and 18 November 2022 but such shares are not yet cancelled as at 30 November 2022."
    );
}

#[test]
fn a_later_nddr_needs_the_prices_the_filings_never_gave_and_says_which_event() {
    let (_dir, db) = seed_ledger();
    // 8 November 2022: recorded without prices (the filings do not give them).
    let out = run(
        &db,
        &[
            "return",
            "nddr",
            "--issuer",
            "02121",
            "--date",
            "2022-11-08",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("755d6d15-4bfb-5bce-9347-6a96787644c5") && err.contains("2022-11-08"),
        "{err}"
    );
    assert!(err.contains("log position"), "{err}");
}

#[test]
fn the_text_renderings_read_like_the_filed_forms() {
    let (_dir, db) = seed_ledger();
    let nddr = ok(
        &db,
        &[
            "return",
            "nddr",
            "--issuer",
            "02121",
            "--date",
            "2022-11-07",
        ],
    );
    for caption in [
        "Next Day Disclosure Return",
        "Opening balance as at (Note 2) 04 November 2022",
        "559,304,838",
        "Date of changes 30 May 2022",
        "1,130,600",
        "07 November 2022",
        "Closing balance as at (Note 8) 07 November 2022",
        "HKD 92,569",
        "HKD 21.55",
        "HKD 21.35",
        "8,725,800",
        "Explanatory Statement dated 14 April 2022",
        "Xiao Lei",
        "Joint Company Secretary",
    ] {
        assert!(
            nddr.contains(caption),
            "the NDDR text lacks {caption:?}:\n{nddr}"
        );
    }
    let monthly = ok(
        &db,
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
    );
    for caption in [
        "For the month ended: 30 November 2022",
        "Date Submitted: 02 December 2022",
        "559,304,838",
        "RMB 559,304,838",
        "10 May 2022",
        "-11,891,200",
        "Not applicable",
        "Repurchases of a total of 11,891,200 ordinary shares were made on 30, 31 May",
    ] {
        assert!(
            monthly.contains(caption),
            "the Monthly Return text lacks {caption:?}:\n{monthly}"
        );
    }
}

#[test]
fn the_demo_prints_both_returns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(BIN)
        .arg("demo")
        .current_dir(dir.path())
        .env_remove("SHARELEDGER_DB")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(text.contains("Next Day Disclosure Return"), "{text}");
    assert!(text.contains("Monthly Return"), "{text}");
    assert!(text.contains("Opening balance as at (Note 2) 04 November 2022"));
    assert!(text.contains("For the month ended: 30 November 2022"));
    // The demo writes nothing where it runs.
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("readable").count(),
        0,
        "the demo left files in its working directory"
    );

    // And its JSON is the two documents of the seed.
    let out = Command::new(BIN)
        .args(["demo", "--format", "json"])
        .current_dir(dir.path())
        .env_remove("SHARELEDGER_DB")
        .output()
        .expect("the binary runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("JSON documents");
    let forms: Vec<&str> = docs.iter().filter_map(|d| d["form"].as_str()).collect();
    assert_eq!(forms, ["FF304", "FF301"]);
}
