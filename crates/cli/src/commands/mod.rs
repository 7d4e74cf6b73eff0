//! One function per command.

pub mod audit;
pub mod completions;
pub mod fields;
pub mod record;
pub mod returns;
pub mod status;
pub mod trades;

use std::io::{BufRead, IsTerminal, Read};

use chrono::{DateTime, FixedOffset, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use shareledger_core::event::{parse_line, Recorded};
use shareledger_returns::render::{render, DocKind};
use shareledger_store::{ReadFilter, Store, StoredEvent};

use crate::ledger::{self, hk, Lines};
use crate::{Cli, CliError, Command, OutputFormat, ReportFormat};

/// The clock and the user: the only impure inputs, read here at the edge.
pub fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

pub fn default_actor() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// Today in Hong Kong.
pub fn today() -> chrono::NaiveDate {
    hk(&now()).date_naive()
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Import { file, dry_run } => import(&cli.db, &file, dry_run),
        Command::Record(args) => record::run(&cli.db, args),
        Command::ImportTrades(args) => trades::run(&cli.db, args),
        Command::Status(args) => status::run(&cli.db, args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        Command::Log {
            issuer,
            known_at,
            format,
        } => log(
            &cli.db,
            issuer.as_deref(),
            known_at.as_deref(),
            format.format,
        ),
        Command::Balance {
            issuer,
            class,
            as_of,
            known_at,
            format,
        } => {
            let store = ledger::open_existing(&cli.db)?;
            let known = known_at
                .as_deref()
                .map(ledger::parse_known_at)
                .transpose()?;
            let register = ledger::load_issuer(&store, &issuer, known.as_ref())?;
            let state = register.issuer(&issuer).expect("loaded");
            let doc = shareledger_returns::balance::balance(
                state,
                class.as_deref(),
                as_of.unwrap_or_else(today),
                known.map(|t| hk(&t).to_rfc3339()),
            )?;
            print!("{}", render(DocKind::Balance, &doc, format.format.into()));
            Ok(())
        }
        Command::Return(cmd) => returns::run(&cli.db, cmd),
        Command::Audit(args) => audit::run(&cli.db, args),
        Command::Checkpoint => {
            let store = ledger::open_existing(&cli.db)?;
            match store.head()? {
                Some((position, hash)) => {
                    println!("{position}:{hash}");
                    eprintln!("Keep this line somewhere the ledger's users cannot change; `shareledger audit --expect {position}:{hash}` proves the log still holds it.");
                    Ok(())
                }
                None => Err(CliError::refused(
                    "the ledger is empty: there is no head to keep yet",
                )),
            }
        }
        Command::Backup { file } => {
            let store = ledger::open_existing(&cli.db)?;
            let v = store.backup_to(&file)?;
            println!(
                "backed up {} events to {} (chain verified{})",
                v.events,
                file.display(),
                v.head
                    .map(|(p, h)| format!(", head {p}:{h}"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        Command::Demo { format } => demo(format.format),
    }
}

/// Read JSON lines from a file or standard input: (line number, event), or
/// the first bad line's error.
pub fn read_lines(reader: impl BufRead) -> Result<Lines, CliError> {
    read_lines_with(reader, &ProgressBar::hidden())
}

/// As [`read_lines`], advancing `progress` by the bytes read.
pub fn read_lines_with(reader: impl BufRead, progress: &ProgressBar) -> Result<Lines, CliError> {
    let mut lines = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| CliError::refused(format!("line {n}: cannot be read: {e}")))?;
        progress.inc(line.len() as u64 + 1);
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let incoming = parse_line(t).map_err(|e| {
            progress.abandon();
            CliError::refused(format!("line {n}: {e}"))
        })?;
        lines.push((n, incoming));
    }
    Ok(lines)
}

/// Files at least this large get a progress bar on `import` (when standard
/// error is a terminal).
pub const PROGRESS_MIN_BYTES: u64 = 1 << 20;

/// A progress bar over `len` bytes, shown only when standard error is a
/// terminal and the input is large; hidden otherwise.
pub fn byte_progress(len: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match len {
        Some(len) if len >= PROGRESS_MIN_BYTES => {
            let pb = ProgressBar::new(len);
            pb.set_style(
                ProgressStyle::with_template(
                    "reading  [{bar:40}] {bytes}/{total_bytes} ({eta} left)",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            pb
        }
        Some(_) => ProgressBar::hidden(),
        None => {
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("{spinner} reading {bytes}").expect("valid template"),
            );
            pb
        }
    }
}

/// A spinner for a long step of unknown length (same rules as [`byte_progress`]).
pub fn spinner(show: bool, message: String) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"),
    );
    pb.set_message(message);
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

/// Open the store to append to. A dry run against a ledger file that does
/// not exist yet uses an empty scratch store, so that it creates nothing;
/// keep the returned directory alive as long as the store.
pub fn open_for_append(
    db: &std::path::Path,
    dry_run: bool,
) -> Result<(Store, Option<tempfile::TempDir>), CliError> {
    if dry_run && !db.exists() {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("dry-run.db"))?;
        return Ok((store, Some(dir)));
    }
    Ok((Store::open(db)?, None))
}

/// A stored event as `log --format json` prints it: the import format plus
/// `position`, `id`, `recorded_at`, `actor` and `hash`.
pub fn stored_json(row: &StoredEvent) -> Result<serde_json::Value, CliError> {
    let rec = ledger::decode(row)?;
    let mut v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&row.payload)
        .map_err(|e| CliError::refused(format!("position {}: {e}", row.position)))?;
    v.insert("position".into(), row.position.into());
    v.insert("id".into(), row.id.clone().into());
    v.insert(
        "recorded_at".into(),
        hk(&rec.recorded_at).to_rfc3339().into(),
    );
    v.insert("actor".into(), row.actor.clone().into());
    v.insert("hash".into(), row.hash.clone().into());
    Ok(serde_json::Value::Object(v))
}

/// An event not (yet) stored, as [`stored_json`] would print it.
pub fn recorded_json(rec: &Recorded) -> serde_json::Value {
    let mut v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&rec.payload()).expect("payload is JSON");
    if let Some(p) = rec.position {
        v.insert("position".into(), p.into());
    }
    v.insert("id".into(), rec.id.to_string().into());
    v.insert(
        "recorded_at".into(),
        hk(&rec.recorded_at)
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
            .into(),
    );
    v.insert("actor".into(), rec.actor.clone().into());
    serde_json::Value::Object(v)
}

