//! `return nddr` and `return monthly`, with `--mark-filed`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};
use clap::{Args, Subcommand};
use shareledger_ledger::time::{parse_instant, parse_time};
use shareledger_ledger::{Engine, FilingOptions, Ledger, Produced, ReturnKind, ReturnRequest};
use shareledger_returns::render::Format;

use super::{default_actor, now};
use crate::{CliError, OutputFormat};

#[derive(Debug, Args)]
pub struct Common {
    /// The issuer's id (its stock code as registered, e.g. 02121).
    #[arg(long)]
    pub issuer: String,
    /// Date submitted, as printed on the form.
    #[arg(long, value_parser = crate::parse_date)]
    pub submitted: Option<NaiveDate>,
    /// The form's Status line (default: New Submission; Amendment for a return correcting one already filed).
    #[arg(long)]
    pub status: Option<String>,
    /// Produce the return as the ledger knew it at this time (RFC 3339, or a date: the end of that day).
    #[arg(long)]
    pub known_at: Option<String>,
    /// Record a `return_filed` event for the document produced (with its digest).
    #[arg(long)]
    pub mark_filed: bool,
    /// With --mark-filed: when it was submitted (RFC 3339; default now). The form's Date Submitted is its date in Hong Kong unless --submitted says otherwise.
    #[arg(long, requires = "mark_filed")]
    pub submitted_at: Option<String>,
    /// With --mark-filed: file it although a later return of the same form is already filed (a return submitted late).
    #[arg(long, requires = "mark_filed")]
    pub out_of_order: bool,
    #[command(flatten)]
    pub output: ReturnOutput,
}

/// Output format of a return: the document formats, and PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReturnFormat {
    Text,
    Json,
    Html,
    Md,
    /// The HTML form printed to PDF by a headless Chromium (needs --output or a redirect).
    Pdf,
}

impl From<OutputFormat> for ReturnFormat {
    fn from(f: OutputFormat) -> Self {
        match f {
            OutputFormat::Text => ReturnFormat::Text,
            OutputFormat::Json => ReturnFormat::Json,
            OutputFormat::Html => ReturnFormat::Html,
            OutputFormat::Md => ReturnFormat::Md,
        }
    }
}

impl ReturnFormat {
    /// The document renderer behind this format (PDF prints the HTML).
    pub fn renderer(self) -> Format {
        match self {
            ReturnFormat::Text => Format::Text,
            ReturnFormat::Json => Format::Json,
            ReturnFormat::Html | ReturnFormat::Pdf => Format::Html,
            ReturnFormat::Md => Format::Markdown,
        }
    }
}

#[derive(Debug, Args)]
pub struct ReturnOutput {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReturnFormat,
    /// Write the return to this file (replaced whole, or not at all) instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReturnCommand {
    /// The Next Day Disclosure Return whose last event is on --date.
    #[command(
        after_help = "Example:\n  shareledger return nddr --issuer 02121 --date 2022-11-07\n  shareledger return nddr --issuer 02121 --date 2022-11-07 --format html > nddr.html\n  shareledger return nddr --issuer 02121 --date 2022-11-07 --format pdf --output nddr.pdf\n  shareledger return nddr --issuer 02121 --date 2022-11-07 --mark-filed --submitted-at 2022-11-07T19:05:00+08:00"
    )]
    Nddr {
        #[command(flatten)]
        common: Common,
        /// The closing balance date: the date of the last event disclosed.
        #[arg(long, value_parser = crate::parse_date)]
        date: NaiveDate,
        /// FF304 or FF305 (default: by date; FF305 from 11 June 2024).
        #[arg(long)]
        form: Option<String>,
    },
    /// The Monthly Return (FF301) for a month.
    #[command(
        after_help = "Example:\n  shareledger return monthly --issuer 02121 --month 2022-11 --submitted 2022-12-02"
    )]
    Monthly {
        #[command(flatten)]
        common: Common,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
    },
}

