//! `shareledger audit`, end to end: ledgers imported as JSON lines into a
//! fresh `--db`, audited with `--format json --now TIME` (deadlines are
//! judged at a fixed time), asserting the exit status and the rule and date
//! of every error. Each rule has a ledger that breaks it and a neighbouring
//! clean one; `import` and `record` still write rule-breaking events and
//! print what they introduce as warnings.

mod common;

use std::process::Output;

use common::{text, Ledger};
use serde_json::{json, Value};

const ISSUER: &str = "02121";
const CLASS: &str = "H";

// ---- the ledger under test ------------------------------------------------------------

// `Ledger` (tests/common) runs the binary on a fresh `--db`; what audit.rs adds to it:
impl Ledger {
    /// A ledger holding `lines`.
    fn with(lines: &[Value]) -> Self {
        let l = Ledger::new();
        l.import(lines);
        l
    }

    /// Import `lines`, which must be accepted; the output (warnings on stderr).
    fn import(&self, lines: &[Value]) -> Output {
        let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let out = self.run_with_input(&["import", "-"], Some(&input));
        assert!(
            out.status.success(),
            "import refused: {}\n{input}",
            text(&out.stderr)
        );
        out
    }

    fn audit(&self, now: &str) -> Audit {
        let out = self.run(&["audit", "--format", "json", "--now", now]);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "audit did not print JSON ({e}): {}\n{}",
                text(&out.stdout),
                text(&out.stderr)
            )
        });
        Audit {
            code: out.status.code().expect("exit code"),
            report,
        }
    }

    /// The log as JSON lines.
    fn log(&self) -> Vec<Value> {
        self.ok(&["log", "--format", "json"])
            .lines()
            .map(|l| serde_json::from_str(l).expect("log lines are JSON"))
            .collect()
    }
}

struct Audit {
    code: i32,
    report: Value,
}

impl Audit {
    fn findings(&self) -> &Vec<Value> {
        self.report["findings"].as_array().expect("findings")
    }

    /// (rule, date) of every error, in the report's order.
    fn errors(&self) -> Vec<(String, String)> {
        self.of("error")
    }

    fn warnings(&self) -> Vec<(String, String)> {
        self.of("warning")
    }

    fn of(&self, severity: &str) -> Vec<(String, String)> {
        self.findings()
            .iter()
            .filter(|f| f["severity"] == severity)
            .map(|f| {
                (
                    f["rule"].as_str().expect("rule").to_string(),
                    f["date"].as_str().unwrap_or("-").to_string(),
                )
            })
            .collect()
    }

    fn message_of(&self, rule: &str, date: &str) -> String {
        self.findings()
            .iter()
            .find(|f| f["rule"] == rule && f["date"] == date)
            .and_then(|f| f["message"].as_str())
            .unwrap_or_else(|| panic!("no {rule} finding dated {date}: {:#}", self.report))
            .to_string()
    }

    /// Exit 0, `ok`, no error (warnings allowed).
    fn assert_clean(&self) {
        assert_eq!(self.errors(), vec![], "{:#}", self.report);
        assert_eq!(self.code, 0, "{:#}", self.report);
        assert_eq!(self.report["ok"], true);
        assert_eq!(self.report["chain"], "intact");
    }

    /// Exit 1, not `ok`, and exactly these errors (rule, date).
    fn assert_errors(&self, expected: &[(&str, &str)]) {
        let mut got = self.errors();
        got.sort();
        let mut want: Vec<(String, String)> = expected
            .iter()
            .map(|(r, d)| (r.to_string(), d.to_string()))
            .collect();
        want.sort();
        assert_eq!(got, want, "{:#}", self.report);
        assert_eq!(self.code, 1, "{:#}", self.report);
        assert_eq!(self.report["ok"], false);
    }
}

fn e(rule: &str, date: &str) -> (String, String) {
    (rule.to_string(), date.to_string())
}

// ---- events ------------------------------------------------------------------------------

fn registered() -> Value {
    json!({"type": "issuer_registered", "issuer": ISSUER,
           "name": "Qingdao AInnovation Technology Group Co., Ltd",
           "signatory": {"name": "Xiao Lei", "title": "Joint Company Secretary"}})
}

/// 1,000,000 H shares as at 31 May 2022; no mandate.
fn base_without_mandate() -> Vec<Value> {
    vec![
        registered(),
        json!({"type": "share_class_defined", "issuer": ISSUER, "class": CLASS,
               "class_of_shares": "Ordinary shares", "type_of_shares": "H", "stock_code": ISSUER,
               "par_value": {"currency": "RMB", "amount": "1"}}),
        json!({"type": "opening_balance", "issuer": ISSUER, "class": CLASS,
               "date": "2022-05-31", "issued_shares": 1_000_000}),
    ]
}

