//! Reading: [`ReadFilter`], the paging iterator [`Events`], and the small
//! queries shared by [`crate::Store`] and [`crate::WriteTx`].
//!
//! [`Events`] never loads the whole log: it runs one bounded query per page
//! (`LIMIT page_size`, [`DEFAULT_PAGE_SIZE`] rows by default) and resumes
//! after the last row it saw, so memory stays flat however long the log is.
//! Each page is its own short read, so an iterator may see events committed
//! after it started; since the log is append-only, that only ever extends
//! what it yields and never changes rows already seen.
//!
//! Global reads page by `position` (the primary key). Reads of one stream page
//! by `version` through the `UNIQUE(stream, version)` index; within a stream
//! version order is position order (versions are assigned in append order and
//! [`crate::Store::verify`] checks it). `recorded_until` is applied in Rust:
//! `recorded_at` never decreases along the log, so the iterator stops at the
//! first later event instead of scanning the rest of the table.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{SqlCtx, StoreError};
use crate::event::StoredEvent;

/// Rows fetched per query by [`Events`] unless changed with
/// [`crate::Store::set_read_page_size`].
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// Which events to read. The default reads everything.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReadFilter {
    /// Only this stream.
    pub stream: Option<String>,
    /// Exclusive lower bound on position; 0 = from the start.
    pub from_position: u64,
    /// With `stream`: exclusive lower bound on the stream's version (0 =
    /// from its first event), where the stream's index starts reading (the
    /// rows a batch appended to a long stream, without walking the rest);
    /// without `stream`, ignored.
    pub from_version: u64,
    /// Inclusive upper bound on position.
    pub to_position: Option<u64>,
    /// Inclusive upper bound on `recorded_at` (same fixed format).
    pub recorded_until: Option<String>,
}

impl ReadFilter {
    /// Everything in one stream.
    pub fn stream(stream: impl Into<String>) -> ReadFilter {
        ReadFilter {
            stream: Some(stream.into()),
            ..ReadFilter::default()
        }
    }
}

macro_rules! columns {
    () => {
        "position, stream, version, id, event_type, schema_version, payload, \
         effective_date, recorded_at, actor, prev_hash, hash"
    };
}

pub(crate) const PAGE_ALL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM events WHERE position > ?1 AND position <= ?2 ORDER BY position LIMIT ?3"
);

// The paging queries below end in `LIMIT n` with the page size written into
// the text ([`paged`]), not bound: SQLite marks a statement whose LIMIT is a
// bound parameter to be prepared again whenever that parameter is bound, so
// every page would re-parse and re-plan its query (measured: 7% of an audit,
// docs/performance.md). The text, and so the cached statement, changes only
// with the page size.

const PAGE_ALL_BY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM events WHERE position > ?1 AND position <= ?2 ORDER BY position"
);

const PAGE_STREAM_BY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM events WHERE stream = ?1 AND version > ?2 AND position > ?3 AND position <= ?4 \
     ORDER BY version"
);

/// What [`scan`] reads: everything a replay needs, not the hashes.
const SCAN_ALL_BY: &str =
    "SELECT position, stream, version, id, event_type, payload, recorded_at, \
     actor FROM events WHERE position > ?1 AND position <= ?2 ORDER BY position";

const SCAN_STREAM_BY: &str = "SELECT position, stream, version, id, event_type, payload, \
     recorded_at, actor FROM events WHERE stream = ?1 AND version > ?2 AND position > ?3 \
     AND position <= ?4 ORDER BY version";

/// What [`scan_derived`] reads: [`scan`]'s columns, then those derived from
/// the payload when it was stored.
const SCAN_ALL_DERIVED_BY: &str = "SELECT position, stream, version, id, event_type, payload, \
     recorded_at, actor, effective_date, schema_version FROM events \
     WHERE position > ?1 AND position <= ?2 ORDER BY position";

const SCAN_STREAM_DERIVED_BY: &str = "SELECT position, stream, version, id, event_type, payload, \
     recorded_at, actor, effective_date, schema_version FROM events \
     WHERE stream = ?1 AND version > ?2 AND position > ?3 AND position <= ?4 ORDER BY version";

/// `query` (ending in its ORDER BY) limited to `page_size` rows, the limit
/// written as a literal (see above).
fn paged(query: &str, page_size: usize) -> String {
    format!("{query} LIMIT {page_size}")
}

const BY_ID: &str = concat!("SELECT ", columns!(), " FROM events WHERE id = ?1");

pub(crate) fn row_to_event(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        position: r.get(0)?,
        stream: r.get(1)?,
        version: r.get(2)?,
        id: r.get(3)?,
        event_type: r.get(4)?,
        schema_version: r.get(5)?,
        payload: r.get(6)?,
        effective_date: r.get(7)?,
        recorded_at: r.get(8)?,
        actor: r.get(9)?,
        prev_hash: r.get(10)?,
        hash: r.get(11)?,
    })
}

