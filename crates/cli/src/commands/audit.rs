//! `audit`: the ledger's audit (`shareledger_ledger::audit`) printed, with
//! a progress bar on a terminal; and the findings that `import` and
//! `record` print after an append.

use std::io::IsTerminal;

use clap::Args;
use shareledger_ledger::time::parse_time;
use shareledger_ledger::{
    default_threads, AuditOptions, AuditReport, AuditSink, AuditSummary, Chain, Engine,
    FindingsDigest,
};
use shareledger_returns::checks::{Finding, Severity};

use crate::{CliError, ReportFormat, ReportFormatArg};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this issuer's stream (the chain is always verified whole).
    #[arg(long)]
    pub issuer: Option<String>,
    /// A head kept from `shareledger checkpoint`, POSITION:HASH, that the log must still contain.
    #[arg(long)]
    pub expect: Option<String>,
    /// Judge deadlines as at this time (RFC 3339, or a date: the end of that day; default now).
    #[arg(long)]
    pub now: Option<String>,
    #[command(flatten)]
    pub format: ReportFormatArg,
}

pub fn run<S: Engine>(db: &std::path::Path, args: AuditArgs) -> Result<(), CliError> {
    let ledger = super::open_to_read::<S>(db)?;
    let now = match args.now.as_deref() {
        Some(t) => parse_time("now", t)?,
        None => super::now(),
    };
    let options = AuditOptions {
        only: args.issuer.as_deref(),
        expect: args.expect.as_deref(),
        threads: default_threads(),
    };
    // Progress by issuer, on a terminal only (the chain check runs alongside).
    let bar = if std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::hidden();
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "auditing [{bar:40}] {pos}/{len} issuers ({eta} left)",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Some(pb)
    } else {
        None
    };
    let progress = |done: u64, total: u64| {
        if let Some(pb) = &bar {
            if total > 1 {
                if pb.is_hidden() {
                    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
                pb.set_length(total);
                pb.set_position(done);
            }
        }
    };
    // The document is written as the audit finds it, in blocks (findings
    // are not held: a registrar's ledger can have hundreds of thousands),
    // the progress bar suspended while a block is written.
    let mut sink = ReportWriter::new(args.format.format, |bytes: &[u8]| match &bar {
        Some(pb) => pb.suspend(|| crate::output::stdout_bytes(bytes)),
        None => crate::output::stdout_bytes(bytes),
    });
    let summary = ledger.audit_into(&options, now, &progress, &mut sink);
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    let summary = summary?;
    sink.end(&summary)?;
    if summary.ok {
        Ok(())
    } else {
        Err(CliError::refused(format!(
            "audit found {} error(s){}",
            summary.errors,
            match summary.chain {
                Chain::Broken { broken_at } =>
                    format!("; the chain is broken at position {broken_at}"),
                _ => String::new(),
            }
        )))
    }
}

/// The audit document written as it is found, byte for byte what writing
/// the whole [`AuditReport`] gives (`--format json`: `serde_json`'s pretty
/// form; text: the lines below), in blocks of about `FLUSH_AT` bytes handed
/// to `write`. Every block is made safe for a terminal as `outln!` makes
/// it (`output::sanitize`).
pub struct ReportWriter<W: FnMut(&[u8]) -> Result<(), CliError>> {
    format: ReportFormat,
    write: W,
    block: String,
    /// Findings written so far.
    findings: u64,
    /// A finding's JSON, reused.
    scratch: Vec<u8>,
    /// A text line, reused.
    line: String,
}

const FLUSH_AT: usize = 64 * 1024;

impl<W: FnMut(&[u8]) -> Result<(), CliError>> ReportWriter<W> {
    pub fn new(format: ReportFormat, write: W) -> Self {
        ReportWriter {
            format,
            write,
            block: String::with_capacity(FLUSH_AT + 1024),
            findings: 0,
            scratch: Vec::new(),
            line: String::new(),
        }
    }

    fn flush_if_full(&mut self) -> Result<(), CliError> {
        if self.block.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), CliError> {
        if !self.block.is_empty() {
            (self.write)(crate::output::sanitize(&self.block).as_bytes())?;
            self.block.clear();
        }
        Ok(())
    }

