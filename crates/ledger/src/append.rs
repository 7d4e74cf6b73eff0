//! The atomic append: decide every line against the register as stored,
//! and append them all in one write transaction, or nothing.
//!
//! The input streams: lines are read, decided and inserted a chunk at a time
//! inside the one transaction, and only what deciding needs is kept (the
//! register of the issuers named so far, the digests of their live events
//! for the double-entry rule, the given ids seen). The summary is counts and
//! positions (and the events themselves only when a front end asks for them:
//! [`AppendOptions::keep_events`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, FixedOffset};
use shareledger_core::event::{check_bounds, Incoming, Recorded, MARKET_STREAM, SCHEMA_VERSION};
use shareledger_core::state::Register;
use shareledger_returns::checks::{self, Finding};
use shareledger_store::{
    AppendOutcome, EventTx, ExpectedVersion, NewEvent, ReadFilter, StoreError, StoredEvent,
    ValidEvent,
};
use uuid::Uuid;

use crate::decode::Decoder;
use crate::error::{LedgerError, Rejection};
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
    /// too), judged at the caller's clock. Computed from the registers the
    /// append builds anyway: each issuer is judged as loaded (before the
    /// batch) and as left by the batch; nothing is replayed again.
    pub findings: Vec<Finding>,
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
/// Memory does not grow with the input beyond what deciding needs.
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
    store.write(|tx| append_in(tx, lines, now, actor, options))
}

