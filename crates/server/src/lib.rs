//! # shareledger-server: `shareledger serve`
//!
//! The web app for company secretaries and registrars' clerks, and its JSON
//! API (interchange.md section 4), on axum. It is a front end like the
//! command line: every request becomes a call of the application layer
//! ([`shareledger_ledger::Ledger`]) and every result a page or a JSON
//! document. It holds no rule: a refused entry is refused by the ledger and
//! the core, and their words are shown beside the field at fault.
//!
//! The server is generic over the storage engine through [`Source`], which
//! opens a [`Ledger`] for one request (SQLite: [`SqliteFile`], a connection
//! per request; PostgreSQL: [`PgDatabase`], a small pool of connections).
//! [`Servable`] ties each engine to its source, so a front end that has
//! picked the engine ([`shareledger_ledger::is_postgres`]) serves it with
//! [`serve_at`]. The store is blocking: every call of the ledger runs in
//! `spawn_blocking`, and a connection is used by one blocking task at a
//! time.
//!
//! * [`api`]: the JSON API, routed under `/api`;
//! * [`pages`]: the pages for people (server-rendered HTML);
//! * [`auth`]: callers, roles, sessions, CSRF tokens;
//! * [`error`]: [`ApiError`], errors as HTTP statuses and JSON bodies;
//! * [`pdf`]: returns printed to PDF by a headless Chromium.

pub mod api;
pub mod auth;
pub mod error;
pub mod pages;
pub mod pdf;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use chrono::{DateTime, FixedOffset, Utc};
use shareledger_ledger::{redact_url, Engine, EventStore, Ledger, LedgerError, PgStore, Store};

pub use error::ApiError;

/// Where the server's ledger is: opens a [`Ledger`] for one request, on any
/// engine. Implement it for another engine (PostgreSQL) to serve that.
pub trait Source: Send + Sync + 'static {
    /// The engine.
    type Store: EventStore + 'static;
    /// Open the ledger to read and write (called on a blocking thread).
    fn open(&self) -> Result<Ledger<Self::Store>, LedgerError>;
    /// Where it is, for messages (no password).
    fn location(&self) -> String;
    /// Take back a ledger [`Source::open`] gave once its request is done
    /// without a failure of the worker (a pool keeps it for the next
    /// request; by default it is closed).
    fn recycle(&self, ledger: Ledger<Self::Store>) {
        drop(ledger);
    }
}

/// A SQLite ledger file.
#[derive(Debug, Clone)]
pub struct SqliteFile(pub PathBuf);

impl Source for SqliteFile {
    type Store = Store;
    fn open(&self) -> Result<Ledger<Store>, LedgerError> {
        Ledger::open(&self.0)
    }
    fn location(&self) -> String {
        self.0.display().to_string()
    }
}

/// How many idle connections [`PgDatabase`] keeps for the next requests.
pub const PG_IDLE_CONNECTIONS: usize = 8;

/// A ledger on a PostgreSQL server (`postgresql://…`): a small pool of
/// connections ([`PgStore`]). A request takes an idle connection or opens a
/// new one (creating the ledger's tables in an empty database, as every
/// command does); when it is done, the connection goes back to the pool,
/// which keeps at most [`PG_IDLE_CONNECTIONS`] and closes the others. A
/// connection the server closed meanwhile is reopened by the store itself;
/// every write is one transaction of its own, so a connection never goes
/// back with a transaction open.
pub struct PgDatabase {
    url: String,
    idle: Mutex<Vec<Ledger<PgStore>>>,
}

