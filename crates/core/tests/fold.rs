//! A folded register decides as the whole one (`Register::fold_issuer`,
//! `state::needs_full_state`): over random histories with back-dated
//! events, cancellations (oldest first and by trade date), mandates,
//! redemptions, treasury moves, authorised changes, closing prices,
//! filings and their amendments, results timetables, a capital
//! reorganisation and corrections, folded at random horizons, every event
//! is decided alike (the same refusal, word for word) by a register whose
//! issuer is folded — its whole state put back first when
//! `needs_full_state` (or `needs_history`) says so, as the append does — and
//! by one that keeps everything; and after each event the folded state is
//! the whole state folded at the same horizon.

mod support;

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use serde_json::json;
use shareledger_core::state::{needs_full_state, needs_history};
use shareledger_core::{Recorded, Register};
use support::{record, CLASS, ISSUER};
use uuid::Uuid;

fn day(n: u8) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 7, 1).unwrap() + Days::new(u64::from(n % 40))
}

#[derive(Debug, Clone)]
enum Op {
    Repurchase(u8, u64, bool),
    Cancel(u8, u64, Option<Vec<u8>>),
    Issue(u8, u64),
    Redeem(u8, u64, bool),
    TreasuryCancel(u8, u64),
    Mandate(u8),
    Authorised(u8, u64),
    Close(u8),
    Filed(u8, Option<usize>),
    Results(u8),
    Subdivide(u8),
    Void(usize),
    Fold(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u8>(), 1u64..300_000, any::<bool>()).prop_map(|(d, n, t)| Op::Repurchase(d, n, t)),
        3 => (any::<u8>(), 1u64..400_000, proptest::option::of(proptest::collection::vec(any::<u8>(), 1..3)))
            .prop_map(|(d, n, named)| Op::Cancel(d, n, named)),
        2 => (any::<u8>(), 1u64..100_000).prop_map(|(d, n)| Op::Issue(d, n)),
        1 => (any::<u8>(), 1u64..100_000, any::<bool>()).prop_map(|(d, n, c)| Op::Redeem(d, n, c)),
        1 => (any::<u8>(), 1u64..200_000).prop_map(|(d, n)| Op::TreasuryCancel(d, n)),
        1 => any::<u8>().prop_map(Op::Mandate),
        1 => (any::<u8>(), 10_000_000u64..90_000_000).prop_map(|(d, n)| Op::Authorised(d, n)),
        1 => any::<u8>().prop_map(Op::Close),
        1 => (any::<u8>(), proptest::option::of(0usize..50)).prop_map(|(d, a)| Op::Filed(d, a)),
        1 => any::<u8>().prop_map(Op::Results),
        1 => any::<u8>().prop_map(Op::Subdivide),
        2 => (0usize..1000).prop_map(Op::Void),
        3 => any::<u8>().prop_map(Op::Fold),
    ]
}

fn base(kind: &str) -> serde_json::Value {
    json!({"type": kind, "issuer": ISSUER, "class": CLASS})
}

