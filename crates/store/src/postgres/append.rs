//! Appending a batch inside a [`super::PgTx`]: the same checks and outcomes
//! as SQLite's `append_rows`, computed in Rust from one set-based read (the
//! batch's ids already stored and its streams' versions),
//! then one multi-row `INSERT … SELECT FROM unnest(…)` per 5,000 rows, the
//! last of them together with the head row's update, inside a savepoint.
//!
//! The transaction already holds the head row's lock (`SELECT … FOR UPDATE`
//! at its start), so no other writer can add a row, an id or a stream
//! version before it commits: what is read here stays true, and positions
//! are handed out gaplessly in commit order.
//!
//! Order of the checks, per event, as on SQLite:
//! 1. `recorded_at` earlier than the latest stored (or earlier in the batch):
//!    a stored id is still a duplicate (a late retry), anything else is
//!    [`StoreError::RecordedAtBackwards`];
//! 2. an id already stored (or earlier in the batch): same content is
//!    [`AppendOutcome::Duplicate`], other content [`StoreError::IdConflict`]
//!    (or, within the batch, an invalid-field error);
//! 3. otherwise the event gets the next position and its stream's next
//!    version, and its hash is [`crate::event_hash`] of the previous hash.

use std::collections::HashMap;

use postgres::GenericClient;

use super::read::{self, clamp, stmt};
use super::{pg_err, Cx, Head};
use crate::error::StoreError;
use crate::event::{AppendOutcome, NewEvent, StoredEvent};
use crate::hash::{event_hash, EventFields};

const INSERT: &str = concat!(
    "INSERT INTO events (",
    read::columns!(),
    ") SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
     $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])"
);

/// The last rows of a batch and the head's advance, in one round trip; the
/// head moves only if every row went in.
const INSERT_AND_ADVANCE: &str = concat!(
    "WITH ins AS (INSERT INTO events (",
    read::columns!(),
    ") SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
     $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) \
     RETURNING 1) \
     UPDATE head SET last_position = $13, last_hash = $14, last_recorded_at = $15 \
     WHERE (SELECT count(*) FROM ins) = $16"
);

/// The stored events with the ids `$1`, then one row per stream of `$2`
/// with a NULL position and the stream's current version (NULL: none).
const LOOKUP: &str = concat!(
    "SELECT ",
    read::columns!(),
    " FROM events WHERE id = ANY($1::text[]) \
     UNION ALL \
     SELECT NULL::bigint, s, (SELECT max(version) FROM events WHERE stream = s), NULL::text, \
     NULL::text, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, \
     NULL::text FROM unnest($2::text[]) AS u(s)"
);

/// Rows per `INSERT` statement (and ids per lookup).
const CHUNK: usize = 5000;

/// The columns of the rows to insert.
#[derive(Default)]
struct Columns<'e> {
    position: Vec<i64>,
    stream: Vec<&'e str>,
    version: Vec<i64>,
    id: Vec<&'e str>,
    event_type: Vec<&'e str>,
    schema_version: Vec<i64>,
    payload: Vec<&'e str>,
    effective_date: Vec<Option<&'e str>>,
    recorded_at: Vec<&'e str>,
    actor: Vec<&'e str>,
    prev_hash: Vec<String>,
    hash: Vec<String>,
}

