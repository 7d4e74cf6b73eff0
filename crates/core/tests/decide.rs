//! The negative space: every way an event is refused (domain.md section 2,
//! "what can never happen"), each asserting the kind, the field, the figures
//! the message names, and that nothing of the event was written.

mod support;

use serde_json::json;
use shareledger_core::state::MAX_SHARES;
use shareledger_core::RefusalKind as K;
use support::*;

// ---- issuers and classes -------------------------------------------------------

#[test]
fn unknown_issuer_is_refused() {
    Given::seed()
        .when(
            json!({"type": "shares_repurchased", "issuer": "99999", "class": "H",
                     "trade_date": "2022-11-07", "shares": 4300}),
        )
        .then_refused(K::UnknownIssuer, "issuer", &["99999", "issuer_registered"]);
}

#[test]
fn unknown_issuer_is_refused_for_context_events_too() {
    Given::new()
        .when(
            json!({"type": "share_class_defined", "issuer": "02121", "class": "H",
                     "class_of_shares": "Ordinary shares"}),
        )
        .then_refused(K::UnknownIssuer, "issuer", &["02121"]);
}

#[test]
fn issuer_registered_twice_is_refused() {
    Given::new()
        .issuer(ISSUER)
        .when(json!({"type": "issuer_registered", "issuer": ISSUER, "name": "Another name"}))
        .then_refused(
            K::IssuerExists,
            "issuer",
            &["02121", "issuer_settings_changed"],
        );
}

#[test]
fn issuer_with_empty_name_is_refused() {
    Given::new()
        .when(json!({"type": "issuer_registered", "issuer": ISSUER, "name": "  "}))
        .then_refused(K::EmptyText, "name", &[]);
}

#[test]
fn issuer_with_empty_id_is_refused() {
    Given::new()
        .when(json!({"type": "issuer_registered", "issuer": "", "name": "X"}))
        .then_refused(K::EmptyText, "issuer", &[]);
}

#[test]
fn settings_change_to_an_empty_name_is_refused() {
    Given::seed()
        .when(json!({"type": "issuer_settings_changed", "issuer": ISSUER, "name": ""}))
        .then_refused(K::EmptyText, "name", &[]);
}

#[test]
fn unknown_class_is_refused_naming_the_known_ones() {
    Given::seed()
        .when(
            json!({"type": "shares_repurchased", "issuer": ISSUER, "class": "A",
                     "trade_date": "2022-11-07", "shares": 4300}),
        )
        .then_refused(K::UnknownClass, "class", &["02121", "`A`", "use one of: H"]);
}

#[test]
fn unknown_class_of_an_issuer_without_classes_says_to_define_one() {
    Given::new()
        .issuer(ISSUER)
        .when(
            json!({"type": "opening_balance", "issuer": ISSUER, "class": "H",
                     "date": "2022-05-27", "issued_shares": 1}),
        )
        .then_refused(K::UnknownClass, "class", &["`H`", "share_class_defined"]);
}

#[test]
fn class_defined_twice_is_refused() {
    Given::seed()
        .when(
            json!({"type": "share_class_defined", "issuer": ISSUER, "class": "H",
                     "class_of_shares": "Ordinary shares"}),
        )
        .then_refused(K::ClassExists, "class", &["02121", "`H`"]);
}

#[test]
fn class_with_empty_class_of_shares_is_refused() {
    Given::new()
        .issuer(ISSUER)
        .when(
            json!({"type": "share_class_defined", "issuer": ISSUER, "class": "H",
                     "class_of_shares": ""}),
        )
        .then_refused(K::EmptyText, "class_of_shares", &[]);
}

#[test]
fn class_with_absurd_authorised_shares_is_refused() {
    Given::new()
        .issuer(ISSUER)
        .when(
            json!({"type": "share_class_defined", "issuer": ISSUER, "class": "H",
                     "class_of_shares": "Ordinary shares", "authorised_shares": MAX_SHARES + 1}),
        )
        .then_refused(K::TooManyShares, "authorised_shares", &["1000000000000001"]);
}

// ---- opening balances -------------------------------------------------------------

#[test]
fn opening_balance_twice_is_refused() {
    Given::seed()
        .when(
            json!({"type": "opening_balance", "issuer": ISSUER, "class": CLASS,
                     "date": "2022-06-30", "issued_shares": 559_304_838}),
        )
        .then_refused(K::OpeningBalanceExists, "class", &["2022-05-27"]);
}

#[test]
fn opening_balance_after_a_movement_is_refused() {
    Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .event(issue("2022-05-30", 100_000))
        .when(
            json!({"type": "opening_balance", "issuer": ISSUER, "class": CLASS,
                     "date": "2022-05-27", "issued_shares": 559_304_838}),
        )
        .then_refused(K::OpeningBalanceAfterMovements, "date", &["class H"]);
}

#[test]
fn opening_balance_after_an_authorised_change_is_refused() {
    Given::new()
        .issuer(ISSUER)
        .class(CLASS, Some(1000))
        .event(authorised_change("2022-05-30", 2000))
        .when(
            json!({"type": "opening_balance", "issuer": ISSUER, "class": CLASS,
                     "date": "2022-05-27", "issued_shares": 1000}),
        )
        .then_refused(K::OpeningBalanceAfterMovements, "date", &["H"]);
}

#[test]
fn opening_balance_with_absurd_counts_is_refused() {
    Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .when(
            json!({"type": "opening_balance", "issuer": ISSUER, "class": CLASS,
                     "date": "2022-05-27", "issued_shares": MAX_SHARES + 1}),
        )
        .then_refused(K::TooManyShares, "issued_shares", &["1000000000000001"]);
    Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .when(
            json!({"type": "opening_balance", "issuer": ISSUER, "class": CLASS,
                     "date": "2024-06-30", "issued_shares": 1, "treasury_shares": u64::MAX}),
        )
        .then_refused(
            K::TooManyShares,
            "treasury_shares",
            &["18446744073709551615"],
        );
}

