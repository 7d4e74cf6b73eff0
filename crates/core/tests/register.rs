//! The positive space: what the register holds after accepted events, read
//! as of dates (balances, pending lines, mandates), and corrections.

mod support;

use serde_json::json;
use shareledger_core::event::Purpose;
use shareledger_core::{effect, Register};
use support::*;

/// The seed's repurchases for cancellation up to 7 November 2022, as the
/// NDDR of that day lists them (22 lines, 8,725,800 shares).
const SEED_LINES: [(&str, u64); 22] = [
    ("2022-05-30", 1_500_000),
    ("2022-05-31", 263_000),
    ("2022-06-01", 2_115_000),
    ("2022-06-02", 1_117_700),
    ("2022-06-13", 37_400),
    ("2022-06-14", 4_300),
    ("2022-06-20", 258_000),
    ("2022-06-21", 30_000),
    ("2022-06-22", 4_000),
    ("2022-06-23", 25_000),
    ("2022-06-24", 2_111_900),
    ("2022-06-28", 16_000),
    ("2022-06-30", 162_400),
    ("2022-07-06", 4_300),
    ("2022-07-07", 18_000),
    ("2022-07-08", 1_500),
    ("2022-07-14", 4_500),
    ("2022-07-21", 300),
    ("2022-07-29", 5_000),
    ("2022-09-30", 1_000_000),
    ("2022-11-04", 43_200),
    ("2022-11-07", 4_300),
];

fn seed_with_repurchases() -> Given {
    Given::seed()
        .event(with(
            mandate("2022-05-10", 559_304_838),
            json!({"explanatory_statement_date": "2022-04-14"}),
        ))
        .events(SEED_LINES.iter().map(|(date, shares)| {
            if *date == "2022-11-07" {
                with(
                    repurchase(date, *shares),
                    json!({"currency": "HKD", "highest_price": "21.55",
                           "lowest_price": "21.35", "total_paid": "92569"}),
                )
            } else {
                repurchase(date, *shares)
            }
        }))
}

#[test]
fn seed_lines_add_up_to_the_filed_total() {
    assert_eq!(SEED_LINES.iter().map(|l| l.1).sum::<u64>(), 8_725_800);
}

#[test]
fn repurchases_for_cancellation_leave_issued_unchanged_and_grow_pending() {
    let g = seed_with_repurchases();
    let class = class_state(&g);
    // Before the opening balance date the ledger knows nothing.
    assert_eq!(class.balances_as_of(d("2022-05-26")), None);
    assert_eq!(triple(balances(&g, "2022-05-27")), (559_304_838, 0, 0));
    // Before and after each trade date.
    let mut pending = 0;
    for (date, shares) in SEED_LINES {
        let day = d(date);
        let eve = day.pred_opt().unwrap();
        assert_eq!(
            triple(class.balances_as_of(eve).unwrap()),
            (559_304_838, 0, pending),
            "end of the day before {date}"
        );
        pending += shares;
        assert_eq!(
            triple(class.balances_as_of(day).unwrap()),
            (559_304_838, 0, pending),
            "end of {date}"
        );
    }
    assert_eq!(pending, 8_725_800);
    assert_eq!(
        triple(balances(&g, "2022-11-30")),
        (559_304_838, 0, 8_725_800)
    );
    assert_eq!(class.current(), balances(&g, "2030-01-01"));
    assert_eq!(balances(&g, "2022-11-30").total(), 559_304_838);
}

#[test]
fn pending_lines_as_of_list_each_trade_date_until_then() {
    let g = seed_with_repurchases();
    let class = class_state(&g);
    assert!(class.pending_lines_as_of(d("2022-05-29")).is_empty());
    assert_eq!(
        class.pending_lines_as_of(d("2022-05-31")),
        vec![(d("2022-05-30"), 1_500_000), (d("2022-05-31"), 263_000)]
    );
    let all: Vec<_> = SEED_LINES.iter().map(|(t, n)| (d(t), *n)).collect();
    assert_eq!(class.pending_lines_as_of(d("2022-11-07")), all);
    assert_eq!(
        class.pending_lines_as_of(d("2022-11-06")),
        all[..21].to_vec()
    );
}

