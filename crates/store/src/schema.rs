//! Opening a ledger file safely, and the schema migrations.
//!
//! Opening is careful never to alter a file it then refuses:
//!
//! 1. A missing file is created by us with mode `0600` (unix) *before* SQLite
//!    sees it, so the ledger and its `-wal`/`-shm` companions (which SQLite
//!    creates with the database file's mode) are private from the first byte.
//! 2. The first 100 bytes (the SQLite header) are read with plain file I/O: a
//!    non-empty file without the `SQLite format 3` magic, a foreign
//!    `application_id`, or our id with a newer `user_version` is refused here,
//!    before SQLite ever opens it.
//! 3. SQLite then opens the file read-write *without* `SQLITE_OPEN_CREATE` and
//!    with checkpoint-on-close disabled, and re-reads `application_id`,
//!    `user_version` and whether any schema object exists (the header can be
//!    stale while another process holds un-checkpointed WAL frames). Only
//!    after these reads pass does anything get written: `journal_mode=WAL`,
//!    then the migrations.
//!
//! Migrations are a list of SQL steps: step `i` takes `PRAGMA user_version`
//! from `i` to `i + 1`. They run in one `BEGIN IMMEDIATE` transaction that also
//! re-checks the version (two processes may race to initialise a new file) and
//! sets `PRAGMA application_id`. A file with our `application_id` and
//! `user_version` 0 (stamped but never migrated) is migrated like a new one.
//! A file whose `user_version` is beyond the list is refused untouched.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::path::Path;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{SqlCtx, StoreError};

/// `PRAGMA application_id` of every shareledger ledger: ASCII `"SHLG"`.
pub const APPLICATION_ID: i32 = 0x5348_4C47;

/// Schema step 1: the events table, its append-only triggers, and `meta`.
const V1: &str = r#"
CREATE TABLE events (
    position       INTEGER PRIMARY KEY CHECK (position >= 1),
    stream         TEXT    NOT NULL CHECK (length(stream) > 0),
    version        INTEGER NOT NULL CHECK (version >= 1),
    id             TEXT    NOT NULL UNIQUE CHECK (length(id) > 0),
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL CHECK (schema_version >= 0),
    payload        TEXT    NOT NULL,
    effective_date TEXT,
    recorded_at    TEXT    NOT NULL CHECK (length(recorded_at) = 27),
    actor          TEXT    NOT NULL,
    prev_hash      TEXT    NOT NULL CHECK (length(prev_hash) = 64),
    hash           TEXT    NOT NULL CHECK (length(hash) = 64),
    UNIQUE (stream, version)
) STRICT;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'shareledger events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'shareledger events are append-only');
END;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

INSERT INTO meta (key, value) VALUES ('hash_scheme', 'sha256-length-prefixed-v1');
"#;

/// Schema step 2: the snapshots table (derived state per stream, outside the
/// hash chain, updated in place: `crate::snapshot`).
const V2: &str = r#"
CREATE TABLE snapshots (
    stream   TEXT    PRIMARY KEY,
    version  INTEGER NOT NULL CHECK (version >= 1),
    position INTEGER NOT NULL CHECK (position >= 1),
    format   INTEGER NOT NULL CHECK (format BETWEEN 0 AND 4294967295),
    data     BLOB    NOT NULL
) STRICT;
"#;

/// Schema step 3: an index of each stream's events by effective date (the
/// append's double-entry rule looks up the events of one issuer and day
/// instead of keeping their digests: `EventRead::scan_on_date`).
const V3: &str = r#"
CREATE INDEX events_stream_effective_date ON events (stream, effective_date);
"#;

/// Database page size of new ledgers (bytes).
const PAGE_SIZE: u32 = 8192;

/// The migration steps this build knows; `MIGRATIONS[i]` upgrades
/// `user_version` `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The oldest schema a read-only opening reads as it is: every later step
/// adds derived tables or indexes only (step 2: snapshots, used by appends
/// alone; step 3: an index no query needs to be right), and the events,
/// their hashes and the meta rows are those of step 1.
pub const READABLE_FROM: u32 = 1;

