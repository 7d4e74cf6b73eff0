//! The whole register, [`decide`] and apply, and the replay a correction needs.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use uuid::Uuid;

use crate::event::*;
use crate::refusal::{Refusal, RefusalKind as K};

use super::apply::apply_issuer_event;
use super::check::{
    check_exchange_approval_as_stored, check_issuer_event, needs_full_state, needs_history,
    non_empty,
};
use super::IssuerState;

/// The whole register: every issuer, and the market calendar's closures.
///
/// It changes only through [`Register::apply`] (and [`Register::execute`]):
/// its fields, and those of [`IssuerState`] and
/// [`ClassState`](super::ClassState), are private and every accessor reads,
/// so no caller can edit filings or balances behind `apply`:
///
/// ```compile_fail
/// let mut register = shareledger_core::Register::new();
/// register.issuers.clear();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Register {
    pub(super) issuers: BTreeMap<String, IssuerState>,
    pub(super) market_closures: BTreeMap<NaiveDate, String>,
    /// The live `market_closed` events by id (what an issuer-less
    /// `event_voided` may void).
    pub(super) market_closed_ids: BTreeMap<Uuid, NaiveDate>,
    /// Keep no history ([`Register::without_history`]).
    pub(super) no_history: bool,
    /// Replays events read from the log ([`Register::replaying_log`]).
    pub(super) from_log: bool,
}

/// Judge one event against the register: the event to append, or why not.
pub fn decide(state: &Register, command: Recorded) -> Result<Recorded, Refusal> {
    state.check(&command)?;
    Ok(command)
}

impl Register {
    pub fn new() -> Self {
        Register::default()
    }

    /// A register whose issuers keep no history: what deciding needs of an
    /// issuer is its state, except a correction (`event_voided`), which
    /// replays the history, and an `exchange_approval_recorded` that covers
    /// events (they must be in force). The caller puts an issuer's history
    /// in before sending it such an event ([`Register::restore_issuer`] of the issuer
    /// replayed by a register that keeps history) and takes it out after
    /// ([`Register::forget_history`]); a correction applied here drops it.
    /// The append uses it, so that its memory does not grow with the input.
    pub fn without_history() -> Self {
        Register {
            no_history: true,
            ..Register::default()
        }
    }

    /// A register without history that replays events read from the log,
    /// each accepted once against the events in force when it was
    /// appended: an `exchange_approval_recorded` that covers events is
    /// judged on what it says itself (a rule, each event named once), not
    /// on whether the events it names were in force, which only the history
    /// can tell and which the append judged with the history (and `audit`
    /// judges again on its replay with history). Corrections are not
    /// replayed here: the caller reads the ids they void first and leaves
    /// the corrections and the voided events out (the state the
    /// corrections replayed to). Never decide new input with it: an
    /// approval appended must be judged with the history.
    pub fn replaying_log() -> Self {
        Register {
            no_history: true,
            from_log: true,
            ..Register::default()
        }
    }

    /// Whether its issuers keep their history (see [`Register::without_history`]).
    pub fn keeps_history(&self) -> bool {
        !self.no_history
    }

    /// Drop the history `issuer` holds (the state stays as it is).
    pub fn forget_history(&mut self, issuer: &str) {
        if let Some(s) = self.issuers.get_mut(issuer) {
            s.history = Vec::new();
        }
    }

    /// Take an issuer out of this register.
    pub fn take_issuer(&mut self, issuer: &str) -> Option<IssuerState> {
        self.issuers.remove(issuer)
    }

    /// Mark `ids` as voided events of `issuer`: for a register without
    /// history rebuilt from a log whose corrections and voided events were
    /// left out (the state the corrections replayed to, see
    /// [`IssuerState::voided`]).
    pub fn mark_voided(&mut self, issuer: &str, ids: impl IntoIterator<Item = Uuid>) {
        if let Some(s) = self.issuers.get_mut(issuer) {
            s.voided.extend(ids);
        }
    }

    pub fn issuer(&self, id: &str) -> Option<&IssuerState> {
        self.issuers.get(id)
    }

    /// Every issuer, by id.
    pub fn issuers(&self) -> &BTreeMap<String, IssuerState> {
        &self.issuers
    }

    /// The recorded market closures (`market_closed`), by date, with their reasons.
    pub fn market_closures(&self) -> &BTreeMap<NaiveDate, String> {
        &self.market_closures
    }

    /// The live `market_closed` events by id, with their dates (what an
    /// `event_voided` without issuer may void).
    pub fn market_closed_ids(&self) -> &BTreeMap<Uuid, NaiveDate> {
        &self.market_closed_ids
    }

