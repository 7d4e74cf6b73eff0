//! [`PgStore`]: the ledger on a PostgreSQL server, the second backend of
//! [`EventStore`], with the same positions, hashes and guarantees as SQLite.
//!
//! * **Client.** The synchronous `postgres` crate (pure Rust, no libpq), one
//!   connection per [`PgStore`]; [`EventStore::reader`] opens another.
//!   Statements are prepared once per connection. TLS is not built in: reach
//!   the server over a local socket, a private network or a tunnel.
//! * **Schema** ([`schema`]): `events` with SQLite's columns (the payload as
//!   `text`, never `jsonb`, which would rewrite the JSON the hash covers), a
//!   one-row `head` table (last position, hash and `recorded_at`),
//!   `shareledger_migrations`, and statement triggers refusing `UPDATE`,
//!   `DELETE` and `TRUNCATE` on `events`.
//! * **Writes** ([`PgStore::write`]): one transaction at READ COMMITTED whose
//!   first statement is `SELECT … FROM head FOR UPDATE`. That row lock
//!   serialises writers, as SQLite's `BEGIN IMMEDIATE` does, so whatever the
//!   transaction reads afterwards (stream versions, ids, the head) cannot
//!   change before it commits; positions are assigned from the locked head,
//!   hence gapless and in commit order, and a reader following
//!   `position > cursor` never skips one. (A sequence would commit out of
//!   order; REPEATABLE READ would take its snapshot before the lock wait.)
//!   Appends ([`append`]) compute the hashes in Rust with [`crate::event_hash`].
//!   A writer waits for the head lock up to [`crate::BUSY_TIMEOUT`]
//!   (`lock_timeout`), then fails with [`StoreError::PgLocked`].
//! * **Reads** ([`read`]): keyset pages, as on SQLite.
//! * **Connections the server closed** (a restart, a failover, an idle
//!   timeout) are reopened: a read that may run twice is retried once, a
//!   write whose `BEGIN` fails is started again; inside a transaction
//!   nothing is retried (the transaction died with its connection).
//!
//! ```no_run
//! use shareledger_store::{EventRead, EventStore, PgStore, StoreError};
//! # fn main() -> Result<(), StoreError> {
//! let store = PgStore::open("postgresql://clerk@db.example:5432/ledger")?;
//! assert!(store.verify()?.is_intact());
//! println!("{} events at {}", store.count()?, store.location());
//! # Ok(()) }
//! ```

pub(crate) mod append;
pub(crate) mod read;
pub(crate) mod schema;

use std::cell::RefCell;
use std::collections::HashMap;
use std::str::FromStr;

use postgres::error::SqlState;
use postgres::{Client, IsolationLevel, NoTls, Statement, Transaction};

use crate::engine::{EventRead, EventStore, EventTx, RowIter};
use crate::error::StoreError;
use crate::event::{
    validate_new_event, AppendOutcome, ExpectedVersion, NewEvent, StoredEvent, ValidEvent,
};
use crate::read::{EventRef, ReadFilter, DEFAULT_PAGE_SIZE};
use crate::store::Verification;

use read::PgEvents;
pub use schema::PG_SCHEMA_VERSION;

type StmtCache = HashMap<&'static str, Statement>;

/// What every query helper needs besides the connection.
#[derive(Clone, Copy)]
pub(crate) struct Cx<'a> {
    pub(crate) location: &'a str,
    pub(crate) stmts: &'a RefCell<StmtCache>,
    pub(crate) page_size: usize,
}

/// The locked head row of a write transaction.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub(crate) position: u64,
    pub(crate) hash: String,
    pub(crate) recorded_at: Option<String>,
}

