//! Times as the ledger keeps and reads them: the store's fixed-width UTC
//! text, Hong Kong time for people, and the `known_at` / `now` parameters.
//! The ledger never reads the clock: every operation is given `now`.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use shareledger_core::calendar::hong_kong_offset;

use crate::error::LedgerError;

/// A time as the store keeps it: fixed-width UTC, so text order is time order.
pub fn store_time(t: &DateTime<FixedOffset>) -> String {
    t.with_timezone(&Utc)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Hong Kong time, +08:00, as the ledger prints times.
pub fn hk(t: &DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    t.with_timezone(&hong_kong_offset())
}

/// The end of `d` in Hong Kong (23:59:59.999999 +08:00).
pub fn end_of_day_hk(d: NaiveDate) -> Option<DateTime<FixedOffset>> {
    d.and_hms_micro_opt(23, 59, 59, 999_999)?
        .and_local_timezone(hong_kong_offset())
        .single()
}

/// Parse a time parameter (`known_at`, `now`): an RFC 3339 time, or a date
/// meaning the end of that day in Hong Kong. `param` names the parameter in
/// the error.
pub fn parse_time(param: &'static str, s: &str) -> Result<DateTime<FixedOffset>, LedgerError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    if let Some(end) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(end_of_day_hk)
    {
        return Ok(end);
    }
    Err(LedgerError::invalid(
        param,
        s,
        "is not a time: use RFC 3339 like 2022-11-07T18:30:00+08:00, or a date like 2022-11-07 (end of that day, Hong Kong time)",
    ))
}

/// Parse an RFC 3339 time (no date shorthand), e.g. `submitted_at`.
pub fn parse_instant(param: &'static str, s: &str) -> Result<DateTime<FixedOffset>, LedgerError> {
    DateTime::parse_from_rfc3339(s).map_err(|_| {
        LedgerError::invalid(
            param,
            s,
            "is not an RFC 3339 time like 2022-11-07T19:05:00+08:00",
        )
    })
}

/// Parse "YYYY-MM".
pub fn parse_month(s: &str) -> Result<(i32, u32), LedgerError> {
    let bad = || {
        LedgerError::invalid(
            "month",
            s,
            "is not a month: write it as YYYY-MM, like 2022-11",
        )
    };
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&m) || y.to_string().len() != 4 {
        return Err(bad());
    }
    Ok((y, m))
}
