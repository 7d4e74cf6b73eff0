//! The returns as typed documents. Their JSON (serde) is the public contract
//! of interchange.md section 3; renderers read these and nothing else.
//!
//! A filed return keeps the digest of its JSON (`return_filed.digest`), with
//! [`DOCUMENT_VERSION`]. Any change to what a document holds or how it is
//! serialized (a field added, a figure computed otherwise) must raise that
//! version, so that an audit by a later build says it cannot reproduce an
//! older digest instead of calling the filing wrong.

use chrono::NaiveDate;
use serde::Serialize;
use shareledger_core::event::{MultiCounter, Signatory};
use shareledger_core::Money;

/// The version of the documents' JSON this build produces: see the module docs.
///
/// 2: the issuer's name brackets its description ("Name (Description)"),
/// a class carries its multi-counter stock codes, and Part III(E) rows of one
/// date are in log order.
pub const DOCUMENT_VERSION: u32 = 2;

/// Which issuer a document is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuerRef {
    pub id: String,
    /// The name with its legal description in brackets, as the filed forms
    /// print it: "Baozun Inc. (A company controlled through weighted voting
    /// rights ...)".
    pub name: String,
}

/// How a class is described in a form's header block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassInfo {
    pub class_of_shares: String,
    pub type_of_shares: String,
    pub listed: bool,
    pub stock_code: Option<String>,
    pub description: Option<String>,
    /// Further trading counters of the class (FF305: a "Multi-counter stock
    /// code" row each). Left out of the JSON when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub multi_counter: Vec<MultiCounter>,
}

/// The three balances of a class on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BalanceRow {
    pub date: NaiveDate,
    pub issued_excluding_treasury: u64,
    pub treasury: u64,
    pub total: u64,
}

/// One numbered line of NDDR Section I.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NddrLine {
    pub label: String,
    /// "Other (please specify)" text, the scheme, or the purpose.
    pub detail: Option<String>,
    pub date: NaiveDate,
    pub shares: u64,
    pub issued_change: i64,
    pub treasury_change: i64,
    pub percent: Option<String>,
    /// Issue, selling or (volume-weighted) repurchase price per share.
    pub price: Option<Money>,
    /// Closing market price of the preceding business day (issues).
    pub previous_close: Option<Money>,
    /// Discount (−) or premium of the price to the previous close, in %.
    pub discount_premium: Option<String>,
    /// FF304: a repurchase disclosed in an earlier return, carried forward until cancelled.
    pub carried_forward: bool,
}

/// FF305 Section I B: a trading date's shares still pending cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingRow {
    pub date: NaiveDate,
    pub shares: u64,
    pub percent: Option<String>,
    pub price: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NddrSectionI {
    pub class: String,
    pub class_info: ClassInfo,
    pub opening_balance: BalanceRow,
    pub events: Vec<NddrLine>,
    pub closing_balance: BalanceRow,
    pub pending_cancellation: Vec<PendingRow>,
}

/// Section II A: one trading date (and method).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepurchaseRow {
    pub trading_date: NaiveDate,
    pub shares: u64,
    /// As the form prints it: "On the Exchange", ...
    pub method: String,
    pub highest_price: Money,
    pub lowest_price: Money,
    pub total_paid: Money,
}

/// Section II B: the mandate and its use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MandateReport {
    pub resolution_date: NaiveDate,
    pub authorised_shares: u64,
    pub issued_shares_at_resolution: u64,
    /// Shares repurchased on the Exchange under the mandate, to the return's date.
    pub repurchased_under_mandate: u64,
    pub percent: Option<String>,
    /// The 30-day moratorium on new issues after the last repurchase ("Up to").
    pub moratorium_until: Option<NaiveDate>,
    pub explanatory_statement_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NddrSectionII {
    pub class: String,
    pub class_info: ClassInfo,
    pub repurchases: Vec<RepurchaseRow>,
    pub total_shares: u64,
    pub total_paid: Money,
    pub for_cancellation: u64,
    pub for_treasury: u64,
    pub mandate: Option<MandateReport>,
}

/// Section III: on-market sales of treasury shares, one line per trading date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreasurySaleRow {
    pub class: String,
    pub trading_date: NaiveDate,
    pub shares: u64,
    pub method: String,
    pub highest_price: Money,
    pub lowest_price: Money,
    pub total_received: Money,
}

/// The Status line of a return that is not an amendment.
pub const NEW_SUBMISSION: &str = "New Submission";

/// The Status line the ledger gives an amended return unless the filer
/// sets another (docs/decisions.md: an assumption, no filed amendment seen).
pub const AMENDMENT: &str = "Amendment";

/// The filing an amended return corrects (interchange.md section 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amends {
    /// The id of that `return_filed`.
    pub id: String,
    /// When it was submitted (RFC 3339, Hong Kong time).
    pub submitted_at: String,
}

/// The Next Day Disclosure Return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nddr {
    /// "FF304" (to 10 June 2024) or "FF305" (from 11 June 2024).
    pub form: String,
    pub issuer: IssuerRef,
    pub date_submitted: NaiveDate,
    /// The form's Status line ([`NEW_SUBMISSION`] unless amended).
    pub status: String,
    /// The filing this return corrects, for an amended return.
    pub amends: Option<Amends>,
    /// The closing balance date: the date of the last event disclosed.
    pub closing_date: NaiveDate,
    /// The closing balance date of the return this one follows, if any.
    pub previous_return: Option<NaiveDate>,
    pub primary_listing: bool,
    pub section_i: Vec<NddrSectionI>,
    pub section_ii: Vec<NddrSectionII>,
    pub section_iii: Vec<TreasurySaleRow>,
    pub signatory: Option<Signatory>,
}