/// One open ledger on a PostgreSQL server: one connection, used by one
/// thread at a time (`Send`, not `Sync`); [`EventStore::reader`] opens
/// another connection for another thread.
pub struct PgStore {
    client: RefCell<Client>,
    config: postgres::Config,
    location: String,
    lock_timeout: std::time::Duration,
    stmts: RefCell<StmtCache>,
    page_size: usize,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

/// Whether `s` names a PostgreSQL ledger (`postgres://` or `postgresql://`)
/// rather than a SQLite file.
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// `url` without its password, for messages and [`EventStore::location`]:
/// the password of the user-info part (`user:secret@host`) and any
/// `password=` parameter (URL query or `key=value` form) are removed.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        // The user-info ends at the last '@' before the query (a password
        // may hold '/' or '@' even where it should have been %-encoded).
        let query_at = rest.find('?').unwrap_or(rest.len());
        let (user, rest) = match rest[..query_at].rfind('@') {
            Some(at) => {
                let userinfo = &rest[..at];
                let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                (format!("{user}@"), &rest[at + 1..])
            }
            None => (String::new(), rest),
        };
        let (host, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority = format!("{user}{host}");
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|kv| {
                        !kv.split('=')
                            .next()
                            .unwrap_or("")
                            .eq_ignore_ascii_case("password")
                    })
                    .collect();
                if kept.is_empty() {
                    path.to_string()
                } else {
                    format!("{path}?{}", kept.join("&"))
                }
            }
            None => tail.to_string(),
        };
        return format!("{scheme}://{authority}{tail}");
    }
    // key=value form: drop the password pair (its value may be quoted).
    let mut out = String::new();
    let mut rest = url.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').unwrap_or((rest, ""));
        let after = after.trim_start();
        let end = if let Some(q) = after.strip_prefix('\'') {
            let mut i = 0;
            let b = q.as_bytes();
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            (i + 2).min(after.len())
        } else {
            after.find(char::is_whitespace).unwrap_or(after.len())
        };
        let (value, next) = after.split_at(end);
        if !key.trim().eq_ignore_ascii_case("password") {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(key.trim());
            out.push('=');
            out.push_str(value);
        }
        rest = next.trim_start();
    }
    out
}

/// The one-line text of a driver error: the server's message with its
/// detail and hint, or the network error with its cause.
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.to_string().replace('\n', "; ");
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

/// Wrap a driver error with the ledger's location and what was being done.
pub(crate) fn pg_err(location: &str, doing: &'static str, e: postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
        return StoreError::PgLocked {
            location: location.to_string(),
        };
    }
    StoreError::Postgres {
        location: location.to_string(),
        doing,
        message: describe(&e),
        sqlstate: e.code().map(|c| c.code().to_string()),
    }
}

pub(crate) fn head_missing(cx: &Cx<'_>) -> StoreError {
    StoreError::Postgres {
        location: cx.location.to_string(),
        doing: "locking the head",
        message: "the head row is missing: the ledger was altered outside shareledger; run the audit and restore from a backup".into(),
        sqlstate: None,
    }
}