/// The newest schema (`PRAGMA user_version`) this build knows.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How the store should treat a missing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenMode {
    /// Create a missing file (mode 0600) and initialise it.
    Create,
    /// The file must exist and already be a shareledger ledger.
    Existing,
}

/// What the file header said.
#[derive(Debug)]
enum Header {
    /// Zero bytes: a file we (or someone) just created.
    Empty,
    /// A SQLite database whose header passed the checks.
    Sqlite,
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Step 2 of the module docs: judge the file from its header bytes alone.
fn check_header(path: &Path, known: u32) -> Result<Header, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(io)?;
    let mut buf = Vec::with_capacity(100);
    (&mut f).take(100).read_to_end(&mut buf).map_err(io)?;
    if buf.is_empty() {
        return Ok(Header::Empty);
    }
    if buf.len() < 100 || &buf[..16] != SQLITE_MAGIC {
        return Err(StoreError::NotSqlite {
            path: path.to_path_buf(),
        });
    }
    let be = |at: usize| i32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
    let user_version = be(60);
    let application_id = be(68);
    // The schema cookie changes with every CREATE: non-zero means the file
    // holds (or held) schema objects. In a WAL-mode file (header bytes 18
    // and 19 are 2) without our application_id, that is another program's
    // database, judged here: SQLite would create a `-shm` beside it on the
    // first read. (Our own new ledger gets its first schema object and its
    // application_id in one transaction.) It also tells a stamped file
    // without tables.
    let schema_cookie = be(40);
    let wal = buf[18] == 2 && buf[19] == 2;
    let has_tables = (wal && schema_cookie != 0).then_some(true);
    judge(path, application_id, user_version, has_tables, known)?;
    if application_id == APPLICATION_ID && user_version > 0 && schema_cookie == 0 {
        return Err(StoreError::NoTables {
            path: path.to_path_buf(),
        });
    }
    Ok(Header::Sqlite)
}

/// The shared decision on (application_id, user_version, has_tables).
/// `has_tables` is `None` when unknown (header-only check).
fn judge(
    path: &Path,
    application_id: i32,
    user_version: i32,
    has_tables: Option<bool>,
    known: u32,
) -> Result<(), StoreError> {
    if application_id == APPLICATION_ID {
        if user_version < 0 || user_version as u32 > known {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: i64::from(user_version),
                known,
            });
        }
        return Ok(());
    }
    let foreign = application_id != 0 || user_version != 0 || has_tables == Some(true);
    if foreign {
        return Err(StoreError::NotAStore {
            path: path.to_path_buf(),
            application_id,
            expected: APPLICATION_ID,
            has_tables: has_tables.unwrap_or(false),
        });
    }
    Ok(())
}

/// `(application_id, user_version, has_tables)` as SQLite sees them. Call it
/// inside a transaction so the three reads come from one snapshot.
fn probe(conn: &Connection, path: &Path) -> Result<(i32, i32, bool), StoreError> {
    let app: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .ctx(path)?;
    let uv: i32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .ctx(path)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .ctx(path)?;
    Ok((app, uv, objects > 0))
}

