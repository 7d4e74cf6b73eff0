//! The share-capital events of issue #13 rendered in every format: a
//! treasury-era ledger with a WVR-style reclassification, a consolidation,
//! warrants, convertibles and another arrangement, its FF305 NDDR and its
//! Monthly Return as golden snapshots (`tests/snapshots/`), and the figures
//! each rendering must show whatever its layout.
//!
//! To review a changed rendering: `INSTA_UPDATE=always cargo test -p
//! shareledger-returns --test render_events`, then read the `.snap` diff.

use chrono::{DateTime, Duration, NaiveDate};
use shareledger_core::rules::NddrLayout;
use shareledger_core::{parse_line, Register};
use shareledger_returns::document::{MonthlyReturn, Nddr};
use shareledger_returns::monthly::{monthly, MonthlyRequest};
use shareledger_returns::nddr::{nddr, NddrRequest};
use shareledger_returns::render::{render, DocKind, Format};
use uuid::Uuid;

const LEDGER: &str = r#"
{"type": "issuer_registered", "issuer": "09988", "name": "Harbour Dual Class Holdings Limited", "description": "A company controlled through weighted voting rights and incorporated in the Cayman Islands with limited liability", "signatory": {"name": "Chan Tai Man", "title": "Company Secretary"}}
{"type": "share_class_defined", "issuer": "09988", "class": "A", "class_of_shares": "Class A ordinary shares", "stock_code": "09988", "par_value": {"currency": "HKD", "amount": "0.1"}, "authorised_shares": 2000000000}
{"type": "share_class_defined", "issuer": "09988", "class": "B", "class_of_shares": "Class B ordinary shares", "listed": false, "par_value": {"currency": "HKD", "amount": "0.1"}, "authorised_shares": 200000000}
{"type": "opening_balance", "issuer": "09988", "class": "A", "date": "2024-06-30", "issued_shares": 1000000000}
{"type": "opening_balance", "issuer": "09988", "class": "B", "date": "2024-06-30", "issued_shares": 100000000}
{"type": "repurchase_mandate_granted", "issuer": "09988", "class": "A", "resolution_date": "2024-06-20", "issued_shares_at_resolution": 1000000000, "explanatory_statement_date": "2024-05-20"}
{"type": "instrument_issued", "issuer": "09988", "class": "A", "instrument": "2024 Warrants", "kind": "warrant", "date": "2024-07-02", "currency": "HKD", "amount": "10000000", "price": "2.50", "shares_issuable": 10000000, "general_meeting_date": "2024-06-20", "expiry_date": "2026-07-01", "stock_code": "01937", "description": "Listed warrants, one share per warrant"}
{"type": "instrument_issued", "issuer": "09988", "class": "A", "instrument": "2027 Bonds", "kind": "convertible", "date": "2024-06-01", "currency": "HKD", "amount": "100000000", "price": "5", "shares_issuable": 20000000, "description": "HK$100,000,000 3.5% convertible bonds due 2027"}
{"type": "instrument_issued", "issuer": "09988", "class": "A", "instrument": "Subscription agreement", "kind": "other_arrangement", "date": "2024-07-05", "shares_issuable": 1000000, "description": "Subscription agreement with Harbour Capital dated 5 July 2024"}
{"type": "shares_issued", "issuer": "09988", "class": "A", "date": "2024-07-08", "shares": 3000000, "kind": "warrant_exercise", "scheme": "2024 Warrants"}
{"type": "shares_issued", "issuer": "09988", "class": "A", "date": "2024-07-09", "shares": 2000000, "kind": "conversion", "scheme": "2027 Bonds"}
{"type": "shares_reclassified", "issuer": "09988", "from_class": "B", "to_class": "A", "date": "2024-07-10", "shares": 5000000, "description": "Conversion of Class B ordinary shares to Class A ordinary shares"}
{"type": "shares_issued", "issuer": "09988", "class": "A", "date": "2024-07-11", "shares": 400000, "kind": "other", "scheme": "Subscription agreement", "currency": "HKD", "price": "4.00"}
{"type": "shares_repurchased", "issuer": "09988", "class": "A", "trade_date": "2024-07-12", "shares": 1000000, "currency": "HKD", "highest_price": "4.10", "lowest_price": "4.00", "total_paid": "4050000"}
{"type": "capital_reorganised", "issuer": "09988", "class": "B", "date": "2024-07-15", "kind": "consolidation", "ratio_from": 10, "ratio_to": 1, "issued_shares_after": 9500000, "par_value_after": {"currency": "HKD", "amount": "1"}, "general_meeting_date": "2024-07-10"}
{"type": "instrument_cancelled", "issuer": "09988", "instrument": "2024 Warrants", "date": "2024-07-31", "shares_issuable": 1000000, "reason": "lapsed"}
"#;