impl PgStore {
    /// Open the ledger at the PostgreSQL URL `url`, creating its tables in an
    /// empty database (schema) and running any pending migration.
    ///
    /// Refuses, without changing anything: a URL that does not parse, a
    /// server that cannot be reached, a database whose schema holds tables
    /// that are not a ledger's ([`StoreError::PgNotALedger`]), a ledger of a
    /// newer schema ([`StoreError::PgTooNew`]), a database not in UTF8.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        Self::open_with(url, schema::OpenMode::Create)
    }

    /// Open an existing ledger: like [`PgStore::open`], but a database
    /// without one is [`StoreError::PgNotInitialised`] and nothing is created.
    pub fn open_existing(url: &str) -> Result<PgStore, StoreError> {
        Self::open_with(url, schema::OpenMode::Existing)
    }

    fn open_with(url: &str, mode: schema::OpenMode) -> Result<PgStore, StoreError> {
        let location = redact_url(url);
        let mut config = postgres::Config::from_str(url).map_err(|e| StoreError::PgUrl {
            location: location.clone(),
            reason: describe(&e),
        })?;
        if config.get_application_name().is_none() {
            config.application_name("shareledger");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        let store = Self::connect(config, location)?;
        {
            let mut client = store.client.borrow_mut();
            let cx = store.cx();
            schema::prepare(&mut client, &cx, mode, schema::MIGRATIONS)?;
        }
        Ok(store)
    }

    fn connect(config: postgres::Config, location: String) -> Result<PgStore, StoreError> {
        let client = config.connect(NoTls).map_err(|e| StoreError::PgConnect {
            location: location.clone(),
            message: describe(&e),
        })?;
        let mut store = PgStore {
            client: RefCell::new(client),
            config,
            location,
            lock_timeout: crate::BUSY_TIMEOUT,
            stmts: RefCell::new(HashMap::new()),
            page_size: DEFAULT_PAGE_SIZE,
        };
        store.set_lock_timeout(crate::BUSY_TIMEOUT)?;
        Ok(store)
    }

    /// How long a writer waits for the head lock (held by another writer)
    /// before failing with [`StoreError::PgLocked`]; default
    /// [`crate::BUSY_TIMEOUT`]. A web server may want less. Kept across
    /// reconnections and given to [`EventStore::reader`]s.
    pub fn set_lock_timeout(&mut self, timeout: std::time::Duration) -> Result<(), StoreError> {
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
        self.client
            .get_mut()
            .batch_execute(&format!("SET lock_timeout = {ms}"))
            .map_err(|e| pg_err(&self.location, "setting up the connection", e))?;
        self.lock_timeout = timeout;
        Ok(())
    }

    fn cx(&self) -> Cx<'_> {
        Cx {
            location: &self.location,
            stmts: &self.stmts,
            page_size: self.page_size,
        }
    }

    /// Rows fetched per query by reads and [`EventStore::verify`] (default
    /// [`DEFAULT_PAGE_SIZE`]); 0 is taken as 1.
    pub fn set_read_page_size(&mut self, rows: usize) {
        self.page_size = rows.max(1);
    }

    /// Run `f` inside one write transaction holding the head lock; commit if
    /// it returns `Ok`, roll back otherwise (and on panic, and when the
    /// process dies: the server aborts a transaction whose connection drops).
    /// A connection the server closed since the last call (a restart, a
    /// failover) fails at `BEGIN`, before `f` ran: it is reopened and the
    /// write starts once more.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut PgTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.before_use()?;
        match self.try_write(f) {
            Ok(done) => done,
            Err((f, e)) => {
                if !connection_lost(&e, self.client.get_mut().is_closed()) {
                    return Err(e.into());
                }
                self.reconnect()?;
                match self.try_write(f) {
                    Ok(done) => done,
                    Err((_, e)) => Err(e.into()),
                }
            }
        }
    }

    /// [`PgStore::write`] once; `Err` (giving `f` back) when `BEGIN` failed.
    #[allow(clippy::type_complexity)]
    fn try_write<T, E: From<StoreError>, F: FnOnce(&mut PgTx<'_>) -> Result<T, E>>(
        &mut self,
        f: F,
    ) -> Result<Result<T, E>, (F, StoreError)> {
        let location = self.location.as_str();
        let stmts = &self.stmts;
        let page_size = self.page_size;
        let begun = self
            .client
            .get_mut()
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start();
        let mut tx = match begun {
            Ok(tx) => tx,
            Err(e) => return Err((f, pg_err(location, "starting a write", e))),
        };
        Ok((|| {
            let cx = Cx {
                location,
                stmts,
                page_size,
            };
            let head = lock_head(&mut tx, &cx)?;
            let mut wtx = PgTx {
                tx: RefCell::new(tx),
                cx,
                head,
            };
            match f(&mut wtx) {
                Ok(value) => {
                    let tx = wtx.tx.into_inner();
                    tx.commit().map_err(|e| {
                        if e.as_db_error().is_none() {
                            StoreError::PgCommitUnknown {
                                location: location.to_string(),
                                message: describe(&e),
                            }
                        } else {
                            pg_err(location, "committing", e)
                        }
                    })?;
                    Ok(value)
                }
                Err(e) => {
                    // The caller's error is the useful one; a failed rollback
                    // leaves nothing committed either way.
                    let _ = wtx.tx.into_inner().rollback();
                    Err(e)
                }
            }
        })())
    }
}

const LOCK_HEAD: &str = "SELECT last_position, last_hash, last_recorded_at FROM head FOR UPDATE";

fn lock_head(tx: &mut Transaction<'_>, cx: &Cx<'_>) -> Result<Head, StoreError> {
    let st = read::stmt(tx, cx, LOCK_HEAD)?;
    let row = tx
        .query_opt(&st, &[])
        .map_err(|e| pg_err(cx.location, "locking the head", e))?
        .ok_or_else(|| head_missing(cx))?;
    Ok(Head {
        position: read::u64_col(&row, 0, cx)?,
        hash: read::str_col(&row, 1, cx)?.to_string(),
        recorded_at: row
            .try_get::<_, Option<String>>(2)
            .map_err(|e| pg_err(cx.location, "locking the head", e))?,
    })
}

/// One open write transaction on a [`PgStore`] (see [`PgStore::write`]).
pub struct PgTx<'a> {
    tx: RefCell<Transaction<'a>>,
    cx: Cx<'a>,
    head: Head,
}

impl std::fmt::Debug for PgTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTx")
            .field("location", &self.cx.location)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

impl PgTx<'_> {
    fn append_checked<E: AsRef<NewEvent>>(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[E],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        let cx = self.cx;
        let mut tx = read::borrow(&self.tx, &cx)?;
        for (stream, exp) in expected {
            let actual = read::stream_version(&mut *tx, &cx, stream)?;
            if !exp.matches(actual) {
                return Err(StoreError::VersionConflict {
                    stream: stream.clone(),
                    expected: *exp,
                    actual,
                });
            }
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        append::append_rows(&mut *tx, &cx, &mut self.head, events)
    }
}

