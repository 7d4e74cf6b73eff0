//! Where a return finds its events and its earlier filings: a [`View`] of
//! an issuer. Plain ([`View::new`]), a return walks the issuer's live
//! events and sees every filing, as it always did. With a [`DateIndex`]
//! (the issuer's history by effective date, built once and kept current as
//! a replay goes on), a return reads only the events of the period it
//! covers: what the audit needs to regenerate every filed return of a long
//! history in time proportional to the history (docs/decisions.md, "audit").
//! With [`View::filings_before`], it sees only the filings recorded before
//! a given one (the audit's "log as it stands now" view of a filing),
//! without taking the others out of the register.
//!
//! A view gives the same events, in the same (log) order, whichever way it
//! finds them; `tests/window.rs` holds that over random histories.

use std::collections::BTreeSet;
use std::ops::Bound;

use chrono::NaiveDate;
use shareledger_core::event::{Event, Recorded, ReturnFiled};
use shareledger_core::state::IssuerState;
use uuid::Uuid;

/// An issuer's history by effective date: for each event of its history
/// that has one (`Event::effective_date`; a correction has none), the date
/// and the event's place in the history. Events voided later stay indexed:
/// whether an event is live is asked of the issuer a view reads, so one
/// index serves the register at every point of its replay.
#[derive(Debug, Clone, Default)]
pub struct DateIndex {
    /// (effective date, place in the history), in order.
    by_date: BTreeSet<(NaiveDate, u32)>,
    /// The id of each history entry indexed, in order: a view checks that
    /// its issuer's history is the one indexed (or a beginning of it).
    ids: Vec<Uuid>,
}

impl DateIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `issuer`'s whole history.
    pub fn of(issuer: &IssuerState) -> Self {
        let mut index = Self::new();
        index.catch_up(issuer);
        index
    }

    /// How many history entries are indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Index the entries of `issuer`'s history added since the last call
    /// (a replay calls it after each event). A history that does not extend
    /// the one indexed (another issuer, a register rebuilt otherwise) is
    /// indexed again from the start.
    pub fn catch_up(&mut self, issuer: &IssuerState) {
        let history = issuer.history();
        if !self.extended_by(history) {
            self.by_date.clear();
            self.ids.clear();
        }
        for (at, r) in history.iter().enumerate().skip(self.ids.len()) {
            // A history longer than u32 places is never indexed: the views
            // then walk the history as they would without an index.
            let Ok(place) = u32::try_from(at) else {
                self.by_date.clear();
                self.ids.clear();
                return;
            };
            if let Some(d) = r.event.effective_date() {
                self.by_date.insert((d, place));
            }
            self.ids.push(r.id);
        }
    }

    /// Whether `history` begins with the history indexed.
    fn extended_by(&self, history: &[Recorded]) -> bool {
        let n = self.ids.len();
        n == 0
            || (history.len() >= n
                && history[0].id == self.ids[0]
                && history[n - 1].id == self.ids[n - 1])
    }

    /// Whether `history` is the history indexed or a beginning of it (the
    /// register at an earlier point of the same replay).
    fn covers(&self, history: &[Recorded]) -> bool {
        let k = history.len();
        k <= self.ids.len()
            && (k == 0 || (history[0].id == self.ids[0] && history[k - 1].id == self.ids[k - 1]))
    }
}

/// What a return is produced from: an issuer, how its events are found, and
/// the filings it may see.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    issuer: &'a IssuerState,
    index: Option<&'a DateIndex>,
    filings: &'a [(Uuid, ReturnFiled)],
}

impl<'a> View<'a> {
    /// The issuer as it is: every live event (walked), every filing.
    pub fn new(issuer: &'a IssuerState) -> Self {
        View {
            issuer,
            index: None,
            filings: issuer.filings(),
        }
    }

    /// The issuer with its events found through `index`; when `index` is
    /// not of this issuer's history (nor of a longer one it begins), the
    /// view walks the live events instead, with the same result.
    pub fn indexed(issuer: &'a IssuerState, index: &'a DateIndex) -> Self {
        let covers = index.covers(issuer.history());
        View {
            issuer,
            index: covers.then_some(index),
            filings: issuer.filings(),
        }
    }

    /// The same view seeing only the first `n` filings (those recorded
    /// before the `n`-th, counting from 0).
    pub fn filings_before(self, n: usize) -> Self {
        View {
            filings: &self.filings[..n.min(self.filings.len())],
            ..self
        }
    }

    /// The issuer.
    pub fn issuer(&self) -> &'a IssuerState {
        self.issuer
    }

    /// The filings this view sees, in log order.
    pub fn filings(&self) -> &'a [(Uuid, ReturnFiled)] {
        self.filings
    }

    /// The live events with an effective date within `(from, through]`
    /// (`from` a bound), in log order.
    pub fn live_between(&self, from: Bound<NaiveDate>, through: NaiveDate) -> Vec<&'a Recorded> {
        let issuer = self.issuer;
        let within = |d: NaiveDate| {
            d <= through
                && match from {
                    Bound::Unbounded => true,
                    Bound::Included(a) => d >= a,
                    Bound::Excluded(a) => d > a,
                }
        };
        let Some(index) = self.index else {
            return issuer
                .live_events()
                .filter(|r| r.event.effective_date().is_some_and(within))
                .collect();
        };
        if matches!(from, Bound::Included(a) | Bound::Excluded(a) if a > through) {
            return Vec::new();
        }
        let lower = match from {
            Bound::Unbounded => Bound::Unbounded,
            Bound::Included(a) => Bound::Included((a, 0)),
            Bound::Excluded(a) => Bound::Excluded((a, u32::MAX)),
        };
        let history = issuer.history();
        let mut places: Vec<u32> = index
            .by_date
            .range((lower, Bound::Included((through, u32::MAX))))
            .map(|(_, at)| *at)
            .filter(|at| (*at as usize) < history.len())
            .collect();
        places.sort_unstable();
        let voided = issuer.voided();
        places
            .into_iter()
            .map(|at| &history[at as usize])
            .filter(|r| !voided.contains(&r.id) && !matches!(r.event, Event::EventVoided(_)))
            .collect()
    }
}
