//! `shareledger-bench`: shareledger at registrar scale.
//!
//! ```sh
//! cargo run --release -p shareledger-bench -- --events 100000
//! cargo run --release -p shareledger-bench -- --events 100000,1000000,10000000
//! ```
//!
//! For each size it builds a synthetic registrar (see [`gen`]) and measures,
//! each beside a raw-SQLite floor (the same payload rows inserted into and
//! read back from a table of the same shape, without validation or hashing):
//!
//! * bulk import through `ledger::append` (the atomic import path), in
//!   batches of `--batch` events, on disk;
//! * durable single-event appends (`ledger::append` of one event; WAL with
//!   `synchronous=FULL`): p50 and p99;
//! * the whole `audit`, the chain verification alone, and the plain replay
//!   (`ledger::replay_all`), each in a fresh child process that also reports
//!   its peak resident memory;
//! * the NDDR and the Monthly Return of one issuer (`ledger::load_issuer` +
//!   `commands::returns::produce`) in the big store and in a store holding
//!   that issuer alone.
//!
//! `shareledger-bench commands` times the commands users run as whole
//! processes of the release binary instead, beside a raw-SQLite floor and the
//! Python `eventsourcing` peer (see [`commands`]).
//!
//! See docs/performance.md for the figures and what they mean.

mod commands;
mod gen;
mod shapes;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, FixedOffset, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};
use rusqlite::{params, Connection};
use shareledger_core::event::{parse_line, Incoming, SCHEMA_VERSION};
use shareledger_ledger::returns::{produce, ReturnKind, ReturnRequest};
use shareledger_ledger::{self as ledger, AppendOptions, AuditOptions, LedgerError, Lines};
use shareledger_store::Store;
use uuid::Uuid;

use crate::gen::Generator;

