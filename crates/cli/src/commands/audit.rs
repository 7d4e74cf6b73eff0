//! `audit`: verify the chain (and a kept checkpoint), replay every stream
//! through the core, regenerate every filed return as known when filed, and
//! run every rule check. One issuer is held in memory at a time.

use std::io::IsTerminal;

use chrono::{DateTime, FixedOffset};
use clap::Args;
use serde::Serialize;
use shareledger_core::event::{Recorded, MARKET_STREAM};
use shareledger_core::state::Register;
use shareledger_returns::checks::{self, Finding, Severity};
use shareledger_returns::document::DOCUMENT_VERSION;
use shareledger_store::{ReadFilter, Store};

use crate::ledger::{self, decode};
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

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Chain {
    Intact(&'static str),
    Broken { broken_at: u64 },
}

#[derive(Debug, Serialize)]
pub struct AuditReport {
    pub ok: bool,
    pub events: u64,
    pub chain: Chain,
    pub findings: Vec<Finding>,
}

pub fn run(db: &std::path::Path, args: AuditArgs) -> Result<(), CliError> {
    let store = ledger::open_existing(db)?;
    let now = match args.now.as_deref() {
        Some(t) => ledger::parse_known_at(t)?,
        None => super::now(),
    };
    let report = audit(&store, args.issuer.as_deref(), args.expect.as_deref(), now)?;
    match args.format.format {
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serializes")
        ),
        ReportFormat::Text => print_text(&report),
    }
    if report.ok {
        Ok(())
    } else {
        Err(CliError::refused(format!(
            "audit found {} error(s){}",
            report
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count(),
            match report.chain {
                Chain::Broken { broken_at } =>
                    format!("; the chain is broken at position {broken_at}"),
                _ => String::new(),
            }
        )))
    }
}

fn print_text(report: &AuditReport) {
    println!("events: {}", report.events);
    match &report.chain {
        Chain::Intact(_) => println!("chain: intact"),
        Chain::Broken { broken_at } => println!("chain: BROKEN at position {broken_at}"),
    }
    if report.findings.is_empty() {
        println!("findings: none");
    }
    for f in &report.findings {
        println!(
            "{:<7} {:<12} {:<8} {}  {}",
            match f.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "warning",
            },
            f.rule,
            f.issuer,
            f.date
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".repeat(10)),
            f.message
        );
    }
    println!(
        "{}",
        if report.ok {
            "audit: OK"
        } else {
            "audit: FAILED"
        }
    );
}

/// Page cache of the chain verifier's own connection, in KiB.
const VERIFY_CACHE_KIB: u32 = 4096;

/// Run the whole audit, on one thread per core: the chain is verified on its
/// own connection while the issuers are replayed and checked, each issuer
/// whole by one thread (so memory stays that of one issuer per thread).
/// Findings come out in a fixed order whatever the threads: the chain, the
/// checkpoint, the market stream, then each issuer in stream order.
pub fn audit(
    store: &Store,
    only: Option<&str>,
    expect: Option<&str>,
    now: DateTime<FixedOffset>,
) -> Result<AuditReport, CliError> {
    audit_with_threads(store, only, expect, now, ledger::default_threads())
}

/// [`audit`] on `threads` threads (1: everything in turn on the caller's).
pub fn audit_with_threads(
    store: &Store,
    only: Option<&str>,
    expect: Option<&str>,
    now: DateTime<FixedOffset>,
    threads: usize,
) -> Result<AuditReport, CliError> {
    let path = store.path().to_path_buf();
    let (verification, issuer_findings) = std::thread::scope(|s| {
        let verifier = (threads > 1).then(|| {
            s.spawn(move || -> Result<_, CliError> {
                // One sequential pass: each page is read once, so a small
                // cache loses nothing and keeps the audit's memory down.
                let mut own = ledger::open_existing(&path)?;
                own.set_cache_size_kib(VERIFY_CACHE_KIB)?;
                Ok(own.verify()?)
            })
        });
        let issuers = audit_issuers(store, only, now, threads);
        let verification = match verifier {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => store.verify().map_err(CliError::from),
        };
        (verification, issuers)
    });
    let verification = verification?;
    let mut findings = Vec::new();
    let chain = match verification.broken_at {
        None => Chain::Intact("intact"),
        Some(p) => {
            findings.push(Finding::error(
                "integrity",
                "",
                None,
                format!(
                    "the hash chain is broken at log position {p}{}: the file was changed outside shareledger; restore it from a backup",
                    verification.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                ),
            ));
            Chain::Broken { broken_at: p }
        }
    };
    if let Some(exp) = expect {
        findings.extend(check_expected_head(store, exp)?);
    }
    findings.extend(issuer_findings?);
    let ok =
        verification.broken_at.is_none() && findings.iter().all(|f| f.severity != Severity::Error);
    Ok(AuditReport {
        ok,
        events: verification.events,
        chain,
        findings,
    })
}

