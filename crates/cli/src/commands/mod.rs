//! One function per command.

pub mod audit;
pub mod completions;
pub mod record;
pub mod returns;
pub mod status;
pub mod trades;
pub mod users;

use std::io::IsTerminal;

use chrono::{DateTime, FixedOffset, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use shareledger_ledger::import::jsonl::stream_lines;
use shareledger_ledger::log::stored_json;
use shareledger_ledger::time::{hk, parse_time, store_time};
use shareledger_ledger::{
    decode::decode, is_postgres, AppendOptions, Engine, Ledger, PgStore, ReadFilter, ReadOnly,
    Store,
};
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

/// The ledger's location as the user gave it (a path or a URL).
pub fn location(db: &std::path::Path) -> String {
    db.to_string_lossy().into_owned()
}

/// Run a command on the engine `--db` names: a `postgres://` URL, or a file.
pub fn run(cli: Cli) -> Result<(), CliError> {
    // A command that may create the ledger and then fails leaves no file.
    let creates = matches!(
        &cli.command,
        Command::Import { .. } | Command::Record(_) | Command::ImportTrades(_) | Command::Return(_)
    );
    let created = creates.then(|| created_by_us(&cli.db)).flatten();
    let result = if is_postgres(&location(&cli.db)) {
        run_on::<PgStore>(cli)
    } else {
        run_on::<Store>(cli)
    };
    if result.is_err() {
        discard_if_new_and_empty(created);
    }
    result
}

fn run_on<S: shareledger_server::Servable>(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Import {
            file,
            dry_run,
            allow_duplicate,
        } => import::<S>(&cli.db, &file, dry_run, allow_duplicate),
        Command::Record(args) => record::run::<S>(&cli.db, args),
        Command::ImportTrades(args) => trades::run::<S>(&cli.db, args),
        Command::Status(args) => status::run::<S>(&cli.db, args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        Command::Log {
            issuer,
            known_at,
            format,
        } => log::<S>(
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
            let ledger = open_to_read::<S>(&cli.db)?;
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
            crate::out!("{}", render(DocKind::Balance, &doc, format.format.into()))?;
            Ok(())
        }
        Command::Return(cmd) => returns::run::<S>(&cli.db, cmd),
        Command::Audit(args) => audit::run::<S>(&cli.db, args),
        Command::Checkpoint => {
            let ledger = open_to_read::<S>(&cli.db)?;
            match ledger.checkpoint()? {
                Some((position, hash)) => {
                    crate::outln!("{position}:{hash}")?;
                    crate::note!("Keep this line somewhere the ledger's users cannot change; `shareledger audit --expect {position}:{hash}` proves the log still holds it.")?;
                    Ok(())
                }
                None => Err(CliError::refused(
                    "the ledger is empty: there is no head to keep yet",
                )),
            }
        }
        Command::Backup { file } => {
            let ledger = open_to_read::<S>(&cli.db)?;
            let v = ledger.backup_to(&file)?;
            crate::outln!(
                "backed up {} events to {} (chain verified{})",
                v.events,
                file.display(),
                v.head
                    .map(|(p, h)| format!(", head {p}:{h}"))
                    .unwrap_or_default()
            )?;
            Ok(())
        }
        Command::Demo { format } => demo(format.format),
        Command::Copy { to } => {
            let ledger = Ledger::<S>::open_existing_at(&location(&cli.db))?;
            let v = copy(&ledger, &to)?;
            println!(
                "copied {} events to {} (both chains verified{})",
                v.events,
                if is_postgres(&to) {
                    shareledger_ledger::redact_url(&to)
                } else {
                    to.clone()
                },
                v.head
                    .map(|(p, h)| format!(", head {p}:{h}"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        Command::Serve { listen } => {
            shareledger_server::serve_at::<S>(&location(&cli.db), listen).map_err(CliError::refused)
        }
        Command::User(cmd) => users::run::<S>(&cli.db, cmd),
    }
}

/// Open the ledger for a command that only reads: read-only, so that a
/// ledger on read-only media or in a directory that cannot be written (an
/// auditor's copy) can be read, and nothing is ever written to it. Says so
/// when SQLite must treat the file as immutable.
pub fn open_to_read<S: Engine>(db: &std::path::Path) -> Result<Ledger<S>, CliError> {
    let (ledger, mode) = Ledger::<S>::open_to_read_at(&location(db))?;
    if mode == ReadOnly::Immutable {
        crate::note!(
            "note: {} is read read-only as an unchanging file (its directory cannot be written): nothing is written to it or beside it; no other program may write it meanwhile",
            db.display()
        )?;
    }
    Ok(ledger)
}

/// Whether a command creating `db` must discard it when it fails: the
/// path, when it does not exist yet (so that a refused first import leaves
/// no file behind).
pub fn created_by_us(db: &std::path::Path) -> Option<std::path::PathBuf> {
    if is_postgres(&location(db)) {
        return None; // a server's ledger is not a file of ours
    }
    db.symlink_metadata().is_err().then(|| db.to_path_buf())
}

/// Remove a ledger this command created (`created`, from [`created_by_us`])
/// when its operation failed and it holds no event: nothing refused is
/// written, not even an empty ledger file. Close the ledger first.
///
/// Only when no other connection has it open: the last connection to a
/// WAL ledger to close removes its `-wal` and `-shm`, so either of them
/// still there means another process may be writing to it (it is then
/// left). The count is read immutable, creating nothing.
pub fn discard_if_new_and_empty(created: Option<std::path::PathBuf>) {
    let Some(db) = created else { return };
    let beside = |suffix: &str| {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    if beside("-wal").exists() || beside("-shm").exists() {
        return;
    }
    let empty = std::fs::metadata(&db).is_ok_and(|m| m.len() == 0)
        || Ledger::open_read_only_as(&db, ReadOnly::Immutable)
            .ok()
            .and_then(|l| l.store().count().ok())
            == Some(0);
    if empty {
        let _ = std::fs::remove_file(&db);
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
///
/// A dry run of an existing ledger opens it as `Ledger::open_for_dry_run_at`
/// decides (read-only when it cannot or should not be written).
pub fn open_for_append<S: Engine>(
    db: &std::path::Path,
    dry_run: bool,
) -> Result<(Ledger<S>, Option<tempfile::TempDir>), CliError> {
    let at = location(db);
    if dry_run && !S::exists(&at) {
        let dir = tempfile::tempdir()?;
        let scratch = location(&dir.path().join("dry-run.db"));
        let ledger = Ledger::<S>::open_at(&scratch)?;
        return Ok((ledger, Some(dir)));
    }
    if !dry_run {
        return Ok((Ledger::<S>::open_at(&at)?, None));
    }
    let (ledger, read_only) = Ledger::<S>::open_for_dry_run_at(&at)?;
    if read_only == Some(ReadOnly::Immutable) {
        crate::note!(
            "note: {} is read read-only as an unchanging file (its directory cannot be written): the dry run decides in memory",
            db.display()
        )?;
    }
    Ok((ledger, None))
}

/// One JSON value on standard output: indented for a person at a terminal,
/// one line for a pipe.
pub fn print_json_line(v: &serde_json::Value) -> Result<(), CliError> {
    if std::io::stdout().is_terminal() {
        crate::outln!("{}", serde_json::to_string_pretty(v).expect("serializes"))?;
    } else {
        crate::outln!("{v}")?;
    }
    Ok(())
}

fn import<S: Engine>(
    db: &std::path::Path,
    file: &std::path::Path,
    dry_run: bool,
    allow_duplicate: bool,
) -> Result<(), CliError> {
    // The lines are read, decided and written one at a time inside the one
    // transaction (bounded memory whatever the file's size).
    let options = AppendOptions {
        dry_run,
        allow_duplicate,
        findings: true,
        ..AppendOptions::default()
    };
    let (summary, ledger) = if file.as_os_str() == "-" {
        let (mut ledger, scratch) = open_for_append::<S>(db, dry_run)?;
        let progress = byte_progress(None);
        let stdin = std::io::stdin().lock();
        let summary = ledger.append(
            stream_lines(stdin, |n| progress.inc(n)),
            now(),
            &default_actor(),
            options,
        );
        progress.finish_and_clear();
        (summary, (ledger, scratch))
    } else {
        let f = std::fs::File::open(file).map_err(|e| {
            CliError::refused(format!(
                "cannot open {}: {e}: check the path",
                file.display()
            ))
        })?;
        let len = f.metadata().ok().map(|m| m.len());
        let (mut ledger, scratch) = open_for_append::<S>(db, dry_run)?;
        let progress = byte_progress(len);
        let summary = ledger.append(
            stream_lines(std::io::BufReader::new(f), |n| progress.inc(n)),
            now(),
            &default_actor(),
            options,
        );
        if summary.is_err() {
            progress.abandon();
        }
        progress.finish_and_clear();
        (summary, (ledger, scratch))
    };
    let (ledger, _scratch) = ledger;
    let summary = summary?;
    let verb = if dry_run { "would import" } else { "imported" };
    crate::note!(
        "{verb} {} events{} into {}",
        summary.appended,
        if summary.duplicates > 0 {
            format!(" ({} already present, skipped)", summary.duplicates)
        } else {
            String::new()
        },
        ledger.location()
    )?;
    audit::print_findings(&summary.findings)?;
    Ok(())
}

fn log<S: Engine>(
    db: &std::path::Path,
    issuer: Option<&str>,
    known_at: Option<&str>,
    format: ReportFormat,
) -> Result<(), CliError> {
    use std::io::Write;
    let ledger = open_to_read::<S>(db)?;
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
                let line = format!(
                    "{:>8}  {}  {}  {:<8} {:<32} {}  {}",
                    row.position,
                    // The random end of the id (UUIDv7 ids begin with the time).
                    row.id
                        .get(row.id.len().saturating_sub(8)..)
                        .unwrap_or(&row.id),
                    hk(&rec.recorded_at).format("%Y-%m-%d %H:%M:%S%:z"),
                    row.stream,
                    row.event_type,
                    row.effective_date.as_deref().unwrap_or("          "),
                    row.payload
                );
                writeln!(out, "{}", crate::output::sanitize(&line))
            }
        };
        // A closed pipe (| head) ends quietly, a full disk is an error:
        // never exit 0 for a log not written whole.
        written.map_err(|e| crate::output::write_error("standard output", &e))?;
    }
    out.flush()
        .map_err(|e| crate::output::write_error("standard output", &e))
}

fn demo(format: OutputFormat) -> Result<(), CliError> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("demo.db");
    let mut ledger = Ledger::open(&db)?;
    let lines = read_lines(SEED_LEDGER.as_bytes())?;
    let summary = ledger.append(lines, now(), "demo", AppendOptions::default())?;
    crate::note!(
        "demo: built the example ledger of the seed filings ({} events) in a temporary ledger, deleted when the demo ends (to keep one: shareledger import examples/ainnovation-2022.jsonl)",
        summary.appended
    )?;
    drop(ledger);
    for cmd in [
        returns::ReturnCommand::nddr("02121", "2022-11-07", format),
        returns::ReturnCommand::monthly("02121", "2022-11", "2022-12-02", format),
    ] {
        returns::run::<Store>(&db, cmd)?;
        if format == OutputFormat::Text {
            crate::outln!("\n{}\n", "=".repeat(100))?;
        }
    }
    Ok(())
}

/// `copy --to TARGET`: into an empty PostgreSQL ledger in one transaction,
/// or into a new file written beside the target and renamed into place only
/// once the whole copy has verified (nothing is left on failure).
fn copy<S: Engine>(
    ledger: &Ledger<S>,
    to: &str,
) -> Result<shareledger_ledger::Verification, CliError> {
    if is_postgres(to) {
        let mut target = PgStore::create(to).map_err(shareledger_ledger::LedgerError::from)?;
        return Ok(ledger.copy_to(&mut target)?);
    }
    let dest = std::path::Path::new(to);
    if dest.symlink_metadata().is_ok() {
        return Err(CliError::refused(format!(
            "{to} already exists: copy into a new file (or an empty PostgreSQL ledger)"
        )));
    }
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let scratch = tempfile::Builder::new()
        .prefix(".shareledger-copy-")
        .tempdir_in(dir)
        .map_err(|e| {
            CliError::refused(format!(
                "cannot write in {}: {e}; check the directory exists and is writable",
                dir.display()
            ))
        })?;
    let part = scratch.path().join("copy.db");
    let v = {
        let mut target =
            Store::create(&location(&part)).map_err(shareledger_ledger::LedgerError::from)?;
        ledger.copy_to(&mut target)?
    };
    std::fs::rename(&part, dest).map_err(|e| {
        CliError::refused(format!(
            "cannot move the verified copy to {to}: {e}; nothing was written there"
        ))
    })?;
    Ok(v)
}
