//! The findings an append introduces into an issuer with a long history,
//! in memory bounded by a window of its events, not by its history
//! (issue #11, item 10; docs/decisions.md, "The findings of a long history,
//! window by window").
//!
//! The whole replay the findings otherwise do holds every event of the
//! issuer (a one-issuer file of 1M events peaked at 868 MB). Here:
//!
//! 1. its states before and after the batch are those the append kept (a
//!    small input, e.g. a back-dated `record`), or are rebuilt from the
//!    log: the ids the issuer's corrections void read first (through the
//!    index of events without a date: a correction has none), then a
//!    register that keeps no history ([`Register::replaying_log`]: the
//!    voided events and the corrections left out, as a correction's own
//!    replay leaves them) replays the rows, counting them per day;
//! 2. the rule checks run over both states window after window of days
//!    ([`checks::Windows`]), each window read from the store through the
//!    `(stream, effective_date)` index and holding about
//!    [`WINDOW_EVENTS`] events; a window's findings after the batch that
//!    are not findings before it ([`checks::introduced`]) are handed on as
//!    they come. A finding is the same as another only on the same date,
//!    and both runs cut their windows on the same days, so this is what
//!    comparing the two whole runs gives, finding for finding and in order.
//!
//! Only the events a check judges as events ([`checks::judged_as_event`])
//! are kept from a window's rows: the others it reads from the state.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate};
use shareledger_core::calendar::BusinessCalendar;
use shareledger_core::event::Recorded;
use shareledger_core::state::{IssuerState, Register};
use shareledger_returns::checks::{self, Finding};
use shareledger_store::{EventRead, ReadFilter};
use uuid::Uuid;

use crate::decode::Decoder;
use crate::error::LedgerError;
use crate::replay::{corrections, replay_live};

/// An issuer with at least this many events (stored and appended) has its
/// findings worked out window by window; a shorter history is replayed
/// whole (a few tens of MB at most, and one pass of the log instead of
/// three).
pub const WINDOWED_MIN_EVENTS: u64 = 65_536;

/// About how many of the issuer's events one window holds (a window is cut
/// on a day's end: a day with more events is one window).
pub const WINDOW_EVENTS: u64 = 16_384;

/// When the findings go window by window, and how large the windows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windowing {
    /// An issuer with at least this many events goes window by window.
    pub min_events: u64,
    /// About how many events a window holds.
    pub window_events: u64,
    /// Judge a small input's issuer on the states the append kept (else
    /// rebuild them from the log, as for a large input: the tests prove
    /// both).
    pub kept_states: bool,
}

impl Default for Windowing {
    fn default() -> Self {
        Windowing {
            min_events: WINDOWED_MIN_EVENTS,
            window_events: WINDOW_EVENTS,
            kept_states: true,
        }
    }
}

/// What the findings of one issuer are judged with.
pub(crate) struct Judging<'a> {
    /// The head before the batch: rows above it are the batch's.
    pub start: u64,
    /// The issuer's stream version before the batch.
    pub version: u64,
    /// The market calendar before and after the batch.
    pub stored_calendar: &'a BusinessCalendar,
    pub calendar: &'a BusinessCalendar,
    pub clock: DateTime<FixedOffset>,
    pub window_events: u64,
}

/// The findings the batch introduces into `issuer`, handed to `emit` a
/// window at a time (never an empty list); returns the issuer's whole
/// state after the batch (without history: what a snapshot holds), `None`
/// when the issuer has no state. `states`: its whole states before and
/// after the batch when the append kept them (a small input), else they
/// are rebuilt from the log.
pub(crate) fn introduced<T: EventRead>(
    tx: &T,
    issuer: &str,
    j: &Judging<'_>,
    states: Option<(IssuerState, IssuerState)>,
    emit: &mut dyn FnMut(Vec<Finding>) -> Result<(), LedgerError>,
) -> Result<Option<IssuerState>, LedgerError> {
    let mut decoder = Decoder::new();
    let (before, after, days) = match states {
        Some((before, after)) => {
            // What a window will hold, estimated from the state: each
            // day's repurchases counted, and each other day with a
            // movement of shares as one event (an estimate is enough).
            let mut days: BTreeMap<NaiveDate, u64> = BTreeMap::new();
            for class in after.classes().values() {
                for (day, (_, _, n)) in class.repurchased() {
                    *days.entry(*day).or_default() += n;
                }
                for day in class.days().keys() {
                    let n = days.entry(*day).or_default();
                    *n = (*n).max(1);
                }
            }
            (Some(before), after, days)
        }
        None => match rebuilt(tx, issuer, j, &mut decoder)? {
            Some(states) => states,
            None => return Ok(None),
        },
    };
    let voided_before: HashSet<Uuid> = before
        .as_ref()
        .map(|b| b.voided().clone())
        .unwrap_or_default();
    let voided_after = after.voided();

    // The checks, window after window (the first from the beginning).
    let mut starts: Vec<Option<NaiveDate>> = window_starts(&days, j.window_events)
        .into_iter()
        .map(Some)
        .collect();
    drop(days);
    match starts.first_mut() {
        Some(first) => *first = None,
        None => starts.push(None),
    }
    let mut old = before
        .as_ref()
        .map(|b| checks::Windows::new(b, j.stored_calendar, j.clock));
    let mut new = checks::Windows::new(&after, j.calendar, j.clock);
    for (i, from) in starts.iter().copied().enumerate() {
        let until = starts.get(i + 1).copied().flatten();
        let until_text = until.map(|u| u.to_string());
        let from_text = from.map_or_else(|| "0000-01-01".to_string(), |f| f.to_string());
        let mut rows: Vec<Recorded> = Vec::new();
        tx.scan_from_date(issuer, &from_text, until_text.as_deref(), |row| {
            let rec = decoder.decode(row)?;
            let date = rec.event.effective_date();
            if !date.is_some_and(|d| from.is_none_or(|f| d >= f) && until.is_none_or(|u| d < u)) {
                return Err(LedgerError::Inconsistent(format!(
                    "log position {}: the stored effective date is not the event's ({date:?}): run `shareledger audit`",
                    row.position
                )));
            }
            // Those voided only by the batch are events of the state before it.
            if checks::judged_as_event(&rec.event) && !voided_before.contains(&rec.id) {
                rows.push(rec);
            }
            Ok::<(), LedgerError>(())
        })?;
        let stored: Vec<&Recorded> = rows
            .iter()
            .filter(|r| r.position.is_some_and(|p| p <= j.start) && !voided_before.contains(&r.id))
            .collect();
        let all: Vec<&Recorded> = rows
            .iter()
            .filter(|r| !voided_after.contains(&r.id))
            .collect();
        let was = old
            .as_mut()
            .map(|o| o.window(&stored, from, until))
            .unwrap_or_default();
        let found = checks::introduced(&was, new.window(&all, from, until));
        if !found.is_empty() {
            emit(found)?;
        }
    }
    let was = old.map(|o| o.finish()).unwrap_or_default();
    let found = checks::introduced(&was, new.finish());
    if !found.is_empty() {
        emit(found)?;
    }
    Ok(Some(after))
}