/// Replay the market calendar, then every issuer (or `only`) on top of it,
/// up to `threads` at a time, with the rule checks and the filed-return
/// proofs of each; the findings in stream order.
fn audit_issuers(
    store: &Store,
    only: Option<&str>,
    now: DateTime<FixedOffset>,
    threads: usize,
) -> Result<Vec<Finding>, CliError> {
    let mut findings = Vec::new();
    let mut market = Register::new();
    replay_stream(store, MARKET_STREAM, &mut market, &mut findings)?;
    let calendar = super::returns::calendar(&market);
    let streams: Vec<String> = store
        .streams()?
        .into_iter()
        .filter(|s| s != MARKET_STREAM && only.is_none_or(|o| o == s))
        .collect();
    if let Some(o) = only {
        if streams.is_empty() {
            return Err(CliError::refused(format!("no issuer `{o}` in the ledger")));
        }
    }
    // Progress by issuer, on a terminal only (the chain check runs alongside).
    let progress = if streams.len() > 1 && std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(streams.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "auditing [{bar:40}] {pos}/{len} issuers ({eta} left)",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let per_issuer = ledger::for_each_stream(store, &streams, threads, |store, stream| {
        let mut found = Vec::new();
        let mut register = market.clone();
        replay_stream(store, stream, &mut register, &mut found)?;
        if let Some(issuer) = register.issuer(stream) {
            found.extend(checks::run(issuer, &calendar, now));
            found.extend(verify_filed_returns(store, &market, stream, &register)?);
        }
        progress.inc(1);
        Ok(found)
    })?;
    progress.finish_and_clear();
    findings.extend(per_issuer.into_iter().flatten());
    Ok(findings)
}

fn check_expected_head(store: &Store, exp: &str) -> Result<Vec<Finding>, CliError> {
    let (pos, hash) = exp
        .split_once(':')
        .and_then(|(p, h)| Some((p.parse::<u64>().ok()?, h.to_string())))
        .ok_or_else(|| {
            CliError::usage(format!(
                "--expect `{exp}`: give POSITION:HASH as printed by `shareledger checkpoint`"
            ))
        })?;
    Ok(match store.hash_at(pos)? {
        Some(h) if h == hash => vec![],
        Some(h) => vec![Finding::error(
            "integrity",
            "",
            None,
            format!("the log's event at position {pos} has hash {h}, not the checkpoint's {hash}: history before the checkpoint was rewritten"),
        )],
        None => vec![Finding::error(
            "integrity",
            "",
            None,
            format!("the log no longer reaches position {pos} of the checkpoint: its tail was cut off"),
        )],
    })
}

/// Replay one stream; an event the core refuses is a finding, and is skipped.
/// (Rows are read in place and decoded by `ledger::Decoder`: the fast path,
/// see docs/performance.md.)
fn replay_stream(
    store: &Store,
    stream: &str,
    register: &mut Register,
    findings: &mut Vec<Finding>,
) -> Result<(), CliError> {
    let mut decoder = ledger::Decoder::new();
    store.scan(&ReadFilter::stream(stream), |row| -> Result<(), CliError> {
        let rec: Recorded = match decoder.decode(row) {
            Ok(r) => r,
            Err(e) => {
                findings.push(Finding::error("replay", stream, None, e.message));
                return Ok(());
            }
        };
        let date = rec.event.effective_date();
        if let Err(r) = register.execute(rec) {
            findings.push(Finding::error(
                "replay",
                stream,
                date,
                format!(
                    "log position {} ({}) is refused on replay: {r}",
                    row.position, row.event_type
                ),
            ));
        }
        Ok(())
    })?;
    Ok(())
}

/// Regenerate every filed return as the ledger knew it when it was filed,
/// prove it is the document filed (its digest), and flag a filed return that
/// the current log contradicts (an amended return is needed).
///
/// "The log as it stands now" is every live event now, but only the returns
/// recorded before this one: a return filed later (typically the Monthly
/// Return of the month before an NDDR dated early in the next month) changes
/// where a regenerated NDDR would open, not what the filed one said.
///
/// One pass over the issuer's stream: "as known when filed" is the register
/// just before the `return_filed` row (events refused on replay are skipped,
/// as `replay_stream` skips and reports them).
fn verify_filed_returns(
    store: &Store,
    market: &Register,
    issuer: &str,
    current: &Register,
) -> Result<Vec<Finding>, CliError> {
    let mut findings = Vec::new();
    let Some(state) = current.issuer(issuer) else {
        return Ok(findings);
    };
    let filings = state.filings().to_vec();
    if filings.iter().all(|(_, f)| f.digest.is_none()) {
        return Ok(findings);
    }
    let index: std::collections::HashMap<uuid::Uuid, usize> = filings
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    // The log now; each filing regenerated with only the filings before it.
    let mut now_register = current.clone();
    let mut then = market.clone();
    for row in store.events(&ReadFilter::stream(issuer)) {
        let row = row?;
        let Ok(rec) = decode(&row) else {
            continue; // reported by replay_stream
        };
        if let Some(&i) = index.get(&rec.id) {
            let (_, filed) = &filings[i];
            if let Some(expected) = &filed.digest {
                let at_filing = super::returns::regenerate_digest(&then, issuer, filed);
                let now = now_register.with_filings_before(issuer, i, |view| {
                    super::returns::regenerate_digest(view, issuer, filed)
                });
                findings.extend(judge_filed(
                    issuer,
                    filed,
                    expected,
                    row.position,
                    at_filing,
                    now,
                ));
            }
        }
        let _ = then.execute(rec); // a refusal is reported by replay_stream
    }
    Ok(findings)
}

/// The findings on one filed return from its two regenerations' digests.
fn judge_filed(
    issuer: &str,
    filed: &shareledger_core::event::ReturnFiled,
    expected: &str,
    position: u64,
    at_filing: Result<String, CliError>,
    now: Result<String, CliError>,
) -> Vec<Finding> {
    let rule = match filed.form {
        shareledger_core::event::ReturnForm::Nddr => "13.25A",
        shareledger_core::event::ReturnForm::Monthly => "13.25B",
    };
    let what = filed.layout.as_deref().unwrap_or("return");
    let date = Some(filed.date);
    let mut out = Vec::new();
    let version = filed.document_version.unwrap_or(1);
    if version != DOCUMENT_VERSION {
        // Another build's document: its digest cannot be reproduced here,
        // which proves nothing either way. Say so; never call it wrong.
        out.push(Finding::warning(
            rule,
            issuer,
            date,
            format!("the filed {what} of {} (log position {position}) was digested as document version {version}; this build produces version {DOCUMENT_VERSION} and cannot prove it: audit with a build that produces version {version}", filed.date),
        ));
        return out;
    }
    match at_filing {
        Ok(d) if d == expected => {}
        Ok(d) => out.push(Finding::error(
            rule,
            issuer,
            date,
            format!("the filed {what} of {} (log position {position}) does not regenerate as filed: digest {d}, filed {expected}; the log before the filing was changed", filed.date),
        )),
        Err(e) => out.push(Finding::error(
            rule,
            issuer,
            date,
            format!("the filed {what} of {} (log position {position}) cannot be regenerated as known when filed: {}", filed.date, e.message),
        )),
    }
    match now {
        Ok(d) if d == expected => {}
        Ok(_) => out.push(Finding::error(
            rule,
            issuer,
            date,
            format!("the log as it stands now contradicts the {what} filed for {} (log position {position}): later corrections change it; file an amended return", filed.date),
        )),
        Err(e) => out.push(Finding::error(
            rule,
            issuer,
            date,
            format!("the {what} filed for {} (log position {position}) can no longer be produced from the log ({}): file an amended return", filed.date, e.message),
        )),
    }
    out
}

/// How many findings of one rule `import` and `record` print.
const WARNINGS_PER_RULE: usize = 5;

/// Findings that the events just appended introduce, printed as warnings.
/// Events without a log position (a dry run) are judged in memory.
pub fn print_new_findings(store: &Store, appended: &[Recorded]) -> Result<(), CliError> {
    let hypothetical = appended.iter().any(|r| r.position.is_none());
    print_findings_of(store, appended, hypothetical)
}

/// Findings introduced by `events`, printed to standard error as warnings:
/// the rule checks' findings with the events, less those without them
/// (so a back-dated event that pushes a later one over a limit is reported
/// too). With `hypothetical`, the events are not in the store and are
/// applied in memory; otherwise they are its latest events.
pub fn print_findings_of(
    store: &Store,
    events: &[Recorded],
    hypothetical: bool,
) -> Result<(), CliError> {
    let mut issuers: Vec<&str> = events.iter().filter_map(|r| r.event.issuer()).collect();
    issuers.sort();
    issuers.dedup();
    let now = super::now();
    for issuer in issuers {
        let mine: Vec<&Recorded> = events
            .iter()
            .filter(|r| r.event.issuer() == Some(issuer))
            .collect();
        let (before, after) = if hypothetical {
            let before = match ledger::load_issuer(store, issuer, None) {
                Ok(r) => r,
                Err(_) => {
                    let mut r = Register::new();
                    ledger::replay_rows(&mut r, store.events(&ReadFilter::stream(MARKET_STREAM)))?;
                    r
                }
            };
            let mut after = before.clone();
            for r in &mine {
                after
                    .execute((*r).clone())
                    .map_err(|e| CliError::refused(e.to_string()))?;
            }
            (before, after)
        } else {
            let first = mine.iter().filter_map(|r| r.position).min().unwrap_or(1);
            let mut before = Register::new();
            ledger::replay_rows(
                &mut before,
                store.events(&ReadFilter::stream(MARKET_STREAM)),
            )?;
            ledger::replay_rows(
                &mut before,
                store.events(&ReadFilter {
                    stream: Some(issuer.to_string()),
                    to_position: Some(first.saturating_sub(1)),
                    ..ReadFilter::default()
                }),
            )?;
            (before, ledger::load_issuer(store, issuer, None)?)
        };
        let Some(state) = after.issuer(issuer) else {
            continue;
        };
        let old: Vec<Finding> = before
            .issuer(issuer)
            .map(|s| checks::run(s, &super::returns::calendar(&before), now))
            .unwrap_or_default();
        let new: Vec<Finding> = checks::run(state, &super::returns::calendar(&after), now)
            .into_iter()
            .filter(|f| !old.contains(f))
            .collect();
        // At most a few lines per rule (a history imported at once can miss
        // years of Monthly Returns); `audit` lists them all.
        let mut shown: std::collections::BTreeMap<&str, usize> = Default::default();
        for f in &new {
            let n = shown.entry(f.rule.as_str()).or_default();
            *n += 1;
            if *n <= WARNINGS_PER_RULE {
                eprintln!(
                    "warning: [{}] {} {}: {}",
                    f.rule,
                    f.issuer,
                    f.date.map(|d| d.to_string()).unwrap_or_default(),
                    f.message
                );
            }
        }
        for (rule, n) in shown {
            if n > WARNINGS_PER_RULE {
                eprintln!(
                    "warning: [{rule}] {issuer}: {} more finding(s) of this rule: run `shareledger audit --issuer {issuer}` for all",
                    n - WARNINGS_PER_RULE
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{read_lines, SEED_LEDGER};

    fn at(t: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(t).expect("valid time")
    }

    /// The seed ledger under three issuer ids, one after the other, so the
    /// audit has several streams and findings to put in order.
    fn three_issuers() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("l.db")).expect("open");
        for (i, id) in ["02121", "09001", "09002"].into_iter().enumerate() {
            let text = SEED_LEDGER.replace("\"02121\"", &format!("\"{id}\""));
            // Drop the explicit ids (each copy's events are new ones) and
            // recorded_at (each copy is recorded after the one before).
            let lines: String = text
                .lines()
                .map(|l| {
                    let mut v: serde_json::Value = match serde_json::from_str(l) {
                        Ok(v) => v,
                        Err(_) => return format!("{l}\n"),
                    };
                    if let Some(o) = v.as_object_mut() {
                        o.remove("id");
                        o.remove("recorded_at");
                    }
                    format!("{v}\n")
                })
                .collect();
            let lines = read_lines(lines.as_bytes()).expect("parses");
            let now = at(&format!("2023-01-0{}T10:00:00+08:00", i + 1));
            ledger::append(&mut store, lines, now, "t", false).expect("appends");
        }
        (dir, store)
    }

    #[test]
    fn the_report_is_the_same_on_any_number_of_threads() {
        let (_dir, store) = three_issuers();
        let now = at("2026-01-01T10:00:00+08:00");
        let one = audit_with_threads(&store, None, None, now, 1).expect("audits");
        assert_eq!(one.events, store.count().expect("count"));
        // Judged in 2026, each issuer owes the Monthly Returns from December
        // 2022 on: errors, in every issuer's stream.
        assert!(!one.ok);
        for id in ["02121", "09001", "09002"] {
            assert!(
                one.findings
                    .iter()
                    .any(|f| f.issuer == id && f.rule == "13.25B" && f.severity == Severity::Error),
                "{id}"
            );
        }
        let json = |r: &AuditReport| serde_json::to_string(r).expect("serializes");
        for threads in [2, 3, 8] {
            let many = audit_with_threads(&store, None, None, now, threads).expect("audits");
            assert_eq!(json(&many), json(&one), "{threads} threads");
        }
        // One issuer only: its findings, the whole chain.
        let only = audit_with_threads(&store, Some("09001"), None, now, 2).expect("audits");
        assert_eq!(only.events, one.events);
        assert!(!only.findings.is_empty());
        assert!(only.findings.iter().all(|f| f.issuer == "09001"));
    }
}