/// Part I: authorised/registered shares of a class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorisedRow {
    pub class: String,
    pub class_info: ClassInfo,
    pub preceding: Option<u64>,
    pub change: Option<i64>,
    pub closing: Option<u64>,
    /// The par value at the close of the month.
    pub par_value: Option<Money>,
    /// The par value at the close of the preceding month, only when a capital
    /// reorganisation changed it in the month (left out of the JSON otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub par_value_preceding: Option<Money>,
    pub capital_preceding: Option<Money>,
    pub capital_closing: Option<Money>,
}

/// Three balance columns of Part II.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IssuedColumns {
    pub issued_excluding_treasury: i64,
    pub treasury: i64,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedRow {
    pub class: String,
    pub class_info: ClassInfo,
    pub preceding: IssuedColumns,
    pub change: IssuedColumns,
    pub closing: IssuedColumns,
}

/// Part III (A): one share option scheme in the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionSchemeRow {
    pub scheme: String,
    pub class: String,
    pub general_meeting_date: Option<NaiveDate>,
    pub outstanding_preceding: u64,
    pub granted: u64,
    pub exercised: u64,
    pub cancelled: u64,
    pub lapsed: u64,
    pub outstanding_closing: u64,
    pub issued_during_month: i64,
    pub treasury_during_month: i64,
    /// Shares that may still be issued under the scheme at the close of the month.
    pub issuable_at_close: u64,
    pub funds_raised: Vec<Money>,
}

/// Part III (B), (C), (D): shares issued under a warrant, convertible or other arrangement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstrumentRow {
    pub name: String,
    pub class: String,
    pub kind: String,
    pub issued_during_month: i64,
    pub treasury_during_month: i64,
    pub funds_raised: Vec<Money>,
    /// The figures of a recorded instrument (`instrument_issued`); each is
    /// left out of the JSON when the ledger has no such instrument (an
    /// exercise of history), so documents without instruments are as before.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<InstrumentFigures>,
}

/// Part III (B), (C), (D): an instrument's particulars and its amount and
/// shares issuable over the month. Amounts (units or principal) are exact
/// decimals as text; `null` when the instrument was recorded without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstrumentFigures {
    pub description: Option<String>,
    pub stock_code: Option<String>,
    pub currency: Option<String>,
    /// Subscription or conversion price per share.
    pub price: Option<Money>,
    pub general_meeting_date: Option<NaiveDate>,
    pub expiry_date: Option<NaiveDate>,
    pub amount_preceding: Option<String>,
    /// Issued, exercised, converted or cancelled during the month (signed).
    pub amount_movement: Option<String>,
    pub amount_closing: Option<String>,
    /// Shares that may still be issued under it at the close of the month.
    pub issuable_at_close: u64,
}

/// Part III (E): other movements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherMovementRow {
    #[serde(rename = "type")]
    pub kind: String,
    pub class: String,
    /// Issue and allotment date (cancellation, redemption date).
    pub date: Option<NaiveDate>,
    pub general_meeting_date: Option<NaiveDate>,
    pub price: Option<Money>,
    pub issued_during_month: Option<i64>,
    pub treasury_during_month: Option<i64>,
    pub issuable_at_close: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Movements {
    pub share_options: Vec<OptionSchemeRow>,
    pub warrants: Vec<InstrumentRow>,
    pub convertibles: Vec<InstrumentRow>,
    pub other_arrangements: Vec<InstrumentRow>,
    pub other: Vec<OtherMovementRow>,
}

/// Total of Part III (A) to (E) for a class: equals Part II's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TotalChange {
    pub class: String,
    pub issued_excluding_treasury: i64,
    pub treasury: i64,
}

/// The Monthly Return (FF301).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthlyReturn {
    pub form: String,
    /// Whether Part II has the three columns of treasury shares (months from June 2024).
    pub treasury_columns: bool,
    pub month_ended: NaiveDate,
    pub date_submitted: NaiveDate,
    /// The form's Status line ([`NEW_SUBMISSION`] unless amended).
    pub status: String,
    /// The filing this return corrects, for an amended return.
    pub amends: Option<Amends>,
    pub issuer: IssuerRef,
    pub authorised: Vec<AuthorisedRow>,
    pub total_authorised_capital: Vec<Money>,
    pub issued: Vec<IssuedRow>,
    pub movements: Movements,
    pub total_change: Vec<TotalChange>,
    pub remarks: Option<String>,
    pub signatory: Option<Signatory>,
}

/// One class's balances for `balance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassBalance {
    pub class: String,
    pub issued_excluding_treasury: u64,
    pub treasury: u64,
    pub total: u64,
    pub pending_cancellation: u64,
    pub authorised: Option<u64>,
}

/// Balances as of a date, as known at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceReport {
    pub issuer: String,
    pub as_of: NaiveDate,
    /// RFC 3339, or null for "everything recorded".
    pub known_at: Option<String>,
    pub classes: Vec<ClassBalance>,
}