// ---- balance-moving events on or before the opening balance date ----------------

/// Seed opening is 2022-05-27; Baozun-like opening is 2024-06-30.
fn refused_as_before_opening(
    g: Given,
    line: serde_json::Value,
    field: &str,
    date: &str,
    opening: &str,
) {
    g.when(line).then_refused(
        K::BeforeOpeningBalance,
        field,
        &[date, opening, "class H", &format!("after {opening}")],
    );
}

macro_rules! before_opening {
    ($($name:ident: $given:expr, $line:expr, $field:literal, $date:literal, $opening:literal;)*) => {
        $(#[test]
        fn $name() {
            refused_as_before_opening($given, $line, $field, $date, $opening);
        })*
    };
}

before_opening! {
    repurchase_on_opening_date: Given::seed(), repurchase("2022-05-27", 100), "trade_date", "2022-05-27", "2022-05-27";
    repurchase_before_opening_date: Given::seed(), repurchase("2022-05-20", 100), "trade_date", "2022-05-20", "2022-05-27";
    treasury_repurchase_on_opening_date: Given::baozun(), treasury_repurchase("2024-06-30", 100), "trade_date", "2024-06-30", "2024-06-30";
    treasury_repurchase_before_opening_date: Given::baozun(), treasury_repurchase("2024-06-20", 100), "trade_date", "2024-06-20", "2024-06-30";
    cancellation_on_opening_date: Given::seed(), cancellation("2022-05-27", 100), "date", "2022-05-27", "2022-05-27";
    cancellation_before_opening_date: Given::seed(), cancellation("2022-05-01", 100), "date", "2022-05-01", "2022-05-27";
    issue_on_opening_date: Given::seed(), issue("2022-05-27", 100), "date", "2022-05-27", "2022-05-27";
    issue_before_opening_date: Given::seed(), issue("2021-12-31", 100), "date", "2021-12-31", "2022-05-27";
    redemption_on_opening_date: Given::seed(), redemption("2022-05-27", 100), "date", "2022-05-27", "2022-05-27";
    redemption_before_opening_date: Given::seed(), redemption("2022-05-26", 100), "date", "2022-05-26", "2022-05-27";
    treasury_sale_on_opening_date: Given::baozun(), treasury_sale("2024-06-30", 100), "trade_date", "2024-06-30", "2024-06-30";
    treasury_sale_before_opening_date: Given::baozun(), treasury_sale("2024-06-29", 100), "trade_date", "2024-06-29", "2024-06-30";
    treasury_transfer_on_opening_date: Given::baozun(), treasury_transfer("2024-06-30", 100), "date", "2024-06-30", "2024-06-30";
    treasury_transfer_before_opening_date: Given::baozun(), treasury_transfer("2024-06-12", 100), "date", "2024-06-12", "2024-06-30";
    treasury_cancellation_on_opening_date: Given::baozun(), treasury_cancellation("2024-06-30", 100), "date", "2024-06-30", "2024-06-30";
    treasury_cancellation_before_opening_date: Given::baozun(), treasury_cancellation("2024-06-15", 100), "date", "2024-06-15", "2024-06-30";
    authorised_change_on_opening_date: Given::seed(), authorised_change("2022-05-27", 600_000_000), "date", "2022-05-27", "2022-05-27";
    authorised_change_before_opening_date: Given::seed(), authorised_change("2022-01-01", 600_000_000), "date", "2022-01-01", "2022-05-27";
}

#[test]
fn context_facts_may_be_dated_before_the_opening_balance() {
    let g = Given::seed()
        .when(with(
            mandate("2022-05-10", 559_304_838),
            json!({"explanatory_statement_date": "2022-04-14"}),
        ))
        .then_accepted()
        .when(scheme_adopted("2019 Scheme", "2019-06-01", 1_000_000))
        .then_accepted()
        .when(results_scheduled("2022-03-25", "2022-03-31"))
        .then_accepted()
        .when(
            json!({"type": "closing_price", "issuer": ISSUER, "class": CLASS,
                     "date": "2022-05-26", "currency": "HKD", "price": "22.10"}),
        )
        .then_accepted();
    let issuer = issuer_state(&g);
    assert_eq!(class_state(&g).mandates().len(), 1);
    assert_eq!(issuer.schemes()["2019 Scheme"].outstanding, 1_000_000);
    assert_eq!(issuer.results().len(), 1);
    // The opening balance is untouched by context.
    assert_eq!(triple(balances(&g, "2022-05-27")), (559_304_838, 0, 0));
}

// ---- counts: negative balances, zero, absurd --------------------------------------

#[test]
fn redemption_of_more_than_issued_is_refused() {
    Given::seed()
        .when(redemption("2022-06-01", 559_304_839))
        .then_refused(
            K::NegativeBalance,
            "shares",
            &[
                "559304839",
                "559304838",
                "-1",
                "2022-06-01",
                "issued shares",
            ],
        );
}

#[test]
fn redemption_of_exactly_all_issued_is_accepted() {
    let g = Given::seed()
        .when(redemption("2022-06-01", 559_304_838))
        .then_accepted();
    assert_eq!(triple(balances(&g, "2022-06-01")), (0, 0, 0));
}

#[test]
fn zero_shares_are_refused() {
    for line in [
        repurchase("2022-06-01", 0),
        cancellation("2022-06-01", 0),
        issue("2022-06-01", 0),
        redemption("2022-06-01", 0),
    ] {
        Given::seed()
            .when(line)
            .then_refused(K::ZeroShares, "shares", &["0"]);
    }
    for line in [
        treasury_sale("2024-07-01", 0),
        treasury_transfer("2024-07-01", 0),
        treasury_cancellation("2024-07-01", 0),
    ] {
        Given::baozun()
            .when(line)
            .then_refused(K::ZeroShares, "shares", &["0"]);
    }
}

