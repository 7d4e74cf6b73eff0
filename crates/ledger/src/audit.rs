//! The audit: verify the chain (and a kept checkpoint), replay every stream
//! through the core, regenerate every filed return as known when filed and
//! as the log stands now, and run every rule check. One issuer is held in
//! memory per thread; progress goes to a callback, never to a terminal.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use shareledger_core::event::{check_bounds, Recorded, MARKET_STREAM, SCHEMA_VERSION};
use shareledger_core::state::Register;
use shareledger_returns::checks::{self, Finding, Severity};
use shareledger_returns::document::DOCUMENT_VERSION;
use shareledger_store::{Derived, EventRef, EventStore, ReadFilter};

use crate::decode::{decode, Decoder};
use crate::error::LedgerError;
use crate::replay::{for_each_stream, load_issuer, replay_rows};
use crate::returns::{calendar, produce_allowing_empty, regenerate_digest, request_of};

/// The hash chain as the audit found it (interchange.md section 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Chain {
    /// Every event verified: serialised as `"intact"`.
    Intact(&'static str),
    /// The first position that does not verify.
    Broken {
        /// That position.
        broken_at: u64,
    },
}

/// The audit document (interchange.md section 3, `audit`).
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// No error found and the chain intact.
    pub ok: bool,
    /// Events that verified.
    pub events: u64,
    /// The chain.
    pub chain: Chain,
    /// Every finding, in a fixed order.
    pub findings: Vec<Finding>,
}

/// What the audit is asked.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions<'a> {
    /// Only this issuer's stream (the chain is always verified whole).
    pub only: Option<&'a str>,
    /// A checkpoint kept from [`crate::Ledger::checkpoint`], `POSITION:HASH`,
    /// that the log must still contain.
    pub expect: Option<&'a str>,
    /// Threads (1: everything in turn on the caller's; 0 counts as 1).
    pub threads: usize,
}