fn with(mut v: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

/// The JSON of `op` (`None`: nothing to record, or a fold).
fn line(
    op: &Op,
    full: &Register,
    accepted: &[Uuid],
    filings: &[(Uuid, NaiveDate)],
) -> Option<serde_json::Value> {
    Some(match op {
        Op::Repurchase(d, n, treasury) => with(
            base("shares_repurchased"),
            json!({"trade_date": day(*d).to_string(), "shares": n, "method": "on_exchange",
                   "purpose": if *treasury { "treasury" } else { "cancellation" }}),
        ),
        Op::Cancel(d, n, named) => {
            let mut v = with(
                base("repurchased_shares_cancelled"),
                json!({"date": day(*d).to_string(), "shares": n}),
            );
            if let Some(named) = named {
                let mut dates: Vec<String> = named.iter().map(|x| day(*x).to_string()).collect();
                dates.dedup();
                v["trade_dates"] = json!(dates);
            }
            v
        }
        Op::Issue(d, n) => with(
            base("shares_issued"),
            json!({"date": day(*d).to_string(), "shares": n, "kind": "placing"}),
        ),
        Op::Redeem(d, n, c) => with(
            base("shares_redeemed"),
            json!({"date": day(*d).to_string(), "shares": n, "cancelled": c}),
        ),
        Op::TreasuryCancel(d, n) => with(
            base("treasury_shares_cancelled"),
            json!({"date": day(*d).to_string(), "shares": n}),
        ),
        Op::Mandate(d) => with(
            base("repurchase_mandate_granted"),
            json!({"resolution_date": day(*d).to_string(), "issued_shares_at_resolution": 10_000_000}),
        ),
        Op::Authorised(d, n) => with(
            base("authorised_shares_changed"),
            json!({"date": day(*d).to_string(), "authorised_shares": n}),
        ),
        Op::Close(d) => with(
            base("closing_price"),
            json!({"date": day(*d).to_string(), "currency": "HKD", "price": "10.5"}),
        ),
        Op::Filed(d, amends) => {
            let mut v = json!({"type": "return_filed", "issuer": ISSUER, "form": "nddr",
                               "date": day(*d).to_string(),
                               "submitted_at": "2024-09-01T19:00:00+08:00"});
            if let Some(i) = amends {
                if !filings.is_empty() {
                    let (id, date) = filings[i % filings.len()];
                    v["amends"] = json!(id.to_string());
                    // Mostly the same return (accepted), sometimes another.
                    if i % 3 != 0 {
                        v["date"] = json!(date.to_string());
                    }
                }
            }
            v
        }
        Op::Results(d) => json!({"type": "results_announcement_scheduled", "issuer": ISSUER,
                                 "period": "interim", "board_meeting_date": day(*d).to_string(),
                                 "publication_deadline": "2024-12-31"}),
        Op::Subdivide(d) => {
            let now = full.issuer(ISSUER)?.class(CLASS)?.current();
            with(
                base("capital_reorganised"),
                json!({"date": day(*d).to_string(), "kind": "subdivision", "ratio_from": 1,
                       "ratio_to": 2, "issued_shares_after": now.issued_excluding_treasury * 2}),
            )
        }
        Op::Void(i) => {
            let id = accepted.get(i % accepted.len().max(1))?;
            json!({"type": "event_voided", "issuer": ISSUER, "voided_id": id.to_string(),
                   "reason": "entered in error"})
        }
        Op::Fold(_) => return None,
    })
}

/// The whole state of the issuer, folded as `folded`'s is (history left out).
fn whole_folded_as(full: &Register, folded: &Register) -> Option<shareledger_core::IssuerState> {
    let mut f = full.clone();
    f.forget_history(ISSUER);
    if let Some(h) = folded.issuer(ISSUER).and_then(|s| s.horizon()) {
        f.fold_issuer(ISSUER, h);
    }
    f.take_issuer(ISSUER)
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut full = Register::new();
    let mut folded = Register::without_history();
    let mut seq = 0u64;
    let mut next = |v: serde_json::Value| -> Recorded {
        seq += 1;
        record(&v, seq)
    };
    let setup = [
        json!({"type": "issuer_registered", "issuer": ISSUER, "name": "Fold Ltd"}),
        json!({"type": "share_class_defined", "issuer": ISSUER, "class": CLASS,
               "class_of_shares": "Ordinary shares", "authorised_shares": 100_000_000}),
        with(
            base("opening_balance"),
            json!({"date": "2024-06-28", "issued_shares": 10_000_000, "treasury_shares": 100_000}),
        ),
        with(
            base("repurchase_mandate_granted"),
            json!({"resolution_date": "2024-06-28", "issued_shares_at_resolution": 10_000_000}),
        ),
    ];
    for v in setup {
        let r = next(v);
        full.execute(r.clone()).unwrap();
        folded.execute(r).unwrap();
    }
    let mut accepted: Vec<Uuid> = Vec::new();
    let mut filings: Vec<(Uuid, NaiveDate)> = Vec::new();
    let mut rebuilt = 0usize;
    for op in &ops {
        if let Op::Fold(d) = op {
            folded.fold_issuer(ISSUER, day(*d));
        } else if let Some(v) = line(op, &full, &accepted, &filings) {
            let r = next(v);
            let horizon = folded.issuer(ISSUER).and_then(|s| s.horizon());
            let history = needs_history(&r.event);
            // What the append does: the whole state put back (with the
            // history for a correction) before an event that needs it.
            if history || needs_full_state(&r.event, horizon) {
                rebuilt += 1;
                let mut whole = full.clone();
                if !history {
                    whole.forget_history(ISSUER);
                }
                folded.restore_issuer(whole.take_issuer(ISSUER).unwrap());
            }
            let a = full.execute(r.clone());
            let b = folded.execute(r.clone());
            folded.forget_history(ISSUER);
            prop_assert_eq!(&a, &b, "decided alike: {:?}", op);
            if a.is_ok() {
                accepted.push(r.id);
                if let shareledger_core::Event::ReturnFiled(f) = &r.event {
                    filings.push((r.id, f.date));
                }
            }
        }
        let whole = whole_folded_as(&full, &folded);
        prop_assert_eq!(
            whole.as_ref(),
            folded.issuer(ISSUER),
            "the folded state is the whole state folded, after {:?}",
            op
        );
    }
    let _ = rebuilt;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn a_folded_issuer_decides_as_the_whole_state(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops)?;
    }
}

