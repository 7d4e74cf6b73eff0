//! What the server's tests share: a ledger in a temporary directory, the
//! router over it, and requests sent to it in-process.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use shareledger_ledger::access::{AccessEvent, Role};
use shareledger_ledger::import::jsonl::read_lines;
use shareledger_ledger::{AppendOptions, Ledger, ReadFilter};
use shareledger_server::{auth::hash_password, now, router, App, SqliteFile};
use tower::ServiceExt;

/// A small issuer: registered, one class, an opening balance, a mandate.
pub const HARBOUR: &str = r#"{"type":"issuer_registered","issuer":"08888","name":"Example Harbour Holdings Limited"}
{"type":"share_class_defined","issuer":"08888","class":"ORD","class_of_shares":"Ordinary shares"}
{"type":"opening_balance","issuer":"08888","class":"ORD","date":"2025-05-30","issued_shares":1200000000}
{"type":"repurchase_mandate_granted","issuer":"08888","class":"ORD","resolution_date":"2025-05-22","issued_shares_at_resolution":1200000000}
"#;

/// A second issuer, for a clerk who may not see it.
pub const OTHER: &str = r#"{"type":"issuer_registered","issuer":"00700","name":"Other Holdings Limited"}
{"type":"share_class_defined","issuer":"00700","class":"ORD","class_of_shares":"Ordinary shares"}
{"type":"opening_balance","issuer":"00700","class":"ORD","date":"2025-05-30","issued_shares":5000000}
"#;

/// A repurchase on Friday 13 June 2025.
pub const REPURCHASE: &str = r#"{"type":"shares_repurchased","issuer":"08888","class":"ORD","trade_date":"2025-06-13","shares":700000,"currency":"HKD","highest_price":"3.15","lowest_price":"3.10","total_paid":"2184500"}"#;

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl TestServer {
    /// A ledger holding `lines`.
    pub fn with(lines: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db");
        let mut ledger = Ledger::open(&db).unwrap();
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
        TestServer { dir, db }
    }

    /// The Harbour issuer and another.
    pub fn harbour() -> Self {
        Self::with(&format!("{HARBOUR}{OTHER}"))
    }

    /// Add a user.
    pub fn add_user(&self, name: &str, role: Role, issuers: Option<&[&str]>, password: &str) {
        let mut ledger = Ledger::open(&self.db).unwrap();
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
    }

    /// A fresh router over the ledger (users as they stand now).
    pub fn router(&self) -> Router {
        router(Arc::new(App::new(SqliteFile(self.db.clone())).unwrap()))
    }

    /// How many rows the ledger holds.
    pub fn count(&self) -> u64 {
        Ledger::open(&self.db)
            .unwrap()
            .events(&ReadFilter::default())
            .count() as u64
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