macro_rules! pg_reads {
    () => {
        fn scan<E: From<StoreError>>(
            &self,
            filter: &ReadFilter,
            f: impl FnMut(EventRef<'_>) -> Result<(), E>,
        ) -> Result<u64, E> {
            // Not retried: `f` may already have seen rows.
            self.before_use()?;
            read::scan(self.conn_cell(), &self.context(), filter, f)
        }
        fn scan_on_date<E: From<StoreError>>(
            &self,
            stream: &str,
            date: Option<&str>,
            f: impl FnMut(EventRef<'_>) -> Result<(), E>,
        ) -> Result<u64, E> {
            // Not retried: `f` may already have seen rows.
            self.before_use()?;
            read::scan_dated(
                self.conn_cell(),
                &self.context(),
                stream,
                crate::read::Dated::On(date),
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
            // Not retried: `f` may already have seen rows.
            self.before_use()?;
            read::scan_dated(
                self.conn_cell(),
                &self.context(),
                stream,
                crate::read::Dated::From(from, until),
                f,
            )
        }
        fn events(&self, filter: &ReadFilter) -> RowIter<'_> {
            if let Err(e) = self.before_use() {
                return Box::new(std::iter::once(Err(e)));
            }
            Box::new(PgEvents::new(self.conn_cell(), self.context(), filter))
        }
        fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
            self.retry(|cx| {
                read::stream_version(&mut *read::borrow(self.conn_cell(), cx)?, cx, stream)
            })
        }
        fn find_by_id(&self, id: &str) -> Result<Option<StoredEvent>, StoreError> {
            self.retry(|cx| read::find_by_id(&mut *read::borrow(self.conn_cell(), cx)?, cx, id))
        }
        fn head(&self) -> Result<Option<(u64, String)>, StoreError> {
            let last =
                self.retry(|cx| read::last_event(&mut *read::borrow(self.conn_cell(), cx)?, cx))?;
            Ok(last.map(|(p, h, _)| (p, h)))
        }
        fn last_recorded_at(&self) -> Result<Option<String>, StoreError> {
            let last =
                self.retry(|cx| read::last_event(&mut *read::borrow(self.conn_cell(), cx)?, cx))?;
            Ok(last.map(|(_, _, t)| t))
        }
        fn count(&self) -> Result<u64, StoreError> {
            self.retry(|cx| read::count(&mut *read::borrow(self.conn_cell(), cx)?, cx))
        }
        fn snapshot(&self, stream: &str) -> Result<Option<crate::Snapshot>, StoreError> {
            self.retry(|cx| read::snapshot(&mut *read::borrow(self.conn_cell(), cx)?, cx, stream))
        }
    };
}

/// Whether `e` says the connection is gone (rather than the query refused).
fn connection_lost(e: &StoreError, closed: bool) -> bool {
    match e {
        StoreError::Postgres {
            sqlstate: Some(s), ..
        } => closed || s.starts_with("08") || s.starts_with("57P"),
        StoreError::Postgres { sqlstate: None, .. } => closed,
        _ => false,
    }
}

impl PgStore {
    fn conn_cell(&self) -> &RefCell<Client> {
        &self.client
    }

    /// Reconnect when the connection is known to be closed.
    fn before_use(&self) -> Result<(), StoreError> {
        if read::borrow(&self.client, &self.cx())?.is_closed() {
            self.reconnect()?;
        }
        Ok(())
    }

    fn reconnect(&self) -> Result<(), StoreError> {
        let mut fresh = Self::connect(self.config.clone(), self.location.clone())?;
        fresh.set_lock_timeout(self.lock_timeout)?;
        *read::borrow(&self.client, &self.cx())? = fresh.client.into_inner();
        self.stmts.borrow_mut().clear();
        Ok(())
    }

    /// Run a read that may safely run twice; if the server closed the
    /// connection (a restart, a failover, an idle timeout), reconnect and
    /// run it once more, so a long-lived store survives the server going
    /// away between calls. Never used inside a transaction.
    fn retry<T>(&self, f: impl Fn(&Cx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.before_use()?;
        match f(&self.cx()) {
            Err(e) => {
                let closed = read::borrow(&self.client, &self.cx())?.is_closed();
                if connection_lost(&e, closed) {
                    self.reconnect()?;
                    f(&self.cx())
                } else {
                    Err(e)
                }
            }
            ok => ok,
        }
    }

    fn context(&self) -> Cx<'_> {
        self.cx()
    }
}

impl<'a> PgTx<'a> {
    fn before_use(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Inside a transaction nothing is retried: a lost connection lost the
    /// transaction.
    fn retry<T>(&self, f: impl Fn(&Cx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        f(&self.cx)
    }
    fn conn_cell(&self) -> &RefCell<Transaction<'a>> {
        &self.tx
    }
    fn context(&self) -> Cx<'a> {
        self.cx
    }
}

impl EventRead for PgStore {
    pg_reads!();
}

impl EventRead for PgTx<'_> {
    pg_reads!();
}

