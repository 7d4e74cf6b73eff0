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
{"type": "share_class_defined", "issuer": "01234", "class": "ORD", "class_of_shares": "Ordinary shares", "stock_code": "01234", "multi_counter": [{"stock_code": "81234", "currency": "RMB"}], "par_value": {"currency": "USD", "amount": "0.0001"}, "authorised_shares": 2000000000, "recorded_at": "2024-07-01T09:00:00+08:00"}
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
        // As a reader sees it (the HTML keeps a date on one line with a span).
        assert_has("FF305 NDDR", format, &as_read(format, &out), FF305_FIGURES);
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

// ---- the FF305's fixed wording (shared/spec/forms/ff305.md) --------------------

/// The fixed captions of the FF305, as `forms/ff305.md` lists them (figures
/// and dates left out: a caption with a date in it is split around the date).
/// `every_ff305_caption_of_the_spec_is_listed_here` keeps this list in step
/// with the spec file whenever the spec is at hand.
const FF305_CAPTIONS: &[&str] = &[
    "FF305",
    "Next Day Disclosure Return",
    "(Equity issuer - changes in issued shares or treasury shares, share buybacks and/or on-market sales of treasury shares)",
    "Instrument: Equity issuer",
    "Status: New Submission",
    "Name of Issuer:",
    "Date Submitted:",
    r#"Section I must be completed by a listed issuer where there has been a change in its issued shares or treasury shares which is discloseable pursuant to rule 13.25A of the Rules Governing the Listing of Securities on The Stock Exchange of Hong Kong Limited (the "Exchange") (the "Main Board Rules") or rule 17.27A of the Rules Governing the Listing of Securities on GEM of the Exchange (the "GEM Rules")."#,
    "1. Class of shares",
    "Type of shares",
    "Listed on the Exchange",
    "Stock code (if listed)",
    "Description",
    "Multi-counter stock code",
    "A. Changes in issued shares or treasury shares",
    "Events",
    "Changes in issued shares (excluding treasury shares)",
    "Number of issued shares (excluding treasury shares)",
    "As a % of existing number of issued shares (excluding treasury shares) before the relevant event (Note 3)",
    "Changes in treasury shares",
    "Number of treasury shares",
    "Issue/ selling price per share (Note 4)",
    "Total number of issued shares",
    "Opening balance as at (Note 1)",
    "1).",
    "Date of changes",
    "Closing balance as at (Notes 5 and 6)",
    "B. Shares redeemed or repurchased for cancellation but not yet cancelled as at the closing balance date (Notes 5 and 6)",
    "Shares repurchased for cancellation but not yet cancelled",
    "%",
    "Pursuant to Main Board Rule 13.25C / GEM Rule 17.27C, we hereby confirm to the best knowledge, information and belief that, in relation to each issue of shares or sale or transfer of treasury shares as set out in Section I, it has been duly authorised by the board of directors of the listed issuer and carried out in compliance with all applicable listing rules, laws and other regulatory requirements and, insofar as applicable:",
    "(Note 7)",
    "all the securities of each class are in all respects identical (Note 8)",
    "Notes to Section I:",
    "Section II must also be completed by a listed issuer where it has made a repurchase of shares which is discloseable under Main Board Rule 10.06(4)(a) / GEM Rule 13.13(1).",
    "Repurchase report",
    "A. Repurchase report",
    "Trading date",
    "Number of shares repurchased",
    "Method of repurchase (Note 1)",
    "Repurchase price per share or highest repurchase price per share $",
    "Lowest repurchase price per share $",
    "Aggregate price paid $",
    "Total number of shares repurchased",
    "Number of shares repurchased for cancellation",
    "Number of shares repurchased for holding as treasury shares",
    "B. Additional information for issuer who has a primary listing on the Exchange",
    "Date of the resolution granting the repurchase mandate",
    "Total number of shares which the issuer is authorised to repurchase under the repurchase mandate",
    "Number of shares repurchased on the Exchange or another stock exchange under the repurchase mandate (a)",
    "As a % of number of issued shares (excluding treasury shares) as at the date of the resolution granting the repurchase mandate",
    "(a) x 100 / number of issued shares (excluding treasury shares) as at the date of the resolution granting the repurchase mandate",
    "Moratorium period for any issue of new shares, or sale or transfer of treasury shares after the share repurchase(s) set out in Part A (Note 2)",
    "Up to",
    "We hereby confirm that the repurchases made on the Exchange set out in Part A above were made in accordance with the Main Board Rules / GEM Rules and that there have been no material changes to the particulars contained in the Explanatory Statement dated",
    "which has been filed with the Exchange.",
    "Notes to Section II:",
    "Section III must also be completed by a listed issuer where it has made a sale of treasury shares on the Exchange or any other stock exchange on which the issuer is listed which is discloseable under Main Board Rule 10.06B / GEM Rule 13.14B.",
    "Report of on-market sale of treasury shares",
    "Submitted by:",
    "(Name)",
    "Title:",
    "(Director, Secretary or other Duly Authorised Officer)",
];