#[derive(Debug, Parser)]
#[command(
    name = "shareledger-bench",
    about = "Benchmark shareledger at registrar scale: import, durable append, audit, one issuer's returns, audit memory; each beside a raw-SQLite floor.",
    after_help = "Examples:\n  cargo run --release -p shareledger-bench -- commands [--scale small|default|full]\n  cargo run --release -p shareledger-bench -- --events 100000\n  cargo run --release -p shareledger-bench -- --events 100000,1000000,10000000\n\nSee docs/performance.md."
)]
struct Args {
    /// Total events of the synthetic registrar; a comma-separated list runs each size.
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    events: Vec<usize>,
    /// Events per issuer (the number of issuers is events / this).
    #[arg(long, default_value_t = 1000, global = true)]
    per_issuer: usize,
    /// Events per `ledger::append` call during the bulk import.
    #[arg(long, default_value_t = 10_000, global = true)]
    batch: usize,
    /// Where to build the stores (default: a new directory under the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the stores afterwards.
    #[arg(long)]
    keep: bool,
    /// Runs of each read-side measurement (audit, replay, returns); the median is shown.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Single-event durable appends to time.
    #[arg(long, default_value_t = 200)]
    appends: usize,
    /// Threads of the replay and the audit (default: one per core).
    #[arg(long, default_value_t = ledger::default_threads())]
    threads: usize,
    /// Skip the full audit (chain verify + replay + checks), measuring only the plain replay.
    #[arg(long)]
    skip_audit: bool,
    #[command(subcommand)]
    child: Option<Sub>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// The commands users run, as whole processes of the release `shareledger`
    /// binary, beside a raw-SQLite floor and the Python `eventsourcing` peer
    /// (docs/performance.md, "Whole commands").
    Commands(commands::CommandsArgs),
    /// (internal) Run a command, wait for it, print its wall time and peak RSS as JSON.
    #[command(hide = true)]
    Exec {
        #[arg(long)]
        stdout: PathBuf,
        #[arg(long)]
        stderr: PathBuf,
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
    /// (internal) The floor of `import`: the file's lines into a raw table, one transaction.
    #[command(hide = true)]
    FloorInsert { file: PathBuf, db: PathBuf },
    /// (internal) The floor of the reads: every row, or one stream's.
    #[command(hide = true)]
    FloorRead {
        db: PathBuf,
        #[arg(long)]
        stream: Option<String>,
    },
    /// (internal) The floor of `record`: one row, one transaction.
    #[command(hide = true)]
    FloorOne {
        db: PathBuf,
        #[arg(long)]
        stream: String,
    },
    /// (internal) Run one read-side measurement in this process and print it as JSON.
    #[command(hide = true)]
    Child {
        #[arg(long, value_enum)]
        mode: Mode,
        #[arg(long)]
        db: PathBuf,
        /// `now` of the audit (RFC 3339; default: now).
        #[arg(long)]
        now: Option<String>,
        /// Threads of the replay.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// `import` only: events to import (into a new file --db).
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// `import` only: append to an existing --db, from this issuer on
        /// (the issuers before it are already there).
        #[arg(long)]
        from_issuer: Option<usize>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// `commands::audit::audit_with_threads(&store, None, None, now, threads)`.
    Audit,
    /// `Store::verify` alone (the chain check of the audit).
    Verify,
    /// `ledger::replay_all`: replay only.
    Replay,
    /// Raw SQLite: read every row of the floor table back.
    RawRead,
    /// Bulk import: `--events` generated events into a new `--db`.
    Import,
    /// Raw SQLite floor of the import: the same rows into the floor table.
    RawInsert,
}

fn main() {
    let args = Args::parse();
    let done = match &args.child {
        Some(Sub::Commands(a)) => Some(commands::run(a)),
        Some(Sub::Exec {
            stdout,
            stderr,
            argv,
        }) => Some(commands::exec(stdout, stderr, argv)),
        Some(Sub::FloorInsert { file, db }) => Some(commands::floor_insert(file, db)),
        Some(Sub::FloorRead { db, stream }) => Some(commands::floor_read(db, stream.as_deref())),
        Some(Sub::FloorOne { db, stream }) => Some(commands::floor_one(db, stream)),
        _ => None,
    };
    if let Some(r) = done {
        if let Err(e) = r {
            eprintln!("shareledger-bench: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Some(Sub::Child {
        mode,
        db,
        now,
        threads,
        events,
        from_issuer,
    }) = &args.child
    {
        let now = now.as_deref().map_or_else(hk_now, |t| {
            DateTime::parse_from_rfc3339(t).expect("--now is RFC 3339")
        });
        if matches!(mode, Mode::Import | Mode::RawInsert) {
            let raw = *mode == Mode::RawInsert;
            import_only(db, *events, args.per_issuer, args.batch, *from_issuer, raw);
            return;
        }
        child(*mode, db, now, *threads);
        return;
    }
    if let Err(e) = run(&args) {
        eprintln!("shareledger-bench: {e}");
        std::process::exit(1);
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn err(e: LedgerError) -> Box<dyn std::error::Error> {
    e.to_string().into()
}

/// A reader of the ledger file, with the small page cache of readers.
fn open_existing(db: &Path) -> Result<Store, LedgerError> {
    let mut store = Store::open_existing(db)?;
    store.set_cache_size_kib(shareledger_store::READ_CACHE_KIB)?;
    Ok(store)
}

/// Peak resident set of this process (VmHWM), in KiB.
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Import `events` generated events into a new ledger at `db` (or, with
/// `from`, append issuers `from..` to an existing one) through
/// `ledger::append` in batches of `batch` — or, with `raw`, insert the same
/// payload rows into the raw floor table. Generation and parsing happen
/// before each batch and are timed apart. Prints one JSON line.
fn import_only(db: &Path, events: usize, per: usize, batch: usize, from: Option<usize>, raw: bool) {
    if from.is_none() {
        remove_db(db);
    }
    let gen = Generator::new(per.max(gen::MIN_PER_ISSUER));
    let first = from.unwrap_or(0);
    let issuers = first + (events / per).max(1);
    let mut store = (!raw).then(|| Store::open(db).expect("open"));
    let mut floor = raw.then(|| {
        let conn = floor_open(db).expect("open floor");
        if from.is_none() {
            conn.execute_batch(FLOOR_SCHEMA).expect("floor schema");
        }
        conn
    });
    let mut versions = std::collections::HashMap::new();
    let mut position = 0u64;
    let mut pending = if from.is_none() {
        gen.market_lines()
    } else {
        Vec::new()
    };
    let (mut t_write, mut t_parse) = (Duration::ZERO, Duration::ZERO);
    let mut cpu = 0.0;
    let mut cpu_main = 0.0;
    let mut n = 0usize;
    let started = Instant::now();
    let mut batches = 0usize;
    let progress_every = (events / batch.max(1) / 10).max(1);
    for i in first..=issuers {
        if i < issuers {
            pending.extend(gen.issuer_lines(i));
        }
        if pending.len() >= batch || (i == issuers && !pending.is_empty()) {
            let t = Instant::now();
            let lines = parse(&pending);
            t_parse += t.elapsed();
            pending.clear();
            n += lines.len();
            let now = hk_now();
            if let Some(store) = &mut store {
                let t = Instant::now();
                let c = cpu_seconds();
                let m = thread_cpu_seconds();
                let summary = ledger::append::append(
                    store,
                    lines,
                    now,
                    "bench",
                    AppendOptions::dry_run(false),
                )
                .expect("append");
                cpu += cpu_seconds() - c;
                cpu_main += thread_cpu_seconds() - m;
                t_write += t.elapsed();
                drop(summary);
            } else if let Some(conn) = &mut floor {
                let rows = raw_rows(lines, now, &mut versions);
                let t = Instant::now();
                let c = cpu_seconds();
                raw_insert(conn, &rows, &mut position).expect("raw insert");
                cpu += cpu_seconds() - c;
                t_write += t.elapsed();
            }
            batches += 1;
            if batches.is_multiple_of(progress_every) {
                eprintln!(
                    "   {} {n} events ({:.0} events/s; {:.0}s elapsed)",
                    if raw { "raw-inserted" } else { "imported" },
                    n as f64 / secs(t_write),
                    secs(started.elapsed())
                );
            }
        }
    }
    println!(
        "{{\"events\":{n},\"seconds\":{},\"parse_seconds\":{},\"events_per_s\":{},\"cpu_us_per_event\":{},\"main_thread_cpu_us_per_event\":{},\"vm_hwm_kib\":{}}}",
        secs(t_write),
        secs(t_parse),
        n as f64 / secs(t_write),
        cpu * 1e6 / n as f64,
        cpu_main * 1e6 / n as f64,
        vm_hwm_kib()
    );
}

/// User + system CPU time of the calling thread so far, seconds.
fn thread_cpu_seconds() -> f64 {
    // SAFETY: an all-zero rusage is valid; getrusage fills it in.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_THREAD with a valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// User + system CPU time of this process so far, seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: an all-zero rusage is valid; getrusage fills it in.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn child(mode: Mode, db: &Path, now: DateTime<FixedOffset>, threads: usize) {
    let start = Instant::now();
    let (events, extra) = match mode {
        Mode::Audit => {
            let store = open_existing(db).expect("open");
            let options = AuditOptions {
                threads,
                ..AuditOptions::default()
            };
            let report =
                ledger::audit::audit(&store, &options, now, &|_, _| {}).expect("audit runs");
            let errors = report
                .findings
                .iter()
                .filter(|f| f.severity == shareledger_returns_severity_error())
                .count();
            (
                report.events,
                format!(
                    "\"findings\":{},\"errors\":{},\"ok\":{}",
                    report.findings.len(),
                    errors,
                    report.ok
                ),
            )
        }
        Mode::Verify => {
            let store = open_existing(db).expect("open");
            let v = store.verify().expect("verify runs");
            assert!(v.is_intact(), "chain broken: {v:?}");
            (v.events, "\"ok\":true".to_string())
        }
        Mode::Replay => {
            let store = open_existing(db).expect("open");
            let n = ledger::replay::replay_all(&store, threads).expect("replays");
            (n, "\"ok\":true".to_string())
        }
        Mode::RawRead => (raw_read_all(db), "\"ok\":true".to_string()),
        Mode::Import | Mode::RawInsert => unreachable!("handled by import_only"),
    };
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"events\":{events},\"seconds\":{secs},\"cpu_seconds\":{},\"vm_hwm_kib\":{},{extra}}}",
        cpu_seconds(),
        vm_hwm_kib()
    );
}

fn shareledger_returns_severity_error() -> shareledger_returns::checks::Severity {
    shareledger_returns::checks::Severity::Error
}

/// A read-side measurement: median rate, CPU per event, peak RSS.
struct Measured {
    eps: f64,
    cpu_us: f64,
    peak_mb: f64,
    last: ChildRun,
}

/// What a child reported, plus its peak RSS from `wait4`.
#[derive(Debug, Clone)]
struct ChildRun {
    events: u64,
    seconds: f64,
    peak_kib: u64,
    #[allow(dead_code)]
    rusage_maxrss_kib: u64,
    json: serde_json::Value,
}

fn run_child(mode: Mode, db: &Path, now: DateTime<FixedOffset>, threads: usize) -> Res<ChildRun> {
    run_child_with(mode, db, now, threads, &[])
}

/// Run `shareledger-bench child --mode MODE ...` (plus `extra` arguments)
/// and read its JSON line.
fn run_child_with(
    mode: Mode,
    db: &Path,
    now: DateTime<FixedOffset>,
    threads: usize,
    extra: &[String],
) -> Res<ChildRun> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["child", "--mode"])
        .arg(mode.to_possible_value().expect("named").get_name())
        .arg("--db")
        .arg(db)
        .arg("--now")
        .arg(now.to_rfc3339())
        .arg("--threads")
        .arg(threads.to_string())
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut out)?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std's Child is never waited on).
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("child {mode:?} failed (status {status}): {out}").into());
    }
    let json: serde_json::Value = serde_json::from_str(out.trim())?;
    Ok(ChildRun {
        events: json["events"].as_u64().unwrap_or(0),
        seconds: json["seconds"].as_f64().unwrap_or(f64::NAN),
        // The child's own VmHWM. (wait4's ru_maxrss is not used: Linux carries
        // the spawning process's high-water mark across exec into it, so it
        // reports this benchmark's own peak instead of the child's.)
        peak_kib: json["vm_hwm_kib"].as_u64().unwrap_or(0),
        rusage_maxrss_kib: usage.ru_maxrss as u64,
        json,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Parse generated lines into the import path's input.
fn parse(lines: &[String]) -> Lines {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i + 1, parse_line(l).expect("generated lines parse")))
        .collect()
}

/// Every figure of one size.
#[derive(Debug, Default, Clone)]
struct Figures {
    events: u64,
    issuers: usize,
    import_eps: f64,
    import_with_parse_eps: f64,
    floor_insert_eps: f64,
    import_cpu_us: f64,
    floor_insert_cpu_us: f64,
    import_peak_mb: f64,
    import_main_cpu_us: f64,
    append_p50_ms: f64,
    append_p99_ms: f64,
    floor_append_p50_ms: f64,
    floor_append_p99_ms: f64,
    audit_eps: Option<f64>,
    audit_findings: Option<(u64, u64)>,
    verify_eps: Option<f64>,
    audit_cpu_us: Option<f64>,
    replay_eps: f64,
    replay1_eps: Option<f64>,
    replay_cpu_us: f64,
    floor_read_eps: f64,
    floor_read_cpu_us: f64,
    nddr_ms: f64,
    nddr_alone_ms: f64,
    monthly_ms: f64,
    monthly_alone_ms: f64,
    floor_issuer_read_ms: f64,
    audit_peak_mb: Option<f64>,
    replay_peak_mb: f64,
    floor_read_peak_mb: f64,
    db_mb: f64,
}

const FLOOR_SCHEMA: &str = "CREATE TABLE events (
    position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL, schema_version INTEGER NOT NULL,
    payload TEXT NOT NULL, effective_date TEXT, recorded_at TEXT NOT NULL,
    actor TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
    UNIQUE (stream, version)) STRICT";