/// The same with a mandate of 10 May 2022 for 100,000 shares.
fn base() -> Vec<Value> {
    let mut v = base_without_mandate();
    v.push(mandate("2022-05-10", 1_000_000));
    v
}

fn mandate(date: &str, issued: u64) -> Value {
    json!({"type": "repurchase_mandate_granted", "issuer": ISSUER, "class": CLASS,
           "resolution_date": date, "issued_shares_at_resolution": issued,
           "explanatory_statement_date": date})
}

fn repurchase(date: &str, shares: u64) -> Value {
    json!({"type": "shares_repurchased", "issuer": ISSUER, "class": CLASS,
           "trade_date": date, "shares": shares})
}

/// A repurchase at HKD 10 to `highest` a share, paid at HKD 10 a share.
fn priced_repurchase(date: &str, shares: u64, highest: &str) -> Value {
    let mut v = repurchase(date, shares);
    let extra = json!({"currency": "HKD", "highest_price": highest, "lowest_price": "10",
                       "total_paid": (shares * 10).to_string()});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

fn placing(date: &str, shares: u64) -> Value {
    json!({"type": "shares_issued", "issuer": ISSUER, "class": CLASS, "date": date,
           "shares": shares, "kind": "placing", "currency": "HKD", "price": "10"})
}

fn scheme() -> Value {
    json!({"type": "share_option_scheme_adopted", "issuer": ISSUER, "class": CLASS,
           "scheme": "2020 Scheme", "adoption_date": "2020-01-01", "outstanding_options": 200_000})
}

fn exercise(date: &str, shares: u64) -> Value {
    json!({"type": "shares_issued", "issuer": ISSUER, "class": CLASS, "date": date,
           "shares": shares, "kind": "share_option_exercise", "scheme": "2020 Scheme",
           "currency": "HKD", "price": "5"})
}

fn filed(form: &str, date: &str, submitted_at: &str) -> Value {
    json!({"type": "return_filed", "issuer": ISSUER, "form": form, "date": date,
           "submitted_at": submitted_at})
}

/// An NDDR for `date` filed at 19:00 that evening.
fn nddr_that_evening(date: &str) -> Value {
    filed("nddr", date, &format!("{date}T19:00:00+08:00"))
}

fn results(period: &str, board: &str, deadline: &str, announced: &str) -> Value {
    json!({"type": "results_announcement_scheduled", "issuer": ISSUER, "period": period,
           "board_meeting_date": board, "publication_deadline": deadline,
           "announcement_date": announced})
}

fn close(date: &str, price: &str) -> Value {
    json!({"type": "closing_price", "issuer": ISSUER, "class": CLASS, "date": date,
           "currency": "HKD", "price": price})
}

fn ledger(extra: &[Value]) -> Ledger {
    let mut lines = base();
    lines.extend_from_slice(extra);
    Ledger::with(&lines)
}

// ---- 13.25A: the NDDR deadline --------------------------------------------------------------

#[test]
fn nddr_for_friday_23_december_2022_filed_0800_on_28_december_is_on_time() {
    // 26 and 27 December 2022 were holidays: due 08:30 on Wednesday 28 December.
    let l = ledger(&[
        repurchase("2022-12-23", 10_000),
        filed("nddr", "2022-12-23", "2022-12-28T08:00:00+08:00"),
    ]);
    l.audit("2022-12-30T12:00:00+08:00").assert_clean();
}

#[test]
fn nddr_for_friday_23_december_2022_filed_0915_on_28_december_is_late() {
    let l = ledger(&[
        repurchase("2022-12-23", 10_000),
        filed("nddr", "2022-12-23", "2022-12-28T09:15:00+08:00"),
    ]);
    let a = l.audit("2022-12-30T12:00:00+08:00");
    a.assert_errors(&[("13.25A", "2022-12-23")]);
    let m = a.message_of("13.25A", "2022-12-23");
    assert!(m.contains("08:30 on 28 December 2022"), "{m}");
}

#[test]
fn an_nddr_not_filed_is_an_error_only_after_its_deadline() {
    let l = ledger(&[
        filed("monthly", "2022-11-30", "2022-12-05T17:00:00+08:00"),
        repurchase("2022-12-23", 10_000),
    ]);
    l.audit("2022-12-28T08:29:00+08:00").assert_clean();
    l.audit("2022-12-28T08:31:00+08:00")
        .assert_errors(&[("13.25A", "2022-12-23")]);
}

// ---- 13.25A(3): the 5% threshold ------------------------------------------------------------------

#[test]
fn non_director_option_exercises_below_5_percent_ride_along_without_an_nddr() {
    let l = ledger(&[
        scheme(),
        exercise("2022-06-10", 20_000),
        exercise("2022-06-20", 29_999),
    ]);
    l.audit("2022-06-30T12:00:00+08:00").assert_clean();
}

#[test]
fn non_director_option_exercises_reaching_5_percent_force_an_nddr() {
    let l = ledger(&[
        scheme(),
        exercise("2022-06-10", 20_000),
        exercise("2022-06-20", 30_000),
    ]);
    l.audit("2022-06-30T12:00:00+08:00")
        .assert_errors(&[("13.25A", "2022-06-20")]);
}

// ---- 13.25B: the Monthly Return deadline ------------------------------------------------------------

#[test]
fn december_2022_monthly_return_at_0800_on_9_january_2023_is_on_time() {
    // 2 January 2023 was a holiday: due 08:30 on 9 January 2023.
    let l = ledger(&[filed("monthly", "2022-12-31", "2023-01-09T08:00:00+08:00")]);
    l.audit("2023-01-31T12:00:00+08:00").assert_clean();
}

#[test]
fn december_2022_monthly_return_at_0845_on_9_january_2023_is_late() {
    let l = ledger(&[filed("monthly", "2022-12-31", "2023-01-09T08:45:00+08:00")]);
    let a = l.audit("2023-01-31T12:00:00+08:00");
    a.assert_errors(&[("13.25B", "2022-12-31")]);
    let m = a.message_of("13.25B", "2022-12-31");
    assert!(m.contains("08:30 on 09 January 2023"), "{m}");
}

// ---- 10.06(3): the moratorium ---------------------------------------------------------------------

#[test]
fn a_placing_19_days_after_a_repurchase_breaks_the_moratorium() {
    let l = ledger(&[
        repurchase("2023-06-01", 1000),
        nddr_that_evening("2023-06-01"),
        placing("2023-06-20", 5000),
        nddr_that_evening("2023-06-20"),
    ]);
    let a = l.audit("2023-06-21T12:00:00+08:00");
    a.assert_errors(&[("10.06(3)", "2023-06-20")]);
    let m = a.message_of("10.06(3)", "2023-06-20");
    assert!(
        m.contains("1 June 2023") && m.contains("1 July 2023"),
        "{m}"
    );
}

#[test]
fn a_placing_33_days_after_a_repurchase_and_option_exercises_within_it_are_clean() {
    let l = ledger(&[
        scheme(),
        repurchase("2023-06-01", 1000),
        nddr_that_evening("2023-06-01"),
        exercise("2023-06-12", 1000), // carved out; below 5%: rides along
        placing("2023-07-04", 5000),
        nddr_that_evening("2023-07-04"),
        filed("monthly", "2023-06-30", "2023-07-05T17:00:00+08:00"),
    ]);
    l.audit("2023-07-05T18:00:00+08:00").assert_clean();
}

// ---- 10.06(2)(e): the blackout --------------------------------------------------------------------

#[test]
fn a_repurchase_19_days_before_the_results_board_meeting_is_in_the_blackout() {
    let l = ledger(&[
        results("2022 annual", "2023-03-20", "2023-03-31", "2023-03-20"),
        repurchase("2023-03-01", 1000),
        nddr_that_evening("2023-03-01"),
    ]);
    l.audit("2023-03-02T12:00:00+08:00")
        .assert_errors(&[("10.06(2)(e)", "2023-03-01")]);
}

#[test]
fn a_repurchase_after_the_results_announcement_is_clean() {
    let l = ledger(&[
        results("2022 annual", "2023-03-20", "2023-03-31", "2023-03-20"),
        repurchase("2023-03-21", 1000),
        nddr_that_evening("2023-03-21"),
    ]);
    l.audit("2023-03-22T12:00:00+08:00").assert_clean();
}

// ---- 10.06(1): the mandate -------------------------------------------------------------------------

#[test]
fn a_mandate_used_up_exactly_is_clean() {
    let l = ledger(&[
        repurchase("2022-06-01", 60_000),
        nddr_that_evening("2022-06-01"),
        repurchase("2022-06-02", 40_000),
        nddr_that_evening("2022-06-02"),
    ]);
    l.audit("2022-06-10T12:00:00+08:00").assert_clean();
}

#[test]
fn a_mandate_exceeded_by_one_share_breaks_10_06_1() {
    let l = ledger(&[
        repurchase("2022-06-01", 60_000),
        nddr_that_evening("2022-06-01"),
        repurchase("2022-06-02", 40_001),
        nddr_that_evening("2022-06-02"),
    ]);
    l.audit("2022-06-10T12:00:00+08:00")
        .assert_errors(&[("10.06(1)", "2022-06-02")]);
}

#[test]
fn a_repurchase_with_no_mandate_in_force_breaks_10_06_1() {
    let mut lines = base_without_mandate();
    lines.extend([
        repurchase("2022-06-01", 1000),
        nddr_that_evening("2022-06-01"),
    ]);
    let l = Ledger::with(&lines);
    let a = l.audit("2022-06-10T12:00:00+08:00");
    a.assert_errors(&[("10.06(1)", "2022-06-01")]);
    assert!(a
        .message_of("10.06(1)", "2022-06-01")
        .contains("no repurchase mandate"));
}

// ---- 10.06(2)(a): the 5% price cap -----------------------------------------------------------------

/// Closes of HKD 10, 10, 10, 11, 9 on 5 to 9 June 2023: average 10, 5% above it 10.5.
fn closes() -> Vec<Value> {
    vec![
        close("2023-06-05", "10"),
        close("2023-06-06", "10"),
        close("2023-06-07", "10"),
        close("2023-06-08", "11"),
        close("2023-06-09", "9"),
    ]
}

fn price_cap_ledger(highest: &str, with_closes: bool) -> Ledger {
    let mut extra = if with_closes { closes() } else { vec![] };
    extra.extend([
        priced_repurchase("2023-06-12", 1000, highest),
        nddr_that_evening("2023-06-12"),
    ]);
    ledger(&extra)
}

#[test]
fn a_repurchase_5_percent_above_the_average_close_breaks_the_cap() {
    price_cap_ledger("10.5", true)
        .audit("2023-06-13T12:00:00+08:00")
        .assert_errors(&[("10.06(2)(a)", "2023-06-12")]);
}

#[test]
fn a_repurchase_just_below_5_percent_above_the_average_close_is_clean() {
    let a = price_cap_ledger("10.49", true).audit("2023-06-13T12:00:00+08:00");
    a.assert_clean();
    assert_eq!(a.warnings(), vec![], "the check ran: {:#}", a.report);
}

#[test]
fn without_closing_prices_the_cap_check_warns_that_it_could_not_run() {
    let a = price_cap_ledger("10.5", false).audit("2023-06-13T12:00:00+08:00");
    a.assert_clean();
    assert_eq!(a.warnings(), vec![e("10.06(2)(a)", "2023-06-12")]);
    assert!(a
        .message_of("10.06(2)(a)", "2023-06-12")
        .contains("could not run"));
}

// ---- several rules at once ---------------------------------------------------------------------------

/// Shared by the breaking ledger and its clean neighbour: a second mandate
/// at the AGM of 28 June 2023 (100,500 shares), the interim results
/// (board meeting and announcement 21 August 2023: blackout from 22 July),
/// and the June Monthly Return on time (due 08:30 on 7 July 2023).
fn common_2023() -> Vec<Value> {
    vec![
        mandate("2023-06-28", 1_005_000),
        results("2023 interim", "2023-08-21", "2023-08-31", "2023-08-21"),
    ]
}

#[test]
fn audit_reports_a_late_return_an_exceeded_mandate_a_moratorium_breach_and_a_blackout_repurchase() {
    let mut extra = common_2023();
    extra.extend([
        repurchase("2023-06-05", 60_000),
        nddr_that_evening("2023-06-05"),
        // 100,001 under the mandate of 10 May 2022 (100,000); its NDDR was due 08:30 on 7 June.
        repurchase("2023-06-06", 40_001),
        filed("nddr", "2023-06-06", "2023-06-07T09:00:00+08:00"),
        // 14 days after the repurchase of 6 June.
        placing("2023-06-20", 5000),
        nddr_that_evening("2023-06-20"),
        filed("monthly", "2023-06-30", "2023-07-05T17:00:00+08:00"),
        // In the blackout before the interim results.
        repurchase("2023-08-01", 1000),
        nddr_that_evening("2023-08-01"),
        filed("monthly", "2023-07-31", "2023-08-03T17:00:00+08:00"),
    ]);
    let a = ledger(&extra).audit("2023-08-02T12:00:00+08:00");
    a.assert_errors(&[
        ("10.06(1)", "2023-06-06"),
        ("13.25A", "2023-06-06"),
        ("10.06(3)", "2023-06-20"),
        ("10.06(2)(e)", "2023-08-01"),
    ]);
    // In date order.
    let dates: Vec<String> = a.errors().into_iter().map(|(_, d)| d).collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted);
}