#[test]
fn zero_options_are_refused() {
    Given::seed()
        .event(scheme_adopted("2019 Scheme", "2019-06-01", 100))
        .when(options("granted", "2019 Scheme", "2022-06-01", 0))
        .then_refused(K::ZeroShares, "options", &[]);
}

#[test]
fn absurd_share_counts_are_refused() {
    for shares in [MAX_SHARES + 1, u64::MAX] {
        let figure = shares.to_string();
        for line in [
            repurchase("2022-06-01", shares),
            cancellation("2022-06-01", shares),
            issue("2022-06-01", shares),
            redemption("2022-06-01", shares),
        ] {
            Given::seed().when(line).then_refused(
                K::TooManyShares,
                "shares",
                &[&figure, "1000000000000000"],
            );
        }
    }
}

#[test]
fn an_issue_taking_the_class_above_the_limit_is_refused() {
    // MAX_SHARES itself passes the count check; the balance would not.
    Given::seed()
        .when(issue("2022-06-01", MAX_SHARES))
        .then_refused(K::TooManyShares, "shares", &["1000000000000000", "class H"]);
}

#[test]
fn absurd_authorised_change_is_refused() {
    Given::seed()
        .when(authorised_change("2022-06-01", MAX_SHARES + 1))
        .then_refused(K::TooManyShares, "authorised_shares", &["1000000000000001"]);
}

// ---- cancellation of repurchased shares -----------------------------------------

#[test]
fn cancelling_more_than_pending_is_refused() {
    Given::seed()
        .event(repurchase("2022-11-07", 4300))
        .event(repurchase("2022-11-08", 700))
        .when(cancellation("2022-11-30", 5001))
        .then_refused(
            K::ExceedsPending,
            "shares",
            &[
                "5001",
                "only 5000",
                "2022-11-30",
                "2022-11-07 (4300)",
                "2022-11-08 (700)",
            ],
        );
}

#[test]
fn cancelling_with_nothing_pending_is_refused() {
    Given::seed()
        .when(cancellation("2022-11-30", 1))
        .then_refused(K::ExceedsPending, "shares", &["only 0", "pending: none"]);
}

#[test]
fn cancelling_before_the_repurchase_trade_date_is_refused() {
    // The pending line of 10 November is not there yet on 9 November.
    Given::seed()
        .event(repurchase("2022-11-10", 100))
        .when(cancellation("2022-11-09", 100))
        .then_refused(
            K::ExceedsPending,
            "shares",
            &["only 0", "2022-11-09", "2022-11-10 (100)"],
        );
}

#[test]
fn cancelling_on_the_repurchase_trade_date_is_accepted() {
    let g = Given::seed()
        .event(repurchase("2022-11-10", 100))
        .when(cancellation("2022-11-10", 100))
        .then_accepted();
    assert_eq!(triple(balances(&g, "2022-11-10")), (559_304_738, 0, 0));
}

#[test]
fn trade_dates_naming_a_non_pending_date_is_refused() {
    Given::seed()
        .event(repurchase("2022-11-07", 4300))
        .when(with(
            cancellation("2022-11-30", 100),
            json!({"trade_dates": ["2022-11-08"]}),
        ))
        .then_refused(
            K::UnknownPendingLine,
            "trade_dates",
            &["2022-11-08", "2022-11-07 (4300)"],
        );
}

#[test]
fn trade_dates_naming_a_date_after_the_cancellation_is_refused() {
    Given::seed()
        .event(repurchase("2022-11-07", 4300))
        .event(repurchase("2022-11-20", 500))
        .when(with(
            cancellation("2022-11-15", 100),
            json!({"trade_dates": ["2022-11-20"]}),
        ))
        .then_refused(
            K::UnknownPendingLine,
            "trade_dates",
            &["2022-11-20", "2022-11-15"],
        );
}

#[test]
fn trade_dates_naming_a_line_with_too_few_shares_is_refused() {
    Given::seed()
        .event(repurchase("2022-11-07", 4300))
        .event(repurchase("2022-11-08", 700))
        .when(with(
            cancellation("2022-11-30", 1000),
            json!({"trade_dates": ["2022-11-08"]}),
        ))
        .then_refused(
            K::ExceedsPending,
            "shares",
            &["1000", "only 700", "named trade dates"],
        );
}

#[test]
fn trade_dates_naming_a_line_twice_cannot_cancel_it_twice() {
    // 100 pending on 10 November; cancelling 200 by naming that line twice
    // must be refused: only 100 are pending.
    let g = Given::seed().event(repurchase("2022-11-10", 100));
    let line = with(
        cancellation("2022-11-20", 200),
        json!({"trade_dates": ["2022-11-10", "2022-11-10"]}),
    );
    let verdict = shareledger_core::decide(g.register(), record(&line, 99));
    let refusal = verdict.expect_err("200 cancelled out of 100 pending must be refused");
    assert_eq!(refusal.kind, K::UnknownPendingLine);
    assert_eq!(refusal.field, "trade_dates");
    assert!(refusal.message.contains("2022-11-10"), "{refusal}");
}

#[test]
fn backdated_cancellation_that_would_overdraw_a_later_cancellation_is_refused() {
    // 10 Nov: 100 repurchased; 20 Nov: all 100 cancelled. A cancellation
    // recorded later but dated 15 Nov would leave 20 Nov cancelling shares
    // that are no longer pending.
    Given::seed()
        .event(repurchase("2022-11-10", 100))
        .event(cancellation("2022-11-20", 100))
        .when(cancellation("2022-11-15", 100))
        .then_refused(
            K::ExceedsPending,
            "shares",
            &["100", "only 0", "2022-11-15"],
        );
}

