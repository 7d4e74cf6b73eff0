//! Balances of each class as of a date (as known at the time the caller
//! replayed the log to).

use chrono::NaiveDate;
use shareledger_core::state::IssuerState;

use crate::document::{BalanceReport, ClassBalance};
use crate::ReturnError;

pub fn balance(
    issuer: &IssuerState,
    class: Option<&str>,
    as_of: NaiveDate,
    known_at: Option<String>,
) -> Result<BalanceReport, ReturnError> {
    if let Some(c) = class {
        if !issuer.classes().contains_key(c) {
            return Err(ReturnError::UnknownClass {
                issuer: issuer.id().to_string(),
                class: c.to_string(),
            });
        }
    }
    let mut classes = Vec::new();
    for state in issuer
        .classes()
        .values()
        .filter(|s| class.is_none_or(|c| c == s.id()))
    {
        let b = state
            .balances_as_of(as_of)
            .ok_or_else(|| ReturnError::BeforeHistory {
                class: state.id().to_string(),
                date: as_of,
                opening: state.opening().map(|o| o.date).unwrap_or(as_of),
            })?;
        classes.push(ClassBalance {
            class: state.id().to_string(),
            issued_excluding_treasury: b.issued_excluding_treasury,
            treasury: b.treasury,
            total: b.total(),
            pending_cancellation: b.pending_cancellation,
            authorised: state.authorised_as_of(as_of),
        });
    }
    Ok(BalanceReport {
        issuer: issuer.id().to_string(),
        as_of,
        known_at,
        classes,
    })
}
