//! The atomic append: decide every line against the register as stored,
//! and append them all in one write transaction, or nothing.
//!
//! The input streams: lines are read, decided and inserted a chunk at a time
//! inside the one transaction, and only what deciding needs is kept: the
//! state (no history; for a large input, folded to each issuer's last
//! days: `Fold`) of the issuers named so far, and a fixed-size Bloom
//! filter of the contents of their live events and of the batch's. What
//! else a line needs is read back from the write transaction, which holds
//! the rows stored before the batch and those the batch already inserted: a
//! correction (`event_voided`) gets its issuer's history, a line whose
//! content the filter may have seen gets the events of its issuer and day
//! (the double-entry rule), a line whose given id may be the batch's gets
//! that row. Before such a read the inserting side catches up with the
//! deciding side. The findings are computed issuer by issuer from the store
//! after the last insert, and handed back as a bounded digest
//! ([`crate::findings::FindingsDigest`]) or to the caller's sink. Memory is
//! flat in the input's size (docs/decisions.md, "An import in bounded
//! memory"). A dry run is the same append in a write transaction rolled
//! back at the end; only on a store that cannot be written
//! ([`dry_run_read_only`]) does it decide in memory (histories kept). The
//! summary is counts and positions (and the events themselves only when a
//! front end asks for them: [`AppendOptions::keep_events`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, FixedOffset, NaiveDate};
use shareledger_core::calendar::BusinessCalendar;
use shareledger_core::event::{
    check_bounds, Event, EventVoided, Incoming, Recorded, MARKET_STREAM, SCHEMA_VERSION,
};
use shareledger_core::state::{needs_full_state, needs_history, IssuerState, Register};
use shareledger_returns::checks::{self, Finding};
use shareledger_store::{
    AppendOutcome, EventTx, ExpectedVersion, NewEvent, ReadFilter, StoreError, StoredEvent,
    ValidEvent,
};
use uuid::Uuid;

use crate::decode::Decoder;
use crate::error::{LedgerError, Rejection};
use crate::findings::{FindingSink, FindingsDigest};
use crate::time::store_time;

/// What an append did: counts and positions, small whatever the input's
/// size.
#[derive(Debug, Default)]
pub struct AppendSummary {
    /// How many events were appended (or, in a dry run, would be).
    pub appended: usize,
    /// Lines whose id was already stored with the same content: skipped.
    pub duplicates: usize,
    /// Log position of the first event appended.
    pub first_position: Option<u64>,
    /// Log position of the last event appended.
    pub last_position: Option<u64>,
    /// The events appended (or, in a dry run, that would be), in order, with
    /// their log positions once stored: only with
    /// [`AppendOptions::keep_events`] (a front end that prints each event);
    /// empty otherwise.
    pub events: Vec<Recorded>,
    /// With [`AppendOptions::findings`]: the rule checks' findings of the
    /// issuers the events touch that were not there before them (so a
    /// back-dated event that pushes a later one over a limit is reported
    /// too), judged at the caller's clock, as a digest bounded whatever
    /// their number ([`FindingsDigest`]: the first few of each issuer and
    /// rule, the counts, the overdue returns per issuer). Every finding
    /// goes to the sink of [`append_into`] instead, when a caller wants
    /// them all.
    pub findings: FindingsDigest,
}

/// How to append.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppendOptions {
    /// Decide every line, write nothing.
    pub dry_run: bool,
    /// Let through events equal to a live event of the same issuer (the
    /// double-entry rule, interchange.md section 1), for the whole input; a
    /// line may also say `"allow_duplicate": true` for itself.
    pub allow_duplicate: bool,
    /// Decide on a second thread while this one appends (`None`: by batch
    /// size and cores). Either way the outcome is the same.
    pub pipeline: Option<bool>,
    /// Keep the events appended in [`AppendSummary::events`] (memory grows
    /// with the input: for a front end that prints each event).
    pub keep_events: bool,
    /// Judge the issuers touched before and after the batch
    /// ([`AppendSummary::findings`]).
    pub findings: bool,
    /// From how long a history the findings of an issuer go window by
    /// window of days, and how large the windows are
    /// ([`crate::windowed`]; the default suits every input, the tests
    /// set small ones). Either way the findings are the same.
    pub findings_windows: crate::windowed::Windowing,
}

impl AppendOptions {
    /// The same options, letting equal events through (the double-entry rule off).
    pub fn allowing_duplicates(self) -> Self {
        AppendOptions {
            allow_duplicate: true,
            ..self
        }
    }

    /// Append (`false`) or decide only (`true`), pipelined by batch size.
    pub fn dry_run(dry_run: bool) -> Self {
        AppendOptions {
            dry_run,
            ..AppendOptions::default()
        }
    }
}

/// The input lines of one atomic append: (line number, event).
pub type Lines = Vec<(usize, Incoming)>;

/// One line of input for [`append`]: a parsed line, or the error reading
/// it (reported in line order: a line refused before it still comes
/// first).
pub trait IntoLine {
    /// The line, or why it could not be read.
    fn into_line(self) -> Result<(usize, Incoming), LedgerError>;
}

impl IntoLine for (usize, Incoming) {
    fn into_line(self) -> Result<(usize, Incoming), LedgerError> {
        Ok(self)
    }
}

impl IntoLine for Result<(usize, Incoming), LedgerError> {
    fn into_line(self) -> Result<(usize, Incoming), LedgerError> {
        self
    }
}

/// Decide every line against the register as stored, and append them all in
/// one transaction, or nothing. `dry_run` decides without writing.
///
/// Inside the write transaction the input is read a chunk at a time: the
/// streams a chunk names for the first time are replayed and the ids it
/// gives are looked up (reads), then its lines are decided in order and the
/// decided events appended. An input of [`PIPELINE_MIN_LINES`] lines or
/// more, on a machine with two cores or more, decides on a second thread
/// while this one reads, hashes and inserts; either way the outcome, the
/// summary and the error reported (the first line refused, before any error
/// of the store) are those of deciding every line first and appending after.
/// Memory does not grow with the input (see the module docs).
///
/// A dry run is the same append inside a write transaction that is rolled
/// back whatever the outcome (so it streams too, and holds the write lock
/// while it runs): nothing of it stays, no event, no snapshot. On a store
/// that cannot be written, use [`dry_run_read_only`].
pub fn append<S: shareledger_store::EventStore, I>(
    store: &mut S,
    lines: I,
    now: DateTime<FixedOffset>,
    actor: &str,
    options: AppendOptions,
) -> Result<AppendSummary, LedgerError>
where
    I: IntoIterator,
    I::Item: IntoLine,
{
    with_digest(|digest| append_into(store, lines, now, actor, options, digest))
}

/// The summary of `append`, with the findings it handed to the digest.
fn with_digest(
    append: impl FnOnce(&mut FindingsDigest) -> Result<AppendSummary, LedgerError>,
) -> Result<AppendSummary, LedgerError> {
    let mut digest = FindingsDigest::new();
    let mut summary = append(&mut digest)?;
    summary.findings = digest;
    Ok(summary)
}

/// [`append`], handing every finding introduced (with
/// [`AppendOptions::findings`]) to `sink` as it is judged, instead of the
/// summary's digest (left empty).
pub fn append_into<S: shareledger_store::EventStore, I>(
    store: &mut S,
    lines: I,
    now: DateTime<FixedOffset>,
    actor: &str,
    options: AppendOptions,
    sink: &mut dyn FindingSink,
) -> Result<AppendSummary, LedgerError>
where
    I: IntoIterator,
    I::Item: IntoLine,
{
    if !options.dry_run {
        return store.write(|tx| run(tx, lines, now, actor, options, true, sink, None));
    }
    /// Why the dry run's transaction ends: always rolled back.
    enum Undo {
        Done(Box<Result<AppendSummary, LedgerError>>),
        Store(StoreError),
    }
    impl From<StoreError> for Undo {
        fn from(e: StoreError) -> Self {
            Undo::Store(e)
        }
    }
    match store.write(|tx| {
        Err::<(), Undo>(Undo::Done(Box::new(run(
            tx, lines, now, actor, options, true, sink, None,
        ))))
    }) {
        Err(Undo::Done(outcome)) => *outcome,
        Err(Undo::Store(e)) => Err(e.into()),
        // The closure never returns `Ok`, so nothing commits.
        Ok(()) => Err(LedgerError::Inconsistent(
            "a dry run's transaction ended without its outcome".into(),
        )),
    }
}

/// A dry run against a store that cannot be written (opened read-only: an
/// auditor's copy, read-only media): decided in memory as before the
/// streaming append (histories kept, so memory grows with the input), on
/// the store's reads outside any transaction. Same outcome as [`append`]'s
/// dry run.
pub fn dry_run_read_only<S: shareledger_store::EventRead, I>(
    store: &S,
    lines: I,
    now: DateTime<FixedOffset>,
    actor: &str,
    options: AppendOptions,
) -> Result<AppendSummary, LedgerError>
where
    I: IntoIterator,
    I::Item: IntoLine,
{
    let options = AppendOptions {
        dry_run: true,
        ..options
    };
    with_digest(|digest| {
        run(
            &mut ReadOnlyTx(store),
            lines,
            now,
            actor,
            options,
            false,
            digest,
            None,
        )
    })
}

/// The reads of a store as a transaction that never writes: what an
/// in-memory dry run needs (it calls none of the writes).
struct ReadOnlyTx<'s, S>(&'s S);

