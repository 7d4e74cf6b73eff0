//! Every document rendered in every format, checked two ways: golden
//! snapshots (`tests/snapshots/`, reviewed by hand and committed) and the key
//! figures of the filed forms, which must appear whatever the layout.
//!
//! The documents are built through the library as the command line builds
//! them: JSON lines read with `parse_line`, completed with a fixed clock,
//! judged and applied by `Register::execute`, then `nddr::nddr` and
//! `monthly::monthly`.
//!
//! To review a changed rendering: `INSTA_UPDATE=always cargo test -p
//! shareledger-returns --test render`, then read the `.snap` diff in git.

use chrono::{DateTime, Duration, NaiveDate};
use shareledger_core::{parse_line, IssuerState, Register};
use shareledger_returns::balance::balance;
use shareledger_returns::document::{MonthlyReturn, Nddr};
use shareledger_returns::monthly::{monthly, MonthlyRequest};
use shareledger_returns::nddr::{nddr, NddrRequest};
use shareledger_returns::render::{render, DocKind, Format};
use uuid::Uuid;

/// The example ledger of the two seed filings.
const SEED: &str = include_str!("../../../examples/ainnovation-2022.jsonl");

/// A small treasury-era ledger (from June 2024: FF305, and the Monthly
/// Return's treasury columns). Baozun's opening figures; the rest is made up
/// to touch every part of the forms: an option exercise with a price, a sale
/// of treasury shares, a repurchase for cancellation that is then cancelled,
/// a repurchase into treasury, and a repurchase still pending cancellation.
const TREASURY_ERA: &str = r#"
{"type": "issuer_registered", "issuer": "01234", "name": "Harbour Example Holdings Limited", "description": "(incorporated in the Cayman Islands with limited liability)", "primary_listing": true, "signatory": {"name": "Chan Tai Man", "title": "Company Secretary"}, "recorded_at": "2024-07-01T09:00:00+08:00"}
{"type": "share_class_defined", "issuer": "01234", "class": "ORD", "class_of_shares": "Ordinary shares", "stock_code": "01234", "par_value": {"currency": "USD", "amount": "0.0001"}, "authorised_shares": 2000000000, "recorded_at": "2024-07-01T09:00:00+08:00"}
{"type": "opening_balance", "issuer": "01234", "class": "ORD", "date": "2024-06-30", "issued_shares": 168313204, "treasury_shares": 2507727, "recorded_at": "2024-07-01T09:00:00+08:00"}
{"type": "repurchase_mandate_granted", "issuer": "01234", "class": "ORD", "resolution_date": "2024-06-20", "issued_shares_at_resolution": 168313204, "explanatory_statement_date": "2024-05-20", "recorded_at": "2024-07-01T09:00:00+08:00"}
{"type": "share_option_scheme_adopted", "issuer": "01234", "class": "ORD", "scheme": "2022 Share Option Scheme", "adoption_date": "2022-06-15", "general_meeting_date": "2022-06-15", "outstanding_options": 1000000, "recorded_at": "2024-07-01T09:00:00+08:00"}
{"type": "shares_issued", "issuer": "01234", "class": "ORD", "date": "2024-07-02", "shares": 200000, "kind": "share_option_exercise", "scheme": "2022 Share Option Scheme", "currency": "HKD", "price": "8.50", "recorded_at": "2024-07-02T18:00:00+08:00"}
{"type": "treasury_shares_sold", "issuer": "01234", "class": "ORD", "trade_date": "2024-07-02", "shares": 20000, "currency": "HKD", "highest_price": "10.80", "lowest_price": "10.70", "total_received": "215000", "recorded_at": "2024-07-02T18:00:00+08:00"}
{"type": "shares_repurchased", "issuer": "01234", "class": "ORD", "trade_date": "2024-07-03", "shares": 100000, "currency": "HKD", "highest_price": "10.50", "lowest_price": "10.20", "total_paid": "1035000", "recorded_at": "2024-07-03T18:00:00+08:00"}
{"type": "shares_repurchased", "issuer": "01234", "class": "ORD", "trade_date": "2024-07-05", "shares": 150000, "purpose": "treasury", "currency": "HKD", "highest_price": "10.60", "lowest_price": "10.30", "total_paid": "1560000", "recorded_at": "2024-07-05T18:00:00+08:00"}
{"type": "repurchased_shares_cancelled", "issuer": "01234", "class": "ORD", "date": "2024-07-10", "shares": 100000, "recorded_at": "2024-07-10T18:00:00+08:00"}
{"type": "shares_repurchased", "issuer": "01234", "class": "ORD", "trade_date": "2024-07-12", "shares": 50000, "currency": "HKD", "highest_price": "10.40", "lowest_price": "10.40", "total_paid": "520000", "recorded_at": "2024-07-12T18:00:00+08:00"}
"#;

