//! What the server's tests share: a ledger on either engine (a SQLite file
//! in a temporary directory, or a new database on the throwaway PostgreSQL
//! cluster of `shareledger_store::pg_testing`), the router over it, and
//! requests sent to it in-process. [`on_both_engines!`] runs one test body
//! on each engine.
#![allow(dead_code, unused_macros, unused_imports)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use shareledger_ledger::access::{AccessEvent, Role};
use shareledger_ledger::import::jsonl::read_lines;
use shareledger_ledger::{AppendOptions, Ledger, PgStore, ReadFilter};
use shareledger_server::{auth::hash_password, now, router, App, PgDatabase, SqliteFile};
use tower::ServiceExt;

/// A small issuer: registered, one class, an opening balance, a mandate.
pub const HARBOUR: &str = r#"{"type":"issuer_registered","issuer":"08888","name":"Example Harbour Holdings Limited"}
{"type":"share_class_defined","issuer":"08888","class":"ORD","class_of_shares":"Ordinary shares"}
{"type":"opening_balance","issuer":"08888","class":"ORD","date":"2025-04-30","issued_shares":1200000000}
{"type":"repurchase_mandate_granted","issuer":"08888","class":"ORD","resolution_date":"2025-05-22","issued_shares_at_resolution":1200000000}
"#;

/// A second issuer, for a clerk who may not see it.
pub const OTHER: &str = r#"{"type":"issuer_registered","issuer":"00700","name":"Other Holdings Limited"}
{"type":"share_class_defined","issuer":"00700","class":"ORD","class_of_shares":"Ordinary shares"}
{"type":"opening_balance","issuer":"00700","class":"ORD","date":"2025-04-30","issued_shares":5000000}
"#;

/// A repurchase on Friday 13 June 2025.
pub const REPURCHASE: &str = r#"{"type":"shares_repurchased","issuer":"08888","class":"ORD","trade_date":"2025-06-13","shares":700000,"currency":"HKD","highest_price":"3.15","lowest_price":"3.10","total_paid":"2184500"}"#;

/// The engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    /// Whether this engine can run here: PostgreSQL needs the throwaway
    /// cluster (without it the test prints `skipped: …` and passes, except
    /// under `CI`, where `pg_testing` fails it).
    pub fn available(self) -> bool {
        match self {
            Kind::Sqlite => true,
            Kind::Postgres => {
                tokio::task::block_in_place(shareledger_store::pg_testing::admin_url).is_some()
            }
        }
    }
}

/// Where a test's ledger is.
#[derive(Debug, Clone)]
pub enum Db {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// The URL of a database on the throwaway PostgreSQL cluster.
    Postgres(String),
}

impl Db {
    /// The location `--db` takes.
    pub fn location(&self) -> String {
        match self {
            Db::Sqlite(p) => p.display().to_string(),
            Db::Postgres(u) => u.clone(),
        }
    }
}

/// Run `$body` with `$l` bound to the test's ledger (`Ledger<Store>` or
/// `Ledger<PgStore>`, opened anew), whatever its engine. The store is
/// blocking (the `postgres` client runs a runtime of its own): inside an
/// async test it runs in `block_in_place`, as the server runs it in
/// `spawn_blocking`.
macro_rules! on_ledger {
    ($db:expr, |$l:ident| $body:expr) => {
        tokio::task::block_in_place(|| match $db {
            $crate::common::Db::Sqlite(p) => {
                #[allow(unused_mut)]
                let mut $l = shareledger_ledger::Ledger::open(p).unwrap();
                $body
            }
            $crate::common::Db::Postgres(u) => {
                #[allow(unused_mut)]
                let mut $l =
                    shareledger_ledger::Ledger::<shareledger_ledger::PgStore>::open_at(u).unwrap();
                $body
            }
        })
    };
}

/// One test body (`async fn name(k: Kind) { … }`) run as two tests, on
/// SQLite (`name::sqlite`) and on PostgreSQL (`name::postgres`).
macro_rules! on_both_engines {
    ($(#[$m:meta])* async fn $name:ident($k:ident: Kind) $body:block) => {
        $(#[$m])*
        mod $name {
            use super::*;

            async fn body($k: Kind) $body

            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                body(Kind::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                if Kind::Postgres.available() {
                    body(Kind::Postgres).await
                }
            }
        }
    };
}

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub db: Db,
}

impl TestServer {
    /// A ledger holding `lines`, on SQLite.
    pub fn with(lines: &str) -> Self {
        Self::with_on(Kind::Sqlite, lines)
    }

    /// A ledger holding `lines`, on the engine `k` (which must be
    /// [`Kind::available`]).
    pub fn with_on(k: Kind, lines: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = match k {
            Kind::Sqlite => Db::Sqlite(dir.path().join("ledger.db")),
            Kind::Postgres => Db::Postgres(
                tokio::task::block_in_place(shareledger_store::pg_testing::database)
                    .expect("the PostgreSQL test cluster is available"),
            ),
        };
        on_ledger!(&db, |ledger| {
            if !lines.trim().is_empty() {
                ledger
                    .append(
                        read_lines(lines.as_bytes()).unwrap(),
                        now(),
                        "setup",
                        AppendOptions::default(),
                    )
                    .unwrap();
            }
        });
        TestServer { dir, db }
    }

    /// The Harbour issuer and another, on SQLite.
    pub fn harbour() -> Self {
        Self::harbour_on(Kind::Sqlite)
    }

    /// The Harbour issuer and another, on the engine `k`.
    pub fn harbour_on(k: Kind) -> Self {
        Self::with_on(k, &format!("{HARBOUR}{OTHER}"))
    }

    /// The SQLite file (panics on PostgreSQL).
    pub fn file(&self) -> &PathBuf {
        match &self.db {
            Db::Sqlite(p) => p,
            Db::Postgres(_) => panic!("this test's ledger is not a file"),
        }
    }

    /// Add a user.
    pub fn add_user(&self, name: &str, role: Role, issuers: Option<&[&str]>, password: &str) {
        on_ledger!(&self.db, |ledger| {
            ledger
                .record_access(
                    AccessEvent::UserAdded {
                        name: name.into(),
                        role,
                        issuers: issuers.map(|l| l.iter().map(|s| s.to_string()).collect()),
                        password_hash: hash_password(password).unwrap(),
                    },
                    now(),
                    "admin",
                )
                .unwrap();
        })
    }

    /// A fresh router over the ledger (users as they stand now).
    pub fn router(&self) -> Router {
        tokio::task::block_in_place(|| match &self.db {
            Db::Sqlite(p) => router(Arc::new(App::new(SqliteFile(p.clone())).unwrap())),
            Db::Postgres(u) => router(Arc::new(App::new(PgDatabase::new(u.clone())).unwrap())),
        })
    }

    /// How many rows the ledger holds.
    pub fn count(&self) -> u64 {
        on_ledger!(&self.db, |l| l.events(&ReadFilter::default()).count()
            as u64)
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// The error object of an error answer.
    pub fn error(&self) -> serde_json::Value {
        self.json()["error"].clone()
    }
}

/// Send one request.
pub async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req = req.header("host", "127.0.0.1:8080");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = router
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(router: &Router, uri: &str) -> Answer {
    send(router, "GET", uri, &[], "").await
}

pub const NDJSON: (&str, &str) = ("content-type", "application/x-ndjson");
pub const JSON: (&str, &str) = ("content-type", "application/json");

/// `Authorization: Basic` for name:password.
pub fn basic(name: &str, password: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{name}:{password}");
    let bytes = input.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}