#[test]
fn the_rest_of_november_brings_pending_to_the_filed_11_891_200() {
    // The split of 3,165,400 by day is illustrative (the filings do not give it).
    let g = seed_with_repurchases().events([
        repurchase("2022-11-08", 1_000_000),
        repurchase("2022-11-09", 1_000_000),
        repurchase("2022-11-10", 1_000_000),
        repurchase("2022-11-11", 100_000),
        repurchase("2022-11-18", 65_400),
    ]);
    assert_eq!(
        triple(balances(&g, "2022-11-30")),
        (559_304_838, 0, 11_891_200)
    );
    assert_eq!(
        class_state(&g).pending_lines_as_of(d("2022-11-30")).len(),
        27
    );
}

#[test]
fn cancellation_draws_oldest_first_across_partial_lines() {
    let g = Given::seed()
        .events([
            repurchase("2022-11-07", 4_300),
            repurchase("2022-11-08", 700),
            repurchase("2022-11-09", 1_000),
        ])
        .when(cancellation("2022-11-30", 4_500))
        .then_accepted();
    let class = class_state(&g);
    assert_eq!(
        class.pending_lines_as_of(d("2022-11-30")),
        vec![(d("2022-11-08"), 500), (d("2022-11-09"), 1_000)]
    );
    // Until the cancellation date the lines are whole, and issued unchanged.
    assert_eq!(triple(balances(&g, "2022-11-29")), (559_304_838, 0, 6_000));
    assert_eq!(triple(balances(&g, "2022-11-30")), (559_300_338, 0, 1_500));
    assert_eq!(
        class.pending()[&d("2022-11-07")].cancellations,
        vec![(d("2022-11-30"), 4_300)]
    );
    assert_eq!(
        class.pending()[&d("2022-11-08")].cancellations,
        vec![(d("2022-11-30"), 200)]
    );
    // A second cancellation continues where the first stopped.
    let g = g.when(cancellation("2022-12-05", 600)).then_accepted();
    assert_eq!(
        class_state(&g).pending_lines_as_of(d("2022-12-05")),
        vec![(d("2022-11-09"), 900)]
    );
    assert_eq!(triple(balances(&g, "2022-12-05")), (559_299_738, 0, 900));
}

#[test]
fn cancellation_draws_from_named_trade_dates_in_their_order() {
    let g = Given::seed()
        .events([
            repurchase("2022-11-07", 4_300),
            repurchase("2022-11-08", 700),
            repurchase("2022-11-09", 1_000),
        ])
        .when(with(
            cancellation("2022-11-30", 1_500),
            json!({"trade_dates": ["2022-11-09", "2022-11-07"]}),
        ))
        .then_accepted();
    assert_eq!(
        class_state(&g).pending_lines_as_of(d("2022-11-30")),
        vec![(d("2022-11-07"), 3_800), (d("2022-11-08"), 700)]
    );
    assert_eq!(triple(balances(&g, "2022-11-30")), (559_303_338, 0, 4_500));
}

#[test]
fn cancellation_only_sees_lines_traded_by_its_date() {
    // Oldest first, but a line traded after the cancellation date is not drawn.
    let g = Given::seed()
        .events([repurchase("2022-11-07", 100), repurchase("2022-11-20", 100)])
        .when(cancellation("2022-11-10", 100))
        .then_accepted();
    assert_eq!(
        class_state(&g).pending_lines_as_of(d("2022-11-20")),
        vec![(d("2022-11-20"), 100)]
    );
}

#[test]
fn treasury_repurchase_moves_issued_into_treasury_total_unchanged() {
    // Baozun [filed]: 168,313,204 / 2,507,727 / 170,820,931, then 150,000
    // repurchased into treasury: 168,163,204 / 2,657,727 / 170,820,931.
    let g = Given::baozun()
        .when(with(
            treasury_repurchase("2024-07-02", 150_000),
            json!({"currency": "USD", "highest_price": "2.55", "lowest_price": "2.50",
                   "total_paid": "379500"}),
        ))
        .then_accepted();
    let before = balances(&g, "2024-07-01");
    assert_eq!(triple(before), (168_313_204, 2_507_727, 0));
    assert_eq!(before.total(), 170_820_931);
    let after = balances(&g, "2024-07-02");
    assert_eq!(triple(after), (168_163_204, 2_657_727, 0));
    assert_eq!(after.total(), 170_820_931);
    // Counted as repurchased, not pending cancellation.
    assert!(class_state(&g).pending().is_empty());
    assert_eq!(
        class_state(&g).repurchased()[&d("2024-07-02")],
        (150_000, 150_000, 1)
    );
}

