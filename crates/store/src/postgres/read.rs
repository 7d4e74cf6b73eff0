//! Reading a PostgreSQL ledger: the paging iterator [`PgEvents`], the
//! borrowing [`scan`], the streaming chain check [`verify`], and the small
//! queries shared by [`super::PgStore`] and [`super::PgTx`].
//!
//! Same semantics as SQLite's `read` module: keyset pages of at most
//! `page_size` rows (by `position`, or by `version` within one stream), each
//! page its own short statement, so memory stays flat and a reader that has
//! started sees later commits on later pages; `recorded_until` stops at the
//! first later event (`recorded_at` never decreases along the log).
//!
//! Rows are read with the binary protocol; `bigint` columns are checked back
//! into `u64`/`u32` (the table's CHECK constraints keep them in range, but a
//! tampered row is reported as an error, never a panic).

use std::cell::RefCell;

use postgres::{GenericClient, Row, Statement};

use super::{pg_err, Cx};
use crate::error::StoreError;
use crate::event::StoredEvent;
use crate::hash::EventFields;
use crate::read::{EventRef, ReadFilter};
use crate::store::Verification;
use crate::verify::ChainCheck;

macro_rules! columns {
    () => {
        "position, stream, version, id, event_type, schema_version, payload, \
         effective_date, recorded_at, actor, prev_hash, hash"
    };
}
pub(crate) use columns;

pub(crate) const PAGE_ALL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3"
);

const PAGE_STREAM: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM events WHERE stream = $1 AND version > $2 AND position > $3 AND position <= $4 \
     ORDER BY version LIMIT $5"
);

const SCAN_ALL: &str = "SELECT position, stream, version, id, event_type, payload, recorded_at, \
     actor FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3";

const SCAN_STREAM: &str = "SELECT position, stream, version, id, event_type, payload, \
     recorded_at, actor FROM events WHERE stream = $1 AND version > $2 AND position > $3 \
     AND position <= $4 ORDER BY version LIMIT $5";

const BY_ID: &str = concat!("SELECT ", columns!(), " FROM events WHERE id = $1");

/// One stream's events of one effective date (schema step 3's index).
const SCAN_ON_DATE: &str = "SELECT position, stream, version, id, event_type, payload, \
     recorded_at, actor FROM events WHERE stream = $1 AND effective_date = $2 AND position > $3 \
     ORDER BY position LIMIT $4";

/// One stream's events of one effective date or later (schema step 3's index).
const SCAN_FROM_DATE: &str = "SELECT position, stream, version, id, event_type, payload, \
     recorded_at, actor FROM events WHERE stream = $1 AND effective_date >= $2 AND position > $3 \
     ORDER BY position LIMIT $4";

/// One stream's events of one effective date or later and before another.
const SCAN_DATES: &str = "SELECT position, stream, version, id, event_type, payload, \
     recorded_at, actor FROM events WHERE stream = $1 AND effective_date >= $2 \
     AND effective_date < $3 AND position > $4 ORDER BY position LIMIT $5";

/// One stream's events without an effective date.
const SCAN_ON_NO_DATE: &str = "SELECT position, stream, version, id, event_type, payload, \
     recorded_at, actor FROM events WHERE stream = $1 AND effective_date IS NULL \
     AND position > $2 ORDER BY position LIMIT $3";

const STREAM_VERSION: &str = "SELECT max(version) FROM events WHERE stream = $1";

const LAST_EVENT: &str =
    "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1";

const HASH_AT: &str = "SELECT hash FROM events WHERE position = $1";

const COUNT: &str = "SELECT count(*) FROM events";

/// A skip-scan of the `(stream, version)` index (a recursive query: one
/// index probe per stream, the next name after the last), so listing the
/// streams costs the number of streams, not of events.
const STREAMS: &str = "WITH RECURSIVE s(stream) AS ( \
       (SELECT stream FROM events ORDER BY stream LIMIT 1) \
       UNION ALL \
       SELECT (SELECT e.stream FROM events e WHERE e.stream > s.stream \
               ORDER BY e.stream LIMIT 1) \
       FROM s WHERE s.stream IS NOT NULL \
     ) SELECT stream FROM s WHERE stream IS NOT NULL";