const FORMATS: [Format; 4] = [Format::Text, Format::Html, Format::Markdown, Format::Json];

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a test date")
}

/// Replay JSON lines into a register, as `shareledger import` does (blank
/// lines and `#` comments skipped), with a fixed clock and deterministic ids.
fn register(ledger: &str) -> Register {
    let clock = DateTime::parse_from_rfc3339("2025-01-02T09:00:00+08:00").expect("a time");
    let mut reg = Register::default();
    for (n, line) in ledger.lines().enumerate() {
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let incoming =
            parse_line(text).unwrap_or_else(|e| panic!("line {} does not parse: {e}", n + 1));
        let recorded = incoming.into_recorded(
            || Uuid::from_u128(0x5eed_0000 + n as u128),
            clock + Duration::minutes(n as i64),
            "tester",
        );
        reg.execute(recorded)
            .unwrap_or_else(|e| panic!("line {} refused: {e}", n + 1));
    }
    reg
}

fn issuer<'a>(reg: &'a Register, id: &str) -> &'a IssuerState {
    reg.issuer(id).expect("the issuer is registered")
}

fn seed_nddr() -> Nddr {
    let reg = register(SEED);
    nddr(
        issuer(&reg, "02121"),
        &NddrRequest {
            date: d("2022-11-07"),
            submitted: None,
            layout: None,
        },
    )
    .expect("the seed NDDR")
}

fn seed_monthly() -> MonthlyReturn {
    let reg = register(SEED);
    monthly(
        issuer(&reg, "02121"),
        &MonthlyRequest {
            year: 2022,
            month: 11,
            submitted: d("2022-12-02"),
        },
    )
    .expect("the seed Monthly Return")
}

fn ff305_nddr() -> Nddr {
    let reg = register(TREASURY_ERA);
    nddr(
        issuer(&reg, "01234"),
        &NddrRequest {
            date: d("2024-07-12"),
            submitted: Some(d("2024-07-12")),
            layout: None,
        },
    )
    .expect("the FF305 NDDR")
}

fn treasury_monthly() -> MonthlyReturn {
    let reg = register(TREASURY_ERA);
    monthly(
        issuer(&reg, "01234"),
        &MonthlyRequest {
            year: 2024,
            month: 7,
            submitted: d("2024-08-02"),
        },
    )
    .expect("the July 2024 Monthly Return")
}

fn name(format: Format) -> &'static str {
    match format {
        Format::Text => "text",
        Format::Html => "html",
        Format::Markdown => "md",
        Format::Json => "json",
    }
}

/// Every `figure` appears in the rendering.
#[track_caller]
fn assert_has(what: &str, format: Format, out: &str, figures: &[&str]) {
    for figure in figures {
        assert!(
            out.contains(figure),
            "{what} ({}) lacks `{figure}`:\n{out}",
            name(format)
        );
    }
}

/// A self-contained page: no network, no script, no external asset; the
/// print CSS the brief asks for.
#[track_caller]
fn assert_self_contained(what: &str, html: &str) {
    for banned in [
        "http://", "https://", "src=", "<script", "<link", "@import", "url(", "<iframe",
    ] {
        assert!(
            !html.contains(banned),
            "{what}: HTML must be self-contained, found `{banned}`"
        );
    }
    assert!(html.starts_with("<!DOCTYPE html>"), "{what}: doctype");
    assert!(html.trim_end().ends_with("</html>"), "{what}: closed");
    for needed in ["size: A4", "margin: 15mm", "page-break-inside: avoid"] {
        assert!(html.contains(needed), "{what}: CSS lacks `{needed}`");
    }
    assert_eq!(
        html.matches("<table").count(),
        html.matches("</table>").count()
    );
    assert_eq!(html.matches("<tr").count(), html.matches("</tr>").count());
}

/// No unrendered template syntax, and the output ends with a newline.
#[track_caller]
fn assert_clean(what: &str, format: Format, out: &str) {
    for tag in ["{{", "}}", "{%", "%}"] {
        assert!(
            !out.contains(tag),
            "{what} ({}): template syntax leaked: `{tag}`",
            name(format)
        );
    }
    // The text templates are not this file's to change: they end without one.
    if format != Format::Text {
        assert!(
            out.ends_with('\n'),
            "{what} ({}): ends with a newline",
            name(format)
        );
    }
}

