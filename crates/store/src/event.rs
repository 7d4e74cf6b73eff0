//! The value types that go in and out of the store: [`NewEvent`],
//! [`StoredEvent`], [`ExpectedVersion`], [`AppendOutcome`], plus the format
//! checks the store applies to timestamps and dates.
//!
//! The store treats `payload` as opaque canonical JSON text: it checks only
//! that it *is* JSON, never what it says. Timestamps are the one thing the
//! store does interpret, and only by their text: `recorded_at` has a fixed
//! width (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, 27 characters, UTC), so comparing the
//! strings compares the instants. That is what lets the store enforce
//! "recorded_at never goes backwards" and lets readers stop early on
//! [`crate::ReadFilter::recorded_until`].

use std::fmt;

use crate::error::StoreError;
use crate::hash::EventFields;

/// One event to append. All strings are already validated and canonicalised
/// by the caller; the store re-checks only what its own invariants need
/// (non-empty id/stream/event_type, timestamp and date shapes, JSON payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// UUID text, unique across the store.
    pub id: String,
    /// Stream name, e.g. an issuer id `"02121"` or `"$market"`.
    pub stream: String,
    /// Event type, e.g. `"shares_repurchased"`.
    pub event_type: String,
    /// Version of the payload schema for this event type.
    pub schema_version: u32,
    /// Canonical JSON text (opaque to the store).
    pub payload: String,
    /// `"YYYY-MM-DD"` or `None`.
    pub effective_date: Option<String>,
    /// Fixed-width UTC `"YYYY-MM-DDTHH:MM:SS.ffffffZ"` (27 chars).
    pub recorded_at: String,
    /// Who recorded it.
    pub actor: String,
}

/// One event as stored, with its position, stream version and chain hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Gapless global position from 1.
    pub position: u64,
    /// Stream name.
    pub stream: String,
    /// Gapless per-stream version from 1.
    pub version: u64,
    /// Event id (unique).
    pub id: String,
    /// Event type.
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: u32,
    /// Canonical JSON text.
    pub payload: String,
    /// `"YYYY-MM-DD"` or `None`.
    pub effective_date: Option<String>,
    /// Fixed-width UTC timestamp.
    pub recorded_at: String,
    /// Who recorded it.
    pub actor: String,
    /// Lowercase hex SHA-256, see [`crate::event_hash`].
    pub hash: String,
    /// Hash of the previous event; 64 zeros for position 1.
    pub prev_hash: String,
}

impl StoredEvent {
    /// The hashed fields of this event, for [`crate::event_hash`].
    pub fn fields(&self) -> EventFields<'_> {
        EventFields {
            position: self.position,
            stream: &self.stream,
            version: self.version,
            id: &self.id,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            payload: &self.payload,
            effective_date: self.effective_date.as_deref(),
            recorded_at: &self.recorded_at,
            actor: &self.actor,
        }
    }

    /// Recompute this event's hash from `prev_hash` and its fields.
    pub fn computed_hash(&self) -> String {
        crate::hash::event_hash(&self.prev_hash, &self.fields())
    }

    /// Whether `new` carries the same content as this stored event, in the
    /// sense of idempotent re-append: same stream, event type, schema version,
    /// payload and effective date. `recorded_at` and `actor` may differ (a
    /// retry happens later, possibly by someone else).
    pub fn same_content(&self, new: &NewEvent) -> bool {
        self.stream == new.stream
            && self.event_type == new.event_type
            && self.schema_version == new.schema_version
            && self.payload == new.payload
            && self.effective_date == new.effective_date
    }
}

/// Optimistic concurrency expectation for one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet (version 0).
    NoStream,
    /// The stream must be at exactly this version (0 = absent).
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream currently at `actual` satisfies this expectation.
    pub fn matches(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(v) => actual == v,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream (version 0)"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// What happened to one event of an append batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Newly stored.
    Appended {
        /// Its global position.
        position: u64,
        /// Its version in its stream.
        version: u64,
    },
    /// Already stored with the same content; nothing was written.
    Duplicate {
        /// Position of the stored event.
        position: u64,
    },
}

impl AppendOutcome {
    /// The position of the event, whether new or duplicate.
    pub fn position(self) -> u64 {
        match self {
            AppendOutcome::Appended { position, .. } | AppendOutcome::Duplicate { position } => {
                position
            }
        }
    }
}

/// Length of a `recorded_at` timestamp: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub const RECORDED_AT_LEN: usize = 27;

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn valid_ymd(b: &[u8]) -> bool {
    debug_assert_eq!(b.len(), 10);
    if b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10]))
    else {
        return false;
    };
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
}

/// Whether `s` is a date `YYYY-MM-DD` that exists in the Gregorian calendar.
pub fn is_valid_date(s: &str) -> bool {
    s.len() == 10 && valid_ymd(s.as_bytes())
}

