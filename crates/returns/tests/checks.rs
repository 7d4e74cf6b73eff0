//! The rule checks, one rule at a time: for each, a ledger that breaks it and
//! a neighbouring one that does not. Ledgers are built from JSON lines as a
//! user would import them (the core's given/when/then support); each check
//! function is called with the Hong Kong business calendar and a fixed `now`.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{json, Value};
use shareledger_core::calendar::BusinessCalendar;
use shareledger_returns::checks::{self, Finding, Severity};
use support::*;

// ---- helpers --------------------------------------------------------------------------

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("bad test time {s}: {e}"))
}

/// Rule 10.06(3) over every live event of the issuer.
fn moratorium(issuer: &shareledger_core::state::IssuerState) -> Vec<Finding> {
    checks::moratorium_10_06_3(issuer, &checks::live(issuer))
}

/// Rule 13.25A over every live event of the issuer.
fn nddr(
    issuer: &shareledger_core::state::IssuerState,
    calendar: &BusinessCalendar,
    now: DateTime<FixedOffset>,
) -> Vec<Finding> {
    checks::nddr_deadline_13_25a(issuer, &checks::live(issuer), calendar, now)
}

/// Rule 10.06(2)(e) over every live repurchase of the issuer.
fn blackout(issuer: &shareledger_core::state::IssuerState) -> Vec<Finding> {
    checks::blackout_10_06_2_e(issuer, &checks::repurchases(&checks::live(issuer)))
}

/// Rule 10.06(1) over every live repurchase of the issuer.
fn mandate_check(issuer: &shareledger_core::state::IssuerState) -> Vec<Finding> {
    checks::repurchase_mandate_10_06_1(issuer, &checks::repurchases(&checks::live(issuer)), None)
}

/// Rule 10.06(2)(a) over every live repurchase of the issuer.
fn price_cap(
    issuer: &shareledger_core::state::IssuerState,
    calendar: &BusinessCalendar,
) -> Vec<Finding> {
    checks::price_cap_10_06_2_a(
        issuer,
        &checks::repurchases(&checks::live(issuer)),
        calendar,
    )
}

fn cal() -> BusinessCalendar {
    BusinessCalendar::new()
}

/// Long after every deadline in these tests.
fn late_now() -> DateTime<FixedOffset> {
    t("2026-06-30T12:00:00+08:00")
}

fn filed(form: &str, date: &str, submitted_at: &str) -> Value {
    json!({"type": "return_filed", "issuer": ISSUER, "form": form, "date": date,
           "submitted_at": submitted_at})
}

fn priced(line: Value, highest: &str, lowest: &str, total: &str) -> Value {
    with(
        line,
        json!({"currency": "HKD", "highest_price": highest, "lowest_price": lowest,
               "total_paid": total}),
    )
}

fn close(date: &str, price: &str) -> Value {
    json!({"type": "closing_price", "issuer": ISSUER, "class": CLASS, "date": date,
           "currency": "HKD", "price": price})
}

fn placing(date: &str, shares: u64) -> Value {
    issue(date, shares)
}

fn results(period: &str, board: &str, deadline: &str, announced: Option<&str>) -> Value {
    let mut v = json!({"type": "results_announcement_scheduled", "issuer": ISSUER,
                       "period": period, "board_meeting_date": board,
                       "publication_deadline": deadline});
    if let Some(a) = announced {
        v = with(v, json!({"announcement_date": a}));
    }
    v
}

/// The seed issuer (559,304,838 H shares) with a mandate of 10 May 2022.
fn seed_with_mandate() -> Given {
    Given::seed().event(mandate("2022-05-10", 559_304_838))
}

/// An issuer of 1,000,000 H shares as at 2022-05-31, with a share option
/// scheme (200,000 options outstanding) and a mandate of 100,000 shares.
fn small() -> Given {
    Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2022-05-31", 1_000_000, 0)
        .event(mandate("2022-05-10", 1_000_000))
        .event(scheme_adopted("2020 Scheme", "2020-01-01", 200_000))
}

fn exercise(date: &str, shares: u64) -> Value {
    option_exercise("2020 Scheme", date, shares)
}

/// (severity, rule, date) of each finding, for compact assertions.
fn summary(findings: &[Finding]) -> Vec<(Severity, String, NaiveDate)> {
    findings
        .iter()
        .map(|f| (f.severity, f.rule.clone(), f.date.expect("dated")))
        .collect()
}

fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

use Severity::{Error as E, Warning as W};

fn one(sev: Severity, rule: &str, date: &str) -> Vec<(Severity, String, NaiveDate)> {
    vec![(sev, rule.to_string(), d(date))]
}