const FLOOR_INSERT: &str = "INSERT INTO events (position, stream, version, id, event_type, \
    schema_version, payload, effective_date, recorded_at, actor, prev_hash, hash) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

fn floor_open(path: &Path) -> Res<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "page_size", 8192)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // The ledger's own page cache, so the floor is like for like.
    conn.pragma_update(
        None,
        "cache_size",
        -i64::from(shareledger_store::WRITE_CACHE_KIB),
    )?;
    Ok(conn)
}

/// A row of the floor table: what the ledger would store, minus the hashing.
struct RawRow {
    stream: String,
    version: u64,
    id: String,
    event_type: &'static str,
    payload: String,
    effective_date: Option<String>,
    recorded_at: String,
}

const FAKE_HASH: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fn raw_rows(
    lines: Lines,
    now: DateTime<FixedOffset>,
    versions: &mut std::collections::HashMap<String, u64>,
) -> Vec<RawRow> {
    let recorded_at = ledger::time::store_time(&now);
    lines
        .into_iter()
        .map(|(_, inc)| {
            // The ids the ledger draws (UUIDv7), so the floor is like for like.
            let rec = inc.into_recorded(Uuid::now_v7, now, "bench");
            let stream = rec.event.stream().to_string();
            let v = versions.entry(stream.clone()).or_insert(0);
            *v += 1;
            RawRow {
                version: *v,
                stream,
                id: rec.id.to_string(),
                event_type: rec.event.type_name(),
                payload: rec.payload(),
                effective_date: rec.event.effective_date().map(|d| d.to_string()),
                recorded_at: recorded_at.clone(),
            }
        })
        .collect()
}

