//! # shareledger-cli
//!
//! The command line: clap commands that read input, call the core, the store
//! and the returns, and print. Nothing clever lives here.
//!
//! The ledger's operations live in `shareledger-ledger`; this crate holds
//! the clap definitions, printing, progress bars, PDF and completions.
//!
//! * `commands`: one function per command.
//! * [`pdf`]: `--format pdf` through a headless Chromium.

pub mod commands;
pub mod output;
pub mod pdf;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use shareledger_ledger::LedgerError;

/// An error for the user: what, where, how to fix; and the exit status.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    /// 1: input or ledger refused or found wrong; 2: usage.
    pub code: u8,
}

impl CliError {
    pub fn refused(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 1,
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 2,
        }
    }
}

impl From<LedgerError> for CliError {
    fn from(e: LedgerError) -> Self {
        match e {
            // A request parameter is a flag here: name it as one.
            LedgerError::Invalid {
                param,
                value,
                message,
            } => CliError::usage(format!("--{} `{value}` {message}", param.replace('_', "-"))),
            // The options the ledger names in words are flags here.
            LedgerError::Rejected(mut r) => {
                if r.kind == "double_entry" {
                    r.hint = Some(
                        "if both are real (two identical purchases on one day), give --allow-duplicate (or mark the line \"allow_duplicate\": true); if the input was already imported, there is nothing to do".into(),
                    );
                }
                CliError::refused(r.to_string())
            }
            e => CliError::refused(e.to_string()),
        }
    }
}

impl From<shareledger_ledger::StoreError> for CliError {
    fn from(e: shareledger_ledger::StoreError) -> Self {
        CliError::from(LedgerError::from(e))
    }
}

impl From<shareledger_returns::ReturnError> for CliError {
    fn from(e: shareledger_returns::ReturnError) -> Self {
        CliError::refused(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::refused(format!("I/O error: {e}"))
    }
}

const AFTER_HELP: &str = "\
Examples:
  shareledger demo
  shareledger import examples/ainnovation-2022.jsonl --db ledger.db
  shareledger record shares-repurchased --help
  shareledger import-trades examples/trades-executions.csv --issuer 08888 --class ORD
  shareledger balance --issuer 02121 --as-of 2022-11-30
  shareledger status --issuer 02121
  shareledger return nddr --issuer 02121 --date 2022-11-07
  shareledger return monthly --issuer 02121 --month 2022-11 --format html > monthly.html
  shareledger audit

The ledger file is --db PATH, else $SHARELEDGER_DB, else ./shareledger.db.
Every command's --help ends with an example.";

/// shareledger: an event-sourced share register for Hong Kong-listed issuers.
///
/// Record every change in share capital into an append-only log; derive the
/// Next Day Disclosure Return and the Monthly Return from it; audit the log.
#[derive(Debug, Parser)]
#[command(name = "shareledger", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// The ledger: a SQLite file (created by the first write), or a PostgreSQL database as postgresql://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "SHARELEDGER_DB",
        default_value = "shareledger.db"
    )]
    pub db: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

/// Output format of documents and listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Html,
    Md,
}

impl From<OutputFormat> for shareledger_returns::render::Format {
    fn from(f: OutputFormat) -> Self {
        use shareledger_returns::render::Format;
        match f {
            OutputFormat::Text => Format::Text,
            OutputFormat::Json => Format::Json,
            OutputFormat::Html => Format::Html,
            OutputFormat::Md => Format::Markdown,
        }
    }
}

