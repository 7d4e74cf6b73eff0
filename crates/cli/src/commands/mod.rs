//! One function per command.

pub mod audit;
pub mod record;
pub mod returns;

use std::io::{BufRead, Read};

use chrono::{DateTime, FixedOffset, Utc};
use shareledger_core::event::parse_line;
use shareledger_returns::render::{render, DocKind};
use shareledger_store::{ReadFilter, Store};

use crate::ledger::{self, hk, Lines};
use crate::{Cli, CliError, Command, OutputFormat};

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
        Command::Log { issuer, format } => log(&cli.db, issuer.as_deref(), format.format),
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
    let mut lines = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| CliError::refused(format!("line {n}: cannot be read: {e}")))?;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let incoming = parse_line(t).map_err(|e| CliError::refused(format!("line {n}: {e}")))?;
        lines.push((n, incoming));
    }
    Ok(lines)
}

fn import(db: &std::path::Path, file: &std::path::Path, dry_run: bool) -> Result<(), CliError> {
    let lines = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        read_lines(s.as_bytes())?
    } else {
        let f = std::fs::File::open(file).map_err(|e| {
            CliError::refused(format!(
                "cannot open {}: {e}: check the path",
                file.display()
            ))
        })?;
        read_lines(std::io::BufReader::new(f))?
    };
    let mut store = Store::open(db)?;
    let summary = ledger::append(&mut store, lines, now(), &default_actor(), dry_run)?;
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
    audit::print_new_findings(&store, &summary.appended)?;
    Ok(())
}

fn log(db: &std::path::Path, issuer: Option<&str>, format: OutputFormat) -> Result<(), CliError> {
    use std::io::Write;
    let store = ledger::open_existing(db)?;
    let filter = ReadFilter {
        stream: issuer.map(str::to_string),
        ..ReadFilter::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for row in store.events(&filter) {
        let row = row?;
        let rec = ledger::decode(&row)?;
        let written = match format {
            OutputFormat::Json => {
                let mut v: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&row.payload).map_err(|e| {
                        CliError::refused(format!("position {}: {e}", row.position))
                    })?;
                v.insert("position".into(), row.position.into());
                v.insert("id".into(), row.id.clone().into());
                v.insert(
                    "recorded_at".into(),
                    hk(&rec.recorded_at).to_rfc3339().into(),
                );
                v.insert("actor".into(), row.actor.clone().into());
                v.insert("hash".into(), row.hash.clone().into());
                writeln!(out, "{}", serde_json::Value::Object(v))
            }
            _ => writeln!(
                out,
                "{:>8}  {}  {:<8} {:<32} {}  {}",
                row.position,
                hk(&rec.recorded_at).format("%Y-%m-%d %H:%M:%S%:z"),
                row.stream,
                row.event_type,
                row.effective_date.as_deref().unwrap_or("          "),
                row.payload
            ),
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
