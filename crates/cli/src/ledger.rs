//! The glue between the store (opaque rows) and the core (events, register):
//! decoding stored rows, replaying streams into a register, and appending
//! decided events atomically. Nothing here knows a rule of share capital.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use shareledger_core::event::{Incoming, Recorded, MARKET_STREAM, SCHEMA_VERSION};
use shareledger_core::state::Register;
use shareledger_store::{
    EventRef, ExpectedVersion, NewEvent, ReadFilter, Store, StoreError, StoredEvent, ValidEvent,
};
use uuid::Uuid;

use crate::CliError;

/// A time as the store keeps it: fixed-width UTC, so text order is time order.
pub fn store_time(t: &DateTime<FixedOffset>) -> String {
    t.with_timezone(&Utc)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Hong Kong time, +08:00, as the ledger prints times.
pub fn hk(t: &DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    t.with_timezone(&shareledger_core::calendar::hong_kong_offset())
}

/// Parse `--known-at`: an RFC 3339 time, or a date meaning the end of that
/// day in Hong Kong.
pub fn parse_known_at(s: &str) -> Result<DateTime<FixedOffset>, CliError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let end = d
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .expect("valid time");
        return Ok(end
            .and_local_timezone(shareledger_core::calendar::hong_kong_offset())
            .single()
            .expect("fixed offsets are unambiguous"));
    }
    Err(CliError::usage(format!(
        "--known-at `{s}` is not a time: use RFC 3339 like 2022-11-07T18:30:00+08:00, or a date like 2022-11-07 (end of that day, Hong Kong time)"
    )))
}

/// Decodes stored rows into recorded events.
///
/// The fast path reads the payload straight into the struct of its stored
/// `event_type` (no intermediate JSON tree), and reuses the parsed
/// `recorded_at` of the previous row when the text is the same (the rows of
/// one import share it). Anything the fast path does not accept exactly —
/// a payload whose `type` is not the stored one, an unknown type or field, a
/// malformed value — goes through [`Recorded::from_payload`], so results and
/// error messages are those of the canonical decoder.
#[derive(Debug, Default)]
pub struct Decoder {
    last_at: Option<(String, DateTime<FixedOffset>)>,
}

impl Decoder {
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Decode one stored row.
    pub fn decode(&mut self, row: EventRef<'_>) -> Result<Recorded, CliError> {
        let id = Uuid::parse_str(row.id).map_err(|_| {
            CliError::refused(format!(
                "log position {}: stored id {:?} is not a UUID: run `shareledger audit`",
                row.position, row.id
            ))
        })?;
        let at = match &self.last_at {
            Some((text, at)) if text == row.recorded_at => *at,
            _ => {
                let at = DateTime::parse_from_rfc3339(row.recorded_at).map_err(|_| {
                    CliError::refused(format!(
                        "log position {}: stored recorded_at {:?} is not a time: run `shareledger audit`",
                        row.position, row.recorded_at
                    ))
                })?;
                self.last_at = Some((row.recorded_at.to_string(), at));
                at
            }
        };
        if let Some((event, note)) = fast::decode(row.event_type, row.payload) {
            return Ok(Recorded {
                id,
                recorded_at: at,
                actor: row.actor.to_string(),
                note,
                event,
                position: Some(row.position),
            });
        }
        Recorded::from_payload(
            id,
            at,
            row.actor.to_string(),
            row.payload,
            Some(row.position),
        )
        .map_err(|e| {
            CliError::refused(format!(
                "log position {}: stored event cannot be read: {e}",
                row.position
            ))
        })
    }

    /// Decode `row` and execute it on `register`. A stored event the core now
    /// refuses means the log is inconsistent: an error that points to `audit`.
    pub fn replay(&mut self, register: &mut Register, row: EventRef<'_>) -> Result<(), CliError> {
        let rec = self.decode(row)?;
        register.execute(rec).map_err(|r| {
            CliError::refused(format!(
                "log position {} ({}) no longer replays: {r}: run `shareledger audit` for details",
                row.position, row.event_type
            ))
        })
    }
}

