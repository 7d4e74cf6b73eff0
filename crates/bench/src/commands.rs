//! `shareledger-bench commands`: the commands users run, timed as whole
//! processes of the release `shareledger` binary, beside a raw-SQLite floor
//! and the Python `eventsourcing` peer, all in the same run.
//!
//! ```sh
//! cargo run --release -p shareledger-bench -- commands                 # default scale
//! cargo run --release -p shareledger-bench -- commands --scale small   # a smoke run, a few minutes
//! cargo run --release -p shareledger-bench -- commands --scale full    # adds 10M events
//! ```
//!
//! Every timed process (shareledger, the floor, the peer) is started by a
//! small process of this binary (`exec`), which forks it, waits for it with
//! `wait4` and reports the wall time and the child's `ru_maxrss`. (Started
//! straight from this driver, `ru_maxrss` would carry the driver's own peak
//! across `exec`; the `exec` process is a few MB, below any command's.)
//! The Markdown table goes to standard output and to `--out`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use chrono::{Days, NaiveDate, Utc};
use rusqlite::params;
use shareledger_core::event::SCHEMA_VERSION;
use uuid::Uuid;

use crate::shapes::{self, Filing, Shape};
use crate::Res;

/// The peer, written next to the stores at each run.
const PEER_PY: &str = include_str!("peer.py");
const PEER_VERSION: &str = "9.5.6";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// 100k and 502k registrar files, one issuer of 100k events: the smoke run.
    Small,
    /// Small, plus 1M-event registrar and one issuer of 1M events.
    Default,
    /// Default, plus a 10M-event registrar (long: tens of minutes, ~40 GB of disk).
    Full,
}

#[derive(Debug, clap::Args)]
pub struct CommandsArgs {
    /// Which sizes to run.
    #[arg(long, value_enum, default_value = "default")]
    pub scale: Scale,
    /// The `shareledger` binary to time (default: build the release binary
    /// of this workspace with cargo, next to this benchmark's).
    #[arg(long)]
    pub shareledger: Option<PathBuf>,
    /// Where the files and stores go (default: TARGET/bench-commands; emptied first).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Where the Markdown table is written (default: DIR/commands.md).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Runs of each cheap measurement (read-side commands, `record`, small imports); the median is shown.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Do not run the Python peer.
    #[arg(long)]
    pub no_peer: bool,
    /// Keep every workload's files and stores (by default each is removed once measured).
    #[arg(long)]
    pub keep: bool,
    /// Also put the table into this Markdown file, between the lines
    /// `<!-- commands:begin -->` and `<!-- commands:end -->` (docs/performance.md).
    #[arg(long)]
    pub update_doc: Option<PathBuf>,
    /// Run only these workloads of the scale (comma-separated): reg100,
    /// reg500, reg500filed, reg1000, reg10000 (registrar files), long100k,
    /// long1m (one issuer's long history). Default: every one of the scale.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
}

impl CommandsArgs {
    /// Whether the workload `key` is to run (`--only`).
    fn wants(&self, key: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|k| k == key)
    }
}

/// Replace what lies between the markers of `doc` with `md`.
fn update_doc(doc: &Path, md: &str) -> Res<()> {
    const BEGIN: &str = "<!-- commands:begin -->";
    const END: &str = "<!-- commands:end -->";
    let text = std::fs::read_to_string(doc)?;
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        return Err(format!("{} has no {BEGIN} … {END} lines", doc.display()).into());
    };
    if e < b {
        return Err(format!("{}: {END} before {BEGIN}", doc.display()).into());
    }
    let new = format!("{}{BEGIN}\n{}\n{}", &text[..b], md.trim_end(), &text[e..]);
    std::fs::write(doc, new)?;
    Ok(())
}

/// One whole process, as the `exec` helper saw it.
#[derive(Debug, Clone, Copy)]
struct Proc {
    seconds: f64,
    maxrss_kib: u64,
}

/// Median of several runs.
#[derive(Debug, Clone, Copy)]
struct Timed {
    seconds: f64,
    maxrss_kib: u64,
    runs: usize,
}

fn median_of(v: &[Proc]) -> Timed {
    let mut s: Vec<f64> = v.iter().map(|p| p.seconds).collect();
    s.sort_by(|a, b| a.total_cmp(b));
    let mut r: Vec<u64> = v.iter().map(|p| p.maxrss_kib).collect();
    r.sort_unstable();
    Timed {
        seconds: s[s.len() / 2],
        maxrss_kib: r[r.len() / 2],
        runs: v.len(),
    }
}

/// `shareledger-bench exec`: run `argv` (stdout and stderr to the given
/// files), wait for it with `wait4`, print its wall time, `ru_maxrss` and
/// exit status as one JSON line.
pub fn exec(stdout: &Path, stderr: &Path, argv: &[String]) -> Res<()> {
    let (prog, rest) = argv.split_first().ok_or("exec: no command")?;
    let started = Instant::now();
    let child = Command::new(prog)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(stdout)?)
        .stderr(std::fs::File::create(stderr)?)
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std's Child is never waited on).
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    if r != pid {
        return Err(format!("wait4 failed for {prog}").into());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    println!(
        "{{\"seconds\":{seconds},\"maxrss_kib\":{},\"status\":{code}}}",
        usage.ru_maxrss
    );
    Ok(())
}