// ---- the seed NDDR -------------------------------------------------------------

const SEED_NDDR_FIGURES: &[&str] = &[
    "FF304",
    "07 November 2022",
    "559,304,838",
    "Opening balance as at (Note 2) 04 November 2022",
    "Closing balance as at (Note 8) 07 November 2022",
    "Date of changes 30 May 2022",
    "Date of changes 01 June 2022",
    "Date of changes 30 September 2022",
    "1,130,600",
    "0.20214 %",
    "0.00077 %",
    "A. Purchase report",
    "B. Additional information for issuer whose primary listing is on the Exchange",
    "On the Exchange",
    "HKD 21.55",
    "HKD 21.35",
    "HKD 92,569",
    "8,725,800",
    "1.56012 %",
    "Explanatory Statement dated 14 April 2022",
    "Xiao Lei",
    "Joint Company Secretary",
    "(Director, Secretary or other Duly Authorised Officer)",
];

#[test]
fn seed_nddr_in_every_format() {
    let doc = seed_nddr();
    for format in FORMATS {
        let out = render(DocKind::Nddr, &doc, format);
        if format == Format::Json {
            let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
            assert_eq!(v["form"], "FF304");
            assert_eq!(
                v["section_i"][0]["events"].as_array().map(Vec::len),
                Some(22)
            );
            continue;
        }
        assert_clean("seed NDDR", format, &out);
        assert_has("seed NDDR", format, &out, SEED_NDDR_FIGURES);
        assert_eq!(
            out.matches("Repurchase of shares (or other securities) but not cancelled")
                .count(),
            22,
            "the seed NDDR has 22 lines ({})",
            name(format)
        );
        // The lines are in date order.
        let first = out.find("30 May 2022").expect("first line");
        let last = out
            .rfind("Date of changes 07 November 2022")
            .expect("last line");
        assert!(first < last);
    }
}

#[test]
fn seed_nddr_text_snapshot() {
    insta::assert_snapshot!(
        "seed_nddr_text",
        render(DocKind::Nddr, &seed_nddr(), Format::Text)
    );
}

#[test]
fn seed_nddr_html_snapshot() {
    let html = render(DocKind::Nddr, &seed_nddr(), Format::Html);
    assert_self_contained("seed NDDR", &html);
    // Autoescape is on: the apostrophe of the legal description is escaped.
    assert!(html.contains("People&#x27;s Republic of China"));
    insta::assert_snapshot!("seed_nddr_html", html);
}

#[test]
fn seed_nddr_md_snapshot() {
    insta::assert_snapshot!(
        "seed_nddr_md",
        render(DocKind::Nddr, &seed_nddr(), Format::Markdown)
    );
}

// ---- the seed Monthly Return -----------------------------------------------------

const SEED_REMARKS: &str = "Repurchases of a total of 11,891,200 ordinary shares were made on 30, 31 May, 1, 2, 13, 14, 20, 21, 22, 23, 24, 28, 30 June, 6, 7, 8, 14, 21, 29 July, 30 September, 4, 7, 8, 9, 10, 11 and 18 November 2022 but such shares are not yet cancelled as at 30 November 2022.";

const SEED_MONTHLY_FIGURES: &[&str] = &[
    "FF301",
    "30 November 2022",
    "02 December 2022",
    "Hong Kong Exchanges and Clearing Limited",
    "I. Movements in Authorised / Registered Share Capital",
    "Balance at close of preceding month",
    "Balance at close of the month",
    "559,304,838",
    "RMB 559,304,838",
    "II. Movements in Issued Shares",
    "III. Details of Movements in Issued Shares",
    "(A). Share Options (under Share Option Schemes of the Issuer)",
    "(B). Warrants to Issue Shares of the Issuer which are to be Listed",
    "(C). Convertibles (i.e. Convertible into Issue Shares of the Issuer which are to be Listed)",
    "(D). Any other Agreements or Arrangements to Issue Shares of the Issuer which are to be listed, including Options (other than Share Options Schemes)",
    "(E). Other Movements in Issued Share",
    "Not applicable",
    "Repurchase of shares",
    "10 May 2022",
    "-11,891,200",
    "Remarks:",
    SEED_REMARKS,
    "IV. Information about Hong Kong Depositary Receipt (HDR)",
    "V. Confirmations",
    "Submitted by:",
    "Xiao Lei",
    "Joint Company Secretary",
];

