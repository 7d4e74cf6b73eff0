//! Why the ledger refuses an event: a typed kind, the field at fault, what is
//! wrong and how to fix it. Nothing refused is ever written.

use std::fmt;

/// What kind of impossibility an event ran into (domain.md section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    UnknownIssuer,
    IssuerExists,
    UnknownClass,
    ClassExists,
    OpeningBalanceExists,
    OpeningBalanceAfterMovements,
    BeforeOpeningBalance,
    NegativeBalance,
    TooManyShares,
    ZeroShares,
    ExceedsPending,
    UnknownPendingLine,
    ExceedsTreasury,
    TreasuryBeforeRegime,
    IncompletePrices,
    InvalidPrices,
    PriceOutOfRange,
    MissingExchange,
    SchemeRequired,
    UnknownScheme,
    SchemeExists,
    ExceedsOutstandingOptions,
    InvalidVoid,
    MarketClosureExists,
    NotMonthEnd,
    InvalidDates,
    EmptyText,
    InvalidAmendment,
    FutureDate,
    NotTradingDay,
    /// A reclassification from a class into itself.
    SameClass,
    /// An instrument of that name exists already.
    InstrumentExists,
    /// An exercise, conversion or cancellation beyond what an instrument can still issue.
    ExceedsIssuable,
    /// A capital reorganisation's ratio or announced numbers do not fit.
    InvalidRatio,
    /// A movement dated on or before a capital reorganisation, whose announced numbers contain it.
    BeforeReorganisation,
    /// An internal error, never an input's: a register whose issuer is
    /// folded was sent an event that needs the issuer's whole state
    /// (`state::needs_full_state`; debug builds assert it instead).
    NeedsFullState,
}

/// A refused event: nothing of it is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// The input field at fault.
    pub field: &'static str,
    /// What is wrong, with the figures.
    pub message: String,
    /// How to put it right.
    pub hint: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}; {}", self.field, self.message, self.hint)
    }
}

impl Refusal {
    pub fn new(
        kind: RefusalKind,
        field: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Refusal {
            kind,
            field,
            message: message.into(),
            hint: hint.into(),
        }
    }
}