// ---- 10.06(3): the moratorium after a repurchase ------------------------------------------

#[test]
fn placing_19_days_after_a_repurchase_breaks_the_moratorium() {
    let g =
        seed_with_mandate().events([repurchase("2022-06-01", 1000), placing("2022-06-20", 5000)]);
    let f = moratorium(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(3)", "2022-06-20"));
    assert!(f[0].message.contains("1 July 2022"), "{}", f[0].message); // "Up to" = trade date + 30
}

#[test]
fn placing_33_days_after_a_repurchase_is_clean() {
    let g =
        seed_with_mandate().events([repurchase("2022-06-01", 1000), placing("2022-07-04", 5000)]);
    assert_eq!(moratorium(issuer_state(&g)), vec![]);
}

#[test]
fn moratorium_runs_to_trade_date_plus_30_inclusive() {
    // Day 30 (1 July) is inside, day 31 (2 July) is not.
    let g = seed_with_mandate().events([
        repurchase("2022-06-01", 1000),
        placing("2022-07-01", 5000),
        placing("2022-07-02", 5000),
    ]);
    let f = moratorium(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(3)", "2022-07-01"));
}

#[test]
fn a_later_repurchase_extends_the_moratorium() {
    let g = seed_with_mandate().events([
        repurchase("2022-06-01", 1000),
        repurchase("2022-06-20", 1000),
        placing("2022-07-10", 5000),
    ]);
    let f = moratorium(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(3)", "2022-07-10"));
    assert!(f[0].message.contains("20 June 2022"), "{}", f[0].message);
}

#[test]
fn placing_on_the_repurchase_day_is_a_warning_not_an_error() {
    // The ledger has no time of day: the issue breaks the rule only if it
    // followed the repurchase.
    let g =
        seed_with_mandate().events([repurchase("2022-06-01", 1000), placing("2022-06-01", 5000)]);
    let f = moratorium(issuer_state(&g));
    assert_eq!(summary(&f), one(W, "10.06(3)", "2022-06-01"));
}

#[test]
fn a_placing_before_a_repurchase_is_not_caught() {
    let g =
        seed_with_mandate().events([placing("2022-06-01", 5000), repurchase("2022-06-02", 1000)]);
    assert_eq!(moratorium(issuer_state(&g)), vec![]);
}

#[test]
fn option_exercises_and_share_scheme_issues_are_carved_out() {
    let g = small().events([
        repurchase("2022-06-01", 1000),
        exercise("2022-06-20", 100),
        with(exercise("2022-06-21", 100), json!({"by_director": true})),
        json!({"type": "shares_issued", "issuer": ISSUER, "class": CLASS, "date": "2022-06-22",
               "shares": 50, "kind": "share_award"}),
    ]);
    assert_eq!(moratorium(issuer_state(&g)), vec![]);
}

#[test]
fn a_scrip_dividend_within_the_moratorium_is_a_new_issue() {
    let g = seed_with_mandate().events([
        repurchase("2022-06-01", 1000),
        json!({"type": "shares_issued", "issuer": ISSUER, "class": CLASS, "date": "2022-06-10",
               "shares": 500, "kind": "scrip_dividend"}),
    ]);
    let f = moratorium(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(3)", "2022-06-10"));
    assert!(
        f[0].message.contains("(scrip dividend)"),
        "{}",
        f[0].message
    );
}

#[test]
fn treasury_sales_within_the_moratorium_break_it_but_transfers_to_a_scheme_do_not() {
    let g = Given::baozun().events([
        treasury_repurchase("2024-07-02", 1000),
        treasury_sale("2024-07-10", 500),
        with(
            treasury_transfer("2024-07-11", 100),
            json!({"scheme": "2024 Share Award Scheme"}),
        ),
        treasury_sale("2024-08-05", 100), // 34 days after: clean
    ]);
    let f = moratorium(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(3)", "2024-07-10"));
}

#[test]
fn a_treasury_transfer_outside_a_scheme_within_the_moratorium_breaks_it() {
    let g = Given::baozun().events([
        treasury_repurchase("2024-07-02", 1000),
        treasury_transfer("2024-07-11", 100),
    ]);
    let f = moratorium(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(3)", "2024-07-11"));
}

// ---- 13.25A: the NDDR deadline ----------------------------------------------------------------

/// A repurchase on Friday 23 December 2022 (26 and 27 December were holidays:
/// due 08:30 on Wednesday 28 December).
fn christmas_repurchase() -> Given {
    seed_with_mandate().event(repurchase("2022-12-23", 10_000))
}

#[test]
fn nddr_for_23_december_2022_at_0800_on_28_december_is_on_time() {
    let g = christmas_repurchase().event(filed("nddr", "2022-12-23", "2022-12-28T08:00:00+08:00"));
    assert_eq!(nddr(issuer_state(&g), &cal(), late_now()), vec![]);
}

#[test]
fn nddr_at_0830_exactly_is_on_time() {
    let g = christmas_repurchase().event(filed("nddr", "2022-12-23", "2022-12-28T08:30:00+08:00"));
    assert_eq!(nddr(issuer_state(&g), &cal(), late_now()), vec![]);
}

#[test]
fn nddr_for_23_december_2022_at_0915_on_28_december_is_late() {
    let g = christmas_repurchase().event(filed("nddr", "2022-12-23", "2022-12-28T09:15:00+08:00"));
    let f = nddr(issuer_state(&g), &cal(), late_now());
    assert_eq!(summary(&f), one(E, "13.25A", "2022-12-23"));
    assert!(
        f[0].message.contains("08:30 on 28 December 2022")
            && f[0].message.contains("09:15 on 28 December 2022"),
        "{}",
        f[0].message
    );
}

#[test]
fn submission_times_are_judged_in_hong_kong_time() {
    // 01:15 UTC is 09:15 in Hong Kong: late.
    let g = christmas_repurchase().event(filed("nddr", "2022-12-23", "2022-12-28T01:15:00Z"));
    let f = nddr(issuer_state(&g), &cal(), late_now());
    assert_eq!(summary(&f), one(E, "13.25A", "2022-12-23"));
}

#[test]
fn missing_nddr_is_an_error_only_once_its_deadline_has_passed() {
    let g = christmas_repurchase();
    let before = nddr(issuer_state(&g), &cal(), t("2022-12-28T08:29:00+08:00"));
    assert_eq!(before, vec![]);
    let after = nddr(issuer_state(&g), &cal(), t("2022-12-28T08:31:00+08:00"));
    assert_eq!(summary(&after), one(E, "13.25A", "2022-12-23"));
    assert!(after[0].message.contains("no NDDR"), "{}", after[0].message);
}

#[test]
fn a_later_nddr_discloses_an_earlier_event_on_time_when_both_share_a_deadline() {
    // Friday 23 and Saturday 24 December 2022 are both due by 08:30 on 28
    // December; one NDDR dated 24 December, filed at 08:00, discloses both.
    let g = christmas_repurchase().events([
        cancellation("2022-12-24", 10_000),
        filed("nddr", "2022-12-24", "2022-12-28T08:00:00+08:00"),
    ]);
    assert_eq!(nddr(issuer_state(&g), &cal(), late_now()), vec![]);
}

#[test]
fn a_later_nddr_that_discloses_an_earlier_event_makes_it_late() {
    // Monday 5 December: no NDDR; Wednesday 7 December: an NDDR filed that
    // evening discloses both. 5 December's was due 08:30 on 6 December.
    let g = seed_with_mandate().events([
        filed("nddr", "2022-12-01", "2022-12-01T19:00:00+08:00"),
        repurchase("2022-12-05", 1000),
        repurchase("2022-12-07", 1000),
        filed("nddr", "2022-12-07", "2022-12-07T19:00:00+08:00"),
    ]);
    let f = nddr(issuer_state(&g), &cal(), late_now());
    assert_eq!(summary(&f), one(E, "13.25A", "2022-12-05"));
    assert!(
        f[0].message.contains("the return of 7 December 2022"),
        "{}",
        f[0].message
    );
}

#[test]
fn an_event_left_out_of_every_nddr_is_missing_not_late() {
    // 30 November: no NDDR. The Monthly Return for November is recorded,
    // then an NDDR of 5 December opens from it: 30 November was never in an
    // NDDR.
    let g = seed_with_mandate().events([
        filed("nddr", "2022-11-01", "2022-11-01T19:00:00+08:00"),
        repurchase("2022-11-30", 1000),
        filed("monthly", "2022-11-30", "2022-12-02T17:00:00+08:00"),
        repurchase("2022-12-05", 1000),
        filed("nddr", "2022-12-05", "2022-12-05T19:00:00+08:00"),
    ]);
    let f = nddr(issuer_state(&g), &cal(), late_now());
    assert_eq!(summary(&f), one(E, "13.25A", "2022-11-30"));
    assert!(f[0].message.contains("no NDDR"), "{}", f[0].message);
}

#[test]
fn events_before_the_first_recorded_filing_are_not_judged() {
    // Judged from 4 November (the first filing) on, that day included.
    let g = seed_with_mandate().events([
        repurchase("2022-09-30", 1000),
        repurchase("2022-11-04", 1000),
        filed("nddr", "2022-11-04", "2022-11-07T09:00:00+08:00"),
    ]);
    let f = nddr(issuer_state(&g), &cal(), late_now());
    assert_eq!(summary(&f), one(E, "13.25A", "2022-11-04"));
}

#[test]
fn with_no_filing_recorded_every_event_is_judged() {
    let g = seed_with_mandate().events([repurchase("2022-09-30", 1000)]);
    let f = nddr(issuer_state(&g), &cal(), late_now());
    assert_eq!(summary(&f), one(E, "13.25A", "2022-09-30"));
}

// ---- 13.25A(3): the 5% threshold --------------------------------------------------------------

#[test]
fn non_director_option_exercises_below_5_percent_need_no_nddr() {
    // 20,000 + 29,999 = 49,999 < 5% of 1,000,000.
    let g = small().events([
        exercise("2022-06-10", 20_000),
        exercise("2022-06-20", 29_999),
    ]);
    assert_eq!(nddr(issuer_state(&g), &cal(), late_now()), vec![]);
}

#[test]
fn non_director_option_exercises_reaching_5_percent_force_an_nddr() {
    // 20,000 + 30,000 = 50,000 = 5% of 1,000,000 on 20 June.
    let g = small().events([
        exercise("2022-06-10", 20_000),
        exercise("2022-06-20", 30_000),
    ]);
    let f = nddr(issuer_state(&g), &cal(), late_now());
    assert_eq!(summary(&f), one(E, "13.25A", "2022-06-20"));
    let filed_ok = g.event(filed("nddr", "2022-06-20", "2022-06-20T19:00:00+08:00"));
    assert_eq!(nddr(issuer_state(&filed_ok), &cal(), late_now()), vec![]);
}

#[test]
fn threshold_events_ride_along_in_an_nddr_an_always_event_forces() {
    // 30,000 exercised, then a repurchase (NDDR filed): the exercises ride
    // along and the count starts again; 30,000 more stay below 5%.
    let g = small().events([
        exercise("2022-06-10", 30_000),
        repurchase("2022-06-13", 1000),
        filed("nddr", "2022-06-13", "2022-06-13T19:00:00+08:00"),
        exercise("2022-06-20", 30_000),
    ]);
    assert_eq!(nddr(issuer_state(&g), &cal(), late_now()), vec![]);
}

#[test]
fn a_monthly_return_restarts_the_threshold_count() {
    let g = small().events([
        exercise("2022-06-10", 30_000),
        filed("monthly", "2022-06-30", "2022-07-05T17:00:00+08:00"),
        exercise("2022-07-11", 30_000),
    ]);
    let f = nddr(issuer_state(&g), &cal(), late_now());
    assert!(
        f.iter().all(|x| x.rule != "13.25A"),
        "no NDDR was due: {f:?}"
    );
}

#[test]
fn an_option_exercise_by_a_director_always_forces_an_nddr() {
    let g = small().event(with(
        exercise("2022-06-10", 10),
        json!({"by_director": true}),
    ));
    let f = nddr(issuer_state(&g), &cal(), late_now());
    assert_eq!(summary(&f), one(E, "13.25A", "2022-06-10"));
}

// ---- 13.25B: the Monthly Return deadline ------------------------------------------------------

#[test]
fn december_2022_monthly_return_at_0800_on_9_january_2023_is_on_time() {
    let g = seed_with_mandate().event(filed("monthly", "2022-12-31", "2023-01-09T08:00:00+08:00"));
    let f =
        checks::monthly_deadline_13_25b(issuer_state(&g), &cal(), t("2023-01-31T12:00:00+08:00"));
    assert_eq!(f, vec![]);
}

#[test]
fn december_2022_monthly_return_at_0845_on_9_january_2023_is_late() {
    let g = seed_with_mandate().event(filed("monthly", "2022-12-31", "2023-01-09T08:45:00+08:00"));
    let f =
        checks::monthly_deadline_13_25b(issuer_state(&g), &cal(), t("2023-01-31T12:00:00+08:00"));
    assert_eq!(summary(&f), one(E, "13.25B", "2022-12-31"));
    assert!(
        f[0].message.contains("08:30 on 09 January 2023"),
        "{}",
        f[0].message
    );
}

#[test]
fn a_missing_monthly_return_is_an_error_once_due() {
    // November 2022 is due 08:30 on 7 December 2022; January 2023 on 7 February.
    let g = seed_with_mandate().events([
        filed("monthly", "2022-10-31", "2022-11-02T17:00:00+08:00"),
        filed("monthly", "2022-12-31", "2023-01-05T17:00:00+08:00"),
    ]);
    let at = |s: &str| checks::monthly_deadline_13_25b(issuer_state(&g), &cal(), t(s));
    assert_eq!(at("2022-12-07T08:30:00+08:00"), vec![]);
    let f = at("2022-12-07T08:31:00+08:00");
    assert_eq!(summary(&f), one(E, "13.25B", "2022-11-30"));
    assert!(
        f[0].message.contains("08:30 on 07 December 2022"),
        "{}",
        f[0].message
    );
    let f = at("2023-02-07T08:31:00+08:00");
    assert_eq!(
        summary(&f),
        vec![
            (E, "13.25B".into(), d("2022-11-30")),
            (E, "13.25B".into(), d("2023-01-31")),
        ]
    );
    assert!(
        f[1].message.contains("08:30 on 07 February 2023"),
        "{}",
        f[1].message
    );
}

#[test]
fn monthly_returns_are_judged_from_the_month_of_the_first_filing() {
    // The first filing is an NDDR of 4 November 2022: November is judged,
    // October is not.
    let g = seed_with_mandate().events([
        repurchase("2022-11-04", 1000),
        filed("nddr", "2022-11-04", "2022-11-04T19:00:00+08:00"),
    ]);
    let f =
        checks::monthly_deadline_13_25b(issuer_state(&g), &cal(), t("2022-12-31T12:00:00+08:00"));
    assert_eq!(summary(&f), one(E, "13.25B", "2022-11-30"));
}

// ---- 10.06(2)(e): the blackout before results --------------------------------------------------

/// Board meeting 20 March 2023, deadline 31 March 2023: the blackout runs
/// from 18 February 2023 (30 days before 20 March).
fn annual_2022(announced: Option<&str>) -> Value {
    results("2022 annual", "2023-03-20", "2023-03-31", announced)
}

#[test]
fn repurchase_19_days_before_the_results_board_meeting_is_in_the_blackout() {
    let g = seed_with_mandate().events([
        annual_2022(Some("2023-03-20")),
        repurchase("2023-03-01", 1000),
    ]);
    let f = blackout(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(2)(e)", "2023-03-01"));
}

#[test]
fn repurchase_after_the_results_announcement_is_clean() {
    let g = seed_with_mandate().events([
        annual_2022(Some("2023-03-20")),
        repurchase("2023-03-21", 1000),
    ]);
    assert_eq!(blackout(issuer_state(&g)), vec![]);
}

#[test]
fn blackout_edges_are_both_included() {
    // 17 February: before; 18 February (30 days before): in; 20 March (the
    // announcement day: the period ends on it): in; 21 March: after.
    let g = seed_with_mandate().events([
        annual_2022(Some("2023-03-20")),
        repurchase("2023-02-17", 1000),
        repurchase("2023-02-18", 1000),
        repurchase("2023-03-20", 1000),
        repurchase("2023-03-21", 1000),
    ]);
    let f = blackout(issuer_state(&g));
    assert_eq!(
        summary(&f),
        vec![
            (E, "10.06(2)(e)".into(), d("2023-02-18")),
            (E, "10.06(2)(e)".into(), d("2023-03-20")),
        ]
    );
}

#[test]
fn blackout_starts_from_the_publication_deadline_when_it_is_earlier() {
    // Board meeting after the deadline (results late): 30 days before 31 March.
    let g = seed_with_mandate().events([
        results(
            "2022 annual",
            "2023-04-05",
            "2023-03-31",
            Some("2023-04-05"),
        ),
        repurchase("2023-02-28", 1000),
        repurchase("2023-03-01", 1000),
        repurchase("2023-04-03", 1000),
    ]);
    let f = blackout(issuer_state(&g));
    assert_eq!(
        summary(&f),
        vec![
            (E, "10.06(2)(e)".into(), d("2023-03-01")),
            (E, "10.06(2)(e)".into(), d("2023-04-03")),
        ]
    );
}

#[test]
fn without_an_announcement_the_blackout_runs_to_the_deadline() {
    let g = seed_with_mandate().events([
        annual_2022(None),
        repurchase("2023-03-31", 1000),
        repurchase("2023-04-03", 1000),
    ]);
    let f = blackout(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(2)(e)", "2023-03-31"));
}

#[test]
fn a_later_record_of_the_same_results_replaces_the_earlier_one() {
    // Scheduled first without the announcement, then recorded as announced
    // on 20 March: 24 March is after the announcement, before the deadline.
    let g = seed_with_mandate().events([
        annual_2022(None),
        annual_2022(Some("2023-03-20")),
        repurchase("2023-03-24", 1000),
        repurchase("2023-03-10", 1000),
    ]);
    let f = blackout(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(2)(e)", "2023-03-10"));
}

// ---- 10.06(1): the mandate --------------------------------------------------------------------

#[test]
fn a_mandate_used_up_exactly_is_clean() {
    // 10% of 1,000,000 = 100,000.
    let g = small().events([
        repurchase("2022-06-01", 60_000),
        repurchase("2022-06-02", 40_000),
    ]);
    assert_eq!(mandate_check(issuer_state(&g)), vec![]);
}

#[test]
fn one_share_beyond_the_mandate_breaks_it() {
    let g = small().events([
        repurchase("2022-06-01", 60_000),
        repurchase("2022-06-02", 40_000),
        repurchase("2022-06-03", 1),
    ]);
    let f = mandate_check(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(1)", "2022-06-03"));
    assert!(
        f[0].message.contains("100001") && f[0].message.contains("100000"),
        "{}",
        f[0].message
    );
}

#[test]
fn a_mandate_exceeded_is_one_breach_reported_once_with_the_later_repurchases_counted() {
    // 100,001 on 3 June crosses the 100,000; 6 and 7 June go on beyond it.
    let g = small().events([
        repurchase("2022-06-01", 60_000),
        repurchase("2022-06-02", 40_000),
        repurchase("2022-06-03", 1),
        repurchase("2022-06-06", 500),
        repurchase("2022-06-07", 499),
    ]);
    let f = mandate_check(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(1)", "2022-06-03"));
    assert!(
        f[0].message.contains(
            "2 later repurchase(s) under it, the last on 7 June 2022, took the total to 101000"
        ),
        "{}",
        f[0].message
    );
    // Still the same finding as before the later repurchases: `record`
    // does not report it again.
    let before = small().events([
        repurchase("2022-06-01", 60_000),
        repurchase("2022-06-02", 40_000),
        repurchase("2022-06-03", 1),
    ]);
    let b = mandate_check(issuer_state(&before));
    assert!(b[0].is_same(&f[0]) && b[0] != f[0]);
    // A new mandate exceeded is a new breach.
    let g2 = g.events([
        mandate("2022-06-15", 1_000_000),
        repurchase("2022-06-16", 100_001),
    ]);
    let f2 = mandate_check(issuer_state(&g2));
    assert_eq!(f2.len(), 2, "{f2:?}");
    assert!(!f2[0].is_same(&f2[1]));
}

#[test]
fn within_a_day_only_the_repurchase_that_crosses_the_limit_is_flagged() {
    let g = small().events([
        repurchase("2022-06-01", 100_000),
        repurchase("2022-06-01", 1),
    ]);
    let f = mandate_check(issuer_state(&g));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("repurchase of 1 class H"),
        "{}",
        f[0].message
    );
}

#[test]
fn shares_repurchased_before_the_ledger_count_against_the_mandate() {
    let g = Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2022-05-31", 1_000_000, 0)
        .event(with(
            mandate("2022-05-10", 1_000_000),
            json!({"repurchased_before_ledger": 99_999}),
        ))
        .events([repurchase("2022-06-01", 1), repurchase("2022-06-02", 1)]);
    let f = mandate_check(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(1)", "2022-06-02"));
}

#[test]
fn a_repurchase_with_no_mandate_in_force_breaks_the_rule() {
    let g = Given::seed().events([repurchase("2022-06-01", 1000)]);
    let f = mandate_check(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(1)", "2022-06-01"));
    assert!(
        f[0].message.contains("no repurchase mandate"),
        "{}",
        f[0].message
    );
}

#[test]
fn a_repurchase_after_the_mandate_expired_has_none_in_force() {
    let g = Given::seed().events([
        with(
            mandate("2022-05-10", 559_304_838),
            json!({"expiry_date": "2022-06-30"}),
        ),
        repurchase("2022-06-30", 1000),
        repurchase("2022-07-01", 1000),
    ]);
    let f = mandate_check(issuer_state(&g));
    assert_eq!(summary(&f), one(E, "10.06(1)", "2022-07-01"));
}

#[test]
fn a_new_mandate_starts_a_new_count() {
    let g = small().events([
        repurchase("2022-06-01", 100_000),
        mandate("2022-06-15", 1_000_000),
        repurchase("2022-06-16", 100_000),
    ]);
    assert_eq!(mandate_check(issuer_state(&g)), vec![]);
}

#[test]
fn an_issuer_without_a_primary_listing_owes_no_mandate_check() {
    let g = Given::seed().events([
        json!({"type": "issuer_settings_changed", "issuer": ISSUER, "primary_listing": false}),
        repurchase("2022-06-01", 1000),
    ]);
    assert_eq!(mandate_check(issuer_state(&g)), vec![]);
}

// ---- 10.06(2)(a): the 5% price cap ------------------------------------------------------------

/// Closes of HKD 10, 10, 10, 11, 9 on 5 to 9 June 2023 (average 10, cap 10.5);
/// the repurchase is on Monday 12 June 2023.
fn with_closes() -> Given {
    seed_with_mandate().events([
        close("2023-06-05", "10"),
        close("2023-06-06", "10"),
        close("2023-06-07", "10"),
        close("2023-06-08", "11"),
        close("2023-06-09", "9"),
    ])
}

#[test]
fn repurchase_at_5_percent_above_the_average_close_breaks_the_cap() {
    let g = with_closes().event(priced(
        repurchase("2023-06-12", 1000),
        "10.50",
        "10.00",
        "10200",
    ));
    let f = price_cap(issuer_state(&g), &cal());
    assert_eq!(summary(&f), one(E, "10.06(2)(a)", "2023-06-12"));
}

#[test]
fn repurchase_just_below_5_percent_above_the_average_close_is_clean() {
    let g = with_closes().event(priced(
        repurchase("2023-06-12", 1000),
        "10.49",
        "10.00",
        "10200",
    ));
    assert_eq!(price_cap(issuer_state(&g), &cal()), vec![]);
}

#[test]
fn only_the_5_preceding_trading_days_count() {
    // An older close of HKD 20 on 2 June is not one of the 5.
    let g = with_closes().event(close("2023-06-02", "20")).event(priced(
        repurchase("2023-06-12", 1000),
        "10.50",
        "10.00",
        "10200",
    ));
    let f = price_cap(issuer_state(&g), &cal());
    assert_eq!(summary(&f), one(E, "10.06(2)(a)", "2023-06-12"));
}

#[test]
fn without_closing_prices_the_cap_check_could_not_run_a_warning() {
    let g = seed_with_mandate().event(priced(
        repurchase("2023-06-12", 1000),
        "10.50",
        "10.00",
        "10200",
    ));
    let f = price_cap(issuer_state(&g), &cal());
    assert_eq!(summary(&f), one(W, "10.06(2)(a)", "2023-06-12"));
    assert!(f[0].message.contains("could not run"), "{}", f[0].message);
}

#[test]
fn without_trade_prices_the_cap_check_could_not_run() {
    let g = with_closes().event(repurchase("2023-06-12", 1000));
    let f = price_cap(issuer_state(&g), &cal());
    assert_eq!(summary(&f), one(W, "10.06(2)(a)", "2023-06-12"));
}

#[test]
fn stale_or_gappy_closes_do_not_count_as_the_5_preceding_trading_days() {
    // Closes for 1 to 7 June only: 8 and 9 June are missing.
    let g = seed_with_mandate()
        .events([
            close("2023-06-01", "10"),
            close("2023-06-02", "10"),
            close("2023-06-05", "10"),
            close("2023-06-06", "10"),
            close("2023-06-07", "10"),
        ])
        .event(priced(
            repurchase("2023-06-12", 1000),
            "10.50",
            "10.00",
            "10200",
        ));
    let f = price_cap(issuer_state(&g), &cal());
    assert_eq!(summary(&f), one(W, "10.06(2)(a)", "2023-06-12"));
}

#[test]
fn off_exchange_repurchases_are_not_capped() {
    let g = with_closes().event(with(
        priced(repurchase("2023-06-12", 1000), "12", "12", "12000"),
        json!({"method": "general_offer"}),
    ));
    assert_eq!(price_cap(issuer_state(&g), &cal()), vec![]);
}

// ---- run: everything ----------------------------------------------------------------------------

#[test]
fn run_reports_every_rule_in_date_order() {
    let g = small().events([
        filed("nddr", "2022-06-01", "2022-06-01T19:00:00+08:00"),
        results(
            "2022 interim",
            "2022-08-20",
            "2022-08-31",
            Some("2022-08-20"),
        ),
        repurchase("2022-08-01", 100_001),
        placing("2022-08-10", 1000),
    ]);
    let f = checks::run(issuer_state(&g), &cal(), t("2022-08-02T12:00:00+08:00"));
    let rules: Vec<(&str, NaiveDate)> = errors(&f)
        .iter()
        .map(|x| (x.rule.as_str(), x.date.unwrap()))
        .collect();
    assert_eq!(
        rules,
        vec![
            ("13.25B", d("2022-06-30")),
            ("10.06(1)", d("2022-08-01")),
            ("10.06(2)(e)", d("2022-08-01")),
            ("13.25A", d("2022-08-01")),
            ("10.06(3)", d("2022-08-10")),
        ]
    );
}

// ---- 13.25B: one answer to "which Monthly Returns are due" -------------------------------------

/// The months the core says are owed (`rules::monthly_returns_due`, which
/// `status` lists) and the 13.25B check (`audit`) agree: every owed month
/// whose deadline has passed and that was not filed by it is a finding, and
/// no other month is. Over several ledgers and times, including a ledger
/// whose first filing is an NDDR dated on a month end.
#[test]
fn monthly_returns_due_and_the_monthly_check_agree() {
    use shareledger_core::event::ReturnForm;
    use shareledger_core::rules::monthly_returns_due;

    let ledgers: Vec<(&str, Given)> = vec![
        ("no filing recorded", seed_with_mandate()),
        ("opening mid-month, no filing", small()),
        (
            "first filing an NDDR on a month end",
            seed_with_mandate().events([
                repurchase("2022-11-30", 1000),
                filed("nddr", "2022-11-30", "2022-11-30T19:00:00+08:00"),
            ]),
        ),
        (
            "first filing an NDDR mid-month",
            seed_with_mandate().events([
                repurchase("2022-11-04", 1000),
                filed("nddr", "2022-11-04", "2022-11-04T19:00:00+08:00"),
            ]),
        ),
        (
            "monthly returns on time, late and missing",
            seed_with_mandate().events([
                filed("monthly", "2022-10-31", "2022-11-02T17:00:00+08:00"),
                filed("monthly", "2022-11-30", "2022-12-08T09:00:00+08:00"),
                filed("monthly", "2023-01-31", "2023-02-07T08:30:00+08:00"),
            ]),
        ),
    ];
    let nows = [
        "2022-11-30T23:00:00+08:00",
        "2022-12-07T08:30:00+08:00",
        "2022-12-07T08:31:00+08:00",
        "2023-01-09T09:00:00+08:00",
        "2023-02-07T00:31:00Z",
        "2023-06-30T12:00:00+08:00",
    ];
    let mut month_end_nddr_november = false;
    for (name, g) in &ledgers {
        let issuer = issuer_state(g);
        for now in nows.map(t) {
            let due = issuer
                .first_monthly_return_owed()
                .map(|first| monthly_returns_due(first, now, &cal()))
                .unwrap_or_default();
            let expected: Vec<NaiveDate> = due
                .iter()
                .filter(|m| m.overdue(now))
                .filter(|m| {
                    !issuer.filings().iter().any(|(_, f)| {
                        f.form == ReturnForm::Monthly
                            && f.date == m.month_end
                            && f.submitted_at <= m.deadline
                    })
                })
                .map(|m| m.month_end)
                .collect();
            let found: Vec<NaiveDate> = checks::monthly_deadline_13_25b(issuer, &cal(), now)
                .iter()
                .map(|f| f.date.expect("dated"))
                .collect();
            assert_eq!(found, expected, "{name} at {now}");
            if *name == "first filing an NDDR on a month end"
                && now > t("2022-12-07T08:30:00+08:00")
            {
                assert_eq!(due[0].month_end, d("2022-11-30"), "{name} at {now}");
                assert_eq!(found.first(), Some(&d("2022-11-30")), "{name} at {now}");
                month_end_nddr_november = true;
            }
        }
    }
    assert!(month_end_nddr_november);
    // The late and the missing returns, in one ledger, are both found.
    let issuer = issuer_state(&ledgers[4].1);
    let f = checks::monthly_deadline_13_25b(issuer, &cal(), t("2023-06-30T12:00:00+08:00"));
    assert_eq!(
        summary(&f),
        vec![
            (E, "13.25B".into(), d("2022-11-30")),
            (E, "13.25B".into(), d("2022-12-31")),
            (E, "13.25B".into(), d("2023-02-28")),
            (E, "13.25B".into(), d("2023-03-31")),
            (E, "13.25B".into(), d("2023-04-30")),
            (E, "13.25B".into(), d("2023-05-31")),
        ]
    );
}
