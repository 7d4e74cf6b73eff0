//! Shared helpers for the store's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use shareledger_store::{AppendOutcome, ExpectedVersion, NewEvent, Store, StoreError};

/// A temp dir plus the ledger path inside it.
pub struct Ledger {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn ledger() -> Ledger {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    Ledger { dir, path }
}

/// A fixed-width timestamp `n` microseconds after 2024-01-01T00:00:00Z
/// (n < 86_400_000_000).
pub fn ts(n: u64) -> String {
    let micros = n % 1_000_000;
    let secs = n / 1_000_000;
    format!(
        "2024-01-01T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        micros
    )
}

/// Event number `n` in `stream`, recorded at `ts(n)`.
pub fn ev(n: u64, stream: &str) -> NewEvent {
    NewEvent {
        id: format!("00000000-0000-4000-8000-{n:012}"),
        stream: stream.to_string(),
        event_type: "thing_happened".to_string(),
        schema_version: 1,
        payload: format!(r#"{{"n":{n},"s":"{stream}"}}"#),
        effective_date: if n.is_multiple_of(2) {
            Some("2024-03-28".to_string())
        } else {
            None
        },
        recorded_at: ts(n),
        actor: "tester".to_string(),
    }
}

/// Append `events` in one transaction with no version expectations.
pub fn append(store: &mut Store, events: &[NewEvent]) -> Result<Vec<AppendOutcome>, StoreError> {
    store.write(|tx| tx.append(&[], events))
}

/// A store with events 1..=n spread round-robin over `streams`.
pub fn filled(path: &Path, n: u64, streams: &[&str]) -> Store {
    let mut s = Store::open(path).unwrap();
    let events: Vec<NewEvent> = (1..=n)
        .map(|i| ev(i, streams[(i as usize - 1) % streams.len()]))
        .collect();
    append(&mut s, &events).unwrap();
    s
}

pub fn exact(stream: &str, v: u64) -> (String, ExpectedVersion) {
    (stream.to_string(), ExpectedVersion::Exact(v))
}

/// Raw connection to a ledger file, bypassing the store.
pub fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}