/// The captions of a return in which only Part B changed: Part A's one line
/// (ff305.md: "`Other (please specify)` with `Not applicable`, `0 %` and `0`"),
/// and Section III "Not applicable".
const FF305_PART_B_ONLY_CAPTIONS: &[&str] =
    &["Other (please specify)", "Not applicable", "0 %", "0"];

/// The FF305's notes, word for word.
const FF305_NOTES: &[&str] = &[
    "Please insert the closing balance date of the last Next Day Disclosure Return published pursuant to Main Board Rule 13.25A / GEM Rule 17.27A or Monthly Return pursuant to Main Board Rule 13.25B / GEM Rule 17.27B, whichever is the later.",
    "Please set out all changes in issued shares or treasury shares requiring disclosure pursuant to Main Board Rule 13.25A / GEM Rule 17.27A together with the relevant dates of changes. Each category will need to be disclosed individually with sufficient information to enable the user to identify the relevant category in the listed issuer's Monthly Return. For example, multiple issues of shares as a result of multiple exercises of share options under the same share option scheme or of multiple conversions under the same convertible note must be aggregated and disclosed as one category. However, if the issues resulted from exercises of share options under 2 share option schemes or conversions of 2 convertible notes, these must be disclosed as 2 separate categories.",
    "The percentage change in the number of issued shares (excluding treasury shares) of the listed issuer is to be calculated by reference to the opening balance of the number of issued shares (excluding treasury shares) being disclosed in this Next Day Disclosure Return.",
    r#"In the case of a share repurchase or redemption, the "issue/ selling price per share" shall be construed as "repurchase price per share" or "redemption price per share". Where shares have been issued/ sold/ repurchased/ redeemed at more than one price per share, a volume-weighted average price per share should be given."#,
    "The closing balance date is the date of the last relevant event being disclosed.",
    "For repurchase or redemption of shares, disclosure is required when the relevant event has occurred (subject to the provisions of Main Board Rules 10.06(4)(a), 13.25A and 13.31 / GEM Rules 13.13(1), 17.27A and 17.35), even if the repurchased or redeemed shares have not yet been cancelled. If repurchased or redeemed shares are to be cancelled upon settlement of such repurchase or redemption after the closing balance date, they shall remain part of the issued shares as at the closing balance date in Part A. Details of these repurchased or redeemed shares shall be disclosed in Part B.",
    "Items (i) to (viii) are suggested forms of confirmation. The listed issuer may amend the item(s) that is/are not applicable to meet individual cases.",
    r#""Identical" means in this context: the securities are of the same nominal value with the same amount called up or paid up; they are entitled to dividend/interest at the same rate and for the same period, so that at the next ensuing distribution, the dividend/interest payable per unit will amount to exactly the same sum (gross and net); and they carry the same rights as to unrestricted transfer, attendance and voting at meetings and rank pari passu in all other respects."#,
    "Please state whether the repurchase was made on the Exchange, on another stock exchange (stating the name of the exchange), by private arrangement or by general offer.",
    "Subject to the carve-out set out in Main Board Rule 10.06(3)(a)/ GEM Rule 13.12, an issuer may not (i) make a new issue of shares, or a sale or transfer of any treasury shares; or (ii) announce a proposed new issue of shares, or a sale or transfer of any treasury shares, for a period of 30 days after any purchase by it of shares, whether on the Exchange or otherwise, without the prior approval of the Exchange.",
];