/// Whether `s` is a fixed-width UTC timestamp `YYYY-MM-DDTHH:MM:SS.ffffffZ`
/// (27 characters, microseconds, literal `T` and `Z`; second 60 allowed for
/// leap seconds).
pub fn is_valid_recorded_at(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != RECORDED_AT_LEN || !valid_ymd(&b[0..10]) {
        return false;
    }
    if b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.' || b[26] != b'Z' {
        return false;
    }
    matches!(
        (digits(&b[11..13]), digits(&b[14..16]), digits(&b[17..19]), digits(&b[20..26])),
        (Some(h), Some(mi), Some(sec), Some(_)) if h < 24 && mi < 60 && sec <= 60
    )
}

/// A [`NewEvent`] whose shape the store has checked ([`NewEvent::validate`]):
/// what [`crate::WriteTx::append_valid`] takes. The check is the one
/// [`crate::WriteTx::append`] makes; taking it out of the write lets a caller
/// run it elsewhere (another thread) while the write goes on, and the type
/// guarantees it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEvent(NewEvent);

impl NewEvent {
    /// Check the shape of this event as [`crate::WriteTx::append`] would:
    /// non-empty id, stream and event type, well-formed `recorded_at` and
    /// `effective_date`, a JSON payload.
    pub fn validate(self) -> Result<ValidEvent, StoreError> {
        validate_new_event(&self)?;
        Ok(ValidEvent(self))
    }
}

impl ValidEvent {
    /// The event.
    pub fn event(&self) -> &NewEvent {
        &self.0
    }

    /// Back to a plain [`NewEvent`].
    pub fn into_inner(self) -> NewEvent {
        self.0
    }
}

impl AsRef<NewEvent> for NewEvent {
    fn as_ref(&self) -> &NewEvent {
        self
    }
}

impl AsRef<NewEvent> for ValidEvent {
    fn as_ref(&self) -> &NewEvent {
        &self.0
    }
}

/// Check the shape of a [`NewEvent`] before anything is written.
pub(crate) fn validate_new_event(ev: &NewEvent) -> Result<(), StoreError> {
    let bad = |field, value: &str, reason| Err(StoreError::invalid(&ev.id, field, value, reason));
    if ev.id.is_empty() {
        return bad("id", &ev.id, "must not be empty");
    }
    if ev.stream.is_empty() {
        return bad("stream", &ev.stream, "must not be empty");
    }
    if ev.event_type.is_empty() {
        return bad("event_type", &ev.event_type, "must not be empty");
    }
    // PostgreSQL's text cannot hold NUL: refused on every engine, so a ledger
    // can always be copied from one to the other.
    for (field, value) in [
        ("id", &ev.id),
        ("stream", &ev.stream),
        ("event_type", &ev.event_type),
        ("actor", &ev.actor),
    ] {
        if value.contains('\0') {
            return bad(field, value, "must not contain a NUL character");
        }
    }
    if !is_valid_recorded_at(&ev.recorded_at) {
        return bad(
            "recorded_at",
            &ev.recorded_at,
            "expected fixed-width UTC YYYY-MM-DDTHH:MM:SS.ffffffZ (27 characters)",
        );
    }
    if let Some(d) = &ev.effective_date {
        if !is_valid_date(d) {
            return bad("effective_date", d, "expected a calendar date YYYY-MM-DD");
        }
    }
    if serde_json::from_str::<serde::de::IgnoredAny>(&ev.payload).is_err() {
        return bad("payload", &ev.payload, "must be a JSON text");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_at_format() {
        assert!(is_valid_recorded_at("2024-02-29T23:59:59.999999Z"));
        assert!(is_valid_recorded_at("2024-01-01T00:00:00.000000Z"));
        assert!(!is_valid_recorded_at("2023-02-29T00:00:00.000000Z"));
        assert!(!is_valid_recorded_at("2024-01-01T00:00:00Z"));
        assert!(!is_valid_recorded_at("2024-01-01 00:00:00.000000Z"));
        assert!(!is_valid_recorded_at("2024-01-01T24:00:00.000000Z"));
        assert!(!is_valid_recorded_at("2024-13-01T00:00:00.000000Z"));
        assert!(!is_valid_recorded_at("2024-01-01T00:00:00.000000+"));
        assert!(!is_valid_recorded_at("2024-01-01T00:00:00.00000aZ"));
        assert!(!is_valid_recorded_at("２024-01-01T00:00:00.00000Z"));
    }

    #[test]
    fn date_format() {
        assert!(is_valid_date("2000-02-29"));
        assert!(!is_valid_date("1900-02-29"));
        assert!(!is_valid_date("2024-04-31"));
        assert!(!is_valid_date("2024-4-30"));
        assert!(!is_valid_date("0000-01-01"));
    }
}
