//! Replaying the log into registers: one issuer as known at a time
//! ([`load_issuer`]), every stream on several threads ([`for_each_stream`]),
//! the whole log ([`replay_all`]); and, for a register without history
//! (the append's), a stream's corrections read first ([`corrections`])
//! and its live events replayed row by row ([`replay_live`]).

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset};
use shareledger_core::event::{Event, Recorded, MARKET_STREAM};
use shareledger_core::state::Register;
use shareledger_store::{EventRead, EventRef, EventStore, ReadFilter, StoreError, StoredEvent};
use uuid::Uuid;

use crate::decode::Decoder;
use crate::error::LedgerError;
use crate::time::store_time;

/// Replay rows into `register`. A stored event the core now refuses means
/// the log is inconsistent: an error that points to `audit`.
pub fn replay_rows(
    register: &mut Register,
    rows: impl Iterator<Item = Result<StoredEvent, StoreError>>,
) -> Result<u64, LedgerError> {
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
/// ([`shareledger_store::EventRead::scan`]: no row is copied, the hashes are not read).
pub fn replay_filter<S: EventStore>(
    register: &mut Register,
    store: &S,
    filter: &ReadFilter,
) -> Result<u64, LedgerError> {
    let mut decoder = Decoder::new();
    store.scan(filter, |row| decoder.replay(register, row))
}

/// How many streams [`for_each_stream`] works on at once by default: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run `work` on every stream of `streams`, up to `threads` at a time: the
/// calling thread with `store`, and `threads - 1` more threads each with its
/// own reader connection to the same ledger ([`EventStore::reader`]). Each stream
/// is worked on whole by one thread, so memory is that of `threads` streams
/// at most. Results come back in the order of `streams`. On an error the
/// workers stop taking new streams, and the error of the earliest stream
/// that failed is returned.
pub fn for_each_stream<S: EventStore, T: Send>(
    store: &S,
    streams: &[String],
    threads: usize,
    work: impl Fn(&S, &str) -> Result<T, LedgerError> + Sync,
) -> Result<Vec<T>, LedgerError> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let run = |store: &S| {
        let mut out: Vec<(usize, Result<T, LedgerError>)> = Vec::new();
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
    // The readers are opened here: a connection may move to another thread
    // but is not shared between threads.
    let readers: Vec<Result<S, StoreError>> = (0..extra).map(|_| store.stream_reader()).collect();
    let run = &run;
    let failed = &failed;
    let mut done: Vec<(usize, Result<T, LedgerError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = readers
            .into_iter()
            .map(|reader| {
                s.spawn(move || match reader {
                    Ok(own) => run(&own),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        vec![(usize::MAX, Err(LedgerError::from(e)))]
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
pub fn replay_all<S: EventStore>(store: &S, threads: usize) -> Result<u64, LedgerError> {
    let mut market = Register::new();
    let n = replay_filter(&mut market, store, &ReadFilter::stream(MARKET_STREAM))?;
    let streams: Vec<String> = store
        .streams()?
        .into_iter()
        .filter(|s| s != MARKET_STREAM && crate::access::is_register_stream(s))
        .collect();
    let counts = for_each_stream(store, &streams, threads, |store, stream| {
        let mut register = market.clone();
        replay_filter(&mut register, store, &ReadFilter::stream(stream))
    })?;
    Ok(n + counts.iter().sum::<u64>())
}

/// The register of one issuer (and the market calendar) as known at `known_at`.
pub fn load_issuer<S: EventStore>(
    store: &S,
    issuer: &str,
    known_at: Option<&DateTime<FixedOffset>>,
) -> Result<Register, LedgerError> {
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
            .filter(|s| s != MARKET_STREAM && crate::access::is_register_stream(s))
            .collect::<Vec<_>>();
        return Err(LedgerError::NotFound(format!(
            "no issuer `{issuer}` in {}{}: {}",
            store.location(),
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

/// The corrections of `stream` (`event_voided` with an issuer): each one's
/// log position and the id it voids, read through the index of events
/// without a date (a correction has none; [`replay_live`] refuses one
/// stored otherwise, so none is missed silently).
pub(crate) fn corrections<T: EventRead>(
    tx: &T,
    stream: &str,
    decoder: &mut Decoder,
) -> Result<Vec<(u64, Uuid)>, LedgerError> {
    let mut voids = Vec::new();
    tx.scan_on_date(stream, None, |row| {
        if row.event_type == "event_voided" {
            if let Event::EventVoided(v) = decoder.decode(row)?.event {
                if v.issuer.is_some() {
                    voids.push((row.position, v.voided_id));
                }
            }
        }
        Ok::<(), LedgerError>(())
    })?;
    Ok(voids)
}

/// Replay one stored row into `register` (without history) unless it is a
/// correction or an event one voids (`voided`, read first with
/// [`corrections`]: the state the corrections replayed to); `live` sees
/// each event replayed. An event the core now refuses means the log is
/// inconsistent: an error that points to `audit`.
pub(crate) fn replay_live(
    register: &mut Register,
    decoder: &mut Decoder,
    voided: &HashSet<Uuid>,
    row: EventRef<'_>,
    live: &mut dyn FnMut(&Recorded),
) -> Result<(), LedgerError> {
    let rec = decoder.decode(row)?;
    if let Event::EventVoided(v) = &rec.event {
        if v.issuer.is_some() {
            if !voided.contains(&v.voided_id) {
                // Not found through the index of events without a date:
                // its stored columns disagree with it.
                return Err(LedgerError::Inconsistent(format!(
                    "log position {}: an event_voided stored as {} with a date: run `shareledger audit`",
                    row.position, row.event_type
                )));
            }
            return Ok(());
        }
    }
    if voided.contains(&rec.id) {
        return Ok(());
    }
    live(&rec);
    register.execute(rec).map_err(|r| {
        LedgerError::Inconsistent(format!(
            "log position {} ({}) no longer replays: {r}: run `shareledger audit` for details",
            row.position, row.event_type
        ))
    })
}
