//! `return nddr` and `return monthly`, with `--mark-filed`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};
use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};
use shareledger_core::calendar::BusinessCalendar;
use shareledger_core::event::{Event, Incoming, ReturnFiled, ReturnForm};
use shareledger_core::rules::NddrLayout;
use shareledger_core::state::Register;
use shareledger_returns::monthly::{monthly, MonthlyRequest};
use shareledger_returns::nddr::{nddr, NddrRequest};
use shareledger_returns::render::{render, DocKind, Format};
use shareledger_store::Store;

use super::{default_actor, now};
use crate::ledger::{self, parse_known_at};
use crate::{CliError, OutputFormat};

#[derive(Debug, Args)]
pub struct Common {
    #[arg(long)]
    pub issuer: String,
    /// Date submitted, as printed on the form.
    #[arg(long)]
    pub submitted: Option<NaiveDate>,
    /// Produce the return as the ledger knew it at this time (RFC 3339, or a date: the end of that day).
    #[arg(long)]
    pub known_at: Option<String>,
    /// Record a `return_filed` event for the document produced (with its digest).
    #[arg(long)]
    pub mark_filed: bool,
    /// With --mark-filed: when it was submitted (RFC 3339; default now).
    #[arg(long, requires = "mark_filed")]
    pub submitted_at: Option<String>,
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
        #[arg(long)]
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
            known_at: None,
            mark_filed: false,
            submitted_at: None,
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

/// Parse "YYYY-MM".
pub fn parse_month(s: &str) -> Result<(i32, u32), CliError> {
    let bad = || {
        CliError::usage(format!(
            "--month `{s}` is not a month: write it as YYYY-MM, like 2022-11"
        ))
    };
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&m) || y.to_string().len() != 4 {
        return Err(bad());
    }
    Ok((y, m))
}

/// The business-day calendar with the market closures the register knows.
pub fn calendar(register: &Register) -> BusinessCalendar {
    let mut cal = BusinessCalendar::new();
    for d in register.market_closures().keys() {
        cal.add_market_closure(*d);
    }
    cal
}

/// A produced return: its JSON, rendering, and what `--mark-filed` records.
pub struct Produced {
    pub text: String,
    pub json: String,
    pub form: ReturnForm,
    pub layout: String,
    pub date: NaiveDate,
}

/// SHA-256 of a document's JSON without its `date_submitted` (which the
/// filer may set by hand): what `return_filed` keeps and `audit` compares.
pub fn digest(json: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(json).expect("documents are JSON");
    if let Some(map) = v.as_object_mut() {
        map.remove("date_submitted");
    }
    hex::encode(Sha256::digest(
        serde_json::to_string(&v).expect("serializes").as_bytes(),
    ))
}

/// Regenerate the return a `return_filed` event records, from `register`, and
/// give its digest.
pub fn regenerate_digest(
    register: &Register,
    issuer: &str,
    filed: &ReturnFiled,
) -> Result<String, CliError> {
    let common = ReturnCommand::common(issuer, None, OutputFormat::Json);
    let cmd = match filed.form {
        ReturnForm::Nddr => ReturnCommand::Nddr {
            common,
            date: filed.date,
            form: filed.layout.clone(),
        },
        ReturnForm::Monthly => ReturnCommand::Monthly {
            common,
            month: filed.date.format("%Y-%m").to_string(),
        },
    };
    if register.issuer(issuer).is_none() {
        return Err(CliError::refused(format!(
            "issuer {issuer} was not registered then"
        )));
    }
    Ok(digest(&produce(register, &cmd)?.json))
}

