//! `shareledger-store`: the append-only SQLite event store of shareledger.
//!
//! The store knows nothing of share capital. It keeps a single, totally
//! ordered log of events — opaque canonical-JSON payloads plus metadata
//! (stream, type, schema version, effective date, recording time, actor) —
//! in one SQLite file ([`Store`]) or on a PostgreSQL server ([`PgStore`],
//! the same positions and hashes), and guarantees:
//!
//! * **Append-only.** Rows are only ever inserted; triggers refuse `UPDATE`
//!   and `DELETE`, and nothing in this crate issues them.
//! * **Gapless order.** Global positions run `1, 2, 3, ...`; each stream's
//!   versions run `1, 2, 3, ...`; `recorded_at` never goes backwards.
//! * **Tamper evidence.** Every event carries a SHA-256 hash over the previous
//!   event's hash and its own fields ([`event_hash`]); [`Store::verify`]
//!   finds the first altered or missing event. Truncation of the newest
//!   events needs an external checkpoint ([`Store::head`] / [`Store::hash_at`]).
//! * **Optimistic concurrency and idempotency.** Appends state the stream
//!   version they expect ([`ExpectedVersion`]); re-appending an event id with
//!   the same content is a no-op ([`AppendOutcome::Duplicate`]).
//! * **Safe files.** New ledgers are created mode 0600; files that are not
//!   shareledger ledgers, or are from a newer shareledger, are refused without
//!   being changed.
//!
//! ```no_run
//! use shareledger_store::{ExpectedVersion, NewEvent, ReadFilter, Store, StoreError};
//! # fn main() -> Result<(), StoreError> {
//! let mut store = Store::open(std::path::Path::new("ledger.db"))?;
//! let ev = NewEvent {
//!     id: "6f1c2a9e-0000-4000-8000-000000000001".into(),
//!     stream: "02121".into(),
//!     event_type: "shares_repurchased".into(),
//!     schema_version: 1,
//!     payload: r#"{"shares":"1000"}"#.into(),
//!     effective_date: Some("2024-03-28".into()),
//!     recorded_at: "2024-03-28T09:30:00.000000Z".into(),
//!     actor: "alice".into(),
//! };
//! store.write(|tx| {
//!     let v = tx.stream_version("02121")?;
//!     tx.append(&[("02121".into(), ExpectedVersion::Exact(v))], &[ev])
//! })?;
//! for ev in store.events(&ReadFilter::stream("02121")) {
//!     println!("{}", ev?.payload);
//! }
//! assert!(store.verify()?.is_intact());
//! # Ok(()) }
//! ```
//!
//! Module map: `schema` opens files and migrates them,
//! `store` holds [`Store`] and [`WriteTx`], `read` the paging iterator
//! [`Events`], `hash` the chain, `verify` the chain check every engine
//! shares, `event` the value types, `error` the errors. `postgres` holds the
//! second engine, [`PgStore`] (a ledger on a PostgreSQL server, same
//! positions and hashes), and `copy` moves a whole ledger between engines
//! ([`copy_log`]).

#![warn(missing_docs)]

pub mod conformance;
mod copy;
mod engine;
mod error;
mod event;
mod hash;
#[cfg(feature = "testing")]
pub mod pg_testing;
mod postgres;
mod read;
mod schema;
mod snapshot;
mod store;
mod verify;

pub use copy::copy_log;
pub use engine::{EventRead, EventStore, EventTx, RowIter};
pub use error::StoreError;
pub use event::{
    is_valid_date, is_valid_recorded_at, AppendOutcome, ExpectedVersion, NewEvent, StoredEvent,
    ValidEvent, RECORDED_AT_LEN,
};
pub use hash::{event_hash, is_hash_hex, EventFields, GENESIS_PREV_HASH};
pub use postgres::{is_postgres_url, redact_url, PgStore, PgTx, PG_SCHEMA_VERSION};
pub use read::{Derived, EventRef, Events, ReadFilter, DEFAULT_PAGE_SIZE};
pub use schema::{ReadOnly, APPLICATION_ID, SCHEMA_VERSION};
pub use snapshot::Snapshot;
pub use store::{Store, Verification, WriteTx};

/// SQLite page cache of a connection as opened, KiB: 64 MiB, so bulk imports
/// with random UUIDs keep the id index in memory (it is only used as touched).
pub const WRITE_CACHE_KIB: u32 = 64 * 1024;

/// SQLite page cache for connections that only read, KiB
/// ([`Store::set_cache_size_kib`]): scans touch each page once.
pub const READ_CACHE_KIB: u32 = 8 * 1024;

/// How long a connection waits for another process's lock before giving up
/// with [`StoreError::Busy`].
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
