//! Arbitrary bytes as an import file: `commands::read_lines`, then, if every
//! line parses, (1) `ledger::append` with `dry_run` against a store that
//! holds the example ledger (issuer 02121), and (2) `Register::execute` of
//! each event in memory on the same ledger, then the projections (balance,
//! NDDR, Monthly Return, every rule check) of every issuer the input touched. Refusals and
//! return errors are fine; a panic (including a core `debug_assert`) is a
//! finding.
#![no_main]

use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use libfuzzer_sys::fuzz_target;
use shareledger_ledger::import::jsonl::read_lines;
use shareledger_ledger::SEED_LEDGER;
use shareledger_ledger::{self as ledger, AppendOptions};
use shareledger_core::state::Register;
use shareledger_returns::monthly::{monthly, MonthlyRequest};
use shareledger_returns::nddr::{nddr, NddrRequest};
use shareledger_store::Store;
use uuid::Uuid;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    register: Register,
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2030-01-01T00:00:00+08:00").unwrap()
}

fn fixture() -> &'static Mutex<Fixture> {
    static F: OnceLock<Mutex<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("fuzz.db")).unwrap();
        let lines = read_lines(SEED_LEDGER.as_bytes()).unwrap();
        ledger::append::append(&mut store, lines, now(), "fuzz", AppendOptions::dry_run(false)).unwrap();
        let register = ledger::replay::load_issuer(&store, "02121", None).unwrap();
        Mutex::new(Fixture {
            _dir: dir,
            store,
            register,
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(lines) = read_lines(data) else {
        return;
    };
    if lines.is_empty() || lines.len() > 64 {
        return;
    }
    let mut f = fixture().lock().unwrap_or_else(|p| p.into_inner());
    // (1) The import path, writing nothing.
    let _ = ledger::append::append(&mut f.store, lines.clone(), now(), "fuzz", AppendOptions::dry_run(true));

    // (2) In memory, then the projections.
    let mut register = f.register.clone();
    let mut touched: Vec<(String, NaiveDate)> = Vec::new();
    for (_, incoming) in lines {
        let rec = incoming.into_recorded(Uuid::nil, now(), "fuzz");
        let issuer = rec.event.issuer().map(str::to_string);
        let date = rec.event.effective_date();
        if register.execute(rec).is_ok() {
            if let (Some(i), Some(d)) = (issuer, date) {
                touched.push((i, d));
            }
        }
    }
    let calendar = shareledger_ledger::returns::calendar(&register);
    let mut checked: Vec<String> = Vec::new();
    for (id, date) in touched {
        let Some(issuer) = register.issuer(&id) else {
            continue;
        };
        let _ = shareledger_returns::balance::balance(issuer, None, date, None);
        let req = NddrRequest {
            date,
            submitted: None,
            layout: None,
        };
        let _ = nddr(issuer, &req);
        let req = MonthlyRequest {
            year: date.year(),
            month: date.month(),
            submitted: date,
        };
        let _ = monthly(issuer, &req);
        if !checked.contains(&id) {
            let _ = shareledger_returns::checks::run(issuer, &calendar, now());
            checked.push(id);
        }
    }
});
