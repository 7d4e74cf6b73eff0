//! # shareledger-returns
//!
//! Projections over an issuer's event stream, as typed documents, and the
//! renderers that print them. Every projection reads an
//! [`IssuerState`](shareledger_core::state::IssuerState) that the caller
//! replayed from the log (to a chosen "known at" time) and folds its live
//! events; none re-implements a rule of the core.
//!
//! * [`balance`]: balances as of a date.
//! * [`nddr`]: the Next Day Disclosure Return (FF304, FF305).
//! * [`monthly`]: the Monthly Return (FF301).
//! * [`document`]: the documents (their JSON is the public contract).
//! * [`render`]: text, Markdown, HTML and JSON renderers, apart from the documents.
//! * [`dates`]: dates and numbers as the forms print them.
//! * [`window`]: a [`window::View`] of an issuer, its events found by date
//!   through a [`window::DateIndex`] (the audit's regenerations).

pub mod balance;
pub mod checks;
mod common;
pub mod dates;
pub mod document;
pub mod monthly;
pub mod nddr;
pub mod render;
pub mod window;

use chrono::NaiveDate;

/// Why a return could not be produced. Every message says what and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    #[error("issuer {issuer} has no share class `{class}`: use one of the classes listed by `shareledger balance --issuer {issuer}`")]
    UnknownClass { issuer: String, class: String },
    #[error("class {class}'s history starts at its opening balance as at {opening}; the ledger cannot give its balance at {date}: ask for a later date")]
    BeforeHistory {
        class: String,
        date: NaiveDate,
        opening: NaiveDate,
    },
    #[error("nothing to disclose for issuer {issuer}: no share-capital change is dated {} up to {date}", match .after { Some(a) => format!("after the last return ({a})"), None => "in the ledger".to_string() })]
    NothingToDisclose {
        issuer: String,
        after: Option<NaiveDate>,
        date: NaiveDate,
    },
    #[error("no share-capital change is dated {date}; the last one before it is on {last}: an NDDR's date is that of its last event: ask for the return dated {last}")]
    NoEventOnDate { date: NaiveDate, last: NaiveDate },
    #[error("the repurchase of {shares} shares on {trade_date} (event {event}{}) has no price details, which this return must print: record them with a correction (event_voided, then shares_repurchased with currency, highest_price, lowest_price, total_paid)", .position.map(|p| format!(" at log position {p}")).unwrap_or_default())]
    MissingPrices {
        event: String,
        position: Option<u64>,
        trade_date: NaiveDate,
        shares: u64,
    },
    #[error("{what} mix currencies {first} and {second}: a form's total is in one currency; check the events' currency")]
    MixedCurrencies {
        what: String,
        first: String,
        second: String,
    },
    #[error("month {year}-{month:02} does not exist: give the month as YYYY-MM")]
    BadMonth { year: i32, month: u32 },
    #[error("{what} is beyond what the ledger computes exactly (28 significant digits): an event's figure is far too large; check the events' figures against their sources (shares at most 10^15, per-share amounts at most 10^13, amounts at most 10^18) and correct the wrong one with event_voided")]
    TooLarge { what: String },
    #[error("internal check failed: Part III of class {class} totals {part_iii:?} but Part II changes by {part_ii:?}; please report this with the log")]
    Unreconciled {
        class: String,
        part_ii: (i64, i64),
        part_iii: (i64, i64),
    },
}