const FORMATS: [Format; 4] = [Format::Text, Format::Html, Format::Markdown, Format::Json];

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a test date")
}

fn register() -> Register {
    let clock = DateTime::parse_from_rfc3339("2025-01-02T09:00:00+08:00").expect("a time");
    let mut reg = Register::default();
    for (n, line) in LEDGER.lines().enumerate() {
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let incoming =
            parse_line(text).unwrap_or_else(|e| panic!("line {} does not parse: {e}", n + 1));
        let recorded = incoming.into_recorded(
            || Uuid::from_u128(0xe7e0_0000 + n as u128),
            clock + Duration::minutes(n as i64),
            "tester",
        );
        reg.execute(recorded)
            .unwrap_or_else(|e| panic!("line {} refused: {e}", n + 1));
    }
    reg
}

fn the_nddr(layout: Option<NddrLayout>) -> Nddr {
    let reg = register();
    nddr(
        reg.issuer("09988").expect("registered"),
        &NddrRequest {
            date: d("2024-07-15"),
            submitted: Some(d("2024-07-15")),
            layout,
        },
    )
    .expect("the NDDR")
}

fn the_monthly() -> MonthlyReturn {
    let reg = register();
    monthly(
        reg.issuer("09988").expect("registered"),
        &MonthlyRequest {
            year: 2024,
            month: 7,
            submitted: d("2024-08-02"),
        },
    )
    .expect("the Monthly Return")
}

/// What a reader sees: the HTML without its tags and entities.
fn as_read(format: Format, out: &str) -> String {
    if format != Format::Html {
        return out.to_string();
    }
    let mut text = String::new();
    let mut in_tag = false;
    for c in out.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&amp;", "&")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
}

/// Every figure is in the rendering; in the text rendering a long label
/// wraps inside its column, with the line's figures between its parts, so
/// there the figure's words must come in order, each line of the text
/// holding a run of them.
fn assert_has(what: &str, format: Format, out: &str, figures: &[&str]) {
    let read = as_read(format, out);
    for f in figures {
        let found = read.contains(f) || (format == Format::Text && words_in_order(&read, f));
        assert!(found, "{what} ({format:?}) lacks `{f}`");
    }
}

/// Whether the words of `figure` appear in `text` in order, starting a
/// line's label and continuing on the wrapped line below it (the other
/// columns' cells lie between: at most 40 words in all).
fn words_in_order(text: &str, figure: &str) -> bool {
    let words: Vec<&str> = figure.split_whitespace().collect();
    let tokens: Vec<&str> = text.split_whitespace().collect();
    (0..tokens.len()).any(|start| {
        if tokens[start] != words[0] {
            return false;
        }
        let mut i = 0;
        for t in tokens[start..].iter().take(words.len() + 40) {
            if i < words.len() && *t == words[i] {
                i += 1;
            }
        }
        i == words.len()
    })
}

const NDDR_FIGURES: &[&str] = &[
    "FF305",
    "Harbour Dual Class Holdings Limited (A company controlled through weighted voting rights",
    "Exercise of warrants",
    "2024 Warrants",
    "Conversion of convertible securities",
    "2027 Bonds",
    "Other (please specify)",
    "Conversion of Class B ordinary shares to Class A ordinary shares",
    "Subscription agreement",
    "Capital reorganisation",
    "Consolidation of every 10 shares into 1 share",
    "5,000,000",
    "-5,000,000",
    "9,500,000",
    "-85,500,000",
    "1,010,400,000",
];

