//! One function per command.

pub mod audit;
pub mod completions;
pub mod record;
pub mod returns;
pub mod status;
pub mod trades;
pub mod users;

use std::io::{IsTerminal, Read};

use chrono::{DateTime, FixedOffset, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use shareledger_ledger::import::jsonl::read_lines_with;
use shareledger_ledger::log::stored_json;
use shareledger_ledger::time::{hk, parse_time, store_time};
use shareledger_ledger::{decode::decode, AppendOptions, Ledger, ReadFilter, Store};
use shareledger_returns::render::{render, DocKind};

use crate::{Cli, CliError, Command, OutputFormat, ReportFormat};

pub use shareledger_ledger::import::jsonl::read_lines;
pub use shareledger_ledger::log::recorded_json;
pub use shareledger_ledger::SEED_LEDGER;

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
            let ledger = Ledger::open_existing(&cli.db)?;
            let known = known_at
                .as_deref()
                .map(|t| parse_time("known_at", t))
                .transpose()?;
            let doc = ledger.balance(
                &issuer,
                class.as_deref(),
                as_of.unwrap_or_else(today),
                known.as_ref(),
            )?;
            print!("{}", render(DocKind::Balance, &doc, format.format.into()));
            Ok(())
        }
        Command::Return(cmd) => returns::run(&cli.db, cmd),
        Command::Audit(args) => audit::run(&cli.db, args),
        Command::Checkpoint => {
            let ledger = Ledger::open_existing(&cli.db)?;
            match ledger.checkpoint()? {
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
            let ledger = Ledger::open_existing(&cli.db)?;
            let v = ledger.backup_to(&file)?;
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
        Command::Serve { listen } => {
            shareledger_server::serve(cli.db, listen).map_err(CliError::refused)
        }
        Command::User(cmd) => users::run(&cli.db, cmd),
    }
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

/// Open the ledger to append to. A dry run against a ledger file that does
/// not exist yet uses an empty scratch store, so that it creates nothing;
/// keep the returned directory alive as long as the ledger.
pub fn open_for_append(
    db: &std::path::Path,
    dry_run: bool,
) -> Result<(Ledger<Store>, Option<tempfile::TempDir>), CliError> {
    if dry_run && !db.exists() {
        let dir = tempfile::tempdir()?;
        let ledger = Ledger::open(&dir.path().join("dry-run.db"))?;
        return Ok((ledger, Some(dir)));
    }
    Ok((Ledger::open(db)?, None))
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
        read_lines(s.as_bytes()).map_err(CliError::from)?
    } else {
        let f = std::fs::File::open(file).map_err(|e| {
            CliError::refused(format!(
                "cannot open {}: {e}: check the path",
                file.display()
            ))
        })?;
        let len = f.metadata().ok().map(|m| m.len());
        let progress = byte_progress(len);
        let lines = read_lines_with(std::io::BufReader::new(f), |n| progress.inc(n));
        if lines.is_err() {
            progress.abandon();
        }
        progress.finish_and_clear();
        lines?
    };
    let large = std::fs::metadata(file).is_ok_and(|m| m.len() >= PROGRESS_MIN_BYTES)
        || lines.len() >= 5_000;
    let (mut ledger, _scratch) = open_for_append(db, dry_run)?;
    let progress = spinner(
        large,
        format!(
            "checking {} events against the ledger and writing them in one transaction",
            lines.len()
        ),
    );
    let summary = ledger.append(
        lines,
        now(),
        &default_actor(),
        AppendOptions {
            dry_run,
            pipeline: None,
        },
    );
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
    audit::print_findings(&ledger, &summary.appended, dry_run)?;
    Ok(())
}

fn log(
    db: &std::path::Path,
    issuer: Option<&str>,
    known_at: Option<&str>,
    format: ReportFormat,
) -> Result<(), CliError> {
    use std::io::Write;
    let ledger = Ledger::open_existing(db)?;
    let known = known_at.map(|t| parse_time("known_at", t)).transpose()?;
    let filter = ReadFilter {
        stream: issuer.map(str::to_string),
        recorded_until: known.as_ref().map(store_time),
        ..ReadFilter::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for row in ledger.events(&filter) {
        let row = row?;
        if !shareledger_ledger::access::is_register_stream(&row.stream) {
            continue; // user records: `shareledger user list`
        }
        let written = match format {
            ReportFormat::Json => writeln!(out, "{}", stored_json(&row)?),
            ReportFormat::Text => {
                let rec = decode(&row)?;
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

fn demo(format: OutputFormat) -> Result<(), CliError> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("demo.db");
    let mut ledger = Ledger::open(&db)?;
    let lines = read_lines(SEED_LEDGER.as_bytes())?;
    let summary = ledger.append(lines, now(), "demo", AppendOptions::default())?;
    eprintln!(
        "demo: built the example ledger of the seed filings ({} events) in {}",
        summary.appended.len(),
        db.display()
    );
    drop(ledger);
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