/// Build the return of `cmd` from `register` (already replayed as known at the chosen time).
pub fn produce(register: &Register, cmd: &ReturnCommand) -> Result<Produced, CliError> {
    match cmd {
        ReturnCommand::Nddr { common, date, form } => {
            let issuer = register.issuer(&common.issuer).expect("loaded");
            let layout = form
                .as_deref()
                .map(|f| {
                    NddrLayout::parse(f)
                        .ok_or_else(|| CliError::usage(format!("--form `{f}`: use FF304 or FF305")))
                })
                .transpose()?;
            let doc = nddr(
                issuer,
                &NddrRequest {
                    date: *date,
                    submitted: common.submitted,
                    layout,
                },
            )?;
            Ok(Produced {
                text: render(DocKind::Nddr, &doc, common.output.format.renderer()),
                json: serde_json::to_string(&doc).expect("documents serialize"),
                form: ReturnForm::Nddr,
                layout: doc.form.clone(),
                date: *date,
            })
        }
        ReturnCommand::Monthly { common, month } => {
            let (year, m) = parse_month(month)?;
            let issuer = register.issuer(&common.issuer).expect("loaded");
            let end = shareledger_returns::dates::month_end(year, m).expect("valid month");
            let submitted = common
                .submitted
                .unwrap_or_else(|| calendar(register).next_business_day(end));
            let doc = monthly(
                issuer,
                &MonthlyRequest {
                    year,
                    month: m,
                    submitted,
                },
            )?;
            Ok(Produced {
                text: render(DocKind::Monthly, &doc, common.output.format.renderer()),
                json: serde_json::to_string(&doc).expect("documents serialize"),
                form: ReturnForm::Monthly,
                layout: doc.form.clone(),
                date: end,
            })
        }
    }
}

pub fn run(db: &std::path::Path, cmd: ReturnCommand) -> Result<(), CliError> {
    let common = match &cmd {
        ReturnCommand::Nddr { common, .. } | ReturnCommand::Monthly { common, .. } => common,
    };
    let known: Option<DateTime<FixedOffset>> =
        common.known_at.as_deref().map(parse_known_at).transpose()?;
    let submitted_at = common
        .submitted_at
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s).map_err(|_| {
                CliError::usage(format!(
                    "--submitted-at `{s}` is not an RFC 3339 time like 2022-11-07T19:05:00+08:00"
                ))
            })
        })
        .transpose()?;
    if common.mark_filed && known.is_some() {
        return Err(CliError::usage(
            "--mark-filed files the return as the ledger stands now: drop --known-at",
        ));
    }
    let store = ledger::open_existing(db)?;
    let register = ledger::load_issuer(&store, &common.issuer, known.as_ref())?;
    let produced = produce(&register, &cmd)?;
    let bytes = match common.output.format {
        ReturnFormat::Pdf => {
            if common.output.output.is_none() && std::io::stdout().is_terminal() {
                return Err(CliError::usage(
                    "--format pdf writes a binary file: give --output FILE (or redirect standard output)",
                ));
            }
            crate::pdf::print(&produced.text)?
        }
        _ => produced.text.clone().into_bytes(),
    };
    // The document is complete before anything is written or recorded.
    match &common.output.output {
        Some(path) => write_whole(path, &bytes)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(|e| CliError::refused(format!("cannot write the return: {e}")))?;
        }
    }
    if common.mark_filed {
        drop(store);
        let mut store = Store::open(db)?;
        let event = Event::ReturnFiled(ReturnFiled {
            issuer: common.issuer.clone(),
            form: produced.form,
            date: produced.date,
            submitted_at: submitted_at.unwrap_or_else(now),
            digest: Some(digest(&produced.json)),
            layout: Some(produced.layout.clone()),
            document_version: Some(shareledger_returns::document::DOCUMENT_VERSION),
        });
        let incoming = Incoming {
            id: None,
            recorded_at: None,
            actor: None,
            note: None,
            event,
        };
        let summary = ledger::append(
            &mut store,
            vec![(0, incoming)],
            now(),
            &default_actor(),
            false,
        )?;
        eprintln!(
            "recorded return_filed for the {} of {} at log position {} (digest {})",
            produced.layout,
            produced.date,
            summary.first_position.unwrap_or_default(),
            digest(&produced.json)
        );
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
