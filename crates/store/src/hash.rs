//! The hash chain: [`event_hash`] and its input, [`EventFields`].
//!
//! Each stored event carries `hash = SHA-256(encoding)` where `encoding` is the
//! concatenation, in this order, of
//!
//! | part              | encoding                                 |
//! |-------------------|------------------------------------------|
//! | `prev_hash` (hex) | `str`                                    |
//! | `position`        | `u64`                                    |
//! | `stream`          | `str`                                    |
//! | `version`         | `u64`                                    |
//! | `id`              | `str`                                    |
//! | `event_type`      | `str`                                    |
//! | `schema_version`  | `u32`                                    |
//! | `payload`         | `str`                                    |
//! | `effective_date`  | `0x00` for `None`; `0x01` then `str`     |
//! | `recorded_at`     | `str`                                    |
//! | `actor`           | `str`                                    |
//!
//! with `u64`/`u32` = fixed-width big-endian integers and `str` = the UTF-8
//! byte length as `u64` followed by the bytes. Every part is either fixed-width
//! or length-prefixed, so two different field tuples never share an encoding
//! (in particular `None` and `Some("")` differ). `prev_hash` is hashed as its
//! 64-character lowercase hex text, [`GENESIS_PREV_HASH`] for position 1.
//!
//! The chain makes any change to, insertion before, or deletion of a stored
//! event detectable from the following events — but *not* removal of the
//! newest events (the truncated log is itself a valid chain). Detecting that
//! needs a checkpoint kept elsewhere: a `(position, hash)` from
//! [`crate::Store::head`] that must still be found by
//! [`crate::Store::hash_at`].

use sha2::{Digest, Sha256};

/// `prev_hash` of the event at position 1: 64 zeros.
pub const GENESIS_PREV_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// The hashed fields of one event (everything except the hashes themselves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFields<'a> {
    /// Global position.
    pub position: u64,
    /// Stream name.
    pub stream: &'a str,
    /// Per-stream version.
    pub version: u64,
    /// Event id.
    pub id: &'a str,
    /// Event type.
    pub event_type: &'a str,
    /// Payload schema version.
    pub schema_version: u32,
    /// Canonical JSON payload.
    pub payload: &'a str,
    /// Effective date, if any.
    pub effective_date: Option<&'a str>,
    /// Recording timestamp.
    pub recorded_at: &'a str,
    /// Actor.
    pub actor: &'a str,
}

fn put_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

/// The lowercase hex SHA-256 of an event given the previous event's hash (see
/// the module documentation for the exact encoding).
pub fn event_hash(prev_hash_hex: &str, f: &EventFields<'_>) -> String {
    let buf = event_hash_hex(prev_hash_hex, f);
    let out = String::from_utf8(buf.to_vec()).expect("hex digits are ASCII");
    debug_assert!(is_hash_hex(&out));
    out
}

/// [`event_hash`] as 64 lowercase hex digits in a buffer (no allocation).
pub(crate) fn event_hash_hex(prev_hash_hex: &str, f: &EventFields<'_>) -> [u8; 64] {
    let mut h = Sha256::new();
    put_str(&mut h, prev_hash_hex);
    h.update(f.position.to_be_bytes());
    put_str(&mut h, f.stream);
    h.update(f.version.to_be_bytes());
    put_str(&mut h, f.id);
    put_str(&mut h, f.event_type);
    h.update(f.schema_version.to_be_bytes());
    put_str(&mut h, f.payload);
    match f.effective_date {
        None => h.update([0u8]),
        Some(d) => {
            h.update([1u8]);
            put_str(&mut h, d);
        }
    }
    put_str(&mut h, f.recorded_at);
    put_str(&mut h, f.actor);
    let mut buf = [0u8; 64];
    hex::encode_to_slice(h.finalize(), &mut buf).expect("32 bytes encode to 64 hex digits");
    buf
}

/// Whether `s` looks like a hash this store writes: 64 lowercase hex digits.
pub fn is_hash_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>() -> EventFields<'a> {
        EventFields {
            position: 1,
            stream: "s",
            version: 1,
            id: "i",
            event_type: "t",
            schema_version: 1,
            payload: "{}",
            effective_date: None,
            recorded_at: "2024-01-01T00:00:00.000000Z",
            actor: "a",
        }
    }

    #[test]
    fn none_and_empty_date_differ() {
        let a = event_hash(GENESIS_PREV_HASH, &fields());
        let b = event_hash(
            GENESIS_PREV_HASH,
            &EventFields {
                effective_date: Some(""),
                ..fields()
            },
        );
        assert_ne!(a, b);
        assert!(is_hash_hex(&a) && is_hash_hex(&b));
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        // Moving a character from one string field to the next must change the hash.
        let a = event_hash(
            GENESIS_PREV_HASH,
            &EventFields {
                stream: "ab",
                id: "c",
                ..fields()
            },
        );
        let b = event_hash(
            GENESIS_PREV_HASH,
            &EventFields {
                stream: "a",
                id: "bc",
                ..fields()
            },
        );
        assert_ne!(a, b);
    }

    #[test]
    fn every_field_is_hashed() {
        let base = event_hash(GENESIS_PREV_HASH, &fields());
        let variants = [
            EventFields {
                position: 2,
                ..fields()
            },
            EventFields {
                version: 2,
                ..fields()
            },
            EventFields {
                event_type: "u",
                ..fields()
            },
            EventFields {
                schema_version: 2,
                ..fields()
            },
            EventFields {
                payload: "[]",
                ..fields()
            },
            EventFields {
                recorded_at: "2024-01-01T00:00:00.000001Z",
                ..fields()
            },
            EventFields {
                actor: "b",
                ..fields()
            },
        ];
        for v in &variants {
            assert_ne!(event_hash(GENESIS_PREV_HASH, v), base, "{v:?}");
        }
        assert_ne!(event_hash(&"1".repeat(64), &fields()), base);
    }

    #[test]
    fn known_vector_is_stable() {
        // Pin the encoding: changing it silently would invalidate every ledger.
        let mut h = Sha256::new();
        let mut buf = Vec::new();
        let s = |buf: &mut Vec<u8>, x: &str| {
            buf.extend_from_slice(&(x.len() as u64).to_be_bytes());
            buf.extend_from_slice(x.as_bytes());
        };
        s(&mut buf, GENESIS_PREV_HASH);
        buf.extend_from_slice(&1u64.to_be_bytes());
        s(&mut buf, "s");
        buf.extend_from_slice(&1u64.to_be_bytes());
        s(&mut buf, "i");
        s(&mut buf, "t");
        buf.extend_from_slice(&1u32.to_be_bytes());
        s(&mut buf, "{}");
        buf.push(0);
        s(&mut buf, "2024-01-01T00:00:00.000000Z");
        s(&mut buf, "a");
        h.update(&buf);
        assert_eq!(
            event_hash(GENESIS_PREV_HASH, &fields()),
            hex::encode(h.finalize())
        );
    }
}