fn raw_insert(conn: &mut Connection, rows: &[RawRow], position: &mut u64) -> Res<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut st = tx.prepare_cached(FLOOR_INSERT)?;
        for r in rows {
            *position += 1;
            st.execute(params![
                *position,
                r.stream,
                r.version,
                r.id,
                r.event_type,
                SCHEMA_VERSION,
                r.payload,
                r.effective_date,
                r.recorded_at,
                "bench",
                FAKE_HASH,
                FAKE_HASH
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Raw floor of the audit's read: every row back, every column into memory.
fn raw_read_all(db: &Path) -> u64 {
    let conn = Connection::open(db).expect("open floor");
    let mut st = conn
        .prepare(
            "SELECT position, stream, version, id, event_type, schema_version, payload, \
             effective_date, recorded_at, actor, prev_hash, hash FROM events ORDER BY position",
        )
        .expect("prepare");
    let mut rows = st.query([]).expect("query");
    let mut n = 0u64;
    let mut bytes = 0usize;
    while let Some(r) = rows.next().expect("row") {
        let payload: String = r.get(6).expect("payload");
        let id: String = r.get(3).expect("id");
        let stream: String = r.get(1).expect("stream");
        let hash: String = r.get(11).expect("hash");
        let prev: String = r.get(10).expect("prev");
        let at: String = r.get(8).expect("at");
        let ty: String = r.get(4).expect("type");
        let actor: String = r.get(9).expect("actor");
        let eff: Option<String> = r.get(7).expect("eff");
        let _: u64 = r.get(0).expect("pos");
        let _: u64 = r.get(2).expect("ver");
        let _: u32 = r.get(5).expect("sv");
        bytes += payload.len()
            + id.len()
            + stream.len()
            + hash.len()
            + prev.len()
            + at.len()
            + ty.len()
            + actor.len()
            + eff.map_or(0, |e| e.len());
        n += 1;
    }
    std::hint::black_box(bytes);
    n
}

/// Raw floor of one issuer's read: that stream's rows through its index.
fn raw_read_stream(conn: &Connection, stream: &str) -> Res<u64> {
    let mut st = conn.prepare_cached(
        "SELECT position, stream, version, id, event_type, schema_version, payload, \
         effective_date, recorded_at, actor, prev_hash, hash FROM events \
         WHERE stream = ?1 ORDER BY version",
    )?;
    let mut rows = st.query([stream])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let payload: String = r.get(6)?;
        std::hint::black_box(payload);
        let id: String = r.get(3)?;
        std::hint::black_box(id);
        n += 1;
    }
    Ok(n)
}

fn file_mb(path: &Path) -> f64 {
    let mut total = 0u64;
    for suffix in ["", "-wal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        total += std::fs::metadata(PathBuf::from(p)).map_or(0, |m| m.len());
    }
    total as f64 / 1e6
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn hk_now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

/// One NDDR and one Monthly Return of `issuer` from `store` as the `return`
/// command makes them (`ledger::load_issuer` + `returns::produce`): (ms, ms).
fn one_return_pair(store: &Store, issuer: &str, date: NaiveDate, month: &str) -> Res<(f64, f64)> {
    let t = Instant::now();
    let register = ledger::replay::load_issuer(store, issuer, None).map_err(err)?;
    let req = ReturnRequest::new(issuer, ReturnKind::Nddr { date, form: None });
    let doc = produce(&register, &req).map_err(err)?;
    std::hint::black_box(&doc.json);
    let a = secs(t.elapsed()) * 1e3;
    let t = Instant::now();
    let register = ledger::replay::load_issuer(store, issuer, None).map_err(err)?;
    let req = ReturnRequest::new(issuer, ReturnKind::monthly(month).map_err(err)?);
    let doc = produce(&register, &req).map_err(err)?;
    std::hint::black_box(&doc.json);
    Ok((a, secs(t.elapsed()) * 1e3))
}

/// Time the NDDR and the Monthly Return of `issuer` in the big store and in
/// the store of that issuer alone, interleaved (so machine noise hits both
/// alike): medians of `runs`, after one unmeasured warm-up of each.
fn time_returns(
    big: &Path,
    alone: &Path,
    issuer: &str,
    date: NaiveDate,
    month: (i32, u32),
    runs: usize,
) -> Res<[f64; 4]> {
    let big = open_existing(big).map_err(err)?;
    let alone = open_existing(alone).map_err(err)?;
    let month = format!("{}-{:02}", month.0, month.1);
    let mut v: [Vec<f64>; 4] = Default::default();
    for i in 0..=runs {
        let (a, b) = one_return_pair(&big, issuer, date, &month)?;
        let (c, d) = one_return_pair(&alone, issuer, date, &month)?;
        if i > 0 {
            for (k, x) in [a, b, c, d].into_iter().enumerate() {
                v[k].push(x);
            }
        }
    }
    Ok(v.map(median))
}

fn run_size(args: &Args, root: &Path, target: usize) -> Res<Figures> {
    let per = args.per_issuer.max(gen::MIN_PER_ISSUER);
    let issuers = (target / per).max(1);
    let gen = Generator::new(per);
    let dir = root.join(format!("events-{target}"));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("ledger.db");
    let floor_db = dir.join("floor.db");
    let alone_db = dir.join("alone.db");
    for p in [&db, &floor_db, &alone_db] {
        remove_db(p);
    }
    let audit_now: DateTime<FixedOffset> = {
        let end = gen.last_date() + Days::new(1);
        format!("{end}T00:00:00+08:00").parse()?
    };
    let (ret_date, ret_month) = gen.return_dates();
    let mut f = Figures {
        issuers,
        ..Figures::default()
    };
    eprintln!(
        "== {} events: {issuers} issuers × {per} events (+{} market), batches of {}, in {}",
        issuers * per,
        gen.market_lines().len(),
        args.batch,
        dir.display()
    );

    // Bulk import through the real path, then the raw-insert floor of the
    // same rows, each in a child process of its own (generation and parsing
    // happen there before each batch and are not timed).
    let extra = |from_scratch: usize| -> Vec<String> {
        vec![
            "--events".into(),
            from_scratch.to_string(),
            "--per-issuer".into(),
            per.to_string(),
            "--batch".into(),
            args.batch.to_string(),
        ]
    };
    let imp = run_child_with(Mode::Import, &db, audit_now, 1, &extra(issuers * per))?;
    let raw = run_child_with(
        Mode::RawInsert,
        &floor_db,
        audit_now,
        1,
        &extra(issuers * per),
    )?;
    let imported = imp.events;
    assert_eq!(raw.events, imported, "the floor inserted other rows");
    let parse_s = imp.json["parse_seconds"].as_f64().unwrap_or(0.0);
    f.events = imported;
    f.import_eps = imported as f64 / imp.seconds;
    f.import_with_parse_eps = imported as f64 / (imp.seconds + parse_s);
    f.floor_insert_eps = imported as f64 / raw.seconds;
    f.import_cpu_us = imp.json["cpu_us_per_event"].as_f64().unwrap_or(f64::NAN);
    f.floor_insert_cpu_us = raw.json["cpu_us_per_event"].as_f64().unwrap_or(f64::NAN);
    f.import_peak_mb = imp.peak_kib as f64 / 1024.0;
    f.import_main_cpu_us = imp.json["main_thread_cpu_us_per_event"]
        .as_f64()
        .unwrap_or(f64::NAN);
    f.db_mb = file_mb(&db);
    eprintln!(
        "   import: {:.0} events/s, {:.2} µs CPU/event (with parsing {:.0}/s), peak RSS {:.1} MiB; raw insert floor {:.0} rows/s, {:.2} µs CPU/row; ledger {:.0} MB",
        f.import_eps, f.import_cpu_us, f.import_with_parse_eps, f.import_peak_mb, f.floor_insert_eps, f.floor_insert_cpu_us, f.db_mb
    );

    let mut floor = floor_open(&floor_db)?;

    // Audit, verify, replay and the raw read, each in a child process.
    let repeat = args.repeat.max(1);
    let measure = |mode: Mode, path: &Path, threads: usize| -> Res<Measured> {
        let mut times = Vec::new();
        let mut cpu = Vec::new();
        let mut peak = 0u64;
        let mut last = None;
        for _ in 0..repeat {
            let r = run_child(mode, path, audit_now, threads)?;
            assert_eq!(r.events, imported, "{mode:?} saw {} events", r.events);
            times.push(r.seconds);
            cpu.push(r.json["cpu_seconds"].as_f64().unwrap_or(f64::NAN));
            peak = peak.max(r.peak_kib);
            last = Some(r);
        }
        let m = Measured {
            eps: imported as f64 / median(times),
            cpu_us: median(cpu) * 1e6 / imported as f64,
            peak_mb: peak as f64 / 1024.0,
            last: last.expect("ran"),
        };
        eprintln!(
            "   {mode:?} ({threads} thread{}): {:.0} events/s, {:.2} µs CPU/event, peak RSS {:.1} MiB",
            if threads == 1 { "" } else { "s" },
            m.eps,
            m.cpu_us,
            m.peak_mb
        );
        Ok(m)
    };
    let m = measure(Mode::Replay, &db, args.threads)?;
    f.replay_eps = m.eps;
    f.replay_cpu_us = m.cpu_us;
    f.replay_peak_mb = m.peak_mb;
    if args.threads != 1 {
        let m = measure(Mode::Replay, &db, 1)?;
        f.replay1_eps = Some(m.eps);
    }
    let m = measure(Mode::RawRead, &floor_db, 1)?;
    f.floor_read_eps = m.eps;
    f.floor_read_cpu_us = m.cpu_us;
    f.floor_read_peak_mb = m.peak_mb;
    if !args.skip_audit {
        let m = measure(Mode::Verify, &db, 1)?;
        f.verify_eps = Some(m.eps);
        let m = measure(Mode::Audit, &db, args.threads)?;
        f.audit_eps = Some(m.eps);
        f.audit_cpu_us = Some(m.cpu_us);
        f.audit_peak_mb = Some(m.peak_mb);
        f.audit_findings = Some((
            m.last.json["findings"].as_u64().unwrap_or(0),
            m.last.json["errors"].as_u64().unwrap_or(0),
        ));
    }

    // One issuer's returns: in the big store, and in a store of that issuer alone.
    let issuer = Generator::issuer_id(0);
    {
        let mut alone = Store::open(&alone_db)?;
        let mut lines = gen.market_lines();
        lines.extend(gen.issuer_lines(0));
        ledger::append::append(
            &mut alone,
            parse(&lines),
            hk_now(),
            "bench",
            AppendOptions::dry_run(false),
        )
        .map_err(err)?;
    }
    let [nddr, monthly, nddr_alone, monthly_alone] = time_returns(
        &db,
        &alone_db,
        &issuer,
        ret_date,
        ret_month,
        (repeat * 5).max(11),
    )?;
    f.nddr_ms = nddr;
    f.monthly_ms = monthly;
    f.nddr_alone_ms = nddr_alone;
    f.monthly_alone_ms = monthly_alone;
    let mut reads = Vec::new();
    for _ in 0..=repeat.max(5) {
        let t = Instant::now();
        let n = raw_read_stream(&floor, &issuer)?;
        reads.push(secs(t.elapsed()) * 1e3);
        assert_eq!(n as usize, per);
    }
    reads.remove(0);
    f.floor_issuer_read_ms = median(reads);
    eprintln!(
        "   issuer {issuer}: NDDR {:.2} ms (alone {:.2}), Monthly {:.2} ms (alone {:.2}); raw read of its rows {:.2} ms",
        f.nddr_ms, f.nddr_alone_ms, f.monthly_ms, f.monthly_alone_ms, f.floor_issuer_read_ms
    );

    // Durable single-event appends, and the raw single-row floor.
    let mut store = Store::open(&db)?;
    let mut floor_pos: u64 =
        floor.query_row("SELECT coalesce(max(position), 0) FROM events", [], |r| {
            r.get(0)
        })?;
    let mut versions = std::collections::HashMap::new();
    let mut lat = Vec::new();
    let mut floor_lat = Vec::new();
    let grant_date = gen.last_date();
    for k in 0..args.appends {
        let issuer = Generator::issuer_id((k * 7919) % issuers);
        let line = serde_json::json!({"type": "share_options_granted", "issuer": issuer,
            "scheme": "2021 Share Option Scheme", "date": grant_date.to_string(), "options": 1000})
        .to_string();
        let inc: Incoming = parse_line(&line).expect("parses");
        let now = hk_now();
        let t = Instant::now();
        ledger::append::append(
            &mut store,
            vec![(1, inc.clone())],
            now,
            "bench",
            AppendOptions::dry_run(false),
        )
        .map_err(err)?;
        lat.push(secs(t.elapsed()) * 1e3);
        if !versions.contains_key(&issuer) {
            let v: u64 = floor.query_row(
                "SELECT coalesce(max(version), 0) FROM events WHERE stream = ?1",
                [&issuer],
                |r| r.get(0),
            )?;
            versions.insert(issuer.clone(), v);
        }
        let rows = raw_rows(vec![(1, inc)], now, &mut versions);
        let t = Instant::now();
        raw_insert(&mut floor, &rows, &mut floor_pos)?;
        floor_lat.push(secs(t.elapsed()) * 1e3);
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    floor_lat.sort_by(|a, b| a.total_cmp(b));
    f.append_p50_ms = percentile(&lat, 0.5);
    f.append_p99_ms = percentile(&lat, 0.99);
    f.floor_append_p50_ms = percentile(&floor_lat, 0.5);
    f.floor_append_p99_ms = percentile(&floor_lat, 0.99);
    eprintln!(
        "   single append: p50 {:.2} ms, p99 {:.2} ms (raw floor p50 {:.2}, p99 {:.2})",
        f.append_p50_ms, f.append_p99_ms, f.floor_append_p50_ms, f.floor_append_p99_ms
    );
    drop(store);
    drop(floor);
    if !args.keep {
        for p in [&db, &floor_db, &alone_db] {
            remove_db(p);
        }
        let _ = std::fs::remove_dir(&dir);
    }
    Ok(f)
}

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M/s", x / 1e6)
    } else {
        format!("{:.0} k/s", x / 1e3)
    }
}

fn fmt_ms(x: f64) -> String {
    format!("{x:.2} ms")
}

fn yes(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "NO"
    }
}

fn table(all: &[Figures], threads: usize) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "figure",
        "events",
        "shareledger",
        "raw SQLite floor",
        "vs floor",
        "target",
        "met",
    ]);
    for f in all {
        let ev = format!("{}", f.events);
        let mut row = |name: &str, v: &str, floor: &str, ratio: &str, target: &str, met: &str| {
            t.add_row(vec![
                Cell::new(name),
                Cell::new(&ev).set_alignment(CellAlignment::Right),
                Cell::new(v).set_alignment(CellAlignment::Right),
                Cell::new(floor).set_alignment(CellAlignment::Right),
                Cell::new(ratio).set_alignment(CellAlignment::Right),
                Cell::new(target),
                Cell::new(met),
            ]);
        };
        let ratio = |a: f64, b: f64| format!("{:.2}×", a / b);
        row(
            "bulk import (ledger::append), events/s",
            &fmt_rate(f.import_eps),
            &fmt_rate(f.floor_insert_eps),
            &ratio(f.import_eps, f.floor_insert_eps),
            "≥ 200 k/s and ≥ 0.5× floor",
            yes(f.import_eps >= 200_000.0 && f.import_eps >= 0.5 * f.floor_insert_eps),
        );
        row(
            "  import CPU per event",
            &format!("{:.2} µs", f.import_cpu_us),
            &format!("{:.2} µs", f.floor_insert_cpu_us),
            &ratio(f.import_cpu_us, f.floor_insert_cpu_us),
            "",
            "",
        );
        let other = f.import_cpu_us - f.import_main_cpu_us;
        row(
            "  of which the writing thread / the deciding thread",
            &format!("{:.2} / {:.2} µs", f.import_main_cpu_us, other),
            "",
            "",
            &format!(
                "idle 2 cores: ≈{}",
                fmt_rate(1e6 / f.import_main_cpu_us.max(other))
            ),
            "",
        );
        row(
            "  import incl. JSON-line parsing",
            &fmt_rate(f.import_with_parse_eps),
            &fmt_rate(f.floor_insert_eps),
            &ratio(f.import_with_parse_eps, f.floor_insert_eps),
            "",
            "",
        );
        row(
            "durable single append p50",
            &fmt_ms(f.append_p50_ms),
            &fmt_ms(f.floor_append_p50_ms),
            &ratio(f.append_p50_ms, f.floor_append_p50_ms),
            "",
            "",
        );
        row(
            "durable single append p99",
            &fmt_ms(f.append_p99_ms),
            &fmt_ms(f.floor_append_p99_ms),
            &ratio(f.append_p99_ms, f.floor_append_p99_ms),
            "",
            "",
        );
        if let Some(a) = f.audit_eps {
            let (n, e) = f.audit_findings.unwrap_or_default();
            row(
                &format!("audit, whole ({n} findings, {e} errors, {threads} threads), events/s"),
                &fmt_rate(a),
                &fmt_rate(f.floor_read_eps),
                &ratio(a, f.floor_read_eps),
                "",
                "",
            );
        }
        if let Some(v) = f.verify_eps {
            row(
                "  audit: chain verify alone, events/s",
                &fmt_rate(v),
                &fmt_rate(f.floor_read_eps),
                &ratio(v, f.floor_read_eps),
                "",
                "",
            );
        }
        row(
            &format!("audit replay (ledger::replay_all, {threads} threads), events/s"),
            &fmt_rate(f.replay_eps),
            &fmt_rate(f.floor_read_eps),
            &ratio(f.replay_eps, f.floor_read_eps),
            "≥ 1 M/s",
            yes(f.replay_eps >= 1e6),
        );
        if let Some(r1) = f.replay1_eps {
            row(
                "  replay on 1 thread, events/s",
                &fmt_rate(r1),
                &fmt_rate(f.floor_read_eps),
                &ratio(r1, f.floor_read_eps),
                "",
                "",
            );
        }
        row(
            "  replay CPU per event (all threads)",
            &format!("{:.2} µs", f.replay_cpu_us),
            &format!("{:.2} µs", f.floor_read_cpu_us),
            &ratio(f.replay_cpu_us, f.floor_read_cpu_us),
            &format!(
                "{threads} free cores: ≈{}",
                fmt_rate(threads as f64 * 1e6 / f.replay_cpu_us)
            ),
            "",
        );
        row(
            "NDDR of one issuer",
            &fmt_ms(f.nddr_ms),
            &fmt_ms(f.floor_issuer_read_ms),
            &ratio(f.nddr_ms, f.floor_issuer_read_ms),
            "≤ 20 ms, ≤ alone",
            yes(f.nddr_ms <= 20.0 && f.nddr_ms <= f.nddr_alone_ms * 1.25),
        );
        row(
            "  NDDR, store of that issuer alone",
            &fmt_ms(f.nddr_alone_ms),
            "",
            "",
            "",
            "",
        );
        row(
            "Monthly Return of one issuer",
            &fmt_ms(f.monthly_ms),
            &fmt_ms(f.floor_issuer_read_ms),
            &ratio(f.monthly_ms, f.floor_issuer_read_ms),
            "≤ 20 ms, ≤ alone",
            yes(f.monthly_ms <= 20.0 && f.monthly_ms <= f.monthly_alone_ms * 1.25),
        );
        row(
            "  Monthly, store of that issuer alone",
            &fmt_ms(f.monthly_alone_ms),
            "",
            "",
            "",
            "",
        );
        if let Some(m) = f.audit_peak_mb {
            row(
                "audit peak RSS (child process)",
                &format!("{m:.1} MiB"),
                &format!("{:.1} MiB", f.floor_read_peak_mb),
                "",
                "≤ 100 MB, flat",
                yes(m * 1.048_576 <= 100.0),
            );
        }
        row(
            "replay peak RSS (child process)",
            &format!("{:.1} MiB", f.replay_peak_mb),
            &format!("{:.1} MiB", f.floor_read_peak_mb),
            "",
            "",
            "",
        );
        row(
            "ledger file size",
            &format!("{:.0} MB", f.db_mb),
            "",
            "",
            "",
            "",
        );
    }
    t
}