/// Run the whole audit: the chain is verified on its own connection while
/// the issuers are replayed and checked, each issuer whole by one thread (so
/// memory stays that of one issuer per thread). Findings come out in a fixed
/// order whatever the threads: the chain, the checkpoint, the market stream,
/// then each issuer in stream order. `progress(done, total)` is called as
/// issuers are finished (from any of the threads).
pub fn audit<S: EventStore>(
    store: &S,
    options: &AuditOptions<'_>,
    now: DateTime<FixedOffset>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<AuditReport, LedgerError> {
    let threads = options.threads.max(1);
    // Opened here: a connection moves to a thread, it is never shared.
    let verifier = (threads > 1)
        .then(|| store.sequential_reader())
        .transpose()?;
    let (verification, issuer_findings) = std::thread::scope(|s| {
        let verifier = verifier.map(|own| s.spawn(move || own.verify()));
        let issuers = audit_issuers(store, options.only, now, threads, progress);
        let verification = match verifier {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => store.verify(),
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
    if let Some(exp) = options.expect {
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
fn audit_issuers<S: EventStore>(
    store: &S,
    only: Option<&str>,
    now: DateTime<FixedOffset>,
    threads: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Vec<Finding>, LedgerError> {
    let mut findings = Vec::new();
    let mut market = Register::new();
    replay_stream(store, MARKET_STREAM, &mut market, &mut findings)?;
    let calendar = calendar(&market);
    let streams: Vec<String> = store
        .streams()?
        .into_iter()
        .filter(|s| {
            s != MARKET_STREAM
                && crate::access::is_register_stream(s)
                && only.is_none_or(|o| o == s)
        })
        .collect();
    if let Some(o) = only {
        if streams.is_empty() {
            return Err(LedgerError::NotFound(format!(
                "no issuer `{o}` in the ledger"
            )));
        }
    }
    let total = streams.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    let per_issuer = for_each_stream(store, &streams, threads, |store, stream| {
        let mut found = Vec::new();
        let mut register = market.clone();
        replay_stream(store, stream, &mut register, &mut found)?;
        if let Some(issuer) = register.issuer(stream) {
            found.extend(checks::run(issuer, &calendar, now));
            found.extend(verify_filed_returns(store, &market, stream, &register)?);
        }
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, total);
        Ok(found)
    })?;
    findings.extend(per_issuer.into_iter().flatten());
    Ok(findings)
}

/// Parse a kept checkpoint, `POSITION:HASH`.
pub fn parse_checkpoint(exp: &str) -> Result<(u64, String), LedgerError> {
    exp.split_once(':')
        .and_then(|(p, h)| Some((p.parse::<u64>().ok()?, h.to_string())))
        .ok_or_else(|| {
            LedgerError::invalid(
                "expect",
                exp,
                "is not a checkpoint: give POSITION:HASH as printed by `shareledger checkpoint`",
            )
        })
}

fn check_expected_head<S: EventStore>(store: &S, exp: &str) -> Result<Vec<Finding>, LedgerError> {
    let (pos, hash) = parse_checkpoint(exp)?;
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
/// (Rows are read in place and decoded by [`Decoder`]: the fast path,
/// see docs/performance.md.)
fn replay_stream<S: EventStore>(
    store: &S,
    stream: &str,
    register: &mut Register,
    findings: &mut Vec<Finding>,
) -> Result<(), LedgerError> {
    let mut decoder = Decoder::new();
    // The columns derived from each payload are read too (in place, no row
    // copied: `scan_derived`), to cross-check them against the payload.
    store.scan_derived(&ReadFilter::stream(stream), |row, derived| {
        let rec: Recorded = match decoder.decode(row) {
            Ok(r) => r,
            Err(e) => {
                findings.push(Finding::error("replay", stream, None, e.to_string()));
                return Ok::<(), LedgerError>(());
            }
        };
        let date = rec.event.effective_date();
        if let Err(e) = check_bounds(&rec.event) {
            findings.push(Finding::warning(
                "bounds",
                stream,
                date,
                format!(
                    "log position {}: {e} (recorded before this build's bounds, or changed outside shareledger): a return over it fails rather than print an inexact figure; correct it with event_voided",
                    row.position
                ),
            ));
        }
        if let Some(m) = columns_disagree(row, derived, &rec) {
            findings.push(Finding::error(
                "integrity",
                stream,
                date,
                format!(
                    "log position {}: the stored {m}: the row was changed outside shareledger; restore it from a backup",
                    row.position
                ),
            ));
        }
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

/// How the stored columns (`stream`, `event_type`, `effective_date`,
/// `schema_version`) disagree with the payload they were derived from, if
/// they do.
fn columns_disagree(stored: EventRef<'_>, derived: Derived<'_>, rec: &Recorded) -> Option<String> {
    let event = &rec.event;
    if stored.event_type != event.type_name() {
        return Some(format!(
            "event_type `{}` is not the payload's type `{}`",
            stored.event_type,
            event.type_name()
        ));
    }
    if stored.stream != event.stream() {
        return Some(format!(
            "stream `{}` is not the payload's stream `{}`",
            stored.stream,
            event.stream()
        ));
    }
    let date = event.effective_date();
    // The payload's date as text (its `Display`, as the column was written),
    // formatted on the stack: no allocation per row.
    let same_date = match (derived.effective_date, date) {
        (None, None) => true,
        (Some(s), Some(d)) => {
            use std::io::Write as _;
            let mut buf = [0u8; 32];
            let mut out = std::io::Cursor::new(&mut buf[..]);
            match write!(out, "{d}") {
                Ok(()) => {
                    let n = usize::try_from(out.position()).unwrap_or(0);
                    s.as_bytes() == &buf[..n]
                }
                Err(_) => s == d.to_string(),
            }
        }
        _ => false,
    };
    if !same_date {
        let date = date.map(|d| d.to_string());
        return Some(format!(
            "effective_date {:?} is not the payload's {:?}",
            derived.effective_date, date
        ));
    }
    if derived.schema_version != SCHEMA_VERSION {
        return Some(format!(
            "schema_version {} is not {SCHEMA_VERSION}, the only one this build writes",
            derived.schema_version
        ));
    }
    None
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
fn verify_filed_returns<S: EventStore>(
    store: &S,
    market: &Register,
    issuer: &str,
    current: &Register,
) -> Result<Vec<Finding>, LedgerError> {
    Ok(check_filed_returns(store, market, issuer, current)?.0)
}

/// A filed return the log as it stands now no longer reproduces, and that
/// no later filing amends: an amended return is due.
#[derive(Debug, Clone)]
pub struct Contradicted {
    /// The filing's id.
    pub id: uuid::Uuid,
    /// What was filed.
    pub filed: shareledger_core::event::ReturnFiled,
    /// Its log position.
    pub position: u64,
}

/// The filed returns of `issuer` that must be filed again (amended):
/// those the log now contradicts, as the audit judges them.
pub fn amendments_due<S: EventStore>(
    store: &S,
    market: &Register,
    issuer: &str,
    current: &Register,
) -> Result<Vec<Contradicted>, LedgerError> {
    Ok(check_filed_returns(store, market, issuer, current)?.1)
}

/// [`verify_filed_returns`]' findings, and the filings contradicted now.
fn check_filed_returns<S: EventStore>(
    store: &S,
    market: &Register,
    issuer: &str,
    current: &Register,
) -> Result<(Vec<Finding>, Vec<Contradicted>), LedgerError> {
    let mut findings = Vec::new();
    let mut contradicted = Vec::new();
    let Some(state) = current.issuer(issuer) else {
        return Ok((findings, contradicted));
    };
    let filings = state.filings().to_vec();
    if filings.is_empty() {
        return Ok((findings, contradicted));
    }
    // A filing without a digest is judged only when a correction
    // (`event_voided`) was recorded after it: an event merely recorded late
    // (a threshold event riding along in a later return) is no correction.
    let last_void = state
        .history()
        .iter()
        .rposition(|h| matches!(h.event, shareledger_core::event::Event::EventVoided(_)));
    let corrected_after = |id: &uuid::Uuid| {
        let at = state.history().iter().position(|h| h.id == *id);
        matches!((at, last_void), (Some(a), Some(v)) if v > a)
    };
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
            // A filing amended later is judged by its amendment now.
            let amended = filings.iter().any(|(_, f)| f.amends == Some(filings[i].0));
            if let Some(expected) = &filed.digest {
                let at_filing = regenerate_digest(&then, issuer, filed);
                let now = match amended {
                    true => Ok(expected.clone()),
                    false => now_register.with_filings_before(issuer, i, |view| {
                        regenerate_digest(view, issuer, filed)
                    }),
                };
                if now.as_ref().ok() != Some(expected) {
                    contradicted.push(Contradicted {
                        id: filings[i].0,
                        filed: filed.clone(),
                        position: row.position,
                    });
                }
                findings.extend(judge_filed(
                    issuer,
                    filed,
                    expected,
                    row.position,
                    at_filing,
                    now,
                ));
            } else if !amended && corrected_after(&rec.id) {
                let now = now_register
                    .with_filings_before(issuer, i, |view| regenerate_json(view, issuer, filed));
                findings.extend(judge_filed_without_digest(
                    issuer,
                    filed,
                    row.position,
                    regenerate_json(&then, issuer, filed),
                    now,
                ));
            }
        }
        let _ = then.execute(rec); // a refusal is reported by replay_stream
    }
    Ok((findings, contradicted))
}

/// The findings on one filed return from its two regenerations' digests.
fn judge_filed(
    issuer: &str,
    filed: &shareledger_core::event::ReturnFiled,
    expected: &str,
    position: u64,
    at_filing: Result<String, LedgerError>,
    now: Result<String, LedgerError>,
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
            format!("the filed {what} of {} (log position {position}) cannot be regenerated as known when filed: {}", filed.date, e),
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
            format!("the {what} filed for {} (log position {position}) can no longer be produced from the log ({}): file an amended return", filed.date, e),
        )),
    }
    out
}

/// The document a `return_filed` records, regenerated from `register`, as
/// JSON without its hand-set `date_submitted` and the filing's own Status
/// line and amended filing (what a digest covers: `returns::digest`).
fn regenerate_json(
    register: &Register,
    issuer: &str,
    filed: &shareledger_core::event::ReturnFiled,
) -> Result<serde_json::Value, LedgerError> {
    if register.issuer(issuer).is_none() {
        return Err(LedgerError::NotFound(format!(
            "issuer {issuer} was not registered then"
        )));
    }
    let req = request_of(issuer, filed)?;
    let produced = produce_allowing_empty(register, &req, filed.amends.is_some())?;
    let mut v: serde_json::Value = serde_json::from_str(&produced.json)
        .map_err(|e| LedgerError::Inconsistent(format!("a document is not JSON: {e}")))?;
    if let Some(map) = v.as_object_mut() {
        map.remove("date_submitted");
        map.remove("status");
        map.remove("amends");
    }
    Ok(v)
}

/// The figures that differ between two documents, as `path: then → now`
/// (at most `limit`, then how many more).
pub fn document_differences(
    then: &serde_json::Value,
    now: &serde_json::Value,
    limit: usize,
) -> String {
    use serde_json::Value;
    fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, x.get(k), y.get(k), out);
                }
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) => {
                for i in 0..x.len().max(y.len()) {
                    walk(&format!("{path}[{i}]"), x.get(i), y.get(i), out);
                }
            }
            (a, b) if a == b => {}
            (a, b) => {
                let show = |v: Option<&Value>| match v {
                    None => "(absent)".to_string(),
                    Some(v) => {
                        let t = v.to_string();
                        if t.chars().count() > 80 {
                            format!("{}…", t.chars().take(80).collect::<String>())
                        } else {
                            t
                        }
                    }
                };
                out.push(format!("{path}: {} → {}", show(a), show(b)));
            }
        }
    }
    let mut out = Vec::new();
    walk("", Some(then), Some(now), &mut out);
    let more = out.len().saturating_sub(limit);
    out.truncate(limit);
    let mut text = out.join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}

/// A filing recorded without a digest (history imported from before the
/// ledger): regenerated as known when it was filed and as the log stands
/// now; a difference (a later correction) is an error naming what changed.
/// When it cannot be regenerated as known then (the ledger's history does
/// not reach back to it), nothing can be proved either way: no finding.
fn judge_filed_without_digest(
    issuer: &str,
    filed: &shareledger_core::event::ReturnFiled,
    position: u64,
    at_filing: Result<serde_json::Value, LedgerError>,
    now: Result<serde_json::Value, LedgerError>,
) -> Option<Finding> {
    let rule = match filed.form {
        shareledger_core::event::ReturnForm::Nddr => "13.25A",
        shareledger_core::event::ReturnForm::Monthly => "13.25B",
    };
    let what = filed.layout.as_deref().unwrap_or("return");
    let then = at_filing.ok()?;
    Some(match now {
        Ok(now) if now == then => return None,
        Ok(now) => Finding::error(
            rule,
            issuer,
            Some(filed.date),
            format!(
                "the log as it stands now contradicts the {what} filed for {} (log position {position}, recorded without a digest: compared with the return regenerated as known when it was filed): later corrections change it ({}); file an amended return",
                filed.date,
                document_differences(&then, &now, 5)
            ),
        ),
        Err(e) => Finding::error(
            rule,
            issuer,
            Some(filed.date),
            format!(
                "the {what} filed for {} (log position {position}, recorded without a digest) could be produced as known when it was filed but no longer can ({e}): file an amended return",
                filed.date
            ),
        ),
    })
}

/// Findings that `events` introduce: the rule checks' findings with the
/// events, less those without them (so a back-dated event that pushes a later
/// one over a limit is reported too), judged at `now`. With `hypothetical`,
/// the events are not in the store (a dry run) and are applied in memory;
/// otherwise they are its latest events. The events are grouped by issuer in
/// one pass; each issuer is replayed before and after.
pub fn findings_introduced<S: EventStore>(
    store: &S,
    events: &[Recorded],
    hypothetical: bool,
    now: DateTime<FixedOffset>,
) -> Result<Vec<Finding>, LedgerError> {
    let mut by_issuer: std::collections::BTreeMap<&str, Vec<&Recorded>> = Default::default();
    for r in events {
        if let Some(issuer) = r.event.issuer() {
            by_issuer.entry(issuer).or_default().push(r);
        }
    }
    let mut out = Vec::new();
    for (issuer, mine) in by_issuer {
        let (before, after) = if hypothetical {
            let before = match load_issuer(store, issuer, None) {
                Ok(r) => r,
                Err(_) => {
                    let mut r = Register::new();
                    replay_rows(&mut r, store.events(&ReadFilter::stream(MARKET_STREAM)))?;
                    r
                }
            };
            let mut after = before.clone();
            for r in &mine {
                after.execute((*r).clone()).map_err(|e| {
                    LedgerError::Inconsistent(format!(
                        "{} no longer applies in memory: {e}",
                        r.event.type_name()
                    ))
                })?;
            }
            (before, after)
        } else {
            let first = mine.iter().filter_map(|r| r.position).min().unwrap_or(1);
            let mut before = Register::new();
            replay_rows(
                &mut before,
                store.events(&ReadFilter::stream(MARKET_STREAM)),
            )?;
            replay_rows(
                &mut before,
                store.events(&ReadFilter {
                    stream: Some(issuer.to_string()),
                    to_position: Some(first.saturating_sub(1)),
                    ..ReadFilter::default()
                }),
            )?;
            (before, load_issuer(store, issuer, None)?)
        };
        let Some(state) = after.issuer(issuer) else {
            continue;
        };
        let old: Vec<Finding> = before
            .issuer(issuer)
            .map(|s| checks::run(s, &calendar(&before), now))
            .unwrap_or_default();
        out.extend(
            checks::run(state, &calendar(&after), now)
                .into_iter()
                .filter(|f| !old.iter().any(|o| o.is_same(f))),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::append::{append, AppendOptions};
    use crate::import::jsonl::read_lines;
    use crate::SEED_LEDGER;
    use shareledger_store::Store;

    fn audit_with_threads(
        store: &Store,
        only: Option<&str>,
        expect: Option<&str>,
        now: DateTime<FixedOffset>,
        threads: usize,
    ) -> Result<AuditReport, LedgerError> {
        let options = AuditOptions {
            only,
            expect,
            threads,
        };
        audit(store, &options, now, &|_, _| {})
    }

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
            append(&mut store, lines, now, "t", AppendOptions::default()).expect("appends");
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
