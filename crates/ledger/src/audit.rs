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
use shareledger_returns::window::{DateIndex, View};
use shareledger_store::{Derived, EventRef, EventStore, ReadFilter};
use std::collections::{HashMap, HashSet};

use crate::decode::{decode, Decoder};
use crate::error::LedgerError;
use crate::replay::{load_issuer, replay_rows};
use crate::returns::{calendar, produce_in, regenerate_digest_in, request_of};

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

/// What an audit hands over as it goes ([`audit_into`]): the verdict and
/// the chain once, before any finding, then every finding in the fixed
/// order of [`audit`]. What it returns is an error of the sink's own (a
/// write that failed), or the ledger's.
pub trait AuditSink {
    /// The sink's error; a [`LedgerError`] of the audit becomes one.
    type Error: From<LedgerError>;
    /// The document's `ok`, `events` and `chain`: called once, before the
    /// first finding (and also when there is none).
    fn head(&mut self, ok: bool, events: u64, chain: &Chain) -> Result<(), Self::Error>;
    /// The next finding.
    fn finding(&mut self, finding: &Finding) -> Result<(), Self::Error>;
}

/// What a streamed audit ([`audit_into`]) found, in sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSummary {
    /// No error found and the chain intact (the document's `ok`).
    pub ok: bool,
    /// Events that verified.
    pub events: u64,
    /// The chain.
    pub chain: Chain,
    /// Findings handed over.
    pub findings: u64,
    /// Of those, errors.
    pub errors: u64,
}

