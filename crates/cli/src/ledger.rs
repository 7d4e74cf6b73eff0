//! The glue between the store (opaque rows) and the core (events, register):
//! decoding stored rows, replaying streams into a register, and appending
//! decided events atomically. Nothing here knows a rule of share capital.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use shareledger_core::event::{Incoming, Recorded, MARKET_STREAM, SCHEMA_VERSION};
use shareledger_core::state::Register;
use shareledger_store::{ExpectedVersion, NewEvent, ReadFilter, Store, StoreError, StoredEvent};
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

/// Decode one stored row into a recorded event.
pub fn decode(row: &StoredEvent) -> Result<Recorded, CliError> {
    let id = Uuid::parse_str(&row.id).map_err(|_| {
        CliError::refused(format!(
            "log position {}: stored id {:?} is not a UUID: run `shareledger audit`",
            row.position, row.id
        ))
    })?;
    let at = DateTime::parse_from_rfc3339(&row.recorded_at).map_err(|_| {
        CliError::refused(format!(
            "log position {}: stored recorded_at {:?} is not a time: run `shareledger audit`",
            row.position, row.recorded_at
        ))
    })?;
    Recorded::from_payload(id, at, row.actor.clone(), &row.payload, Some(row.position)).map_err(
        |e| {
            CliError::refused(format!(
                "log position {}: stored event cannot be read: {e}",
                row.position
            ))
        },
    )
}

/// Replay rows into `register`. A stored event the core now refuses means
/// the log is inconsistent: an error that points to `audit`.
pub fn replay_rows(
    register: &mut Register,
    rows: impl Iterator<Item = Result<StoredEvent, StoreError>>,
) -> Result<u64, CliError> {
    let mut n = 0;
    for row in rows {
        let row = row?;
        let rec = decode(&row)?;
        register.execute(rec).map_err(|r| {
            CliError::refused(format!(
                "log position {} ({}) no longer replays: {r}: run `shareledger audit` for details",
                row.position, row.event_type
            ))
        })?;
        n += 1;
    }
    Ok(n)
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
        replay_rows(&mut register, store.events(&filter))?;
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
pub fn append(
    store: &mut Store,
    lines: Lines,
    now: DateTime<FixedOffset>,
    actor: &str,
    dry_run: bool,
) -> Result<AppendSummary, CliError> {
    store.write(|tx| {
        let mut register = Register::new();
        let mut loaded: HashSet<String> = HashSet::new();
        let mut expected: BTreeMap<String, u64> = BTreeMap::new();
        let mut batch_ids: HashMap<Uuid, (usize, String)> = HashMap::new();
        let mut last = tx.last_recorded_at()?;
        let mut new_events = Vec::new();
        let mut summary = AppendSummary::default();
        for (line, incoming) in lines {
            let at = |msg: String| CliError::refused(format!("line {line}: {msg}"));
            let rec = incoming.into_recorded(Uuid::new_v4, now, actor);
            let payload = rec.payload();
            let stream = rec.event.stream().to_string();
            // Idempotency by id: the same content again is a no-op.
            if let Some(stored) = tx.find_by_id(&rec.id.to_string())? {
                if stored.stream == stream && stored.event_type == rec.event.type_name() && stored.payload == payload {
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
            // Load the streams this event is judged against.
            for s in [MARKET_STREAM, stream.as_str()] {
                if loaded.insert(s.to_string()) {
                    let version = tx.stream_version(s)?;
                    replay_rows(&mut register, tx.events(&ReadFilter::stream(s)))?;
                    expected.insert(s.to_string(), version);
                }
            }
            let recorded_at = store_time(&rec.recorded_at);
            if let Some(l) = &last {
                if recorded_at < *l {
                    return Err(at(format!(
                        "field `recorded_at`: {} is earlier than the latest event already in the log ({l}): the log is in the order the ledger learned things; give a later time or none (default: now)",
                        rec.recorded_at
                    )));
                }
            }
            last = Some(recorded_at.clone());
            register.execute(rec.clone()).map_err(|r| at(format!("{}: {r}", rec.event.type_name())))?;
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
        }
        if dry_run || new_events.is_empty() {
            return Ok(summary);
        }
        let expected: Vec<(String, ExpectedVersion)> =
            expected.into_iter().map(|(s, v)| (s, if v == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(v) })).collect();
        let outcomes = tx.append(&expected, &new_events)?;
        summary.first_position = outcomes.first().map(|o| o.position());
        for (rec, o) in summary.appended.iter_mut().zip(&outcomes) {
            rec.position = Some(o.position());
        }
        Ok(summary)
    })
}

/// Open the store for reading; a missing file is a clear error.
pub fn open_existing(path: &Path) -> Result<Store, CliError> {
    Ok(Store::open_existing(path)?)
}
