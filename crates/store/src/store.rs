//! [`Store`] (one open ledger), [`WriteTx`] (one write transaction) and the
//! chain check [`Verification`].
//!
//! All writes go through [`Store::write`], which runs a closure inside one
//! `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so a
//! second process waits (up to [`crate::BUSY_TIMEOUT`]) instead of failing
//! half-way, and whatever it reads inside the closure (stream versions, the
//! head) cannot change before it commits. Appends are therefore serialised:
//! position `n + 1` is always computed from the committed head `n`.
//!
//! Invariants of the `events` table, maintained by [`WriteTx::append`] and
//! checked by [`Store::verify`]:
//!
//! * positions are `1, 2, 3, ...` with no gaps;
//! * `prev_hash` of position 1 is [`GENESIS_PREV_HASH`], and of position
//!   `k > 1` the `hash` of position `k - 1`;
//! * `hash` is [`crate::event_hash`] of `prev_hash` and the row's fields;
//! * each stream's versions are `1, 2, 3, ...` in position order;
//! * `recorded_at` never decreases with position;
//! * ids are unique (a `UNIQUE` constraint).
//!
//! Rows are never updated or deleted: triggers abort any `UPDATE` or `DELETE`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{params, Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::engine::{EventRead, EventStore, EventTx, RowIter};
use crate::error::{SqlCtx, StoreError};
use crate::event::{
    validate_new_event, AppendOutcome, ExpectedVersion, NewEvent, StoredEvent, ValidEvent,
};
use crate::hash::{event_hash, EventFields, GENESIS_PREV_HASH};
use crate::read::{self, EventRef, Events, ReadFilter, DEFAULT_PAGE_SIZE};
use crate::schema::{self, OpenMode, ReadOnly, MIGRATIONS};
use crate::snapshot::Snapshot;
use crate::verify::ChainCheck;

const INSERT: &str = "INSERT INTO events (position, stream, version, id, event_type, \
    schema_version, payload, effective_date, recorded_at, actor, prev_hash, hash) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (id) DO NOTHING";

/// One open ledger file.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    page_size: usize,
    /// How the store was opened read-only, if it was.
    read_only: Option<ReadOnly>,
}

/// Result of [`Store::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Number of events that verified, in position order (all of them when
    /// the chain is intact; those before `broken_at` otherwise).
    pub events: u64,
    /// `(position, hash)` of the last event that verified.
    pub head: Option<(u64, String)>,
    /// The first position where the chain is broken, if any.
    pub broken_at: Option<u64>,
    /// Why it is broken, if it is.
    pub reason: Option<String>,
}

impl Verification {
    /// Whether the whole chain verified.
    pub fn is_intact(&self) -> bool {
        self.broken_at.is_none()
    }
}