impl ReturnCommand {
    pub fn common(issuer: &str, submitted: Option<&str>, format: OutputFormat) -> Common {
        Common {
            issuer: issuer.into(),
            submitted: submitted.map(|s| s.parse().expect("valid date")),
            status: None,
            known_at: None,
            mark_filed: false,
            submitted_at: None,
            out_of_order: false,
            output: ReturnOutput {
                format: format.into(),
                output: None,
            },
        }
    }
    pub fn nddr(issuer: &str, date: &str, format: OutputFormat) -> Self {
        ReturnCommand::Nddr {
            common: Self::common(issuer, None, format),
            date: date.parse().expect("valid date"),
            form: None,
        }
    }
    pub fn monthly(issuer: &str, month: &str, submitted: &str, format: OutputFormat) -> Self {
        ReturnCommand::Monthly {
            common: Self::common(issuer, Some(submitted), format),
            month: month.into(),
        }
    }
}

impl ReturnCommand {
    /// The ledger's request for this command, and its common options.
    pub fn request(&self) -> Result<(ReturnRequest, &Common), CliError> {
        let (kind, common) = match self {
            ReturnCommand::Nddr { common, date, form } => {
                (ReturnKind::nddr(*date, form.as_deref())?, common)
            }
            ReturnCommand::Monthly { common, month } => (ReturnKind::monthly(month)?, common),
        };
        Ok((
            ReturnRequest {
                issuer: common.issuer.clone(),
                kind,
                submitted: common.submitted,
                status: common.status.clone(),
            },
            common,
        ))
    }
}

pub fn run<S: Engine>(db: &std::path::Path, cmd: ReturnCommand) -> Result<(), CliError> {
    let (req, common) = cmd.request()?;
    let known: Option<DateTime<FixedOffset>> = common
        .known_at
        .as_deref()
        .map(|t| parse_time("known_at", t))
        .transpose()?;
    let submitted_at = common
        .submitted_at
        .as_deref()
        .map(|s| parse_instant("submitted_at", s))
        .transpose()?;
    if common.mark_filed && known.is_some() {
        return Err(CliError::usage(
            "--mark-filed files the return as the ledger stands now: drop --known-at",
        ));
    }
    let format = common.output.format;
    if format == ReturnFormat::Pdf
        && common.output.output.is_none()
        && std::io::stdout().is_terminal()
    {
        return Err(CliError::usage(
            "--format pdf writes a binary file: give --output FILE (or redirect standard output)",
        ));
    }
    // The whole return is rendered (PDF included) and delivered before
    // anything is recorded; with --mark-filed, the document and its digest
    // are taken inside the transaction that records the filing, which
    // commits only once the return is delivered.
    let deliver = |produced: &Produced| -> Result<(), CliError> {
        let text = produced.render(format.renderer());
        // Read at a terminal: no stored control character is sent raw.
        let text = match format {
            ReturnFormat::Text | ReturnFormat::Md => crate::output::sanitize(&text).into_owned(),
            _ => text,
        };
        let bytes = match format {
            ReturnFormat::Pdf => crate::pdf::print(&text)?,
            _ => text.into_bytes(),
        };
        match &common.output.output {
            Some(path) => write_whole(path, &bytes),
            // Not delivered (a closed pipe, a full disk): with --mark-filed
            // nothing is recorded.
            None => crate::output::stdout_bytes(&bytes),
        }
    };
    if common.mark_filed {
        let mut ledger = Ledger::<S>::open_at(&super::location(db))?;
        let filed = ledger
            .mark_filed_with(
                &req,
                submitted_at.unwrap_or_else(now),
                now(),
                &default_actor(),
                FilingOptions {
                    out_of_order: common.out_of_order,
                },
                deliver,
            )
            .map_err(
                |e| match e.message.contains("with the out-of-order option") {
                    true => CliError {
                        message: e
                            .message
                            .replace("with the out-of-order option", "with --out-of-order"),
                        code: e.code,
                    },
                    false => e,
                },
            )?;
        crate::note!(
            "recorded return_filed for the {} of {} at log position {} (digest {})",
            filed.produced.layout,
            filed.produced.date,
            filed.position,
            filed.digest
        )?;
    } else {
        let ledger = super::open_to_read::<S>(db)?;
        deliver(&ledger.produce(&req, known.as_ref())?)?;
    }
    Ok(())
}

/// Write `bytes` to `path` whole or not at all: a temporary file beside it,
/// synced, then renamed over it.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let fail = |e: std::io::Error| {
        CliError::refused(format!(
            "cannot write {}: {e}; check the directory exists and is writable",
            path.display()
        ))
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
