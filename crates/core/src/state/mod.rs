//! The register: per issuer and class, the balances the log implies, and the
//! pure rules that keep them possible.
//!
//! * [`decide`] judges one event against the register: `Ok` with the event to
//!   append, or a [`Refusal`](crate::refusal::Refusal) (domain.md section 2, "what can never happen").
//! * [`Register::apply`] folds an accepted event in. It never fails; it
//!   asserts the invariants `decide` guarantees.
//!
//! Balances are kept per effective date (net movement a day), so they can be
//! read *as of* any date, and an event recorded late (dated before events
//! already in the log) is checked against every later day's balance, not only
//! the latest. Within one issuer the whole history is kept, so a correction
//! (`event_voided`) is a replay of the history without the voided event, and
//! is refused if that replay would break an invariant. A register made by
//! [`Register::without_history`] (the append's) keeps none: every event but
//! a correction is decided on the state alone, and the caller puts an
//! issuer's history in for a correction and takes it out after.
//!
//! Invariants, for every class and every date on or after its opening balance:
//! issued (excluding treasury) ≥ 0, treasury ≥ 0, every pending-cancellation
//! line ≥ 0 and ≤ what was repurchased on its trade date, and each scheme's
//! outstanding options ≥ 0.
//!
//! The module by job:
//!
//! * `balances`: [`Balances`], the per-day [`Delta`], and [`effect`], the one
//!   table of how each event moves issued / treasury / pending shares
//!   ([`effect_on`]: on one class, for an event of two);
//! * `class`: [`ClassState`] (balances per day, pending-cancellation lines,
//!   authorised changes, mandates and their usage, closing prices, capital
//!   reorganisations);
//! * `issuer`: [`IssuerState`] (settings, classes, schemes, instruments
//!   ([`InstrumentState`]), approvals, results timetables, filings, the
//!   whole history);
//! * `register`: [`Register`], [`decide`], apply and the replay a correction
//!   needs;
//! * `check`: what may be appended, one checking function per event kind;
//! * `apply`: how an accepted event changes an issuer.

mod apply;
mod balances;
mod check;
mod class;
mod issuer;
mod register;

pub use balances::{effect, effect_on, Balances, Delta, Effect};
pub use check::{exercised_instrument, needs_full_state, needs_history};
pub use class::{ClassState, Folded, Mandate, OnExchangeDay, PendingLine, PendingOrigin};
pub use issuer::{InstrumentState, IssuerState, SchemeState};
pub use register::{decide, Register};

/// No balance may exceed this many shares (a quadrillion): far above any
/// issuer, low enough that no sum of counts can overflow.
pub const MAX_SHARES: u64 = 1_000_000_000_000_000;