/// Create `path` with mode 0600 if it does not exist. `Ok(true)` if created.
pub(crate) fn create_private(path: &Path) -> Result<bool, StoreError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(f) => {
            f.sync_all().map_err(|source| StoreError::Create {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(StoreError::Create {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Open (and per `mode`, create) a ledger, check it, set the pragmas and run
/// `migrations`. See the module docs for the order of checks.
pub(crate) fn open_connection(
    path: &Path,
    mode: OpenMode,
    migrations: &[&str],
) -> Result<Connection, StoreError> {
    let known = migrations.len() as u32;
    match mode {
        OpenMode::Create => {
            create_private(path)?;
        }
        OpenMode::Existing => {
            if !path.exists() {
                return Err(StoreError::NotFound {
                    path: path.to_path_buf(),
                });
            }
        }
    }
    let md = std::fs::metadata(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !md.is_file() {
        return Err(StoreError::NotAFile {
            path: path.to_path_buf(),
        });
    }

    let header = check_header(path, known)?;
    if mode == OpenMode::Existing && matches!(header, Header::Empty) {
        return Err(StoreError::NotInitialised {
            path: path.to_path_buf(),
        });
    }

    // No SQLITE_OPEN_CREATE: the file exists (we checked or created it).
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).ctx(path)?;
    conn.busy_timeout(crate::BUSY_TIMEOUT).ctx(path)?;
    // Until the file is accepted, closing must not checkpoint a foreign WAL
    // into it.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .ctx(path)?;

    // One read transaction, so the three reads see one snapshot: read one by
    // one, they could straddle another process's first migration and see its
    // tables but not yet its application_id.
    let (app, uv, has_tables) = {
        let snapshot = conn.unchecked_transaction().ctx(path)?;
        let seen = probe(&snapshot, path)?;
        snapshot.commit().ctx(path)?;
        seen
    };
    judge(path, app, uv, Some(has_tables), known)?;
    if app == APPLICATION_ID && uv > 0 && !has_tables {
        return Err(StoreError::NoTables {
            path: path.to_path_buf(),
        });
    }
    if mode == OpenMode::Existing && app != APPLICATION_ID {
        // An empty-but-valid SQLite file: not ours yet, and we never create.
        return Err(StoreError::NotInitialised {
            path: path.to_path_buf(),
        });
    }

    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)
        .ctx(path)?;
    if app != APPLICATION_ID && !has_tables {
        // A brand-new file: choose the page size before the first write
        // (it cannot change once the file is in WAL mode).
        conn.pragma_update(None, "page_size", PAGE_SIZE).ctx(path)?;
    }
    let journal: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .ctx(path)?;
    if !journal.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NoWal {
            path: path.to_path_buf(),
            mode: journal,
        });
    }
    conn.pragma_update(None, "synchronous", "FULL").ctx(path)?;
    conn.pragma_update(None, "foreign_keys", true).ctx(path)?;
    // Up to 64 MiB of page cache (negative = KiB): keeps the id index hot
    // during bulk imports with random UUIDs; memory is only used as touched.
    conn.pragma_update(None, "cache_size", -i64::from(crate::WRITE_CACHE_KIB))
        .ctx(path)?;
    conn.set_prepared_statement_cache_capacity(32);
    // Query plans that do not depend on bound values. Without this, SQLite
    // (built with STAT4) marks `LIMIT ?1` as plan-relevant and re-prepares
    // the paging queries every time a page is fetched: 3.5% of a replay.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .ctx(path)?;

    let mut conn = conn;
    if app != APPLICATION_ID || uv as u32 != known {
        migrate(&mut conn, path, migrations)?;
    }
    Ok(conn)
}

/// How a ledger was opened read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnly {
    /// `mode=ro`: SQLite reads the file (and its WAL) and writes nothing
    /// to it; other processes may go on writing.
    Shared,
    /// `immutable=1`: the directory cannot be written (read-only media, an
    /// auditor's copy), so SQLite cannot keep its shared-memory file there;
    /// the file is read as one that nothing changes.
    Immutable,
}

/// `file:` URI of `path` with `query`, escaping what a URI would read.
fn sqlite_uri(path: &Path, query: &str) -> String {
    let mut s = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => s.push_str("%25"),
            '?' => s.push_str("%3f"),
            '#' => s.push_str("%23"),
            c => s.push(c),
        }
    }
    s.push('?');
    s.push_str(query);
    s
}