#[test]
fn seed_monthly_in_every_format() {
    let doc = seed_monthly();
    for format in FORMATS {
        let out = render(DocKind::Monthly, &doc, format);
        if format == Format::Json {
            let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
            assert_eq!(v["remarks"], SEED_REMARKS);
            continue;
        }
        assert_clean("seed Monthly Return", format, &out);
        assert_has("seed Monthly Return", format, &out, SEED_MONTHLY_FIGURES);
        // Before June 2024 there is no treasury column.
        assert!(
            !out.contains("Number of treasury shares"),
            "no treasury columns in 2022 ({})",
            name(format)
        );
        if format != Format::Text {
            // (A) to (D) say "Not applicable"; (E) has the repurchase line.
            assert!(
                out.matches("Not applicable").count() >= 5,
                "{}",
                name(format)
            );
        }
    }
}

#[test]
fn seed_monthly_text_snapshot() {
    insta::assert_snapshot!(
        "seed_monthly_text",
        render(DocKind::Monthly, &seed_monthly(), Format::Text)
    );
}

#[test]
fn seed_monthly_html_snapshot() {
    let html = render(DocKind::Monthly, &seed_monthly(), Format::Html);
    assert_self_contained("seed Monthly Return", &html);
    insta::assert_snapshot!("seed_monthly_html", html);
}

#[test]
fn seed_monthly_md_snapshot() {
    insta::assert_snapshot!(
        "seed_monthly_md",
        render(DocKind::Monthly, &seed_monthly(), Format::Markdown)
    );
}

// ---- an FF305 NDDR (from 11 June 2024) ------------------------------------------

const FF305_FIGURES: &[&str] = &[
    "FF305",
    "Harbour Example Holdings Limited",
    "12 July 2024",
    "Opening balance as at (Note 1) 30 June 2024",
    "Closing balance as at (Notes 5 and 6) 12 July 2024",
    "168,313,204",
    "2,507,727",
    "170,820,931",
    "168,283,204",
    "2,637,727",
    "170,920,931",
    "Exercise of share options",
    "2022 Share Option Scheme",
    "HKD 8.50",
    "Sale of treasury shares",
    "Repurchase of shares (shares held as treasury shares)",
    "Repurchase of shares (shares repurchased and cancelled)",
    "-150,000",
    "-100,000",
    "Date of changes 05 July 2024",
    "B. Shares redeemed or repurchased for cancellation but not yet cancelled as at the closing balance date (Notes 5 and 6)",
    "Shares repurchased for cancellation but not yet cancelled",
    "Date of changes 12 July 2024",
    "50,000",
    "Repurchase report",
    "HKD 1,035,000",
    "HKD 3,115,000",
    "Number of shares repurchased for cancellation",
    "Number of shares repurchased for holding as treasury shares",
    "20 June 2024",
    "16,831,320",
    "under the repurchase mandate (a)",
    "300,000",
    "0.17824 %",
    "Up to 11 August 2024",
    "Explanatory Statement dated 20 May 2024",
    "Section III",
    "HKD 215,000",
    "Chan Tai Man",
];

#[test]
fn ff305_nddr_in_every_format() {
    let doc = ff305_nddr();
    assert_eq!(doc.form, "FF305");
    for format in FORMATS {
        let out = render(DocKind::Nddr, &doc, format);
        if format == Format::Json {
            let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
            assert_eq!(v["form"], "FF305");
            assert_eq!(
                v["section_ii"][0]["mandate"]["moratorium_until"],
                "2024-08-11"
            );
            continue;
        }
        assert_clean("FF305 NDDR", format, &out);
        assert_has("FF305 NDDR", format, &out, FF305_FIGURES);
        assert!(
            !out.contains("but not cancelled\n") && !out.contains("(or other securities)"),
            "FF305 has no FF304 carried lines ({})",
            name(format)
        );
    }
}

#[test]
fn ff305_nddr_text_snapshot() {
    insta::assert_snapshot!(
        "ff305_nddr_text",
        render(DocKind::Nddr, &ff305_nddr(), Format::Text)
    );
}

#[test]
fn ff305_nddr_html_snapshot() {
    let html = render(DocKind::Nddr, &ff305_nddr(), Format::Html);
    assert_self_contained("FF305 NDDR", &html);
    insta::assert_snapshot!("ff305_nddr_html", html);
}