impl<S: shareledger_store::EventRead> shareledger_store::EventRead for ReadOnlyTx<'_, S> {
    fn scan<E: From<StoreError>>(
        &self,
        filter: &ReadFilter,
        f: impl FnMut(shareledger_store::EventRef<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        self.0.scan(filter, f)
    }
    fn scan_derived<E: From<StoreError>>(
        &self,
        filter: &ReadFilter,
        f: impl FnMut(shareledger_store::EventRef<'_>, shareledger_store::Derived<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        self.0.scan_derived(filter, f)
    }
    fn scan_on_date<E: From<StoreError>>(
        &self,
        stream: &str,
        effective_date: Option<&str>,
        f: impl FnMut(shareledger_store::EventRef<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        self.0.scan_on_date(stream, effective_date, f)
    }
    fn scan_from_date<E: From<StoreError>>(
        &self,
        stream: &str,
        from: &str,
        until: Option<&str>,
        f: impl FnMut(shareledger_store::EventRef<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        self.0.scan_from_date(stream, from, until, f)
    }
    fn events(&self, filter: &ReadFilter) -> shareledger_store::RowIter<'_> {
        self.0.events(filter)
    }
    fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        self.0.stream_version(stream)
    }
    fn find_by_id(&self, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        self.0.find_by_id(id)
    }
    fn head(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.0.head()
    }
    fn last_recorded_at(&self) -> Result<Option<String>, StoreError> {
        self.0.last_recorded_at()
    }
    fn count(&self) -> Result<u64, StoreError> {
        self.0.count()
    }
    fn snapshot(&self, stream: &str) -> Result<Option<shareledger_store::Snapshot>, StoreError> {
        self.0.snapshot(stream)
    }
}

impl<S: shareledger_store::EventRead> EventTx for ReadOnlyTx<'_, S> {
    fn append(
        &mut self,
        _: &[(String, ExpectedVersion)],
        _: &[NewEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        Err(read_only_write())
    }
    fn append_valid(
        &mut self,
        _: &[(String, ExpectedVersion)],
        _: &[ValidEvent],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        Err(read_only_write())
    }
    fn put_snapshot(&mut self, _: &shareledger_store::Snapshot) -> Result<(), StoreError> {
        Err(read_only_write())
    }
    fn drop_snapshots(&mut self, _: Option<&str>) -> Result<u64, StoreError> {
        Err(read_only_write())
    }
}

/// What a write through [`ReadOnlyTx`] would be (never reached: an
/// in-memory dry run writes nothing).
fn read_only_write() -> StoreError {
    StoreError::Io {
        path: std::path::PathBuf::from("(read-only dry run)"),
        source: std::io::Error::other("a dry run on a read-only ledger writes nothing"),
    }
}

/// [`append`] with every issuer's state folded to the last `window_days`
/// days of its detail, whatever the input's size ([`append`] folds only
/// inputs of [`PIPELINE_MIN_LINES`] lines or more, to
/// [`FOLD_WINDOW_DAYS`]), or (`0`) never folded: the same outcome, for the
/// tests that hold it to the whole state's and measure both
/// (docs/decisions.md, "An import in bounded memory").
pub fn append_with_window<S: shareledger_store::EventStore, I>(
    store: &mut S,
    lines: I,
    now: DateTime<FixedOffset>,
    actor: &str,
    options: AppendOptions,
    window_days: u32,
) -> Result<AppendSummary, LedgerError>
where
    I: IntoIterator,
    I::Item: IntoLine,
{
    let streaming = !options.dry_run;
    with_digest(|digest| {
        store.write(|tx| {
            run(
                tx,
                lines,
                now,
                actor,
                options,
                streaming,
                digest,
                Some(window_days),
            )
        })
    })
}

/// [`append`] inside a write transaction already open (so that what was
/// read to build `lines` cannot change before they are appended). A dry
/// run here decides in memory (it cannot roll back the caller's
/// transaction): memory grows with the input.
pub fn append_in<T: EventTx, I>(
    tx: &mut T,
    lines: I,
    now: DateTime<FixedOffset>,
    actor: &str,
    options: AppendOptions,
) -> Result<AppendSummary, LedgerError>
where
    I: IntoIterator,
    I::Item: IntoLine,
{
    let streaming = !options.dry_run;
    with_digest(|digest| run(tx, lines, now, actor, options, streaming, digest, None))
}

/// Each issuer's state keeps the detail of this many days back from its
/// latest date (and up to twice as many before it is folded again), for
/// an input of [`PIPELINE_MIN_LINES`] lines or more (docs/decisions.md,
/// "The register's state, folded to a horizon").
pub const FOLD_WINDOW_DAYS: u32 = 16;

/// An issuer whose whole state had to be rebuilt for a line dated before
/// its horizon keeps twice the window from then on, up to this.
const FOLD_WINDOW_MAX_DAYS: u32 = 4 * 366;

/// The append in `tx`: `streaming`, every decided event is inserted (a dry
/// run's are rolled back by the caller) and what deciding needs is read
/// back from the transaction; otherwise (a dry run that cannot insert)
/// lines are decided in memory, histories kept. Each issuer's state is
/// folded to `window` days (`None`: to [`FOLD_WINDOW_DAYS`] for an input of
/// [`PIPELINE_MIN_LINES`] lines or more, else not at all).
#[allow(clippy::too_many_arguments)]
fn run<T: EventTx, I>(
    tx: &mut T,
    lines: I,
    now: DateTime<FixedOffset>,
    actor: &str,
    options: AppendOptions,
    streaming: bool,
    sink: &mut dyn FindingSink,
    window: Option<u32>,
) -> Result<AppendSummary, LedgerError>
where
    I: IntoIterator,
    I::Item: IntoLine,
{
    let AppendOptions {
        dry_run,
        allow_duplicate,
        pipeline,
        keep_events,
        findings,
        findings_windows,
    } = options;
    let last = tx.last_recorded_at()?;
    let clock = now;
    // The clock was read before the write lock was taken: a writer that
    // waited behind another may hold an earlier "now" than what the other
    // just stored. Defaulted times never go backwards.
    let now = last
        .as_deref()
        .and_then(|l| DateTime::parse_from_rfc3339(l).ok())
        .map_or(now, |l| l.max(now));
    // Rows above this position were appended by this batch.
    let start = tx.head()?.map_or(0, |(p, _)| p);

    let mut loader = Loader {
        seen: HashSet::new(),
        issuers: 0,
        start,
        expected: Vec::new(),
        use_snapshots: false,
        streaming,
        bloom: (streaming && !allow_duplicate).then(Bloom::default),
        asked: HashSet::new(),
        in_flight: VecDeque::new(),
        in_flight_ids: HashSet::new(),
        window: None,
        folds: HashMap::new(),
    };
    let mut decider = Decider {
        register: if streaming {
            Register::without_history()
        } else {
            Register::new()
        },
        streaming,
        start,
        runs: Vec::new(),
        failed: HashMap::new(),
        checked: HashSet::new(),
        batch_ids: HashMap::new(),
        formatted: None,
        last,
        now,
        clock,
        actor,
        allow_duplicate,
        entries: HashMap::new(),
        keep_events,
        findings,
        before: HashMap::new(),
        market: None,
        tails: None,
        market_changed: false,
        touched: BTreeMap::new(),
        versions: HashMap::new(),
        summary: AppendSummary::default(),
    };
    // The market calendar first: every line is judged against it.
    let market = loader.load(tx, MARKET_STREAM);
    decider.take(vec![market]);
    if streaming && findings {
        decider.market = Some(decider.register.clone());
    }

    let mut lines = lines.into_iter().map(IntoLine::into_line);
    let head: Vec<_> = lines.by_ref().take(PIPELINE_MIN_LINES).collect();
    let more = head.len() == PIPELINE_MIN_LINES;
    // Issuers are restored from their snapshots when the whole input is
    // known to be small (each line of a restored issuer asks the store for
    // the events of its day: the snapshot keeps no digests) and is decided
    // against the store (not a dry run, which keeps histories).
    loader.use_snapshots = streaming && !more;
    // A small input's findings may take the tail path: keep the states as
    // loaded.
    if streaming && findings && !more {
        decider.tails = Some(HashMap::new());
    }
    // A large input keeps each issuer's state bounded: folded to its last
    // days (a small one, e.g. `record`, keeps whole states, which its
    // snapshots are written from).
    loader.window = match window {
        Some(days) => (streaming && days > 0).then_some(days),
        None => (streaming && more).then_some(FOLD_WINDOW_DAYS),
    };
    let mut lines = head.into_iter().chain(lines);
    let pipelined = streaming
        && pipeline.unwrap_or_else(|| {
            more && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
        });
    let mut positions = Positions::new(keep_events);

    if !pipelined {
        // Decide what was read, append it; a store error waits for the lines
        // after it (a refused line still rules).
        let mut sink = Plain {
            decider: &mut decider,
            new_events: Vec::with_capacity(CHUNK),
            insert: streaming,
            failed: None,
            refused: None,
            positions: &mut positions,
        };
        drive(tx, &mut loader, &mut lines, &mut sink);
        let Plain {
            failed, refused, ..
        } = sink;
        if let Some(e) = refused {
            return Err(e);
        }
        if let Some(e) = failed {
            return Err(e.into());
        }
    } else {
        // Decided events go to this thread checked by the store
        // (`NewEvent::validate`, on the deciding thread), and come back to
        // be freed there too: this thread reads, hashes and inserts.
        let (to_decider, prepared_in) = std::sync::mpsc::sync_channel::<Prepared>(2);
        let (send, receive) = std::sync::mpsc::channel::<Decided>();
        let (give_back, returned) = std::sync::mpsc::channel::<Vec<ValidEvent>>();
        let result: Result<Decider<'_>, LedgerError> = std::thread::scope(|scope| {
            let deciding = scope.spawn(move || {
                let mut invalid: Option<StoreError> = None;
                let mut sinking = true;
                let mut pending: Vec<NewEvent> = Vec::with_capacity(CHUNK);
                let mut through = 0usize;
                let mut flush = |pending: &mut Vec<NewEvent>, sinking: &mut bool, through| {
                    while let Ok(done) = returned.try_recv() {
                        drop(done);
                    }
                    let chunk = std::mem::replace(pending, Vec::with_capacity(CHUNK));
                    if !*sinking || chunk.is_empty() {
                        return;
                    }
                    match chunk.into_iter().map(NewEvent::validate).collect() {
                        Ok(valid) => *sinking = send.send(Decided::Events(valid, through)).is_ok(),
                        Err(e) => {
                            invalid = Some(e);
                            *sinking = false;
                        }
                    }
                };
                for prepared in prepared_in.iter() {
                    decider.take(prepared.loads);
                    for p in prepared.lines {
                        let number = p.line.as_ref().map_or(through, |(n, _)| *n);
                        match decider.decide(p) {
                            Err(e) => {
                                return (decider, Err(e), None);
                            }
                            Ok(Some(ev)) => {
                                through = number;
                                pending.push(ev);
                                if pending.len() == CHUNK {
                                    flush(&mut pending, &mut sinking, through);
                                }
                            }
                            Ok(None) => through = number,
                        }
                    }
                    if prepared.barrier {
                        flush(&mut pending, &mut sinking, through);
                        // Even when no longer sinking: the other side waits.
                        let _ = send.send(Decided::Barrier);
                    }
                }
                if !pending.is_empty() {
                    flush(&mut pending, &mut sinking, through);
                }
                (decider, Ok(()), invalid)
            });
            let mut sink = Piped {
                to_decider,
                receive,
                give_back,
                failed: None,
                positions: &mut positions,
            };
            drive(tx, &mut loader, &mut lines, &mut sink);
            let Piped {
                to_decider,
                receive,
                give_back,
                mut failed,
                positions,
            } = sink;
            drop(to_decider);
            for msg in receive.iter() {
                if let Decided::Events(chunk, _) = msg {
                    insert(chunk, tx, &mut loader, positions, &mut failed, &give_back);
                }
            }
            let (decider, refused, invalid) = match deciding.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            // As if every line were decided, then the batch checked, then
            // appended: a refused line first, then the store's errors.
            refused?;
            match invalid.or(failed) {
                Some(e) => Err(LedgerError::from(e)),
                None => Ok(decider),
            }
        });
        decider = result?;
    }
    if !dry_run {
        decider.put_snapshots(tx, positions.first)?;
    }
    match (findings, streaming) {
        (false, _) => {}
        (true, true) => {
            let stored =
                crate::returns::calendar(decider.market.as_ref().unwrap_or(&decider.register));
            let left = crate::returns::calendar(&decider.register);
            let tails = decider.tail_states();
            // The issuers whose state was folded got no snapshot: the
            // findings replay them whole, and write theirs.
            let recache = match (dry_run, positions.first) {
                (false, Some(first)) => Some(Recache {
                    first,
                    folded: decider
                        .touched
                        .keys()
                        .filter(|i| {
                            decider
                                .register
                                .issuer(i)
                                .is_some_and(|s| s.horizon().is_some())
                        })
                        .cloned()
                        .collect(),
                }),
                _ => None,
            };
            // The states and the filter are no longer needed: the findings
            // replay each issuer from the store (or read its tail).
            decider.register = Register::without_history();
            decider.market = None;
            loader.bloom = None;
            findings_from_store(
                tx,
                &decider,
                (&stored, &left),
                tails,
                recache,
                findings_windows,
                sink,
            )?;
        }
        (true, false) => decider.findings_in_memory(sink),
    }
    let mut summary = std::mem::take(&mut decider.summary);
    if dry_run {
        // A dry run's rows are rolled back: it has no positions.
        return Ok(summary);
    }
    summary.first_position = positions.first;
    summary.last_position = positions.last;
    for (rec, p) in summary.events.iter_mut().zip(&positions.all) {
        rec.position = Some(*p);
    }
    Ok(summary)
}

/// Inputs of at least this many lines decide on a second thread while the
/// first reads and appends (see [`append`]).
pub const PIPELINE_MIN_LINES: usize = 4096;

/// How many issuers one append may name. The append holds each issuer's
/// state (folded to its last days: some kilobytes) and a few dozen bytes of
/// bookkeeping until it commits, so an input naming millions of issuers
/// (a file of bare registrations: 1M took 1.4 GB) would grow without
/// bound; Hong Kong has some 2,600 listed issuers, a registrar's whole book
/// fits many times over. Beyond it the input is refused at the line
/// naming one more, nothing written: split it (docs/threat-model.md).
pub const MAX_ISSUERS_PER_APPEND: usize = 20_000;

/// The refusal of the line that names one issuer more than
/// [`MAX_ISSUERS_PER_APPEND`].
fn too_many_issuers(line: usize, i: &Incoming) -> LedgerError {
    LedgerError::from(Rejection {
        line: Some(line),
        event_type: Some(i.event.type_name().to_string()),
        field: Some("issuer".into()),
        kind: "input".into(),
        message: format!(
            "this input names more than {MAX_ISSUERS_PER_APPEND} issuers (issuer `{}` is one more): one append holds the state of every issuer it names until it commits",
            i.event.stream()
        ),
        hint: Some(format!(
            "split the input into files of at most {MAX_ISSUERS_PER_APPEND} issuers each; each is imported on its own, all or nothing"
        )),
    })
}

/// Decided events are handed to the store in chunks of this many.
const CHUNK: usize = 256;

/// Lines are read and prepared (streams loaded, ids looked up) this many at
/// a time.
const PREPARE: usize = 1024;

/// Where the appended events landed.
struct Positions {
    first: Option<u64>,
    last: Option<u64>,
    /// Every position, when the events are kept.
    all: Vec<u64>,
    keep: bool,
}

