//! The one error type of the store, [`StoreError`].
//!
//! Every message says *what* went wrong, *where* (the ledger path, the stream,
//! the event id or position) and, where there is one, *how to fix it*. The CLI
//! prints these messages verbatim, so they are written for the person at the
//! terminal, not for the programmer.
//!
//! SQLite failures are wrapped with the ledger path through the crate-private
//! [`SqlCtx`] extension trait; a `SQLITE_BUSY` that outlasted the busy timeout
//! becomes the dedicated [`StoreError::Busy`].

use std::path::{Path, PathBuf};

use crate::event::ExpectedVersion;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The ledger file could not be created (missing parent directory,
    /// permissions, ...).
    #[error("cannot create ledger file {}: {source}: check that the directory exists and is writable", path.display())]
    Create {
        /// The ledger path.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// Some other I/O error on a file the store manages.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// [`crate::Store::open_existing`] was given a path that does not exist.
    #[error("ledger file {} does not exist: check the --db path (nothing was created)", path.display())]
    NotFound {
        /// The ledger path.
        path: PathBuf,
    },

    /// The path exists but is not a regular file (e.g. a directory).
    #[error("{} is not a regular file: choose another --db path", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },

    /// [`crate::Store::open_existing`] found an empty, never initialised file.
    #[error("ledger file {} is empty (never initialised): record an event first or check the --db path; the file was not changed", path.display())]
    NotInitialised {
        /// The ledger path.
        path: PathBuf,
    },

    /// The file is not a SQLite database at all.
    #[error("{} is not a shareledger ledger (not a SQLite database): choose another --db path; the file was not changed", path.display())]
    NotSqlite {
        /// The path.
        path: PathBuf,
    },

    /// The file is a SQLite database, but not one written by shareledger.
    #[error("{} is not a shareledger ledger (application_id {application_id:#010x}, expected {expected:#010x}{}): choose another --db path; the file was not changed",
        path.display(), if *has_tables { ", and it already holds tables" } else { "" })]
    NotAStore {
        /// The path.
        path: PathBuf,
        /// The `PRAGMA application_id` found in the file.
        application_id: i32,
        /// The shareledger magic number, [`crate::APPLICATION_ID`].
        expected: i32,
        /// Whether the database already holds schema objects.
        has_tables: bool,
    },

    /// The file carries shareledger's `application_id` and a schema
    /// version, but holds no tables: not a usable ledger.
    #[error("{} carries shareledger's application_id but holds no events table: it is not a usable ledger (damaged, or stamped by another program); restore it from a backup or choose another --db path; the file was not changed", path.display())]
    NoTables {
        /// The path.
        path: PathBuf,
    },

    /// A ledger of an older schema, opened read-only: it cannot be
    /// upgraded without writing.
    #[error("ledger file {} has the older schema {found} (this build reads {known}) and was opened read-only: upgrade it with a command that writes (e.g. `shareledger import` of an empty file) where it may be written; the file was not changed", path.display())]
    OlderSchema {
        /// The ledger path.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The schema this build reads, [`crate::SCHEMA_VERSION`].
        known: u32,
    },

    /// A read-only ledger in a directory that cannot be written, with a
    /// `-wal` file SQLite cannot read without writing beside it.
    #[error("ledger file {} has a -wal file holding changes not yet in the file, and its directory cannot be written, so they cannot be read: copy the ledger with its -wal file into a writable directory and read the copy; nothing was changed", path.display())]
    WalUnreadable {
        /// The ledger path.
        path: PathBuf,
    },

    /// The ledger was written by a newer shareledger with a schema this build
    /// does not know.
    #[error("ledger file {} was written by a newer shareledger (schema {found}, this build knows {known}): upgrade shareledger; the file was not changed", path.display())]
    TooNew {
        /// The ledger path.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The newest schema this build knows, [`crate::SCHEMA_VERSION`].
        known: u32,
    },

    /// Another process held the write lock for longer than the busy timeout.
    #[error("ledger file {} is locked by another process (waited {} s): retry when the other shareledger command has finished", path.display(), crate::BUSY_TIMEOUT.as_secs())]
    Busy {
        /// The ledger path.
        path: PathBuf,
    },

    /// Any other SQLite failure.
    #[error("SQLite error on ledger file {}: {source}", path.display())]
    Sqlite {
        /// The ledger path.
        path: PathBuf,
        /// The underlying SQLite error.
        source: rusqlite::Error,
    },

    /// The optimistic concurrency check of [`crate::WriteTx::append`] failed.
    #[error("version conflict on stream {stream:?}: expected {expected}, but the stream is at version {actual}: another command wrote to it first; re-read and retry")]
    VersionConflict {
        /// The stream.
        stream: String,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's version when the append started.
        actual: u64,
    },

    /// A batch appended with [`crate::EventTx::append_valid_or_abort`]
    /// failed, and the caller went on to commit: the transaction was rolled
    /// back instead (part of the batch was in it).
    #[error("{}: a batch of this write failed ({reason}) and the write was rolled back: nothing of it was stored", path.display())]
    Aborted {
        /// The ledger path.
        path: PathBuf,
        /// The batch's error.
        reason: String,
    },

    /// An event id is already stored with different content.
    #[error("event id {id} is already stored at position {position} with different content: use a new event id (ids are never reused)")]
    IdConflict {
        /// The event id.
        id: String,
        /// Position of the stored event with that id.
        position: u64,
    },

    /// `recorded_at` is earlier than the latest stored event.
    #[error("recorded_at {given} is earlier than the latest stored event ({latest}): the log is in time order; check the system clock")]
    RecordedAtBackwards {
        /// The offending timestamp.
        given: String,
        /// The latest `recorded_at` already stored.
        latest: String,
    },

    /// A field of a [`crate::NewEvent`] is malformed.
    #[error("event {id:?}: field {field} = {value:?} is invalid: {reason}")]
    InvalidField {
        /// The event id (as given).
        id: String,
        /// Field name.
        field: &'static str,
        /// The value (truncated to 200 characters).
        value: String,
        /// What is expected.
        reason: &'static str,
    },

    /// [`crate::Store::backup_to`] refuses to overwrite.
    #[error("backup destination {} already exists: choose a new file name (backups never overwrite)", path.display())]
    BackupDestinationExists {
        /// The destination path.
        path: PathBuf,
    },

    /// The backup copy was written but does not verify.
    #[error("backup copy {} does not verify: broken at position {position}: {reason}", path.display())]
    BackupNotVerified {
        /// The destination path.
        path: PathBuf,
        /// First broken position in the copy.
        position: u64,
        /// Why.
        reason: String,
    },

    /// WAL journaling could not be enabled (e.g. a network file system).
    #[error("cannot enable write-ahead logging on {} (journal_mode is {mode:?}): keep the ledger on a local file system", path.display())]
    NoWal {
        /// The ledger path.
        path: PathBuf,
        /// The journal mode SQLite reported.
        mode: String,
    },
    /// A PostgreSQL URL that cannot be parsed.
    #[error("invalid PostgreSQL URL {location}: {reason}: write it as postgresql://USER@HOST:PORT/DATABASE")]
    PgUrl {
        /// The URL, without its password.
        location: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The PostgreSQL server could not be reached or refused the login.
    #[error("cannot connect to the PostgreSQL ledger {location}: {message}: check that the server is running and accepts connections from this machine, and the user, password, host, port and database in the URL")]
    PgConnect {
        /// The URL, without its password.
        location: String,
        /// The server's or the network's answer.
        message: String,
    },

    /// The database exists, but it holds tables that are not a shareledger
    /// ledger's.
    #[error("the PostgreSQL database {location} is not a shareledger ledger: schema {schema:?} already holds {} ({}): use an empty database or schema; nothing was changed",
        if relations.len() == 1 { "another object".to_string() } else { format!("{} other objects", relations.len()) },
        relations.iter().take(5).cloned().collect::<Vec<_>>().join(", "))]
    PgNotALedger {
        /// The URL, without its password.
        location: String,
        /// The schema the ledger would live in (the first of `search_path`).
        schema: String,
        /// The relations found there.
        relations: Vec<String>,
    },

    /// The ledger was written by a newer shareledger.
    #[error("the PostgreSQL ledger {location} was written by a newer shareledger (schema {found}, this build knows {known}): upgrade shareledger; nothing was changed")]
    PgTooNew {
        /// The URL, without its password.
        location: String,
        /// The newest migration recorded in the database.
        found: i64,
        /// The newest schema this build knows.
        known: u32,
    },

    /// `PgStore::open_existing` found no ledger in the database.
    #[error("the PostgreSQL database {location} holds no shareledger ledger: record or import an event first, or check the URL; nothing was changed")]
    PgNotInitialised {
        /// The URL, without its password.
        location: String,
    },

    /// The database cannot hold every Unicode text exactly.
    #[error("the PostgreSQL database {location} has encoding {encoding}, so it cannot keep every event's text exactly: create the database WITH ENCODING 'UTF8'; nothing was changed")]
    PgEncoding {
        /// The URL, without its password.
        location: String,
        /// `server_encoding`.
        encoding: String,
    },

    /// Another writer held the ledger's head lock for longer than the lock
    /// timeout ([`crate::BUSY_TIMEOUT`] unless `PgStore::set_lock_timeout`).
    #[error("the PostgreSQL ledger {location} is locked by another writer (waited longer than the lock timeout): retry when the other shareledger command has finished")]
    PgLocked {
        /// The URL, without its password.
        location: String,
    },

    /// The connection broke while a transaction was committing: the server
    /// may or may not have stored it.
    #[error("the connection to the PostgreSQL ledger {location} was lost while committing ({message}): the write may or may not be stored: check the log before recording again (re-importing the same events with the same ids is always safe)")]
    PgCommitUnknown {
        /// The URL, without its password.
        location: String,
        /// What the driver said.
        message: String,
    },

    /// Any other PostgreSQL failure.
    #[error("PostgreSQL error on ledger {location} while {doing}: {message}")]
    Postgres {
        /// The URL, without its password.
        location: String,
        /// What the store was doing.
        doing: &'static str,
        /// The server's message, with its detail and hint.
        message: String,
        /// The SQLSTATE code, when the server sent one.
        sqlstate: Option<String>,
    },

    /// `copy_log` refuses a target that already holds events.
    #[error("cannot copy into {location}: it already holds {events} events: copy into a new, empty ledger; nothing was written")]
    CopyTargetNotEmpty {
        /// The target ledger.
        location: String,
        /// How many events it holds.
        events: u64,
    },

    /// `copy_log` refuses to copy a source whose chain does not verify, or
    /// found the copy different from the source.
    #[error(
        "copy from {from} to {to} refused at position {position}: {reason}; nothing was written"
    )]
    CopyMismatch {
        /// The source ledger.
        from: String,
        /// The target ledger.
        to: String,
        /// The first position concerned.
        position: u64,
        /// What is wrong.
        reason: String,
    },
}

impl StoreError {
    /// Wrap a SQLite error with the ledger path, mapping `SQLITE_BUSY` and
    /// `SQLITE_NOTADB` to their dedicated variants.
    pub(crate) fn sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
        match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) => StoreError::Busy {
                path: path.to_path_buf(),
            },
            Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotSqlite {
                path: path.to_path_buf(),
            },
            _ => StoreError::Sqlite {
                path: path.to_path_buf(),
                source,
            },
        }
    }

    pub(crate) fn invalid(
        id: &str,
        field: &'static str,
        value: &str,
        reason: &'static str,
    ) -> StoreError {
        StoreError::InvalidField {
            id: id.chars().take(200).collect(),
            field,
            value: value.chars().take(200).collect(),
            reason,
        }
    }
}

/// Attach the ledger path to a `rusqlite::Result`.
pub(crate) trait SqlCtx<T> {
    fn ctx(self, path: &Path) -> Result<T, StoreError>;
}

impl<T> SqlCtx<T> for rusqlite::Result<T> {
    #[inline]
    fn ctx(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::sqlite(path, e))
    }
}
