//! The fuzz targets of `fuzz/` (docs/fuzzing.md), run on stable over their
//! seed inputs, the inputs the fuzzer kept as regressions
//! (`fuzz/seeds/*/regression-*`), and hand-picked edge cases. No input may
//! panic; every event that parses must survive the store's round trip.
//!
//! The two functions below mirror `fuzz/fuzz_targets/decode_event.rs` and
//! `fuzz/fuzz_targets/import_lines.rs`; keep them in step.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use shareledger_core::event::{parse_line, Recorded};
use shareledger_core::state::Register;
use shareledger_ledger::import::jsonl::read_lines;
use shareledger_ledger::SEED_LEDGER;
use shareledger_ledger::{self as ledger, AppendOptions};
use shareledger_returns::monthly::{monthly, MonthlyRequest};
use shareledger_returns::nddr::{nddr, NddrRequest};
use shareledger_store::Store;
use uuid::Uuid;

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2030-01-01T00:00:00+08:00").unwrap()
}

/// `fuzz/fuzz_targets/decode_event.rs`.
fn decode_event(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let at = DateTime::parse_from_rfc3339("2024-01-02T03:04:05+08:00").unwrap();
    let _ = Recorded::from_payload(Uuid::nil(), at, "fuzz".into(), text, Some(1));
    if let Ok(incoming) = parse_line(text) {
        let rec = incoming.into_recorded(Uuid::nil, at, "fuzz");
        let payload = rec.payload();
        let back =
            Recorded::from_payload(rec.id, rec.recorded_at, rec.actor.clone(), &payload, None)
                .unwrap_or_else(|e| panic!("canonical payload {payload} does not decode: {e}"));
        assert_eq!(back.event, rec.event, "payload {payload}");
        assert_eq!(back.note, rec.note);
        assert_eq!(back.payload(), payload);
        let _ = rec.event.effective_date();
        let _ = rec.event.stream();
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    register: Register,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("fuzz.db")).unwrap();
        let lines = read_lines(SEED_LEDGER.as_bytes()).unwrap();
        ledger::append::append(
            &mut store,
            lines,
            now(),
            "fuzz",
            AppendOptions::dry_run(false),
        )
        .unwrap();
        let register = ledger::replay::load_issuer(&store, "02121", None).unwrap();
        Fixture {
            _dir: dir,
            store,
            register,
        }
    }
}

/// `fuzz/fuzz_targets/import_lines.rs`.
fn import_lines(f: &mut Fixture, data: &[u8]) {
    let Ok(lines) = read_lines(data) else {
        return;
    };
    if lines.is_empty() || lines.len() > 64 {
        return;
    }
    let _ = ledger::append::append(
        &mut f.store,
        lines.clone(),
        now(),
        "fuzz",
        AppendOptions::dry_run(true),
    );
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
}

fn seed_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no seeds in {}", dir.display());
    v
}