/// Decode one stored row into a recorded event.
pub fn decode(row: &StoredEvent) -> Result<Recorded, CliError> {
    Decoder::new().decode(EventRef::of(row))
}

/// Replay rows into `register`. A stored event the core now refuses means
/// the log is inconsistent: an error that points to `audit`.
pub fn replay_rows(
    register: &mut Register,
    rows: impl Iterator<Item = Result<StoredEvent, StoreError>>,
) -> Result<u64, CliError> {
    let mut decoder = Decoder::new();
    let mut n = 0;
    for row in rows {
        let row = row?;
        decoder.replay(register, EventRef::of(&row))?;
        n += 1;
    }
    Ok(n)
}

/// [`replay_rows`] of the events of `filter`, read in place from the store
/// ([`Store::scan`]: no row is copied, the hashes are not read).
pub fn replay_filter(
    register: &mut Register,
    store: &Store,
    filter: &ReadFilter,
) -> Result<u64, CliError> {
    let mut decoder = Decoder::new();
    store.scan(filter, |row| decoder.replay(register, row))
}

/// How many streams [`for_each_stream`] works on at once by default: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run `work` on every stream of `streams`, up to `threads` at a time: the
/// calling thread with `store`, and `threads - 1` more threads each with its
/// own reader connection to the same file ([`open_existing`]). Each stream
/// is worked on whole by one thread, so memory is that of `threads` streams
/// at most. Results come back in the order of `streams`. On an error the
/// workers stop taking new streams, and the error of the earliest stream
/// that failed is returned.
pub fn for_each_stream<T: Send>(
    store: &Store,
    streams: &[String],
    threads: usize,
    work: impl Fn(&Store, &str) -> Result<T, CliError> + Sync,
) -> Result<Vec<T>, CliError> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let run = |store: &Store| {
        let mut out: Vec<(usize, Result<T, CliError>)> = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(stream) = streams.get(i) else { break };
            let r = work(store, stream);
            if r.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            out.push((i, r));
        }
        out
    };
    let extra = threads.clamp(1, streams.len().max(1)) - 1;
    let path = store.path();
    let mut done: Vec<(usize, Result<T, CliError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..extra)
            .map(|_| {
                s.spawn(|| match open_existing(path) {
                    Ok(own) => run(&own),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        vec![(usize::MAX, Err(e))]
                    }
                })
            })
            .collect();
        let mut done = run(store);
        for h in handles {
            match h.join() {
                Ok(part) => done.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    });
    done.sort_by_key(|(i, _)| *i);
    // In stream order, the first error wins.
    done.into_iter().map(|(_, r)| r).collect()
}

/// Replay the whole log as `audit` does — the market calendar first, then each
/// issuer on top of it, one issuer per thread at a time (`threads`, see
/// [`for_each_stream`]), each register dropped before the thread takes the
/// next — but without the chain check, the rule checks or the regeneration
/// of filed returns: the plain cost of rebuilding every register. A refused
/// event is an error. Returns the number of events replayed.
pub fn replay_all(store: &Store, threads: usize) -> Result<u64, CliError> {
    let mut market = Register::new();
    let n = replay_filter(&mut market, store, &ReadFilter::stream(MARKET_STREAM))?;
    let streams: Vec<String> = store
        .streams()?
        .into_iter()
        .filter(|s| s != MARKET_STREAM)
        .collect();
    let counts = for_each_stream(store, &streams, threads, |store, stream| {
        let mut register = market.clone();
        replay_filter(&mut register, store, &ReadFilter::stream(stream))
    })?;
    Ok(n + counts.iter().sum::<u64>())
}