#[test]
fn cancellation_of_an_absurd_count_is_refused_before_allocation() {
    Given::seed()
        .event(repurchase("2022-11-10", 100))
        .when(cancellation("2022-11-20", MAX_SHARES + 1))
        .then_refused(K::TooManyShares, "shares", &[]);
}

// ---- treasury -------------------------------------------------------------------------

#[test]
fn selling_more_treasury_than_held_is_refused() {
    Given::baozun()
        .when(treasury_sale("2024-07-02", 2_507_728))
        .then_refused(
            K::ExceedsTreasury,
            "shares",
            &[
                "2507728",
                "2507727",
                "-1",
                "treasury shares",
                "2024-07-02",
                "a sale of treasury shares",
            ],
        );
}

#[test]
fn transferring_more_treasury_than_held_is_refused() {
    Given::baozun()
        .when(treasury_transfer("2024-07-02", 2_507_728))
        .then_refused(
            K::ExceedsTreasury,
            "shares",
            &["2507728", "2507727", "a transfer of treasury shares"],
        );
}

#[test]
fn cancelling_more_treasury_than_held_is_refused() {
    Given::baozun()
        .when(treasury_cancellation("2024-07-02", 2_507_728))
        .then_refused(
            K::ExceedsTreasury,
            "shares",
            &["2507728", "2507727", "a cancellation of treasury shares"],
        );
}

#[test]
fn treasury_movements_of_all_held_are_accepted() {
    let g = Given::baozun()
        .when(treasury_transfer("2024-07-02", 7_727))
        .then_accepted()
        .when(treasury_sale("2024-07-03", 500_000))
        .then_accepted()
        .when(treasury_cancellation("2024-07-04", 2_000_000))
        .then_accepted();
    assert_eq!(
        triple(balances(&g, "2024-07-02")),
        (168_320_931, 2_500_000, 0)
    );
    assert_eq!(
        triple(balances(&g, "2024-07-03")),
        (168_820_931, 2_000_000, 0)
    );
    assert_eq!(triple(balances(&g, "2024-07-04")), (168_820_931, 0, 0));
    assert_eq!(balances(&g, "2024-07-04").total(), 168_820_931);
}

#[test]
fn treasury_repurchase_before_11_june_2024_is_refused() {
    Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2024-05-31", 168_313_204, 0)
        .when(treasury_repurchase("2024-06-10", 150_000))
        .then_refused(
            K::TreasuryBeforeRegime,
            "purpose",
            &["2024-06-10", "11 June 2024"],
        );
}

#[test]
fn treasury_repurchase_on_11_june_2024_is_accepted() {
    let g = Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2024-05-31", 168_313_204, 0)
        .when(treasury_repurchase("2024-06-11", 150_000))
        .then_accepted();
    assert_eq!(
        triple(balances(&g, "2024-06-11")),
        (168_163_204, 150_000, 0)
    );
}

#[test]
fn treasury_movements_before_11_june_2024_are_refused() {
    let g = Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2024-05-31", 1_000, 0);
    for (line, field) in [
        (treasury_sale("2024-06-10", 1), "trade_date"),
        (treasury_transfer("2024-06-10", 1), "date"),
        (treasury_cancellation("2024-06-10", 1), "date"),
    ] {
        g.clone().when(line).then_refused(
            K::TreasuryBeforeRegime,
            field,
            &["2024-06-10", "11 June 2024"],
        );
    }
}

#[test]
fn backdated_treasury_sale_that_overdraws_a_later_day_is_refused() {
    // Held 2,507,727. 10 July: 2,000,000 sold. A sale dated 5 July of 600,000
    // is fine on 5 July (1,907,727 left) but leaves 10 July at −92,273.
    Given::baozun()
        .event(treasury_sale("2024-07-10", 2_000_000))
        .when(treasury_sale("2024-07-05", 600_000))
        .then_refused(
            K::ExceedsTreasury,
            "shares",
            &["600000", "2024-07-05", "end of 2024-07-10", "-92273"],
        );
}

#[test]
fn backdated_treasury_sale_within_every_later_balance_is_accepted() {
    let g = Given::baozun()
        .event(treasury_sale("2024-07-10", 2_000_000))
        .when(treasury_sale("2024-07-05", 507_727))
        .then_accepted();
    assert_eq!(
        triple(balances(&g, "2024-07-05")),
        (168_820_931, 2_000_000, 0)
    );
    assert_eq!(triple(balances(&g, "2024-07-10")), (170_820_931, 0, 0));
}

#[test]
fn backdated_redemption_that_overdraws_a_later_day_is_refused() {
    Given::seed()
        .event(redemption("2022-07-10", 559_304_838))
        .event(issue("2022-07-20", 10))
        .when(redemption("2022-07-05", 5))
        .then_refused(K::NegativeBalance, "shares", &["end of 2022-07-10", "-5"]);
}

#[test]
fn same_day_treasury_repurchase_then_transfer_is_accepted() {
    // Opening treasury 0. 2 July: 150,000 bought into treasury, then the same
    // day 150,000 transferred to the share award scheme. End of 2 July:
    // treasury 0, never negative.
    let g = Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2024-06-30", 168_313_204, 0)
        .event(treasury_repurchase("2024-07-02", 150_000))
        .when(treasury_transfer("2024-07-02", 150_000))
        .then_accepted();
    assert_eq!(triple(balances(&g, "2024-07-02")), (168_313_204, 0, 0));
}

#[test]
fn same_day_issue_then_redemption_is_accepted() {
    let g = Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2022-05-27", 60, 0)
        .event(issue("2022-06-01", 100))
        .when(redemption("2022-06-01", 150))
        .then_accepted();
    assert_eq!(triple(balances(&g, "2022-06-01")), (10, 0, 0));
}