    /// Call `f` with this register as it would be had `issuer` recorded only
    /// its first `n` live filings (in log order, as
    /// [`IssuerState::filings`] lists them): every other event, corrections
    /// included, as it stands. This is how the audit regenerates a filed
    /// return "as the log stands now": every correction since counts, but a
    /// return filed after it (typically the Monthly Return of the month
    /// before an NDDR dated early in the next month) does not move where the
    /// regenerated return opens.
    ///
    /// The view is the register itself, not a copy: the later filings are
    /// set aside for the call and put back after it, also if `f` panics, so
    /// the register is unchanged when this returns. `n` at or beyond the
    /// number of filings, or an unknown issuer: `f` sees the register as it is.
    pub fn with_filings_before<R>(
        &mut self,
        issuer: &str,
        n: usize,
        f: impl FnOnce(&Register) -> R,
    ) -> R {
        /// Puts the set-aside filings back when dropped.
        struct Restore<'a> {
            register: &'a mut Register,
            issuer: &'a str,
            later: Vec<(Uuid, ReturnFiled)>,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                if let Some(s) = self.register.issuers.get_mut(self.issuer) {
                    s.filings.append(&mut self.later);
                }
            }
        }
        let later = match self.issuers.get_mut(issuer) {
            Some(s) if n < s.filings.len() => s.filings.split_off(n),
            _ => Vec::new(),
        };
        let view = Restore {
            register: self,
            issuer,
            later,
        };
        f(view.register)
    }

    /// Take over the issuers (and market closures) of `other` that this
    /// register does not have yet: a register built from other streams (the
    /// append loads each stream the first time a line names it, on another
    /// thread, and hands the result over). What this register already has is
    /// kept; nothing is decided again.
    pub fn absorb(&mut self, other: Register) {
        for (id, state) in other.issuers {
            self.issuers.entry(id).or_insert(state);
        }
        for (date, reason) in other.market_closures {
            self.market_closures.entry(date).or_insert(reason);
        }
        for (id, date) in other.market_closed_ids {
            self.market_closed_ids.entry(id).or_insert(date);
        }
    }

    /// Fold `issuer`'s detail dated before `horizon` into a base (see
    /// [`super::Folded`] and [`IssuerState::horizon`]), so that its state
    /// stays bounded whatever the length of its history: the append's
    /// register does it as an issuer's dates advance. A folded issuer
    /// decides every event that [`needs_full_state`] lets through exactly
    /// as the whole state would, with the same effect on what it keeps; for
    /// any other the caller puts the whole state in first
    /// ([`Register::restore_issuer`]), and [`Register::check`] refuses
    /// (asserts, in a debug build) an event it was sent without it. A
    /// horizon before the issuer's present one changes nothing. For a
    /// register without history (the accessors of a folded state answer
    /// only for dates on or after the horizon: never hand one to a return).
    pub fn fold_issuer(&mut self, issuer: &str, horizon: NaiveDate) {
        if let Some(s) = self.issuers.get_mut(issuer) {
            s.fold(horizon);
        }
    }

    /// Put in an issuer's state as read back from a snapshot (a cache of
    /// the state the log gives, without the history: see
    /// [`IssuerState::history`]), or as replayed by another register (with
    /// its history, when that one keeps it); it replaces any state of that
    /// issuer. The caller vouches that the state is the one the log gives
    /// (the ledger checks the snapshot's stream version against the log) and
    /// sends no correction (`event_voided`) to an issuer restored without
    /// history: a correction replays the history.
    pub fn restore_issuer(&mut self, state: IssuerState) {
        self.issuers.insert(state.id.clone(), state);
    }

    /// Judge and, if accepted, apply.
    pub fn execute(&mut self, r: Recorded) -> Result<(), Refusal> {
        let r = decide(self, r)?;
        self.apply(r);
        Ok(())
    }

    /// Whether `r` may be appended (domain.md section 2).
    pub fn check(&self, r: &Recorded) -> Result<(), Refusal> {
        match &r.event {
            Event::MarketClosed(e) => {
                non_empty(&e.reason, "reason")?;
                if let Some(reason) = self.market_closures.get(&e.date) {
                    return Err(Refusal::new(
                        K::MarketClosureExists,
                        "date",
                        format!(
                            "the market is already recorded as closed on {} ({reason})",
                            e.date
                        ),
                        "record each closure once; void nothing, the calendar keeps the first",
                    ));
                }
                Ok(())
            }
            Event::EventVoided(e) if e.issuer.is_none() => self.check_market_void(e),
            Event::IssuerRegistered(e) => {
                non_empty(&e.issuer, "issuer")?;
                non_empty(&e.name, "name")?;
                if self.issuers.contains_key(&e.issuer) {
                    return Err(Refusal::new(
                        K::IssuerExists,
                        "issuer",
                        format!("issuer {} is already registered", e.issuer),
                        "use issuer_settings_changed to change its name, signatory or presentation",
                    ));
                }
                Ok(())
            }
            other => {
                let id = other.issuer().expect("every other event has an issuer");
                let issuer = self.issuers.get(id).ok_or_else(|| {
                    Refusal::new(
                        K::UnknownIssuer,
                        "issuer",
                        format!("no issuer `{id}` is registered"),
                        "record issuer_registered for it first, or correct the issuer id",
                    )
                })?;
                if self.from_log && issuer.history.is_empty() {
                    if let Event::ExchangeApprovalRecorded(e) = &r.event {
                        return check_exchange_approval_as_stored(e);
                    }
                }
                // An invariant of the caller, not an input error: without
                // the history such an event would be judged against nothing.
                debug_assert!(
                    !self.no_history || !needs_history(&r.event) || !issuer.history.is_empty(),
                    "{} needs the history of issuer {id}, which this register was not given",
                    r.event.type_name()
                );
                // The same, for a folded issuer ([`Register::fold_issuer`]):
                // an event it cannot answer for is refused, never decided
                // on part of the state.
                let needs_full = needs_full_state(&r.event, issuer.horizon);
                debug_assert!(
                    !needs_full,
                    "{} needs the whole state of issuer {id}, folded before {:?}",
                    r.event.type_name(),
                    issuer.horizon
                );
                if needs_full {
                    return Err(Refusal::new(
                        K::NeedsFullState,
                        "issuer",
                        format!(
                            "issuer {id} was judged on its state since {} only, and this {} needs all of it (an internal error of the ledger, not of the input)",
                            issuer.horizon.map(|h| h.to_string()).unwrap_or_default(),
                            r.event.type_name()
                        ),
                        "run the command again; report it if it recurs",
                    ));
                }
                check_issuer_event(issuer, r)
            }
        }
    }

    /// An `event_voided` without issuer voids a `market_closed`: the day
    /// becomes a trading day again (nothing recorded on it can become
    /// impossible by that). Anything else needs its issuer.
    fn check_market_void(&self, e: &EventVoided) -> Result<(), Refusal> {
        non_empty(&e.reason, "reason")?;
        if self.market_closed_ids.contains_key(&e.voided_id) {
            return Ok(());
        }
        let owner = self
            .issuers
            .values()
            .find(|i| i.history.iter().any(|h| h.id == e.voided_id));
        Err(match owner {
            Some(i) => Refusal::new(
                K::InvalidVoid,
                "issuer",
                format!(
                    "event {} belongs to issuer {}: only a market_closed is voided without an issuer",
                    e.voided_id, i.id
                ),
                format!("add \"issuer\": \"{}\"", i.id),
            ),
            None => Refusal::new(
                K::InvalidVoid,
                "voided_id",
                format!(
                    "no live market_closed has id {} (an event_voided without issuer voids a market closure)",
                    e.voided_id
                ),
                "find the id with `shareledger log --format json`; a closure voided already is voided",
            ),
        })
    }

    /// Fold an accepted event in. Panics (an invariant, not an input error)
    /// if `r` was not accepted by [`decide`].
    pub fn apply(&mut self, r: Recorded) {
        match &r.event {
            Event::MarketClosed(e) => {
                self.market_closures.insert(e.date, e.reason.clone());
                self.market_closed_ids.insert(r.id, e.date);
            }
            Event::EventVoided(v) if v.issuer.is_none() => {
                if let Some(date) = self.market_closed_ids.remove(&v.voided_id) {
                    self.market_closures.remove(&date);
                }
            }
            Event::IssuerRegistered(e) => {
                let mut issuer = IssuerState::new(e);
                if !self.no_history {
                    issuer.history.push(r);
                }
                self.issuers.insert(issuer.id.clone(), issuer);
            }
            other => {
                let id = other.issuer().expect("issuer-scoped").to_string();
                let issuer = self
                    .issuers
                    .get_mut(&id)
                    .expect("decide checked the issuer exists");
                if let Event::EventVoided(v) = &r.event {
                    let mut voided = issuer.voided.clone();
                    voided.insert(v.voided_id);
                    let mut rebuilt = replay(&issuer.history, &voided)
                        .expect("decide checked the correction replays");
                    if !self.no_history {
                        rebuilt.history = std::mem::take(&mut issuer.history);
                        rebuilt.history.push(r);
                    }
                    rebuilt.voided = voided;
                    *issuer = rebuilt;
                } else {
                    debug_assert!(
                        !needs_full_state(&r.event, issuer.horizon),
                        "apply: decide refuses this event on a folded issuer"
                    );
                    apply_issuer_event(issuer, &r);
                    if !self.no_history {
                        issuer.history.push(r);
                    }
                }
            }
        }
    }
}

/// Rebuild an issuer from its history, leaving out `voided` events and the
/// corrections. Each event is judged against the events rebuilt before it
/// (an approval that covers events, against those in force then: the
/// rebuilt state keeps them while it is rebuilt). The returned state has an
/// empty history.
pub(super) fn replay(history: &[Recorded], voided: &HashSet<Uuid>) -> Result<IssuerState, Refusal> {
    let mut iter = history.iter();
    let first = iter
        .next()
        .expect("an issuer's history starts with its registration");
    let Event::IssuerRegistered(reg) = &first.event else {
        unreachable!("an issuer's history starts with its registration")
    };
    let mut state = IssuerState::new(reg);
    state.history.push(first.clone());
    for r in iter {
        if voided.contains(&r.id) || matches!(r.event, Event::EventVoided(_)) {
            continue;
        }
        check_issuer_event(&state, r)?;
        apply_issuer_event(&mut state, r);
        state.history.push(r.clone());
    }
    state.history = Vec::new();
    Ok(state)
}