const MONTHLY_FIGURES: &[&str] = &[
    "FF301",
    "200,000,000",
    "20,000,000",
    "-180,000,000",
    "0.1",
    "2024 Warrants",
    "Listed warrants, one share per warrant",
    "01937",
    "01 July 2026",
    "10,000,000",
    "6,000,000",
    "HKD 7,500,000",
    "2027 Bonds",
    "100,000,000",
    "-10,000,000",
    "90,000,000",
    "18,000,000",
    "Subscription agreement",
    "600,000",
    "HKD 1,600,000",
    "Other (Conversion of Class B ordinary shares to Class A ordinary shares)",
    "Capital reorganisation (Consolidation of every 10 shares into 1 share)",
    "10 July 2024",
    "-85,500,000",
];

#[test]
fn the_nddr_shows_every_new_event_in_every_format() {
    let doc = the_nddr(None);
    assert_eq!(doc.form, "FF305");
    for format in FORMATS {
        let out = render(DocKind::Nddr, &doc, format);
        if format == Format::Json {
            let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
            let b = &v["section_i"][1];
            assert_eq!(b["class"], "B");
            assert_eq!(b["events"][1]["label"], "Capital reorganisation");
            assert_eq!(b["events"][1]["issued_change"], -85_500_000);
            assert_eq!(b["closing_balance"]["issued_excluding_treasury"], 9_500_000);
            continue;
        }
        assert_has("FF305 NDDR", format, &out, NDDR_FIGURES);
    }
    // The FF304 layout (asked for) prints the same lines with its own labels' wording.
    let ff304 = the_nddr(Some(NddrLayout::Ff304));
    for format in [Format::Text, Format::Html, Format::Markdown] {
        let out = render(DocKind::Nddr, &ff304, format);
        assert_has(
            "FF304 NDDR",
            format,
            &out,
            &[
                "Capital reorganisation",
                "Conversion of Class B ordinary shares to Class A ordinary shares",
                "Exercise of warrants",
            ],
        );
    }
}

#[test]
fn the_monthly_return_shows_every_new_event_in_every_format() {
    let doc = the_monthly();
    for format in FORMATS {
        let out = render(DocKind::Monthly, &doc, format);
        if format == Format::Json {
            let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
            assert_eq!(
                v["movements"]["warrants"][0]["issuable_at_close"],
                6_000_000
            );
            assert_eq!(
                v["movements"]["convertibles"][0]["amount_movement"],
                "-10000000"
            );
            assert_eq!(v["authorised"][1]["par_value"]["amount"], "1");
            continue;
        }
        assert_has("Monthly Return", format, &out, MONTHLY_FIGURES);
    }
}

#[test]
fn nddr_snapshots() {
    let doc = the_nddr(None);
    insta::assert_snapshot!(
        "events_nddr_text",
        render(DocKind::Nddr, &doc, Format::Text)
    );
    insta::assert_snapshot!(
        "events_nddr_md",
        render(DocKind::Nddr, &doc, Format::Markdown)
    );
    insta::assert_snapshot!(
        "events_nddr_html",
        render(DocKind::Nddr, &doc, Format::Html)
    );
    insta::assert_snapshot!(
        "events_nddr_json",
        render(DocKind::Nddr, &doc, Format::Json)
    );
}

#[test]
fn monthly_snapshots() {
    let doc = the_monthly();
    insta::assert_snapshot!(
        "events_monthly_text",
        render(DocKind::Monthly, &doc, Format::Text)
    );
    insta::assert_snapshot!(
        "events_monthly_md",
        render(DocKind::Monthly, &doc, Format::Markdown)
    );
    insta::assert_snapshot!(
        "events_monthly_html",
        render(DocKind::Monthly, &doc, Format::Html)
    );
    insta::assert_snapshot!(
        "events_monthly_json",
        render(DocKind::Monthly, &doc, Format::Json)
    );
}