/// A rendering as a reader sees it: HTML without its tags and with its
/// entities decoded, Markdown without its table and emphasis marks, every
/// run of white space one space.
fn as_read(format: Format, out: &str) -> String {
    let text = match format {
        Format::Html => {
            // The page's own text only: the <head> (title, CSS) left out.
            let body = out.split("<body").nth(1).unwrap_or(out);
            let mut text = String::with_capacity(body.len());
            let mut in_tag = true; // still inside `<body ...>`
            for c in body.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => {
                        in_tag = false;
                        text.push(' ');
                    }
                    _ if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.replace("&quot;", "\"")
                .replace("&#x27;", "'")
                .replace("&#x2f;", "/")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        }
        Format::Markdown => out
            .replace("**", "")
            .replace("<br>", " ")
            .replace("\\|", "\u{1}")
            .replace('|', " ")
            .replace('\u{1}', "|")
            .replace("&lt;", "<")
            .replace("&gt;", ">"),
        _ => out.to_string(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn ff305_part_b_only() -> Nddr {
    // An NDDR filed for 10 July: the return of 12 July discloses only the
    // repurchase of that day, still pending cancellation (Part B).
    let ledger = format!(
        "{TREASURY_ERA}\n{}",
        r#"{"type": "return_filed", "issuer": "01234", "form": "nddr", "date": "2024-07-10", "submitted_at": "2024-07-10T19:00:00+08:00", "recorded_at": "2024-07-12T19:00:00+08:00"}"#
    );
    let reg = register(&ledger);
    nddr(
        issuer(&reg, "01234"),
        &NddrRequest {
            date: d("2024-07-12"),
            submitted: None,
            layout: None,
        },
    )
    .expect("the FF305 NDDR of 12 July")
}

#[test]
fn ff305_renderings_carry_every_caption_and_note_of_the_form() {
    let doc = ff305_nddr();
    for format in [Format::Text, Format::Html, Format::Markdown] {
        let out = render(DocKind::Nddr, &doc, format);
        let read = as_read(format, &out);
        for caption in FF305_CAPTIONS.iter().chain(FF305_NOTES) {
            let caption = caption.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                read.contains(&caption),
                "FF305 ({}) lacks the form's caption `{caption}`:\n{read}",
                name(format)
            );
        }
        // Notes numbered as on the form, under their headings.
        let notes_i = read.find("Notes to Section I:").expect("notes to I");
        let notes_ii = read.find("Notes to Section II:").expect("notes to II");
        assert!(notes_i < notes_ii, "{}", name(format));
        let pos = |note: &str| read.find(note).expect("the note is there");
        assert!(FF305_NOTES[..8]
            .iter()
            .all(|n| (notes_i..notes_ii).contains(&pos(n))));
        assert!(FF305_NOTES[8..].iter().all(|n| pos(n) > notes_ii));
        // FF304's wording is gone.
        for ff304 in [
            "changes in issued share capital and/or share buybacks",
            "Listed on SEHK",
            "(Note 8) 12 July 2024",
            "issuer whose primary listing",
            "Main Board Listing Rules",
            "Purchase report",
            "Note to Section II:",
        ] {
            assert!(
                !read.contains(ff304),
                "FF305 ({}) still says FF304's `{ff304}`",
                name(format)
            );
        }
        // The class block in the FF305's order, with the multi-counter row.
        let order = [
            "1. Class of shares",
            "Type of shares",
            "Listed on the Exchange",
            "Stock code (if listed)",
            "Description",
            "Multi-counter stock code",
            "81234 RMB",
            "Description",
            "A. Changes in issued shares or treasury shares",
        ];
        let mut at = 0;
        for caption in order {
            let found = read[at..]
                .find(caption)
                .unwrap_or_else(|| panic!("FF305 ({}): `{caption}` out of order", name(format)));
            at += found + caption.len();
        }
    }
    // The printed page's footer names the form's version.
    let html = render(DocKind::Nddr, &doc, Format::Html);
    assert!(html.contains(r#"content: "Page " counter(page) " of " counter(pages) " v1.3.0""#));
}

#[test]
fn ff305_with_only_part_b_reads_other_please_specify_and_section_iii_not_applicable() {
    let doc = ff305_part_b_only();
    assert_eq!(doc.section_i[0].events.len(), 1);
    assert!(doc.section_iii.is_empty());
    for format in [Format::Text, Format::Html, Format::Markdown] {
        let read = as_read(format, &render(DocKind::Nddr, &doc, format));
        for caption in FF305_CAPTIONS.iter().chain(FF305_PART_B_ONLY_CAPTIONS) {
            assert!(
                read.contains(caption),
                "FF305 with only Part B ({}) lacks `{caption}`",
                name(format)
            );
        }
        assert!(
            read.contains("Not applicable 0 % 0"),
            "Part A's one line reads Not applicable, 0 %, 0 ({}):\n{read}",
            name(format)
        );
        assert!(
            read.contains("Report of on-market sale of treasury shares Not applicable"),
            "{}",
            name(format)
        );
    }
}

/// Every backtick-quoted caption and every numbered note of
/// `shared/spec/forms/ff305.md` is in the lists above (or named here as not
/// a caption), so the lists cannot drift from the spec. The spec lives
/// beside the repository (`../shared`); without it this check has nothing to
/// compare and says so.
#[test]
fn every_ff305_caption_of_the_spec_is_listed_here() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/spec/forms/ff305.md");
    let Ok(spec) = std::fs::read_to_string(&path) else {
        println!("skipped: {} is not at hand", path.display());
        return;
    };
    let listed: Vec<&str> = FF305_CAPTIONS
        .iter()
        .chain(FF305_PART_B_ONLY_CAPTIONS)
        .copied()
        .collect();
    let mut spans = spec.split('`').skip(1).step_by(2).peekable();
    assert!(spans.peek().is_some(), "the spec quotes its captions");
    for span in spans {
        let fragments: Vec<String> = match span {
            // Not captions: a file, and the page footer (checked in the HTML's
            // print CSS; the text and Markdown renderings have no pages).
            "../../seeds/nddr-2022-11-07-ainnovation.txt" | "Page N of M v1.3.0" => continue,
            // The item a filed FF305 kept, renumbered by its issuer: the
            // renderings print the form's eight items, this one as (iv).
            "(i) all the securities of each class are in all respects identical (Note 8)." => {
                vec![
                    "all the securities of each class are in all respects identical (Note 8)"
                        .into(),
                ]
            }
            "1). <label>" => vec!["1).".into()],
            "N). Shares repurchased for cancellation but not yet cancelled" => {
                vec!["Shares repurchased for cancellation but not yet cancelled".into()]
            }
            other => other
                .split("DD Month YYYY")
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .collect(),
        };
        for f in fragments {
            assert!(
                listed.contains(&f.as_str()),
                "ff305.md quotes `{span}`: `{f}` is not in FF305_CAPTIONS"
            );
        }
    }
    // The notes: numbered lines after "Notes to Section I:" / "II:".
    let mut in_notes = false;
    let mut count = 0;
    for line in spec.lines() {
        if line.starts_with("`Notes to Section") {
            in_notes = true;
            continue;
        }
        if line.starts_with('#') {
            in_notes = false;
        }
        let Some((n, text)) = line.split_once(". ") else {
            continue;
        };
        if in_notes && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
            assert!(
                FF305_NOTES.contains(&text.trim()),
                "ff305.md's note {n} is not in FF305_NOTES: {text}"
            );
            count += 1;
        }
    }
    assert_eq!(count, FF305_NOTES.len(), "every note of the spec is listed");
}

// ---- long labels: text columns stay in line, notes are printed -------------------

/// The example ledger of long labels and large figures (July 2024).
const HARBOUR: &str = include_str!("../../../examples/harbour-lantern-2024.jsonl");

fn harbour_monthly() -> MonthlyReturn {
    let reg = register(HARBOUR);
    monthly(
        issuer(&reg, "06789"),
        &MonthlyRequest {
            year: 2024,
            month: 7,
            submitted: d("2024-08-01"),
        },
    )
    .expect("the July 2024 Monthly Return")
}

fn harbour_nddr() -> Nddr {
    let reg = register(HARBOUR);
    nddr(
        issuer(&reg, "06789"),
        &NddrRequest {
            date: d("2024-07-12"),
            submitted: None,
            layout: None,
        },
    )
    .expect("the FF305 NDDR of 12 July 2024")
}

/// Characters `from..to` of a line (by character, padded with spaces).
fn columns(line: &str, from: usize, to: usize) -> String {
    let chars: Vec<char> = line
        .chars()
        .chain(std::iter::repeat(' '))
        .take(to)
        .collect();
    chars[from..to].iter().collect()
}

#[test]
fn monthly_text_part_iii_e_wraps_a_long_label_and_keeps_its_columns() {
    let doc = harbour_monthly();
    let long = "Transfer of treasury shares (share award scheme: 2024 Share Award Scheme)";
    assert!(doc.movements.other.iter().any(|r| r.kind == long));
    let text = render(DocKind::Monthly, &doc, Format::Text);
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("Type of Issue"))
        .expect("the (E) header");
    // The column edges, from the header's captions.
    let end_of = |caption: &str| {
        let h = lines[header];
        h[..h.find(caption).expect("a caption")].chars().count() + caption.chars().count()
    };
    let start_of = |caption: &str| {
        let h = lines[header];
        h[..h.find(caption).expect("a caption")].chars().count()
    };
    let price_end = end_of("At price (if applicable)");
    let date_at = start_of("Issue and allotment date");
    let gm_at = start_of("General Meeting approval date");
    let issued_end = end_of("No. of new shares issued during the month (E)");
    let treasury_end = end_of("Treasury shares during the month");
    let issuable_end = end_of("No. of new shares which may be issued as at close of the month");
    let mut rows = 0;
    let mut wrapped = 0;
    for line in lines[header + 1..]
        .iter()
        .take_while(|l| !l.trim().is_empty())
    {
        if !line.starts_with(char::is_numeric) {
            // A continuation of the label above: nothing beyond the label column.
            assert!(line.starts_with("    "), "`{line}`");
            assert!(
                line.trim_end().chars().count() <= price_end - 26,
                "`{line}`"
            );
            wrapped += 1;
            continue;
        }
        rows += 1;
        // The label never reaches the price column.
        assert_eq!(
            columns(line, price_end - 26, price_end - 24).trim(),
            "",
            "`{line}`"
        );
        for (at, what) in [(date_at, "date"), (gm_at, "general meeting date")] {
            let cell = columns(line, at, at + 24);
            assert!(
                cell.trim().is_empty()
                    || (cell.starts_with(char::is_numeric) && cell.contains(" 2024")),
                "{what} out of its column: `{line}`"
            );
        }
        for end in [issued_end, treasury_end, issuable_end] {
            let cell = columns(line, end - 12, end + 1);
            assert!(
                cell.trim().is_empty()
                    || (cell.ends_with(' ') && cell[..cell.len() - 1].ends_with(char::is_numeric)),
                "figure not right-aligned at column {end}: `{line}`"
            );
        }
    }
    assert_eq!(rows, doc.movements.other.len());
    assert!(wrapped >= 1, "the long label wraps:\n{text}");
    assert!(text.contains("    Share Award Scheme)"), "{text}");
}

#[test]
fn ff305_text_wraps_long_labels_and_keeps_the_figures_in_their_columns() {
    let doc = harbour_nddr();
    let text = render(DocKind::Nddr, &doc, Format::Text);
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("[1] "))
        .expect("Part A's column numbers");
    let h = lines[header];
    let ends: Vec<usize> = ["[2]", "[3]", "[4]", "[5]", "[6]"]
        .iter()
        .map(|c| h.find(c).expect("a column") + c.len())
        .collect();
    // Part A's label column: 16 for [2]'s figures and 2 between columns.
    let label_width = ends[0] - 16 - 2;
    let mut seen_wrap = false;
    for line in lines[header + 1..].iter().take_while(|l| !l.is_empty()) {
        if line.starts_with("    ") {
            // A wrapped label or a date line: inside the label column.
            assert!(line.chars().count() <= label_width, "`{line}`");
            seen_wrap |= !line.trim_start().starts_with("Date of changes");
            continue;
        }
        // Every figure right of the label column ends on a column's edge.
        let tail = columns(line, label_width, line.chars().count());
        let mut pos = label_width;
        for token in tail.split(' ') {
            let end = pos + token.chars().count();
            if !token.is_empty()
                && token != "HKD"
                && !(token.ends_with(char::is_numeric)
                    && tail[pos - label_width + token.len()..].starts_with(" %"))
            {
                assert!(
                    ends.contains(&end),
                    "`{token}` ends at {end}, not on a column edge {ends:?}: `{line}`"
                );
            }
            pos = end + 1;
        }
    }
    assert!(seen_wrap, "a long label wraps:\n{text}");
    assert!(text.contains("7). Transfer of treasury shares: share award scheme (2024"));
}