/// `shareledger-bench floor-insert FILE DB`: the floor of `import`: every
/// line of the file as a row of a table of the ledger's shape (stream from
/// the `issuer` field, per-stream version, UUIDv7 id, the line as payload,
/// fake hashes), in one transaction, no validation and no hashing.
pub fn floor_insert(file: &Path, db: &Path) -> Res<()> {
    crate::remove_db(db);
    let mut conn = crate::floor_open(db)?;
    conn.execute_batch(crate::FLOOR_SCHEMA)?;
    let text = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
    let recorded_at = shareledger_ledger::time::store_time(&Utc::now().fixed_offset());
    let mut versions: std::collections::HashMap<String, u64> = Default::default();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut n = 0u64;
    {
        let mut st = tx.prepare_cached(crate::FLOOR_INSERT)?;
        for line in std::io::BufRead::lines(text) {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let kind = field(&line, "type").ok_or("a line without a type")?;
            let stream = field(&line, "issuer").unwrap_or("$market");
            let v = match versions.get_mut(stream) {
                Some(v) => v,
                None => versions.entry(stream.to_string()).or_insert(0),
            };
            *v += 1;
            n += 1;
            st.execute(params![
                n,
                stream,
                *v,
                Uuid::now_v7().to_string(),
                kind,
                SCHEMA_VERSION,
                &line,
                Option::<String>::None,
                recorded_at,
                "bench",
                crate::FAKE_HASH,
                crate::FAKE_HASH
            ])?;
        }
    }
    tx.commit()?;
    println!("{{\"events\":{n}}}");
    Ok(())
}

/// The string value of top-level `"key":"…"` in a compact JSON line (no
/// escapes in the generated values): the floor reads no more than that.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":\"");
    let at = line.find(&pat)? + pat.len();
    let len = line[at..].find('"')?;
    Some(&line[at..at + len])
}

/// `shareledger-bench floor-read DB [--stream S]`: the floor of the reads:
/// every row (or one stream's, through its index), every column into memory.
pub fn floor_read(db: &Path, stream: Option<&str>) -> Res<()> {
    let n = match stream {
        None => crate::raw_read_all(db),
        Some(s) => crate::raw_read_stream(&rusqlite::Connection::open(db)?, s)?,
    };
    println!("{{\"events\":{n}}}");
    Ok(())
}

/// `shareledger-bench floor-one DB --stream S`: the floor of `record`: one
/// row appended to a stream, in its own durable transaction.
pub fn floor_one(db: &Path, stream: &str) -> Res<()> {
    let mut conn = crate::floor_open(db)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (pos, ver): (u64, u64) = tx.query_row(
        "SELECT (SELECT coalesce(max(position), 0) FROM events), \
         (SELECT coalesce(max(version), 0) FROM events WHERE stream = ?1)",
        [stream],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    tx.execute(
        crate::FLOOR_INSERT,
        params![
            pos + 1,
            stream,
            ver + 1,
            Uuid::now_v7().to_string(),
            "shares_repurchased",
            SCHEMA_VERSION,
            format!("{{\"type\":\"shares_repurchased\",\"issuer\":\"{stream}\"}}"),
            Option::<String>::None,
            shareledger_ledger::time::store_time(&Utc::now().fixed_offset()),
            "bench",
            crate::FAKE_HASH,
            crate::FAKE_HASH
        ],
    )?;
    tx.commit()?;
    println!("{{\"events\":1}}");
    Ok(())
}

/// The driver's context.
struct Ctx {
    me: PathBuf,
    bin: PathBuf,
    dir: PathBuf,
    python: Result<PathBuf, String>,
    runs: usize,
    keep: bool,
    rows: Vec<Row>,
    growth: Vec<Growth>,
}

/// A line of the table.
#[derive(Debug, Clone, Default)]
struct Row {
    what: String,
    events: Option<u64>,
    time: Option<Timed>,
    /// Events per second is shown for whole-log commands.
    rate: bool,
    floor: Option<Timed>,
    peer: Option<Result<Timed, String>>,
    target: String,
    met: Option<bool>,
    /// Key for the growth and target lines.
    key: String,
}

/// A figure across sizes.
struct Growth {
    label: String,
    values: Vec<(u64, f64)>,
    unit: &'static str,
    note: &'static str,
}

fn fmt_secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M/s", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k/s", x / 1e3)
    } else {
        format!("{x:.0} /s")
    }
}

fn fmt_mb(kib: u64) -> String {
    format!("{:.0} MB", kib as f64 * 1024.0 / 1e6)
}

fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Ctx {
    /// Run `argv` as a whole process through `exec`; `ok` lists the exit
    /// statuses that count as success.
    fn run(&self, label: &str, argv: &[String], ok: &[i32]) -> Res<Proc> {
        let stdout = self.dir.join("last.stdout");
        let stderr = self.dir.join("last.stderr");
        let out = Command::new(&self.me)
            .arg("exec")
            .arg("--stdout")
            .arg(&stdout)
            .arg("--stderr")
            .arg(&stderr)
            .arg("--")
            .args(argv)
            .stderr(Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(format!("{label}: the exec helper failed").into());
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let status = v["status"].as_i64().unwrap_or(-1) as i32;
        if !ok.contains(&status) {
            let mut err = String::new();
            let _ = std::fs::File::open(&stderr).and_then(|mut f| f.read_to_string(&mut err));
            let tail: String = err
                .chars()
                .rev()
                .take(2000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(format!("{label}: exit status {status}: {tail}").into());
        }
        let p = Proc {
            seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
            maxrss_kib: v["maxrss_kib"].as_u64().unwrap_or(0),
        };
        eprintln!(
            "   {label}: {} , peak RSS {}",
            fmt_secs(p.seconds),
            fmt_mb(p.maxrss_kib)
        );
        Ok(p)
    }

    fn runs(
        &self,
        label: &str,
        n: usize,
        mut argv: impl FnMut(usize) -> Vec<String>,
        ok: &[i32],
    ) -> Res<Timed> {
        let mut v = Vec::new();
        for i in 0..n.max(1) {
            v.push(self.run(label, &argv(i), ok)?);
        }
        Ok(median_of(&v))
    }

    fn sl(&self, db: &Path, args: &[&str]) -> Vec<String> {
        let mut v = vec![
            self.bin.display().to_string(),
            "--db".to_string(),
            db.display().to_string(),
        ];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    fn me_args(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec![self.me.display().to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    /// The peer doing `args`, or why it cannot.
    fn peer(&self, label: &str, n: usize, args: &[String]) -> Option<Result<Timed, String>> {
        let python = match &self.python {
            Ok(p) => p,
            Err(why) => return Some(Err(why.clone())),
        };
        let script = self.dir.join("peer.py");
        let r = self.runs(
            label,
            n,
            |_| {
                let mut v = vec![python.display().to_string(), script.display().to_string()];
                v.extend(args.iter().cloned());
                v
            },
            &[0],
        );
        Some(r.map_err(|e| format!("peer failed: {e}")))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn remove(&self, names: &[&Path]) {
        if self.keep {
            return;
        }
        for p in names {
            crate::remove_db(p);
        }
    }
}

/// Write the Python venv with the peer installed under the target dir, or say why not.
fn peer_python(target: &Path) -> Result<PathBuf, String> {
    let venv = target.join("peer-venv");
    let py = venv.join("bin").join("python");
    let check = |py: &Path| {
        Command::new(py)
            .args([
                "-c",
                "import importlib.metadata as m; print(m.version('eventsourcing'))",
            ])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if check(&py).as_deref() == Some(PEER_VERSION) {
        return Ok(py);
    }
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or("no Python found (python3 or python on PATH)")?;
    eprintln!(
        "== installing the peer: eventsourcing=={PEER_VERSION} into {}",
        venv.display()
    );
    let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
    if !ok(Command::new(python).arg("-m").arg("venv").arg(&venv)) {
        return Err(format!("`{python} -m venv` failed"));
    }
    if !ok(Command::new(&py).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        &format!("eventsourcing=={PEER_VERSION}"),
    ])) {
        return Err(format!(
            "`pip install eventsourcing=={PEER_VERSION}` failed"
        ));
    }
    match check(&py) {
        Some(v) if v == PEER_VERSION => Ok(py),
        other => Err(format!(
            "eventsourcing {PEER_VERSION} not importable ({other:?})"
        )),
    }
}

/// Build the release `shareledger` next to this binary.
fn build_shareledger(me: &Path) -> Res<PathBuf> {
    let release = me.parent().ok_or("no exe dir")?;
    let target = release.parent().ok_or("no target dir")?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("== building the release shareledger binary");
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "shareledger",
            "--bin",
            "shareledger",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target)
        .status()?;
    if !status.success() {
        return Err("cargo build --release -p shareledger failed".into());
    }
    Ok(release.join("shareledger"))
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(String::new(), |k| {
            format!(", {:.0} GB RAM", k as f64 / 1048576.0)
        });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores{mem}")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The first trading day after `d` (for `record`).
fn next_trading_day(d: NaiveDate) -> NaiveDate {
    let cal = shapes::calendar();
    let mut x = d + Days::new(1);
    while !cal.is_business_day(x) {
        x = x + Days::new(1);
    }
    x
}

/// One registrar workload: `issuers` × `repurchases`, one a day, interleaved.
struct Registrar {
    key: &'static str,
    issuers: usize,
    filing: Filing,
    /// Also measure returns against a store of one issuer alone.
    returns: bool,
}

fn registrar(ctx: &mut Ctx, r: &Registrar, today: NaiveDate) -> Res<()> {
    let shape = Shape {
        issuers: r.issuers,
        first: 0,
        repurchases: 1000,
        per_day: 1,
        filing: r.filing,
    };
    let filing = match r.filing {
        Filing::All => "all returns filed",
        Filing::FirstMonthOnly => "most returns never filed",
    };
    let name = format!(
        "{} issuers × 1,000 repurchases, interleaved day by day, {filing}",
        fmt_count(r.issuers as u64)
    );
    eprintln!("== {name}");
    let file = ctx.path(&format!("{}.jsonl", r.key));
    let db = ctx.path(&format!("{}.db", r.key));
    let floor = ctx.path(&format!("{}.floor.db", r.key));
    let peer = ctx.path(&format!("{}.peer.db", r.key));
    let _ = std::fs::remove_file(&file);
    let w = shape.write(&file, None, true, today)?;
    let n = w.events;
    let file_s = file.display().to_string();
    let import_runs = if n <= 200_000 { ctx.runs } else { 1 };
    // import
    let import = ctx.runs(
        "import",
        import_runs,
        |_| {
            crate::remove_db(&db);
            ctx.sl(&db, &["import", &file_s])
        },
        &[0],
    )?;
    let floor_ins = ctx.runs(
        "floor insert",
        import_runs,
        |_| ctx.me_args(&["floor-insert", &file_s, &floor.display().to_string()]),
        &[0],
    )?;
    let peer_ins = ctx.peer("peer append", 1, &{
        crate::remove_db(&peer);
        vec!["append".into(), file_s.clone(), peer.display().to_string()]
    });
    let mb = crate::file_mb(&db);
    let (target, met) = if r.key == "reg500" {
        let peer_rate = peer_ins
            .as_ref()
            .and_then(|p| p.as_ref().ok())
            .map(|p| n as f64 / p.seconds);
        let rate = n as f64 / import.seconds;
        (
            "≥ 150k/s, ≥ 5× peer, ≤ 200 MB".to_string(),
            Some(
                rate >= 150_000.0
                    && peer_rate.is_none_or(|p| rate >= 5.0 * p)
                    && import.maxrss_kib as f64 * 1024.0 <= 200e6,
            ),
        )
    } else if r.filing == Filing::FirstMonthOnly {
        (
            "≤ 200 MB, flat in size".to_string(),
            Some(import.maxrss_kib as f64 * 1024.0 <= 200e6),
        )
    } else {
        (String::new(), None)
    };
    ctx.rows.push(Row {
        what: format!("`import FILE`: {name} (store {mb:.0} MB)"),
        events: Some(n),
        time: Some(import),
        rate: true,
        floor: Some(floor_ins),
        peer: peer_ins,
        target,
        met,
        key: format!("{}.import", r.key),
    });
    // audit and status
    let floor_read = ctx.runs(
        "floor read",
        if n <= 600_000 { ctx.runs } else { 1 },
        |_| ctx.me_args(&["floor-read", &floor.display().to_string()]),
        &[0],
    )?;
    let peer_read = ctx.peer("peer read", 1, &["read".into(), peer.display().to_string()]);
    let read_runs = if n <= 600_000 { ctx.runs } else { 1 };
    let audit = ctx.runs(
        "audit",
        read_runs,
        |_| ctx.sl(&db, &["audit", "--format", "json"]),
        &[0, 1],
    )?;
    let findings = std::fs::read_to_string(ctx.path("last.stdout"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["findings"].as_array().map(|a| a.len()));
    let (target, met) = if r.key == "reg500" {
        (
            "≥ 400k/s, ≤ 150 MB".to_string(),
            Some(
                n as f64 / audit.seconds >= 400_000.0 && audit.maxrss_kib as f64 * 1024.0 <= 150e6,
            ),
        )
    } else {
        (String::new(), None)
    };
    ctx.rows.push(Row {
        what: format!(
            "`audit`: that store ({} findings)",
            findings.map_or("?".into(), |f| fmt_count(f as u64))
        ),
        events: Some(n),
        time: Some(audit),
        rate: true,
        floor: Some(floor_read),
        peer: peer_read.clone(),
        target,
        met,
        key: format!("{}.audit", r.key),
    });
    let status = ctx.runs("status", read_runs, |_| ctx.sl(&db, &["status"]), &[0])?;
    ctx.rows.push(Row {
        what: "`status` (all issuers): that store".to_string(),
        events: Some(n),
        time: Some(status),
        rate: true,
        floor: Some(floor_read),
        peer: peer_read,
        key: format!("{}.status", r.key),
        ..Row::default()
    });
    if r.returns {
        let k = r.issuers / 2;
        let issuer = shapes::issuer_id(k);
        let alone_file = ctx.path(&format!("{}.alone.jsonl", r.key));
        let alone = ctx.path(&format!("{}.alone.db", r.key));
        let _ = std::fs::remove_file(&alone_file);
        let wa = shape.write(&alone_file, Some(k), true, today)?;
        crate::remove_db(&alone);
        ctx.run(
            "import (one issuer alone)",
            &ctx.sl(&alone, &["import", &alone_file.display().to_string()]),
            &[0],
        )?;
        let date = w.last_day.to_string();
        let month = w.last_full_month.clone();
        let floor_one = ctx.runs(
            "floor read one stream",
            ctx.runs.max(5),
            |_| {
                ctx.me_args(&[
                    "floor-read",
                    &floor.display().to_string(),
                    "--stream",
                    &issuer,
                ])
            },
            &[0],
        )?;
        let peer_get = ctx.peer(
            "peer get one",
            ctx.runs.max(5),
            &["get".into(), peer.display().to_string(), issuer.clone()],
        );
        for (form, args) in [
            (
                "monthly",
                [
                    "return",
                    "monthly",
                    "--issuer",
                    issuer.as_str(),
                    "--month",
                    month.as_str(),
                ],
            ),
            (
                "nddr",
                [
                    "return",
                    "nddr",
                    "--issuer",
                    issuer.as_str(),
                    "--date",
                    date.as_str(),
                ],
            ),
        ] {
            let big = ctx.runs(
                &format!("return {form}"),
                ctx.runs.max(5),
                |_| ctx.sl(&db, &args),
                &[0],
            )?;
            let small = ctx.runs(
                &format!("return {form} alone"),
                ctx.runs.max(5),
                |_| ctx.sl(&alone, &args),
                &[0],
            )?;
            let (target, met) = if r.key == "reg500" && form == "monthly" {
                (
                    "≤ 50 ms, ≤ 2× alone".to_string(),
                    Some(big.seconds <= 0.050 && big.seconds <= 2.0 * small.seconds),
                )
            } else {
                (String::new(), None)
            };
            let what = if form == "monthly" {
                format!("`return monthly --month {month}` of issuer {issuer}")
            } else {
                format!("`return nddr --date {date}` of issuer {issuer}")
            };
            ctx.rows.push(Row {
                what: format!("{what}: that store"),
                events: Some(n),
                time: Some(big),
                floor: Some(floor_one),
                peer: peer_get.clone(),
                target: target.clone(),
                met,
                key: format!("{}.{form}", r.key),
                ..Row::default()
            });
            ctx.rows.push(Row {
                what: "↳ the same, a store of that issuer alone".to_string(),
                events: Some(wa.events),
                time: Some(small),
                key: format!("{}.{form}.alone", r.key),
                ..Row::default()
            });
        }
        ctx.remove(&[&alone, &alone_file]);
    }
    ctx.remove(&[&db, &floor, &peer, &file]);
    Ok(())
}

/// One issuer with a long history (`events` repurchases of its own, many a
/// day), and (with `small`) a second issuer with 10 events; `record` into each.
fn long(
    ctx: &mut Ctx,
    key: &str,
    events: usize,
    small: bool,
    today: NaiveDate,
) -> Res<Option<Timed>> {
    let per_day = events.div_ceil(950);
    let shape = Shape {
        issuers: 1,
        first: 100,
        repurchases: events,
        per_day,
        filing: Filing::All,
    };
    let name = format!(
        "one issuer, {} repurchases of its own ({per_day} a day)",
        fmt_count(events as u64)
    );
    eprintln!("== {name}");
    let file = ctx.path(&format!("{key}.jsonl"));
    let db = ctx.path(&format!("{key}.db"));
    let floor = ctx.path(&format!("{key}.floor.db"));
    let peer = ctx.path(&format!("{key}.peer.db"));
    let _ = std::fs::remove_file(&file);
    let w = shape.write(&file, None, true, today)?;
    let mut n = w.events;
    let tiny = Shape {
        issuers: 1,
        first: 200,
        repurchases: 5,
        per_day: 1,
        filing: Filing::FirstMonthOnly,
    };
    let mut tiny_events = 0;
    if small {
        // 3 setup events, a mandate, 5 repurchases and January's Monthly
        // Return: 10 events.
        tiny_events = tiny.write(&file, None, false, today)?.events;
        n += tiny_events;
    }
    let file_s = file.display().to_string();
    let import = ctx.run("import", &ctx.sl(&db, &["import", &file_s]), &[0])?;
    let floor_ins = ctx.run(
        "floor insert",
        &ctx.me_args(&["floor-insert", &file_s, &floor.display().to_string()]),
        &[0],
    )?;
    crate::remove_db(&peer);
    let peer_ins = ctx.peer(
        "peer append",
        1,
        &["append".into(), file_s.clone(), peer.display().to_string()],
    );
    ctx.rows.push(Row {
        what: format!("`import FILE`: {name}"),
        events: Some(n),
        time: Some(median_of(&[import])),
        rate: true,
        floor: Some(median_of(&[floor_ins])),
        peer: peer_ins,
        target: "≤ 200 MB".into(),
        met: Some(import.maxrss_kib as f64 * 1024.0 <= 200e6),
        key: format!("{key}.import"),
    });
    let day = next_trading_day(w.last_day).min(today - Days::new(1));
    let day_s = day.to_string();
    let record = |ctx: &mut Ctx, issuer: &str, own: u64, key: String| -> Res<Timed> {
        let t = ctx.runs(
            "record",
            ctx.runs,
            |i| {
                let shares = (100 * (i + 1)).to_string();
                let paid = format!("{}.00", 100 * (i + 1) * 10);
                ctx.sl(
                    &db,
                    &[
                        "record",
                        "shares-repurchased",
                        "--issuer",
                        issuer,
                        "--class",
                        "H",
                        "--trade-date",
                        &day_s,
                        "--shares",
                        &shares,
                        "--currency",
                        "HKD",
                        "--highest-price",
                        "10.10",
                        "--lowest-price",
                        "9.80",
                        "--total-paid",
                        &paid,
                    ],
                )
            },
            &[0],
        )?;
        let floor_one = ctx.runs(
            "floor insert one",
            ctx.runs,
            |_| {
                ctx.me_args(&[
                    "floor-one",
                    &floor.display().to_string(),
                    "--stream",
                    issuer,
                ])
            },
            &[0],
        )?;
        let peer_rec = ctx.peer(
            "peer record",
            ctx.runs,
            &[
                "record".into(),
                peer.display().to_string(),
                issuer.into(),
                "100".into(),
            ],
        );
        ctx.rows.push(Row {
            what: format!(
                "`record shares-repurchased` into an issuer with {} events of its own",
                fmt_count(own)
            ),
            events: Some(own),
            time: Some(t),
            floor: Some(floor_one),
            peer: peer_rec,
            key,
            ..Row::default()
        });
        Ok(t)
    };
    let mut ten = None;
    if small {
        ten = Some(record(
            ctx,
            &shapes::issuer_id(200),
            tiny_events,
            "record.10".into(),
        )?);
    }
    record(
        ctx,
        &shapes::issuer_id(100),
        w.events - 4,
        format!("record.{key}"),
    )?;
    ctx.remove(&[&db, &floor, &peer, &file]);
    Ok(ten)
}

/// The workloads of a scale, by key (what `--only` names).
fn workloads(scale: Scale) -> Vec<&'static str> {
    let mut keys = vec!["reg100", "reg500", "reg500filed", "long100k"];
    if scale != Scale::Small {
        keys.extend(["reg1000", "long1m"]);
    }
    if scale == Scale::Full {
        keys.push("reg10000");
    }
    keys
}

/// `--only` may name only workloads of the scale.
fn check_only(only: &[String], scale: Scale) -> Result<(), String> {
    let known = workloads(scale);
    match only.iter().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(format!(
            "--only {key}: no such workload at this scale; it has {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

pub fn run(args: &CommandsArgs) -> Res<()> {
    check_only(&args.only, args.scale)?;
    let me = std::env::current_exe()?;
    let target = me
        .parent()
        .and_then(Path::parent)
        .ok_or("no target dir")?
        .to_path_buf();
    let bin = match &args.shareledger {
        Some(b) => b.clone(),
        None => build_shareledger(&me)?,
    };
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| target.join("bench-commands"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let python = if args.no_peer {
        Err("not run (--no-peer)".to_string())
    } else {
        peer_python(&target)
    };
    std::fs::write(dir.join("peer.py"), PEER_PY)?;
    let mut ctx = Ctx {
        me,
        bin,
        dir,
        python,
        runs: args.runs.max(1),
        keep: args.keep,
        rows: Vec::new(),
        growth: Vec::new(),
    };
    let started = Instant::now();
    let now = Utc::now();
    let today = now.date_naive();
    let load_start = loadavg();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git_dir = manifest.display().to_string();
    let commit = sh("git", &["-C", &git_dir, "rev-parse", "--short=12", "HEAD"]);
    let dirty = !sh(
        "git",
        &[
            "-C",
            &git_dir,
            "status",
            "--porcelain",
            "--untracked-files=no",
        ],
    )
    .is_empty();

    // gen.rs (the library benchmark's generator) still makes files the
    // binary imports: 20 issuers × 1000 events of every kind.
    eprintln!("== gen.rs: the library benchmark's generator, through `shareledger import`");
    let gen_file = ctx.path("gen.jsonl");
    {
        let g = crate::gen::Generator::new(1000);
        let mut text = g.market_lines().join("\n");
        text.push('\n');
        for i in 0..20 {
            for l in g.issuer_lines(i) {
                text.push_str(&l);
                text.push('\n');
            }
        }
        std::fs::write(&gen_file, text)?;
    }
    let gen_db = ctx.path("gen.db");
    ctx.run(
        "import gen.rs file",
        &ctx.sl(&gen_db, &["import", &gen_file.display().to_string()]),
        &[0],
    )?;
    ctx.remove(&[&gen_db, &gen_file]);

    let mut regs = vec![
        Registrar {
            key: "reg100",
            issuers: 100,
            filing: Filing::FirstMonthOnly,
            returns: true,
        },
        Registrar {
            key: "reg500",
            issuers: 500,
            filing: Filing::FirstMonthOnly,
            returns: true,
        },
        Registrar {
            key: "reg500filed",
            issuers: 500,
            filing: Filing::All,
            returns: true,
        },
    ];
    if args.scale != Scale::Small {
        regs.push(Registrar {
            key: "reg1000",
            issuers: 1000,
            filing: Filing::FirstMonthOnly,
            returns: true,
        });
    }
    if args.scale == Scale::Full {
        regs.push(Registrar {
            key: "reg10000",
            issuers: 10_000,
            filing: Filing::FirstMonthOnly,
            returns: true,
        });
    }
    // A workload that fails (a command refused, or killed) is a line of the
    // table saying so; the others still run.
    let failed = |ctx: &mut Ctx, key: &str, e: Box<dyn std::error::Error>| {
        eprintln!("!! {key} failed: {e}");
        let e = e.to_string().replace('|', "\\|").replace('\n', " ");
        ctx.rows.push(Row {
            what: format!(
                "{key}: **failed**: {}",
                e.chars().take(300).collect::<String>()
            ),
            key: format!("{key}.failed"),
            ..Row::default()
        });
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| ctx.dir.join("commands.md"));
    // The table so far is rewritten after each workload (the large ones take long).
    let write = |ctx: &mut Ctx, ten: Option<Timed>, last: bool| -> Res<()> {
        // record targets: ≤ 3× the time into an issuer with 10 events.
        if let Some(ten) = ten {
            for row in ctx
                .rows
                .iter_mut()
                .filter(|r| r.key.starts_with("record.long"))
            {
                row.target = "≤ 3× into 10 events".into();
                row.met = row.time.map(|t| t.seconds <= 3.0 * ten.seconds);
            }
        }
        growth(ctx, &regs);
        let mut md = markdown(
            ctx,
            args,
            &commit,
            dirty,
            now,
            &load_start,
            started.elapsed().as_secs_f64(),
        );
        if !last {
            md.insert_str(0, "**(partial: the run is not over)**\n\n");
        }
        std::fs::write(&out, &md)?;
        if last {
            println!("{md}");
            eprintln!("== written to {}", out.display());
            if let Some(doc) = &args.update_doc {
                update_doc(doc, &md)?;
                eprintln!("== and into {}", doc.display());
            }
        }
        Ok(())
    };
    let mut ten = None;
    for (k, r) in regs.iter().enumerate() {
        if args.wants(r.key) {
            if let Err(e) = registrar(&mut ctx, r, today) {
                failed(&mut ctx, r.key, e);
            }
            write(&mut ctx, ten, false)?;
        }
        if k == 1 && args.wants("long100k") {
            ten = match long(&mut ctx, "long100k", 100_000, true, today) {
                Ok(t) => t,
                Err(e) => {
                    failed(&mut ctx, "long100k", e);
                    None
                }
            };
            write(&mut ctx, ten, false)?;
        }
    }
    if args.scale != Scale::Small && args.wants("long1m") {
        if let Err(e) = long(&mut ctx, "long1m", 1_000_000, false, today) {
            failed(&mut ctx, "long1m", e);
        }
    }
    write(&mut ctx, ten, true)
}

/// The growth of each figure across the sizes (100k → 1M → 10M events).
fn growth(ctx: &mut Ctx, regs: &[Registrar]) {
    let sizes: Vec<&str> = regs
        .iter()
        .filter(|r| r.filing == Filing::FirstMonthOnly && r.key != "reg500")
        .map(|r| r.key)
        .collect();
    let find = |key: String| ctx.rows.iter().find(|r| r.key == key).cloned();
    let mut out = Vec::new();
    for (cmd, label) in [
        ("import", "`import`"),
        ("audit", "`audit`"),
        ("status", "`status`"),
    ] {
        let rows: Vec<Row> = sizes
            .iter()
            .filter_map(|s| find(format!("{s}.{cmd}")))
            .collect();
        let per_event = |r: &Row| {
            r.time
                .map_or(f64::NAN, |t| t.seconds / r.events.unwrap_or(1) as f64)
        };
        out.push(Growth {
            label: format!("{label}: time per event"),
            values: rows
                .iter()
                .map(|r| (r.events.unwrap_or(0), per_event(r) * 1e6))
                .collect(),
            unit: "µs",
            note: "×1.0 = linear in events",
        });
        out.push(Growth {
            label: format!("{label}: peak RSS"),
            values: rows
                .iter()
                .map(|r| {
                    (
                        r.events.unwrap_or(0),
                        r.time.map_or(0.0, |t| t.maxrss_kib as f64 * 1024.0 / 1e6),
                    )
                })
                .collect(),
            unit: "MB",
            note: "×1.0 = flat memory",
        });
        out.push(Growth {
            label: format!("{label}: floor time per event"),
            values: rows
                .iter()
                .map(|r| {
                    (
                        r.events.unwrap_or(0),
                        r.floor
                            .map_or(f64::NAN, |t| t.seconds / r.events.unwrap_or(1) as f64)
                            * 1e6,
                    )
                })
                .collect(),
            unit: "µs",
            note: "the floor's own growth",
        });
        out.push(Growth {
            label: format!("{label}: peer time per event"),
            values: rows
                .iter()
                .map(|r| {
                    (
                        r.events.unwrap_or(0),
                        r.peer
                            .as_ref()
                            .and_then(|p| p.as_ref().ok())
                            .map_or(f64::NAN, |t| t.seconds / r.events.unwrap_or(1) as f64)
                            * 1e6,
                    )
                })
                .collect(),
            unit: "µs",
            note: "the peer's own growth",
        });
    }
    for form in ["monthly", "nddr"] {
        let rows: Vec<Row> = sizes
            .iter()
            .filter_map(|s| find(format!("{s}.{form}")))
            .collect();
        out.push(Growth {
            label: format!("`return {form}` of one issuer: time"),
            values: rows
                .iter()
                .map(|r| {
                    (
                        r.events.unwrap_or(0),
                        r.time.map_or(f64::NAN, |t| t.seconds * 1e3),
                    )
                })
                .collect(),
            unit: "ms",
            note: "×1.0 = flat in other issuers' events",
        });
    }
    let rec: Vec<Row> = ["record.10", "record.long100k", "record.long1m"]
        .iter()
        .filter_map(|k| find(k.to_string()))
        .collect();
    out.push(Growth {
        label: "`record`: time, by the issuer's own events".into(),
        values: rec
            .iter()
            .map(|r| {
                (
                    r.events.unwrap_or(0),
                    r.time.map_or(f64::NAN, |t| t.seconds * 1e3),
                )
            })
            .collect(),
        unit: "ms",
        note: "×1.0 = flat in the issuer's history",
    });
    let long: Vec<Row> = ["long100k.import", "long1m.import"]
        .iter()
        .filter_map(|k| find(k.to_string()))
        .collect();
    out.push(Growth {
        label: "`import` of one long issuer: time per event".into(),
        values: long
            .iter()
            .map(|r| {
                (
                    r.events.unwrap_or(0),
                    r.time
                        .map_or(f64::NAN, |t| t.seconds / r.events.unwrap_or(1) as f64)
                        * 1e6,
                )
            })
            .collect(),
        unit: "µs",
        note: "×1.0 = linear in the issuer's events",
    });
    ctx.growth = out;
}

fn markdown(
    ctx: &Ctx,
    args: &CommandsArgs,
    commit: &str,
    dirty: bool,
    now: chrono::DateTime<Utc>,
    load_start: &str,
    elapsed: f64,
) -> String {
    let mut s = String::new();
    let peer = match &ctx.python {
        Ok(_) => format!(
            "Python `eventsourcing=={PEER_VERSION}` on SQLite ({})",
            sh(
                &ctx.python
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                &["--version"],
            )
        ),
        Err(why) => format!("**not run**: {why}"),
    };
    s.push_str(&format!(
        "Run {} UTC on {} ({:?} scale, {} run(s) of each cheap figure, median), commit `{commit}`{}; \
         load average {load_start} at the start, {} at the end; {:.0} s in all. Peer: {peer}.\n\n",
        now.format("%Y-%m-%d %H:%M"),
        machine(),
        args.scale,
        ctx.runs,
        if dirty { " (with uncommitted changes)" } else { "" },
        loadavg(),
        elapsed,
    ));
    s.push_str("| what (whole process) | events | time | events/s | peak RSS | floor (raw SQLite) | peer | target | met? |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---|---|\n");
    for r in &ctx.rows {
        let n = r.events.unwrap_or(0);
        let time = r.time.map_or(String::new(), |t| {
            if t.runs > 1 {
                format!("{} (median of {})", fmt_secs(t.seconds), t.runs)
            } else {
                fmt_secs(t.seconds)
            }
        });
        let rate = match (r.rate, r.time) {
            (true, Some(t)) => fmt_rate(n as f64 / t.seconds),
            _ => String::new(),
        };
        let rss = r.time.map_or(String::new(), |t| fmt_mb(t.maxrss_kib));
        let both = |t: &Timed| {
            if r.rate {
                format!(
                    "{}, {}, {}",
                    fmt_secs(t.seconds),
                    fmt_rate(n as f64 / t.seconds),
                    fmt_mb(t.maxrss_kib)
                )
            } else {
                format!("{}, {}", fmt_secs(t.seconds), fmt_mb(t.maxrss_kib))
            }
        };
        let floor = r.floor.as_ref().map_or(String::new(), both);
        let peer = match &r.peer {
            None => String::new(),
            Some(Ok(t)) => both(t),
            Some(Err(_)) => "not run".into(),
        };
        let met = match r.met {
            None => "",
            Some(true) => "yes",
            Some(false) => "**NO**",
        };
        s.push_str(&format!(
            "| {} | {} | {time} | {rate} | {rss} | {floor} | {peer} | {} | {met} |\n",
            r.what,
            fmt_count(n),
            r.target
        ));
    }
    s.push_str("\nGrowth across sizes (registrar files of 100 / 1,000 / 10,000 issuers, most returns never filed; `record` by the issuer's own events):\n\n```\n");
    for g in &ctx.growth {
        if g.values.len() < 2 {
            continue;
        }
        let vals: Vec<String> = g
            .values
            .iter()
            .map(|(n, v)| format!("{} {v:.2} {}", short(*n), g.unit))
            .collect();
        let first = g.values[0].1;
        let last = g.values[g.values.len() - 1].1;
        s.push_str(&format!(
            "{:<48} {}  →  ×{:.2} ({})\n",
            g.label,
            vals.join(" → "),
            last / first,
            g.note
        ));
    }
    s.push_str("```\n");
    s
}

fn short(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1}M", n as f64 / 1e6)
    } else if n >= 1000 {
        format!("{:.0}k", n as f64 / 1e3)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_names_workloads_of_the_scale() {
        assert_eq!(check_only(&[], Scale::Small), Ok(()));
        let only = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_only(&only(&["reg100", "long100k"]), Scale::Small),
            Ok(())
        );
        let e = check_only(&only(&["reg100", "long1m"]), Scale::Small).unwrap_err();
        assert!(e.starts_with("--only long1m: no such workload"), "{e}");
        assert!(e.contains("reg500filed") && !e.contains("reg1000"), "{e}");
        assert_eq!(
            check_only(&only(&["long1m", "reg1000"]), Scale::Default),
            Ok(())
        );
        assert!(check_only(&only(&["reg10000"]), Scale::Default).is_err());
        assert_eq!(check_only(&only(&["reg10000"]), Scale::Full), Ok(()));
        assert!(check_only(&only(&["bogus"]), Scale::Full).is_err());
    }

    use super::*;

    #[test]
    fn the_table_replaces_what_lies_between_the_markers_only() {
        let path = std::env::temp_dir().join(format!("perf-{}.md", Uuid::now_v7()));
        std::fs::write(
            &path,
            "# Title\n\n<!-- commands:begin -->\nold table\n<!-- commands:end -->\n\nbelow\n",
        )
        .expect("written");
        update_doc(&path, "| new | table |\n").expect("updated");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "# Title\n\n<!-- commands:begin -->\n| new | table |\n<!-- commands:end -->\n\nbelow\n"
        );
        std::fs::write(&path, "no markers\n").expect("written");
        assert!(update_doc(&path, "x").is_err());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_floor_reads_a_lines_stream_and_type() {
        let line = r#"{"class":"H","issuer":"20001","type":"shares_repurchased"}"#;
        assert_eq!(field(line, "issuer"), Some("20001"));
        assert_eq!(field(line, "type"), Some("shares_repurchased"));
        assert_eq!(field(r#"{"type":"market_closed"}"#, "issuer"), None);
        assert_eq!(fmt_count(1_009_004), "1,009,004");
    }
}