/// A folded state answers what it keeps: balances from the horizon on, the
/// open lines folded (allocated oldest first, listed in a refusal), the
/// mandate usage through any later day; and it is far smaller.
#[test]
fn a_folded_state_keeps_what_deciding_reads() {
    let mut full = Register::new();
    let mut seq = 0u64;
    let mut exec = |reg: &mut Register, v: serde_json::Value| {
        seq += 1;
        reg.execute(record(&v, seq))
    };
    for v in [
        json!({"type": "issuer_registered", "issuer": ISSUER, "name": "Fold Ltd"}),
        json!({"type": "share_class_defined", "issuer": ISSUER, "class": CLASS,
               "class_of_shares": "Ordinary shares"}),
        with(
            base("opening_balance"),
            json!({"date": "2024-06-28", "issued_shares": 10_000_000}),
        ),
        with(
            base("repurchase_mandate_granted"),
            json!({"resolution_date": "2024-06-28", "issued_shares_at_resolution": 10_000_000}),
        ),
    ] {
        exec(&mut full, v).unwrap();
    }
    for n in 0..30u8 {
        exec(
            &mut full,
            with(
                base("shares_repurchased"),
                json!({"trade_date": day(n).to_string(), "shares": 1000 + u64::from(n), "method": "on_exchange"}),
            ),
        )
        .unwrap();
    }
    full.forget_history(ISSUER);
    let mut folded = full.clone();
    folded.fold_issuer(ISSUER, day(25));
    let (f, w) = (
        folded.issuer(ISSUER).unwrap().class(CLASS).unwrap(),
        full.issuer(ISSUER).unwrap().class(CLASS).unwrap(),
    );
    assert_eq!(f.days().len(), 5);
    assert!(f.pending().len() == 5 && f.folded_open().len() == 25);
    assert_eq!(f.balances_as_of(day(27)), w.balances_as_of(day(27)));
    assert_eq!(
        f.pending_lines_as_of(day(27)),
        w.pending_lines_as_of(day(27))
    );
    let m = &w.mandates()[0];
    assert_eq!(
        f.repurchased_under(m, day(29)),
        w.repurchased_under(m, day(29))
    );
    assert_eq!(f.repurchased().len(), 6);
    let size = |r: &Register| serde_json::to_vec(r.issuer(ISSUER).unwrap()).unwrap().len();
    assert!(
        size(&folded) * 2 < size(&full),
        "{} vs {}",
        size(&folded),
        size(&full)
    );
    // A cancellation takes the oldest lines first, folded ones included,
    // and its refusal lists every open line.
    let cancel = |shares: u64| {
        with(
            base("repurchased_shares_cancelled"),
            json!({"date": day(29).to_string(), "shares": shares}),
        )
    };
    let too_many = exec(&mut folded.clone(), cancel(100_000)).unwrap_err();
    assert_eq!(Err(too_many), exec(&mut full.clone(), cancel(100_000)));
    exec(&mut folded, cancel(2_500)).unwrap();
    exec(&mut full, cancel(2_500)).unwrap();
    let mut whole = full.clone();
    whole.forget_history(ISSUER);
    folded.forget_history(ISSUER);
    whole.fold_issuer(ISSUER, day(25));
    assert_eq!(whole.issuer(ISSUER), folded.issuer(ISSUER));
    // 1000 + 1001 from the first two days, 499 from the third.
    let class = folded.issuer(ISSUER).unwrap().class(CLASS).unwrap();
    assert_eq!(
        class.folded_open()[0],
        (
            day(3),
            1003,
            shareledger_core::state::PendingOrigin::Repurchase
        )
    );
    assert_eq!(class.pending()[&day(2)].remaining(), 503);
    assert_eq!(class.pending()[&day(0)].remaining(), 0);
}
