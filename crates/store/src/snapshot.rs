//! Snapshots: derived state kept beside the log, outside the hash chain.
//!
//! A [`Snapshot`] is opaque bytes a caller keeps for one stream, with the
//! stream version and the log position it reflects and the caller's format
//! number. The store never reads the bytes, never hashes them, never
//! verifies or copies them (`verify`, `copy_log`), and may lose them: a
//! caller must treat a snapshot as a cache that it checks (version,
//! position, format) and can always rebuild from the log. Unlike the events
//! table, the snapshots table is updated and deleted in place.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{SqlCtx, StoreError};

/// One stream's derived state, as a caller stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream it belongs to.
    pub stream: String,
    /// The stream version it reflects (its last event's version).
    pub version: u64,
    /// The log position of that event.
    pub position: u64,
    /// The caller's encoding version of `data`.
    pub format: u32,
    /// The state, opaque to the store.
    pub data: Vec<u8>,
}

/// The snapshot of `stream` (SQLite). A ledger opened read-only before its
/// schema had the snapshots table has none.
pub(crate) fn read(
    conn: &Connection,
    path: &Path,
    stream: &str,
) -> Result<Option<Snapshot>, StoreError> {
    let st = conn
        .prepare_cached("SELECT version, position, format, data FROM snapshots WHERE stream = ?1");
    let mut st = match st {
        Ok(st) => st,
        Err(e) if e.to_string().contains("no such table") => return Ok(None),
        Err(e) => return Err(StoreError::sqlite(path, e)),
    };
    st.query_row([stream], |r| {
        Ok(Snapshot {
            stream: stream.to_string(),
            version: r.get(0)?,
            position: r.get(1)?,
            format: r.get(2)?,
            data: r.get(3)?,
        })
    })
    .optional()
    .ctx(path)
}

/// Store (or replace) `snapshot` (SQLite, inside the write transaction).
pub(crate) fn put(conn: &Connection, path: &Path, snapshot: &Snapshot) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO snapshots (stream, version, position, format, data) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (stream) DO UPDATE SET version = excluded.version, position = excluded.position, \
         format = excluded.format, data = excluded.data",
    )
    .ctx(path)?
    .execute(params![
        snapshot.stream,
        snapshot.version,
        snapshot.position,
        snapshot.format,
        snapshot.data
    ])
    .ctx(path)?;
    Ok(())
}

/// Drop the snapshot of `stream`, or every snapshot (SQLite); how many.
pub(crate) fn delete(
    conn: &Connection,
    path: &Path,
    stream: Option<&str>,
) -> Result<u64, StoreError> {
    let n = match stream {
        Some(s) => conn
            .prepare_cached("DELETE FROM snapshots WHERE stream = ?1")
            .ctx(path)?
            .execute([s])
            .ctx(path)?,
        None => conn.execute("DELETE FROM snapshots", []).ctx(path)?,
    };
    Ok(n as u64)
}