/// The register of one issuer (and the market calendar) as known at `known_at`.
pub fn load_issuer(
    store: &Store,
    issuer: &str,
    known_at: Option<&DateTime<FixedOffset>>,
) -> Result<Register, CliError> {
    let until = known_at.map(store_time);
    let mut register = Register::new();
    for stream in [MARKET_STREAM, issuer] {
        let filter = ReadFilter {
            stream: Some(stream.to_string()),
            recorded_until: until.clone(),
            ..ReadFilter::default()
        };
        replay_filter(&mut register, store, &filter)?;
    }
    if register.issuer(issuer).is_none() {
        let known = store
            .streams()?
            .into_iter()
            .filter(|s| s != MARKET_STREAM)
            .collect::<Vec<_>>();
        return Err(CliError::refused(format!(
            "no issuer `{issuer}` in {}{}: {}",
            store.path().display(),
            known_at
                .map(|t| format!(" as known at {t}"))
                .unwrap_or_default(),
            if known.is_empty() {
                "the ledger has no issuers yet; import events first".to_string()
            } else {
                format!("issuers: {}", known.join(", "))
            }
        )));
    }
    Ok(register)
}

/// What an append did.
#[derive(Debug, Default)]
pub struct AppendSummary {
    pub appended: Vec<Recorded>,
    pub duplicates: usize,
    pub first_position: Option<u64>,
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
pub fn append(
    store: &mut Store,
    lines: Lines,
    now: DateTime<FixedOffset>,
    actor: &str,
    dry_run: bool,
) -> Result<AppendSummary, CliError> {
    append_with(store, lines, now, actor, dry_run, None)
}

/// [`append`], pipelined or not as `pipeline` says (`None`: by batch size
/// and cores), so tests can hold the two ways to each other.
fn append_with(
    store: &mut Store,
    lines: Lines,
    now: DateTime<FixedOffset>,
    actor: &str,
    dry_run: bool,
    pipeline: Option<bool>,
) -> Result<AppendSummary, CliError> {
    store.write(|tx| {
        let last = tx.last_recorded_at()?;
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
                .map_err(CliError::from)
                .and_then(|version| {
                    let mut decoder = Decoder::new();
                    tx.scan(&ReadFilter::stream(s), |row| {
                        decoder.replay(&mut register, row)
                    })?;
                    Ok(version)
                });
            streams.insert(s.to_string(), loaded);
        }
        let stored: Vec<Option<Result<Option<StoredEvent>, CliError>>> = lines
            .iter()
            .map(|(_, i)| {
                i.id.map(|id| tx.find_by_id(&id.to_string()).map_err(CliError::from))
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
            actor,
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
                    Some(e) => Err(CliError::from(e)),
                    None => Ok(summary),
                }
            })?
        };
        summary.first_position = outcomes.first().map(|o| o.position());
        for (rec, o) in summary.appended.iter_mut().zip(&outcomes) {
            rec.position = Some(o.position());
        }
        Ok(summary)
    })
}

/// Batches of at least this many lines decide on a second thread while the
/// first appends (see [`append`]).
pub const PIPELINE_MIN_LINES: usize = 4096;

/// Decided events are handed to the store in chunks of this many.
const CHUNK: usize = 256;

/// A stream as loaded for a batch: its stored version, or why it could not be.
type Loaded = Result<u64, CliError>;

/// The pure half of [`append`]: decides lines in order against the register
/// as stored (loaded beforehand, with the given ids looked up).
struct Decider<'a> {
    register: Register,
    streams: BTreeMap<String, Loaded>,
    /// Per line: the stored event with its given id (`None`: no id given).
    stored: Vec<Option<Result<Option<StoredEvent>, CliError>>>,
    last: Option<String>,
    now: DateTime<FixedOffset>,
    actor: &'a str,
}

