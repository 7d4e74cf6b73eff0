//! [`ChainCheck`]: the chain invariants checked row by row, shared by every
//! engine's `verify` so that SQLite and PostgreSQL judge a log by exactly the
//! same rules (see [`crate::Store::verify`]).
//!
//! Rows are fed in position order; the checker keeps only the previous hash,
//! the previous `recorded_at` and each stream's last version, so a log of
//! millions of events is checked in memory proportional to its streams.

use std::collections::HashMap;

use crate::event::is_valid_recorded_at;
use crate::hash::{event_hash_hex, EventFields, GENESIS_PREV_HASH};
use crate::store::Verification;

/// The state of a chain check part-way through the log.
#[derive(Debug)]
pub(crate) struct ChainCheck {
    ok: u64,
    last_position: u64,
    prev_hash: String,
    last_at: Option<String>,
    versions: HashMap<String, u64>,
}

impl ChainCheck {
    pub(crate) fn new() -> ChainCheck {
        ChainCheck {
            ok: 0,
            last_position: 0,
            prev_hash: GENESIS_PREV_HASH.to_string(),
            last_at: None,
            versions: HashMap::new(),
        }
    }

    /// Check the next row (`ev` with its stored `prev_hash` and `hash`).
    /// `Some((position, reason))` when the chain breaks here; the row is then
    /// not counted and the check must stop ([`ChainCheck::broken`]).
    pub(crate) fn push(
        &mut self,
        ev: &EventFields<'_>,
        ev_prev_hash: &str,
        ev_hash: &str,
    ) -> Option<(u64, String)> {
        let ok = self.ok;
        let expected_pos = ok + 1;
        let problem = if ev.position != expected_pos {
            Some((
                expected_pos,
                format!(
                    "position {} follows position {}: event {expected_pos} is missing",
                    ev.position, ok
                ),
            ))
        } else if ev_prev_hash != self.prev_hash {
            Some((
                ev.position,
                format!(
                    "prev_hash {} does not equal the hash {} of the previous event",
                    ev_prev_hash, self.prev_hash
                ),
            ))
        } else if event_hash_hex(ev_prev_hash, ev)[..] != *ev_hash.as_bytes() {
            Some((
                ev.position,
                "stored hash does not match the event's content (altered row)".to_string(),
            ))
        } else if !is_valid_recorded_at(ev.recorded_at) {
            Some((
                ev.position,
                format!("recorded_at {:?} is malformed", ev.recorded_at),
            ))
        } else if self.last_at.as_deref().is_some_and(|l| ev.recorded_at < l) {
            Some((
                ev.position,
                format!(
                    "recorded_at {} is earlier than the previous event's {}",
                    ev.recorded_at,
                    self.last_at.as_deref().unwrap_or_default()
                ),
            ))
        } else {
            let current = self.versions.get(ev.stream).copied().unwrap_or(0);
            (ev.version != current + 1).then(|| {
                (
                    ev.position,
                    format!(
                        "stream {:?} version {} follows version {current}",
                        ev.stream, ev.version
                    ),
                )
            })
        };
        if problem.is_some() {
            return problem;
        }
        match self.versions.get_mut(ev.stream) {
            Some(v) => *v = ev.version,
            None => {
                self.versions.insert(ev.stream.to_string(), ev.version);
            }
        }
        self.ok += 1;
        self.last_position = ev.position;
        self.prev_hash.clear();
        self.prev_hash.push_str(ev_hash);
        match &mut self.last_at {
            Some(l) => {
                l.clear();
                l.push_str(ev.recorded_at);
            }
            None => self.last_at = Some(ev.recorded_at.to_string()),
        }
        None
    }

    /// The result of a check that broke at `at` for `reason`.
    pub(crate) fn broken(self, at: u64, reason: String) -> Verification {
        Verification {
            events: self.ok,
            head: (self.ok > 0).then_some((self.last_position, self.prev_hash)),
            broken_at: Some(at),
            reason: Some(reason),
        }
    }

    /// The result of a check that reached the end of the log.
    pub(crate) fn finish(self) -> Verification {
        Verification {
            events: self.ok,
            head: (self.ok > 0).then_some((self.last_position, self.prev_hash)),
            broken_at: None,
            reason: None,
        }
    }
}