/// Run the whole audit: the chain is verified on its own connection while
/// the issuers are replayed and checked, each issuer whole by one thread (so
/// memory stays that of one issuer per thread). Findings come out in a fixed
/// order whatever the threads: the chain, the checkpoint, the market stream,
/// then each issuer in stream order. `progress(done, total)` is called as
/// issuers are finished (from any of the threads). The whole document,
/// held in memory: [`audit_into`] hands it over as it is found.
pub fn audit<S: EventStore>(
    store: &S,
    options: &AuditOptions<'_>,
    now: DateTime<FixedOffset>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<AuditReport, LedgerError> {
    #[derive(Default)]
    struct Whole(Vec<Finding>);
    impl AuditSink for Whole {
        type Error = LedgerError;
        fn head(&mut self, _: bool, _: u64, _: &Chain) -> Result<(), LedgerError> {
            Ok(())
        }
        fn finding(&mut self, finding: &Finding) -> Result<(), LedgerError> {
            self.0.push(finding.clone());
            Ok(())
        }
    }
    let mut whole = Whole::default();
    let summary = audit_into(store, options, now, progress, &mut whole)?;
    Ok(AuditReport {
        ok: summary.ok,
        events: summary.events,
        chain: summary.chain,
        findings: whole.0,
    })
}

/// How many issuers' findings may wait, found but not yet handed over,
/// per thread: what bounds the audit's memory whatever the findings.
const WAITING_PER_THREAD: usize = 4;

/// The audit of [`audit`], handed to `sink` as it goes: `head` as soon as
/// the verdict is known — when the chain is verified and either an error is
/// found (then `ok` is false) or the audit is over — then each finding in
/// order. Findings found before the verdict is known wait in memory: with
/// an error among the first findings (a registrar's ledger with returns
/// owed), almost none; with none at all, every warning. Issuers are audited
/// on `options.threads` threads, at most a few issuers ahead of the sink,
/// so memory does not grow with the number of findings.
///
/// An error of the ledger (a store that cannot be read) may come after
/// findings were handed over: the sink then holds a document cut short.
pub fn audit_into<S: EventStore, K: AuditSink>(
    store: &S,
    options: &AuditOptions<'_>,
    now: DateTime<FixedOffset>,
    progress: &(dyn Fn(u64, u64) + Sync),
    sink: &mut K,
) -> Result<AuditSummary, K::Error> {
    let threads = options.threads.max(1);
    if let Some(exp) = options.expect {
        parse_checkpoint(exp)?;
    }
    let mut market_findings = Vec::new();
    let mut market = Register::new();
    replay_stream(
        store,
        MARKET_STREAM,
        &mut market,
        &mut market_findings,
        None,
    )?;
    let calendar = calendar(&market);
    let streams: Vec<String> = store
        .streams()
        .map_err(LedgerError::from)?
        .into_iter()
        .filter(|s| {
            s != MARKET_STREAM
                && crate::access::is_register_stream(s)
                && options.only.is_none_or(|o| o == s)
        })
        .collect();
    if let Some(o) = options.only {
        if streams.is_empty() {
            return Err(LedgerError::NotFound(format!("no issuer `{o}` in the ledger")).into());
        }
    }
    let total = streams.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    let one = |store: &S, stream: &str| {
        let found = audit_issuer(store, &market, &calendar, stream, now);
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, total);
        found
    };
    let mut out = Emitter::new(sink);
    if threads == 1 {
        out.start(store.verify().map_err(LedgerError::from)?)?;
        if let Some(exp) = options.expect {
            out.extend(check_expected_head(store, exp)?)?;
        }
        out.extend(market_findings)?;
        for stream in &streams {
            out.extend(one(store, stream)?)?;
        }
        return out.finish();
    }
    // Opened here: a connection moves to a thread, it is never shared.
    let verifier = store.sequential_reader().map_err(LedgerError::from)?;
    let workers = threads.min(streams.len().max(1));
    let readers = (0..workers)
        .map(|_| store.stream_reader())
        .collect::<Result<Vec<S>, _>>()
        .map_err(LedgerError::from)?;
    let queue = Queue::new(streams.len(), workers * WAITING_PER_THREAD);
    std::thread::scope(|s| {
        let verifier = s.spawn(move || verifier.verify());
        let queue = &queue;
        let streams = &streams;
        let one = &one;
        let handles: Vec<_> = readers
            .into_iter()
            .map(|reader| s.spawn(move || queue.work(|i| one(&reader, &streams[i]))))
            .collect();
        let result = (|| {
            let verification = match verifier.join() {
                Ok(v) => v.map_err(LedgerError::from)?,
                Err(p) => std::panic::resume_unwind(p),
            };
            out.start(verification)?;
            if let Some(exp) = options.expect {
                out.extend(check_expected_head(store, exp)?)?;
            }
            out.extend(std::mem::take(&mut market_findings))?;
            for i in 0..streams.len() {
                out.extend(queue.take(i)?)?;
            }
            out.finish()
        })();
        // Stop the workers (they may be waiting for room), then let them end.
        queue.stop();
        for h in handles {
            if let Err(p) = h.join() {
                std::panic::resume_unwind(p);
            }
        }
        result
    })
}

/// One issuer audited: its stream replayed on the market calendar, the
/// rule checks, the filed returns proved; its findings in order.
fn audit_issuer<S: EventStore>(
    store: &S,
    market: &Register,
    calendar: &shareledger_core::calendar::BusinessCalendar,
    stream: &str,
    now: DateTime<FixedOffset>,
) -> Result<Vec<Finding>, LedgerError> {
    let mut found = Vec::new();
    let mut register = market.clone();
    let mut proofs = FilingProofs::new(stream);
    replay_stream(store, stream, &mut register, &mut found, Some(&mut proofs))?;
    if let Some(issuer) = register.issuer(stream) {
        found.extend(checks::run(issuer, calendar, now));
        found.extend(proofs.finish(store, market, &register)?.0);
    }
    Ok(found)
}

/// Hands findings to the sink once the verdict is known (see
/// [`audit_into`]), counting them.
struct Emitter<'k, K: AuditSink> {
    sink: &'k mut K,
    /// The chain verified: (events, chain, intact); `None` before.
    chain: Option<(u64, Chain, bool)>,
    /// Whether `head` was called.
    headed: bool,
    /// Findings waiting for the verdict.
    waiting: Vec<Finding>,
    findings: u64,
    errors: u64,
}