/// A prepared statement, from the connection's cache.
pub(crate) fn stmt<C: GenericClient>(
    c: &mut C,
    cx: &Cx<'_>,
    sql: &'static str,
) -> Result<Statement, StoreError> {
    if let Some(s) = cx.stmts.borrow().get(sql) {
        return Ok(s.clone());
    }
    let s = c
        .prepare(sql)
        .map_err(|e| pg_err(cx.location, "preparing a query", e))?;
    cx.stmts.borrow_mut().insert(sql, s.clone());
    Ok(s)
}

/// A bound for a `bigint` column.
pub(crate) fn clamp(p: u64) -> i64 {
    i64::try_from(p).unwrap_or(i64::MAX)
}

fn bad_value(cx: &Cx<'_>, column: &str, value: i64) -> StoreError {
    StoreError::Postgres {
        location: cx.location.to_string(),
        doing: "reading events",
        message: format!("column {column} holds {value}, out of range: the row was altered outside shareledger; run the audit"),
        sqlstate: None,
    }
}

pub(crate) fn u64_col(r: &Row, i: usize, cx: &Cx<'_>) -> Result<u64, StoreError> {
    let v: i64 = r
        .try_get(i)
        .map_err(|e| pg_err(cx.location, "reading events", e))?;
    u64::try_from(v).map_err(|_| bad_value(cx, r.columns()[i].name(), v))
}

fn u32_col(r: &Row, i: usize, cx: &Cx<'_>) -> Result<u32, StoreError> {
    let v: i64 = r
        .try_get(i)
        .map_err(|e| pg_err(cx.location, "reading events", e))?;
    u32::try_from(v).map_err(|_| bad_value(cx, r.columns()[i].name(), v))
}

pub(crate) fn str_col<'r>(r: &'r Row, i: usize, cx: &Cx<'_>) -> Result<&'r str, StoreError> {
    r.try_get(i)
        .map_err(|e| pg_err(cx.location, "reading events", e))
}

fn opt_str_col<'r>(r: &'r Row, i: usize, cx: &Cx<'_>) -> Result<Option<&'r str>, StoreError> {
    r.try_get(i)
        .map_err(|e| pg_err(cx.location, "reading events", e))
}

/// The hashed fields and the two hashes of a full row (columns!() order).
fn row_fields<'r>(
    r: &'r Row,
    cx: &Cx<'_>,
) -> Result<(EventFields<'r>, &'r str, &'r str), StoreError> {
    Ok((
        EventFields {
            position: u64_col(r, 0, cx)?,
            stream: str_col(r, 1, cx)?,
            version: u64_col(r, 2, cx)?,
            id: str_col(r, 3, cx)?,
            event_type: str_col(r, 4, cx)?,
            schema_version: u32_col(r, 5, cx)?,
            payload: str_col(r, 6, cx)?,
            effective_date: opt_str_col(r, 7, cx)?,
            recorded_at: str_col(r, 8, cx)?,
            actor: str_col(r, 9, cx)?,
        },
        str_col(r, 10, cx)?,
        str_col(r, 11, cx)?,
    ))
}

pub(crate) fn row_to_event(r: &Row, cx: &Cx<'_>) -> Result<StoredEvent, StoreError> {
    let (f, prev_hash, hash) = row_fields(r, cx)?;
    Ok(StoredEvent {
        position: f.position,
        stream: f.stream.to_string(),
        version: f.version,
        id: f.id.to_string(),
        event_type: f.event_type.to_string(),
        schema_version: f.schema_version,
        payload: f.payload.to_string(),
        effective_date: f.effective_date.map(str::to_string),
        recorded_at: f.recorded_at.to_string(),
        actor: f.actor.to_string(),
        prev_hash: prev_hash.to_string(),
        hash: hash.to_string(),
    })
}

/// Borrow the connection behind a `RefCell`; never held across a caller's
/// callback, so a second borrow is a bug reported as an error, not a panic.
pub(crate) fn borrow<'a, C>(
    conn: &'a RefCell<C>,
    cx: &Cx<'_>,
) -> Result<std::cell::RefMut<'a, C>, StoreError> {
    conn.try_borrow_mut().map_err(|_| StoreError::Postgres {
        location: cx.location.to_string(),
        doing: "reading events",
        message: "the connection is already in use by this thread".into(),
        sqlstate: None,
    })
}

/// Streaming iterator over stored events in position order (see the module
/// docs). Yields `Err` at most once, then ends.
pub(crate) struct PgEvents<'c, C: GenericClient> {
    conn: &'c RefCell<C>,
    cx: Cx<'c>,
    filter: ReadFilter,
    after_position: u64,
    after_version: u64,
    buf: std::vec::IntoIter<StoredEvent>,
    exhausted: bool,
    done: bool,
}