/// An id seen before: stored, or earlier in this batch.
enum Seen<'a> {
    Stored(&'a StoredEvent),
    Batch(u64, &'a NewEvent),
}

fn duplicate_or_conflict(seen: Seen<'_>, ev: &NewEvent) -> Result<AppendOutcome, StoreError> {
    match seen {
        Seen::Stored(existing) if existing.same_content(ev) => Ok(AppendOutcome::Duplicate {
            position: existing.position,
        }),
        Seen::Stored(existing) => Err(StoreError::IdConflict {
            id: ev.id.clone(),
            position: existing.position,
        }),
        Seen::Batch(position, first)
            if first.stream == ev.stream
                && first.event_type == ev.event_type
                && first.schema_version == ev.schema_version
                && first.payload == ev.payload
                && first.effective_date == ev.effective_date =>
        {
            Ok(AppendOutcome::Duplicate { position })
        }
        Seen::Batch(..) => Err(StoreError::invalid(
            &ev.id,
            "id",
            &ev.id,
            "the same id appears twice in this batch with different content: give each event its own id",
        )),
    }
}

/// Append `events` after `head` (the locked head row, updated on success).
/// Nothing is written unless the whole batch is.
pub(crate) fn append_rows<'a, C: GenericClient, E: AsRef<NewEvent>>(
    c: &mut C,
    cx: &Cx<'_>,
    head: &mut Head,
    events: &'a [E],
) -> Result<Vec<AppendOutcome>, StoreError> {
    let doing = "appending events";
    // Ids already stored and the current version of every stream the batch
    // names: one query (a round trip) per 5,000 of each.
    let ids: Vec<&str> = events.iter().map(|e| e.as_ref().id.as_str()).collect();
    let names: Vec<&str> = {
        let mut v: Vec<&str> = events.iter().map(|e| e.as_ref().stream.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut stored: HashMap<String, StoredEvent> = HashMap::new();
    let mut versions: HashMap<&str, u64> = HashMap::new();
    let lookup = stmt(c, cx, LOOKUP)?;
    let part = |v: &[&'a str], k: usize| -> Vec<&'a str> {
        v.iter().skip(k * CHUNK).take(CHUNK).copied().collect()
    };
    for k in 0..ids.len().max(names.len()).div_ceil(CHUNK) {
        let (id_part, name_part) = (part(&ids, k), part(&names, k));
        let rows = c
            .query(&lookup, &[&id_part, &name_part])
            .map_err(|e| pg_err(cx.location, doing, e))?;
        for r in &rows {
            let position: Option<i64> = r.try_get(0).map_err(|e| pg_err(cx.location, doing, e))?;
            if position.is_some() {
                let ev = read::row_to_event(r, cx)?;
                stored.insert(ev.id.clone(), ev);
                continue;
            }
            let name = read::str_col(r, 1, cx)?;
            let v: Option<i64> = r.try_get(2).map_err(|e| pg_err(cx.location, doing, e))?;
            let v = u64::try_from(v.unwrap_or(0)).unwrap_or(0);
            // `names` is sorted: find the batch's own &str for the key.
            if let Ok(i) = names.binary_search(&name) {
                versions.insert(names[i], v);
            }
        }
    }

    let mut last_pos = head.position;
    let mut last_hash = head.hash.clone();
    let mut latest_at: Option<&str> = head.recorded_at.as_deref();
    let mut in_batch: HashMap<&str, (u64, &NewEvent)> = HashMap::new();
    let mut cols = Columns::default();
    let mut outcomes = Vec::with_capacity(events.len());
    for ev in events {
        let ev = ev.as_ref();
        let seen = stored.get(&ev.id).map(Seen::Stored).or_else(|| {
            in_batch
                .get(ev.id.as_str())
                .map(|(p, e)| Seen::Batch(*p, e))
        });
        if let Some(latest) = latest_at {
            if ev.recorded_at.as_str() < latest {
                let Some(seen) = seen else {
                    return Err(StoreError::RecordedAtBackwards {
                        given: ev.recorded_at.clone(),
                        latest: latest.to_string(),
                    });
                };
                outcomes.push(duplicate_or_conflict(seen, ev)?);
                continue;
            }
        }
        if let Some(seen) = seen {
            outcomes.push(duplicate_or_conflict(seen, ev)?);
            continue;
        }
        let version = versions.get(ev.stream.as_str()).copied().unwrap_or(0) + 1;
        let position = last_pos + 1;
        let fields = EventFields {
            position,
            stream: &ev.stream,
            version,
            id: &ev.id,
            event_type: &ev.event_type,
            schema_version: ev.schema_version,
            payload: &ev.payload,
            effective_date: ev.effective_date.as_deref(),
            recorded_at: &ev.recorded_at,
            actor: &ev.actor,
        };
        let hash = event_hash(&last_hash, &fields);
        cols.position.push(clamp(position));
        cols.stream.push(&ev.stream);
        cols.version.push(clamp(version));
        cols.id.push(&ev.id);
        cols.event_type.push(&ev.event_type);
        cols.schema_version.push(i64::from(ev.schema_version));
        cols.payload.push(&ev.payload);
        cols.effective_date.push(ev.effective_date.as_deref());
        cols.recorded_at.push(&ev.recorded_at);
        cols.actor.push(&ev.actor);
        cols.prev_hash
            .push(std::mem::replace(&mut last_hash, hash.clone()));
        cols.hash.push(hash);
        versions.insert(&ev.stream, version);
        in_batch.insert(&ev.id, (position, ev));
        last_pos = position;
        latest_at = Some(&ev.recorded_at);
        outcomes.push(AppendOutcome::Appended { position, version });
    }
    if cols.position.is_empty() {
        return Ok(outcomes);
    }

    // A savepoint makes the batch atomic on its own: a failed INSERT would
    // otherwise abort the caller's whole transaction (and a COMMIT of an
    // aborted transaction silently rolls back).
    let mut sp = c.transaction().map_err(|e| pg_err(cx.location, doing, e))?;
    let insert = stmt(&mut sp, cx, INSERT)?;
    let insert_last = stmt(&mut sp, cx, INSERT_AND_ADVANCE)?;
    let last_at = latest_at.map(str::to_string);
    let (head_position, n) = (clamp(last_pos), cols.position.len());
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        let r = start..end;
        let rows = (end - start) as i64;
        let columns: [&(dyn postgres::types::ToSql + Sync); 12] = [
            &&cols.position[r.clone()],
            &&cols.stream[r.clone()],
            &&cols.version[r.clone()],
            &&cols.id[r.clone()],
            &&cols.event_type[r.clone()],
            &&cols.schema_version[r.clone()],
            &&cols.payload[r.clone()],
            &&cols.effective_date[r.clone()],
            &&cols.recorded_at[r.clone()],
            &&cols.actor[r.clone()],
            &&cols.prev_hash[r.clone()],
            &&cols.hash[r.clone()],
        ];
        if end < n {
            let inserted = sp
                .execute(&insert, &columns)
                .map_err(|e| pg_err(cx.location, doing, e))?;
            if inserted != rows as u64 {
                return Err(StoreError::Postgres {
                    location: cx.location.to_string(),
                    doing,
                    message: format!("inserted {inserted} rows of {rows}"),
                    sqlstate: None,
                });
            }
        } else {
            // The last chunk and the head's advance in one statement.
            let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = columns.to_vec();
            params.extend_from_slice(&[&head_position, &last_hash, &last_at, &rows]);
            let updated = sp
                .execute(&insert_last, &params)
                .map_err(|e| pg_err(cx.location, doing, e))?;
            if updated != 1 {
                return Err(super::head_missing(cx));
            }
        }
        start = end;
    }
    sp.commit().map_err(|e| pg_err(cx.location, doing, e))?;
    head.position = last_pos;
    head.hash = last_hash;
    head.recorded_at = last_at;
    Ok(outcomes)
}