#[test]
fn repurchasing_for_cancellation_more_than_issued_is_refused() {
    Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2022-05-27", 1_000, 0)
        .when(repurchase("2022-06-01", 5_000))
        .then_refused(K::NegativeBalance, "shares", &["5000", "1000"]);
}

#[test]
fn redeeming_pending_cancellation_more_than_issued_is_refused() {
    Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2022-05-27", 1_000, 0)
        .when(with(
            redemption("2022-06-01", 5_000),
            json!({"cancelled": false}),
        ))
        .then_refused(K::NegativeBalance, "shares", &["5000", "1000"]);
}

#[test]
fn redemption_leaving_issued_below_pending_is_refused() {
    // 1,000 issued, 800 of them repurchased for cancellation (still issued).
    // Redeeming 500 would leave 500 issued but 800 pending.
    Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2022-05-27", 1_000, 0)
        .event(repurchase("2022-06-01", 800))
        .when(redemption("2022-06-02", 500))
        .then_refused(K::NegativeBalance, "shares", &["500", "800"]);
}

// ---- repurchase prices --------------------------------------------------------------

fn priced(
    shares: u64,
    currency: Option<&str>,
    highest: Option<&str>,
    lowest: Option<&str>,
    total: Option<&str>,
) -> serde_json::Value {
    let mut line = repurchase("2022-11-07", shares);
    for (k, v) in [
        ("currency", currency),
        ("highest_price", highest),
        ("lowest_price", lowest),
        ("total_paid", total),
    ] {
        if let Some(v) = v {
            line = with(line, json!({k: v}));
        }
    }
    line
}

/// The seed's 7 November 2022: 4,300 × [21.35, 21.55] = [91,805, 92,665].
fn seed_trade(total: &str) -> serde_json::Value {
    priced(4300, Some("HKD"), Some("21.55"), Some("21.35"), Some(total))
}

#[test]
fn incomplete_prices_are_refused_naming_what_is_missing() {
    Given::seed()
        .when(priced(
            4300,
            Some("HKD"),
            Some("21.55"),
            Some("21.35"),
            None,
        ))
        .then_refused(K::IncompletePrices, "total_paid", &["total_paid missing"]);
    Given::seed()
        .when(priced(
            4300,
            None,
            Some("21.55"),
            Some("21.35"),
            Some("92569"),
        ))
        .then_refused(K::IncompletePrices, "currency", &["currency missing"]);
    Given::seed()
        .when(priced(
            4300,
            Some("HKD"),
            None,
            Some("21.35"),
            Some("92569"),
        ))
        .then_refused(
            K::IncompletePrices,
            "highest_price",
            &["highest_price missing"],
        );
    Given::seed()
        .when(priced(
            4300,
            Some("HKD"),
            Some("21.55"),
            None,
            Some("92569"),
        ))
        .then_refused(
            K::IncompletePrices,
            "lowest_price",
            &["lowest_price missing"],
        );
    // Several missing: all are named.
    let r = Given::seed()
        .when(priced(4300, None, Some("21.55"), None, None))
        .then_refused(
            K::IncompletePrices,
            "currency",
            &["currency", "lowest_price", "total_paid"],
        );
    assert!(
        r.message
            .contains("currency, lowest_price, total_paid missing"),
        "{r}"
    );
}

#[test]
fn no_prices_at_all_are_accepted() {
    Given::seed()
        .when(priced(4300, None, None, None, None))
        .then_accepted();
}

#[test]
fn lowest_above_highest_is_refused() {
    Given::seed()
        .when(priced(
            4300,
            Some("HKD"),
            Some("21.35"),
            Some("21.55"),
            Some("92569"),
        ))
        .then_refused(K::InvalidPrices, "lowest_price", &["21.55", "21.35"]);
}

#[test]
fn the_seed_trade_is_accepted() {
    Given::seed().when(seed_trade("92569")).then_accepted();
}

#[test]
fn totals_just_inside_the_tolerance_are_accepted() {
    // Upper end 92,665 + 1; lower end 91,805 − 1; and the exact ends.
    for total in ["92666", "92665.995", "91804", "91804.00", "91805", "92665"] {
        Given::seed().when(seed_trade(total)).then_accepted();
    }
}

#[test]
fn totals_just_outside_the_tolerance_are_refused() {
    for total in ["92666.01", "91803.99", "0", "1000000"] {
        Given::seed().when(seed_trade(total)).then_refused(
            K::PriceOutOfRange,
            "total_paid",
            &[total, "4300", "21.35", "21.55", "91805", "92665"],
        );
    }
}

#[test]
fn price_overflow_is_refused_not_a_panic() {
    // Beyond any amount: refused when read (issue #11), naming the bound.
    let beyond = priced(
        4300,
        Some("HKD"),
        Some("79228162514264337593543950335"),
        Some("21.35"),
        Some("92569"),
    );
    let e = shareledger_core::parse_line(&beyond.to_string()).expect_err("refused when read");
    assert_eq!(e.field.as_deref(), Some("highest_price"));
    assert!(e.message.contains("10^18"), "{e}");
    // Within the amount bound but shares × price beyond a Decimal (an
    // event built past the door): the core refuses it too.
    let line = priced(
        MAX_SHARES,
        Some("HKD"),
        Some("1000000000000000000"),
        Some("21.35"),
        Some("92569"),
    );
    let g = Given::seed();
    let verdict =
        std::panic::catch_unwind(|| shareledger_core::decide(g.register(), record(&line, 99)));
    let verdict = verdict.expect("decide must not panic on a large price");
    let refusal = verdict.expect_err("an absurd price must be refused");
    assert_eq!(refusal.kind, K::PriceOutOfRange);
}

