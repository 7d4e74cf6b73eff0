//! Stored events as `log --format json` prints them (interchange.md section
//! 2): the import format plus `position`, `id`, `recorded_at` (Hong Kong
//! time), `actor` and `hash`. Every such line imports again as it is.

use serde_json::{Map, Value};
use shareledger_core::event::Recorded;
use shareledger_store::StoredEvent;

use crate::decode::decode;
use crate::error::LedgerError;
use crate::time::hk;

/// A stored event as `log --format json` prints it.
pub fn stored_json(row: &StoredEvent) -> Result<Value, LedgerError> {
    let rec = decode(row)?;
    let mut v: Map<String, Value> = serde_json::from_str(&row.payload).map_err(|e| {
        LedgerError::Inconsistent(format!(
            "log position {}: the stored payload is not a JSON object ({e}): run `shareledger audit`",
            row.position
        ))
    })?;
    v.insert("position".into(), row.position.into());
    v.insert("id".into(), row.id.clone().into());
    v.insert(
        "recorded_at".into(),
        hk(&rec.recorded_at).to_rfc3339().into(),
    );
    v.insert("actor".into(), row.actor.clone().into());
    v.insert("hash".into(), row.hash.clone().into());
    Ok(Value::Object(v))
}

/// An event not (yet) stored, as [`stored_json`] would print it.
pub fn recorded_json(rec: &Recorded) -> Value {
    let mut v: Map<String, Value> = match rec.event.to_value() {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("event".into(), other);
            m
        }
    };
    if let Some(note) = &rec.note {
        v.insert("note".into(), note.clone().into());
    }
    if let Some(p) = rec.position {
        v.insert("position".into(), p.into());
    }
    v.insert("id".into(), rec.id.to_string().into());
    v.insert(
        "recorded_at".into(),
        hk(&rec.recorded_at)
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
            .into(),
    );
    v.insert("actor".into(), rec.actor.clone().into());
    Value::Object(v)
}
