//! [`EventStore`] and [`EventTx`]: what every storage engine of shareledger
//! provides, so the application layer (`shareledger-ledger`) is written once
//! for all of them. [`crate::Store`] (SQLite) is the first backend; a new
//! backend passes [`crate::conformance`] before anything else uses it.
//!
//! The contract, whatever the engine:
//!
//! * one totally ordered log: positions `1, 2, 3, …` with no gap, assigned
//!   in commit order, so a reader following `position > cursor` never skips
//!   an event;
//! * per-stream versions `1, 2, 3, …`, checked against the caller's
//!   [`ExpectedVersion`] inside the write transaction
//!   ([`StoreError::VersionConflict`] carries expected and actual);
//! * idempotent ids: the same id with the same content is
//!   [`AppendOutcome::Duplicate`], with other content [`StoreError::IdConflict`];
//! * `recorded_at` never goes backwards along the log;
//! * the hash chain of [`crate::event_hash`], computed in Rust by the same
//!   function on every engine, so a ledger has the same hashes wherever it
//!   is kept, and [`EventStore::verify`] finds the first changed or missing
//!   row;
//! * a write transaction is all or nothing.
//!
//! Reads stream: [`EventStore::scan`] hands each row over in place (no copy,
//! no hashes: the replay's fast path) and [`EventStore::events`] yields owned
//! rows page by page. Neither holds the log in memory.

use crate::error::StoreError;
use crate::event::{AppendOutcome, ExpectedVersion, NewEvent, StoredEvent, ValidEvent};
use crate::read::{Derived, EventRef, ReadFilter};
use crate::snapshot::Snapshot;
use crate::store::Verification;

/// A boxed stream of owned rows in position order (see [`EventRead::events`]).
pub type RowIter<'a> = Box<dyn Iterator<Item = Result<StoredEvent, StoreError>> + 'a>;