#[test]
fn effect_table_matches_domain_section_2() {
    let line = |v| record(&v, 0).event;
    let e = effect(&line(repurchase("2024-07-02", 7)));
    assert_eq!((e.issued, e.treasury, e.pending), (0, 0, 7));
    let e = effect(&line(treasury_repurchase("2024-07-02", 7)));
    assert_eq!((e.issued, e.treasury, e.pending), (-7, 7, 0));
    let e = effect(&line(cancellation("2024-07-02", 7)));
    assert_eq!((e.issued, e.treasury, e.pending), (-7, 0, -7));
    let e = effect(&line(issue("2024-07-02", 7)));
    assert_eq!((e.issued, e.treasury, e.pending), (7, 0, 0));
    let e = effect(&line(redemption("2024-07-02", 7)));
    assert_eq!((e.issued, e.treasury, e.pending), (-7, 0, 0));
    let e = effect(&line(with(
        redemption("2024-07-02", 7),
        json!({"cancelled": false}),
    )));
    assert_eq!((e.issued, e.treasury, e.pending), (0, 0, 7));
    for sale in [
        treasury_sale("2024-07-02", 7),
        treasury_transfer("2024-07-02", 7),
    ] {
        let e = effect(&line(sale));
        assert_eq!((e.issued, e.treasury, e.pending), (7, -7, 0));
    }
    let e = effect(&line(treasury_cancellation("2024-07-02", 7)));
    assert_eq!((e.issued, e.treasury, e.pending), (0, -7, 0));
    let e = effect(&line(authorised_change("2024-07-02", 7)));
    assert_eq!((e.issued, e.treasury, e.pending), (0, 0, 0));
}

#[test]
fn redemption_not_yet_cancelled_is_pending_then_cancellable() {
    let g = Given::seed()
        .when(with(
            redemption("2022-06-01", 1_000),
            json!({"cancelled": false}),
        ))
        .then_accepted();
    assert_eq!(triple(balances(&g, "2022-06-01")), (559_304_838, 0, 1_000));
    let g = g.when(cancellation("2022-06-15", 1_000)).then_accepted();
    assert_eq!(triple(balances(&g, "2022-06-15")), (559_303_838, 0, 0));
}

#[test]
fn issues_and_authorised_changes_read_as_of_dates() {
    let g = Given::seed().events([
        issue("2022-06-10", 1_000_000),
        authorised_change("2022-06-10", 600_000_000),
        authorised_change("2022-09-01", 700_000_000),
    ]);
    let class = class_state(&g);
    assert_eq!(triple(balances(&g, "2022-06-09")), (559_304_838, 0, 0));
    assert_eq!(triple(balances(&g, "2022-06-10")), (560_304_838, 0, 0));
    assert_eq!(class.authorised_as_of(d("2022-06-09")), Some(559_304_838));
    assert_eq!(class.authorised_as_of(d("2022-06-10")), Some(600_000_000));
    assert_eq!(class.authorised_as_of(d("2022-08-31")), Some(600_000_000));
    assert_eq!(class.authorised_as_of(d("2022-09-01")), Some(700_000_000));
}

#[test]
fn a_class_without_authorised_capital_has_none() {
    let g = Given::baozun();
    assert_eq!(class_state(&g).authorised_as_of(d("2024-07-01")), None);
}

#[test]
fn a_backdated_repurchase_recorded_later_counts_from_its_trade_date() {
    let g = Given::seed()
        .events([
            repurchase("2022-11-07", 4_300),
            cancellation("2022-11-30", 4_300),
        ])
        .when(repurchase("2022-11-01", 1_000))
        .then_accepted();
    let class = class_state(&g);
    assert_eq!(triple(balances(&g, "2022-10-31")), (559_304_838, 0, 0));
    assert_eq!(triple(balances(&g, "2022-11-01")), (559_304_838, 0, 1_000));
    assert_eq!(triple(balances(&g, "2022-11-07")), (559_304_838, 0, 5_300));
    assert_eq!(triple(balances(&g, "2022-11-30")), (559_300_538, 0, 1_000));
    assert_eq!(
        class.pending_lines_as_of(d("2022-11-07")),
        vec![(d("2022-11-01"), 1_000), (d("2022-11-07"), 4_300)]
    );
    // The earlier cancellation stays where it was allocated.
    assert_eq!(
        class.pending_lines_as_of(d("2022-11-30")),
        vec![(d("2022-11-01"), 1_000)]
    );
}

