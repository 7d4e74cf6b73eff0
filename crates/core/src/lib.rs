//! # shareledger-core
//!
//! The share-capital domain of a Hong Kong-listed issuer, pure: no I/O, no
//! SQL, no clock (time comes in as data).
//!
//! * [`amount`]: exact money (`rust_decimal`), currencies.
//! * [`event`]: every event of the public JSON-lines contract, and the line parser.
//! * [`state`]: the register, [`state::decide`] (accept or refuse) and
//!   [`state::Register::apply`] (fold), with the balance effect table.
//! * [`refusal`]: why an event is refused: kind, field, message, hint.
//! * [`presentation`]: an issuer's presentation policy, exact percentages.
//! * [`rules`]: the Listing Rules' numbers and layout dates, named by rule.
//! * [`calendar`]: Hong Kong business days and return deadlines.

pub mod amount;
pub mod calendar;
pub mod event;
pub mod presentation;
pub mod refusal;
pub mod rules;
pub mod state;

pub use amount::{Amount, Currency, Money};
pub use event::{parse_line, DecodeError, Event, Incoming, Recorded};
pub use presentation::Presentation;
pub use refusal::{Refusal, RefusalKind};
pub use state::{decide, effect, effect_on, Balances, ClassState, IssuerState, Register};
