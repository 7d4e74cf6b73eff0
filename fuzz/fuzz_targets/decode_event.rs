//! Arbitrary bytes as one input line (`parse_line`) and as a stored payload
//! (`Recorded::from_payload`). Neither may panic; and an event that parses
//! must survive the store's round trip: its canonical payload decodes back
//! to the same event (else a stored event would replay as another).
#![no_main]

use chrono::DateTime;
use libfuzzer_sys::fuzz_target;
use shareledger_core::event::{parse_line, Recorded};
use uuid::Uuid;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let at = DateTime::parse_from_rfc3339("2024-01-02T03:04:05+08:00").unwrap();
    // As a stored payload.
    let _ = Recorded::from_payload(Uuid::nil(), at, "fuzz".into(), text, Some(1));
    // As an input line.
    if let Ok(incoming) = parse_line(text) {
        let rec = incoming.into_recorded(Uuid::nil, at, "fuzz");
        let payload = rec.payload();
        let back =
            Recorded::from_payload(rec.id, rec.recorded_at, rec.actor.clone(), &payload, None)
                .unwrap_or_else(|e| panic!("canonical payload {payload} does not decode: {e}"));
        assert_eq!(back.event, rec.event, "payload {payload}");
        assert_eq!(back.note, rec.note);
        // Canonical: encoding the decoded event again gives the same text.
        assert_eq!(back.payload(), payload);
        let _ = rec.event.effective_date();
        let _ = rec.event.stream();
    }
});