impl Decider<'_> {
    /// Decide every line, passing the new events to `sink` in order, in
    /// chunks (`sink` returns false to stop early: the store failed, and
    /// only a refused line can still change the error reported).
    fn run(
        mut self,
        lines: Lines,
        mut sink: impl FnMut(Vec<NewEvent>) -> bool,
    ) -> Result<AppendSummary, CliError> {
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
        for ((line, incoming), stored) in lines.into_iter().zip(self.stored) {
            let at = |msg: String| CliError::refused(format!("line {line}: {msg}"));
            // Drawn ids are UUIDv7 (time-ordered, 74 random bits): each lands
            // at the end of the id index instead of on a random page of it
            // (v4), which at millions of events made every batch rewrite a
            // page of the index per event.
            let rec = incoming.into_recorded(Uuid::now_v7, self.now, self.actor);
            let payload = rec.payload();
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
                    return Err(at(format!(
                        "field `id`: event id {} is already stored at log position {} with other content; ids are never reused: give this event a new id (or none)",
                        rec.id, stored.position
                    )));
                }
                if let Some((first, p)) = batch_ids.get(&rec.id) {
                    if *p == payload {
                        summary.duplicates += 1;
                        continue;
                    }
                    return Err(at(format!("field `id`: event id {} is already used on line {first} with other content: give each event its own id", rec.id)));
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
                    return Err(at(format!(
                        "field `recorded_at`: {} is earlier than the latest event already in the log ({l}): the log is in the order the ledger learned things; give a later time or none (default: now)",
                        rec.recorded_at
                    )));
                }
            }
            self.last = Some(recorded_at.clone());
            self.register
                .execute(rec.clone())
                .map_err(|r| at(format!("{}: {r}", rec.event.type_name())))?;
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

/// Open the store for reading; a missing file is a clear error. Its page
/// cache is the small one of readers ([`shareledger_store::READ_CACHE_KIB`]):
/// an audit of any size then stays within a flat, small memory.
pub fn open_existing(path: &Path) -> Result<Store, CliError> {
    let mut store = Store::open_existing(path)?;
    store.set_cache_size_kib(shareledger_store::READ_CACHE_KIB)?;
    Ok(store)
}

/// The fast path of [`Decoder`]: a stored payload straight into its struct.
mod fast {
    use std::fmt;

    use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
    use serde::Deserialize;
    use shareledger_core::event::Event;

    /// The envelope members a payload carries besides the event's fields.
    #[derive(Default)]
    struct Envelope {
        type_name: Option<String>,
        note: Option<String>,
    }

    /// Deserialize `T` from the JSON object of `payload`, taking its
    /// top-level `type` and `note` members aside (the derive of `T` would
    /// refuse them as unknown fields).
    fn typed<T: for<'de> Deserialize<'de>>(payload: &str) -> Option<(T, Envelope)> {
        let mut env = Envelope::default();
        let mut de = serde_json::Deserializer::from_str(payload);
        let value = T::deserialize(Aside {
            inner: &mut de,
            env: &mut env,
        })
        .ok()?;
        de.end().ok()?;
        Some((value, env))
    }

    macro_rules! decoders {
        ($($name:literal => $variant:ident),* $(,)?) => {
            /// The event of a payload stored as `event_type`, and its note;
            /// `None` when the fast path cannot decide (the caller then uses
            /// the canonical decoder).
            pub(super) fn decode(event_type: &str, payload: &str) -> Option<(Event, Option<String>)> {
                let (event, env) = match event_type {
                    $($name => typed(payload).map(|(e, env)| (Event::$variant(e), env))?,)*
                    _ => return None,
                };
                // The payload's own `type` decides; it must be the stored one.
                if env.type_name.as_deref() != Some(event.type_name()) {
                    return None;
                }
                Some((event, env.note))
            }
        };
    }

