//! [`copy_log`]: copy a whole ledger into an empty one on any engine (SQLite
//! to PostgreSQL and back), keeping every position, id, stream version,
//! recorded time, actor and payload, hence every hash.
//!
//! The copy is one write transaction on the target: the source's chain is
//! verified first and copied up to the head it verified (events appended to
//! the source meanwhile are not copied); each batch appended to the target is
//! read back inside the transaction and compared with the source row by row
//! (position, version and hash). Any difference, or any error, rolls the
//! whole copy back: nothing is written unless all of it is. After the
//! commit the target's chain is verified from end to end and its head must
//! equal the source's.

use crate::engine::{EventRead, EventStore, EventTx};
use crate::error::StoreError;
use crate::event::{AppendOutcome, NewEvent, StoredEvent};
use crate::read::ReadFilter;
use crate::store::Verification;

/// Events appended to the target per batch.
const BATCH: usize = 2000;

/// Copy every event of `from` into the empty ledger `to`; returns the
/// verification of the target after the copy.
///
/// Refused without writing anything: a target that already holds events
/// ([`StoreError::CopyTargetNotEmpty`]), a source whose chain does not verify
/// and a copy that would differ from the source
/// ([`StoreError::CopyMismatch`]), and any error of either engine.
pub fn copy_log(
    from: &impl EventStore,
    to: &mut impl EventStore,
) -> Result<Verification, StoreError> {
    let (src, dst) = (from.location(), to.location());
    let mismatch = |position: u64, reason: String| StoreError::CopyMismatch {
        from: src.clone(),
        to: dst.clone(),
        position,
        reason,
    };
    let source = from.verify()?;
    if let Some(at) = source.broken_at {
        return Err(mismatch(
            at,
            format!(
                "the source's chain is broken: {}; run the audit on the source",
                source.reason.as_deref().unwrap_or("")
            ),
        ));
    }
    let Some((last, last_hash)) = source.head.clone() else {
        // An empty source: nothing to copy, but the target must be empty too.
        let n = to.count()?;
        if n > 0 {
            return Err(StoreError::CopyTargetNotEmpty {
                location: dst,
                events: n,
            });
        }
        return to.verify();
    };

    to.write(|tx| {
        let n = tx.count()?;
        if n > 0 {
            return Err(StoreError::CopyTargetNotEmpty {
                location: dst.clone(),
                events: n,
            });
        }
        let filter = ReadFilter {
            to_position: Some(last),
            ..ReadFilter::default()
        };
        let mut rows = from.events(&filter);
        let mut batch: Vec<StoredEvent> = Vec::with_capacity(BATCH);
        let mut copied = 0u64;
        loop {
            batch.clear();
            for row in rows.by_ref() {
                batch.push(row?);
                if batch.len() == BATCH {
                    break;
                }
            }
            if batch.is_empty() {
                break;
            }
            let events: Vec<NewEvent> = batch.iter().map(as_new).collect();
            let out = tx.append(&[], &events)?;
            for (o, row) in out.iter().zip(&batch) {
                match *o {
                    AppendOutcome::Appended { position, version }
                        if position == row.position && version == row.version => {}
                    other => {
                        return Err(mismatch(
                            row.position,
                            format!("the event was stored as {other:?} in the target"),
                        ))
                    }
                }
            }
            let first = batch[0].position;
            let last_in_batch = batch[batch.len() - 1].position;
            let back = ReadFilter {
                from_position: first - 1,
                to_position: Some(last_in_batch),
                ..ReadFilter::default()
            };
            let mut i = 0usize;
            for stored in tx.events(&back) {
                let stored = stored?;
                let Some(orig) = batch.get(i) else {
                    return Err(mismatch(
                        stored.position,
                        "an extra row in the target".into(),
                    ));
                };
                if stored != *orig {
                    return Err(mismatch(
                        orig.position,
                        format!(
                            "the target's row differs (hash {} instead of {})",
                            stored.hash, orig.hash
                        ),
                    ));
                }
                i += 1;
            }
            if i != batch.len() {
                return Err(mismatch(
                    batch[i].position,
                    "the row is missing in the target".into(),
                ));
            }
            copied += batch.len() as u64;
        }
        if copied != last {
            return Err(mismatch(
                copied + 1,
                format!("copied {copied} events of the {last} verified"),
            ));
        }
        match tx.head()? {
            Some((p, h)) if p == last && h == last_hash => Ok(()),
            other => Err(mismatch(
                last,
                format!("the target's head is {other:?}, not ({last}, {last_hash})"),
            )),
        }
    })?;

    let copy = to.verify()?;
    if copy.broken_at.is_some() || copy.head != source.head {
        return Err(mismatch(
            copy.broken_at.unwrap_or(last),
            format!(
                "after the copy the target verifies as {copy:?}, the source's head is ({last}, {last_hash}); \
                 the copy was committed: something changed the target meanwhile"
            ),
        ));
    }
    Ok(copy)
}

fn as_new(e: &StoredEvent) -> NewEvent {
    NewEvent {
        id: e.id.clone(),
        stream: e.stream.clone(),
        event_type: e.event_type.clone(),
        schema_version: e.schema_version,
        payload: e.payload.clone(),
        effective_date: e.effective_date.clone(),
        recorded_at: e.recorded_at.clone(),
        actor: e.actor.clone(),
    }
}
