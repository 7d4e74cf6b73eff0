//! Shared helpers of the PostgreSQL tests: a fresh ledger on the throwaway
//! cluster of `shareledger_store::pg_testing`, and raw connections to tamper
//! with it behind the store's back.
#![allow(dead_code)]

use shareledger_store::{pg_testing, NewEvent, PgStore};

/// A new empty database on the test cluster; `None` when skipped.
pub fn url() -> Option<String> {
    pg_testing::database()
}

/// A new ledger; `None` when skipped.
pub fn fresh() -> Option<(String, PgStore)> {
    let url = url()?;
    let store = PgStore::open(&url).expect("opens a new ledger");
    Some((url, store))
}

/// A raw connection to the database at `url`.
pub fn raw(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("raw connection")
}

/// Run `sql` with the append-only triggers lifted, as an attacker with the
/// owner's rights would.
pub fn tamper(url: &str, sql: &str) {
    let mut c = raw(url);
    c.batch_execute(&format!(
        "BEGIN; ALTER TABLE events DISABLE TRIGGER USER; {sql}; \
         ALTER TABLE events ENABLE TRIGGER USER; COMMIT;"
    ))
    .expect("tampering");
}

/// Events 1..=n spread round-robin over `streams` (conformance's generator).
pub fn events(range: std::ops::RangeInclusive<u64>, streams: &[&str]) -> Vec<NewEvent> {
    range
        .map(|i| shareledger_store::conformance::ev(i, streams[(i as usize) % streams.len()]))
        .collect()
}