/// Output format of listings and reports (`log`, `audit`, `status`): read
/// at a terminal or by programs, never filed, so no HTML or Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportFormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Append the events of a JSON-lines file (or - for standard input), atomically.
    #[command(
        after_help = "Example:\n  shareledger import events.jsonl\n  cat events.jsonl | shareledger import -\n\nOne JSON object per line; blank lines and lines starting with # are skipped.\nIf any line is refused, nothing is written and the error names the line and field."
    )]
    Import {
        /// The file, or - for standard input.
        file: PathBuf,
        /// Check every line without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// Let through events equal to one already recorded (a line can also say "allow_duplicate": true).
        #[arg(long)]
        allow_duplicate: bool,
    },
    /// Append one event, with flags named after its fields (`record TYPE --help` lists them).
    #[command(after_help = commands::record::after_help())]
    Record(commands::record::RecordArgs),
    /// Record buy-backs from a broker's CSV (executions or daily summaries), one event per trade date.
    #[command(after_help = commands::trades::AFTER_HELP)]
    ImportTrades(commands::trades::ImportTradesArgs),
    /// List events in log order.
    #[command(
        after_help = "Example:\n  shareledger log --issuer 02121 --format json > backup.jsonl"
    )]
    Log {
        #[arg(long)]
        issuer: Option<String>,
        /// Only what the ledger knew at this time (RFC 3339, or a date: the end of that day).
        #[arg(long)]
        known_at: Option<String>,
        #[command(flatten)]
        format: ReportFormatArg,
    },
    /// Balances of each class as of a date, as known at a time.
    #[command(
        after_help = "Example:\n  shareledger balance --issuer 02121 --as-of 2022-11-30 --known-at 2022-12-01T09:00:00+08:00"
    )]
    Balance {
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        class: Option<String>,
        /// End of this day (default: today in Hong Kong).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// Only what the ledger knew at this time (RFC 3339, or a date: the end of that day).
        #[arg(long)]
        known_at: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Where an issuer stands: balances, pending cancellations, mandate, moratorium, returns due.
    #[command(after_help = commands::status::AFTER_HELP)]
    Status(commands::status::StatusArgs),
    /// Produce a return: the NDDR or the Monthly Return.
    #[command(
        subcommand,
        after_help = "Examples:\n  shareledger return nddr --issuer 02121 --date 2022-11-07\n  shareledger return monthly --issuer 02121 --month 2022-11 --format html > monthly.html\n\n`shareledger return nddr --help` and `shareledger return monthly --help` give the options."
    )]
    Return(commands::returns::ReturnCommand),
    /// Verify the log's integrity, replay it and run every rule check; exit 1 if anything is wrong.
    #[command(
        after_help = "Example:\n  shareledger audit --format json\n  shareledger audit --expect 1234:9f86d081884c7d65..."
    )]
    Audit(commands::audit::AuditArgs),
    /// Print the log's head (position and hash) to keep elsewhere; `audit --expect` proves it later.
    #[command(
        after_help = "Example:\n  shareledger checkpoint >> /secure/ledger-heads.txt\n  shareledger audit --expect \"$(tail -1 /secure/ledger-heads.txt)\""
    )]
    Checkpoint,
    /// Make a consistent copy of the ledger (safe while others write), and verify it.
    #[command(after_help = "Example:\n  shareledger backup /backups/ledger-2022-11-30.db")]
    Backup {
        /// The new file (must not exist).
        file: PathBuf,
    },
    /// Copy the whole ledger into a new, empty ledger: a file, or a PostgreSQL database.
    #[command(
        after_help = "Examples:\n  shareledger copy --to postgresql://clerk@db.registrar.example/ledger\n  shareledger --db postgresql://clerk@db.registrar.example/ledger copy --to ledger-copy.db\n\nSame positions, ids, recorded times and hashes; both chains are verified, and\nnothing is written to the target unless all of it is. A file target must not exist;\na PostgreSQL target must hold no events yet."
    )]
    Copy {
        /// The target: a new file, or a postgres:// URL of an empty ledger.
        #[arg(long)]
        to: String,
    },
    /// Build the example ledger of the seed filings in a temporary store and print both returns.
    #[command(
        after_help = "Example:\n  shareledger demo\n  shareledger demo --format html > demo.html"
    )]
    Demo {
        #[command(flatten)]
        format: FormatArg,
    },
    /// The web app and its JSON API (docs/web.md) on ADDR.
    #[command(
        after_help = "Example:\n  shareledger serve\n  shareledger serve --listen 127.0.0.1:9000\n  shareledger serve --listen 0.0.0.0:8080     # only once a user exists (shareledger user add)\n  shareledger --db postgresql://shareledger_app@db.internal/registry serve --listen 10.0.0.5:8080\n\nOpen http://127.0.0.1:8080/ in a browser. With no user configured the app runs for you\nalone, without login, and listens only on this machine. The API is described at /api/openapi.json."
    )]
    Serve {
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// The users of the web app and their roles (kept in the ledger's hash chain).
    #[command(subcommand, after_help = commands::users::AFTER_HELP)]
    User(commands::users::UserCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = commands::completions::COMPLETIONS_HELP)]
    Completions(commands::completions::CompletionsArgs),
    /// Print the manual page (roff), of the whole program or of one command.
    #[command(after_help = commands::completions::MAN_HELP)]
    Man(commands::completions::ManArgs),
}