/// Positions are `u64` in Rust and `INTEGER` (i64) in SQLite; clamp bounds.
pub(crate) fn clamp(p: u64) -> i64 {
    i64::try_from(p).unwrap_or(i64::MAX)
}

/// Streaming iterator over stored events in position order; see the module
/// docs. Yields `Err` at most once, then ends.
#[derive(Debug)]
pub struct Events<'c> {
    conn: &'c Connection,
    path: &'c Path,
    filter: ReadFilter,
    page_size: usize,
    /// Last position yielded or skipped (starts at `from_position`).
    after_position: u64,
    /// Last stream version fetched (stream reads only).
    after_version: u64,
    buf: std::vec::IntoIter<StoredEvent>,
    /// No more pages to fetch (the last page was short).
    exhausted: bool,
    /// Iteration over: error yielded, or `recorded_until` passed.
    done: bool,
}

impl<'c> Events<'c> {
    pub(crate) fn new(
        conn: &'c Connection,
        path: &'c Path,
        filter: &ReadFilter,
        page_size: usize,
    ) -> Events<'c> {
        assert!(page_size > 0, "page size must be positive");
        Events {
            conn,
            path,
            filter: filter.clone(),
            page_size,
            after_position: filter.from_position,
            after_version: filter.from_version,
            buf: Vec::new().into_iter(),
            exhausted: filter
                .to_position
                .is_some_and(|to| to <= filter.from_position),
            done: false,
        }
    }

    fn fetch_page(&mut self) -> rusqlite::Result<Vec<StoredEvent>> {
        let to = clamp(self.filter.to_position.unwrap_or(u64::MAX));
        let from = clamp(self.after_position);
        let page: Vec<StoredEvent> = match &self.filter.stream {
            None => {
                let mut st = self
                    .conn
                    .prepare_cached(&paged(PAGE_ALL_BY, self.page_size))?;
                let rows = st.query_map(params![from, to], row_to_event)?;
                rows.collect::<rusqlite::Result<_>>()?
            }
            Some(stream) => {
                let mut st = self
                    .conn
                    .prepare_cached(&paged(PAGE_STREAM_BY, self.page_size))?;
                let rows = st.query_map(
                    params![stream, clamp(self.after_version), from, to],
                    row_to_event,
                )?;
                rows.collect::<rusqlite::Result<_>>()?
            }
        };
        debug_assert!(page.len() <= self.page_size);
        // Guaranteed by `ORDER BY position` (global reads) and the primary key.
        debug_assert!(
            self.filter.stream.is_some() || page.windows(2).all(|w| w[0].position < w[1].position)
        );
        if page.len() < self.page_size {
            self.exhausted = true;
        }
        if let Some(last) = page.last() {
            self.after_version = last.version;
            // In stream reads `position > from` is a filter, not the cursor:
            // keep `from_position` and advance by version instead.
            if self.filter.stream.is_none() {
                self.after_position = last.position;
            }
        }
        Ok(page)
    }
}

impl Iterator for Events<'_> {
    type Item = Result<StoredEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            if let Some(ev) = self.buf.next() {
                if let Some(until) = &self.filter.recorded_until {
                    if ev.recorded_at.as_str() > until.as_str() {
                        // recorded_at is non-decreasing: nothing later can match.
                        self.done = true;
                        return None;
                    }
                }
                return Some(Ok(ev));
            }
            if self.exhausted {
                self.done = true;
                return None;
            }
            match self.fetch_page() {
                Ok(page) => self.buf = page.into_iter(),
                Err(e) => {
                    self.done = true;
                    return Some(Err(StoreError::sqlite(self.path, e)));
                }
            }
        }
    }
}

impl std::iter::FusedIterator for Events<'_> {}

/// One stored event borrowed from the row under the cursor: the columns a
/// replay needs, without copying them and without the hashes. Valid only
/// inside the callback of [`crate::Store::scan`] / [`crate::WriteTx::scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// Gapless global position from 1.
    pub position: u64,
    /// Stream name.
    pub stream: &'a str,
    /// Per-stream version.
    pub version: u64,
    /// Event id.
    pub id: &'a str,
    /// Event type.
    pub event_type: &'a str,
    /// Canonical JSON text.
    pub payload: &'a str,
    /// Fixed-width UTC timestamp.
    pub recorded_at: &'a str,
    /// Who recorded it.
    pub actor: &'a str,
}