/// [`append`] inside a write transaction already open (so that what was
/// read to build `lines` cannot change before they are appended).
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
    let AppendOptions {
        dry_run,
        allow_duplicate,
        pipeline,
        keep_events,
        findings,
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
        start,
        expected: Vec::new(),
        use_snapshots: false,
    };
    let mut decider = Decider {
        register: Register::new(),
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
        touched: BTreeMap::new(),
        versions: HashMap::new(),
        summary: AppendSummary::default(),
    };
    // The market calendar first: every line is judged against it.
    let market = loader.load(tx, MARKET_STREAM);
    decider.take(vec![market]);

    let mut lines = lines.into_iter().map(IntoLine::into_line);
    let head: Vec<_> = lines.by_ref().take(PIPELINE_MIN_LINES).collect();
    let more = head.len() == PIPELINE_MIN_LINES;
    // Issuers are restored from their snapshots when the whole input is
    // known, holds no correction (a void replays the history) and no
    // findings are asked for (the checks read the history).
    loader.use_snapshots = !more
        && !findings
        && !head.iter().any(|l| {
            matches!(l, Ok((_, i)) if matches!(i.event, shareledger_core::event::Event::EventVoided(_)))
        });
    let mut lines = head.into_iter().chain(lines);
    let pipelined = !dry_run
        && pipeline.unwrap_or_else(|| {
            more && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
        });
    let mut positions = Positions::new(keep_events);

    if !pipelined {
        // Decide a chunk, append it; a store error waits for the lines after
        // it (a refused line still rules).
        let mut failed: Option<StoreError> = None;
        let mut new_events = Vec::with_capacity(CHUNK);
        loop {
            let chunk: Vec<_> = lines.by_ref().take(PREPARE).collect();
            if chunk.is_empty() {
                break;
            }
            let prepared = loader.prepare(tx, chunk);
            decider.take(prepared.loads);
            for (line, stored) in prepared.lines {
                if let Some(ev) = decider.decide(line, stored)? {
                    if !dry_run && failed.is_none() {
                        new_events.push(ev);
                    }
                }
            }
            if !new_events.is_empty() {
                match tx.append(&loader.take_expected(), &new_events) {
                    Ok(o) => positions.extend(&o),
                    Err(e) => failed = Some(e),
                }
                new_events.clear();
            }
        }
        if let Some(e) = failed {
            return Err(e.into());
        }
    } else {
        // Decided events go to this thread checked by the store
        // (`NewEvent::validate`, on the deciding thread), and come back to
        // be freed there too: this thread reads, hashes and inserts.
        let (to_decider, prepared_in) = std::sync::mpsc::sync_channel::<Prepared>(2);
        let (send, receive) = std::sync::mpsc::channel::<Vec<ValidEvent>>();
        let (give_back, returned) = std::sync::mpsc::channel::<Vec<ValidEvent>>();
        let result: Result<Decider<'_>, LedgerError> = std::thread::scope(|scope| {
            let deciding = scope.spawn(move || {
                let mut invalid: Option<StoreError> = None;
                let mut sinking = true;
                let mut pending: Vec<NewEvent> = Vec::with_capacity(CHUNK);
                let mut flush = |pending: &mut Vec<NewEvent>, sinking: &mut bool| {
                    while let Ok(done) = returned.try_recv() {
                        drop(done);
                    }
                    let chunk = std::mem::replace(pending, Vec::with_capacity(CHUNK));
                    if !*sinking {
                        return;
                    }
                    match chunk.into_iter().map(NewEvent::validate).collect() {
                        Ok(valid) => *sinking = send.send(valid).is_ok(),
                        Err(e) => {
                            invalid = Some(e);
                            *sinking = false;
                        }
                    }
                };
                for prepared in prepared_in.iter() {
                    decider.take(prepared.loads);
                    for (line, stored) in prepared.lines {
                        match decider.decide(line, stored) {
                            Err(e) => return (decider, Err(e), None),
                            Ok(Some(ev)) => {
                                pending.push(ev);
                                if pending.len() == CHUNK {
                                    flush(&mut pending, &mut sinking);
                                }
                            }
                            Ok(None) => {}
                        }
                    }
                }
                if !pending.is_empty() {
                    flush(&mut pending, &mut sinking);
                }
                (decider, Ok(()), invalid)
            });
            let mut failed: Option<StoreError> = None;
            let mut insert = |chunk: Vec<ValidEvent>,
                              tx: &mut T,
                              loader: &mut Loader,
                              positions: &mut Positions| {
                if failed.is_none() {
                    match tx.append_valid(&loader.take_expected(), &chunk) {
                        Ok(o) => positions.extend(&o),
                        // Keep deciding: a refused line still rules.
                        Err(e) => failed = Some(e),
                    }
                }
                let _ = give_back.send(chunk);
            };
            loop {
                let chunk: Vec<_> = lines.by_ref().take(PREPARE).collect();
                if chunk.is_empty() {
                    break;
                }
                let prepared = loader.prepare(tx, chunk);
                if to_decider.send(prepared).is_err() {
                    break; // the decider stopped at a refused line
                }
                while let Ok(chunk) = receive.try_recv() {
                    insert(chunk, tx, &mut loader, &mut positions);
                }
            }
            drop(to_decider);
            for chunk in receive.iter() {
                insert(chunk, tx, &mut loader, &mut positions);
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
    let (mut summary, snapshots) = decider.finish(positions.first, !dry_run);
    for s in &snapshots {
        tx.put_snapshot(s)?;
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

/// A stream as loaded for a batch, or why it could not be.
type Loaded = (String, Result<Stream, LedgerError>);

/// A stream as loaded: its register (the stream replayed, or its issuer
/// restored from a snapshot with the snapshot's double-entry digests), and
/// its version.
struct Stream {
    register: Register,
    version: u64,
    entries: Option<HashMap<EntryKey, Vec<(Origin, Uuid)>>>,
}

/// A chunk of lines ready to decide: each with the stored event of its given
/// id (`None`: no id given), and the streams first named in the chunk.
struct Prepared {
    lines: Vec<PreparedLine>,
    loads: Vec<Loaded>,
}

type PreparedLine = (
    Result<(usize, Incoming), LedgerError>,
    Option<Result<Option<StoredEvent>, LedgerError>>,
);

/// The reads of an append, on the thread that holds the transaction.
struct Loader {
    /// Streams loaded (or refused) so far.
    seen: HashSet<String>,
    /// The head before the batch: a row above it is this batch's.
    start: u64,
    /// Expected versions of the streams loaded and not yet handed to the
    /// store with an append.
    expected: Vec<(String, ExpectedVersion)>,
    /// Restore issuers from their snapshots (see [`crate::snapshot`]).
    use_snapshots: bool,
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
        let (state, kept) = crate::snapshot::decode(&snap.data, stream)?;
        let mut register = Register::new();
        register.restore_issuer(state);
        let mut entries: HashMap<EntryKey, Vec<(Origin, Uuid)>> = HashMap::new();
        for (key, position, id) in kept {
            entries
                .entry(key)
                .or_default()
                .push((Origin::Stored((position > 0).then_some(position)), id));
        }
        Some(Stream {
            register,
            version,
            entries: Some(entries),
        })
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
                    return Ok(restored);
                }
                let mut register = Register::new();
                let mut decoder = Decoder::new();
                tx.scan(&ReadFilter::stream(stream), |row| {
                    decoder.replay(&mut register, row)
                })?;
                Ok(Stream {
                    register,
                    version,
                    entries: None,
                })
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

    /// Load the streams `chunk` names first and look up the ids it gives.
    fn prepare<T: EventTx>(
        &mut self,
        tx: &T,
        chunk: Vec<Result<(usize, Incoming), LedgerError>>,
    ) -> Prepared {
        let mut loads = Vec::new();
        let mut lines = Vec::with_capacity(chunk.len());
        for line in chunk {
            let stored = match &line {
                Ok((_, i)) => {
                    let s = i.event.stream();
                    // The users' stream is refused by the decider, unread.
                    if !self.seen.contains(s) && crate::access::is_register_stream(s) {
                        loads.push(self.load(tx, s));
                    }
                    i.id.map(|id| {
                        tx.find_by_id(&id.to_string())
                            .map(|found| found.filter(|e| e.position <= self.start))
                            .map_err(LedgerError::from)
                    })
                }
                Err(_) => None,
            };
            lines.push((line, stored));
        }
        Prepared { lines, loads }
    }

    fn take_expected(&mut self) -> Vec<(String, ExpectedVersion)> {
        std::mem::take(&mut self.expected)
    }
}

/// The pure half of [`append`]: decides lines in order against the register
/// as stored (each stream loaded the first time a line names it).
struct Decider<'a> {
    register: Register,
    /// Streams that could not be loaded: the error belongs to the first
    /// line that needs the stream.
    failed: HashMap<String, LedgerError>,
    /// Streams whose load was checked by a line.
    checked: HashSet<String>,
    /// Given ids seen in this batch: (line, digest of the payload).
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
    /// Per issuer, the live events by the digest of their content (every
    /// field but the envelope): built from the register the first time an
    /// issuer's line comes, then kept current line by line.
    entries: HashMap<String, HashMap<EntryKey, Vec<(Origin, Uuid)>>>,
    keep_events: bool,
    findings: bool,
    /// With `findings`: each loaded issuer's findings before the batch.
    before: HashMap<String, Vec<Finding>>,
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
    Stored(Option<u64>),
    /// On this line of the input, the batch's `.1`-th event appended.
    Line(usize, u64),
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

impl Decider<'_> {
    /// The double-entry rule: refuse `rec` (content `content`) when a live
    /// event of its issuer has the same content, unless allowed; then
    /// remember it (and forget an event it voids).
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
                        .push((Origin::Stored(r.position), r.id));
                }
            }
            entries
        });
        if let shareledger_core::event::Event::EventVoided(v) = &rec.event {
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
                    Origin::Stored(Some(p)) => format!("at log position {p}"),
                    Origin::Stored(None) => "in the ledger".to_string(),
                    Origin::Line(l, _) => format!("on line {l} of this input"),
                };
                return Err(Rejection {
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
                .into());
            }
        }
        entries
            .entry(key)
            .or_default()
            .push((Origin::Line(line, self.summary.appended as u64), rec.id));
        Ok(())
    }

    /// Take over the streams just loaded (judging their issuers first when
    /// findings are asked for).
    fn take(&mut self, loads: Vec<Loaded>) {
        for (stream, loaded) in loads {
            match loaded {
                Ok(loaded) => {
                    self.versions.insert(stream.clone(), loaded.version);
                    if let Some(entries) = loaded.entries {
                        self.entries.insert(stream.clone(), entries);
                    }
                    self.register.absorb(loaded.register);
                    if self.findings {
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

    /// The summary, with the findings the batch introduced, and (with
    /// `snapshots`) the snapshot of each issuer the batch touched, as the
    /// batch leaves it (`first`: the log position of the batch's first
    /// event).
    fn finish(
        mut self,
        first: Option<u64>,
        snapshots: bool,
    ) -> (AppendSummary, Vec<shareledger_store::Snapshot>) {
        let mut out = Vec::new();
        if let (true, Some(first)) = (snapshots, first) {
            for (issuer, (count, last)) in &self.touched {
                let (Some(state), Some(version)) =
                    (self.register.issuer(issuer), self.versions.get(issuer))
                else {
                    continue;
                };
                let entries: Vec<crate::snapshot::Entry> = self
                    .entries
                    .get(issuer)
                    .into_iter()
                    .flatten()
                    .flat_map(|(key, same)| {
                        same.iter().map(move |(origin, id)| {
                            let position = match origin {
                                Origin::Stored(p) => p.unwrap_or(0),
                                Origin::Line(_, k) => first + k,
                            };
                            (*key, position, *id)
                        })
                    })
                    .collect();
                // A state that cannot be encoded is simply not cached.
                if let Ok(data) = crate::snapshot::encode(state, &entries) {
                    out.push(shareledger_store::Snapshot {
                        stream: issuer.clone(),
                        version: version + count,
                        position: first + last,
                        format: crate::snapshot::FORMAT,
                        data,
                    });
                }
            }
        }
        if self.findings {
            let calendar = crate::returns::calendar(&self.register);
            for issuer in self.touched.keys() {
                let Some(state) = self.register.issuer(issuer) else {
                    continue;
                };
                let old = self.before.remove(issuer).unwrap_or_default();
                self.summary.findings.extend(
                    checks::run(state, &calendar, self.clock)
                        .into_iter()
                        .filter(|f| !old.iter().any(|o| o.is_same(f))),
                );
            }
        }
        (self.summary, out)
    }

    /// Decide one line: the event to append, `None` for a line already
    /// stored (a duplicate by id), or why not.
    fn decide(
        &mut self,
        line: Result<(usize, Incoming), LedgerError>,
        stored: Option<Result<Option<StoredEvent>, LedgerError>>,
    ) -> Result<Option<NewEvent>, LedgerError> {
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
            if let Some((first, p)) = self.batch_ids.get(&rec.id) {
                if *p == digest {
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
            self.batch_ids.insert(rec.id, (line, digest));
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
        self.double_entry(line, &rec, &content, allowed)?;
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
        self.register
            .execute(rec)
            .map_err(|r| Rejection::refused(Some(line), &event.event_type, r))?;
        self.summary.appended += 1;
        self.summary.events.extend(kept);
        Ok(Some(event))
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