    decoders! {
        "issuer_registered" => IssuerRegistered,
        "issuer_settings_changed" => IssuerSettingsChanged,
        "share_class_defined" => ShareClassDefined,
        "opening_balance" => OpeningBalance,
        "repurchase_mandate_granted" => RepurchaseMandateGranted,
        "shares_repurchased" => SharesRepurchased,
        "repurchased_shares_cancelled" => RepurchasedSharesCancelled,
        "shares_issued" => SharesIssued,
        "shares_redeemed" => SharesRedeemed,
        "treasury_shares_sold" => TreasurySharesSold,
        "treasury_shares_transferred" => TreasurySharesTransferred,
        "treasury_shares_cancelled" => TreasurySharesCancelled,
        "authorised_shares_changed" => AuthorisedSharesChanged,
        "share_option_scheme_adopted" => ShareOptionSchemeAdopted,
        "share_options_granted" => ShareOptionsGranted,
        "share_options_lapsed" => ShareOptionsLapsed,
        "share_options_cancelled" => ShareOptionsCancelled,
        "results_announcement_scheduled" => ResultsAnnouncementScheduled,
        "market_closed" => MarketClosed,
        "return_filed" => ReturnFiled,
        "event_voided" => EventVoided,
        "closing_price" => ClosingPrice,
    }

    /// A deserializer of one JSON object that sets `type` and `note` aside.
    struct Aside<'e, D> {
        inner: D,
        env: &'e mut Envelope,
    }

    impl<'de, D: Deserializer<'de>> Deserializer<'de> for Aside<'_, D> {
        type Error = D::Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.inner.deserialize_map(AsideVisitor {
                inner: visitor,
                env: self.env,
            })
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map struct enum identifier ignored_any
        }
    }

    struct AsideVisitor<'e, V> {
        inner: V,
        env: &'e mut Envelope,
    }

    impl<'de, V: Visitor<'de>> Visitor<'de> for AsideVisitor<'_, V> {
        type Value = V::Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.inner.expecting(f)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
            self.inner.visit_map(AsideMap {
                inner: map,
                env: self.env,
            })
        }
    }

    struct AsideMap<'e, A> {
        inner: A,
        env: &'e mut Envelope,
    }

    impl<'de, A: MapAccess<'de>> MapAccess<'de> for AsideMap<'_, A> {
        type Error = A::Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, A::Error> {
            loop {
                // Keys are plain identifiers: borrowed (an escaped key fails
                // here, and the canonical decoder takes over).
                let Some(key) = self.inner.next_key::<&'de str>()? else {
                    return Ok(None);
                };
                match key {
                    "type" if self.env.type_name.is_none() => {
                        self.env.type_name = Some(self.inner.next_value()?);
                    }
                    "note" if self.env.note.is_none() => {
                        self.env.note = Some(self.inner.next_value()?);
                    }
                    "type" | "note" => return Err(de::Error::custom("duplicate envelope member")),
                    _ => {
                        return seed
                            .deserialize(IntoDeserializer::<A::Error>::into_deserializer(key))
                            .map(Some)
                    }
                }
            }
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(
            &mut self,
            seed: V,
        ) -> Result<V::Value, A::Error> {
            self.inner.next_value_seed(seed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shareledger_core::event::parse_line;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("time")
    }

    fn seed_lines() -> Lines {
        crate::commands::read_lines(crate::commands::SEED_LEDGER.as_bytes()).expect("seed parses")
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
            e.message
                .starts_with("log position 7: stored event cannot be read"),
            "{}",
            e.message
        );
        assert!(e.message.contains('x'), "{}", e.message);
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
            let first =
                append_with(&mut store, lines, now, "t", false, Some(pipeline)).expect("first");
            let mut again = grants(2 * CHUNK + 40);
            again.drain(..3);
            let second =
                append_with(&mut store, again, now, "t", false, Some(pipeline)).expect("second");
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
            let e = append_with(&mut store, lines, now, "t", false, Some(pipeline))
                .expect_err("refused");
            assert_eq!(store.count().expect("count"), 0, "nothing written");
            errors.push(e.message);
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
            false,
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
                    Err(CliError::refused(name.to_string()))
                } else {
                    Ok(())
                }
            })
            .expect_err("fails");
            assert_eq!(e.message, "s3", "the earliest stream that failed");
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
            false,
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
