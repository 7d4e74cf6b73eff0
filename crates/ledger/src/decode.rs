//! Stored rows into recorded events: [`Decoder`], with a fast path that
//! reads a payload straight into its event's struct and falls back to the
//! core's canonical decoder for anything it does not accept exactly.

use chrono::{DateTime, FixedOffset};
use shareledger_core::event::Recorded;
use shareledger_core::state::Register;
use shareledger_store::{EventRef, StoredEvent};
use uuid::Uuid;

use crate::error::LedgerError;

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
    /// A decoder with nothing cached.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Decode one stored row.
    pub fn decode(&mut self, row: EventRef<'_>) -> Result<Recorded, LedgerError> {
        let id = Uuid::parse_str(row.id).map_err(|_| {
            LedgerError::Inconsistent(format!(
                "log position {}: stored id {:?} is not a UUID: run `shareledger audit`",
                row.position, row.id
            ))
        })?;
        let at = match &self.last_at {
            Some((text, at)) if text == row.recorded_at => *at,
            _ => {
                let at = DateTime::parse_from_rfc3339(row.recorded_at).map_err(|_| {
                    LedgerError::Inconsistent(format!(
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
            LedgerError::Inconsistent(format!(
                "log position {}: stored event cannot be read: {e}",
                row.position
            ))
        })
    }

    /// Decode `row` and execute it on `register`. A stored event the core now
    /// refuses means the log is inconsistent: an error that points to `audit`.
    pub fn replay(
        &mut self,
        register: &mut Register,
        row: EventRef<'_>,
    ) -> Result<(), LedgerError> {
        let rec = self.decode(row)?;
        register.execute(rec).map_err(|r| {
            LedgerError::Inconsistent(format!(
                "log position {} ({}) no longer replays: {r}: run `shareledger audit` for details",
                row.position, row.event_type
            ))
        })
    }
}

/// Decode one stored row into a recorded event.
pub fn decode(row: &StoredEvent) -> Result<Recorded, LedgerError> {
    Decoder::new().decode(EventRef::of(row))
}

/// The fast path of [`Decoder`]: a stored payload straight into its struct.
pub(crate) mod fast {
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
            pub(crate) fn decode(event_type: &str, payload: &str) -> Option<(Event, Option<String>)> {
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
        "shares_reclassified" => SharesReclassified,
        "instrument_issued" => InstrumentIssued,
        "instrument_cancelled" => InstrumentCancelled,
        "exchange_approval_recorded" => ExchangeApprovalRecorded,
        "capital_reorganised" => CapitalReorganised,
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
