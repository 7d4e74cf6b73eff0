//! The peak of the Rust heap during a large append (findings off), with
//! each issuer's state folded (what `append` does for a large input) and
//! whole (`append_with_window(.., 0)`), on a registrar's file: issuers
//! interleaved day by day, one repurchase for cancellation a trading day
//! each, never cancelled. Counted by a counting allocator (SQLite's page
//! cache is allocated by SQLite, not counted; the double-entry filter's
//! 32 MiB is, in both). Ignored by default (it measures; it asserts only
//! that folding lowers the peak); run with
//! `cargo test -p shareledger-ledger --test fold_memory -- --ignored --nocapture`
//! (docs/performance.md, "The import in bounded memory").

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use chrono::{DateTime, FixedOffset, NaiveDate};
use shareledger_core::calendar::BusinessCalendar;
use shareledger_core::event::parse_line;
use shareledger_ledger::append::append_with_window;
use shareledger_ledger::{AppendOptions, Store};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(n: isize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        grew(new as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap()
}

/// The lines of the file, made as they are read (the input is not held).
fn registrar(
    issuers: usize,
    repurchases: usize,
) -> impl Iterator<Item = (usize, shareledger_core::Incoming)> {
    let calendar = BusinessCalendar::new();
    let id = |i: usize| format!("{:05}", i + 1);
    let mut head = Vec::new();
    for i in 0..issuers {
        head.push(format!(
            r#"{{"type": "issuer_registered", "issuer": "{}", "name": "Client"}}"#,
            id(i)
        ));
        head.push(format!(r#"{{"type": "share_class_defined", "issuer": "{}", "class": "H", "class_of_shares": "H shares"}}"#, id(i)));
        head.push(format!(r#"{{"type": "opening_balance", "issuer": "{}", "class": "H", "date": "2021-12-31", "issued_shares": 1000000000}}"#, id(i)));
        head.push(format!(r#"{{"type": "repurchase_mandate_granted", "issuer": "{}", "class": "H", "resolution_date": "2021-12-31", "issued_shares_at_resolution": 1000000000}}"#, id(i)));
    }
    let mut days = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(2022, 1, 3).unwrap();
    while days.len() < repurchases {
        if calendar.is_business_day(d) {
            days.push(d);
        }
        d = d.succ_opt().unwrap();
    }
    let body = days.into_iter().enumerate().flat_map(move |(k, day)| {
        (0..issuers).map(move |i| {
            let shares = 10_000 + ((k * 7 + i * 13) % 400) as u64 * 100;
            format!(
                r#"{{"type": "shares_repurchased", "issuer": "{}", "class": "H", "trade_date": "{day}", "shares": {shares}, "method": "on_exchange", "purpose": "cancellation"}}"#,
                id(i)
            )
        })
    });
    head.into_iter()
        .chain(body)
        .enumerate()
        .map(|(n, text)| (n + 1, parse_line(&text).unwrap()))
}

/// The peak heap above the baseline during the append, and the events.
fn peak(issuers: usize, repurchases: usize, window: u32) -> (isize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("m.db")).unwrap();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let summary = append_with_window(
        &mut store,
        registrar(issuers, repurchases),
        now(),
        "m",
        AppendOptions::default(),
        window,
    )
    .unwrap();
    (PEAK.load(Ordering::Relaxed) - base, summary.appended)
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn the_appends_peak_heap_whole_and_folded() {
    let mut lines = Vec::new();
    for (issuers, repurchases) in [(100, 250), (100, 1000), (500, 1000)] {
        let (whole, events) = peak(issuers, repurchases, 0);
        let (folded, _) = peak(issuers, repurchases, 16);
        lines.push(format!(
            "{issuers} issuers x {repurchases} repurchases ({events} events): peak heap whole {:.1} MB, folded {:.1} MB",
            whole as f64 / 1e6,
            folded as f64 / 1e6,
        ));
        assert!(folded < whole, "{}", lines.last().unwrap());
    }
    println!("{}", lines.join("\n"));
}