impl EventTx for PgTx<'_> {
    fn append(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[NewEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        for ev in events {
            validate_new_event(ev)?;
        }
        self.append_checked(expected, events)
    }
    fn append_valid(
        &mut self,
        expected: &[(String, ExpectedVersion)],
        events: &[ValidEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        self.append_checked(expected, events)
    }
    fn put_snapshot(&mut self, snapshot: &crate::Snapshot) -> Result<(), StoreError> {
        let cx = self.cx;
        let mut tx = read::borrow(&self.tx, &cx)?;
        read::put_snapshot(&mut *tx, &cx, snapshot)
    }
    fn drop_snapshots(&mut self, stream: Option<&str>) -> Result<u64, StoreError> {
        let cx = self.cx;
        let mut tx = read::borrow(&self.tx, &cx)?;
        read::drop_snapshots(&mut *tx, &cx, stream)
    }
}

impl EventStore for PgStore {
    type Tx<'t> = PgTx<'t>;

    fn location(&self) -> String {
        self.location.clone()
    }
    fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut PgTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        PgStore::write(self, f)
    }
    fn streams(&self) -> Result<Vec<String>, StoreError> {
        self.retry(|cx| read::streams(&mut *read::borrow(&self.client, cx)?, cx))
    }
    fn hash_at(&self, position: u64) -> Result<Option<String>, StoreError> {
        self.retry(|cx| read::hash_at(&mut *read::borrow(&self.client, cx)?, cx, position))
    }
    fn verify(&self) -> Result<Verification, StoreError> {
        self.retry(|cx| read::verify(&self.client, cx))
    }
    fn reader(&self) -> Result<PgStore, StoreError> {
        let mut s = Self::connect(self.config.clone(), self.location.clone())?;
        s.page_size = self.page_size;
        s.set_lock_timeout(self.lock_timeout)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        let cases = [
            (
                "postgresql://clerk:s3cret@db.example:5432/ledger",
                "postgresql://clerk@db.example:5432/ledger",
            ),
            ("postgres://clerk@db/ledger", "postgres://clerk@db/ledger"),
            (
                "postgresql://db.example/ledger?sslmode=disable&password=s3cret",
                "postgresql://db.example/ledger?sslmode=disable",
            ),
            ("postgresql://u:p%40ss@h?password=x", "postgresql://u@h"),
            ("postgresql://u:pw@h", "postgresql://u@h"),
            (
                "host=db user=clerk password='se cret' dbname=l",
                "host=db user=clerk dbname=l",
            ),
            ("host=db password=s3cret", "host=db"),
            ("postgresql://u:s3/cret@h/db", "postgresql://u@h/db"),
            (
                "postgresql://u:s3@cret@h:5432/db?x=1",
                "postgresql://u@h:5432/db?x=1",
            ),
            (
                "postgresql://h/db?application_name=a@b",
                "postgresql://h/db?application_name=a@b",
            ),
        ];
        for (url, want) in cases {
            let got = redact_url(url);
            assert_eq!(got, want, "{url}");
            assert!(!got.contains("s3cret") && !got.contains("cret"), "{got}");
        }
    }

    #[test]
    fn bad_url_is_an_error_without_the_password() {
        let e = PgStore::open("postgresql://u:topsecret@h:notaport/db").unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, StoreError::PgUrl { .. }), "{e:?}");
        assert!(!msg.contains("topsecret"), "{msg}");
        assert!(msg.contains("postgresql://u@h:notaport/db"), "{msg}");
    }

    #[test]
    fn urls_are_recognised() {
        assert!(is_postgres_url("postgresql://h/db"));
        assert!(is_postgres_url("postgres://h/db"));
        assert!(!is_postgres_url("ledger.db"));
        assert!(!is_postgres_url("./postgresql:/x"));
    }
}
