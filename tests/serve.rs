//! `shareledger serve` through the binary, on both engines: the web app
//! started by the command line answers requests, a write through its API
//! is read back by the command line, and users added with `shareledger
//! user add` must log in. On PostgreSQL the ledger is a database of the
//! throwaway cluster (`shareledger_store::pg_testing`: skipped without one,
//! failed under `CI`).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{ok, run_with_input, shareledger, succeeded};

/// The server process, stopped (by its own id) when the test ends.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `shareledger --db DB serve --listen 127.0.0.1:PORT`, once it answers.
fn start(db: &Path) -> Server {
    let port = free_port();
    let child = shareledger(db)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut server = Server { child, port };
    let start = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        if let Some(status) = server.child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = server.child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("serve exited ({status}) before answering: {err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "serve did not listen on 127.0.0.1:{port} within a minute"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One HTTP/1.1 request (the connection closed after it): status and body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn unchunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

const HARBOUR: &str = r#"{"type":"issuer_registered","issuer":"08888","name":"Example Harbour Holdings Limited"}
{"type":"share_class_defined","issuer":"08888","class":"ORD","class_of_shares":"Ordinary shares"}
{"type":"opening_balance","issuer":"08888","class":"ORD","date":"2025-05-30","issued_shares":1200000000}
{"type":"repurchase_mandate_granted","issuer":"08888","class":"ORD","resolution_date":"2025-05-22","issued_shares_at_resolution":1200000000}
"#;

const REPURCHASE: &str = r#"{"type":"shares_repurchased","issuer":"08888","class":"ORD","trade_date":"2025-06-13","shares":700000,"currency":"HKD","highest_price":"3.15","lowest_price":"3.10","total_paid":"2184500"}"#;

/// Basic credentials (name:password, base64).
fn basic(name: &str, password: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{name}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
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

fn serve_answers_and_writes(db: &Path, dir: &Path) {
    let seed = dir.join("harbour.jsonl");
    std::fs::write(&seed, HARBOUR).unwrap();
    ok(db, &["import", seed.to_str().unwrap()]);

    // Single user, no login: the issuers, the start page, a write.
    {
        let server = start(db);
        let (status, body) = request(server.port, "GET", "/api/issuers", &[], "");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Example Harbour Holdings Limited"), "{body}");
        let (status, body) = request(server.port, "GET", "/", &[], "");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("08888"), "{body}");
        let (status, body) = request(
            server.port,
            "POST",
            "/api/events",
            &[("Content-Type", "application/x-ndjson")],
            REPURCHASE,
        );
        assert_eq!(status, 201, "{body}");
        // Refused: 422, nothing written.
        let (status, body) = request(
            server.port,
            "POST",
            "/api/events",
            &[("Content-Type", "application/x-ndjson")],
            &REPURCHASE.replace("2025-06-13", "2025-05-29"),
        );
        assert_eq!(status, 422, "{body}");
    }
    let log = ok(db, &["log", "--format", "json"]);
    assert_eq!(log.lines().count(), 5, "{log}");
    assert_eq!(log.matches("shares_repurchased").count(), 1, "{log}");

    // Users, added through the command line into the ledger's access
    // stream: the server asks them to log in.
    succeeded(
        run_with_input(
            db,
            &["user", "add", "olive", "--role", "officer"],
            Some("a long enough passphrase\n"),
        ),
        "user add",
    );
    let users = ok(db, &["user", "list"]);
    assert!(
        users.contains("olive") && users.contains("officer"),
        "{users}"
    );
    let server = start(db);
    let (status, body) = request(server.port, "GET", "/api/issuers", &[], "");
    assert_eq!(status, 401, "{body}");
    let auth = basic("olive", "a long enough passphrase");
    let (status, body) = request(
        server.port,
        "GET",
        "/api/issuers/08888/status?now=2025-06-14",
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"nddr\""),
        "the NDDR of 13 June is due: {body}"
    );
    let (status, body) = request(
        server.port,
        "POST",
        "/api/issuers/08888/returns/nddr/filed",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        r#"{"date":"2025-06-13","submitted_at":"2025-06-13T19:05:00+08:00"}"#,
    );
    assert_eq!(status, 201, "{body}");
    drop(server);
    let log = ok(db, &["log", "--format", "json"]);
    let filed = log
        .lines()
        .find(|l| l.contains("\"return_filed\""))
        .unwrap_or_else(|| panic!("the filing is in the log: {log}"));
    assert!(filed.contains("\"actor\":\"olive\""), "{filed}");
    let audit = ok(db, &["audit", "--issuer", "08888", "--now", "2025-06-14"]);
    assert!(audit.contains("chain: intact"), "{audit}");
}

#[test]
fn serve_on_a_sqlite_file_answers_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    serve_answers_and_writes(&db, dir.path());
}

#[test]
fn serve_on_postgresql_answers_and_writes() {
    let Some(url) = shareledger_store::pg_testing::database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    serve_answers_and_writes(Path::new(&url), dir.path());
}