#[test]
fn backdated_cancellation_within_the_pending_lines_is_accepted() {
    // 10 Nov: 100; 20 Nov: 60 cancelled; then 40 cancelled as of 15 Nov.
    let g = Given::seed()
        .events([
            repurchase("2022-11-10", 100),
            cancellation("2022-11-20", 60),
        ])
        .when(cancellation("2022-11-15", 40))
        .then_accepted();
    assert_eq!(triple(balances(&g, "2022-11-15")), (559_304_798, 0, 60));
    assert_eq!(triple(balances(&g, "2022-11-20")), (559_304_738, 0, 0));
}

// ---- mandates ---------------------------------------------------------------------------

#[test]
fn mandate_authorises_floor_of_ten_percent_by_default() {
    let g = Given::seed()
        .event(mandate("2022-05-10", 559_304_838))
        .event(mandate("2023-06-01", 9_189_018_660))
        .event(with(
            mandate("2024-06-01", 559_304_838),
            json!({"authorised_shares": 1_000}),
        ));
    let m = &class_state(&g).mandates();
    assert_eq!(m[0].authorised_or_default(), 55_930_483);
    // Tencent [filed]: 918,901,866 = exactly 10% of 9,189,018,660.
    assert_eq!(m[1].authorised_or_default(), 918_901_866);
    assert_eq!(m[2].authorised_or_default(), 1_000);
}

#[test]
fn a_newer_mandate_replaces_the_older_one_and_mandates_expire() {
    let g = Given::seed().events([
        // Recorded out of order on purpose: kept by resolution date.
        with(
            mandate("2023-06-01", 559_304_838),
            json!({"expiry_date": "2024-05-31"}),
        ),
        with(
            mandate("2022-05-10", 559_304_838),
            json!({"expiry_date": "2023-06-30"}),
        ),
    ]);
    let class = class_state(&g);
    let res = |date: &str| class.mandate_in_force(d(date)).map(|m| m.resolution_date);
    assert_eq!(res("2022-05-09"), None);
    assert_eq!(res("2022-05-10"), Some(d("2022-05-10")));
    assert_eq!(res("2023-05-31"), Some(d("2022-05-10")));
    // Replaced from the new resolution date, though the old one had not expired.
    assert_eq!(res("2023-06-01"), Some(d("2023-06-01")));
    assert_eq!(res("2024-05-31"), Some(d("2023-06-01")));
    // Expired: nothing in force.
    assert_eq!(res("2024-06-01"), None);
}

#[test]
fn repurchased_under_counts_from_the_resolution_until_replaced() {
    let g = Given::seed()
        .event(with(
            mandate("2022-05-10", 559_304_838),
            json!({"repurchased_before_ledger": 2_000}),
        ))
        .events([
            repurchase("2022-06-01", 100),
            with(
                repurchase("2022-06-02", 50),
                json!({"method": "private_arrangement"}),
            ),
            repurchase("2022-07-01", 300),
        ])
        .event(mandate("2022-07-01", 559_304_838))
        .event(repurchase("2022-07-02", 7));
    let class = class_state(&g);
    let first = class.mandates()[0].clone();
    let second = class.mandates()[1].clone();
    // (on the Exchange, by any method), including those before the ledger.
    assert_eq!(
        class.repurchased_under(&first, d("2022-05-09")),
        (2_000, 2_000)
    );
    assert_eq!(
        class.repurchased_under(&first, d("2022-06-01")),
        (2_100, 2_100)
    );
    assert_eq!(
        class.repurchased_under(&first, d("2022-06-30")),
        (2_100, 2_150)
    );
    // 1 July belongs to the new mandate, resolved that day.
    assert_eq!(
        class.repurchased_under(&first, d("2022-12-31")),
        (2_100, 2_150)
    );
    assert_eq!(
        class.repurchased_under(&second, d("2022-07-01")),
        (300, 300)
    );
    assert_eq!(
        class.repurchased_under(&second, d("2022-12-31")),
        (307, 307)
    );
}