#[test]
fn treasury_sale_total_outside_range_is_refused() {
    let line = with(
        treasury_sale("2024-07-02", 1_000),
        json!({"highest_price": "10.50", "lowest_price": "10.00", "total_received": "10501.01"}),
    );
    Given::baozun().when(line).then_refused(
        K::PriceOutOfRange,
        "total_received",
        &["10501.01", "1000", "10.50"],
    );
    let line = with(
        treasury_sale("2024-07-02", 1_000),
        json!({"highest_price": "10.00", "lowest_price": "10.50", "total_received": "10200"}),
    );
    Given::baozun()
        .when(line)
        .then_refused(K::InvalidPrices, "lowest_price", &["10.50", "10.00"]);
}

#[test]
fn issue_price_without_currency_is_refused() {
    Given::seed()
        .when(with(issue("2022-06-01", 100), json!({"price": "20"})))
        .then_refused(K::IncompletePrices, "currency", &[]);
    Given::seed()
        .when(with(
            redemption("2022-06-01", 100),
            json!({"currency": "HKD"}),
        ))
        .then_refused(K::IncompletePrices, "price", &[]);
}

// ---- method ---------------------------------------------------------------------------

#[test]
fn other_exchange_without_exchange_name_is_refused() {
    Given::seed()
        .when(with(
            repurchase("2022-11-07", 4300),
            json!({"method": "other_exchange"}),
        ))
        .then_refused(K::MissingExchange, "exchange", &["other_exchange"]);
    Given::seed()
        .when(with(
            repurchase("2022-11-07", 4300),
            json!({"method": "other_exchange", "exchange": " "}),
        ))
        .then_refused(K::MissingExchange, "exchange", &["other_exchange"]);
    Given::baozun()
        .when(with(
            treasury_sale("2024-07-02", 100),
            json!({"method": "other_exchange"}),
        ))
        .then_refused(K::MissingExchange, "exchange", &[]);
}

#[test]
fn other_exchange_with_exchange_name_is_accepted() {
    Given::seed()
        .when(with(
            repurchase("2022-11-07", 4300),
            json!({"method": "other_exchange", "exchange": "Shanghai Stock Exchange"}),
        ))
        .then_accepted();
}

// ---- share option schemes -------------------------------------------------------------

#[test]
fn option_exercise_without_scheme_is_refused() {
    Given::seed()
        .when(without(option_exercise("x", "2022-06-01", 100), "scheme"))
        .then_refused(K::SchemeRequired, "scheme", &["ShareOptionExercise"]);
    Given::seed()
        .when(option_exercise(" ", "2022-06-01", 100))
        .then_refused(K::SchemeRequired, "scheme", &[]);
}

#[test]
fn warrant_exercise_and_conversion_need_a_scheme_too() {
    for kind in ["warrant_exercise", "conversion"] {
        Given::seed()
            .when(with(issue("2022-06-01", 100), json!({"kind": kind})))
            .then_refused(K::SchemeRequired, "scheme", &[]);
    }
}

#[test]
fn option_exercise_under_unknown_scheme_is_refused() {
    Given::seed()
        .event(scheme_adopted("2019 Scheme", "2019-06-01", 1_000))
        .when(option_exercise("2021 Scheme", "2022-06-01", 100))
        .then_refused(
            K::UnknownScheme,
            "scheme",
            &["2021 Scheme", "02121", "share_option_scheme_adopted"],
        );
}

#[test]
fn options_moved_under_unknown_scheme_are_refused() {
    for kind in ["granted", "lapsed", "cancelled"] {
        Given::seed()
            .when(options(kind, "Nope", "2022-06-01", 1))
            .then_refused(K::UnknownScheme, "scheme", &["Nope"]);
    }
}

#[test]
fn scheme_adopted_twice_is_refused() {
    Given::seed()
        .event(scheme_adopted("2019 Scheme", "2019-06-01", 1_000))
        .when(scheme_adopted("2019 Scheme", "2020-06-01", 0))
        .then_refused(K::SchemeExists, "scheme", &["2019 Scheme"]);
}

#[test]
fn scheme_for_unknown_class_is_refused() {
    Given::seed()
        .when(with(
            scheme_adopted("2019 Scheme", "2019-06-01", 1_000),
            json!({"class": "A"}),
        ))
        .then_refused(K::UnknownClass, "class", &["`A`"]);
}

#[test]
fn exercising_more_options_than_outstanding_is_refused() {
    Given::seed()
        .event(scheme_adopted("2019 Scheme", "2019-06-01", 1_000))
        .event(options("granted", "2019 Scheme", "2022-06-01", 500))
        .when(option_exercise("2019 Scheme", "2022-06-02", 1_501))
        .then_refused(
            K::ExceedsOutstandingOptions,
            "shares",
            &["1501", "2019 Scheme", "1500"],
        );
}

#[test]
fn lapsing_more_options_than_outstanding_is_refused() {
    for kind in ["lapsed", "cancelled"] {
        Given::seed()
            .event(scheme_adopted("2019 Scheme", "2019-06-01", 1_000))
            .event(option_exercise("2019 Scheme", "2022-06-02", 400))
            .when(options(kind, "2019 Scheme", "2022-06-03", 601))
            .then_refused(
                K::ExceedsOutstandingOptions,
                "options",
                &["601", "2019 Scheme", "600"],
            );
    }
}