    /// The end of the document (the verdict), written out.
    pub fn end(&mut self, summary: &AuditSummary) -> Result<(), CliError> {
        match self.format {
            ReportFormat::Json if self.findings == 0 => self.block.push_str("]\n}\n"),
            ReportFormat::Json => self.block.push_str("\n  ]\n}\n"),
            ReportFormat::Text => {
                if self.findings == 0 {
                    self.block.push_str("findings: none\n");
                }
                self.block.push_str(if summary.ok {
                    "audit: OK\n"
                } else {
                    "audit: FAILED\n"
                });
            }
        }
        self.flush()
    }
}

impl<W: FnMut(&[u8]) -> Result<(), CliError>> AuditSink for ReportWriter<W> {
    type Error = CliError;

    fn head(&mut self, ok: bool, events: u64, chain: &Chain) -> Result<(), CliError> {
        use std::fmt::Write as _;
        match self.format {
            ReportFormat::Json => {
                // The whole document without findings, up to its list.
                let head = serde_json::to_string_pretty(&AuditReport {
                    ok,
                    events,
                    chain: chain.clone(),
                    findings: Vec::new(),
                })
                .map_err(|e| CliError::refused(format!("the audit cannot be written: {e}")))?;
                let Some(open) = head.strip_suffix("]\n}") else {
                    return Err(CliError::refused(
                        "the audit document does not end with its findings".to_string(),
                    ));
                };
                self.block.push_str(open);
            }
            ReportFormat::Text => {
                let _ = writeln!(self.block, "events: {events}");
                let _ = match chain {
                    Chain::Intact(_) => writeln!(self.block, "chain: intact"),
                    Chain::Broken { broken_at } => {
                        writeln!(self.block, "chain: BROKEN at position {broken_at}")
                    }
                };
            }
        }
        self.flush_if_full()
    }

    fn finding(&mut self, f: &Finding) -> Result<(), CliError> {
        use std::fmt::Write as _;
        match self.format {
            ReportFormat::Json => {
                // The finding as `serde_json` pretty-prints it inside the
                // list: each line indented two levels further.
                self.scratch.clear();
                serde_json::to_writer_pretty(&mut self.scratch, f)
                    .map_err(|e| CliError::refused(format!("the audit cannot be written: {e}")))?;
                let json = std::str::from_utf8(&self.scratch)
                    .map_err(|e| CliError::refused(format!("the audit cannot be written: {e}")))?;
                self.block
                    .push_str(if self.findings == 0 { "\n" } else { ",\n" });
                for (i, line) in json.split('\n').enumerate() {
                    if i > 0 {
                        self.block.push('\n');
                    }
                    self.block.push_str("    ");
                    self.block.push_str(line);
                }
            }
            ReportFormat::Text => {
                let line = &mut self.line;
                line.clear();
                let _ = write!(
                    line,
                    "{:<7} {:<12} {:<8} ",
                    match f.severity {
                        Severity::Error => "ERROR",
                        Severity::Warning => "warning",
                    },
                    f.rule,
                    f.issuer,
                );
                match f.date {
                    Some(d) => {
                        let _ = write!(line, "{d}");
                    }
                    None => line.push_str("----------"),
                }
                line.push_str("  ");
                line.push_str(&f.message);
                line.push('\n');
                self.block.push_str(line);
            }
        }
        self.findings += 1;
        self.flush_if_full()
    }
}

/// The findings that the events just appended (or, in a dry run, that
/// would be) introduce ([`AppendOptions::findings`](shareledger_ledger::AppendOptions)),
/// printed to standard error with their severity (the
/// same as `audit` gives them): a few per rule
/// ([`FindingsDigest::PER_RULE`]), and overdue returns as one line per
/// issuer when there are several (an opening balance dated in the past
/// makes every later return owed); `audit` and `status` list them all.
pub fn print_findings(findings: &FindingsDigest) -> Result<(), CliError> {
    for line in finding_lines(findings) {
        crate::note!("{line}")?;
    }
    Ok(())
}