impl PgDatabase {
    /// The ledger at `url` (nothing is connected before the first request).
    pub fn new(url: impl Into<String>) -> Self {
        PgDatabase {
            url: url.into(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// How many connections wait in the pool.
    pub fn idle(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDatabase")
            .field("location", &self.location())
            .field("idle", &self.idle())
            .finish()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Closing a connection of the blocking `postgres` client blocks on
        // a runtime of its own, which panics on a thread that drives async
        // tasks (the server's app is dropped there): close them on a plain
        // thread.
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(PoisonError::into_inner));
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

impl Source for PgDatabase {
    type Store = PgStore;
    fn open(&self) -> Result<Ledger<PgStore>, LedgerError> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match pooled {
            Some(ledger) => Ok(ledger),
            None => Ledger::<PgStore>::open_at(&self.url),
        }
    }
    fn location(&self) -> String {
        redact_url(&self.url)
    }
    fn recycle(&self, ledger: Ledger<PgStore>) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < PG_IDLE_CONNECTIONS {
            idle.push(ledger);
        }
    }
}

/// An engine the server can serve: its [`Source`] from the location a user
/// gives (`--db`).
pub trait Servable: Engine {
    /// The source serving this engine.
    type Source: Source<Store = Self>;
    /// The source of the ledger at `location`.
    fn source(location: &str) -> Self::Source;
}

impl Servable for Store {
    type Source = SqliteFile;
    fn source(location: &str) -> SqliteFile {
        SqliteFile(PathBuf::from(location))
    }
}

impl Servable for PgStore {
    type Source = PgDatabase;
    fn source(location: &str) -> PgDatabase {
        PgDatabase::new(location)
    }
}

/// The server's state: the ledger's source and the users' sessions.
pub struct App<S: Source> {
    /// Where the ledger is.
    pub source: S,
    /// Users, sessions, login throttling.
    pub auth: auth::Auth,
}

/// Shared state of the router.
pub type Shared<S> = Arc<App<S>>;

impl<S: Source> App<S> {
    /// An app over `source`, reading its users from the ledger.
    pub fn new(source: S) -> Result<Self, LedgerError> {
        let ledger = source.open()?;
        let users = ledger.users();
        source.recycle(ledger);
        let users = users?;
        Ok(App {
            source,
            auth: auth::Auth::new(users),
        })
    }

    /// Who is asking (the users as the ledger holds them now; a password
    /// is checked off the async threads).
    pub async fn caller(
        self: &Arc<Self>,
        headers: &axum::http::HeaderMap,
    ) -> Result<auth::Caller, ApiError> {
        let app = Arc::clone(self);
        let headers = headers.clone();
        self.with_ledger(move |l| {
            let users = l.users()?;
            let caller = app.auth.caller(&users, &headers)?;
            if caller.single_user && !auth::loopback_host(&headers) {
                return Err(ApiError::forbidden(
                    "this server runs without users and answers only requests addressed to localhost",
                ));
            }
            Ok(caller)
        })
        .await
    }

    /// Run `f` on a ledger opened for this request, on a blocking thread.
    pub async fn with_ledger<T, F>(self: &Arc<Self>, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ledger<S::Store>) -> Result<T, ApiError> + Send + 'static,
    {
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut ledger = app.source.open()?;
            let result = f(&mut ledger);
            app.source.recycle(ledger);
            result
        })
        .await
        .map_err(|e| ApiError::internal(format!("the request's worker failed: {e}")))?
    }
}

/// The clock: read here, at the edge, and handed to the ledger.
pub fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

/// The actor in single-user mode: the user running the server, as the
/// command line records it.
pub fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// The whole router: the API under `/api`, the pages, the static assets.
pub fn router<S: Source>(app: Shared<S>) -> Router {
    api::routes::<S>()
        .merge(pages::routes::<S>())
        .with_state(app)
}

/// Is `addr` reachable only from this machine?
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Serve the ledger in the SQLite file `db` on `addr` until the process is
/// stopped. With no user configured, only a loopback address is accepted.
pub fn serve(db: PathBuf, addr: SocketAddr) -> Result<(), String> {
    serve_source(SqliteFile(db), addr)
}

/// Serve the ledger at `location` (a file, or a `postgresql://` URL) on
/// the engine `S` the front end picked for it.
pub fn serve_at<S: Servable>(location: &str, addr: SocketAddr) -> Result<(), String> {
    serve_source(S::source(location), addr)
}

/// [`serve`] on any engine.
pub fn serve_source<S: Source>(source: S, addr: SocketAddr) -> Result<(), String> {
    let location = source.location();
    let app = App::new(source).map_err(|e| e.to_string())?;
    if !app.auth.has_users() && !is_loopback(&addr) {
        return Err(format!(
            "no user is configured, so the web app runs without login and listens only on this \
             machine: use --listen 127.0.0.1:{port} (or [::1]:{port}), or add a user first \
             (shareledger user add NAME --role admin) to listen on {addr}",
            port = addr.port()
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server's runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!(
            "shareledger serve: the ledger {location} at http://{bound}/ ({}); stop with Ctrl-C",
            if app.auth.has_users() {
                "login required"
            } else {
                "single user, no login"
            }
        );
        axum::serve(listener, router(Arc::new(app)))
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    })
}