impl<C: GenericClient> std::fmt::Debug for PgEvents<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgEvents")
            .field("location", &self.cx.location)
            .field("filter", &self.filter)
            .field("after_position", &self.after_position)
            .finish_non_exhaustive()
    }
}

impl<'c, C: GenericClient> PgEvents<'c, C> {
    pub(crate) fn new(conn: &'c RefCell<C>, cx: Cx<'c>, filter: &ReadFilter) -> PgEvents<'c, C> {
        PgEvents {
            conn,
            cx,
            filter: filter.clone(),
            after_position: filter.from_position,
            after_version: filter.from_version,
            buf: Vec::new().into_iter(),
            exhausted: filter
                .to_position
                .is_some_and(|to| to <= filter.from_position),
            done: false,
        }
    }

    fn fetch_page(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        let cx = &self.cx;
        let to = clamp(self.filter.to_position.unwrap_or(u64::MAX));
        let from = clamp(self.after_position);
        let limit = clamp(cx.page_size as u64);
        let mut c = borrow(self.conn, cx)?;
        let rows = match &self.filter.stream {
            None => {
                let st = stmt(&mut *c, cx, PAGE_ALL)?;
                c.query(&st, &[&from, &to, &limit])
            }
            Some(stream) => {
                let st = stmt(&mut *c, cx, PAGE_STREAM)?;
                c.query(
                    &st,
                    &[stream, &clamp(self.after_version), &from, &to, &limit],
                )
            }
        }
        .map_err(|e| pg_err(cx.location, "reading events", e))?;
        drop(c);
        let page = rows
            .iter()
            .map(|r| row_to_event(r, cx))
            .collect::<Result<Vec<_>, _>>()?;
        if page.len() < cx.page_size {
            self.exhausted = true;
        }
        if let Some(last) = page.last() {
            self.after_version = last.version;
            if self.filter.stream.is_none() {
                self.after_position = last.position;
            }
        }
        Ok(page)
    }
}