/// The issuer's states before and after the batch, rebuilt from the log
/// without history, and its events counted per day; `None` when it has no
/// state after the batch.
#[allow(clippy::type_complexity)]
fn rebuilt<T: EventRead>(
    tx: &T,
    issuer: &str,
    j: &Judging<'_>,
    decoder: &mut Decoder,
) -> Result<Option<(Option<IssuerState>, IssuerState, BTreeMap<NaiveDate, u64>)>, LedgerError> {
    let voids = corrections(tx, issuer, decoder)?;
    let voided_before: HashSet<Uuid> = voids
        .iter()
        .filter(|(p, _)| *p <= j.start)
        .map(|(_, id)| *id)
        .collect();
    let voided_after: HashSet<Uuid> = voids.iter().map(|(_, id)| *id).collect();
    drop(voids);
    let mut days: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    let mut register = Register::replaying_log();
    let stored = ReadFilter {
        stream: Some(issuer.to_string()),
        to_position: Some(j.start),
        ..ReadFilter::default()
    };
    let mut count = |rec: &Recorded| {
        if let Some(d) = rec.event.effective_date() {
            *days.entry(d).or_default() += 1;
        }
    };
    tx.scan(&stored, |row| {
        replay_live(&mut register, decoder, &voided_before, row, &mut count)
    })?;
    register.mark_voided(issuer, voided_before.iter().copied());
    let before = register.issuer(issuer).cloned();
    if voided_after.len() == voided_before.len() {
        // No correction in the batch: the batch's rows go on from there.
        let batch = ReadFilter {
            stream: Some(issuer.to_string()),
            from_position: j.start,
            from_version: j.version,
            ..ReadFilter::default()
        };
        tx.scan(&batch, |row| {
            replay_live(&mut register, decoder, &voided_after, row, &mut count)
        })?;
    } else {
        // A correction in the batch: the issuer rebuilt without what it voids.
        register = Register::replaying_log();
        let mut all: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        tx.scan(&ReadFilter::stream(issuer), |row| {
            replay_live(&mut register, decoder, &voided_after, row, &mut |rec| {
                if let Some(d) = rec.event.effective_date() {
                    *all.entry(d).or_default() += 1;
                }
            })
        })?;
        days = all;
    }
    register.mark_voided(issuer, voided_after.iter().copied());
    Ok(register
        .take_issuer(issuer)
        .map(|after| (before, after, days)))
}

/// The first day of each window: days taken in order until the window
/// holds at least `size` events.
fn window_starts(days: &BTreeMap<NaiveDate, u64>, size: u64) -> Vec<NaiveDate> {
    let mut starts = Vec::new();
    let mut held = 0u64;
    for (day, n) in days {
        if starts.is_empty() || held >= size {
            starts.push(*day);
            held = 0;
        }
        held += n;
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::window_starts;
    use chrono::NaiveDate;
    use std::collections::BTreeMap;

    #[test]
    fn windows_are_cut_on_a_days_end_once_full() {
        let d = |n| NaiveDate::from_ymd_opt(2024, 1, n).unwrap();
        let days: BTreeMap<NaiveDate, u64> =
            [(d(1), 3), (d(2), 1), (d(3), 10), (d(4), 1), (d(5), 1)]
                .into_iter()
                .collect();
        assert_eq!(window_starts(&days, 4), vec![d(1), d(3), d(4)]);
        assert_eq!(window_starts(&days, 1), vec![d(1), d(2), d(3), d(4), d(5)]);
        assert_eq!(window_starts(&days, 100), vec![d(1)]);
        assert!(window_starts(&BTreeMap::new(), 4).is_empty());
    }
}