impl<'k, K: AuditSink> Emitter<'k, K> {
    fn new(sink: &'k mut K) -> Self {
        Emitter {
            sink,
            chain: None,
            headed: false,
            waiting: Vec::new(),
            findings: 0,
            errors: 0,
        }
    }

    /// The chain as verified (and its finding when it is broken).
    fn start(&mut self, verification: shareledger_store::Verification) -> Result<(), K::Error> {
        let chain = match verification.broken_at {
            None => Chain::Intact("intact"),
            Some(p) => Chain::Broken { broken_at: p },
        };
        self.chain = Some((verification.events, chain, verification.broken_at.is_none()));
        if let Some(p) = verification.broken_at {
            self.push(Finding::error(
                "integrity",
                "",
                None,
                format!(
                    "the hash chain is broken at log position {p}{}: the file was changed outside shareledger; restore it from a backup",
                    verification.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                ),
            ))?;
        }
        Ok(())
    }

    fn extend(&mut self, findings: Vec<Finding>) -> Result<(), K::Error> {
        for f in findings {
            self.push(f)?;
        }
        Ok(())
    }

    fn push(&mut self, finding: Finding) -> Result<(), K::Error> {
        self.findings += 1;
        if finding.severity == Severity::Error {
            self.errors += 1;
        }
        if self.headed {
            return self.sink.finding(&finding);
        }
        self.waiting.push(finding);
        if self.errors > 0 {
            self.head(false)?;
        }
        Ok(())
    }

    /// `head`, then the findings that waited for it.
    fn head(&mut self, ok: bool) -> Result<(), K::Error> {
        let Some((events, chain, _)) = &self.chain else {
            return Ok(());
        };
        self.sink.head(ok, *events, chain)?;
        self.headed = true;
        for f in std::mem::take(&mut self.waiting) {
            self.sink.finding(&f)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<AuditSummary, K::Error> {
        let Some((events, chain, intact)) = self.chain.clone() else {
            return Err(LedgerError::Inconsistent(
                "the audit ended before the chain was verified".into(),
            )
            .into());
        };
        let ok = intact && self.errors == 0;
        if !self.headed {
            self.head(ok)?;
        }
        Ok(AuditSummary {
            ok,
            events,
            chain,
            findings: self.findings,
            errors: self.errors,
        })
    }
}

/// The issuers' results handed from the worker threads to the one that
/// passes them on, in stream order, with at most `room` of them waiting.
struct Queue {
    streams: usize,
    room: usize,
    next: std::sync::atomic::AtomicUsize,
    state: std::sync::Mutex<QueueState>,
    changed: std::sync::Condvar,
}

struct QueueState {
    /// Results done and not yet taken, by stream index.
    ready: std::collections::BTreeMap<usize, Result<Vec<Finding>, LedgerError>>,
    /// The index to be taken next.
    taken: usize,
    /// Set when the taker leaves (or a worker failed): the workers stop.
    stopped: bool,
}

impl Queue {
    fn new(streams: usize, room: usize) -> Self {
        Queue {
            streams,
            room: room.max(1),
            next: std::sync::atomic::AtomicUsize::new(0),
            state: std::sync::Mutex::new(QueueState {
                ready: Default::default(),
                taken: 0,
                stopped: false,
            }),
            changed: std::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // A worker that panicked holds no invariant here worth refusing.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A worker: take the next stream, wait for room, do it, hand it over.
    fn work(&self, mut one: impl FnMut(usize) -> Result<Vec<Finding>, LedgerError>) {
        /// Wakes the taker should the work panic, so it never waits forever.
        struct OnPanic<'a>(&'a Queue);
        impl Drop for OnPanic<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.stop();
                }
            }
        }
        let _guard = OnPanic(self);
        loop {
            let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if i >= self.streams {
                return;
            }
            {
                let mut state = self.lock();
                while !state.stopped && i >= state.taken + self.room {
                    state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
                }
                if state.stopped {
                    return;
                }
            }
            let result = one(i);
            let failed = result.is_err();
            self.lock().ready.insert(i, result);
            self.changed.notify_all();
            if failed {
                return;
            }
        }
    }