impl Positions {
    fn new(keep: bool) -> Self {
        Positions {
            first: None,
            last: None,
            all: Vec::new(),
            keep,
        }
    }

    fn extend(&mut self, outcomes: &[AppendOutcome]) {
        for o in outcomes {
            let p = o.position();
            self.first.get_or_insert(p);
            self.last = Some(p);
            if self.keep {
                self.all.push(p);
            }
        }
    }
}

/// What the deciding thread hands back: events to insert (with the last
/// line decided when they were handed over), or "every line sent so far is
/// decided and its event handed over" (the answer to a barrier).
enum Decided {
    Events(Vec<ValidEvent>, usize),
    Barrier,
}

/// Insert a chunk decided on the other thread (unless the store failed
/// before: then keep deciding, a refused line still rules) and give it back
/// to be freed there.
fn insert<T: EventTx>(
    chunk: Vec<ValidEvent>,
    tx: &mut T,
    loader: &mut Loader,
    positions: &mut Positions,
    failed: &mut Option<StoreError>,
    give_back: &std::sync::mpsc::Sender<Vec<ValidEvent>>,
) {
    if failed.is_none() {
        match tx.append_valid_or_abort(&loader.take_expected(), &chunk) {
            Ok(o) => positions.extend(&o),
            Err(e) => *failed = Some(e),
        }
    }
    let _ = give_back.send(chunk);
}

/// Where prepared lines go to be decided: [`Plain`] on this thread,
/// [`Piped`] on another.
trait Sink<T: EventTx> {
    /// Hand `prepared` over; `false` when deciding has stopped (a line was
    /// refused).
    fn send(&mut self, tx: &mut T, loader: &mut Loader, prepared: Prepared) -> bool;
    /// Wait until every line handed over is decided and its event
    /// inserted; `false` when deciding has stopped.
    fn catch_up(&mut self, tx: &mut T, loader: &mut Loader) -> bool;
}

/// Decide on this thread, append what was decided at once.
struct Plain<'p, 'a> {
    decider: &'p mut Decider<'a>,
    new_events: Vec<NewEvent>,
    /// Insert what is decided (streaming); else decide only.
    insert: bool,
    failed: Option<StoreError>,
    refused: Option<LedgerError>,
    positions: &'p mut Positions,
}

impl<T: EventTx> Sink<T> for Plain<'_, '_> {
    fn send(&mut self, tx: &mut T, loader: &mut Loader, prepared: Prepared) -> bool {
        self.decider.take(prepared.loads);
        for p in prepared.lines {
            match self.decider.decide(p) {
                Err(e) => {
                    self.refused = Some(e);
                    return false;
                }
                Ok(Some(ev)) => {
                    if self.insert && self.failed.is_none() {
                        self.new_events.push(ev);
                    }
                }
                Ok(None) => {}
            }
        }
        if !self.new_events.is_empty() {
            match tx.append(&loader.take_expected(), &self.new_events) {
                Ok(o) => self.positions.extend(&o),
                Err(e) => self.failed = Some(e),
            }
            self.new_events.clear();
        }
        loader.caught_up();
        true
    }

    fn catch_up(&mut self, _tx: &mut T, _loader: &mut Loader) -> bool {
        true
    }
}

/// Decide on another thread; this one inserts.
struct Piped<'p> {
    to_decider: std::sync::mpsc::SyncSender<Prepared>,
    receive: std::sync::mpsc::Receiver<Decided>,
    give_back: std::sync::mpsc::Sender<Vec<ValidEvent>>,
    failed: Option<StoreError>,
    positions: &'p mut Positions,
}

impl Piped<'_> {
    /// Insert a chunk the decider handed back, decided through line `through`.
    fn insert<T: EventTx>(
        &mut self,
        tx: &mut T,
        loader: &mut Loader,
        chunk: Vec<ValidEvent>,
        through: usize,
    ) {
        insert(
            chunk,
            tx,
            loader,
            self.positions,
            &mut self.failed,
            &self.give_back,
        );
        loader.decided_through(through);
    }
}

impl<T: EventTx> Sink<T> for Piped<'_> {
    fn send(&mut self, tx: &mut T, loader: &mut Loader, prepared: Prepared) -> bool {
        if self.to_decider.send(prepared).is_err() {
            return false; // the decider stopped at a refused line
        }
        while let Ok(msg) = self.receive.try_recv() {
            if let Decided::Events(chunk, through) = msg {
                self.insert(tx, loader, chunk, through);
            }
        }
        true
    }

    fn catch_up(&mut self, tx: &mut T, loader: &mut Loader) -> bool {
        let barrier = Prepared {
            lines: Vec::new(),
            loads: Vec::new(),
            barrier: true,
        };
        if self.to_decider.send(barrier).is_err() {
            return false;
        }
        loop {
            match self.receive.recv() {
                Ok(Decided::Events(chunk, through)) => self.insert(tx, loader, chunk, through),
                Ok(Decided::Barrier) => {
                    loader.caught_up();
                    return true;
                }
                Err(_) => return false,
            }
        }
    }
}

/// Read the input a chunk at a time, prepare each line (the reads it needs),
/// and hand the lines over to be decided; before a line that needs to read
/// what the batch wrote, catch up (see the module docs).
fn drive<T: EventTx, K: Sink<T>>(
    tx: &mut T,
    loader: &mut Loader,
    lines: &mut impl Iterator<Item = Result<(usize, Incoming), LedgerError>>,
    sink: &mut K,
) {
    loop {
        let chunk: Vec<_> = lines.by_ref().take(PREPARE).collect();
        if chunk.is_empty() {
            return;
        }
        let mut batch = Vec::with_capacity(chunk.len());
        let mut loads = Vec::new();
        for line in chunk {
            let (mut p, wants) = loader.prepare(tx, line, &mut loads);
            if let Some(wants) = wants {
                let before = Prepared {
                    lines: std::mem::take(&mut batch),
                    loads: std::mem::take(&mut loads),
                    barrier: false,
                };
                if !sink.send(tx, loader, before) || !sink.catch_up(tx, loader) {
                    return;
                }
                loader.look_up(tx, &mut p, wants);
            }
            loader.follow(&mut p);
            loader.hand_over(&p);
            batch.push(p);
        }
        let prepared = Prepared {
            lines: batch,
            loads,
            barrier: false,
        };
        if !sink.send(tx, loader, prepared) {
            return;
        }
    }
}

/// A stream as loaded for a batch, or why it could not be.
type Loaded = (String, Result<Stream, LedgerError>);

/// A stream as loaded: its register (the stream replayed, or its issuer
/// restored from a snapshot), and its version.
struct Stream {
    register: Register,
    version: u64,
}

/// Lines ready to decide, and the streams first named by them.
struct Prepared {
    lines: Vec<PreparedLine>,
    loads: Vec<Loaded>,
    /// Answer with [`Decided::Barrier`] once these are decided.
    barrier: bool,
}

/// One line ready to decide, with what was read for it.
struct PreparedLine {
    line: Result<(usize, Incoming), LedgerError>,
    /// The event stored before the batch with its given id (`None`: no id
    /// given).
    stored: Option<Result<Option<StoredEvent>, LedgerError>>,
    /// The batch's event with its given id: (log position, payload).
    batch: Option<(u64, String)>,
    /// The events of its issuer and day with the same content, (position,
    /// id) in log order, voided ones included; `None`: there are none.
    equal: Option<Result<Vec<(u64, Uuid)>, LedgerError>>,
    /// For a correction: a stream it needs with its history (replayed);
    /// for a line a folded issuer cannot decide
    /// ([`needs_full_state`]): its issuer's whole state (replayed).
    history: Option<(String, Result<Register, LedgerError>)>,
    /// Once decided, fold its issuer before this day ([`Fold`]).
    fold: Option<NaiveDate>,
}

/// What a line needs to read once the batch's events before it are
/// inserted.
#[derive(Debug, Clone, Copy, Default)]
struct Wants {
    /// The row of its given id (it may be one the batch wrote).
    id: bool,
    /// The events of its issuer and day (the double-entry rule).
    equal: bool,
    /// The history of its issuer (a correction).
    history: bool,
    /// The whole state of its folded issuer ([`needs_full_state`]).
    full: bool,
}

/// What the reading side knows of an issuer's state on the deciding side
/// when states are folded: the horizon it was folded to (the reading side
/// chooses it, and sends it along with a line: [`PreparedLine::fold`]),
/// the latest date of its detail, and its window. A line the state folded
/// to `horizon` cannot decide ([`needs_full_state`]) reads the issuer's
/// whole state back from the write transaction (as a correction reads its
/// history), and the state is folded again after it.
#[derive(Debug, Clone, Copy)]
struct Fold {
    horizon: Option<NaiveDate>,
    latest: Option<NaiveDate>,
    window: u32,
}

impl Fold {
    /// The horizon to fold to now, if the detail kept spans twice the
    /// window (or the state is whole): `window` days before the latest.
    fn due(&self) -> Option<NaiveDate> {
        let target = self
            .latest?
            .checked_sub_days(chrono::Days::new(u64::from(self.window)))?;
        match self.horizon {
            None => Some(target),
            Some(h) => {
                let next = h.checked_add_days(chrono::Days::new(u64::from(self.window)))?;
                (target >= next).then_some(target)
            }
        }
    }

    fn saw(&mut self, date: Option<NaiveDate>) {
        self.latest = self.latest.max(date);
    }
}

/// A fixed-size Bloom filter of content digests: "maybe seen" or "never
/// seen". 2^28 bits (32 MiB, allocated on first use), 7 probes: about one
/// false "maybe" in 30,000 lines at 10 million entries.
#[derive(Default)]
struct Bloom {
    bits: Vec<u64>,
}

impl Bloom {
    const BITS_LOG2: u32 = 28;
    const PROBES: u64 = 7;

    fn probes(key: EntryKey) -> impl Iterator<Item = usize> {
        let mask = (1u64 << Self::BITS_LOG2) - 1;
        (0..Self::PROBES)
            .map(move |i| (key.0.wrapping_add(i.wrapping_mul(key.1 | 1)) & mask) as usize)
    }

    fn contains(&self, key: EntryKey) -> bool {
        !self.bits.is_empty() && Self::probes(key).all(|b| self.bits[b / 64] & (1 << (b % 64)) != 0)
    }

    fn insert(&mut self, key: EntryKey) {
        if self.bits.is_empty() {
            self.bits = vec![0; (1usize << Self::BITS_LOG2) / 64];
        }
        for b in Self::probes(key) {
            self.bits[b / 64] |= 1 << (b % 64);
        }
    }
}

/// The reads of an append, on the thread that holds the transaction.
struct Loader {
    /// Streams loaded (or refused) so far.
    seen: HashSet<String>,
    /// Of those, the issuers (at most [`MAX_ISSUERS_PER_APPEND`]).
    issuers: usize,
    /// The head before the batch: a row above it is this batch's.
    start: u64,
    /// Expected versions of the streams loaded and not yet handed to the
    /// store with an append.
    expected: Vec<(String, ExpectedVersion)>,
    /// Restore issuers from their snapshots (see [`crate::snapshot`]).
    use_snapshots: bool,
    /// Decide against the store (no histories, no digests kept): not a
    /// dry run.
    streaming: bool,
    /// Contents of the live events of the streams loaded and of the batch's
    /// lines (streaming, unless duplicates are allowed for the whole input).
    bloom: Option<Bloom>,
    /// Streams restored from a snapshot: their stored events are not in the
    /// filter, so each line of theirs asks the store.
    asked: HashSet<String>,
    /// Given ids of lines handed over whose events may not be inserted yet,
    /// in line order.
    in_flight: VecDeque<(usize, Uuid)>,
    in_flight_ids: HashSet<Uuid>,
    /// Fold each issuer's state to this many days ([`Fold`]); `None`: keep
    /// whole states.
    window: Option<u32>,
    /// Per issuer loaded, what is folded of its state ([`Fold`]).
    folds: HashMap<String, Fold>,
}

impl Loader {
    /// The issuer of `stream` from its snapshot, if one is kept that this
    /// build reads and that reflects the log as it is (`version`); `None`
    /// otherwise (the stream is then replayed).
    fn restore<T: EventTx>(&self, tx: &T, stream: &str, version: u64) -> Option<Stream> {
        if !self.use_snapshots || stream == MARKET_STREAM || version == 0 {
            return None;
        }
        let snap = tx.snapshot(stream).ok()??;
        if snap.format != crate::snapshot::FORMAT
            || snap.version != version
            || snap.position > self.start
        {
            return None;
        }
        let (state, _) = crate::snapshot::decode(&snap.data, stream)?;
        let mut register = Register::without_history();
        register.restore_issuer(state);
        Some(Stream { register, version })
    }