/// One JSON value on standard output: indented for a person at a terminal,
/// one line for a pipe.
pub fn print_json_line(v: &serde_json::Value) {
    if std::io::stdout().is_terminal() {
        println!("{}", serde_json::to_string_pretty(v).expect("serializes"));
    } else {
        println!("{v}");
    }
}

fn import(db: &std::path::Path, file: &std::path::Path, dry_run: bool) -> Result<(), CliError> {
    let lines = if file.as_os_str() == "-" {
        let progress = byte_progress(None);
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        progress.finish_and_clear();
        read_lines(s.as_bytes())?
    } else {
        let f = std::fs::File::open(file).map_err(|e| {
            CliError::refused(format!(
                "cannot open {}: {e}: check the path",
                file.display()
            ))
        })?;
        let len = f.metadata().ok().map(|m| m.len());
        let progress = byte_progress(len);
        let lines = read_lines_with(std::io::BufReader::new(f), &progress)?;
        progress.finish_and_clear();
        lines
    };
    let large = std::fs::metadata(file).is_ok_and(|m| m.len() >= PROGRESS_MIN_BYTES)
        || lines.len() >= 5_000;
    let (mut store, _scratch) = open_for_append(db, dry_run)?;
    let progress = spinner(
        large,
        format!(
            "checking {} events against the ledger and writing them in one transaction",
            lines.len()
        ),
    );
    let summary = ledger::append(&mut store, lines, now(), &default_actor(), dry_run);
    progress.finish_and_clear();
    let summary = summary?;
    let verb = if dry_run { "would import" } else { "imported" };
    eprintln!(
        "{verb} {} events{} into {}",
        summary.appended.len(),
        if summary.duplicates > 0 {
            format!(" ({} already present, skipped)", summary.duplicates)
        } else {
            String::new()
        },
        db.display()
    );
    if dry_run {
        audit::print_findings_of(&store, &summary.appended, true)?;
    } else {
        audit::print_new_findings(&store, &summary.appended)?;
    }
    Ok(())
}

fn log(
    db: &std::path::Path,
    issuer: Option<&str>,
    known_at: Option<&str>,
    format: ReportFormat,
) -> Result<(), CliError> {
    use std::io::Write;
    let store = ledger::open_existing(db)?;
    let known = known_at.map(ledger::parse_known_at).transpose()?;
    let filter = ReadFilter {
        stream: issuer.map(str::to_string),
        recorded_until: known.as_ref().map(ledger::store_time),
        ..ReadFilter::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for row in store.events(&filter) {
        let row = row?;
        let written = match format {
            ReportFormat::Json => writeln!(out, "{}", stored_json(&row)?),
            ReportFormat::Text => {
                let rec = ledger::decode(&row)?;
                writeln!(
                    out,
                    "{:>8}  {}  {:<8} {:<32} {}  {}",
                    row.position,
                    hk(&rec.recorded_at).format("%Y-%m-%d %H:%M:%S%:z"),
                    row.stream,
                    row.event_type,
                    row.effective_date.as_deref().unwrap_or("          "),
                    row.payload
                )
            }
        };
        if written.is_err() {
            break; // a closed pipe (| head) is not an error
        }
    }
    let _ = out.flush();
    Ok(())
}

/// The seed ledger, embedded so the demo runs anywhere.
pub const SEED_LEDGER: &str = include_str!("../../../../examples/ainnovation-2022.jsonl");

fn demo(format: OutputFormat) -> Result<(), CliError> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("demo.db");
    let mut store = Store::open(&db)?;
    let lines = read_lines(SEED_LEDGER.as_bytes())?;
    let summary = ledger::append(&mut store, lines, now(), "demo", false)?;
    eprintln!(
        "demo: built the example ledger of the seed filings ({} events) in {}",
        summary.appended.len(),
        db.display()
    );
    drop(store);
    for cmd in [
        returns::ReturnCommand::nddr("02121", "2022-11-07", format),
        returns::ReturnCommand::monthly("02121", "2022-11", "2022-12-02", format),
    ] {
        returns::run(&db, cmd)?;
        if format == OutputFormat::Text {
            println!("\n{}\n", "=".repeat(100));
        }
    }
    Ok(())
}