/// A date flag: YYYY-MM-DD, with a message that says so (and why a day/month
/// order is not guessed).
pub fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        format!(
            "`{s}` is not a date: write it as YYYY-MM-DD, like 2025-03-15 (15/03/2025 could be read two ways, so it is not accepted)"
        )
    })
}

/// `record TYPE ... --help`: the fields of that type. (clap would answer
/// with the generic help of `record`, which cannot know them.)
fn record_type_help(args: &[std::ffi::OsString]) -> Option<String> {
    let args: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    let mut i = 0;
    // Global options before the command.
    while i < args.len() && args[i].starts_with('-') {
        i += if args[i] == "--db" { 2 } else { 1 };
    }
    if args.get(i) != Some(&"record") {
        return None;
    }
    i += 1;
    while i < args.len() && args[i].starts_with('-') {
        if args[i] == "--help" || args[i] == "-h" {
            return None; // `record --help`: clap's, with the list of types
        }
        i += if args[i] == "--db" { 2 } else { 1 };
    }
    let spec = shareledger_ledger::fields::spec(args.get(i)?)?;
    args[i + 1..]
        .iter()
        .any(|a| *a == "--help" || *a == "-h")
        .then(|| spec.help())
}

/// Run the command line; returns the exit status.
pub fn main_with(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    if let Some(help) = record_type_help(&args) {
        return exit(out!("{help}"));
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to standard output, usage errors to
            // standard error: either may fail to be written.
            let printed = e.print();
            return match printed {
                Ok(()) => ExitCode::from(if e.use_stderr() { 2 } else { 0 }),
                Err(io) => exit(Err(output::write_error(
                    if e.use_stderr() {
                        "standard error"
                    } else {
                        "standard output"
                    },
                    &io,
                ))),
            };
        }
    };
    exit(commands::run(cli))
}

/// The exit status of a command's result; the error said on standard
/// error (a closed pipe quietly).
fn exit(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                output::report_error(&e.message);
            }
            ExitCode::from(e.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example_in_its_help() {
        fn walk(cmd: &clap::Command, path: &str) {
            for sub in cmd.get_subcommands() {
                let p = format!("{path} {}", sub.get_name());
                let help = sub
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                assert!(
                    help.contains("Example") && help.contains("shareledger "),
                    "`{p} --help` has no example"
                );
                walk(sub, &p);
            }
        }
        walk(&Cli::command(), "shareledger");
    }

    #[test]
    fn each_command_takes_the_formats_it_can_print_and_refuses_the_rest() {
        let parse = |s: &str| Cli::try_parse_from(s.split(' '));
        // Documents and balances: all four (returns also pdf).
        for f in ["text", "json", "html", "md"] {
            assert!(parse(&format!("shareledger balance --issuer 1 --format {f}")).is_ok());
            assert!(parse(&format!("shareledger demo --format {f}")).is_ok());
            assert!(parse(&format!(
                "shareledger return nddr --issuer 1 --date 2024-01-02 --format {f}"
            ))
            .is_ok());
        }
        assert!(
            parse("shareledger return monthly --issuer 1 --month 2024-01 --format pdf").is_ok()
        );
        assert!(parse("shareledger balance --issuer 1 --format pdf").is_err());
        // Listings and reports: text and JSON only; never a silent fallback.
        for cmd in ["log", "audit", "status --issuer 1"] {
            for f in ["text", "json"] {
                assert!(
                    parse(&format!("shareledger {cmd} --format {f}")).is_ok(),
                    "{cmd} {f}"
                );
            }
            for f in ["html", "md", "pdf"] {
                let e = parse(&format!("shareledger {cmd} --format {f}")).expect_err(cmd);
                assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue, "{cmd} {f}");
                assert!(
                    e.to_string().contains("[possible values: text, json]"),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn record_type_help_is_found_after_the_type() {
        let args = |s: &str| -> Vec<std::ffi::OsString> { s.split(' ').map(Into::into).collect() };
        assert!(record_type_help(&args("shareledger record shares-repurchased --help")).is_some());
        assert!(record_type_help(&args(
            "shareledger --db x.db record shares_repurchased --issuer 1 -h"
        ))
        .is_some());
        assert!(record_type_help(&args("shareledger record --help")).is_none());
        assert!(record_type_help(&args("shareledger record nope --help")).is_none());
        assert!(record_type_help(&args("shareledger balance --help")).is_none());
    }
}