    /// Replay `stream` as stored (before this batch touches it) into a
    /// register of its own, and note its version.
    fn load<T: EventTx>(&mut self, tx: &T, stream: &str) -> Loaded {
        self.seen.insert(stream.to_string());
        let loaded = tx
            .stream_version(stream)
            .map_err(LedgerError::from)
            .and_then(|version| {
                if let Some(restored) = self.restore(tx, stream, version) {
                    self.asked.insert(stream.to_string());
                    return Ok(restored);
                }
                let register = if self.streaming {
                    self.replay_live(tx, stream)?
                } else {
                    let mut register = Register::new();
                    let mut decoder = Decoder::new();
                    tx.scan(&ReadFilter::stream(stream), |row| {
                        decoder.replay(&mut register, row)
                    })?;
                    register
                };
                Ok(Stream { register, version })
            });
        let loaded = loaded.map(|mut loaded| {
            if let (Some(window), true) = (self.window, stream != MARKET_STREAM) {
                let latest = loaded.register.issuer(stream).and_then(|s| s.latest_date());
                let mut fold = Fold {
                    horizon: None,
                    latest,
                    window,
                };
                if let Some(h) = fold.due() {
                    loaded.register.fold_issuer(stream, h);
                    fold.horizon = Some(h);
                }
                self.folds.insert(stream.to_string(), fold);
            }
            loaded
        });
        (
            stream.to_string(),
            loaded.inspect(|loaded| {
                let version = loaded.version;
                self.expected.push((
                    stream.to_string(),
                    if version == 0 {
                        ExpectedVersion::NoStream
                    } else {
                        ExpectedVersion::Exact(version)
                    },
                ));
            }),
        )
    }

    /// `stream` replayed into a register without history: its live events
    /// in log order (the ids its corrections void are read first, and the
    /// voided events and the corrections left out: the state the
    /// corrections replayed to), each one's content added to the filter.
    fn replay_live<T: EventTx>(&mut self, tx: &T, stream: &str) -> Result<Register, LedgerError> {
        use crate::replay::{corrections, replay_live};
        let mut decoder = Decoder::new();
        let voided: HashSet<Uuid> = if stream == MARKET_STREAM {
            HashSet::new()
        } else {
            corrections(tx, stream, &mut decoder)?
                .into_iter()
                .map(|(_, id)| id)
                .collect()
        };
        let mut register = Register::replaying_log();
        let mut bloom = self.bloom.as_mut();
        let mut note = |rec: &Recorded| {
            if let (Some(bloom), Some(_)) = (bloom.as_mut(), rec.event.issuer()) {
                bloom.insert(content_key(&rec.event));
            }
        };
        tx.scan(&ReadFilter::stream(stream), |row| {
            replay_live(&mut register, &mut decoder, &voided, row, &mut note)
        })?;
        register.mark_voided(stream, voided);
        Ok(register)
    }

    /// Prepare one line: load the stream it names first, look up the id it
    /// gives, note its content; and say what it needs to read once the
    /// batch's events before it are inserted (`None`: nothing).
    fn prepare<T: EventTx>(
        &mut self,
        tx: &T,
        line: Result<(usize, Incoming), LedgerError>,
        loads: &mut Vec<Loaded>,
    ) -> (PreparedLine, Option<Wants>) {
        let mut p = PreparedLine {
            line,
            stored: None,
            batch: None,
            equal: None,
            history: None,
            fold: None,
        };
        let Ok((n, i)) = &p.line else {
            return (p, None);
        };
        let mut wants = Wants::default();
        let s = i.event.stream();
        // The users' stream is refused by the decider, unread.
        if !self.seen.contains(s) && crate::access::is_register_stream(s) {
            if s != MARKET_STREAM && self.issuers >= MAX_ISSUERS_PER_APPEND {
                let refused = too_many_issuers(*n, i);
                p.line = Err(refused);
                return (p, None);
            }
            self.issuers += usize::from(s != MARKET_STREAM);
            loads.push(self.load(tx, s));
        }
        if let Some(id) = i.id {
            if self.in_flight_ids.contains(&id) {
                wants.id = true;
            } else {
                let (stored, batch) = self.find(tx, id);
                p.stored = Some(stored);
                p.batch = batch;
            }
        }
        if self.streaming {
            match &i.event {
                Event::EventVoided(_) => wants.history = true,
                event => {
                    wants.history = needs_history(event);
                    wants.full = !wants.history
                        && event
                            .issuer()
                            .and_then(|s| self.folds.get(s))
                            .is_some_and(|f| needs_full_state(event, f.horizon));
                    if let (Some(bloom), Some(_)) = (self.bloom.as_mut(), event.issuer()) {
                        let key = content_key(event);
                        if !i.allow_duplicate && (self.asked.contains(s) || bloom.contains(key)) {
                            wants.equal = true;
                        }
                        bloom.insert(key);
                    }
                }
            }
        }
        let any = wants.id || wants.equal || wants.history || wants.full;
        (p, any.then_some(wants))
    }

    /// The event of a given id: stored before the batch, or the batch's
    /// (position, payload) (only when streaming: a dry run inserts nothing).
    #[allow(clippy::type_complexity)]
    fn find<T: EventTx>(
        &self,
        tx: &T,
        id: Uuid,
    ) -> (
        Result<Option<StoredEvent>, LedgerError>,
        Option<(u64, String)>,
    ) {
        match tx.find_by_id(&id.to_string()) {
            Err(e) => (Err(e.into()), None),
            Ok(Some(e)) if e.position > self.start => {
                if self.streaming {
                    let batch = (e.position, e.payload);
                    (Ok(None), Some(batch))
                } else {
                    (Ok(None), None)
                }
            }
            Ok(found) => (Ok(found), None),
        }
    }

    /// The reads `wants` of a line, every earlier line's event inserted.
    fn look_up<T: EventTx>(&mut self, tx: &T, p: &mut PreparedLine, wants: Wants) {
        let Ok((_, i)) = &p.line else { return };
        if wants.id {
            if let Some(id) = i.id {
                let (stored, batch) = self.find(tx, id);
                p.stored = Some(stored);
                p.batch = batch;
            }
        }
        if wants.equal {
            let content = i.event.to_value().to_string();
            p.equal = Some(equal_events(tx, &i.event, &content));
        }
        if wants.full {
            if let Some(stream) = i.event.issuer() {
                // The whole state, as loading replays it (the filter has
                // these contents already); a window twice as long from now.
                let bloom = self.bloom.take();
                let replayed = self.replay_live(tx, stream);
                self.bloom = bloom;
                if let Some(f) = self.folds.get_mut(stream) {
                    f.window = f.window.saturating_mul(2).min(FOLD_WINDOW_MAX_DAYS);
                }
                p.history = Some((stream.to_string(), replayed));
            }
        }
        if wants.history {
            if let Some(stream) = i.event.issuer().filter(|_| needs_history(&i.event)) {
                let mut register = Register::new();
                let mut decoder = Decoder::new();
                let replayed = tx
                    .scan(&ReadFilter::stream(stream), |row| {
                        decoder.replay(&mut register, row)
                    })
                    .map(|_| register);
                p.history = Some((stream.to_string(), replayed));
            }
            // A correction without issuer (of a market closure): which
            // issuer's event it would void, for the refusal that names it.
            if let Event::EventVoided(v @ EventVoided { issuer: None, .. }) = &i.event {
                let stream = match tx.find_by_id(&v.voided_id.to_string()) {
                    Ok(Some(e)) if e.stream != MARKET_STREAM => Some(e.stream),
                    Ok(_) => None,
                    Err(e) => {
                        p.history = Some((String::new(), Err(e.into())));
                        None
                    }
                };
                if let Some(stream) = stream {
                    if crate::access::is_register_stream(&stream) {
                        let mut register = Register::new();
                        let mut decoder = Decoder::new();
                        let replayed = tx
                            .scan(&ReadFilter::stream(&stream), |row| {
                                decoder.replay(&mut register, row)
                            })
                            .map(|_| register);
                        p.history = Some((stream, replayed));
                    }
                }
            }
        }
    }

    /// Follow what `p` does to its issuer's state ([`Fold`]): a whole
    /// state put in for it is folded no more; its date moves the latest
    /// on; and once the detail kept spans twice the window, the state is
    /// folded after it ([`PreparedLine::fold`]).
    fn follow(&mut self, p: &mut PreparedLine) {
        if self.folds.is_empty() {
            return;
        }
        if let Some((stream, Ok(register))) = &p.history {
            if let Some(f) = self.folds.get_mut(stream) {
                f.horizon = None;
                f.saw(register.issuer(stream).and_then(|s| s.latest_date()));
            }
        }
        let Ok((_, i)) = &p.line else { return };
        let Some(f) = i.event.issuer().and_then(|s| self.folds.get_mut(s)) else {
            return;
        };
        f.saw(i.event.effective_date());
        if let Some(h) = f.due() {
            f.horizon = Some(h);
            p.fold = Some(h);
        }
    }

    /// `p` goes to be decided: its given id is in flight until its line
    /// is decided and the events before it inserted.
    fn hand_over(&mut self, p: &PreparedLine) {
        if let (true, Ok((number, i))) = (self.streaming, &p.line) {
            if let Some(id) = i.id {
                if self.in_flight_ids.insert(id) {
                    self.in_flight.push_back((*number, id));
                }
            }
        }
    }

    /// Lines up to `line` are decided and their events inserted.
    fn decided_through(&mut self, line: usize) {
        while let Some((n, id)) = self.in_flight.front() {
            if *n > line {
                break;
            }
            self.in_flight_ids.remove(id);
            self.in_flight.pop_front();
        }
    }

    /// Every line handed over is decided and its event inserted.
    fn caught_up(&mut self) {
        self.in_flight.clear();
        self.in_flight_ids.clear();
    }

    fn take_expected(&mut self) -> Vec<(String, ExpectedVersion)> {
        std::mem::take(&mut self.expected)
    }
}

/// The events of `event`'s issuer and effective day whose content is
/// `content`, corrections left out: (position, id) in log order.
fn equal_events<T: EventTx>(
    tx: &T,
    event: &Event,
    content: &str,
) -> Result<Vec<(u64, Uuid)>, LedgerError> {
    let mut out = Vec::new();
    let mut decoder = Decoder::new();
    let date = event.effective_date().map(|d| d.to_string());
    tx.scan_on_date(event.stream(), date.as_deref(), |row| {
        let rec = decoder.decode(row)?;
        if !matches!(rec.event, Event::EventVoided(_)) {
            let stored = rec.event.to_value().to_string();
            if stored.as_str() == content {
                out.push((row.position, rec.id));
            }
        }
        Ok::<(), LedgerError>(())
    })?;
    Ok(out)
}

/// The pure half of [`append`]: decides lines in order against the register
/// as stored (each stream loaded the first time a line names it).
struct Decider<'a> {
    register: Register,
    /// Against the store (no histories, no digests: see the module docs);
    /// else in memory (a dry run).
    streaming: bool,
    /// The head before the batch: a row above it is this batch's.
    start: u64,
    /// The line of each event appended, as runs: (ordinal of the first
    /// event of the run, its line); the next events of a run are on the
    /// next lines. One run for an input without blank or skipped lines.
    runs: Vec<(u64, usize)>,
    /// Streams that could not be loaded: the error belongs to the first
    /// line that needs the stream.
    failed: HashMap<String, LedgerError>,
    /// Streams whose load was checked by a line.
    checked: HashSet<String>,
    /// In memory: given ids seen in this batch: (line, digest of the
    /// payload).
    batch_ids: HashMap<Uuid, (usize, EntryKey)>,
    /// The last `recorded_at` formatted (lines without one share `now`).
    formatted: Option<(DateTime<FixedOffset>, String)>,
    last: Option<String>,
    now: DateTime<FixedOffset>,
    /// The caller's clock as given (before `now` was raised to the latest
    /// stored time): no `recorded_at` may lie more than
    /// [`MAX_CLOCK_AHEAD`] after it.
    clock: DateTime<FixedOffset>,
    actor: &'a str,
    /// The double-entry rule is off for the whole input.
    allow_duplicate: bool,
    /// In memory: per issuer, the live events by the digest of their
    /// content (every field but the envelope): built from the register the
    /// first time an issuer's line comes, then kept current line by line.
    entries: HashMap<String, HashMap<EntryKey, Vec<(Origin, Uuid)>>>,
    keep_events: bool,
    findings: bool,
    /// In memory, with `findings`: each loaded issuer's findings before the
    /// batch.
    before: HashMap<String, Vec<Finding>>,
    /// Streaming, with `findings`: the market calendar as stored.
    market: Option<Register>,
    /// Streaming a small input with `findings`: each issuer's whole state
    /// as loaded (before the batch), for the findings of an append at the
    /// end of its history ([`Tail`]).
    tails: Option<HashMap<String, IssuerState>>,
    /// An event of the market stream was appended (the calendar changed).
    market_changed: bool,
    /// Issuers an accepted event belongs to: how many of the batch's events
    /// are theirs, and the ordinal (in the batch's appended events) of the
    /// last.
    touched: BTreeMap<String, (u64, u64)>,
    /// The stored version of each stream loaded.
    versions: HashMap<String, u64>,
    summary: AppendSummary,
}