#[test]
fn mandate_usage_is_the_running_count_day_by_day() {
    let g = Given::seed()
        .event(with(
            mandate("2022-05-10", 559_304_838),
            json!({"repurchased_before_ledger": 2_000}),
        ))
        .events([
            repurchase("2022-06-01", 100),
            repurchase("2022-06-01", 10),
            with(
                repurchase("2022-06-02", 50),
                json!({"method": "private_arrangement"}),
            ),
            repurchase("2022-07-01", 300),
        ])
        .event(mandate("2022-07-01", 559_304_838))
        .event(repurchase("2022-07-02", 7));
    let class = class_state(&g);
    let first = class.mandates()[0].clone();
    let second = class.mandates()[1].clone();
    assert_eq!(
        class.mandate_usage(&first).collect::<Vec<_>>(),
        vec![
            (d("2022-06-01"), (2_110, 2_110)),
            (d("2022-06-02"), (2_110, 2_160)),
        ]
    );
    assert_eq!(
        class.mandate_usage(&second).collect::<Vec<_>>(),
        vec![(d("2022-07-01"), (300, 300)), (d("2022-07-02"), (307, 307))]
    );
    // `repurchased_under` reads the same count on every day.
    for day in d("2022-05-01").iter_days().take(120) {
        for m in [&first, &second] {
            let last = class
                .mandate_usage(m)
                .take_while(|(d, _)| *d <= day)
                .last()
                .map(|(_, used)| used);
            let before = m.repurchased_before_ledger.unwrap_or(0);
            assert_eq!(
                class.repurchased_under(m, day),
                last.unwrap_or((before, before)),
                "{day}"
            );
        }
    }
}

#[test]
fn the_seed_mandate_has_8_725_800_repurchased_by_7_november() {
    let g = seed_with_repurchases();
    let class = class_state(&g);
    let m = class
        .mandate_in_force(d("2022-11-07"))
        .expect("a mandate in force")
        .clone();
    assert_eq!(m.explanatory_statement_date, Some(d("2022-04-14")));
    assert_eq!(
        class.repurchased_under(&m, d("2022-11-07")),
        (8_725_800, 8_725_800)
    );
    assert_eq!(
        class.repurchased_under(&m, d("2022-11-04")),
        (8_721_500, 8_721_500)
    );
}

// ---- settings ---------------------------------------------------------------------------

#[test]
fn settings_change_merges_presentation_and_keeps_the_rest() {
    let g = Given::seed()
        .when(json!({"type": "issuer_settings_changed", "issuer": ISSUER,
                     "description": "(a joint stock company incorporated in the People's Republic of China with limited liability)",
                     "signatory": {"name": "Xiao Lei", "title": "Joint Company Secretary"},
                     "presentation": {"percent_basis": "opening_balance", "percent_on_carried_lines": true}}))
        .then_accepted();
    let issuer = issuer_state(&g);
    assert_eq!(
        issuer.name(),
        "Qingdao AInnovation Technology Group Co., Ltd"
    );
    assert!(issuer.full_name().ends_with("with limited liability)"));
    assert_eq!(issuer.signatory().as_ref().unwrap().name, "Xiao Lei");
    assert!(issuer.presentation().percent_on_carried_lines);
    assert_eq!(issuer.presentation().percent_decimals, 5);
    assert!(issuer.primary_listing());
}

// ---- corrections ------------------------------------------------------------------------

#[test]
fn voiding_the_cancellation_then_the_repurchase_restores_the_register() {
    let g = Given::seed();
    let before_classes = issuer_state(&g).classes().clone();
    let g = g
        .event(with_id(repurchase("2022-11-07", 4_300), 1))
        .event(with_id(cancellation("2022-11-30", 4_300), 2));
    assert_eq!(triple(balances(&g, "2022-11-30")), (559_300_538, 0, 0));

    let g = g.when(void(id(2))).then_accepted();
    assert_eq!(triple(balances(&g, "2022-11-30")), (559_304_838, 0, 4_300));
    assert_eq!(
        class_state(&g).pending_lines_as_of(d("2022-11-30")),
        vec![(d("2022-11-07"), 4_300)]
    );

    let g = g.when(void(id(1))).then_accepted();
    assert_eq!(triple(balances(&g, "2022-11-30")), (559_304_838, 0, 0));
    assert_eq!(issuer_state(&g).classes(), &before_classes);
    // The history keeps everything; the live events leave the voided out.
    let issuer = issuer_state(&g);
    assert_eq!(issuer.history().len(), 7);
    assert_eq!(issuer.voided().len(), 2);
    assert_eq!(issuer.live_events().count(), 3);
    // The same repurchase may now be recorded afresh.
    g.when(repurchase("2022-11-07", 4_300)).then_accepted();
}