    /// The taker: stream `i`'s result, once done.
    fn take(&self, i: usize) -> Result<Vec<Finding>, LedgerError> {
        let mut state = self.lock();
        loop {
            if let Some(r) = state.ready.remove(&i) {
                state.taken = i + 1;
                drop(state);
                self.changed.notify_all();
                return r;
            }
            if state.stopped {
                return Err(LedgerError::Inconsistent(
                    "an audit thread stopped before finishing its issuer".into(),
                ));
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_all();
    }
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
    mut proofs: Option<&mut FilingProofs>,
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
        if let Some(proofs) = proofs.as_deref_mut() {
            proofs.before(register, &rec, row.position);
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
/// "As known when filed" is the register just before the `return_filed`
/// row (events refused on replay are skipped, as `replay_stream` skips and
/// reports them): the audit's own replay, stopped there for a moment
/// ([`FilingProofs::before`]); the log as it stands now is the register at
/// the end of it ([`FilingProofs::finish`]). Every regeneration reads only
/// the events of its period, through one index of the issuer's history by
/// date (`shareledger_returns::window`), so an issuer's filings cost in
/// proportion to the periods they cover, not to the history once each.
struct FilingProofs {
    issuer: String,
    /// The issuer's history by effective date, brought up to date when a
    /// regeneration needs it.
    index: DateIndex,
    /// Each `return_filed` row replayed: its log position and, when it has
    /// a digest, its return regenerated as known then.
    seen: HashMap<uuid::Uuid, SeenFiling>,
}

struct SeenFiling {
    position: u64,
    at_filing: Option<Result<String, LedgerError>>,
}

impl FilingProofs {
    fn new(issuer: &str) -> Self {
        FilingProofs {
            issuer: issuer.to_string(),
            index: DateIndex::new(),
            seen: HashMap::new(),
        }
    }

    /// Before `rec` (at log `position`) is applied to `register`: a filing
    /// with a digest is regenerated as known then.
    fn before(&mut self, register: &Register, rec: &Recorded, position: u64) {
        let shareledger_core::event::Event::ReturnFiled(filed) = &rec.event else {
            return;
        };
        let at_filing = filed.digest.as_ref().map(|_| {
            let Some(state) = register.issuer(&self.issuer) else {
                return Err(not_registered_then(&self.issuer));
            };
            self.index.catch_up(state);
            regenerate_digest_in(register, &View::indexed(state, &self.index), filed)
        });
        self.seen.insert(
            rec.id,
            SeenFiling {
                position,
                at_filing,
            },
        );
    }

    /// After the replay (`current` is the register at its end): judge every
    /// filing; the findings, and the filings the log now contradicts.
    fn finish<S: EventStore>(
        mut self,
        store: &S,
        market: &Register,
        current: &Register,
    ) -> Result<(Vec<Finding>, Vec<Contradicted>), LedgerError> {
        let mut findings = Vec::new();
        let mut contradicted = Vec::new();
        let issuer = self.issuer.as_str();
        let Some(state) = current.issuer(issuer) else {
            return Ok((findings, contradicted));
        };
        let filings = state.filings();
        if filings.is_empty() {
            return Ok((findings, contradicted));
        }
        self.index.catch_up(state);
        let amended = amended_filings(state);
        // A filing without a digest is judged only when a correction
        // (`event_voided`) was recorded after it: an event merely recorded late
        // (a threshold event riding along in a later return) is no correction.
        let without: Vec<usize> = corrected_without_digest(state, &amended);
        // The second replay stops at the last of them: its log position
        // (none when one of them was not seen in the replay: read all).
        let upto = without
            .iter()
            .map(|&i| self.seen.get(&filings[i].0).map(|s| s.position))
            .collect::<Option<Vec<u64>>>()
            .and_then(|p| p.into_iter().max());
        let mut judged_without =
            judge_without_digest(store, market, current, issuer, &self.index, &without, upto)?;
        for (i, (id, filed)) in filings.iter().enumerate() {
            let Some(seen) = self.seen.get_mut(id) else {
                continue;
            };
            if let Some(expected) = &filed.digest {
                let at_filing = seen.at_filing.take().unwrap_or_else(|| {
                    Err(LedgerError::Inconsistent(
                        "the filing was not regenerated as known then".into(),
                    ))
                });
                let now = match amended.contains(id) {
                    // A filing amended later is judged by its amendment now.
                    true => Ok(expected.clone()),
                    false => now_digest(current, state, &self.index, i, filed),
                };
                if now.as_ref().ok() != Some(expected) {
                    contradicted.push(Contradicted {
                        id: *id,
                        filed: filed.clone(),
                        position: seen.position,
                    });
                }
                findings.extend(judge_filed(
                    issuer,
                    filed,
                    expected,
                    seen.position,
                    at_filing,
                    now,
                ));
            } else if let Some(f) = judged_without.remove(&i) {
                findings.extend(f);
            }
        }
        Ok((findings, contradicted))
    }
}

fn not_registered_then(issuer: &str) -> LedgerError {
    LedgerError::NotFound(format!("issuer {issuer} was not registered then"))
}

/// The ids of the filings a later filing amends.
fn amended_filings(state: &shareledger_core::state::IssuerState) -> HashSet<uuid::Uuid> {
    state
        .filings()
        .iter()
        .filter_map(|(_, f)| f.amends)
        .collect()
}

/// The filings (by their place in `state.filings()`) recorded without a
/// digest, not amended, with a correction recorded after them.
fn corrected_without_digest(
    state: &shareledger_core::state::IssuerState,
    amended: &HashSet<uuid::Uuid>,
) -> Vec<usize> {
    let filings = state.filings();
    if filings.iter().all(|(_, f)| f.digest.is_some()) {
        return Vec::new();
    }
    let history = state.history();
    let Some(last_void) = history
        .iter()
        .rposition(|h| matches!(h.event, shareledger_core::event::Event::EventVoided(_)))
    else {
        return Vec::new();
    };
    let place: HashMap<uuid::Uuid, usize> = history
        .iter()
        .enumerate()
        .filter(|(_, h)| matches!(h.event, shareledger_core::event::Event::ReturnFiled(_)))
        .map(|(at, h)| (h.id, at))
        .collect();
    filings
        .iter()
        .enumerate()
        .filter(|(_, (id, f))| {
            f.digest.is_none()
                && !amended.contains(id)
                && place.get(id).is_some_and(|at| last_void > *at)
        })
        .map(|(i, _)| i)
        .collect()
}

/// The digest of the `i`-th filing's return regenerated from the log as it
/// stands now, seeing only the filings recorded before it.
fn now_digest(
    current: &Register,
    state: &shareledger_core::state::IssuerState,
    index: &DateIndex,
    i: usize,
    filed: &shareledger_core::event::ReturnFiled,
) -> Result<String, LedgerError> {
    regenerate_digest_in(
        current,
        &View::indexed(state, index).filings_before(i),
        filed,
    )
}

/// The filings recorded without a digest that a later correction may
/// contradict (`without`: their places in the filings), each regenerated as
/// known when it was filed (a second replay of the stream, up to the last of
/// them: rare, only for history imported with its filings and corrected
/// since) and as the log stands now; the finding on each, by place.
fn judge_without_digest<S: EventStore>(
    store: &S,
    market: &Register,
    current: &Register,
    issuer: &str,
    index: &DateIndex,
    without: &[usize],
    upto: Option<u64>,
) -> Result<HashMap<usize, Option<Finding>>, LedgerError> {
    let mut judged = HashMap::new();
    let Some(state) = current.issuer(issuer) else {
        return Ok(judged);
    };
    if without.is_empty() {
        // Nothing to judge: no read (the reader's first page would fetch
        // the stream's every row before the loop below stops).
        return Ok(judged);
    }
    let filings = state.filings();
    let mut wanted: HashMap<uuid::Uuid, usize> =
        without.iter().map(|&i| (filings[i].0, i)).collect();
    let mut then = market.clone();
    // Read no further than the last filing wanted (`upto`, when every one
    // was seen in the replay): the rows after it are not needed, and a page
    // of the reader would fetch them all.
    let filter = ReadFilter {
        to_position: upto,
        ..ReadFilter::stream(issuer)
    };
    for row in store.events(&filter) {
        if wanted.is_empty() {
            break;
        }
        let row = row?;
        let Ok(rec) = decode(&row) else {
            continue; // reported by replay_stream
        };
        if let Some(i) = wanted.remove(&rec.id) {
            let filed = &filings[i].1;
            let at_filing = match then.issuer(issuer) {
                Some(s) => regenerate_json_in(&then, &View::indexed(s, index), filed),
                None => Err(not_registered_then(issuer)),
            };
            let now = regenerate_json_in(
                current,
                &View::indexed(state, index).filings_before(i),
                filed,
            );
            judged.insert(
                i,
                judge_filed_without_digest(issuer, filed, row.position, at_filing, now),
            );
        }
        let _ = then.execute(rec); // a refusal is reported by replay_stream
    }
    Ok(judged)
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
/// those the log now contradicts, as the audit judges them. `current` is
/// the issuer replayed from the log (with its history) on `market`: only
/// the log as it stands now is regenerated (what was known when each was
/// filed does not change whether it must be amended).
pub fn amendments_due<S: EventStore>(
    store: &S,
    market: &Register,
    issuer: &str,
    current: &Register,
) -> Result<Vec<Contradicted>, LedgerError> {
    let _ = market;
    let mut contradicted = Vec::new();
    let Some(state) = current.issuer(issuer) else {
        return Ok(contradicted);
    };
    let filings = state.filings();
    if filings.iter().all(|(_, f)| f.digest.is_none()) {
        return Ok(contradicted);
    }
    let index = DateIndex::of(state);
    let amended = amended_filings(state);
    // Each filing's log position: from the history replayed, else the log.
    let mut position: HashMap<uuid::Uuid, u64> = state
        .history()
        .iter()
        .filter(|h| matches!(h.event, shareledger_core::event::Event::ReturnFiled(_)))
        .filter_map(|h| Some((h.id, h.position?)))
        .collect();
    if filings.iter().any(|(id, _)| !position.contains_key(id)) {
        store.scan(
            &ReadFilter::stream(issuer),
            |row| -> Result<(), LedgerError> {
                if row.event_type == "return_filed" {
                    if let Ok(id) = uuid::Uuid::parse_str(row.id) {
                        position.insert(id, row.position);
                    }
                }
                Ok(())
            },
        )?;
    }
    for (i, (id, filed)) in filings.iter().enumerate() {
        let (Some(expected), Some(&at)) = (&filed.digest, position.get(id)) else {
            continue;
        };
        if amended.contains(id) {
            continue;
        }
        let now = now_digest(current, state, &index, i, filed);
        if now.as_ref().ok() != Some(expected) {
            contradicted.push(Contradicted {
                id: *id,
                filed: filed.clone(),
                position: at,
            });
        }
    }
    Ok(contradicted)
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

/// The document a `return_filed` records, regenerated from `register` (of
/// which `view` shows the issuer), as JSON without its hand-set
/// `date_submitted` and the filing's own Status line and amended filing
/// (what a digest covers: `returns::digest`).
fn regenerate_json_in(
    register: &Register,
    view: &View<'_>,
    filed: &shareledger_core::event::ReturnFiled,
) -> Result<serde_json::Value, LedgerError> {
    let req = request_of(view.issuer().id(), filed)?;
    let produced = produce_in(register, view, &req, filed.amends.is_some())?;
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