/// Open an existing ledger read-only: nothing is ever written to the file
/// or (with [`ReadOnly::Immutable`]) beside it. The same checks as
/// [`open_connection`]; a ledger needing a migration is refused (it cannot
/// be upgraded without writing).
pub(crate) fn open_read_only(
    path: &Path,
    known: u32,
    start: ReadOnly,
) -> Result<(Connection, ReadOnly), StoreError> {
    if !path.exists() {
        return Err(StoreError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let md = std::fs::metadata(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !md.is_file() {
        return Err(StoreError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    if matches!(check_header(path, known)?, Header::Empty) {
        return Err(StoreError::NotInitialised {
            path: path.to_path_buf(),
        });
    }
    let attempt = |mode: ReadOnly| -> Result<Connection, StoreError> {
        let query = match mode {
            ReadOnly::Shared => "mode=ro",
            ReadOnly::Immutable => "mode=ro&immutable=1",
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(sqlite_uri(path, query), flags).ctx(path)?;
        conn.busy_timeout(crate::BUSY_TIMEOUT).ctx(path)?;
        let (app, uv, has_tables) = {
            let snapshot = conn.unchecked_transaction().ctx(path)?;
            let seen = probe(&snapshot, path)?;
            snapshot.commit().ctx(path)?;
            seen
        };
        judge(path, app, uv, Some(has_tables), known)?;
        if app != APPLICATION_ID {
            return Err(StoreError::NotInitialised {
                path: path.to_path_buf(),
            });
        }
        if !has_tables {
            return Err(StoreError::NoTables {
                path: path.to_path_buf(),
            });
        }
        // Steps after the first add derived tables only (snapshots), which
        // nothing that reads uses: a ledger of an older build is read as
        // it is (an auditor's read-only copy is never asked to upgrade).
        if (uv as u32) < READABLE_FROM.min(known) {
            return Err(StoreError::OlderSchema {
                path: path.to_path_buf(),
                found: i64::from(uv),
                known,
            });
        }
        Ok(conn)
    };
    let first = match start {
        ReadOnly::Shared => attempt(ReadOnly::Shared),
        ReadOnly::Immutable => return Ok((attempt(ReadOnly::Immutable)?, ReadOnly::Immutable)),
    };
    match first {
        Ok(conn) => Ok((conn, ReadOnly::Shared)),
        // SQLite could not set up its shared memory beside the file (the
        // directory or the -shm file cannot be written): read it immutable.
        Err(StoreError::Sqlite { source, .. })
            if matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
            ) =>
        {
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            if std::fs::metadata(std::path::PathBuf::from(wal)).is_ok_and(|m| m.len() > 0) {
                return Err(StoreError::WalUnreadable {
                    path: path.to_path_buf(),
                });
            }
            Ok((attempt(ReadOnly::Immutable)?, ReadOnly::Immutable))
        }
        Err(e) => Err(e),
    }
}

/// Run the missing migration steps in one IMMEDIATE transaction.
pub(crate) fn migrate(
    conn: &mut Connection,
    path: &Path,
    migrations: &[&str],
) -> Result<(), StoreError> {
    let known = migrations.len() as u32;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(path)?;
    // Re-check under the write lock: another process may have initialised or
    // upgraded the file since we looked.
    let (app, uv, has_tables) = probe(&tx, path)?;
    judge(path, app, uv, Some(has_tables), known)?;
    debug_assert!(uv >= 0 && uv as u32 <= known);
    for (step, sql) in migrations.iter().enumerate().skip(uv as usize) {
        tx.execute_batch(sql).ctx(path)?;
        debug_assert!(step < migrations.len());
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .ctx(path)?;
    tx.pragma_update(None, "user_version", known).ctx(path)?;
    tx.commit().ctx(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up fourth step, to prove an existing ledger is upgraded in
    /// place (data kept, only the missing step run).
    const V4_TEST: &str = "ALTER TABLE meta ADD COLUMN note TEXT; \
                           INSERT INTO meta (key, value, note) VALUES ('v3', 'yes', 'test step');";

    fn user_version(path: &Path) -> i64 {
        let c = Connection::open(path).unwrap();
        c.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    /// A ledger of a schema-1 build (no snapshots table) opened read-only
    /// by this build: read as it is, never asked to upgrade, not changed.
    #[test]
    fn a_v1_file_is_read_read_only_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        {
            let conn = open_connection(&path, OpenMode::Create, &[V1]).unwrap();
            conn.execute_batch(
                "INSERT INTO events (position, stream, version, id, event_type, schema_version, \
                 payload, effective_date, recorded_at, actor, prev_hash, hash) VALUES \
                 (1, 's', 1, 'e1', 't', 1, '{}', NULL, '2024-01-01T00:00:00.000000Z', 'a', \
                 '0000000000000000000000000000000000000000000000000000000000000000', \
                 '1111111111111111111111111111111111111111111111111111111111111111')",
            )
            .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let (conn, _) = open_read_only(&path, SCHEMA_VERSION, ReadOnly::Shared).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        drop(conn);
        assert_eq!(user_version(&path), 1);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the file is unchanged"
        );
    }

    #[test]
    fn v1_file_migrates_to_v3_then_v4_keeping_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        {
            // A ledger as a build of schema 1 left it.
            let conn = open_connection(&path, OpenMode::Create, &[V1]).unwrap();
            conn.execute_batch(
                "INSERT INTO events (position, stream, version, id, event_type, schema_version, \
                 payload, effective_date, recorded_at, actor, prev_hash, hash) VALUES \
                 (1, 's', 1, 'e1', 't', 1, '{}', NULL, '2024-01-01T00:00:00.000000Z', 'a', \
                 '0000000000000000000000000000000000000000000000000000000000000000', \
                 '1111111111111111111111111111111111111111111111111111111111111111')",
            )
            .unwrap();
        }
        assert_eq!(user_version(&path), 1);

        // This build adds the snapshots table and the index, and keeps the events.
        {
            let s = crate::Store::open(&path).unwrap();
            assert_eq!(s.count().unwrap(), 1);
            assert_eq!(crate::EventRead::snapshot(&s, "s").unwrap(), None);
        }
        assert_eq!(user_version(&path), 3);

        let four: &[&str] = &[V1, V2, V3, V4_TEST];
        let conn = open_connection(&path, OpenMode::Existing, four).unwrap();
        let note: String = conn
            .query_row("SELECT note FROM meta WHERE key = 'v3'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(note, "test step");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        drop(conn);
        assert_eq!(user_version(&path), 4);

        // Opening again with v4 runs nothing (the INSERT would fail on the
        // primary key if it ran twice).
        open_connection(&path, OpenMode::Existing, four).unwrap();

        // And this build (v3) now refuses the v4 file.
        match crate::Store::open(&path) {
            Err(StoreError::TooNew {
                found: 4, known: 3, ..
            }) => {}
            other => panic!("expected TooNew, got {other:?}"),
        }
    }

    #[test]
    fn judge_table() {
        let p = Path::new("/x");
        assert!(judge(p, 0, 0, Some(false), 1).is_ok());
        assert!(judge(p, 0, 0, None, 1).is_ok());
        assert!(judge(p, APPLICATION_ID, 0, Some(false), 1).is_ok());
        assert!(judge(p, APPLICATION_ID, 1, Some(true), 1).is_ok());
        assert!(matches!(
            judge(p, APPLICATION_ID, 2, Some(true), 1),
            Err(StoreError::TooNew { .. })
        ));
        assert!(matches!(
            judge(p, APPLICATION_ID, -1, Some(true), 1),
            Err(StoreError::TooNew { .. })
        ));
        assert!(matches!(
            judge(p, 0, 0, Some(true), 1),
            Err(StoreError::NotAStore { .. })
        ));
        assert!(matches!(
            judge(p, 0, 3, Some(false), 1),
            Err(StoreError::NotAStore { .. })
        ));
        assert!(matches!(
            judge(p, 42, 0, None, 1),
            Err(StoreError::NotAStore { .. })
        ));
    }
}