#[test]
fn outstanding_options_follow_grants_exercises_and_lapses() {
    let g = Given::seed()
        .event(scheme_adopted("2019 Scheme", "2019-06-01", 1_000))
        .when(options("granted", "2019 Scheme", "2022-06-01", 500))
        .then_accepted();
    assert_eq!(issuer_state(&g).schemes()["2019 Scheme"].outstanding, 1_500);
    let g = g
        .when(option_exercise("2019 Scheme", "2022-06-02", 1_200))
        .then_accepted();
    assert_eq!(issuer_state(&g).schemes()["2019 Scheme"].outstanding, 300);
    assert_eq!(
        triple(balances(&g, "2022-06-02")),
        (559_304_838 + 1_200, 0, 0)
    );
    let g = g
        .when(options("lapsed", "2019 Scheme", "2022-06-03", 100))
        .then_accepted();
    let g = g
        .when(options("cancelled", "2019 Scheme", "2022-06-04", 150))
        .then_accepted();
    assert_eq!(issuer_state(&g).schemes()["2019 Scheme"].outstanding, 50);
    // All that is left may be exercised; one more may not.
    let g = g
        .when(option_exercise("2019 Scheme", "2022-06-05", 50))
        .then_accepted();
    assert_eq!(issuer_state(&g).schemes()["2019 Scheme"].outstanding, 0);
    g.when(option_exercise("2019 Scheme", "2022-06-06", 1))
        .then_refused(K::ExceedsOutstandingOptions, "shares", &["only 0"]);
}

// ---- calendar and filings -----------------------------------------------------------

#[test]
fn market_closed_twice_for_a_date_is_refused() {
    Given::new()
        .event(json!({"type": "market_closed", "date": "2023-09-08", "reason": "black rainstorm"}))
        .when(json!({"type": "market_closed", "date": "2023-09-08", "reason": "typhoon"}))
        .then_refused(
            K::MarketClosureExists,
            "date",
            &["2023-09-08", "black rainstorm"],
        );
}

#[test]
fn market_closed_without_reason_is_refused() {
    Given::new()
        .when(json!({"type": "market_closed", "date": "2023-09-08", "reason": ""}))
        .then_refused(K::EmptyText, "reason", &[]);
}

#[test]
fn market_closures_on_different_dates_are_accepted() {
    let g = Given::new()
        .event(json!({"type": "market_closed", "date": "2023-09-08", "reason": "black rainstorm"}))
        .when(json!({"type": "market_closed", "date": "2023-09-01", "reason": "typhoon signal 8"}))
        .then_accepted();
    assert_eq!(g.register().market_closures().len(), 2);
}

#[test]
fn monthly_return_filed_with_a_non_month_end_date_is_refused() {
    for date in ["2022-11-29", "2022-12-01", "2024-02-28"] {
        Given::seed()
            .when(
                json!({"type": "return_filed", "issuer": ISSUER, "form": "monthly",
                         "date": date, "submitted_at": "2022-12-07T08:00:00+08:00"}),
            )
            .then_refused(K::NotMonthEnd, "date", &[date]);
    }
}

#[test]
fn monthly_return_filed_on_month_ends_is_accepted() {
    for date in ["2022-11-30", "2024-02-29", "2023-02-28", "2022-12-31"] {
        Given::seed()
            .when(
                json!({"type": "return_filed", "issuer": ISSUER, "form": "monthly",
                         "date": date, "submitted_at": "2022-12-07T08:00:00+08:00"}),
            )
            .then_accepted();
    }
    // An NDDR's date is any day.
    Given::seed()
        .when(
            json!({"type": "return_filed", "issuer": ISSUER, "form": "nddr",
                     "date": "2022-11-07", "submitted_at": "2022-11-07T18:30:00+08:00"}),
        )
        .then_accepted();
}

#[test]
fn results_announced_before_the_board_meeting_is_refused() {
    Given::seed()
        .when(with(
            results_scheduled("2022-08-25", "2022-08-31"),
            json!({"announcement_date": "2022-08-24"}),
        ))
        .then_refused(
            K::InvalidDates,
            "announcement_date",
            &["2022-08-24", "2022-08-25"],
        );
}

#[test]
fn mandate_expiring_before_its_resolution_is_refused() {
    Given::seed()
        .when(with(
            mandate("2022-05-10", 559_304_838),
            json!({"expiry_date": "2022-05-09"}),
        ))
        .then_refused(
            K::InvalidDates,
            "expiry_date",
            &["2022-05-09", "2022-05-10"],
        );
}

#[test]
fn mandate_on_zero_issued_shares_is_refused() {
    Given::seed().when(mandate("2022-05-10", 0)).then_refused(
        K::ZeroShares,
        "issued_shares_at_resolution",
        &[],
    );
}

// ---- corrections (event_voided) -------------------------------------------------------

#[test]
fn voiding_an_unknown_id_is_refused() {
    Given::seed().when(void(id(4242))).then_refused(
        K::InvalidVoid,
        "voided_id",
        &[&id(4242).to_string(), "02121", "shareledger log"],
    );
}

#[test]
fn voiding_an_event_of_another_stream_is_refused() {
    // A market closure lives in the market stream, not the issuer's.
    Given::seed()
        .event(with_id(
            json!({"type": "market_closed", "date": "2023-09-08", "reason": "rain"}),
            7,
        ))
        .when(void(id(7)))
        .then_refused(K::InvalidVoid, "voided_id", &[&id(7).to_string()]);
}

#[test]
fn voiding_twice_is_refused() {
    Given::seed()
        .event(with_id(repurchase("2022-11-07", 4300), 1))
        .event(void(id(1)))
        .when(void(id(1)))
        .then_refused(
            K::InvalidVoid,
            "voided_id",
            &[&id(1).to_string(), "already voided"],
        );
}

#[test]
fn voiding_without_reason_is_refused() {
    Given::seed()
        .event(with_id(repurchase("2022-11-07", 4300), 1))
        .when(with(void(id(1)), json!({"reason": " "})))
        .then_refused(K::EmptyText, "reason", &[]);
}