/// The digest of an event's content: 128 bits of two SipHash keys over its
/// canonical JSON without the envelope.
type EntryKey = (u64, u64);

/// Where an equal event is.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// Stored at this log position.
    Stored(u64),
    /// On this line of the input.
    Line(usize),
}

/// The filter's digest of an event's content: its fields serialised
/// straight into two SipHash keys (no JSON tree, no string). Not the
/// canonical JSON (fields in declaration order, not sorted), but a function
/// of the event, so equal contents give equal digests, which is all the
/// filter needs: a "maybe" is confirmed on the canonical JSON.
fn content_key(event: &Event) -> EntryKey {
    use std::hash::{Hash, Hasher};
    struct Digest(
        std::collections::hash_map::DefaultHasher,
        std::collections::hash_map::DefaultHasher,
    );
    impl std::io::Write for Digest {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            Hasher::write(&mut self.0, bytes);
            Hasher::write(&mut self.1, bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut digest = Digest(Default::default(), Default::default());
    0u8.hash(&mut digest.0);
    1u8.hash(&mut digest.1);
    // Serialising an event into memory does not fail (`Event::to_value`
    // holds the same); were it to, the digest would still be one of what
    // was written, a function of the event.
    let _ = serde_json::to_writer(&mut digest, event);
    (digest.0.finish(), digest.1.finish())
}

fn entry_key(content: &str) -> EntryKey {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        content.hash(&mut h);
        h.finish()
    };
    (half(0), half(1))
}

/// How far a given `recorded_at` may lie after the recording machine's
/// clock (interchange.md section 1, envelope rules): five minutes, for
/// clocks a little apart. Anything later would hold every later event at
/// that time (the log never goes backwards).
pub const MAX_CLOCK_AHEAD: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The refusal of a double entry, the first equal event being `where_`.
fn double_entry_refusal(line: usize, rec: &Recorded, where_: String) -> LedgerError {
    Rejection {
        line: Some(line),
        event_type: Some(rec.event.type_name().to_string()),
        field: None,
        kind: "double_entry".into(),
        message: format!(
            "the same event (every field equal, apart from id, time, actor and note) is already recorded {where_}: a double entry would be counted twice"
        ),
        hint: Some(
            "if both are real (two identical purchases on one day), mark this line \"allow_duplicate\": true or allow duplicates for the whole input; if the input was already imported, there is nothing to do".into(),
        ),
    }
    .into()
}

impl Decider<'_> {
    /// The input line of the batch's event at log position `position`.
    fn line_of(&self, position: u64) -> usize {
        let k = position.saturating_sub(self.start + 1);
        let i = self.runs.partition_point(|(ordinal, _)| *ordinal <= k);
        match i.checked_sub(1).and_then(|i| self.runs.get(i)) {
            Some((ordinal, line)) => line + (k - ordinal) as usize,
            None => 0,
        }
    }

    /// Note that the batch's next event comes from `line`.
    fn note_line(&mut self, line: usize) {
        let k = self.summary.appended as u64;
        let continues = self
            .runs
            .last()
            .is_some_and(|(ordinal, first)| first + (k - ordinal) as usize == line);
        if !continues {
            self.runs.push((k, line));
        }
    }

    /// The double-entry rule against the store: refuse `rec` when one of
    /// the `equal` events (same content, same issuer and day, read from the
    /// store with every earlier line's event inserted) is live, unless
    /// allowed.
    fn double_entry_stored(
        &self,
        line: usize,
        rec: &Recorded,
        allowed: bool,
        equal: Option<Result<Vec<(u64, Uuid)>, LedgerError>>,
    ) -> Result<(), LedgerError> {
        let Some(issuer) = rec.event.issuer() else {
            return Ok(());
        };
        if allowed || matches!(rec.event, Event::EventVoided(_)) {
            return Ok(());
        }
        let Some(equal) = equal else {
            return Ok(());
        };
        let equal = equal?;
        let voided = self.register.issuer(issuer).map(|s| s.voided());
        let first = equal
            .iter()
            .find(|(_, id)| !voided.is_some_and(|v| v.contains(id)));
        if let Some((p, _)) = first {
            let where_ = if *p <= self.start {
                format!("at log position {p}")
            } else {
                format!("on line {} of this input", self.line_of(*p))
            };
            return Err(double_entry_refusal(line, rec, where_));
        }
        Ok(())
    }

    /// The double-entry rule in memory: refuse `rec` (content `content`)
    /// when a live event of its issuer has the same content, unless
    /// allowed; then remember it (and forget an event it voids).
    fn double_entry(
        &mut self,
        line: usize,
        rec: &Recorded,
        content: &str,
        allowed: bool,
    ) -> Result<(), LedgerError> {
        let Some(issuer) = rec.event.issuer() else {
            return Ok(());
        };
        let register = &self.register;
        let entries = self.entries.entry(issuer.to_string()).or_insert_with(|| {
            let mut entries: HashMap<EntryKey, Vec<(Origin, Uuid)>> = HashMap::new();
            if let Some(state) = register.issuer(issuer) {
                for r in state.live_events() {
                    entries
                        .entry(entry_key(&r.event.to_value().to_string()))
                        .or_default()
                        .push((Origin::Stored(r.position.unwrap_or(0)), r.id));
                }
            }
            entries
        });
        if let Event::EventVoided(v) = &rec.event {
            entries.retain(|_, same| {
                same.retain(|(_, id)| *id != v.voided_id);
                !same.is_empty()
            });
            return Ok(());
        }
        let key = entry_key(content);
        if let Some((origin, _)) = entries.get(&key).and_then(|same| same.first()) {
            if !allowed {
                let where_ = match origin {
                    Origin::Stored(p) => format!("at log position {p}"),
                    Origin::Line(l) => format!("on line {l} of this input"),
                };
                return Err(double_entry_refusal(line, rec, where_));
            }
        }
        entries
            .entry(key)
            .or_default()
            .push((Origin::Line(line), rec.id));
        Ok(())
    }

    /// Take over the streams just loaded (in memory, judging their issuers
    /// first when findings are asked for).
    fn take(&mut self, loads: Vec<Loaded>) {
        for (stream, loaded) in loads {
            match loaded {
                Ok(loaded) => {
                    self.versions.insert(stream.clone(), loaded.version);
                    self.register.absorb(loaded.register);
                    if let (Some(tails), Some(state)) =
                        (self.tails.as_mut(), self.register.issuer(&stream))
                    {
                        if state.horizon().is_none() && !tails.contains_key(&stream) {
                            tails.insert(stream.clone(), state.clone());
                        }
                    }
                    if self.findings && !self.streaming {
                        if let Some(state) = self.register.issuer(&stream) {
                            let calendar = crate::returns::calendar(&self.register);
                            self.before
                                .insert(stream, checks::run(state, &calendar, self.clock));
                        }
                    }
                }
                Err(e) => {
                    self.failed.insert(stream, e);
                }
            }
        }
    }

    /// Write the snapshot of each issuer the batch touched, as the batch
    /// leaves it (`first`: the log position of the batch's first event), one
    /// at a time.
    fn put_snapshots<T: EventTx>(&self, tx: &mut T, first: Option<u64>) -> Result<(), LedgerError> {
        let Some(first) = first else {
            return Ok(());
        };
        for (issuer, (count, last)) in &self.touched {
            let (Some(state), Some(version)) =
                (self.register.issuer(issuer), self.versions.get(issuer))
            else {
                continue;
            };
            // A folded state is not the issuer's whole state: no snapshot
            // (the one kept, behind the log now, is ignored; the next small
            // append replays the issuer and writes one).
            if state.horizon().is_some() {
                continue;
            }
            // A state that cannot be encoded is simply not cached.
            if let Ok(data) = crate::snapshot::encode(state, &[]) {
                tx.put_snapshot(&shareledger_store::Snapshot {
                    stream: issuer.clone(),
                    version: version + count,
                    position: first + last,
                    format: crate::snapshot::FORMAT,
                    data,
                })?;
            }
        }
        Ok(())
    }

    /// For the findings of a tail append: each issuer the batch touched with
    /// its whole state before the batch and after it (none when the batch
    /// changed the market calendar, or was not small).
    fn tail_states(&mut self) -> HashMap<String, (IssuerState, IssuerState)> {
        let Some(mut before) = self.tails.take() else {
            return HashMap::new();
        };
        if self.market_changed {
            return HashMap::new();
        }
        self.touched
            .keys()
            .filter_map(|issuer| {
                let before = before.remove(issuer)?;
                let after = self.register.issuer(issuer)?;
                after
                    .horizon()
                    .is_none()
                    .then(|| (issuer.clone(), (before, after.clone())))
            })
            .collect()
    }

    /// In memory: the findings the batch introduced, from the registers
    /// (each issuer judged as loaded and as the batch leaves it).
    fn findings_in_memory(&mut self, sink: &mut dyn FindingSink) {
        let calendar = crate::returns::calendar(&self.register);
        for issuer in self.touched.keys() {
            let Some(state) = self.register.issuer(issuer) else {
                continue;
            };
            let old = self.before.remove(issuer).unwrap_or_default();
            for f in checks::run(state, &calendar, self.clock) {
                if !old.iter().any(|o| o.is_same(&f)) {
                    sink.finding(f);
                }
            }
        }
    }
    /// Decide one line: the event to append, `None` for a line already
    /// stored (a duplicate by id), or why not; then fold its issuer if the
    /// reading side says so ([`Fold`]).
    fn decide(&mut self, mut p: PreparedLine) -> Result<Option<NewEvent>, LedgerError> {
        let fold = p.fold.take().zip(
            p.line
                .as_ref()
                .ok()
                .and_then(|(_, i)| i.event.issuer())
                .map(str::to_string),
        );
        // A correction: its issuer's history, read back from the store, is
        // put in for it and dropped after; a line its folded issuer cannot
        // decide: the issuer's whole state. Put in first, whatever becomes
        // of the line (the reading side counts on it: [`Loader::follow`]).
        let mut restored = None;
        if let Some((stream, Ok(_))) = &p.history {
            let stream = stream.clone();
            if let Some((_, Ok(mut replayed))) = p.history.take() {
                if self.register.issuer(&stream).is_some() {
                    if let Some(state) = replayed.take_issuer(&stream) {
                        self.register.restore_issuer(state);
                        restored = Some(stream);
                    }
                }
            }
        }
        let decided = self.decide_line(p);
        if let Some(stream) = restored {
            self.register.forget_history(&stream);
        }
        let decided = decided?;
        if let Some((horizon, issuer)) = fold {
            self.register.fold_issuer(&issuer, horizon);
        }
        Ok(decided)
    }

    fn decide_line(&mut self, p: PreparedLine) -> Result<Option<NewEvent>, LedgerError> {
        let PreparedLine {
            line,
            stored,
            batch,
            equal,
            history,
            fold: _,
        } = p;
        let (line, incoming) = line?;
        // The users' stream is not an issuer's: no register event may land in it.
        if !crate::access::is_register_stream(incoming.event.stream()) {
            return Err(Rejection::field(
                Some(line),
                "issuer",
                "input",
                format!(
                    "`{}` is reserved for the ledger's user records",
                    crate::access::ACCESS_STREAM
                ),
                "use the issuer's stock code, like 02121",
            )
            .into());
        }
        // Drawn ids are UUIDv7 (time-ordered, 74 random bits): each lands
        // at the end of the id index instead of on a random page of it
        // (v4), which at millions of events made every batch rewrite a
        // page of the index per event.
        // Bounds first: no quantity beyond them reaches any arithmetic.
        check_bounds(&incoming.event).map_err(|e| Rejection {
            event_type: Some(incoming.event.type_name().to_string()),
            ..Rejection::decode(line, e)
        })?;
        if let Some(at) = incoming.recorded_at {
            if at > self.clock + MAX_CLOCK_AHEAD {
                return Err(Rejection::field(
                    Some(line),
                    "recorded_at",
                    "recorded_at",
                    format!(
                        "{} is more than 5 minutes after this machine's clock ({}): a time in the future would hold every later event at that time",
                        at.to_rfc3339(),
                        self.clock.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                    "give the time the ledger learned of the event (or none: default now); if the time is right, set this machine's clock",
                )
                .into());
            }
        }
        let allowed = self.allow_duplicate || incoming.allow_duplicate;
        let rec = incoming.into_recorded(Uuid::now_v7, self.now, self.actor);
        // The content (no envelope) for the double-entry rule, and the
        // payload stored (the content with the note): what
        // `Recorded::payload` gives, serialised once.
        let mut value = rec.event.to_value();
        let content = value.to_string();
        let payload = match (&rec.note, &mut value) {
            (Some(note), serde_json::Value::Object(map)) => {
                map.insert("note".into(), serde_json::Value::String(note.clone()));
                value.to_string()
            }
            _ => content.clone(),
        };
        debug_assert_eq!(payload, rec.payload());
        let stream = rec.event.stream().to_string();
        // Only a given id can be a retry; an id drawn now is new.
        if let Some(stored) = stored {
            // Idempotency by id: the same content again is a no-op.
            if let Some(stored) = stored? {
                if stored.stream == stream
                    && stored.event_type == rec.event.type_name()
                    && stored.payload == payload
                {
                    self.summary.duplicates += 1;
                    return Ok(None);
                }
                return Err(Rejection::field(
                    Some(line),
                    "id",
                    "duplicate_id",
                    format!(
                        "event id {} is already stored at log position {} with other content",
                        rec.id, stored.position
                    ),
                    "ids are never reused: give this event a new id (or none)",
                )
                .into());
            }
            let digest = entry_key(&payload);
            let earlier = if self.streaming {
                batch.map(|(position, stored)| (self.line_of(position), entry_key(&stored)))
            } else {
                self.batch_ids.get(&rec.id).copied()
            };
            if let Some((first, p)) = earlier {
                if p == digest {
                    self.summary.duplicates += 1;
                    return Ok(None);
                }
                return Err(Rejection {
                    line: Some(line),
                    event_type: None,
                    field: Some("id".into()),
                    kind: "duplicate_id".into(),
                    message: format!(
                        "event id {} is already used on line {first} with other content: give each event its own id",
                        rec.id
                    ),
                    hint: None,
                }
                .into());
            }
            if !self.streaming {
                self.batch_ids.insert(rec.id, (line, digest));
            }
        }
        // The streams this event is judged against, loaded beforehand.
        for s in [MARKET_STREAM, stream.as_str()] {
            if !self.checked.contains(s) {
                self.checked.insert(s.to_string());
                if let Some(e) = self.failed.remove(s) {
                    return Err(e);
                }
            }
        }
        let recorded_at = match &self.formatted {
            Some((t, text)) if *t == rec.recorded_at => text.clone(),
            _ => {
                let text = store_time(&rec.recorded_at);
                self.formatted = Some((rec.recorded_at, text.clone()));
                text
            }
        };
        if let Some(l) = &self.last {
            if recorded_at < *l {
                return Err(Rejection::field(
                    Some(line),
                    "recorded_at",
                    "recorded_at",
                    format!(
                        "{} is earlier than the latest event already in the log ({l}): the log is in the order the ledger learned things",
                        rec.recorded_at
                    ),
                    "give a later time or none (default: now)",
                )
                .into());
            }
        }
        self.last = Some(recorded_at.clone());
        shareledger_core::rules::check_envelope(
            &rec.event,
            rec.recorded_at,
            self.register.market_closures(),
        )
        .map_err(|r| Rejection::refused(Some(line), rec.event.type_name(), r))?;
        if self.streaming {
            self.double_entry_stored(line, &rec, allowed, equal)?;
        } else {
            self.double_entry(line, &rec, &content, allowed)?;
        }
        let event = NewEvent {
            id: rec.id.to_string(),
            stream,
            event_type: rec.event.type_name().to_string(),
            schema_version: SCHEMA_VERSION,
            payload,
            effective_date: rec.event.effective_date().map(|d| d.to_string()),
            recorded_at,
            actor: rec.actor.clone(),
        };
        if rec.event.issuer().is_none() {
            self.market_changed = true;
        }
        if let Some(issuer) = rec.event.issuer() {
            let ordinal = self.summary.appended as u64;
            match self.touched.get_mut(issuer) {
                Some((count, last)) => {
                    *count += 1;
                    *last = ordinal;
                }
                None => {
                    self.touched.insert(issuer.to_string(), (1, ordinal));
                }
            }
        }
        let kept = self.keep_events.then(|| rec.clone());
        // A correction's history (or a folded issuer's whole state) was put
        // in by `decide`; what is left here is why it could not be read.
        if let Some((_, replayed)) = history {
            replayed?;
        }
        let executed = self.register.execute(rec);
        executed.map_err(|r| Rejection::refused(Some(line), &event.event_type, r))?;
        if self.streaming {
            self.note_line(line);
        }
        self.summary.appended += 1;
        self.summary.events.extend(kept);
        Ok(Some(event))
    }
}

/// Streaming: the findings the batch introduced, issuer by issuer from the
/// store (a few issuers' histories in memory at a time): each issuer the
/// batch touched is replayed as stored before the batch (rows up to its
/// start), judged with the market calendar as stored, replayed on through
/// the batch's rows and judged with the calendar the batch leaves; a
/// finding of the second judgement that is not one of the first (nor only
/// added to: [`Finding::is_same`]) is new. This thread reads and decodes
/// the rows (the transaction's connection stays here); another replays and
/// judges.
///
/// An issuer in `tails` (its whole state before and after a small batch
/// that left the calendar as it was) whose batch events are all
/// [`checks::judged_in_window`] and dated on or after every live event
/// stored for it is judged without its history: its states before and
/// after, over the events dated from the batch's first day on
/// ([`checks::run_on`]; docs/performance.md, "The findings of a tail
/// append"). Any other issuer is replayed; with `recache`, an issuer whose
/// state the append folded (and so wrote no snapshot of) and whose history
/// is long ([`RECACHE_MIN_EVENTS`]) gets the snapshot of its state as
/// replayed here, in the same transaction (the next small append to it
/// starts from it instead of replaying it again).
fn findings_from_store<T: EventTx>(
    tx: &mut T,
    d: &Decider<'_>,
    (stored_calendar, calendar): (&BusinessCalendar, &BusinessCalendar),
    mut tails: HashMap<String, (IssuerState, IssuerState)>,
    recache: Option<Recache>,
    windowing: crate::windowed::Windowing,
    sink: &mut dyn FindingSink,
) -> Result<(), LedgerError> {
    let clock = d.clock;
    // Per folded issuer: the version and log position its snapshot is of.
    let snapshot_of: HashMap<String, (u64, u64)> = recache
        .map(|r| {
            r.folded
                .into_iter()
                .filter_map(|issuer| {
                    let (count, last) = d.touched.get(&issuer)?;
                    let version = d.versions.get(&issuer)?;
                    // A short history replays in a few milliseconds: not
                    // worth its snapshot's bytes in a large import.
                    (version + count >= RECACHE_MIN_EVENTS)
                        .then(|| (issuer, (version + count, r.first + last)))
                })
                .collect()
        })
        .unwrap_or_default();
    let (cache, cached) = std::sync::mpsc::channel::<shareledger_store::Snapshot>();
    let judge = |work: Work| -> Result<Vec<Finding>, LedgerError> {
        let (issuer, before, batch) = match work {
            Work::Tail(t) => return Ok(t.judge(calendar, clock)),
            Work::Found(found) => return Ok(found),
            Work::Replay(issuer, before, batch) => (issuer, before, batch),
        };
        let mut register = Register::new();
        let mut old = Vec::new();
        for (part, rows) in [before, batch].into_iter().enumerate() {
            for rec in rows {
                let (position, event_type) = (rec.position.unwrap_or(0), rec.event.type_name());
                register.execute(rec).map_err(|r| {
                    LedgerError::Inconsistent(format!(
                        "log position {position} ({event_type}) no longer replays: {r}: run `shareledger audit` for details"
                    ))
                })?;
            }
            if part == 0 {
                if let Some(state) = register.issuer(&issuer) {
                    old = checks::run(state, stored_calendar, clock);
                }
            }
        }
        let Some(state) = register.issuer(&issuer) else {
            return Ok(Vec::new());
        };
        if let Some((version, position)) = snapshot_of.get(&issuer) {
            // A state that cannot be encoded is simply not cached.
            if let Ok(data) = crate::snapshot::encode(state, &[]) {
                // The reading side puts it (it holds the transaction); gone
                // only if that side has stopped on an error.
                let _ = cache.send(shareledger_store::Snapshot {
                    stream: issuer.clone(),
                    version: *version,
                    position: *position,
                    format: crate::snapshot::FORMAT,
                    data,
                });
            }
        }
        Ok(checks::introduced(
            &old,
            checks::run(state, calendar, clock),
        ))
    };
    // `Err`: a long history that is not a tail, judged window by window
    // (on this thread, which holds the transaction), with its states when
    // the decider kept them whole.
    type Windowed = Option<(IssuerState, IssuerState)>;
    let read = |tx: &T,
                issuer: &str,
                tail: Option<(IssuerState, IssuerState)>,
                long: bool|
     -> Result<Result<Work, Windowed>, LedgerError> {
        if long && tail.is_none() {
            return Ok(Err(None));
        }
        let mut decoder = Decoder::new();
        let mut batch = Vec::new();
        tx.scan(
            &ReadFilter {
                stream: Some(issuer.to_string()),
                from_position: d.start,
                // The stream's index from the batch's first version on
                // (not a walk of the issuer's history).
                from_version: d.versions.get(issuer).copied().unwrap_or(0),
                ..ReadFilter::default()
            },
            |row| {
                batch.push(decoder.decode(row)?);
                Ok::<(), LedgerError>(())
            },
        )?;
        if let Some((before, after)) = tail {
            match Tail::read(tx, d.start, &mut decoder, before, after, &batch)? {
                Ok(tail) => return Ok(Ok(Work::Tail(Box::new(Tail { batch, ..tail })))),
                Err(states) if long => return Ok(Err(Some(states))),
                Err(_) => {}
            }
        }
        if long {
            return Ok(Err(None));
        }
        let mut stored = Vec::new();
        tx.scan(
            &ReadFilter {
                stream: Some(issuer.to_string()),
                to_position: Some(d.start),
                ..ReadFilter::default()
            },
            |row| {
                stored.push(decoder.decode(row)?);
                Ok::<(), LedgerError>(())
            },
        )?;
        Ok(Ok(Work::Replay(issuer.to_string(), stored, batch)))
    };
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel::<Work>(1);
        let judging = scope.spawn(move || {
            for work in receive {
                for f in judge(work)? {
                    sink.finding(f);
                }
            }
            Ok::<_, LedgerError>(())
        });
        let mut read_error = None;
        for issuer in d.touched.keys() {
            let version = d.versions.get(issuer).copied().unwrap_or(0);
            let events = version + d.touched.get(issuer).map_or(0, |(n, _)| *n);
            let long = events >= windowing.min_events;
            let work = match read(&*tx, issuer, tails.remove(issuer), long) {
                Ok(Ok(work)) => Ok(Some(work)),
                Err(e) => Err(e),
                Ok(Err(states)) => {
                    // A long history: window by window, the findings
                    // handed on as they come.
                    let judging = crate::windowed::Judging {
                        start: d.start,
                        version,
                        stored_calendar,
                        calendar,
                        clock,
                        window_events: windowing.window_events.max(1),
                    };
                    let mut stopped = false;
                    let states = states.filter(|_| windowing.kept_states);
                    let done =
                        crate::windowed::introduced(&*tx, issuer, &judging, states, &mut |found| {
                            stopped |= send.send(Work::Found(found)).is_err();
                            Ok(())
                        })
                        .and_then(|after| {
                            match (after, snapshot_of.get(issuer)) {
                                (Some(state), Some(&(version, position))) => {
                                    put_snapshot(&mut *tx, issuer, &state, version, position)
                                }
                                _ => Ok(()),
                            }
                        });
                    if stopped {
                        break; // the judging thread failed
                    }
                    done.map(|()| None)
                }
            };
            let work = work.and_then(|work| {
                while let Ok(snapshot) = cached.try_recv() {
                    tx.put_snapshot(&snapshot)?;
                }
                Ok(work)
            });
            match work {
                Ok(Some(h)) => {
                    if send.send(h).is_err() {
                        break; // the judging thread failed
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        drop(send);
        let judged = match judging.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        // In issuer order, the first error wins: a read error comes after
        // every issuer judged before it.
        judged?;
        if let Some(e) = read_error {
            return Err(e);
        }
        for snapshot in cached.try_iter() {
            tx.put_snapshot(&snapshot)?;
        }
        Ok(())
    })
}

/// Write the snapshot of `state` (the issuer's whole state after the
/// batch) at `version` and log `position`; a state that cannot be encoded
/// is simply not cached.
fn put_snapshot<T: EventTx>(
    tx: &mut T,
    issuer: &str,
    state: &IssuerState,
    version: u64,
    position: u64,
) -> Result<(), LedgerError> {
    if let Ok(data) = crate::snapshot::encode(state, &[]) {
        tx.put_snapshot(&shareledger_store::Snapshot {
            stream: issuer.to_string(),
            version,
            position,
            format: crate::snapshot::FORMAT,
            data,
        })?;
    }
    Ok(())
}

/// The findings of a large append write the snapshot of a folded issuer
/// with at least this many events (a shorter history replays in a few
/// milliseconds; a snapshot is a few hundred bytes per day of history).
const RECACHE_MIN_EVENTS: u64 = PIPELINE_MIN_LINES as u64;

/// Snapshots the findings write: of the issuers whose state the append
/// folded (`first`: the log position of the batch's first event).
struct Recache {
    first: u64,
    folded: HashSet<String>,
}

/// What the findings of one issuer need: its stored rows and the batch's,
/// to replay ([`findings_from_store`]), or its tail.
enum Work {
    Replay(String, Vec<Recorded>, Vec<Recorded>),
    Tail(Box<Tail>),
    /// Findings already judged (a long history, window by window).
    Found(Vec<Finding>),
}

/// An issuer's batch appended at the end of its history: its whole states
/// before and after the batch, the live events stored dated on the batch's
/// first day, and the batch's events. None of the events stored dated
/// after that day is [`checks::judged_as_event`] (that is what makes it a
/// tail: a monthly return filed for the month's end, a results timetable
/// or a mandate dated ahead may be; the checks read them from the state).
struct Tail {
    before: IssuerState,
    after: IssuerState,
    from: NaiveDate,
    stored: Vec<Recorded>,
    batch: Vec<Recorded>,
}

impl Tail {
    /// The tail of an issuer whose batch (`batch`, the rows after `start`)
    /// is all [`checks::judged_in_window`] events, read from the store
    /// through the day index; the states back when it is not one (an event
    /// of another kind, or one judged as an event stored dated after the
    /// batch's first day).
    fn read<T: EventTx>(
        tx: &T,
        start: u64,
        decoder: &mut Decoder,
        before: IssuerState,
        after: IssuerState,
        batch: &[Recorded],
    ) -> Result<Result<Tail, (IssuerState, IssuerState)>, LedgerError> {
        let mut from: Option<NaiveDate> = None;
        for rec in batch {
            let date = rec.event.effective_date();
            match date {
                Some(date) if checks::judged_in_window(&rec.event) => {
                    from = Some(from.map_or(date, |f| f.min(date)));
                }
                _ => return Ok(Err((before, after))),
            }
        }
        let Some(from) = from else {
            return Ok(Err((before, after)));
        };
        let issuer = before.id().to_string();
        let mut stored = Vec::new();
        let mut later = false;
        tx.scan_from_date(&issuer, &from.to_string(), None, |row| {
            if row.position > start || later {
                return Ok(());
            }
            let rec = decoder.decode(row)?;
            if before.voided().contains(&rec.id) || matches!(rec.event, Event::EventVoided(_)) {
                return Ok(());
            }
            if rec.event.effective_date() != Some(from) {
                later |= checks::judged_as_event(&rec.event);
                return Ok(());
            }
            stored.push(rec);
            Ok::<(), LedgerError>(())
        })?;
        if later {
            return Ok(Err((before, after)));
        }
        Ok(Ok(Tail {
            before,
            after,
            from,
            stored,
            batch: Vec::new(),
        }))
    }

    /// The findings after the batch that are not findings before it (nor
    /// only added to: [`Finding::is_same`]), both over the window from the
    /// batch's first day.
    fn judge(&self, calendar: &BusinessCalendar, clock: DateTime<FixedOffset>) -> Vec<Finding> {
        let stored: Vec<&Recorded> = self.stored.iter().collect();
        let all: Vec<&Recorded> = self.stored.iter().chain(&self.batch).collect();
        let old = checks::run_on(&self.before, &stored, Some(self.from), calendar, clock);
        checks::run_on(&self.after, &all, Some(self.from), calendar, clock)
            .into_iter()
            .filter(|f| !old.iter().any(|o| o.is_same(f)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{fast, Decoder};
    use crate::replay::{for_each_stream, load_issuer, replay_all, replay_rows};
    use shareledger_core::event::parse_line;
    use shareledger_store::{EventRef, Store};

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("time")
    }

    fn seed_lines() -> Lines {
        crate::import::jsonl::read_lines(crate::SEED_LEDGER.as_bytes()).expect("seed parses")
    }

    /// One issuer and `n` option grants, every line with a given id.
    fn grants(n: usize) -> Lines {
        let mut lines = vec![
            r#"{"type": "issuer_registered", "issuer": "00001", "name": "Test Ltd"}"#.to_string(),
            r#"{"type": "share_class_defined", "issuer": "00001", "class": "H", "class_of_shares": "Ordinary shares"}"#.to_string(),
            r#"{"type": "share_option_scheme_adopted", "issuer": "00001", "class": "H", "scheme": "S", "adoption_date": "2024-01-02"}"#.to_string(),
        ];
        for i in 0..n {
            lines.push(format!(
                r#"{{"type": "share_options_granted", "issuer": "00001", "scheme": "S", "date": "2024-02-01", "options": {}, "note": "grant {i}"}}"#,
                i + 1
            ));
        }
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut inc = parse_line(l).expect("parses");
                inc.id = Some(Uuid::from_u128(0x1000 + i as u128));
                (i + 1, inc)
            })
            .collect()
    }

    fn rows(store: &Store) -> Vec<StoredEvent> {
        store
            .events(&ReadFilter::default())
            .collect::<Result<_, _>>()
            .expect("reads")
    }

    #[test]
    fn fast_decoder_matches_the_canonical_one() {
        let now = at("2024-06-30T10:00:00+08:00");
        let mut lines = seed_lines();
        lines.extend(grants(3));
        for (_, inc) in lines {
            let rec = inc.into_recorded(Uuid::now_v7, now, "t");
            let payload = rec.payload();
            let canonical =
                Recorded::from_payload(rec.id, rec.recorded_at, rec.actor.clone(), &payload, None)
                    .expect("decodes");
            let (event, note) =
                fast::decode(rec.event.type_name(), &payload).expect("fast path decides");
            assert_eq!(event, canonical.event, "{payload}");
            assert_eq!(note, canonical.note, "{payload}");
        }
    }

    #[test]
    fn fast_decoder_leaves_the_doubtful_to_the_canonical_one() {
        let p = r#"{"date":"2024-02-01","issuer":"1","options":5,"scheme":"S","type":"share_options_granted"}"#;
        assert!(fast::decode("share_options_granted", p).is_some());
        // Another type than stored, an unknown field, a non-string note, a
        // duplicate member, escaped keys, trailing text: not the fast path.
        assert!(fast::decode("share_options_lapsed", p).is_none());
        for bad in [
            r#"{"date":"2024-02-01","issuer":"1","options":5,"scheme":"S","type":"share_options_granted","x":1}"#,
            r#"{"date":"2024-02-01","issuer":"1","note":3,"options":5,"scheme":"S","type":"share_options_granted"}"#,
            r#"{"date":"2024-02-01","issuer":"1","options":5,"scheme":"S","type":"share_options_granted","type":"share_options_granted"}"#,
            r#"{"d\u0061te":"2024-02-01","issuer":"1","options":5,"scheme":"S","type":"share_options_granted"}"#,
            r#"{"date":"2024-02-01","issuer":"1","options":5,"scheme":"S","type":"share_options_granted"} x"#,
            r#"{"date":"2024-02-01","issuer":"1","options":5,"scheme":"S"}"#,
        ] {
            assert!(
                fast::decode("share_options_granted", bad).is_none(),
                "{bad}"
            );
        }
        // Through the decoder: the canonical error, named by position.
        let row = EventRef {
            position: 7,
            stream: "1",
            version: 1,
            id: "00000000-0000-0000-0000-000000000001",
            event_type: "share_options_granted",
            payload: r#"{"date":"2024-02-01","issuer":"1","options":5,"scheme":"S","type":"share_options_granted","x":1}"#,
            recorded_at: "2024-02-01T00:00:00.000000Z",
            actor: "a",
        };
        let e = Decoder::new().decode(row).expect_err("refused");
        assert!(
            e.to_string()
                .starts_with("log position 7: stored event cannot be read"),
            "{}",
            e.to_string()
        );
        assert!(e.to_string().contains('x'), "{}", e.to_string());
        // A payload whose type is not the stored event_type decodes as its own type.
        let row = EventRef {
            event_type: "share_options_lapsed",
            payload: r#"{"date":"2024-02-01","issuer":"1","options":5,"scheme":"S","type":"share_options_granted"}"#,
            ..row
        };
        let rec = Decoder::new().decode(row).expect("decodes");
        assert_eq!(rec.event.type_name(), "share_options_granted");
    }

    #[test]
    fn pipelined_and_plain_appends_store_the_same_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = at("2024-06-30T10:00:00+08:00");
        let mut stores = Vec::new();
        for (name, pipeline) in [("plain", false), ("pipelined", true)] {
            let mut store = Store::open(&dir.path().join(format!("{name}.db"))).expect("open");
            // Two batches: the second is judged against the first as stored,
            // and repeats some events of the first (duplicates).
            let mut lines = seed_lines();
            lines.extend(grants(2 * CHUNK + 17));
            let first = append(
                &mut store,
                lines,
                now,
                "t",
                AppendOptions {
                    pipeline: Some(pipeline),
                    keep_events: true,
                    ..AppendOptions::default()
                },
            )
            .expect("first");
            let mut again = grants(2 * CHUNK + 40);
            again.drain(..3);
            let second = append(
                &mut store,
                again,
                now,
                "t",
                AppendOptions {
                    pipeline: Some(pipeline),
                    keep_events: true,
                    ..AppendOptions::default()
                },
            )
            .expect("second");
            assert_eq!(second.duplicates, 2 * CHUNK + 17);
            assert_eq!(second.appended, 23);
            stores.push((store, first, second));
        }
        let (a, b) = (&stores[0], &stores[1]);
        assert_eq!(rows(&a.0), rows(&b.0), "same rows, same hashes");
        for (x, y) in [(&a.1, &b.1), (&a.2, &b.2)] {
            assert_eq!(x.appended, y.appended);
            assert_eq!(x.events, y.events);
            assert_eq!(x.events.len(), x.appended);
            assert_eq!(x.duplicates, y.duplicates);
            assert_eq!(x.first_position, y.first_position);
            assert_eq!(x.last_position, y.last_position);
            assert_eq!(
                x.events.last().and_then(|r| r.position),
                x.last_position,
                "positions set on the kept events"
            );
        }
        assert!(a.0.verify().expect("verifies").is_intact());
    }

    #[test]
    fn pipelined_and_plain_appends_refuse_alike_and_write_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = at("2024-06-30T10:00:00+08:00");
        let mut errors = Vec::new();
        for (name, pipeline) in [("plain", false), ("pipelined", true)] {
            let mut store = Store::open(&dir.path().join(format!("{name}.db"))).expect("open");
            let mut lines = grants(3 * CHUNK);
            // A line far into the batch (after chunks were appended) is refused:
            // lapsing more options than are outstanding.
            lines[2 * CHUNK + 5].1 = parse_line(
                r#"{"type": "share_options_lapsed", "issuer": "00001", "scheme": "S", "date": "2024-02-02", "options": 999999999999}"#,
            )
            .expect("parses");
            let e = append(
                &mut store,
                lines,
                now,
                "t",
                AppendOptions {
                    pipeline: Some(pipeline),
                    ..AppendOptions::default()
                },
            )
            .expect_err("refused");
            assert_eq!(store.count().expect("count"), 0, "nothing written");
            errors.push(e.to_string());
        }
        assert_eq!(errors[0], errors[1]);
        assert!(
            errors[0].starts_with(&format!("line {}:", 2 * CHUNK + 6)),
            "{}",
            errors[0]
        );
    }

    fn line(n: usize, text: &str, id: Option<u128>) -> (usize, Incoming) {
        let mut inc = parse_line(text).expect("parses");
        inc.id = id.map(Uuid::from_u128);
        (n, inc)
    }

    fn grant(options: u64) -> String {
        format!(
            r#"{{"type": "share_options_granted", "issuer": "00001", "scheme": "S", "date": "2024-02-01", "options": {options}, "note": "again"}}"#
        )
    }

    fn lapse(options: u64) -> String {
        format!(
            r#"{{"type": "share_options_lapsed", "issuer": "00001", "scheme": "S", "date": "2024-03-01", "options": {options}}}"#
        )
    }

    fn void(id: u128) -> String {
        format!(
            r#"{{"type": "event_voided", "issuer": "00001", "voided_id": "{}", "reason": "entered in error"}}"#,
            Uuid::from_u128(id)
        )
    }

    /// The outcome of `input` appended to a copy of `base` (lines appended
    /// first) in each mode: pipelined, on one thread, dry run; the first
    /// two also with the stored rows.
    #[allow(clippy::type_complexity)]
    fn each_mode(
        base: &Lines,
        input: &Lines,
    ) -> Vec<(String, Vec<(u64, String, u64, String, String)>)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = at("2024-06-30T10:00:00+08:00");
        let mut out = Vec::new();
        for (n, (pipeline, dry_run)) in [(Some(true), false), (Some(false), false), (None, true)]
            .into_iter()
            .enumerate()
        {
            let mut store = Store::open(&dir.path().join(format!("{n}.db"))).expect("open");
            if !base.is_empty() {
                append(&mut store, base.clone(), now, "t", AppendOptions::default()).expect("base");
            }
            let before = store.count().expect("count");
            let r = append(
                &mut store,
                input.clone(),
                now,
                "t",
                AppendOptions {
                    pipeline,
                    dry_run,
                    findings: true,
                    ..AppendOptions::default()
                },
            );
            let text = match r {
                Ok(s) => format!(
                    "ok {} {} {:?}",
                    s.appended,
                    s.duplicates,
                    s.findings.kept().map(|f| &f.message).collect::<Vec<_>>()
                ),
                Err(e) => {
                    assert_eq!(store.count().expect("count"), before, "nothing written");
                    format!("refused: {e}")
                }
            };
            if dry_run {
                assert_eq!(
                    store.count().expect("count"),
                    before,
                    "a dry run writes nothing"
                );
            }
            // Ids drawn now differ from run to run: the rest must not.
            let log = if dry_run {
                Vec::new()
            } else {
                rows(&store)
                    .into_iter()
                    .map(|r| (r.position, r.stream, r.version, r.event_type, r.payload))
                    .collect()
            };
            out.push((text, log));
        }
        assert_eq!(out[0].0, out[1].0, "pipelined and plain");
        assert_eq!(out[1].0, out[2].0, "append and dry run");
        assert!(out[0].1 == out[1].1, "the same log");
        out
    }

    #[test]
    fn a_void_in_a_big_import_reads_this_batchs_history() {
        let n = 3 * PREPARE + 100;
        let mut input = grants(n);
        // Line 101 grants 98 options (ids 0x1000 + index).
        let target = 0x1000 + 100;
        let total: u64 = (1..=n as u64).sum();
        input.push(line(n + 4, &void(target), Some(0x9000)));
        // Every option left after the void lapses: possible only once the
        // void took line 101's grant away.
        input.push(line(n + 5, &lapse(total - 98), None));
        input.extend((0..2 * PREPARE).map(|i| line(n + 6 + i, &grant(1_000_000 + i as u64), None)));
        let out = each_mode(&Vec::new(), &input);
        assert!(
            out[0].0.starts_with(&format!("ok {} 0", input.len())),
            "{}",
            out[0].0
        );
        // Too many lapsed: the void applied, and the next line refused.
        let mut refused = input.clone();
        refused[n + 4] = line(n + 5, &lapse(total - 97), None);
        let out = each_mode(&Vec::new(), &refused);
        assert!(
            out[0].0.starts_with(&format!("refused: line {}:", n + 5)),
            "{}",
            out[0].0
        );
        // A void that would make a later event (the lapse) impossible.
        let mut late = grants(n);
        late.push(line(n + 4, &lapse(total), None));
        late.push(line(n + 5, &void(target), None));
        let out = each_mode(&Vec::new(), &late);
        assert!(
            out[0].0.starts_with(&format!("refused: line {}:", n + 5))
                && out[0].0.contains("would make a later event impossible"),
            "{}",
            out[0].0
        );
        // The same void with the grant stored before: read back from the store.
        let base = grants(n);
        let input = vec![
            line(1, &void(target), None),
            line(2, &lapse(total - 98), None),
        ];
        let out = each_mode(&base, &input);
        assert!(out[0].0.starts_with("ok 2 0"), "{}", out[0].0);
    }

    #[test]
    fn an_approval_covering_events_reads_the_history_too() {
        let approval = |id: u128| {
            format!(
                r#"{{"type": "exchange_approval_recorded", "issuer": "00001", "rule": "10.06(2)", "date": "2024-03-01", "covers": ["{}"]}}"#,
                Uuid::from_u128(id)
            )
        };
        let n = 2 * PREPARE;
        let mut input = grants(n);
        input.push(line(n + 4, &approval(0x1000 + 500), None));
        let out = each_mode(&Vec::new(), &input);
        assert!(
            out[0].0.starts_with(&format!("ok {} 0", n + 4)),
            "{}",
            out[0].0
        );
        // A voided event is not in force: refused alike.
        input.insert(n + 3, line(n + 4, &void(0x1000 + 500), None));
        input[n + 4].0 = n + 5;
        let out = each_mode(&Vec::new(), &input);
        assert!(
            out[0].0.starts_with(&format!("refused: line {}:", n + 5))
                && out[0].0.contains("has no event in force"),
            "{}",
            out[0].0
        );
        // Covering a stored event, through a small input (snapshots).
        let out = each_mode(&grants(3), &vec![line(1, &approval(0x1000 + 4), None)]);
        assert!(out[0].0.starts_with("ok 1 0"), "{}", out[0].0);
    }

    #[test]
    fn a_dry_run_with_a_void_decides_as_the_append() {
        let mut input = grants(10);
        input.push(line(20, &void(0x1000 + 5), None));
        input.push(line(21, &grant(3), None));
        let out = each_mode(&Vec::new(), &input);
        assert!(out[2].0.starts_with("ok 15 0"), "{}", out[2].0);
        // Voiding it again is refused alike.
        input.push(line(22, &void(0x1000 + 5), None));
        let out = each_mode(&Vec::new(), &input);
        assert!(out[2].0.contains("line 22:"), "{}", out[2].0);
        assert!(out[2].0.contains("already voided"), "{}", out[2].0);
    }

    #[test]
    fn a_double_entry_is_found_in_the_store_and_across_chunks() {
        let big = 2 * PIPELINE_MIN_LINES;
        let base = grants(10);
        // Grant 5 (line 8 of the base) granted 5 options: stored at position 8.
        let fresh = |from: usize| -> Lines {
            (0..big)
                .map(|i| line(i + 1, &grant(from as u64 + i as u64), None))
                .collect()
        };
        let mut input = fresh(1_000);
        input[3000] = line(3001, &grant(5), None);
        let out = each_mode(&base, &input);
        assert!(
            out[0].0.starts_with("refused: line 3001:")
                && out[0].0.contains("already recorded at log position 8:"),
            "{}",
            out[0].0
        );
        // Against an earlier line of the input, chunks apart.
        let mut input = fresh(1_000);
        input[3000] = line(3001, &grant(1_006), None);
        let out = each_mode(&base, &input);
        assert!(
            out[0].0.starts_with("refused: line 3001:")
                && out[0]
                    .0
                    .contains("already recorded on line 7 of this input:"),
            "{}",
            out[0].0
        );
        // Line numbers with gaps (blank lines): still the right line.
        let mut input: Lines = fresh(1_000)
            .into_iter()
            .map(|(n, inc)| (if n > 500 { n * 2 } else { n }, inc))
            .collect();
        input[3000].1 = parse_line(&grant(1_600)).expect("parses");
        let out = each_mode(&base, &input);
        assert!(
            out[0].0.starts_with("refused: line 6002:")
                && out[0]
                    .0
                    .contains("already recorded on line 1202 of this input:"),
            "{}",
            out[0].0
        );
        // Allowed, or equal to a voided event: accepted.
        let mut input = fresh(1_000);
        input[3000] = line(3001, &grant(5), None);
        input[3000].1.allow_duplicate = true;
        input[3500] = line(3501, &grant(1_006), None);
        input[3400] = line(3401, &void(0x77), None);
        input[6] = line(7, &grant(1_006), Some(0x77));
        let out = each_mode(&base, &input);
        assert!(out[0].0.starts_with(&format!("ok {big} 0")), "{}", out[0].0);
    }

    #[test]
    fn an_id_given_again_is_found_in_the_batch() {
        let big = 2 * PIPELINE_MIN_LINES;
        let mut input: Lines = (0..big)
            .map(|i| line(i + 1, &grant(1_000 + i as u64), Some(0x5000 + i as u128)))
            .collect();
        // A retry of line 10 (same id, same content) far after it: skipped.
        input[3000] = line(3001, &grant(1_009), Some(0x5000 + 9));
        let out = each_mode(&grants(0), &input);
        assert!(
            out[0].0.starts_with(&format!("ok {} 1", big - 1)),
            "{}",
            out[0].0
        );
        // The same id with other content: refused, naming the first line.
        input[3000] = line(3001, &grant(77), Some(0x5000 + 9));
        let out = each_mode(&grants(0), &input);
        assert!(
            out[0].0.starts_with("refused: line 3001:")
                && out[0]
                    .0
                    .contains("already used on line 10 with other content"),
            "{}",
            out[0].0
        );
        // Right after it (still being decided on the other thread).
        input[3000] = line(3001, &grant(4_000), Some(0x5000 + 2999));
        let out = each_mode(&grants(0), &input);
        assert!(
            out[0]
                .0
                .contains("already used on line 3000 with other content"),
            "{}",
            out[0].0
        );
    }

    #[test]
    fn for_each_stream_keeps_order_and_reports_the_earliest_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("l.db")).expect("open");
        append(
            &mut store,
            seed_lines(),
            at("2024-06-30T10:00:00+08:00"),
            "t",
            AppendOptions::default(),
        )
        .expect("seed");
        let streams: Vec<String> = (0..9).map(|i| format!("s{i}")).collect();
        for threads in [1, 2, 4] {
            let out = for_each_stream(&store, &streams, threads, |s, name| {
                Ok(format!("{name}:{}", s.count()?))
            })
            .expect("runs");
            assert_eq!(
                out,
                streams
                    .iter()
                    .map(|n| format!("{n}:{}", store.count().unwrap()))
                    .collect::<Vec<_>>()
            );
            let e = for_each_stream(&store, &streams, threads, |_, name| {
                if name == "s3" || name == "s7" {
                    Err(LedgerError::NotFound(name.to_string()))
                } else {
                    Ok(())
                }
            })
            .expect_err("fails");
            assert_eq!(e.to_string(), "s3", "the earliest stream that failed");
        }
    }

    #[test]
    fn replay_all_counts_every_event() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("l.db")).expect("open");
        append(
            &mut store,
            seed_lines(),
            at("2024-06-30T10:00:00+08:00"),
            "t",
            AppendOptions::default(),
        )
        .expect("seed");
        let n = store.count().expect("count");
        for threads in [1, 2] {
            assert_eq!(replay_all(&store, threads).expect("replays"), n);
        }
        let register = load_issuer(&store, "02121", None).expect("loads");
        let mut by_rows = Register::new();
        replay_rows(&mut by_rows, store.events(&ReadFilter::default())).expect("replays");
        assert_eq!(register.issuer("02121"), by_rows.issuer("02121"));
    }
}