fn label(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The lines [`print_findings`] prints.
fn finding_lines(findings: &FindingsDigest) -> Vec<String> {
    let mut out = Vec::new();
    for f in findings.kept() {
        out.push(format!(
            "{}: [{}] {} {}: {}",
            label(f.severity),
            f.rule,
            f.issuer,
            f.date.map(|d| d.to_string()).unwrap_or_default(),
            f.message
        ));
    }
    for (issuer, rule, n) in findings.more() {
        out.push(format!(
            "[{rule}] {issuer}: {n} more finding(s) of this rule: run `shareledger audit --issuer {issuer}` for all"
        ));
    }
    for (issuer, owed) in findings.overdue() {
        out.push(format!(
            "{}: [13.25A/13.25B] {issuer}: {} returns{} are not recorded as filed and past their deadline: `shareledger status --issuer {issuer}` lists them; a return filed before this ledger was started is recorded with a return_filed event (or `return … --mark-filed --submitted-at`)",
            label(owed.worst),
            owed.count,
            match (owed.first, owed.last) {
                (Some(a), Some(b)) if a != b => format!(" dated {a} to {b}"),
                (Some(a), _) => format!(" dated {a}"),
                _ => String::new(),
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines as printed before the digest, from every finding (the
    /// reference the digest's lines must equal).
    fn lines_from_all(findings: &[Finding]) -> Vec<String> {
        const WARNINGS_PER_RULE: usize = 5;
        let is_deadline_rule = |r: &str| r == "13.25A" || r == "13.25B";
        let mut out = Vec::new();
        let mut deadlines: std::collections::BTreeMap<&str, Vec<&Finding>> = Default::default();
        for f in findings.iter().filter(|f| is_deadline_rule(&f.rule)) {
            deadlines.entry(f.issuer.as_str()).or_default().push(f);
        }
        let mut shown: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
        for f in findings {
            if is_deadline_rule(&f.rule)
                && deadlines
                    .get(f.issuer.as_str())
                    .is_some_and(|v| v.len() > 1)
            {
                continue;
            }
            let n = shown
                .entry((f.issuer.as_str(), f.rule.as_str()))
                .or_default();
            *n += 1;
            if *n <= WARNINGS_PER_RULE {
                out.push(format!(
                    "{}: [{}] {} {}: {}",
                    label(f.severity),
                    f.rule,
                    f.issuer,
                    f.date.map(|d| d.to_string()).unwrap_or_default(),
                    f.message
                ));
            }
        }
        for ((issuer, rule), n) in shown {
            if n > WARNINGS_PER_RULE {
                out.push(format!(
                    "[{rule}] {issuer}: {} more finding(s) of this rule: run `shareledger audit --issuer {issuer}` for all",
                    n - WARNINGS_PER_RULE
                ));
            }
        }
        for (issuer, owed) in deadlines.into_iter().filter(|(_, v)| v.len() > 1) {
            let first = owed.iter().filter_map(|f| f.date).min();
            let last = owed.iter().filter_map(|f| f.date).max();
            let worst = if owed.iter().any(|f| f.severity == Severity::Error) {
                "error"
            } else {
                "warning"
            };
            out.push(format!(
                "{worst}: [13.25A/13.25B] {issuer}: {} returns{} are not recorded as filed and past their deadline: `shareledger status --issuer {issuer}` lists them; a return filed before this ledger was started is recorded with a return_filed event (or `return … --mark-filed --submitted-at`)",
                owed.len(),
                match (first, last) {
                    (Some(a), Some(b)) if a != b => format!(" dated {a} to {b}"),
                    (Some(a), _) => format!(" dated {a}"),
                    _ => String::new(),
                }
            ));
        }
        out
    }

    /// The digest prints what every finding printed, line for line, over
    /// many mixes of issuers, rules, severities and dates.
    #[test]
    fn the_digest_prints_what_every_finding_printed() {
        let rules = ["13.25A", "13.25B", "10.06(1)", "10.06(3)", "10.06(2)(a)"];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut differing_cases = 0;
        for case in 0..400 {
            let len = next(40) as usize;
            let mut all = Vec::new();
            for k in 0..len {
                let issuer = format!("0000{}", next(3));
                let rule = rules[next(rules.len() as u64) as usize];
                let date = (next(5) > 0)
                    .then(|| chrono::NaiveDate::from_ymd_opt(2024, 1 + next(12) as u32, 1))
                    .flatten();
                let severity = if next(2) == 0 {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                all.push(Finding {
                    severity,
                    rule: rule.into(),
                    issuer,
                    date,
                    message: format!("case {case} finding {k}"),
                    event: None,
                });
            }
            let digest: FindingsDigest = all.iter().collect();
            let want = lines_from_all(&all);
            assert_eq!(finding_lines(&digest), want, "case {case}: {all:?}");
            assert_eq!(digest.total(), len as u64);
            if want.len() != len {
                differing_cases += 1;
            }
        }
        assert!(differing_cases > 100, "the cases summed some findings up");
    }
    use chrono::{DateTime, FixedOffset};
    use shareledger_ledger::import::jsonl::read_lines;
    use shareledger_ledger::{AppendOptions, Ledger, Store, SEED_LEDGER};

    fn at(t: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(t).expect("a time")
    }

    /// The text document as it was printed from the whole report.
    fn whole_text(r: &AuditReport) -> String {
        let mut out = format!("events: {}\n", r.events);
        out.push_str(&match &r.chain {
            Chain::Intact(_) => "chain: intact\n".to_string(),
            Chain::Broken { broken_at } => format!("chain: BROKEN at position {broken_at}\n"),
        });
        if r.findings.is_empty() {
            out.push_str("findings: none\n");
        }
        for f in &r.findings {
            out.push_str(&format!(
                "{:<7} {:<12} {:<8} {}  {}\n",
                match f.severity {
                    Severity::Error => "ERROR",
                    Severity::Warning => "warning",
                },
                f.rule,
                f.issuer,
                f.date.map_or("----------".to_string(), |d| d.to_string()),
                f.message
            ));
        }
        out.push_str(if r.ok {
            "audit: OK\n"
        } else {
            "audit: FAILED\n"
        });
        out
    }

    fn streamed(
        ledger: &Ledger<Store>,
        options: &AuditOptions<'_>,
        now: DateTime<FixedOffset>,
        format: ReportFormat,
    ) -> (String, AuditSummary) {
        let mut bytes = Vec::new();
        let mut sink = ReportWriter::new(format, |b: &[u8]| {
            bytes.extend_from_slice(b);
            Ok(())
        });
        let summary = ledger
            .audit_into(options, now, &|_, _| {}, &mut sink)
            .expect("audits");
        sink.end(&summary).expect("ends");
        drop(sink);
        (String::from_utf8(bytes).expect("UTF-8"), summary)
    }

    #[test]
    fn the_streamed_document_is_the_whole_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = Ledger::new(Store::open(&dir.path().join("e.db")).expect("opens"));
        let mut seed = Ledger::new(Store::open(&dir.path().join("s.db")).expect("opens"));
        seed.append(
            read_lines(SEED_LEDGER.as_bytes()).expect("parses"),
            at("2023-01-02T10:00:00+08:00"),
            "t",
            AppendOptions::default(),
        )
        .expect("appends");
        let mut seen = Vec::new();
        for (ledger, now) in [
            // No finding at all.
            (&empty, "2026-01-01T10:00:00+08:00"),
            // Errors: every Monthly Return owed since.
            (&seed, "2026-01-01T10:00:00+08:00"),
            // Judged when the seed was recorded.
            (&seed, "2023-01-02T10:00:00+08:00"),
        ] {
            for threads in [1, 2, 3] {
                let options = AuditOptions {
                    only: None,
                    expect: None,
                    threads,
                };
                let whole = ledger.audit(&options, at(now), &|_, _| {}).expect("audits");
                let json = format!(
                    "{}\n",
                    serde_json::to_string_pretty(&whole).expect("serializes")
                );
                let (s, summary) = streamed(ledger, &options, at(now), ReportFormat::Json);
                assert_eq!(s, json, "{now}, {threads} threads");
                assert_eq!(summary.ok, whole.ok);
                assert_eq!(summary.findings, whole.findings.len() as u64);
                assert_eq!(
                    summary.errors,
                    whole
                        .findings
                        .iter()
                        .filter(|f| f.severity == Severity::Error)
                        .count() as u64
                );
                let (t, _) = streamed(ledger, &options, at(now), ReportFormat::Text);
                assert_eq!(t, whole_text(&whole), "{now}, {threads} threads");
                seen.push((whole.ok, whole.findings.len()));
            }
        }
        // The cases the writer has: no findings, errors, none an error.
        assert!(seen.contains(&(true, 0)), "{seen:?}");
        assert!(seen.iter().any(|(ok, n)| !ok && *n > 10), "{seen:?}");
    }
}