#[test]
fn voiding_the_foundation_is_refused() {
    let g = Given::new()
        .event(with_id(
            json!({"type": "issuer_registered", "issuer": ISSUER, "name": "AInnovation"}),
            1,
        ))
        .event(with_id(
            json!({"type": "share_class_defined", "issuer": ISSUER, "class": CLASS,
                              "class_of_shares": "Ordinary shares"}),
            2,
        ))
        .event(with_id(
            json!({"type": "opening_balance", "issuer": ISSUER, "class": CLASS,
                              "date": "2022-05-27", "issued_shares": 559_304_838}),
            3,
        ))
        .event(with_id(repurchase("2022-11-07", 4300), 4))
        .event(with_id(void(id(4)), 5));
    for (n, type_name) in [
        (1, "issuer_registered"),
        (2, "share_class_defined"),
        (3, "opening_balance"),
        (5, "event_voided"),
    ] {
        g.clone().when(void(id(n))).then_refused(
            K::InvalidVoid,
            "voided_id",
            &[type_name, "cannot be voided"],
        );
    }
}

#[test]
fn voiding_a_repurchase_a_later_cancellation_depends_on_is_refused() {
    Given::seed()
        .event(with_id(repurchase("2022-11-07", 4300), 1))
        .event(with_id(cancellation("2022-11-30", 4300), 2))
        .when(void(id(1)))
        .then_refused(
            K::InvalidVoid,
            "voided_id",
            &[
                &id(1).to_string(),
                "4300",
                "void the later events that depend on it first",
            ],
        );
}

#[test]
fn voiding_a_treasury_repurchase_a_later_sale_depends_on_is_refused() {
    Given::new()
        .issuer(ISSUER)
        .class(CLASS, None)
        .opening(CLASS, "2024-06-30", 168_313_204, 0)
        .event(with_id(treasury_repurchase("2024-07-02", 150_000), 1))
        .event(treasury_sale("2024-08-15", 100_000))
        .when(void(id(1)))
        .then_refused(K::InvalidVoid, "voided_id", &["treasury shares", "100000"]);
}

#[test]
fn voiding_a_scheme_grant_an_exercise_depends_on_is_refused() {
    Given::seed()
        .event(scheme_adopted("2019 Scheme", "2019-06-01", 0))
        .event(with_id(
            options("granted", "2019 Scheme", "2022-06-01", 500),
            1,
        ))
        .event(option_exercise("2019 Scheme", "2022-06-02", 500))
        .when(void(id(1)))
        .then_refused(K::InvalidVoid, "voided_id", &["2019 Scheme"]);
}

/// An approval that covers events stays in force through a correction of
/// another event (the rebuilt state judges it against the events in force
/// before it); one that covers the voided event makes the void wait for it.
#[test]
fn voiding_beside_an_approval_that_covers_events() {
    let g = Given::seed()
        .event(with_id(repurchase("2022-11-07", 4300), 1))
        .event(with_id(repurchase("2022-11-08", 1000), 2))
        .event(
            json!({"type": "exchange_approval_recorded", "issuer": ISSUER,
                      "rule": "10.06(3)", "date": "2022-11-09", "covers": [id(1).to_string()]}),
        );
    let after = g.clone().when(void(id(2))).then_accepted();
    assert!(issuer_state(&after).voided().contains(&id(2)));
    assert_eq!(issuer_state(&after).approvals().len(), 1);
    g.when(void(id(1))).then_refused(
        K::InvalidVoid,
        "voided_id",
        &[
            &id(1).to_string(),
            "void the later events that depend on it first",
        ],
    );
}

#[test]
fn voiding_for_unknown_issuer_is_refused() {
    Given::seed()
        .when(with(void(id(1)), json!({"issuer": "00700"})))
        .then_refused(K::UnknownIssuer, "issuer", &["00700"]);
}

// ---- voiding a market closure (event_voided without issuer) -----------------------------

fn market_void(voided: u128) -> serde_json::Value {
    json!({"type": "event_voided", "voided_id": id(voided).to_string(), "reason": "recorded by mistake"})
}

#[test]
fn voiding_a_market_closure_reopens_the_day_and_frees_its_date() {
    let g = Given::seed()
        .event(with_id(
            json!({"type": "market_closed", "date": "2023-09-08", "reason": "rain"}),
            7,
        ))
        .when(market_void(7))
        .then_accepted();
    assert!(g.register().market_closures().is_empty());
    // The day can be recorded as closed again (with the right reason).
    g.when(json!({"type": "market_closed", "date": "2023-09-08", "reason": "black rainstorm"}))
        .then_accepted();
}

#[test]
fn voiding_a_market_closure_twice_is_refused() {
    Given::seed()
        .event(with_id(
            json!({"type": "market_closed", "date": "2023-09-08", "reason": "rain"}),
            7,
        ))
        .event(market_void(7))
        .when(market_void(7))
        .then_refused(
            K::InvalidVoid,
            "voided_id",
            &[&id(7).to_string(), "market_closed"],
        );
}

#[test]
fn voiding_an_issuer_event_without_its_issuer_is_refused_naming_the_issuer() {
    Given::seed()
        .event(with_id(repurchase("2022-11-07", 4300), 1))
        .when(market_void(1))
        .then_refused(
            K::InvalidVoid,
            "issuer",
            &["02121", "\"issuer\": \"02121\""],
        );
}

#[test]
fn voiding_an_unknown_id_without_issuer_is_refused() {
    Given::seed().when(market_void(4242)).then_refused(
        K::InvalidVoid,
        "voided_id",
        &[&id(4242).to_string()],
    );
}

#[test]
fn a_market_void_without_reason_is_refused() {
    Given::seed()
        .event(with_id(
            json!({"type": "market_closed", "date": "2023-09-08", "reason": "rain"}),
            7,
        ))
        .when(with(market_void(7), json!({"reason": ""})))
        .then_refused(K::EmptyText, "reason", &[]);
}