/// Reads available both on an open store and inside a write transaction.
pub trait EventRead {
    /// Call `f` on every event matching `filter`, in position order, with the
    /// row borrowed in place; stops at the first error of `f`. Returns the
    /// number of events passed to `f`.
    fn scan<E: From<StoreError>>(
        &self,
        filter: &ReadFilter,
        f: impl FnMut(EventRef<'_>) -> Result<(), E>,
    ) -> Result<u64, E>;

    /// [`EventRead::scan`] with the columns derived from each payload when
    /// it was stored ([`Derived`]: what an audit checks against the payload).
    /// By default through [`EventRead::events`]; SQLite reads them in place.
    fn scan_derived<E: From<StoreError>>(
        &self,
        filter: &ReadFilter,
        mut f: impl FnMut(EventRef<'_>, Derived<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut n = 0;
        for row in self.events(filter) {
            let row = row?;
            let derived = Derived {
                effective_date: row.effective_date.as_deref(),
                schema_version: row.schema_version,
            };
            f(EventRef::of(&row), derived)?;
            n += 1;
        }
        Ok(n)
    }

    /// Call `f` on every event of `stream` whose stored `effective_date` is
    /// `date` (`None`: events without one), in position order, with the row
    /// borrowed in place: the events of one issuer and day (the append's
    /// double-entry rule). By default through [`EventRead::scan_derived`] of
    /// the whole stream; SQLite reads them through the index of schema
    /// step 3. Returns the number of events passed to `f`.
    fn scan_on_date<E: From<StoreError>>(
        &self,
        stream: &str,
        date: Option<&str>,
        mut f: impl FnMut(EventRef<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut n = 0;
        self.scan_derived(&ReadFilter::stream(stream), |row, derived| {
            if derived.effective_date == date {
                n += 1;
                f(row)
            } else {
                Ok(())
            }
        })?;
        Ok(n)
    }

    /// Call `f` on every event of `stream` whose stored `effective_date` is
    /// `from` or later and, with `until`, before `until` (as `YYYY-MM-DD`,
    /// compared as text), in position order, with the row borrowed in
    /// place: the events of one issuer dated from a day on (the findings of
    /// an append at the end of an issuer's history), or in a span of days
    /// (the findings of a large append, window after window). By default
    /// through [`EventRead::scan_derived`] of the whole stream; SQLite and
    /// PostgreSQL read them through the index of schema step 3. Returns the
    /// number of events passed to `f`.
    fn scan_from_date<E: From<StoreError>>(
        &self,
        stream: &str,
        from: &str,
        until: Option<&str>,
        mut f: impl FnMut(EventRef<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut n = 0;
        self.scan_derived(&ReadFilter::stream(stream), |row, derived| {
            if derived
                .effective_date
                .is_some_and(|d| d >= from && until.is_none_or(|u| d < u))
            {
                n += 1;
                f(row)
            } else {
                Ok(())
            }
        })?;
        Ok(n)
    }

    /// Owned rows matching `filter`, in position order, hashes included,
    /// read a page at a time. Yields `Err` at most once, then ends.
    fn events(&self, filter: &ReadFilter) -> RowIter<'_>;

    /// Current version of `stream`; 0 when it has no events.
    fn stream_version(&self, stream: &str) -> Result<u64, StoreError>;

    /// The event with this id.
    fn find_by_id(&self, id: &str) -> Result<Option<StoredEvent>, StoreError>;

    /// `(position, hash)` of the last event; `None` for an empty ledger.
    fn head(&self) -> Result<Option<(u64, String)>, StoreError>;

    /// `recorded_at` of the last event.
    fn last_recorded_at(&self) -> Result<Option<String>, StoreError>;

    /// Number of stored events.
    fn count(&self) -> Result<u64, StoreError>;

    /// The snapshot kept for `stream`, if any ([`Snapshot`]: derived
    /// state outside the hash chain, opaque to the store, which a caller
    /// checks before trusting and may always rebuild from the log).
    fn snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StoreError>;
}

/// One open write transaction: everything read through it stays as read
/// until it commits (the engine holds the ledger's single write lock).
pub trait EventTx: EventRead {
    /// Append a batch atomically: every event is stored (or found to be a
    /// duplicate), or nothing is, even if the caller goes on to commit.
    /// `expected` is checked per stream first. Outcomes are in the order of
    /// `events`.
    fn append(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[NewEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError>;

    /// [`EventTx::append`] of events already validated (perhaps on another
    /// thread): same checks, same atomicity, same outcomes.
    fn append_valid(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[ValidEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError>;

    /// [`EventTx::append_valid`] for a caller that abandons the whole
    /// transaction on any error (an import: all or nothing): the same checks
    /// and outcomes, but the batch need not be atomic on its own, which
    /// spares a backend its per-batch savepoint. After an error, part of the
    /// batch may be in the transaction: it must not commit. A backend that
    /// takes the shortcut enforces that: its `write` then rolls back and
    /// fails ([`StoreError::Aborted`]) even if the caller returns `Ok`. The
    /// default is [`EventTx::append_valid`] (atomic: stronger).
    fn append_valid_or_abort(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[ValidEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        self.append_valid(expected, events)
    }

    /// Keep `snapshot` for its stream, replacing any earlier one; it commits
    /// (or not) with the transaction. Nothing of the log changes.
    fn put_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError>;

    /// Drop the snapshot of `stream` (`None`: every snapshot); how many were
    /// dropped. Snapshots are derived: dropping one loses nothing.
    fn drop_snapshots(&mut self, stream: Option<&str>) -> Result<u64, StoreError>;
}

/// One open ledger on some engine.
pub trait EventStore: EventRead + Send + Sized {
    /// The engine's write transaction.
    type Tx<'t>: EventTx
    where
        Self: 't;

    /// Where the ledger is, for messages: a file path, or a URL without its
    /// password.
    fn location(&self) -> String;

    /// Run `f` inside one write transaction; commit if it returns `Ok`, roll
    /// back otherwise (and on panic). Writers are serialised: whatever `f`
    /// reads cannot change before it commits.
    fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Self::Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>;

    /// Distinct stream names, sorted bytewise.
    fn streams(&self) -> Result<Vec<String>, StoreError>;

    /// Hash of the event at `position` (to check a kept checkpoint).
    fn hash_at(&self, position: u64) -> Result<Option<String>, StoreError>;

    /// Verify the whole chain in position order, streaming; stops at the
    /// first break.
    fn verify(&self) -> Result<Verification, StoreError>;

    /// Another connection to the same ledger, for a reader on another thread.
    fn reader(&self) -> Result<Self, StoreError>;

    /// A reader that scans the whole log once (the chain check beside the
    /// replay): engines may give it a small cache. Defaults to [`Self::reader`].
    fn sequential_reader(&self) -> Result<Self, StoreError> {
        self.reader()
    }

    /// A reader that reads whole streams one after another (the audit's
    /// workers): engines may give it a cache large enough to hold the pages
    /// one stream's rows lie on, which the next streams' rows share when the
    /// log interleaves them. Defaults to [`Self::reader`].
    fn stream_reader(&self) -> Result<Self, StoreError> {
        self.reader()
    }
}