impl<'a> EventRef<'a> {
    /// Borrow the replay columns of a [`StoredEvent`].
    pub fn of(ev: &'a StoredEvent) -> EventRef<'a> {
        EventRef {
            position: ev.position,
            stream: &ev.stream,
            version: ev.version,
            id: &ev.id,
            event_type: &ev.event_type,
            payload: &ev.payload,
            recorded_at: &ev.recorded_at,
            actor: &ev.actor,
        }
    }
}

/// The columns of a stored row derived from its payload when it was
/// appended, beside the row read in place ([`crate::EventRead::scan_derived`]):
/// what an audit checks against the payload itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Derived<'a> {
    /// The stored `effective_date` column.
    pub effective_date: Option<&'a str>,
    /// The stored `schema_version` column.
    pub schema_version: u32,
}

pub(crate) fn text<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    })
}

/// Call `f` on every event matching `filter`, in position order, borrowing
/// each row in place (see [`EventRef`]). Same paging as [`Events`] (one
/// bounded query per page, resuming after the last row), so memory stays
/// flat; but nothing is copied, and the hashes are not read. Stops at the
/// first error of `f`. Returns the number of events passed to `f`.
pub(crate) fn scan<E: From<StoreError>>(
    conn: &Connection,
    path: &Path,
    filter: &ReadFilter,
    page_size: usize,
    mut f: impl FnMut(EventRef<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    scan_rows(conn, path, filter, page_size, false, |row, _| f(row))
}

/// [`scan`], with the columns derived from each payload ([`Derived`]).
pub(crate) fn scan_derived<E: From<StoreError>>(
    conn: &Connection,
    path: &Path,
    filter: &ReadFilter,
    page_size: usize,
    f: impl FnMut(EventRef<'_>, Derived<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    scan_rows(conn, path, filter, page_size, true, f)
}

/// The walk of [`scan`] and [`scan_derived`] (without `derived`, the
/// derived columns are not read and `f` gets `None` and 0).
fn scan_rows<E: From<StoreError>>(
    conn: &Connection,
    path: &Path,
    filter: &ReadFilter,
    page_size: usize,
    derived: bool,
    mut f: impl FnMut(EventRef<'_>, Derived<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    assert!(page_size > 0, "page size must be positive");
    let to = clamp(filter.to_position.unwrap_or(u64::MAX));
    let query = paged(
        match (filter.stream.is_some(), derived) {
            (true, false) => SCAN_STREAM_BY,
            (false, false) => SCAN_ALL_BY,
            (true, true) => SCAN_STREAM_DERIVED_BY,
            (false, true) => SCAN_ALL_DERIVED_BY,
        },
        page_size,
    );
    let mut after_position = filter.from_position;
    let mut after_version = filter.from_version;
    let mut n = 0u64;
    if filter
        .to_position
        .is_some_and(|to| to <= filter.from_position)
    {
        return Ok(0);
    }
    let sql = |e| E::from(StoreError::sqlite(path, e));
    loop {
        let mut st = conn.prepare_cached(&query).map_err(sql)?;
        let mut rows = match &filter.stream {
            None => st.query(params![clamp(after_position), to]),
            Some(stream) => st.query(params![
                stream,
                clamp(after_version),
                clamp(filter.from_position),
                to
            ]),
        }
        .map_err(sql)?;
        let mut got = 0usize;
        while let Some(r) = rows.next().map_err(sql)? {
            got += 1;
            let (ev, more) = (|| {
                let ev = EventRef {
                    position: r.get(0)?,
                    stream: text(r, 1)?,
                    version: r.get(2)?,
                    id: text(r, 3)?,
                    event_type: text(r, 4)?,
                    payload: text(r, 5)?,
                    recorded_at: text(r, 6)?,
                    actor: text(r, 7)?,
                };
                let more = match derived {
                    true => Derived {
                        effective_date: match r.get_ref(8)? {
                            rusqlite::types::ValueRef::Null => None,
                            _ => Some(text(r, 8)?),
                        },
                        schema_version: r.get(9)?,
                    },
                    false => Derived {
                        effective_date: None,
                        schema_version: 0,
                    },
                };
                Ok::<_, rusqlite::Error>((ev, more))
            })()
            .map_err(sql)?;
            if let Some(until) = &filter.recorded_until {
                if ev.recorded_at > until.as_str() {
                    // recorded_at is non-decreasing: nothing later can match.
                    return Ok(n);
                }
            }
            after_version = ev.version;
            if filter.stream.is_none() {
                after_position = ev.position;
            }
            f(ev, more)?;
            n += 1;
        }
        if got < page_size {
            return Ok(n);
        }
    }
}

/// Which of a stream's events by their `effective_date` (the index of
/// schema step 3 serves each).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dated<'a> {
    /// This date (`None`: NULL).
    On(Option<&'a str>),
    /// This date or later, and before the second (when given).
    From(&'a str, Option<&'a str>),
}

/// Call `f` on every event of `stream` whose `effective_date` is as
/// `dated` says, in position order, through the index of schema step 3.
pub(crate) fn scan_dated<E: From<StoreError>>(
    conn: &Connection,
    path: &Path,
    stream: &str,
    dated: Dated<'_>,
    mut f: impl FnMut(EventRef<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    const COLUMNS: &str = "SELECT position, stream, version, id, event_type, payload, \
         recorded_at, actor FROM events WHERE stream = ?1 AND ";
    let sql = |e| E::from(StoreError::sqlite(path, e));
    let mut st = match dated {
        Dated::On(Some(_)) => {
            conn.prepare_cached(&format!("{COLUMNS}effective_date = ?2 ORDER BY position"))
        }
        Dated::On(None) => conn.prepare_cached(&format!(
            "{COLUMNS}effective_date IS NULL ORDER BY position"
        )),
        Dated::From(_, None) => {
            conn.prepare_cached(&format!("{COLUMNS}effective_date >= ?2 ORDER BY position"))
        }
        Dated::From(_, Some(_)) => conn.prepare_cached(&format!(
            "{COLUMNS}effective_date >= ?2 AND effective_date < ?3 ORDER BY position"
        )),
    }
    .map_err(sql)?;
    let mut rows = match dated {
        Dated::On(Some(d)) | Dated::From(d, None) => st.query(params![stream, d]),
        Dated::From(d, Some(u)) => st.query(params![stream, d, u]),
        Dated::On(None) => st.query(params![stream]),
    }
    .map_err(sql)?;
    let mut n = 0;
    while let Some(r) = rows.next().map_err(sql)? {
        let ev = (|| {
            Ok::<_, rusqlite::Error>(EventRef {
                position: r.get(0)?,
                stream: text(r, 1)?,
                version: r.get(2)?,
                id: text(r, 3)?,
                event_type: text(r, 4)?,
                payload: text(r, 5)?,
                recorded_at: text(r, 6)?,
                actor: text(r, 7)?,
            })
        })()
        .map_err(sql)?;
        f(ev)?;
        n += 1;
    }
    Ok(n)
}

/// Current version of `stream`, 0 when absent.
pub(crate) fn stream_version(
    conn: &Connection,
    path: &Path,
    stream: &str,
) -> Result<u64, StoreError> {
    let mut st = conn
        .prepare_cached("SELECT max(version) FROM events WHERE stream = ?1")
        .ctx(path)?;
    let v: Option<u64> = st.query_row([stream], |r| r.get(0)).ctx(path)?;
    Ok(v.unwrap_or(0))
}

/// The stored event with this id.
pub(crate) fn find_by_id(
    conn: &Connection,
    path: &Path,
    id: &str,
) -> Result<Option<StoredEvent>, StoreError> {
    let mut st = conn.prepare_cached(BY_ID).ctx(path)?;
    st.query_row([id], row_to_event).optional().ctx(path)
}

/// `(position, hash, recorded_at)` of the last event.
pub(crate) fn last_event(
    conn: &Connection,
    path: &Path,
) -> Result<Option<(u64, String, String)>, StoreError> {
    let mut st = conn
        .prepare_cached(
            "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1",
        )
        .ctx(path)?;
    st.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .ctx(path)
}

/// Hash of the event at `position`.
pub(crate) fn hash_at(
    conn: &Connection,
    path: &Path,
    position: u64,
) -> Result<Option<String>, StoreError> {
    let mut st = conn
        .prepare_cached("SELECT hash FROM events WHERE position = ?1")
        .ctx(path)?;
    st.query_row([clamp(position)], |r| r.get(0))
        .optional()
        .ctx(path)
}

/// Number of stored events.
pub(crate) fn count(conn: &Connection, path: &Path) -> Result<u64, StoreError> {
    let mut st = conn
        .prepare_cached("SELECT count(*) FROM events")
        .ctx(path)?;
    st.query_row([], |r| r.get(0)).ctx(path)
}

/// Distinct stream names, sorted bytewise.
///
/// A skip-scan of the `UNIQUE(stream, version)` index: one seek per stream
/// (the next name after the last one found), so the cost grows with the
/// number of streams, not with the number of events (`SELECT DISTINCT`
/// walks every event's index entry). Stream names are never empty, so `''`
/// sorts before the first.
pub(crate) fn streams(conn: &Connection, path: &Path) -> Result<Vec<String>, StoreError> {
    let mut st = conn
        .prepare_cached("SELECT min(stream) FROM events WHERE stream > ?1")
        .ctx(path)?;
    let mut out: Vec<String> = Vec::new();
    loop {
        let after = out.last().map_or("", String::as_str);
        let next: Option<String> = st.query_row([after], |r| r.get(0)).ctx(path)?;
        match next {
            Some(s) => out.push(s),
            None => return Ok(out),
        }
    }
}