#[test]
fn voiding_a_treasury_sale_puts_the_shares_back_in_treasury() {
    let g = Given::baozun()
        .event(with_id(treasury_sale("2024-07-10", 2_000_000), 1))
        .when(void(id(1)))
        .then_accepted();
    assert_eq!(
        triple(balances(&g, "2024-07-10")),
        (168_313_204, 2_507_727, 0)
    );
    // And a sale that was refused before is now possible.
    g.when(treasury_sale("2024-07-05", 2_507_727))
        .then_accepted();
}

#[test]
fn voiding_a_grant_restores_outstanding_options() {
    let g = Given::seed()
        .event(scheme_adopted("2019 Scheme", "2019-06-01", 100))
        .event(with_id(
            options("granted", "2019 Scheme", "2022-06-01", 500),
            1,
        ))
        .when(void(id(1)))
        .then_accepted();
    assert_eq!(issuer_state(&g).schemes()["2019 Scheme"].outstanding, 100);
}

#[test]
fn voiding_settings_reverts_them() {
    let g = Given::seed()
        .event(with_id(
            json!({"type": "issuer_settings_changed", "issuer": ISSUER, "name": "Renamed"}),
            1,
        ))
        .when(void(id(1)))
        .then_accepted();
    assert_eq!(
        issuer_state(&g).name(),
        "Qingdao AInnovation Technology Group Co., Ltd"
    );
}

#[test]
fn register_is_deterministic() {
    // The same lines give the same register.
    assert_eq!(
        seed_with_repurchases().register(),
        seed_with_repurchases().register()
    );
    assert_ne!(Given::seed().register(), &Register::new());
}

#[test]
fn purpose_defaults_to_cancellation() {
    let r = record(&repurchase("2022-11-07", 1), 0);
    let shareledger_core::Event::SharesRepurchased(e) = r.event else {
        panic!("a repurchase");
    };
    assert_eq!(e.purpose_or_default(), Purpose::Cancellation);
    assert_eq!(e.prices(), None);
}

// ---- filings as the audit sees them -------------------------------------------------------

fn filed(form: &str, date: &str, submitted_at: &str) -> serde_json::Value {
    json!({"type": "return_filed", "issuer": ISSUER, "form": form, "date": date,
           "submitted_at": submitted_at})
}

#[test]
fn with_filings_before_shows_only_the_earlier_filings_and_puts_the_rest_back() {
    let g = Given::seed().events([
        repurchase("2022-11-04", 1000),
        filed("nddr", "2022-11-04", "2022-11-04T19:00:00+08:00"),
        filed("monthly", "2022-10-31", "2022-11-05T10:00:00+08:00"),
        filed("monthly", "2022-11-30", "2022-12-05T10:00:00+08:00"),
    ]);
    let mut register = g.register().clone();
    let all: Vec<_> = issuer_state(&g).filings().to_vec();
    let dates = |r: &Register| -> Vec<chrono::NaiveDate> {
        r.issuer(ISSUER)
            .unwrap()
            .filings()
            .iter()
            .map(|(_, f)| f.date)
            .collect()
    };
    assert_eq!(
        dates(&register),
        vec![d("2022-11-04"), d("2022-10-31"), d("2022-11-30")]
    );
    for (n, expected) in [
        (0, vec![]),
        (1, vec![d("2022-11-04")]),
        (2, vec![d("2022-11-04"), d("2022-10-31")]),
        (3, vec![d("2022-11-04"), d("2022-10-31"), d("2022-11-30")]),
        (9, vec![d("2022-11-04"), d("2022-10-31"), d("2022-11-30")]),
    ] {
        let seen = register.with_filings_before(ISSUER, n, |view| {
            // Everything else as it stands: the repurchase is still pending.
            let class = &view.issuer(ISSUER).unwrap().classes()[CLASS];
            assert_eq!(class.current().pending_cancellation, 1000);
            dates(view)
        });
        assert_eq!(seen, expected, "first {n} filings");
        assert_eq!(register, *g.register(), "put back after the first {n}");
    }
    // An unknown issuer: the register as it is.
    let seen = register.with_filings_before("99999", 0, dates);
    assert_eq!(seen.len(), 3);
    // A panic inside the view still puts the filings back.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        register.with_filings_before(ISSUER, 1, |_| panic!("inside the view"))
    }));
    assert!(caught.is_err());
    assert_eq!(register.issuer(ISSUER).unwrap().filings(), &all[..]);
    assert_eq!(register, *g.register());
}