impl Store {
    /// Open or create the ledger at `path` (its parent directory must exist).
    ///
    /// A new file is created with mode 0600 before SQLite touches it. Sets
    /// WAL, `synchronous=FULL`, a busy timeout of [`crate::BUSY_TIMEOUT`] and
    /// `foreign_keys`, runs pending migrations and stamps
    /// [`crate::APPLICATION_ID`]. Refuses, without altering the file, anything
    /// that is not a SQLite database, a non-empty database that is not a
    /// shareledger ledger, and a ledger with a schema newer than
    /// [`crate::SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, OpenMode::Create)
    }

    /// Open an existing ledger. Never creates anything: a missing path is
    /// [`StoreError::NotFound`], an empty file [`StoreError::NotInitialised`].
    /// Same checks as [`Store::open`]; a ledger with an older schema is
    /// migrated (so the rest of this build can read it).
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, OpenMode::Existing)
    }

    /// Open an existing ledger read-only (`mode=ro`; `immutable=1` when
    /// SQLite cannot keep its shared memory beside the file, e.g. in a
    /// directory that cannot be written): nothing is written to the file
    /// or beside it. Every write through this store fails. Same checks as
    /// [`Store::open_existing`]; a ledger needing a migration is refused.
    pub fn open_read_only(path: &Path) -> Result<(Store, ReadOnly), StoreError> {
        Self::open_read_only_as(path, ReadOnly::Shared)
    }

    /// [`Store::open_read_only`] starting with `start`: `Immutable` opens
    /// `immutable=1` at once (nothing is created beside the file; a WAL
    /// another process is writing is not seen).
    pub fn open_read_only_as(
        path: &Path,
        start: ReadOnly,
    ) -> Result<(Store, ReadOnly), StoreError> {
        let (conn, mode) = schema::open_read_only(path, MIGRATIONS.len() as u32, start)?;
        Ok((
            Store {
                conn,
                path: path.to_path_buf(),
                page_size: DEFAULT_PAGE_SIZE,
                read_only: Some(mode),
            },
            mode,
        ))
    }

    fn open_with(path: &Path, mode: OpenMode) -> Result<Store, StoreError> {
        let conn = schema::open_connection(path, mode, MIGRATIONS)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            page_size: DEFAULT_PAGE_SIZE,
            read_only: None,
        })
    }

    /// The path this store was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows fetched per query by [`Store::events`], [`WriteTx::events`] and
    /// [`Store::verify`] (default [`DEFAULT_PAGE_SIZE`]).
    ///
    /// # Panics
    /// If `rows` is 0.
    pub fn set_read_page_size(&mut self, rows: usize) {
        assert!(rows > 0, "read page size must be positive");
        self.page_size = rows;
    }

    /// Cap SQLite's page cache of this connection at `kib` KiB (default
    /// [`crate::WRITE_CACHE_KIB`], which keeps the id index hot during bulk
    /// imports). A reader that scans the log touches every page once and
    /// gains nothing from a big cache: give it [`crate::READ_CACHE_KIB`] so
    /// its memory stays small however large the ledger.
    pub fn set_cache_size_kib(&mut self, kib: u32) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "cache_size", -i64::from(kib.max(1)))
            .ctx(&self.path)
    }

    /// See [`Store::set_read_page_size`].
    pub fn read_page_size(&self) -> usize {
        self.page_size
    }

    /// Run `f` inside one `BEGIN IMMEDIATE` transaction; commit if it returns
    /// `Ok`, roll back otherwise (and on panic).
    ///
    /// Taking the write lock up front means two processes appending to one
    /// stream both succeed, one after the other (the second waits up to
    /// [`crate::BUSY_TIMEOUT`], then fails with [`StoreError::Busy`]).
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(path)?;
        let mut wtx = WriteTx {
            tx,
            path,
            page_size: self.page_size,
            aborted: None,
        };
        match f(&mut wtx) {
            Ok(_) if wtx.aborted.is_some() => {
                let _ = wtx.tx.rollback();
                Err(StoreError::Aborted {
                    path: path.to_path_buf(),
                    reason: wtx.aborted.unwrap_or_default(),
                }
                .into())
            }
            Ok(value) => {
                wtx.tx.commit().ctx(path)?;
                Ok(value)
            }
            Err(e) => {
                // The caller's error is the useful one; a failed rollback
                // leaves nothing committed either way.
                let _ = wtx.tx.rollback();
                Err(e)
            }
        }
    }

    /// Stream events matching `filter` in position order, one page at a time
    /// (see [`Events`]).
    pub fn events(&self, filter: &ReadFilter) -> Events<'_> {
        Events::new(&self.conn, &self.path, filter, self.page_size)
    }

    /// Call `f` on every event matching `filter`, in position order, with
    /// the row borrowed in place ([`EventRef`]: no copies, no hashes): the
    /// fast path for replays. Pages like [`Store::events`]; stops at the
    /// first error of `f`. Returns the number of events passed to `f`.
    pub fn scan<E: From<StoreError>>(
        &self,
        filter: &ReadFilter,
        f: impl FnMut(EventRef<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        read::scan(&self.conn, &self.path, filter, self.page_size, f)
    }

    /// `(position, hash)` of the last event; `None` for an empty ledger.
    pub fn head(&self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(read::last_event(&self.conn, &self.path)?.map(|(p, h, _)| (p, h)))
    }

    /// Hash of the event at `position`, to check a checkpoint taken earlier
    /// with [`Store::head`] (the only way to notice that the newest events
    /// were removed).
    pub fn hash_at(&self, position: u64) -> Result<Option<String>, StoreError> {
        read::hash_at(&self.conn, &self.path, position)
    }

    /// `recorded_at` of the last event.
    pub fn last_recorded_at(&self) -> Result<Option<String>, StoreError> {
        Ok(read::last_event(&self.conn, &self.path)?.map(|(_, _, t)| t))
    }

    /// Current version of `stream`; 0 when it has no events.
    pub fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        read::stream_version(&self.conn, &self.path, stream)
    }

    /// Distinct stream names, sorted (bytewise).
    pub fn streams(&self) -> Result<Vec<String>, StoreError> {
        read::streams(&self.conn, &self.path)
    }

    /// The event with this id.
    pub fn find_by_id(&self, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        read::find_by_id(&self.conn, &self.path, id)
    }

    /// Number of stored events.
    pub fn count(&self) -> Result<u64, StoreError> {
        read::count(&self.conn, &self.path)
    }

    /// Verify the whole chain, streaming in position order: positions gapless
    /// from 1, each `prev_hash` equal to the previous row's hash, each hash
    /// recomputing, per-stream versions gapless from 1, `recorded_at`
    /// well-formed and non-decreasing. Stops at the first break.
    ///
    /// A deleted row at `k` or a changed row at `k` is reported as
    /// `broken_at: Some(k)`. Deleting the *newest* rows leaves a valid,
    /// shorter chain: detect that by keeping a checkpoint from
    /// [`Store::head`] elsewhere and checking it with [`Store::hash_at`].
    pub fn verify(&self) -> Result<Verification, StoreError> {
        verify_chain(&self.conn, &self.path, self.page_size)
    }

    /// Copy the ledger to the new file `dest` (created with mode 0600; an
    /// existing `dest` is refused) with SQLite's online backup API, in one
    /// step so the copy is a consistent snapshot even while other processes
    /// append. Then open the copy and verify its chain; the result is
    /// returned (check [`Verification::is_intact`]) and the copy is kept
    /// either way. On a copy failure the partial file is removed.
    pub fn backup_to(&self, dest: &Path) -> Result<Verification, StoreError> {
        if dest.symlink_metadata().is_ok() || !schema::create_private(dest)? {
            return Err(StoreError::BackupDestinationExists {
                path: dest.to_path_buf(),
            });
        }
        if let Err(e) = self.copy_into(dest) {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = dest.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
            return Err(e);
        }
        Store::open_existing(dest)?.verify()
    }

    fn copy_into(&self, dest: &Path) -> Result<(), StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut dst = Connection::open_with_flags(dest, flags).ctx(dest)?;
        dst.busy_timeout(crate::BUSY_TIMEOUT).ctx(dest)?;
        dst.pragma_update(None, "synchronous", "FULL").ctx(dest)?;
        let backup = Backup::new(&self.conn, &mut dst).ctx(dest)?;
        let deadline = Instant::now() + crate::BUSY_TIMEOUT;
        loop {
            // -1: all pages in one step, i.e. under one read snapshot.
            match backup.step(-1).ctx(dest)? {
                StepResult::Done => return Ok(()),
                StepResult::More => {}
                // Busy, Locked (and anything a later rusqlite adds): retry.
                _ => {
                    if Instant::now() >= deadline {
                        return Err(StoreError::Busy {
                            path: self.path.clone(),
                        });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        }
    }

    /// The underlying connection, for read-only inspection in tests and tools.
    /// Writing through it bypasses every invariant of this crate.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Check the chain invariants over the whole log, in position order, paging
/// like [`Events`] but reading each row in place (no copies: a verification
/// of millions of events allocates almost nothing).
fn verify_chain(
    conn: &Connection,
    path: &Path,
    page_size: usize,
) -> Result<Verification, StoreError> {
    let mut check = ChainCheck::new();
    let mut last_position: u64 = 0;
    let limit = i64::try_from(page_size).unwrap_or(i64::MAX);
    let sql = |e| StoreError::sqlite(path, e);
    loop {
        let mut st = conn.prepare_cached(read::PAGE_ALL).map_err(sql)?;
        let mut rows = st
            .query(params![read::clamp(last_position), i64::MAX, limit])
            .map_err(sql)?;
        let mut got = 0usize;
        while let Some(r) = rows.next().map_err(sql)? {
            got += 1;
            let ev = (|| {
                Ok::<_, rusqlite::Error>((
                    EventFields {
                        position: r.get(0)?,
                        stream: read::text(r, 1)?,
                        version: r.get(2)?,
                        id: read::text(r, 3)?,
                        event_type: read::text(r, 4)?,
                        schema_version: r.get(5)?,
                        payload: read::text(r, 6)?,
                        effective_date: match r.get_ref(7)? {
                            rusqlite::types::ValueRef::Null => None,
                            _ => Some(read::text(r, 7)?),
                        },
                        recorded_at: read::text(r, 8)?,
                        actor: read::text(r, 9)?,
                    },
                    read::text(r, 10)?,
                    read::text(r, 11)?,
                ))
            })()
            .map_err(sql)?;
            let (ev, ev_prev_hash, ev_hash) = ev;
            if let Some((at, reason)) = check.push(&ev, ev_prev_hash, ev_hash) {
                return Ok(check.broken(at, reason));
            }
            last_position = ev.position;
        }
        if got < page_size {
            break;
        }
    }
    Ok(check.finish())
}

/// One open write transaction; see [`Store::write`].
#[derive(Debug)]
pub struct WriteTx<'a> {
    tx: Transaction<'a>,
    path: &'a Path,
    page_size: usize,
    /// The error of a batch appended without its own savepoint
    /// ([`WriteTx::append_valid_or_abort`]): the transaction must not commit.
    aborted: Option<String>,
}

impl WriteTx<'_> {
    /// Version of `stream` as seen inside this transaction; 0 when absent.
    pub fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        read::stream_version(&self.tx, self.path, stream)
    }

    /// The event with this id, including events appended in this transaction.
    pub fn find_by_id(&self, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        read::find_by_id(&self.tx, self.path, id)
    }

    /// Stream events inside this transaction (see [`Events`]).
    pub fn events(&self, filter: &ReadFilter) -> Events<'_> {
        Events::new(&self.tx, self.path, filter, self.page_size)
    }

    /// [`Store::scan`] inside this transaction.
    pub fn scan<E: From<StoreError>>(
        &self,
        filter: &ReadFilter,
        f: impl FnMut(EventRef<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        read::scan(&self.tx, self.path, filter, self.page_size, f)
    }

    /// `recorded_at` of the last event.
    pub fn last_recorded_at(&self) -> Result<Option<String>, StoreError> {
        Ok(read::last_event(&self.tx, self.path)?.map(|(_, _, t)| t))
    }

    /// `(position, hash)` of the last event.
    pub fn head(&self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(read::last_event(&self.tx, self.path)?.map(|(p, h, _)| (p, h)))
    }

    /// Number of stored events, including those appended in this transaction.
    pub fn count(&self) -> Result<u64, StoreError> {
        read::count(&self.tx, self.path)
    }

    /// Append a batch atomically: either every event is stored (or found to
    /// be a duplicate) or nothing is written, even if the caller then commits.
    ///
    /// * `expected` is checked per stream against its version at the start of
    ///   this call; a mismatch is [`StoreError::VersionConflict`].
    /// * An id already stored with the same stream, event type, schema
    ///   version, payload and effective date is a no-op reported as
    ///   [`AppendOutcome::Duplicate`] (also within one batch); the same id
    ///   with other content is [`StoreError::IdConflict`].
    /// * `recorded_at` must be well-formed and not earlier than the latest
    ///   stored event ([`StoreError::RecordedAtBackwards`]); a duplicate is
    ///   recognised before this check, so a late retry is still a no-op.
    ///
    /// The returned outcomes are in the order of `events`.
    pub fn append(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[NewEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        for ev in events {
            validate_new_event(ev)?;
        }
        self.append_checked(expected, events)
    }

    /// [`WriteTx::append`] of events already checked ([`NewEvent::validate`],
    /// which may have run on another thread): the same checks of `expected`,
    /// ids and `recorded_at`, the same atomicity, the same outcomes.
    pub fn append_valid(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[ValidEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        self.append_checked(expected, events)
    }

    /// [`WriteTx::append_valid`] without the batch's own savepoint (see
    /// [`crate::EventTx::append_valid_or_abort`]): after an error the
    /// transaction is marked aborted, and [`Store::write`] rolls it back.
    pub fn append_valid_or_abort(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[ValidEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        if let Some(reason) = &self.aborted {
            return Err(StoreError::Aborted {
                path: self.path.to_path_buf(),
                reason: reason.clone(),
            });
        }
        let r = self.check_expected(expected).and_then(|()| {
            if events.is_empty() {
                return Ok(Vec::new());
            }
            append_rows(&self.tx, self.path, events)
        });
        if let Err(e) = &r {
            self.aborted = Some(e.to_string());
        }
        r
    }

    fn check_expected(&self, expected: &[(String, ExpectedVersion)]) -> Result<(), StoreError> {
        for (stream, exp) in expected {
            let actual = read::stream_version(&self.tx, self.path, stream)?;
            if !exp.matches(actual) {
                return Err(StoreError::VersionConflict {
                    stream: stream.clone(),
                    expected: *exp,
                    actual,
                });
            }
        }
        Ok(())
    }

    fn append_checked<E: AsRef<NewEvent>>(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[E],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        let path = self.path;
        if let Some(reason) = &self.aborted {
            return Err(StoreError::Aborted {
                path: path.to_path_buf(),
                reason: reason.clone(),
            });
        }
        self.check_expected(expected)?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // A savepoint makes the batch atomic on its own: on error it is rolled
        // back (on drop) even if the caller goes on to commit the transaction.
        let sp = self.tx.savepoint().ctx(path)?;
        let outcomes = append_rows(&sp, path, events)?;
        sp.commit().ctx(path)?;
        debug_assert_eq!(outcomes.len(), events.len());
        Ok(outcomes)
    }
}

/// Classify an id that is already stored. `batch_start` is the head position
/// before this batch: a clash with a row above it is a clash within the batch
/// (which is about to be rolled back, so it has no stable position to report).
fn duplicate_or_conflict(
    existing: StoredEvent,
    ev: &NewEvent,
    batch_start: u64,
) -> Result<AppendOutcome, StoreError> {
    if existing.same_content(ev) {
        Ok(AppendOutcome::Duplicate {
            position: existing.position,
        })
    } else if existing.position > batch_start {
        Err(StoreError::invalid(
            &ev.id,
            "id",
            &ev.id,
            "the same id appears twice in this batch with different content: give each event its own id",
        ))
    } else {
        Err(StoreError::IdConflict {
            id: ev.id.clone(),
            position: existing.position,
        })
    }
}

fn append_rows<E: AsRef<NewEvent>>(
    conn: &Connection,
    path: &Path,
    events: &[E],
) -> Result<Vec<AppendOutcome>, StoreError> {
    let (mut last_pos, mut last_hash, stored_latest) = match read::last_event(conn, path)? {
        Some((p, h, t)) => (p, h, Some(t)),
        None => (0, GENESIS_PREV_HASH.to_string(), None),
    };
    let batch_start = last_pos;
    let mut latest_at: Option<&str> = stored_latest.as_deref();
    let mut versions: HashMap<&str, u64> = HashMap::new();
    let mut outcomes = Vec::with_capacity(events.len());
    let mut insert = conn.prepare_cached(INSERT).ctx(path)?;

    for ev in events {
        let ev = ev.as_ref();
        if let Some(latest) = latest_at {
            if ev.recorded_at.as_str() < latest {
                // A late retry of a stored event is still a duplicate.
                let Some(existing) = read::find_by_id(conn, path, &ev.id)? else {
                    return Err(StoreError::RecordedAtBackwards {
                        given: ev.recorded_at.clone(),
                        latest: latest.to_string(),
                    });
                };
                outcomes.push(duplicate_or_conflict(existing, ev, batch_start)?);
                continue;
            }
        }
        let version = match versions.get(ev.stream.as_str()) {
            Some(v) => v + 1,
            None => read::stream_version(conn, path, &ev.stream)? + 1,
        };
        let position = last_pos + 1;
        let fields = EventFields {
            position,
            stream: &ev.stream,
            version,
            id: &ev.id,
            event_type: &ev.event_type,
            schema_version: ev.schema_version,
            payload: &ev.payload,
            effective_date: ev.effective_date.as_deref(),
            recorded_at: &ev.recorded_at,
            actor: &ev.actor,
        };
        let hash = event_hash(&last_hash, &fields);
        let inserted = insert
            .execute(params![
                position,
                ev.stream,
                version,
                ev.id,
                ev.event_type,
                ev.schema_version,
                ev.payload,
                ev.effective_date,
                ev.recorded_at,
                ev.actor,
                last_hash,
                hash,
            ])
            .ctx(path)?;
        if inserted == 0 {
            // ON CONFLICT (id) DO NOTHING: the id is taken.
            let existing = read::find_by_id(conn, path, &ev.id)?.ok_or_else(|| {
                StoreError::sqlite(
                    path,
                    rusqlite::Error::QueryReturnedNoRows, // unreachable: the conflict proves the row exists
                )
            })?;
            outcomes.push(duplicate_or_conflict(existing, ev, batch_start)?);
            continue;
        }
        debug_assert_eq!(inserted, 1);
        debug_assert!(version >= 1 && position == last_pos + 1);
        versions.insert(&ev.stream, version);
        last_pos = position;
        last_hash = hash;
        latest_at = Some(&ev.recorded_at);
        outcomes.push(AppendOutcome::Appended { position, version });
    }
    Ok(outcomes)
}

macro_rules! sqlite_reads {
    () => {
        fn scan<E: From<StoreError>>(
            &self,
            filter: &ReadFilter,
            f: impl FnMut(EventRef<'_>) -> Result<(), E>,
        ) -> Result<u64, E> {
            read::scan(self.conn_ref(), self.path_ref(), filter, self.page_size, f)
        }
        fn scan_derived<E: From<StoreError>>(
            &self,
            filter: &ReadFilter,
            f: impl FnMut(EventRef<'_>, read::Derived<'_>) -> Result<(), E>,
        ) -> Result<u64, E> {
            read::scan_derived(self.conn_ref(), self.path_ref(), filter, self.page_size, f)
        }
        fn scan_on_date<E: From<StoreError>>(
            &self,
            stream: &str,
            date: Option<&str>,
            f: impl FnMut(EventRef<'_>) -> Result<(), E>,
        ) -> Result<u64, E> {
            read::scan_dated(
                self.conn_ref(),
                self.path_ref(),
                stream,
                read::Dated::On(date),
                f,
            )
        }
        fn scan_from_date<E: From<StoreError>>(
            &self,
            stream: &str,
            from: &str,
            until: Option<&str>,
            f: impl FnMut(EventRef<'_>) -> Result<(), E>,
        ) -> Result<u64, E> {
            read::scan_dated(
                self.conn_ref(),
                self.path_ref(),
                stream,
                read::Dated::From(from, until),
                f,
            )
        }
        fn events(&self, filter: &ReadFilter) -> RowIter<'_> {
            Box::new(Events::new(
                self.conn_ref(),
                self.path_ref(),
                filter,
                self.page_size,
            ))
        }
        fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
            read::stream_version(self.conn_ref(), self.path_ref(), stream)
        }
        fn find_by_id(&self, id: &str) -> Result<Option<StoredEvent>, StoreError> {
            read::find_by_id(self.conn_ref(), self.path_ref(), id)
        }
        fn head(&self) -> Result<Option<(u64, String)>, StoreError> {
            Ok(read::last_event(self.conn_ref(), self.path_ref())?.map(|(p, h, _)| (p, h)))
        }
        fn last_recorded_at(&self) -> Result<Option<String>, StoreError> {
            Ok(read::last_event(self.conn_ref(), self.path_ref())?.map(|(_, _, t)| t))
        }
        fn count(&self) -> Result<u64, StoreError> {
            read::count(self.conn_ref(), self.path_ref())
        }
        fn snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StoreError> {
            crate::snapshot::read(self.conn_ref(), self.path_ref(), stream)
        }
    };
}

impl Store {
    fn path_ref(&self) -> &Path {
        &self.path
    }
    fn conn_ref(&self) -> &Connection {
        &self.conn
    }
}

impl WriteTx<'_> {
    fn path_ref(&self) -> &Path {
        self.path
    }
    fn conn_ref(&self) -> &Connection {
        &self.tx
    }
}

impl EventRead for Store {
    sqlite_reads!();
}

impl EventRead for WriteTx<'_> {
    sqlite_reads!();
}

impl EventTx for WriteTx<'_> {
    fn append(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[NewEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        WriteTx::append(self, expected, events)
    }
    fn append_valid(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[ValidEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        WriteTx::append_valid(self, expected, events)
    }
    fn append_valid_or_abort(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[ValidEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        WriteTx::append_valid_or_abort(self, expected, events)
    }
    fn put_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        crate::snapshot::put(&self.tx, self.path, snapshot)
    }
    fn drop_snapshots(&mut self, stream: Option<&str>) -> Result<u64, StoreError> {
        crate::snapshot::delete(&self.tx, self.path, stream)
    }
}

impl EventStore for Store {
    type Tx<'t> = WriteTx<'t>;

    fn location(&self) -> String {
        self.path.display().to_string()
    }
    fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        Store::write(self, f)
    }
    fn streams(&self) -> Result<Vec<String>, StoreError> {
        Store::streams(self)
    }
    fn hash_at(&self, position: u64) -> Result<Option<String>, StoreError> {
        Store::hash_at(self, position)
    }
    fn verify(&self) -> Result<Verification, StoreError> {
        Store::verify(self)
    }
    fn reader(&self) -> Result<Store, StoreError> {
        // A reader of a store opened read-only is read-only too, the same way.
        let mut s = match self.read_only {
            Some(mode) => Store::open_read_only_as(&self.path, mode)?.0,
            None => Store::open_existing(&self.path)?,
        };
        s.page_size = self.page_size;
        Ok(s)
    }
    fn sequential_reader(&self) -> Result<Store, StoreError> {
        let mut s = self.reader()?;
        // One pass: each page is read once, so a small cache loses nothing.
        s.set_cache_size_kib(SEQUENTIAL_CACHE_KIB)?;
        Ok(s)
    }
    fn stream_reader(&self) -> Result<Store, StoreError> {
        let mut s = self.reader()?;
        s.set_cache_size_kib(STREAM_CACHE_KIB)?;
        Ok(s)
    }
}

/// Page cache of a connection that reads the log once from end to end, KiB.
const SEQUENTIAL_CACHE_KIB: u32 = 4096;

/// Page cache of a connection that reads whole streams one after another,
/// KiB: a stream of 1,000 events interleaved with other streams lies on
/// about 1,000 pages (8 MiB), which the streams recorded beside it share; a
/// cache that holds them reads each page about once, not once per stream
/// (docs/performance.md, "audit").
const STREAM_CACHE_KIB: u32 = 16 * 1024;
