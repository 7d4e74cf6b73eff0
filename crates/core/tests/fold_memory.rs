//! How much memory the append's register holds, whole and folded, on a
//! registrar's file (issuers interleaved day by day, one repurchase for
//! cancellation a trading day each, an NDDR filed each evening, a Monthly
//! Return each month, a mandate a year): the live heap bytes of the
//! register, counted by a counting allocator. Ignored by default (it
//! measures, it asserts only that folding bounds the state); run with
//! `cargo test -p shareledger-core --release --test fold_memory -- --ignored --nocapture`
//! (docs/performance.md, "The import in bounded memory").

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use chrono::{Datelike, Days, NaiveDate};
use serde_json::json;
use shareledger_core::calendar::{month_end, BusinessCalendar};
use shareledger_core::{parse_line, Register};
use uuid::Uuid;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The append's policy (crates/ledger/src/append.rs, `Fold`): fold to
/// `window` days before the latest date once the detail spans twice it.
struct Policy {
    horizon: Option<NaiveDate>,
    latest: Option<NaiveDate>,
}

/// Feed the registrar's file of `issuers` × `repurchases` through a register
/// without history (folded to `window` days, or whole); the live heap bytes
/// it holds at the end, and the number of events.
fn registrar(issuers: usize, repurchases: usize, window: Option<u64>) -> (isize, usize) {
    let calendar = BusinessCalendar::new();
    let base = LIVE.load(Ordering::Relaxed);
    let mut register = Register::without_history();
    let mut policies: Vec<Policy> = (0..issuers)
        .map(|_| Policy {
            horizon: None,
            latest: None,
        })
        .collect();
    let mut seq = 0u128;
    let mut events = 0usize;
    let recorded_at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00+08:00").unwrap();
    let mut exec = |register: &mut Register,
                    policies: &mut [Policy],
                    i: Option<usize>,
                    v: serde_json::Value| {
        seq += 1;
        let rec = parse_line(&v.to_string()).unwrap().into_recorded(
            || Uuid::from_u128(seq),
            recorded_at,
            "m",
        );
        let date = rec.event.effective_date();
        register.execute(rec).unwrap();
        events += 1;
        if let (Some(i), Some(w)) = (i, window) {
            let p = &mut policies[i];
            p.latest = p.latest.max(date);
            if let Some(target) = p.latest.map(|l| l - Days::new(w)) {
                if p.horizon.is_none_or(|h| target >= h + Days::new(w)) {
                    p.horizon = Some(target);
                    register.fold_issuer(&format!("{:05}", i + 1), target);
                }
            }
        }
    };
    let id = |i: usize| format!("{:05}", i + 1);
    for i in 0..issuers {
        exec(
            &mut register,
            &mut policies,
            Some(i),
            json!({"type": "issuer_registered", "issuer": id(i), "name": "Registrar client"}),
        );
        exec(
            &mut register,
            &mut policies,
            Some(i),
            json!({"type": "share_class_defined", "issuer": id(i), "class": "H", "class_of_shares": "H shares"}),
        );
        exec(
            &mut register,
            &mut policies,
            Some(i),
            json!({"type": "opening_balance", "issuer": id(i), "class": "H", "date": "2021-12-31", "issued_shares": 1_000_000_000u64}),
        );
    }
    let mut day = NaiveDate::from_ymd_opt(2022, 1, 3).unwrap();
    let mut done = 0;
    let mut year = 0;
    let mut month = None;
    while done < repurchases {
        if !calendar.is_business_day(day) {
            day = day.succ_opt().unwrap();
            continue;
        }
        let m = (day.year(), day.month());
        if let Some(prev) = month.filter(|p| *p != m) {
            let (y, mo): (i32, u32) = prev;
            for i in 0..issuers {
                exec(
                    &mut register,
                    &mut policies,
                    Some(i),
                    json!({"type": "return_filed", "issuer": id(i), "form": "monthly",
                    "date": month_end(y, mo).unwrap().to_string(), "submitted_at": "2026-01-01T10:00:00+08:00"}),
                );
            }
        }
        month = Some(m);
        if day.year() != year {
            year = day.year();
            for i in 0..issuers {
                exec(
                    &mut register,
                    &mut policies,
                    Some(i),
                    json!({"type": "repurchase_mandate_granted", "issuer": id(i), "class": "H",
                    "resolution_date": day.to_string(), "issued_shares_at_resolution": 1_000_000_000u64,
                    "expiry_date": format!("{year}-12-31")}),
                );
            }
        }
        for i in 0..issuers {
            let shares = 10_000 + (done as u64 * 7 + i as u64 * 13) % 400 * 100;
            exec(
                &mut register,
                &mut policies,
                Some(i),
                json!({"type": "shares_repurchased", "issuer": id(i), "class": "H",
                "trade_date": day.to_string(), "shares": shares, "method": "on_exchange", "purpose": "cancellation",
                "currency": "HKD", "highest_price": "10.10", "lowest_price": "9.80",
                "total_paid": format!("{}.00", shares * 995 / 100)}),
            );
            exec(
                &mut register,
                &mut policies,
                Some(i),
                json!({"type": "return_filed", "issuer": id(i), "form": "nddr",
                "date": day.to_string(), "submitted_at": "2026-01-01T19:00:00+08:00"}),
            );
        }
        done += 1;
        day = day.succ_opt().unwrap();
    }
    let held = LIVE.load(Ordering::Relaxed) - base;
    drop(register);
    (held, events)
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn the_registers_memory_whole_and_folded() {
    let mut lines = Vec::new();
    for (issuers, repurchases) in [(100, 250), (100, 1000), (500, 1000)] {
        let (whole, events) = registrar(issuers, repurchases, None);
        let (folded, _) = registrar(issuers, repurchases, Some(16));
        lines.push(format!(
            "{issuers} issuers x {repurchases} repurchases ({events} events): whole {:.1} MB ({} B/event), folded {:.1} MB ({} B/event)",
            whole as f64 / 1e6,
            whole / events as isize,
            folded as f64 / 1e6,
            folded / events as isize,
        ));
        // Folded, the state is per issuer, not per event.
        assert!(folded * 4 < whole, "{}", lines.last().unwrap());
    }
    println!("{}", lines.join("\n"));
}