#[test]
fn the_neighbouring_clean_ledger_reports_none_of_them() {
    let mut extra = common_2023();
    extra.extend([
        repurchase("2023-06-05", 60_000),
        nddr_that_evening("2023-06-05"),
        repurchase("2023-06-06", 40_000),
        filed("nddr", "2023-06-06", "2023-06-07T08:30:00+08:00"),
        // 34 days after the repurchase of 6 June.
        placing("2023-07-10", 5000),
        nddr_that_evening("2023-07-10"),
        filed("monthly", "2023-06-30", "2023-07-05T17:00:00+08:00"),
        filed("monthly", "2023-07-31", "2023-08-03T17:00:00+08:00"),
        // The day after the interim results were announced.
        repurchase("2023-08-22", 1000),
        nddr_that_evening("2023-08-22"),
    ]);
    ledger(&extra)
        .audit("2023-08-23T12:00:00+08:00")
        .assert_clean();
}

// ---- a correction after filing ---------------------------------------------------------------------

#[test]
fn a_correction_after_filing_is_flagged_against_the_log_now_but_the_return_regenerates_as_filed() {
    let l = ledger(&[
        priced_repurchase("2023-06-01", 1000, "10.2"),
        priced_repurchase("2023-06-01", 500, "10.1"),
    ]);
    let filed_json = l.ok(&[
        "return",
        "nddr",
        "--issuer",
        ISSUER,
        "--date",
        "2023-06-01",
        "--format",
        "json",
        "--mark-filed",
        "--submitted-at",
        "2023-06-01T19:00:00+08:00",
    ]);
    let filed_doc: Value = serde_json::from_str(&filed_json).expect("the filed NDDR is JSON");
    l.audit("2023-06-02T12:00:00+08:00").assert_clean();

    // The filing's time in the log, then the correction: void the 500.
    let log = l.log();
    let filing = log
        .iter()
        .find(|r| r["type"] == "return_filed")
        .expect("return_filed recorded");
    assert!(filing["digest"].is_string(), "{filing}");
    let known_at = filing["recorded_at"].as_str().unwrap().to_string();
    let voided = log
        .iter()
        .find(|r| r["type"] == "shares_repurchased" && r["shares"] == 500)
        .expect("the 500")["id"]
        .as_str()
        .unwrap()
        .to_string();
    l.import(&[
        json!({"type": "event_voided", "issuer": ISSUER, "voided_id": voided,
                      "reason": "booked twice"}),
    ]);

    // As known at filing: exactly the filed document.
    let then: Value = serde_json::from_str(&l.ok(&[
        "return",
        "nddr",
        "--issuer",
        ISSUER,
        "--date",
        "2023-06-01",
        "--format",
        "json",
        "--known-at",
        &known_at,
    ]))
    .unwrap();
    assert_eq!(then, filed_doc);
    // As known now: without the 500.
    let now: Value = serde_json::from_str(&l.ok(&[
        "return",
        "nddr",
        "--issuer",
        ISSUER,
        "--date",
        "2023-06-01",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_ne!(now, filed_doc);
    assert_eq!(now["section_ii"][0]["total_shares"], 1000);
    assert_eq!(filed_doc["section_ii"][0]["total_shares"], 1500);

    // The audit: the filed return regenerates as filed (no finding for
    // that), but the log now contradicts it (an error dated with the return).
    let a = l.audit("2023-06-02T12:00:00+08:00");
    a.assert_errors(&[("13.25A", "2023-06-01")]);
    let m = a.message_of("13.25A", "2023-06-01");
    assert!(m.contains("contradicts") && m.contains("amended"), "{m}");
}

#[test]
fn a_digest_of_another_document_version_is_not_called_wrong_but_said_unprovable() {
    // Filings with a digest that no document has: one of this build's
    // document version (absent = 1) is an error; one of another version is
    // a warning that this build cannot prove it.
    use shareledger::returns::document::DOCUMENT_VERSION;
    let wrong = "0".repeat(64);
    let with = |version: Option<u32>| {
        let mut f = nddr_that_evening("2023-06-01");
        f["digest"] = json!(wrong);
        f["layout"] = json!("FF304");
        if let Some(v) = version {
            f["document_version"] = json!(v);
        }
        ledger(&[priced_repurchase("2023-06-01", 1000, "10.2"), f])
    };
    for version in [
        None,
        Some(1),
        Some(DOCUMENT_VERSION),
        Some(DOCUMENT_VERSION + 5),
    ] {
        let shown = version.unwrap_or(1);
        let a = with(version).audit("2023-06-02T12:00:00+08:00");
        if shown == DOCUMENT_VERSION {
            a.assert_errors(&[("13.25A", "2023-06-01"), ("13.25A", "2023-06-01")]);
            let m = a.message_of("13.25A", "2023-06-01");
            assert!(m.contains("does not regenerate as filed"), "{m}");
        } else {
            assert!(a.errors().is_empty(), "{version:?}: {:#}", a.report);
            assert_eq!((a.code, &a.report["ok"]), (0, &json!(true)));
            assert!(a.warnings().contains(&e("13.25A", "2023-06-01")));
            let m = a.message_of("13.25A", "2023-06-01");
            assert!(
                m.contains(&format!("document version {shown}")) && m.contains("cannot prove"),
                "{m}"
            );
        }
    }
}

#[test]
fn voiding_the_only_event_of_a_filed_return_is_flagged_too() {
    let l = ledger(&[priced_repurchase("2023-06-01", 1000, "10.2")]);
    l.ok(&[
        "return",
        "nddr",
        "--issuer",
        ISSUER,
        "--date",
        "2023-06-01",
        "--mark-filed",
        "--submitted-at",
        "2023-06-01T19:00:00+08:00",
    ]);
    let id = l
        .log()
        .iter()
        .find(|r| r["type"] == "shares_repurchased")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    l.import(&[
        json!({"type": "event_voided", "issuer": ISSUER, "voided_id": id,
                      "reason": "never happened"}),
    ]);
    l.audit("2023-06-02T12:00:00+08:00")
        .assert_errors(&[("13.25A", "2023-06-01")]);
}

#[test]
fn a_monthly_return_filed_after_an_nddr_of_the_next_month_does_not_contradict_it() {
    // An option exercise on 31 January 2023 (below 5%) rides along in the
    // NDDR of 1 February, which opens from the December return. The January
    // Monthly Return, filed on 3 February, must not change what that NDDR
    // is judged against.
    let l = ledger(&[
        scheme(),
        filed("monthly", "2022-12-31", "2023-01-05T17:00:00+08:00"),
        exercise("2023-01-31", 1000),
        priced_repurchase("2023-02-01", 1000, "10.2"),
    ]);
    let filed_nddr = l.ok(&[
        "return",
        "nddr",
        "--issuer",
        ISSUER,
        "--date",
        "2023-02-01",
        "--format",
        "json",
        "--mark-filed",
        "--submitted-at",
        "2023-02-01T19:00:00+08:00",
    ]);
    let doc: Value = serde_json::from_str(&filed_nddr).unwrap();
    assert_eq!(
        doc["section_i"][0]["opening_balance"]["date"], "2022-12-31",
        "{doc:#}"
    );
    l.ok(&[
        "return",
        "monthly",
        "--issuer",
        ISSUER,
        "--month",
        "2023-01",
        "--mark-filed",
        "--submitted-at",
        "2023-02-03T17:00:00+08:00",
    ]);
    l.audit("2023-02-06T12:00:00+08:00").assert_clean();
}

// ---- import and record warn, and write -----------------------------------------------------------

#[test]
fn import_writes_a_rule_breaking_event_and_warns_of_what_it_introduces() {
    let l = ledger(&[
        repurchase("2023-06-01", 1000),
        nddr_that_evening("2023-06-01"),
    ]);
    let out = l.import(&[placing("2023-06-20", 5000)]);
    let err = text(&out.stderr);
    assert!(err.contains("error: [10.06(3)]"), "{err}");
    assert!(
        l.log()
            .iter()
            .any(|r| r["type"] == "shares_issued" && r["date"] == "2023-06-20"),
        "the placing is written"
    );
    // An unrelated event afterwards does not repeat the warning.
    let out = l.import(&[close("2023-06-21", "10")]);
    let err = text(&out.stderr);
    assert!(!err.contains("10.06(3)"), "{err}");
}

#[test]
fn a_back_dated_repurchase_warns_of_the_later_event_it_makes_a_breach() {
    // The placing of 20 June was clean until a repurchase of 1 June is recorded.
    let l = ledger(&[placing("2023-06-20", 5000), nddr_that_evening("2023-06-20")]);
    let out = l.import(&[repurchase("2023-06-01", 1000)]);
    let err = text(&out.stderr);
    assert!(err.contains("error: [10.06(3)] 02121 2023-06-20"), "{err}");
}

#[test]
fn record_writes_a_rule_breaking_event_and_warns() {
    let l = ledger(&[
        repurchase("2023-06-01", 1000),
        nddr_that_evening("2023-06-01"),
    ]);
    let out = l.run(&[
        "record",
        "shares-issued",
        "--issuer",
        ISSUER,
        "--class",
        CLASS,
        "--date",
        "2023-06-20",
        "--shares",
        "5000",
        "--kind",
        "placing",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("error: [10.06(3)]"), "{err}");
    assert!(l
        .log()
        .iter()
        .any(|r| r["type"] == "shares_issued" && r["date"] == "2023-06-20"));
}

#[test]
fn a_dry_run_import_warns_without_writing() {
    let l = ledger(&[
        repurchase("2023-06-01", 1000),
        nddr_that_evening("2023-06-01"),
    ]);
    let before = l.log().len();
    let input = format!("{}\n", placing("2023-06-20", 5000));
    let out = l.run_with_input(&["import", "--dry-run", "-"], Some(&input));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("error: [10.06(3)]"));
    assert_eq!(l.log().len(), before);
}

// ---- a correction after a filing recorded without a digest (issue #13) ----------------------

#[test]
fn a_correction_after_a_filing_without_digest_is_flagged_with_what_changed() {
    // Given an NDDR filed as imported history (no digest), disclosing 1,500
    // shares repurchased on 1 June 2023,
    let l = ledger(&[
        priced_repurchase("2023-06-01", 1000, "10.2"),
        priced_repurchase("2023-06-01", 500, "10.1"),
        nddr_that_evening("2023-06-01"),
    ]);
    let log = l.log();
    let filing = log.iter().find(|r| r["type"] == "return_filed").unwrap();
    assert!(filing.get("digest").is_none(), "{filing}");
    l.audit("2023-06-02T12:00:00+08:00").assert_clean();
    // when the 500 is voided afterwards,
    let voided = log
        .iter()
        .find(|r| r["type"] == "shares_repurchased" && r["shares"] == 500)
        .expect("the 500")["id"]
        .as_str()
        .unwrap()
        .to_string();
    l.import(&[
        json!({"type": "event_voided", "issuer": ISSUER, "voided_id": voided,
                      "reason": "booked twice"}),
    ]);
    // then the audit compares the return as known when filed with the
    // return as known now, and names the figures that changed.
    let a = l.audit("2023-06-02T12:00:00+08:00");
    a.assert_errors(&[("13.25A", "2023-06-01")]);
    let m = a.message_of("13.25A", "2023-06-01");
    for part in [
        "without a digest",
        "contradicts",
        "section_i[0].events[0].shares: 1500 → 1000",
        "amended",
    ] {
        assert!(m.contains(part), "`{part}` missing from: {m}");
    }
}

#[test]
fn a_filing_without_digest_is_judged_by_its_amendment_once_amended() {
    // Given an NDDR filed without a digest that a later correction
    // contradicts (as above),
    let l = ledger(&[
        priced_repurchase("2023-06-01", 1000, "10.2"),
        priced_repurchase("2023-06-01", 500, "10.1"),
        nddr_that_evening("2023-06-01"),
    ]);
    let log = l.log();
    let filing = log.iter().find(|r| r["type"] == "return_filed").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let voided = log
        .iter()
        .find(|r| r["type"] == "shares_repurchased" && r["shares"] == 500)
        .expect("the 500")["id"]
        .as_str()
        .unwrap()
        .to_string();
    l.import(&[
        json!({"type": "event_voided", "issuer": ISSUER, "voided_id": voided,
                      "reason": "booked twice"}),
    ]);
    l.audit("2023-06-02T12:00:00+08:00")
        .assert_errors(&[("13.25A", "2023-06-01")]);
    // when the amended return is recorded as filed (amends: that filing),
    let mut amendment = filed("nddr", "2023-06-01", "2023-06-02T10:00:00+08:00");
    amendment["amends"] = json!(filing);
    amendment["status"] = json!("Amendment");
    l.import(&[amendment]);
    // then the filing it amends no longer draws the error (as a filing with
    // a digest is judged by its amendment).
    l.audit("2023-06-02T12:00:00+08:00").assert_clean();
}

#[test]
fn a_filing_without_digest_that_regenerates_the_same_is_clean() {
    // A void that does not touch the filed return (a later repurchase,
    // disclosed by a later return) leaves the earlier filing unchallenged.
    let l = ledger(&[
        priced_repurchase("2023-06-01", 1000, "10.2"),
        nddr_that_evening("2023-06-01"),
        priced_repurchase("2023-06-02", 500, "10.1"),
    ]);
    let voided = l
        .log()
        .iter()
        .find(|r| r["type"] == "shares_repurchased" && r["shares"] == 500)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    l.import(&[
        json!({"type": "event_voided", "issuer": ISSUER, "voided_id": voided,
                      "reason": "booked twice"}),
    ]);
    l.audit("2023-06-02T12:00:00+08:00").assert_clean();
}

// ---- the Exchange's prior approval (issue #13) -----------------------------------------------

#[test]
fn a_recorded_prior_approval_turns_the_moratorium_breach_into_information() {
    let l = ledger(&[
        repurchase("2023-06-01", 1000),
        nddr_that_evening("2023-06-01"),
        placing("2023-06-20", 5000),
        nddr_that_evening("2023-06-20"),
    ]);
    l.audit("2023-06-21T12:00:00+08:00")
        .assert_errors(&[("10.06(3)", "2023-06-20")]);
    l.import(&[
        json!({"type": "exchange_approval_recorded", "issuer": ISSUER,
                      "rule": "10.06(3)", "date": "2023-06-20", "reference": "LD/2023/5"}),
    ]);
    let a = l.audit("2023-06-21T12:00:00+08:00");
    a.assert_clean();
    assert!(
        a.warnings().contains(&e("10.06(3)", "2023-06-20")),
        "{:#}",
        a.report
    );
    let m = a.message_of("10.06(3)", "2023-06-20");
    assert!(
        m.contains("approved by the Exchange") && m.contains("LD/2023/5"),
        "{m}"
    );
}

// ---- one severity per rule, reported once (issue #14) ----------------------------------------

/// Record a repurchase of `shares` H shares on `date` through the binary.
fn record_repurchase(l: &Ledger, date: &str, shares: &str) -> String {
    let out = l.run(&[
        "record",
        "shares-repurchased",
        "--issuer",
        ISSUER,
        "--class",
        CLASS,
        "--trade-date",
        date,
        "--shares",
        shares,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stderr).to_string()
}

#[test]
fn a_mandate_breach_is_an_error_when_recorded_reported_once_and_the_same_in_audit() {
    let l = ledger(&[
        repurchase("2022-06-01", 60_000),
        nddr_that_evening("2022-06-01"),
    ]);
    // The buy-back that crosses the mandate's 100,000: an error, as in audit.
    let err = record_repurchase(&l, "2022-06-02", "40001");
    assert!(err.contains("error: [10.06(1)] 02121 2022-06-02"), "{err}");
    // A later buy-back under the same mandate is not reported again.
    let err = record_repurchase(&l, "2022-06-06", "1000");
    assert!(!err.contains("10.06(1)"), "{err}");
    // audit: one breach of the mandate, an error, counting both.
    let a = l.audit("2022-06-10T12:00:00+08:00");
    let mandate: Vec<_> = a
        .findings()
        .iter()
        .filter(|f| f["rule"] == "10.06(1)")
        .collect();
    assert_eq!(mandate.len(), 1, "{:#}", a.report);
    assert_eq!(mandate[0]["severity"], "error");
    assert_eq!(mandate[0]["date"], "2022-06-02");
    assert!(
        mandate[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 later repurchase(s) under it") && m.contains("101001")),
        "{}",
        mandate[0]
    );
    assert_eq!(a.code, 1);
}

#[test]
fn every_finding_record_prints_has_the_severity_audit_gives_it() {
    // A placing 14 days after a repurchase (10.06(3)), recorded: the line
    // `record` prints and the finding `audit` reports agree on severity.
    let l = ledger(&[
        repurchase("2023-06-01", 1000),
        nddr_that_evening("2023-06-01"),
    ]);
    let out = l.run(&[
        "record",
        "shares-issued",
        "--issuer",
        ISSUER,
        "--class",
        CLASS,
        "--date",
        "2023-06-20",
        "--shares",
        "5000",
        "--kind",
        "placing",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr).to_string();
    let a = l.audit("2023-06-20T12:00:00+08:00");
    let f = a
        .findings()
        .iter()
        .find(|f| f["rule"] == "10.06(3)")
        .unwrap_or_else(|| panic!("{:#}", a.report));
    let severity = f["severity"].as_str().expect("severity");
    assert!(
        err.contains(&format!("{severity}: [10.06(3)] 02121 2023-06-20")),
        "record said: {err}\naudit said: {f}"
    );
}