fn print_growth(all: &[Figures]) {
    if all.len() < 2 {
        return;
    }
    let (a, b) = (&all[0], &all[all.len() - 1]);
    let x = b.events as f64 / a.events as f64;
    println!(
        "\nGrowth from {} to {} events (×{x:.0} events, {} → {} issuers):",
        a.events, b.events, a.issuers, b.issuers
    );
    let line = |name: &str, r: f64, what: &str| {
        println!("  {name:<34} ×{r:.2} {what}");
    };
    line(
        "import rate",
        b.import_eps / a.import_eps,
        "(1.00 = import time linear in events)",
    );
    line(
        "replay rate",
        b.replay_eps / a.replay_eps,
        "(1.00 = replay time linear in events)",
    );
    if let (Some(p), Some(q)) = (a.audit_eps, b.audit_eps) {
        line("audit rate", q / p, "(1.00 = audit time linear in events)");
    }
    line(
        "one issuer's NDDR time",
        b.nddr_ms / a.nddr_ms,
        "(1.00 = flat in the other issuers' events)",
    );
    line(
        "one issuer's Monthly time",
        b.monthly_ms / a.monthly_ms,
        "(1.00 = flat in the other issuers' events)",
    );
    line(
        "single append p50",
        b.append_p50_ms / a.append_p50_ms,
        "(1.00 = flat)",
    );
    if let (Some(p), Some(q)) = (a.audit_peak_mb, b.audit_peak_mb) {
        line("audit peak RSS", q / p, "(1.00 = flat memory)");
    }
}

fn run(args: &Args) -> Res<()> {
    let (root, _guard) = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            (d.clone(), None)
        }
        None => {
            let d = std::env::temp_dir().join(format!("shareledger-bench-{}", std::process::id()));
            std::fs::create_dir_all(&d)?;
            (d.clone(), Some(RemoveOnDrop(d, args.keep)))
        }
    };
    let mut all = Vec::new();
    for &n in &args.events {
        let f = run_size(args, &root, n)?;
        all.push(f);
        // Show the figures so far as we go (the large sizes take long);
        // the full table is printed at the end, on standard output.
        eprintln!("{}", table(&all, args.threads));
    }
    println!("{}", table(&all, args.threads));
    print_growth(&all);
    Ok(())
}

struct RemoveOnDrop(PathBuf, bool);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if !self.1 {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