#[test]
fn ff305_nddr_md_snapshot() {
    insta::assert_snapshot!(
        "ff305_nddr_md",
        render(DocKind::Nddr, &ff305_nddr(), Format::Markdown)
    );
}

// ---- a treasury-era Monthly Return (months from June 2024) ----------------------

const TREASURY_MONTHLY_FIGURES: &[&str] = &[
    "FF301",
    "31 July 2024",
    "02 August 2024",
    "2,000,000,000",
    "II. Movements in Issued Shares and/or Treasury Shares",
    "Number of issued shares (excluding treasury shares)",
    "Number of treasury shares",
    "Total number of issued shares",
    "168,313,204",
    "2,507,727",
    "170,820,931",
    "168,283,204",
    "2,637,727",
    "170,920,931",
    "-30,000",
    "130,000",
    "III. Details of Movements in Issued Shares and/or Treasury Shares",
    "2022 Share Option Scheme",
    "1,000,000",
    "800,000",
    "200,000",
    "HKD 1,700,000",
    "(E). Other Movements in Issued Shares and/or Treasury Shares",
    "Sale of treasury shares",
    "Repurchase of shares (shares held as treasury shares)",
    "Repurchase of shares (shares repurchased and cancelled)",
    "10 July 2024",
    "20 June 2024",
    "-150,000",
    "150,000",
    "-50,000",
    "Repurchases of a total of 50,000 ordinary shares were made on 12 July 2024 but such shares are not yet cancelled as at 31 July 2024.",
    "Chan Tai Man",
];

#[test]
fn treasury_monthly_in_every_format() {
    let doc = treasury_monthly();
    assert!(doc.treasury_columns);
    for format in FORMATS {
        let out = render(DocKind::Monthly, &doc, format);
        if format == Format::Json {
            let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
            assert_eq!(v["treasury_columns"], true);
            continue;
        }
        assert_clean("treasury-era Monthly Return", format, &out);
        assert_has(
            "treasury-era Monthly Return",
            format,
            &out,
            TREASURY_MONTHLY_FIGURES,
        );
    }
}

#[test]
fn treasury_monthly_text_snapshot() {
    insta::assert_snapshot!(
        "treasury_monthly_text",
        render(DocKind::Monthly, &treasury_monthly(), Format::Text)
    );
}

#[test]
fn treasury_monthly_html_snapshot() {
    let html = render(DocKind::Monthly, &treasury_monthly(), Format::Html);
    assert_self_contained("treasury-era Monthly Return", &html);
    insta::assert_snapshot!("treasury_monthly_html", html);
}

#[test]
fn treasury_monthly_md_snapshot() {
    insta::assert_snapshot!(
        "treasury_monthly_md",
        render(DocKind::Monthly, &treasury_monthly(), Format::Markdown)
    );
}

// ---- balances, and escaping ------------------------------------------------------

#[test]
fn balance_in_every_format() {
    let reg = register(TREASURY_ERA);
    let doc = balance(issuer(&reg, "01234"), None, d("2024-07-31"), None).expect("balances");
    for format in FORMATS {
        let out = render(DocKind::Balance, &doc, format);
        if format == Format::Json {
            let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
            assert_eq!(v["classes"][0]["pending_cancellation"], 50_000);
            continue;
        }
        assert_has(
            "balance",
            format,
            &out,
            &[
                "01234",
                "31 July 2024",
                "ORD",
                "168,283,204",
                "2,637,727",
                "170,920,931",
                "50,000",
                "2,000,000,000",
            ],
        );
        if format == Format::Html {
            assert_self_contained("balance", &out);
        }
    }
}

#[test]
fn html_escapes_what_the_ledger_says_and_markdown_keeps_its_tables() {
    let hostile = TREASURY_ERA.replace(
        "Harbour Example Holdings Limited",
        "Harbour & <Example> | \\\"Holdings\\\" Limited",
    );
    let reg = register(&hostile);
    let doc = nddr(
        issuer(&reg, "01234"),
        &NddrRequest {
            date: d("2024-07-12"),
            submitted: None,
            layout: None,
        },
    )
    .expect("the NDDR");
    let html = render(DocKind::Nddr, &doc, Format::Html);
    assert!(html.contains("Harbour &amp; &lt;Example&gt; | &quot;Holdings&quot; Limited"));
    assert!(!html.contains("<Example>"));
    let md = render(DocKind::Nddr, &doc, Format::Markdown);
    assert!(md.contains(r#"Harbour & &lt;Example&gt; \| "Holdings" Limited"#));
}