/// Inputs at the edges of the parsers: not JSON, wrong shapes, numbers and
/// amounts out of range, dates that do not exist, deep nesting, bytes that
/// are not UTF-8.
fn edge_cases() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "",
        "\n\n#\n",
        "{}",
        "[]",
        "null",
        "\"text\"",
        "{\"type\":1}",
        "{\"type\":null}",
        "{\"type\":\"no_such_type\"}",
        "{\"type\":\"market_closed\"}",
        "{\"type\":\"market_closed\",\"date\":\"2022-02-30\",\"reason\":\"x\"}",
        "{\"type\":\"market_closed\",\"date\":\"9999-12-31\",\"reason\":\"x\"}",
        "{\"type\":\"market_closed\",\"date\":\"0000-01-01\",\"reason\":\"x\"}",
        "{\"type\":\"market_closed\",\"date\":\"+10000-01-01\",\"reason\":\"x\"}",
        "{\"type\":\"market_closed\",\"date\":\"2022-11-07\",\"reason\":\"\"}",
        "{\"type\":\"market_closed\",\"date\":\"2022-11-07\",\"reason\":\"x\",\"id\":\"not-a-uuid\"}",
        "{\"type\":\"market_closed\",\"date\":\"2022-11-07\",\"reason\":\"x\",\"recorded_at\":\"2022-13-01T00:00:00Z\"}",
        "{\"type\":\"market_closed\",\"date\":\"2022-11-07\",\"reason\":\"x\",\"recorded_at\":\"9999-12-31T23:59:59-23:59\"}",
        "{\"type\":\"market_closed\",\"date\":\"2022-11-07\",\"reason\":\"x\",\"note\":7}",
        "{\"type\":\"market_closed\",\"date\":\"2022-11-07\",\"reason\":\"x\",\"extra\":1}",
        "{\"type\":\"shares_repurchased\",\"issuer\":\"02121\",\"class\":\"H\",\"trade_date\":\"2022-11-21\",\"shares\":18446744073709551615}",
        "{\"type\":\"shares_repurchased\",\"issuer\":\"02121\",\"class\":\"H\",\"trade_date\":\"2022-11-21\",\"shares\":18446744073709551616}",
        "{\"type\":\"shares_repurchased\",\"issuer\":\"02121\",\"class\":\"H\",\"trade_date\":\"2022-11-21\",\"shares\":-1}",
        "{\"type\":\"shares_repurchased\",\"issuer\":\"02121\",\"class\":\"H\",\"trade_date\":\"2022-11-21\",\"shares\":1.5}",
        "{\"type\":\"shares_repurchased\",\"issuer\":\"02121\",\"class\":\"H\",\"trade_date\":\"2022-11-21\",\"shares\":1e3}",
        "{\"type\":\"shares_repurchased\",\"issuer\":\"02121\",\"class\":\"H\",\"trade_date\":\"2022-11-21\",\"shares\":1000000000000000,\"currency\":\"HKD\",\"highest_price\":\"79228162514264337593543950335\",\"lowest_price\":\"0\",\"total_paid\":\"1\"}",
        "{\"type\":\"shares_repurchased\",\"issuer\":\"02121\",\"class\":\"H\",\"trade_date\":\"2022-11-21\",\"shares\":10,\"currency\":\"HKD\",\"highest_price\":1e400,\"lowest_price\":1e-400,\"total_paid\":-0}",
        "{\"type\":\"shares_repurchased\",\"issuer\":\"02121\",\"class\":\"H\",\"trade_date\":\"2022-11-21\",\"shares\":10,\"currency\":\"HKD\",\"highest_price\":\"2.0000000000000000000000000001\",\"lowest_price\":\"0.0000000000000000000000000001\",\"total_paid\":\"10\"}",
        "{\"type\":\"shares_repurchased\",\"issuer\":\"02121\",\"class\":\"H\",\"trade_date\":\"2022-11-21\",\"shares\":10,\"currency\":\"\",\"highest_price\":\"NaN\",\"lowest_price\":\"inf\",\"total_paid\":\"1e5\"}",
        "{\"type\":\"repurchased_shares_cancelled\",\"issuer\":\"02121\",\"class\":\"H\",\"date\":\"2022-12-01\",\"shares\":11891200}",
        "{\"type\":\"repurchased_shares_cancelled\",\"issuer\":\"02121\",\"class\":\"H\",\"date\":\"2022-12-01\",\"shares\":1,\"trade_dates\":[\"2022-11-08\",\"2022-11-08\"]}",
        "{\"type\":\"shares_issued\",\"issuer\":\"02121\",\"class\":\"H\",\"date\":\"9999-12-31\",\"shares\":999999999999999,\"kind\":\"placing\",\"currency\":\"HKD\",\"price\":\"0.01\",\"previous_close\":\"0\"}",
        "{\"type\":\"opening_balance\",\"issuer\":\"02121\",\"class\":\"H\",\"date\":\"0000-01-01\",\"issued_shares\":0}",
        "{\"type\":\"results_announcement_scheduled\",\"issuer\":\"02121\",\"period\":\"p\",\"board_meeting_date\":\"0000-01-01\",\"publication_deadline\":\"0000-01-01\"}",
        "{\"type\":\"return_filed\",\"issuer\":\"02121\",\"form\":\"monthly\",\"date\":\"9999-12-31\",\"submitted_at\":\"9999-12-31T23:59:59Z\"}",
        "{\"type\":\"return_filed\",\"issuer\":\"02121\",\"form\":\"nddr\",\"date\":\"0000-01-01\",\"submitted_at\":\"0000-01-01T00:00:00Z\"}",
        "{\"type\":\"event_voided\",\"issuer\":\"02121\",\"voided_id\":\"608e9f96-76b8-5c78-a419-a22e2cd8b9e0\",\"reason\":\"twice\"}",
        "{\"type\":\"issuer_registered\",\"issuer\":\"08888\",\"name\":\"N\",\"presentation\":{\"percent_decimals\":255,\"price_decimals\":255}}",
        "{\"type\":\"issuer_settings_changed\",\"issuer\":\"02121\",\"presentation\":{\"percent_decimals\":4294967295,\"price_decimals\":99}}",
        "{\"type\":\"share_option_scheme_adopted\",\"issuer\":\"02121\",\"class\":\"H\",\"scheme\":\"S\",\"adoption_date\":\"2020-01-01\",\"outstanding_options\":1000000000000000}",
        "{\"type\":\"closing_price\",\"issuer\":\"02121\",\"class\":\"H\",\"date\":\"2022-11-18\",\"currency\":\"HKD\",\"price\":\"-5\"}",
        "\u{feff}{\"type\":\"market_closed\",\"date\":\"2022-11-07\",\"reason\":\"x\"}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    v.push(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes());
    v.push(
        format!(
            "{{\"type\":\"market_closed\",\"date\":\"2022-11-07\",\"reason\":\"{}\"}}",
            "x".repeat(1 << 20)
        )
        .into_bytes(),
    );
    v.push(vec![0xff, 0xfe, b'{', b'}', b'\n', 0x80]);
    v.push(
        b"{\"type\":\"market_closed\",\"date\":\"2022-11-07\",\"reason\":\"\xc3\x28\"}".to_vec(),
    );
    // Several percent and price presentations over the seed issuer at once.
    v.push(
        b"{\"type\":\"issuer_settings_changed\",\"issuer\":\"02121\",\"presentation\":{\"percent_decimals\":28,\"price_decimals\":28,\"percent_basis\":\"excluding_pending\"}}\n{\"type\":\"shares_repurchased\",\"issuer\":\"02121\",\"class\":\"H\",\"trade_date\":\"2022-11-21\",\"shares\":3,\"currency\":\"HKD\",\"highest_price\":\"0.0000000000000000000000000003\",\"lowest_price\":\"0.0000000000000000000000000001\",\"total_paid\":\"0.0000000000000000000000000007\"}\n".to_vec(),
    );
    v
}

#[test]
fn decode_event_inputs_do_not_panic() {
    let mut n = 0;
    for p in seed_files("decode_event") {
        decode_event(&std::fs::read(&p).unwrap());
        n += 1;
    }
    for input in edge_cases() {
        decode_event(&input);
        for line in input.split(|b| *b == b'\n') {
            decode_event(line);
        }
        n += 1;
    }
    assert!(n > 40);
}

#[test]
fn import_lines_inputs_do_not_panic() {
    let mut f = Fixture::new();
    let count = f.store.count().unwrap();
    for p in seed_files("import_lines") {
        import_lines(&mut f, &std::fs::read(&p).unwrap());
    }
    for input in edge_cases() {
        import_lines(&mut f, &input);
    }
    // Dry runs only: nothing was written.
    assert_eq!(f.store.count().unwrap(), count);
}