impl<C: GenericClient> Iterator for PgEvents<'_, C> {
    type Item = Result<StoredEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            if let Some(ev) = self.buf.next() {
                if let Some(until) = &self.filter.recorded_until {
                    if ev.recorded_at.as_str() > until.as_str() {
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
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<C: GenericClient> std::iter::FusedIterator for PgEvents<'_, C> {}

/// Call `f` on every event matching `filter`, in position order, borrowing
/// each row of the current page in place. The connection is not borrowed
/// while `f` runs.
pub(crate) fn scan<C: GenericClient, E: From<StoreError>>(
    conn: &RefCell<C>,
    cx: &Cx<'_>,
    filter: &ReadFilter,
    mut f: impl FnMut(EventRef<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    if filter
        .to_position
        .is_some_and(|to| to <= filter.from_position)
    {
        return Ok(0);
    }
    let to = clamp(filter.to_position.unwrap_or(u64::MAX));
    let limit = clamp(cx.page_size as u64);
    let mut after_position = filter.from_position;
    let mut after_version = filter.from_version;
    let mut n = 0u64;
    loop {
        let rows = {
            let mut c = borrow(conn, cx)?;
            match &filter.stream {
                None => {
                    let st = stmt(&mut *c, cx, SCAN_ALL)?;
                    c.query(&st, &[&clamp(after_position), &to, &limit])
                }
                Some(stream) => {
                    let st = stmt(&mut *c, cx, SCAN_STREAM)?;
                    c.query(
                        &st,
                        &[
                            stream,
                            &clamp(after_version),
                            &clamp(filter.from_position),
                            &to,
                            &limit,
                        ],
                    )
                }
            }
            .map_err(|e| pg_err(cx.location, "reading events", e))?
        };
        for r in &rows {
            let ev = EventRef {
                position: u64_col(r, 0, cx)?,
                stream: str_col(r, 1, cx)?,
                version: u64_col(r, 2, cx)?,
                id: str_col(r, 3, cx)?,
                event_type: str_col(r, 4, cx)?,
                payload: str_col(r, 5, cx)?,
                recorded_at: str_col(r, 6, cx)?,
                actor: str_col(r, 7, cx)?,
            };
            if let Some(until) = &filter.recorded_until {
                if ev.recorded_at > until.as_str() {
                    return Ok(n);
                }
            }
            after_version = ev.version;
            if filter.stream.is_none() {
                after_position = ev.position;
            }
            f(ev)?;
            n += 1;
        }
        if rows.len() < cx.page_size {
            return Ok(n);
        }
    }
}

/// Call `f` on every event of `stream` whose `effective_date` is as
/// `dated` says, in position order, page by page.
pub(crate) fn scan_dated<C: GenericClient, E: From<StoreError>>(
    conn: &RefCell<C>,
    cx: &Cx<'_>,
    stream: &str,
    dated: crate::read::Dated<'_>,
    mut f: impl FnMut(EventRef<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    use crate::read::Dated;
    let limit = clamp(cx.page_size as u64);
    let mut after = 0u64;
    let mut n = 0u64;
    loop {
        let rows = {
            let mut c = borrow(conn, cx)?;
            match dated {
                Dated::On(Some(d)) => {
                    let st = stmt(&mut *c, cx, SCAN_ON_DATE)?;
                    c.query(&st, &[&stream, &d, &clamp(after), &limit])
                }
                Dated::From(d, None) => {
                    let st = stmt(&mut *c, cx, SCAN_FROM_DATE)?;
                    c.query(&st, &[&stream, &d, &clamp(after), &limit])
                }
                Dated::From(d, Some(u)) => {
                    let st = stmt(&mut *c, cx, SCAN_DATES)?;
                    c.query(&st, &[&stream, &d, &u, &clamp(after), &limit])
                }
                Dated::On(None) => {
                    let st = stmt(&mut *c, cx, SCAN_ON_NO_DATE)?;
                    c.query(&st, &[&stream, &clamp(after), &limit])
                }
            }
            .map_err(|e| pg_err(cx.location, "reading events", e))?
        };
        for r in &rows {
            let ev = EventRef {
                position: u64_col(r, 0, cx)?,
                stream: str_col(r, 1, cx)?,
                version: u64_col(r, 2, cx)?,
                id: str_col(r, 3, cx)?,
                event_type: str_col(r, 4, cx)?,
                payload: str_col(r, 5, cx)?,
                recorded_at: str_col(r, 6, cx)?,
                actor: str_col(r, 7, cx)?,
            };
            after = ev.position;
            f(ev)?;
            n += 1;
        }
        if rows.len() < cx.page_size {
            return Ok(n);
        }
    }
}

/// The chain check of [`crate::EventStore::verify`], page by page.
pub(crate) fn verify<C: GenericClient>(
    conn: &RefCell<C>,
    cx: &Cx<'_>,
) -> Result<Verification, StoreError> {
    let mut check = ChainCheck::new();
    let mut last_position = 0u64;
    let limit = clamp(cx.page_size as u64);
    loop {
        let rows = {
            let mut c = borrow(conn, cx)?;
            let st = stmt(&mut *c, cx, PAGE_ALL)?;
            c.query(&st, &[&clamp(last_position), &i64::MAX, &limit])
                .map_err(|e| pg_err(cx.location, "verifying the chain", e))?
        };
        for r in &rows {
            let (ev, prev_hash, hash) = row_fields(r, cx)?;
            if let Some((at, reason)) = check.push(&ev, prev_hash, hash) {
                return Ok(check.broken(at, reason));
            }
            last_position = ev.position;
        }
        if rows.len() < cx.page_size {
            return Ok(check.finish());
        }
    }
}

pub(crate) fn stream_version<C: GenericClient>(
    c: &mut C,
    cx: &Cx<'_>,
    stream: &str,
) -> Result<u64, StoreError> {
    let st = stmt(c, cx, STREAM_VERSION)?;
    let row = c
        .query_one(&st, &[&stream])
        .map_err(|e| pg_err(cx.location, "reading a stream version", e))?;
    let v: Option<i64> = row
        .try_get(0)
        .map_err(|e| pg_err(cx.location, "reading a stream version", e))?;
    match v {
        None => Ok(0),
        Some(v) => u64::try_from(v).map_err(|_| bad_value(cx, "version", v)),
    }
}

pub(crate) fn find_by_id<C: GenericClient>(
    c: &mut C,
    cx: &Cx<'_>,
    id: &str,
) -> Result<Option<StoredEvent>, StoreError> {
    let st = stmt(c, cx, BY_ID)?;
    let row = c
        .query_opt(&st, &[&id])
        .map_err(|e| pg_err(cx.location, "finding an event by id", e))?;
    row.map(|r| row_to_event(&r, cx)).transpose()
}

/// `(position, hash, recorded_at)` of the last event.
pub(crate) fn last_event<C: GenericClient>(
    c: &mut C,
    cx: &Cx<'_>,
) -> Result<Option<(u64, String, String)>, StoreError> {
    let st = stmt(c, cx, LAST_EVENT)?;
    let row = c
        .query_opt(&st, &[])
        .map_err(|e| pg_err(cx.location, "reading the last event", e))?;
    row.map(|r| {
        Ok((
            u64_col(&r, 0, cx)?,
            str_col(&r, 1, cx)?.to_string(),
            str_col(&r, 2, cx)?.to_string(),
        ))
    })
    .transpose()
}

pub(crate) fn hash_at<C: GenericClient>(
    c: &mut C,
    cx: &Cx<'_>,
    position: u64,
) -> Result<Option<String>, StoreError> {
    let st = stmt(c, cx, HASH_AT)?;
    let row = c
        .query_opt(&st, &[&clamp(position)])
        .map_err(|e| pg_err(cx.location, "reading a hash", e))?;
    row.map(|r| str_col(&r, 0, cx).map(str::to_string))
        .transpose()
}

pub(crate) fn count<C: GenericClient>(c: &mut C, cx: &Cx<'_>) -> Result<u64, StoreError> {
    let st = stmt(c, cx, COUNT)?;
    let row = c
        .query_one(&st, &[])
        .map_err(|e| pg_err(cx.location, "counting events", e))?;
    u64_col(&row, 0, cx)
}

pub(crate) fn streams<C: GenericClient>(c: &mut C, cx: &Cx<'_>) -> Result<Vec<String>, StoreError> {
    let st = stmt(c, cx, STREAMS)?;
    let rows = c
        .query(&st, &[])
        .map_err(|e| pg_err(cx.location, "listing streams", e))?;
    rows.iter()
        .map(|r| str_col(r, 0, cx).map(str::to_string))
        .collect()
}

/// The snapshot of `stream` ([`crate::Snapshot`]).
pub(crate) fn snapshot<C: GenericClient>(
    c: &mut C,
    cx: &Cx<'_>,
    stream: &str,
) -> Result<Option<crate::Snapshot>, StoreError> {
    let st = stmt(
        c,
        cx,
        "SELECT version, position, format, data FROM snapshots WHERE stream = $1",
    )?;
    let err = |e| pg_err(cx.location, "reading a snapshot", e);
    let Some(row) = c.query_opt(&st, &[&stream]).map_err(err)? else {
        return Ok(None);
    };
    let version: i64 = row.try_get(0).map_err(err)?;
    let position: i64 = row.try_get(1).map_err(err)?;
    let format: i64 = row.try_get(2).map_err(err)?;
    let data: Vec<u8> = row.try_get(3).map_err(err)?;
    Ok(Some(crate::Snapshot {
        stream: stream.to_string(),
        version: u64::try_from(version).map_err(|_| bad_value(cx, "version", version))?,
        position: u64::try_from(position).map_err(|_| bad_value(cx, "position", position))?,
        format: u32::try_from(format).map_err(|_| bad_value(cx, "format", format))?,
        data,
    }))
}

/// Keep `snapshot` for its stream, replacing any earlier one.
pub(crate) fn put_snapshot<C: GenericClient>(
    c: &mut C,
    cx: &Cx<'_>,
    snapshot: &crate::Snapshot,
) -> Result<(), StoreError> {
    let st = stmt(
        c,
        cx,
        "INSERT INTO snapshots (stream, version, position, format, data) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version, position = EXCLUDED.position, \
         format = EXCLUDED.format, data = EXCLUDED.data",
    )?;
    c.execute(
        &st,
        &[
            &snapshot.stream,
            &clamp(snapshot.version),
            &clamp(snapshot.position),
            &i64::from(snapshot.format),
            &snapshot.data,
        ],
    )
    .map_err(|e| pg_err(cx.location, "writing a snapshot", e))?;
    Ok(())
}

/// Drop the snapshot of `stream`, or every snapshot; how many.
pub(crate) fn drop_snapshots<C: GenericClient>(
    c: &mut C,
    cx: &Cx<'_>,
    stream: Option<&str>,
) -> Result<u64, StoreError> {
    let err = |e| pg_err(cx.location, "dropping snapshots", e);
    match stream {
        Some(s) => {
            let st = stmt(c, cx, "DELETE FROM snapshots WHERE stream = $1")?;
            c.execute(&st, &[&s]).map_err(err)
        }
        None => c.execute("DELETE FROM snapshots", &[]).map_err(err),
    }
}