#[test]
fn monthly_text_and_html_print_the_notes_they_refer_to() {
    for doc in [seed_monthly(), treasury_monthly(), harbour_monthly()] {
        for format in [Format::Text, Format::Html, Format::Markdown] {
            let out = render(DocKind::Monthly, &doc, format);
            let read = as_read(format, &out);
            // The form refers to Notes 1, 2, 3 (and 5, 6 in Part III (E)).
            for note in [
                "SEHK refers to Stock Exchange of Hong Kong.",
                "Items (i) to (viii) are suggested forms of confirmation which may be amended to meet individual cases.",
                "\"Identical\" means in this context:",
                "If there is insufficient space, please submit additional document.",
                "In the context of repurchase of shares:",
                "\"issue and allotment date\" should be construed as \"cancellation date\"",
                "In the context of redemption of shares:",
                "\"issue and allotment date\" should be construed as \"redemption date\"",
            ] {
                assert!(
                    read.contains(note),
                    "Monthly Return for {} ({}) lacks the note `{note}`",
                    doc.month_ended,
                    name(format)
                );
            }
            assert!(
                read.find("Notes").expect("notes") > read.find("Submitted by:").expect("sign-off")
            );
        }
    }
}

#[test]
fn name_of_issuer_brackets_a_description_typed_without_brackets_in_json_and_every_form() {
    // Typed "incorporated in the Cayman Islands with limited liability".
    let want =
        "Harbour Lantern Holdings Limited (incorporated in the Cayman Islands with limited liability)";
    let nddr_doc = harbour_nddr();
    let monthly_doc = harbour_monthly();
    assert_eq!(nddr_doc.issuer.name, want);
    assert_eq!(monthly_doc.issuer.name, want);
    for format in FORMATS {
        for (what, out) in [
            ("NDDR", render(DocKind::Nddr, &nddr_doc, format)),
            (
                "Monthly Return",
                render(DocKind::Monthly, &monthly_doc, format),
            ),
        ] {
            if format == Format::Json {
                let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
                assert_eq!(v["issuer"]["name"], want, "{what}");
                continue;
            }
            assert!(
                out.contains(want),
                "{what} ({}) names the issuer `{want}`",
                name(format)
            );
            assert!(
                !out.contains("(("),
                "{what} ({}): doubled brackets",
                name(format)
            );
        }
    }
    // Typed with its brackets (the seed): kept as typed, never doubled.
    let seed = seed_nddr();
    assert!(seed.issuer.name.ends_with(
        "Co., Ltd (a joint stock company incorporated in the People's Republic of China with limited liability)"
    ));
    assert!(!seed.issuer.name.contains("(("));
}
