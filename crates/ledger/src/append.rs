//! The atomic append: decide every line against the register as stored,
//! and append them all in one write transaction, or nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, FixedOffset};
use shareledger_core::event::{check_bounds, Incoming, Recorded, MARKET_STREAM, SCHEMA_VERSION};
use shareledger_core::state::Register;
use shareledger_store::{
    EventStore, EventTx, ExpectedVersion, NewEvent, ReadFilter, StoreError, StoredEvent, ValidEvent,
};
use uuid::Uuid;

use crate::decode::Decoder;
use crate::error::{LedgerError, Rejection};
use crate::time::store_time;

/// What an append did.
#[derive(Debug, Default)]
pub struct AppendSummary {
    /// The events appended (or, in a dry run, that would be), in order,
    /// with their log positions once stored.
    pub appended: Vec<Recorded>,
    /// Lines whose id was already stored with the same content: skipped.
    pub duplicates: usize,
    /// Log position of the first event appended.
    pub first_position: Option<u64>,
}

impl AppendSummary {
    /// Log position of the last event appended.
    pub fn last_position(&self) -> Option<u64> {
        self.appended.last().and_then(|r| r.position)
    }
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

/// Decide every line against the register as stored, and append them all in
/// one transaction, or nothing. `dry_run` decides without writing.
///
/// Inside the write transaction: first the streams the lines are judged
/// against are replayed and the ids they give are looked up (reads), then the
/// lines are decided in order while the decided events are appended. A batch
/// of [`PIPELINE_MIN_LINES`] lines or more, on a machine with two cores or
/// more, decides on a second thread while this one hashes and inserts what is
/// already decided; either way the outcome, the summary and the error
/// reported (the first line refused, before any error of the store) are
/// those of deciding every line first and appending after.
pub fn append<S: EventStore>(
    store: &mut S,
    lines: Lines,
    now: DateTime<FixedOffset>,
    actor: &str,
    options: AppendOptions,
) -> Result<AppendSummary, LedgerError> {
    store.write(|tx| append_in(tx, lines, now, actor, options))
}

/// [`append`] inside a write transaction already open (so that what was
/// read to build `lines` cannot change before they are appended).
pub fn append_in<T: EventTx>(
    tx: &mut T,
    lines: Lines,
    now: DateTime<FixedOffset>,
    actor: &str,
    options: AppendOptions,
) -> Result<AppendSummary, LedgerError> {
    let AppendOptions {
        dry_run,
        allow_duplicate,
        pipeline,
    } = options;
    // The users' stream is not an issuer's: no register event may land in it.
    if let Some((n, _)) = lines
        .iter()
        .find(|(_, i)| !crate::access::is_register_stream(i.event.stream()))
    {
        return Err(Rejection::field(
            Some(*n),
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
    {
        let last = tx.last_recorded_at()?;
        let clock = now;
        // The clock was read before the write lock was taken: a writer that
        // waited behind another may hold an earlier "now" than what the other
        // just stored. Defaulted times never go backwards.
        let now = last
            .as_deref()
            .and_then(|l| DateTime::parse_from_rfc3339(l).ok())
            .map_or(now, |l| l.max(now));

        // Reads: every stream judged against, in the order first named (the
        // market calendar first), and every given id. An error here belongs
        // to the first line that needs it, and is reported there.
        let mut register = Register::new();
        let mut streams: BTreeMap<String, Loaded> = BTreeMap::new();
        for s in std::iter::once(MARKET_STREAM).chain(lines.iter().map(|(_, i)| i.event.stream())) {
            if streams.contains_key(s) {
                continue;
            }
            let loaded = tx
                .stream_version(s)
                .map_err(LedgerError::from)
                .and_then(|version| {
                    let mut decoder = Decoder::new();
                    tx.scan(&ReadFilter::stream(s), |row| {
                        decoder.replay(&mut register, row)
                    })?;
                    Ok(version)
                });
            streams.insert(s.to_string(), loaded);
        }
        let stored: Vec<Option<Result<Option<StoredEvent>, LedgerError>>> = lines
            .iter()
            .map(|(_, i)| {
                i.id.map(|id| tx.find_by_id(&id.to_string()).map_err(LedgerError::from))
            })
            .collect();
        let expected: Vec<(String, ExpectedVersion)> = streams
            .iter()
            .filter_map(|(s, v)| v.as_ref().ok().map(|v| (s.clone(), *v)))
            .map(|(s, v)| {
                (
                    s,
                    if v == 0 {
                        ExpectedVersion::NoStream
                    } else {
                        ExpectedVersion::Exact(v)
                    },
                )
            })
            .collect();
        let decider = Decider {
            register,
            streams,
            stored,
            last,
            now,
            clock,
            actor,
            allow_duplicate,
            entries: HashMap::new(),
        };

        let pipelined = !dry_run
            && pipeline.unwrap_or_else(|| {
                lines.len() >= PIPELINE_MIN_LINES
                    && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
            });
        let mut outcomes = Vec::with_capacity(lines.len());
        let mut summary = if !pipelined {
            let mut new_events = Vec::with_capacity(lines.len());
            let summary = decider.run(lines, |chunk| {
                new_events.extend(chunk);
                true
            })?;
            if dry_run || new_events.is_empty() {
                return Ok(summary);
            }
            outcomes = tx.append(&expected, &new_events)?;
            summary
        } else {
            // Decided events go to this thread checked by the store
            // (`NewEvent::validate`, on the deciding thread), and come back
            // to be freed there too: this thread only hashes and inserts.
            let (send, receive) = std::sync::mpsc::sync_channel::<Vec<ValidEvent>>(4);
            let (give_back, returned) = std::sync::mpsc::channel::<Vec<ValidEvent>>();
            std::thread::scope(|scope| {
                let decided = scope.spawn(move || {
                    let mut invalid: Option<StoreError> = None;
                    let summary = decider.run(lines, |chunk| {
                        while let Ok(done) = returned.try_recv() {
                            drop(done);
                        }
                        match chunk.into_iter().map(NewEvent::validate).collect() {
                            Ok(valid) => send.send(valid).is_ok(),
                            Err(e) => {
                                invalid = Some(e);
                                false
                            }
                        }
                    });
                    (summary, invalid)
                });
                let mut failed: Option<StoreError> = None;
                for chunk in receive.iter() {
                    if failed.is_none() {
                        let first = outcomes.is_empty();
                        match tx.append_valid(if first { &expected } else { &[] }, &chunk) {
                            Ok(o) => outcomes.extend(o),
                            // Keep receiving: a refused line still rules.
                            Err(e) => failed = Some(e),
                        }
                    }
                    let _ = give_back.send(chunk);
                }
                let (summary, invalid) = match decided.join() {
                    Ok(r) => r,
                    Err(panic) => std::panic::resume_unwind(panic),
                };
                // As if every line were decided, then the batch checked, then
                // appended: a refused line first, then the store's errors.
                let summary = summary?;
                match invalid.or(failed) {
                    Some(e) => Err(LedgerError::from(e)),
                    None => Ok(summary),
                }
            })?
        };
        summary.first_position = outcomes.first().map(|o| o.position());
        for (rec, o) in summary.appended.iter_mut().zip(&outcomes) {
            rec.position = Some(o.position());
        }
        Ok(summary)
    }
}

/// Batches of at least this many lines decide on a second thread while the
/// first appends (see [`append`]).
pub const PIPELINE_MIN_LINES: usize = 4096;

/// Decided events are handed to the store in chunks of this many.
const CHUNK: usize = 256;

/// A stream as loaded for a batch: its stored version, or why it could not be.
type Loaded = Result<u64, LedgerError>;

/// The pure half of [`append`]: decides lines in order against the register
/// as stored (loaded beforehand, with the given ids looked up).
struct Decider<'a> {
    register: Register,
    streams: BTreeMap<String, Loaded>,
    /// Per line: the stored event with its given id (`None`: no id given).
    stored: Vec<Option<Result<Option<StoredEvent>, LedgerError>>>,
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
}

/// The digest of an event's content: 128 bits of two SipHash keys over its
/// canonical JSON without the envelope.
type EntryKey = (u64, u64);

/// Where an equal event is.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// Stored at this log position.
    Stored(Option<u64>),
    /// On this line of the input.
    Line(usize),
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
                    Origin::Line(l) => format!("on line {l} of this input"),
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
            .push((Origin::Line(line), rec.id));
        Ok(())
    }

    /// Decide every line, passing the new events to `sink` in order, in
    /// chunks (`sink` returns false to stop early: the store failed, and
    /// only a refused line can still change the error reported).
    fn run(
        mut self,
        lines: Lines,
        mut sink: impl FnMut(Vec<NewEvent>) -> bool,
    ) -> Result<AppendSummary, LedgerError> {
        // Given ids seen in this batch: (line, payload).
        let mut batch_ids: HashMap<Uuid, (usize, String)> = HashMap::new();
        // The last `recorded_at` formatted (lines without one share `now`).
        let mut formatted: Option<(DateTime<FixedOffset>, String)> = None;
        let mut checked: HashSet<String> = HashSet::new();
        let mut new_events: Vec<NewEvent> = Vec::with_capacity(CHUNK.min(lines.len()));
        let mut summary = AppendSummary {
            appended: Vec::with_capacity(lines.len()),
            ..AppendSummary::default()
        };
        let mut sinking = true;
        let stored_ids = std::mem::take(&mut self.stored);
        for ((line, incoming), stored) in lines.into_iter().zip(stored_ids) {
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
                        summary.duplicates += 1;
                        continue;
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
                if let Some((first, p)) = batch_ids.get(&rec.id) {
                    if *p == payload {
                        summary.duplicates += 1;
                        continue;
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
                batch_ids.insert(rec.id, (line, payload.clone()));
            }
            // The streams this event is judged against, loaded beforehand.
            for s in [MARKET_STREAM, stream.as_str()] {
                if !checked.contains(s) {
                    checked.insert(s.to_string());
                    if let Some(Err(e)) = self.streams.remove(s) {
                        return Err(e);
                    }
                }
            }
            let recorded_at = match &formatted {
                Some((t, text)) if *t == rec.recorded_at => text.clone(),
                _ => {
                    let text = store_time(&rec.recorded_at);
                    formatted = Some((rec.recorded_at, text.clone()));
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
            self.register
                .execute(rec.clone())
                .map_err(|r| Rejection::refused(Some(line), rec.event.type_name(), r))?;
            new_events.push(NewEvent {
                id: rec.id.to_string(),
                stream,
                event_type: rec.event.type_name().to_string(),
                schema_version: SCHEMA_VERSION,
                payload,
                effective_date: rec.event.effective_date().map(|d| d.to_string()),
                recorded_at,
                actor: rec.actor.clone(),
            });
            summary.appended.push(rec);
            if new_events.len() == CHUNK && sinking {
                sinking = sink(std::mem::replace(
                    &mut new_events,
                    Vec::with_capacity(CHUNK),
                ));
            } else if !sinking {
                new_events.clear();
            }
        }
        if sinking && !new_events.is_empty() {
            sink(new_events);
        }
        Ok(summary)
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
                    ..AppendOptions::default()
                },
            )
            .expect("second");
            assert_eq!(second.duplicates, 2 * CHUNK + 17);
            assert_eq!(second.appended.len(), 23);
            stores.push((store, first, second));
        }
        let (a, b) = (&stores[0], &stores[1]);
        assert_eq!(rows(&a.0), rows(&b.0), "same rows, same hashes");
        for (x, y) in [(&a.1, &b.1), (&a.2, &b.2)] {
            assert_eq!(x.appended, y.appended);
            assert_eq!(x.duplicates, y.duplicates);
            assert_eq!(x.first_position, y.first_position);
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
