//! The events that move (or give context to) share capital, exactly as the
//! public JSON-lines contract names them (interchange.md section 1).
//!
//! * Every event type is a struct with `deny_unknown_fields`: a typo must not
//!   silently drop data.
//! * Optional fields stay optional in the stored form, so the canonical JSON is
//!   what the user said; defaults are applied where the fact is used
//!   (the `*_or_default` accessors), in one place.
//! * [`parse_line`] reads one JSON line into an [`Incoming`] event, naming the
//!   field of any error; [`Recorded`] is an event with its envelope (id,
//!   recorded_at, actor, note) as it sits in the log.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::amount::{Amount, Currency, Money};
use crate::presentation::PresentationSettings;

/// The stream that holds events with no issuer (the market calendar).
pub const MARKET_STREAM: &str = "$market";

/// Version of the payload schema written by this build, per event.
pub const SCHEMA_VERSION: u32 = 1;

/// A signatory of returns: "Xiao Lei", "Joint Company Secretary".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatory {
    pub name: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerRegistered {
    pub issuer: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_listing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Signatory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentation: Option<PresentationSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSettingsChanged {
    pub issuer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_listing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Signatory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentation: Option<PresentationSettings>,
}

/// A further trading counter of a class ("80700" in RMB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiCounter {
    pub stock_code: String,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareClassDefined {
    pub issuer: String,
    pub class: String,
    pub class_of_shares: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_of_shares: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_counter: Option<Vec<MultiCounter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub par_value: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_shares: Option<u64>,
}

impl ShareClassDefined {
    pub fn type_of_shares_or_default(&self) -> &str {
        self.type_of_shares.as_deref().unwrap_or("Not applicable")
    }
    pub fn listed_or_default(&self) -> bool {
        self.listed.unwrap_or(true)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningBalance {
    pub issuer: String,
    pub class: String,
    /// Balances as at the end of this day.
    pub date: NaiveDate,
    /// Issued shares excluding treasury shares.
    pub issued_shares: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treasury_shares: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepurchaseMandateGranted {
    pub issuer: String,
    pub class: String,
    pub resolution_date: NaiveDate,
    pub issued_shares_at_resolution: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_shares: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanatory_statement_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repurchased_before_ledger: Option<u64>,
}

impl RepurchaseMandateGranted {
    /// The number the mandate authorises: as given, else the floor of 10% of
    /// the issued shares at the resolution [rule 10.06(1)(c)].
    pub fn authorised_or_default(&self) -> u64 {
        self.authorised_shares
            .unwrap_or(self.issued_shares_at_resolution / 10)
    }
}

/// How shares were repurchased (or treasury shares sold).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    #[default]
    OnExchange,
    OtherExchange,
    PrivateArrangement,
    GeneralOffer,
}

/// What repurchased shares are for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    #[default]
    Cancellation,
    Treasury,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharesRepurchased {
    pub issuer: String,
    pub class: String,
    pub trade_date: NaiveDate,
    pub shares: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highest_price: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowest_price: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_paid: Option<Amount>,
}

/// The price details of a trade: all present or all absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradePrices {
    pub currency: Currency,
    pub highest: Amount,
    pub lowest: Amount,
    pub total: Amount,
}

impl SharesRepurchased {
    pub fn method_or_default(&self) -> Method {
        self.method.unwrap_or_default()
    }
    pub fn purpose_or_default(&self) -> Purpose {
        self.purpose.unwrap_or_default()
    }
    /// The prices, when the ledger has them (validation guarantees all or none).
    pub fn prices(&self) -> Option<TradePrices> {
        Some(TradePrices {
            currency: self.currency.clone()?,
            highest: self.highest_price?,
            lowest: self.lowest_price?,
            total: self.total_paid?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepurchasedSharesCancelled {
    pub issuer: String,
    pub class: String,
    /// The cancellation date.
    pub date: NaiveDate,
    pub shares: u64,
    /// Which pending repurchases (by trade date), drawn in this order; default oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_dates: Option<Vec<NaiveDate>>,
}

/// The kinds of issue of shares the forms know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    Placing,
    ConsiderationIssue,
    OpenOffer,
    RightsIssue,
    BonusIssue,
    ScripDividend,
    ShareOptionExercise,
    ShareAward,
    WarrantExercise,
    Conversion,
    Other,
}

impl IssueKind {
    /// Kinds that issue shares under a named scheme, warrant or convertible.
    pub fn needs_scheme(self) -> bool {
        matches!(
            self,
            IssueKind::ShareOptionExercise | IssueKind::WarrantExercise | IssueKind::Conversion
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharesIssued {
    pub issuer: String,
    pub class: String,
    /// The allotment date.
    pub date: NaiveDate,
    pub shares: u64,
    pub kind: IssueKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_director: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_close: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general_meeting_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An exercise or conversion under a recorded instrument: the units or
    /// principal used (default: pro rata to the shares still issuable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharesRedeemed {
    pub issuer: String,
    pub class: String,
    pub date: NaiveDate,
    pub shares: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<bool>,
}

impl SharesRedeemed {
    pub fn cancelled_or_default(&self) -> bool {
        self.cancelled.unwrap_or(true)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreasurySharesSold {
    pub issuer: String,
    pub class: String,
    pub trade_date: NaiveDate,
    pub shares: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    pub currency: Currency,
    pub highest_price: Amount,
    pub lowest_price: Amount,
    pub total_received: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreasurySharesTransferred {
    pub issuer: String,
    pub class: String,
    pub date: NaiveDate,
    pub shares: u64,
    pub purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreasurySharesCancelled {
    pub issuer: String,
    pub class: String,
    pub date: NaiveDate,
    pub shares: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorisedSharesChanged {
    pub issuer: String,
    pub class: String,
    pub date: NaiveDate,
    /// The new number of authorised/registered shares.
    pub authorised_shares: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareOptionSchemeAdopted {
    pub issuer: String,
    pub class: String,
    pub scheme: String,
    pub adoption_date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general_meeting_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outstanding_options: Option<u64>,
}

/// Options granted, lapsed or cancelled under a scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareOptionsMoved {
    pub issuer: String,
    pub scheme: String,
    pub date: NaiveDate,
    /// Shares under the options.
    pub options: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultsAnnouncementScheduled {
    pub issuer: String,
    pub period: String,
    pub board_meeting_date: NaiveDate,
    pub publication_deadline: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketClosed {
    pub date: NaiveDate,
    pub reason: String,
}

/// Which return was filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnForm {
    Nddr,
    Monthly,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnFiled {
    pub issuer: String,
    pub form: ReturnForm,
    /// An NDDR's closing balance date; a Monthly Return's last day of the month.
    pub date: NaiveDate,
    pub submitted_at: DateTime<FixedOffset>,
    /// SHA-256 (hex) of the return's JSON document as generated when filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The layout filed ("FF304", "FF305", "FF301"), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// The version of the JSON document `digest` was taken of (absent: 1).
    /// A build producing another version cannot reproduce that digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_version: Option<u32>,
    /// The id of the earlier `return_filed` this filing corrects (an
    /// amended return, domain.md 3.1a).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amends: Option<Uuid>,
    /// The form's Status line as filed (absent: "New Submission").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventVoided {
    /// The issuer of the voided event; absent only when voiding a
    /// `market_closed` (which has no issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    pub voided_id: Uuid,
    pub reason: String,
}

/// A recorded closing price, for the 5% price cap check [rule 10.06(2)(a)].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosingPrice {
    pub issuer: String,
    pub class: String,
    pub date: NaiveDate,
    pub currency: Currency,
    pub price: Amount,
}

/// Shares of one class reclassified into another, one for one (e.g. a WVR
/// issuer's class B shares converted into class A shares).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharesReclassified {
    pub issuer: String,
    pub from_class: String,
    pub to_class: String,
    pub date: NaiveDate,
    pub shares: u64,
    /// "Conversion of Class B ordinary shares to Class A ordinary shares".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl SharesReclassified {
    /// The description as the forms print it: as given, else one naming both classes.
    pub fn description_or_default(&self) -> String {
        match self.description.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => d.to_string(),
            _ => format!(
                "Reclassification of class {} shares as class {} shares",
                self.from_class, self.to_class
            ),
        }
    }
}

/// What kind of instrument issues shares (Monthly Return Part III (B), (C), (D)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentKind {
    Warrant,
    Convertible,
    OtherArrangement,
}

impl InstrumentKind {
    /// The kind of `shares_issued` that exercises or converts it.
    pub fn issue_kind(self) -> IssueKind {
        match self {
            InstrumentKind::Warrant => IssueKind::WarrantExercise,
            InstrumentKind::Convertible => IssueKind::Conversion,
            InstrumentKind::OtherArrangement => IssueKind::Other,
        }
    }
}

/// Warrants, convertibles or another arrangement to issue shares of `class`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentIssued {
    pub issuer: String,
    /// The class its shares are issued in.
    pub class: String,
    /// Its name, unique per issuer; exercises name it in `scheme`.
    pub instrument: String,
    pub kind: InstrumentKind,
    pub date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Units or principal outstanding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// Subscription or conversion price per share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Amount>,
    pub shares_issuable: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general_meeting_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Shares no longer issuable under an instrument: lapsed, redeemed, expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentCancelled {
    pub issuer: String,
    pub instrument: String,
    pub date: NaiveDate,
    pub shares_issuable: u64,
    /// Units or principal cancelled (default: pro rata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The Exchange's prior approval or waiver of a rule for some events: the
/// findings it covers become information, not breaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeApprovalRecorded {
    pub issuer: String,
    /// The Main Board Rule approved or waived, as the findings name it ("10.06(3)").
    pub rule: String,
    /// The date of the approval.
    pub date: NaiveDate,
    /// The events it approves (default: the issuer's events that breach
    /// `rule` on `date`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers: Option<Vec<Uuid>>,
    /// The Exchange's letter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// What kind of capital reorganisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReorganisationKind {
    Consolidation,
    Subdivision,
    Other,
}

/// A consolidation or subdivision of a class's shares: `ratio_from` shares
/// become `ratio_to` (10 → 1 is a ten-into-one consolidation). The issuer
/// announces the resulting numbers (fractions are its own affair).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapitalReorganised {
    pub issuer: String,
    pub class: String,
    /// The effective date.
    pub date: NaiveDate,
    pub kind: ReorganisationKind,
    pub ratio_from: u64,
    pub ratio_to: u64,
    /// Issued shares (excluding treasury) after it, as announced.
    pub issued_shares_after: u64,
    /// Default: treasury × ratio, rounded down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treasury_shares_after: Option<u64>,
    /// Default: authorised × ratio (rounded down), where the class has authorised shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_shares_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub par_value_after: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general_meeting_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl CapitalReorganised {
    /// `n` shares scaled by the ratio, rounded down.
    pub fn scale(&self, n: u64) -> u64 {
        (u128::from(n) * u128::from(self.ratio_to) / u128::from(self.ratio_from.max(1))) as u64
    }

    /// The description as the forms print it: as given, else from the ratio.
    pub fn description_or_default(&self) -> String {
        match self.description.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => d.to_string(),
            _ => {
                let what = match self.kind {
                    ReorganisationKind::Consolidation => "Consolidation",
                    ReorganisationKind::Subdivision => "Subdivision",
                    ReorganisationKind::Other => "Reorganisation",
                };
                let s = |n: u64| if n == 1 { "share" } else { "shares" };
                format!(
                    "{what} of every {} {} into {} {}",
                    self.ratio_from,
                    s(self.ratio_from),
                    self.ratio_to,
                    s(self.ratio_to)
                )
            }
        }
    }
}

/// Every event the ledger knows. The serde tag is the public `type` name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    IssuerRegistered(IssuerRegistered),
    IssuerSettingsChanged(IssuerSettingsChanged),
    ShareClassDefined(ShareClassDefined),
    OpeningBalance(OpeningBalance),
    RepurchaseMandateGranted(RepurchaseMandateGranted),
    SharesRepurchased(SharesRepurchased),
    RepurchasedSharesCancelled(RepurchasedSharesCancelled),
    SharesIssued(SharesIssued),
    SharesRedeemed(SharesRedeemed),
    TreasurySharesSold(TreasurySharesSold),
    TreasurySharesTransferred(TreasurySharesTransferred),
    TreasurySharesCancelled(TreasurySharesCancelled),
    AuthorisedSharesChanged(AuthorisedSharesChanged),
    ShareOptionSchemeAdopted(ShareOptionSchemeAdopted),
    ShareOptionsGranted(ShareOptionsMoved),
    ShareOptionsLapsed(ShareOptionsMoved),
    ShareOptionsCancelled(ShareOptionsMoved),
    ResultsAnnouncementScheduled(ResultsAnnouncementScheduled),
    MarketClosed(MarketClosed),
    ReturnFiled(ReturnFiled),
    EventVoided(EventVoided),
    ClosingPrice(ClosingPrice),
    SharesReclassified(SharesReclassified),
    InstrumentIssued(InstrumentIssued),
    InstrumentCancelled(InstrumentCancelled),
    ExchangeApprovalRecorded(ExchangeApprovalRecorded),
    CapitalReorganised(CapitalReorganised),
}

/// Calls `$m!(TypeName, "type_name", Variant)` for every event type: the one
/// list that ties the public names to the variants.
macro_rules! for_each_event_type {
    ($m:ident) => {
        $m! {
            IssuerRegistered => "issuer_registered",
            IssuerSettingsChanged => "issuer_settings_changed",
            ShareClassDefined => "share_class_defined",
            OpeningBalance => "opening_balance",
            RepurchaseMandateGranted => "repurchase_mandate_granted",
            SharesRepurchased => "shares_repurchased",
            RepurchasedSharesCancelled => "repurchased_shares_cancelled",
            SharesIssued => "shares_issued",
            SharesRedeemed => "shares_redeemed",
            TreasurySharesSold => "treasury_shares_sold",
            TreasurySharesTransferred => "treasury_shares_transferred",
            TreasurySharesCancelled => "treasury_shares_cancelled",
            AuthorisedSharesChanged => "authorised_shares_changed",
            ShareOptionSchemeAdopted => "share_option_scheme_adopted",
            ShareOptionsGranted => "share_options_granted",
            ShareOptionsLapsed => "share_options_lapsed",
            ShareOptionsCancelled => "share_options_cancelled",
            ResultsAnnouncementScheduled => "results_announcement_scheduled",
            MarketClosed => "market_closed",
            ReturnFiled => "return_filed",
            EventVoided => "event_voided",
            ClosingPrice => "closing_price",
            SharesReclassified => "shares_reclassified",
            InstrumentIssued => "instrument_issued",
            InstrumentCancelled => "instrument_cancelled",
            ExchangeApprovalRecorded => "exchange_approval_recorded",
            CapitalReorganised => "capital_reorganised",
        }
    };
}

macro_rules! define_type_names {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// Every public event type name, in the order of interchange.md.
        pub const EVENT_TYPES: &[&str] = &[$($name),*];

        impl Event {
            /// The public `type` name.
            pub fn type_name(&self) -> &'static str {
                match self { $(Event::$variant(_) => $name),* }
            }
        }

        /// Deserialize the fields of an event of type `name` (without `type`),
        /// naming the field of any error.
        fn decode_body(name: &str, body: Value) -> Result<Event, DecodeError> {
            match name {
                $($name => serde_path_to_error::deserialize(body)
                    .map(Event::$variant)
                    .map_err(DecodeError::from_path_error),)*
                other => Err(DecodeError {
                    field: Some("type".into()),
                    message: format!("unknown event type `{other}`"),
                    hint: format!("use one of: {}", EVENT_TYPES.join(", ")),
                }),
            }
        }
    };
}
for_each_event_type!(define_type_names);

impl Event {
    /// The issuer the event belongs to; `None` for market-wide events.
    pub fn issuer(&self) -> Option<&str> {
        use Event::*;
        Some(match self {
            IssuerRegistered(e) => &e.issuer,
            IssuerSettingsChanged(e) => &e.issuer,
            ShareClassDefined(e) => &e.issuer,
            OpeningBalance(e) => &e.issuer,
            RepurchaseMandateGranted(e) => &e.issuer,
            SharesRepurchased(e) => &e.issuer,
            RepurchasedSharesCancelled(e) => &e.issuer,
            SharesIssued(e) => &e.issuer,
            SharesRedeemed(e) => &e.issuer,
            TreasurySharesSold(e) => &e.issuer,
            TreasurySharesTransferred(e) => &e.issuer,
            TreasurySharesCancelled(e) => &e.issuer,
            AuthorisedSharesChanged(e) => &e.issuer,
            ShareOptionSchemeAdopted(e) => &e.issuer,
            ShareOptionsGranted(e) | ShareOptionsLapsed(e) | ShareOptionsCancelled(e) => &e.issuer,
            ResultsAnnouncementScheduled(e) => &e.issuer,
            ReturnFiled(e) => &e.issuer,
            EventVoided(e) => return e.issuer.as_deref(),
            ClosingPrice(e) => &e.issuer,
            SharesReclassified(e) => &e.issuer,
            InstrumentIssued(e) => &e.issuer,
            InstrumentCancelled(e) => &e.issuer,
            ExchangeApprovalRecorded(e) => &e.issuer,
            CapitalReorganised(e) => &e.issuer,
            MarketClosed(_) => return None,
        })
    }

    /// The class the event belongs to, for class-scoped events.
    pub fn class(&self) -> Option<&str> {
        use Event::*;
        Some(match self {
            ShareClassDefined(e) => &e.class,
            OpeningBalance(e) => &e.class,
            RepurchaseMandateGranted(e) => &e.class,
            SharesRepurchased(e) => &e.class,
            RepurchasedSharesCancelled(e) => &e.class,
            SharesIssued(e) => &e.class,
            SharesRedeemed(e) => &e.class,
            TreasurySharesSold(e) => &e.class,
            TreasurySharesTransferred(e) => &e.class,
            TreasurySharesCancelled(e) => &e.class,
            AuthorisedSharesChanged(e) => &e.class,
            ShareOptionSchemeAdopted(e) => &e.class,
            ClosingPrice(e) => &e.class,
            InstrumentIssued(e) => &e.class,
            CapitalReorganised(e) => &e.class,
            _ => return None,
        })
    }

    /// The stream the event is stored in: its issuer, or [`MARKET_STREAM`].
    pub fn stream(&self) -> &str {
        self.issuer().unwrap_or(MARKET_STREAM)
    }

    /// The date the event takes effect (trade, allotment, cancellation, ...).
    pub fn effective_date(&self) -> Option<NaiveDate> {
        use Event::*;
        Some(match self {
            IssuerRegistered(_)
            | IssuerSettingsChanged(_)
            | ShareClassDefined(_)
            | EventVoided(_) => return None,
            OpeningBalance(e) => e.date,
            RepurchaseMandateGranted(e) => e.resolution_date,
            SharesRepurchased(e) => e.trade_date,
            RepurchasedSharesCancelled(e) => e.date,
            SharesIssued(e) => e.date,
            SharesRedeemed(e) => e.date,
            TreasurySharesSold(e) => e.trade_date,
            TreasurySharesTransferred(e) => e.date,
            TreasurySharesCancelled(e) => e.date,
            AuthorisedSharesChanged(e) => e.date,
            ShareOptionSchemeAdopted(e) => e.adoption_date,
            ShareOptionsGranted(e) | ShareOptionsLapsed(e) | ShareOptionsCancelled(e) => e.date,
            ResultsAnnouncementScheduled(e) => e.board_meeting_date,
            MarketClosed(e) => e.date,
            ReturnFiled(e) => e.date,
            ClosingPrice(e) => e.date,
            SharesReclassified(e) => e.date,
            InstrumentIssued(e) => e.date,
            InstrumentCancelled(e) => e.date,
            ExchangeApprovalRecorded(e) => e.date,
            CapitalReorganised(e) => e.date,
        })
    }

    /// Every class the event concerns: its class, or both classes of a
    /// reclassification.
    pub fn classes(&self) -> Vec<&str> {
        match self {
            Event::SharesReclassified(e) => vec![e.from_class.as_str(), e.to_class.as_str()],
            other => other.class().into_iter().collect(),
        }
    }

    /// Whether the event concerns `class` (see [`Event::classes`]).
    pub fn concerns_class(&self, class: &str) -> bool {
        match self {
            Event::SharesReclassified(e) => e.from_class == class || e.to_class == class,
            other => other.class() == Some(class),
        }
    }

    /// Whether the event moves a balance (issued, treasury, pending or
    /// authorised) and so must be dated after the class's opening balance.
    pub fn moves_balance(&self) -> bool {
        use Event::*;
        matches!(
            self,
            SharesRepurchased(_)
                | RepurchasedSharesCancelled(_)
                | SharesIssued(_)
                | SharesRedeemed(_)
                | TreasurySharesSold(_)
                | TreasurySharesTransferred(_)
                | TreasurySharesCancelled(_)
                | AuthorisedSharesChanged(_)
                | SharesReclassified(_)
                | CapitalReorganised(_)
        )
    }

    /// The event's fields as canonical JSON (keys sorted, `type` included).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("events always serialize")
    }
}

/// An event with its envelope, as it sits (or will sit) in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub id: Uuid,
    /// When the ledger learned it.
    pub recorded_at: DateTime<FixedOffset>,
    pub actor: String,
    pub note: Option<String>,
    pub event: Event,
    /// The global log position, once stored.
    pub position: Option<u64>,
}

impl Recorded {
    /// The canonical payload stored in the log: the event's fields with
    /// `type`, plus `note` when there is one. Keys are sorted.
    pub fn payload(&self) -> String {
        let mut v = self.event.to_value();
        if let (Some(note), Value::Object(map)) = (&self.note, &mut v) {
            map.insert("note".into(), Value::String(note.clone()));
        }
        serde_json::to_string(&v).expect("values always serialize")
    }

    /// Rebuild an event from its stored payload (which [`Recorded::payload`] wrote).
    pub fn from_payload(
        id: Uuid,
        recorded_at: DateTime<FixedOffset>,
        actor: String,
        payload: &str,
        position: Option<u64>,
    ) -> Result<Recorded, DecodeError> {
        let mut map: Map<String, Value> =
            serde_json::from_str(payload).map_err(|e| DecodeError {
                field: None,
                message: format!("stored payload is not a JSON object: {e}"),
                hint: "the log may have been altered: run `shareledger audit`".into(),
            })?;
        no_duplicate_keys(payload).map_err(|e| DecodeError {
            hint: "the stored payload names a key twice, which this program never writes: the log may have been altered: run `shareledger audit`".into(),
            ..e
        })?;
        let note = match map.remove("note") {
            Some(Value::String(s)) => Some(s),
            None => None,
            Some(_) => {
                return Err(DecodeError::field(
                    "note",
                    "must be a string",
                    "write a text note",
                ))
            }
        };
        let type_name = match map.remove("type") {
            Some(Value::String(s)) => s,
            _ => {
                return Err(DecodeError::field(
                    "type",
                    "missing",
                    "every event names its type",
                ))
            }
        };
        let event = decode_body(&type_name, Value::Object(map))?;
        Ok(Recorded {
            id,
            recorded_at,
            actor,
            note,
            event,
            position,
        })
    }
}

/// One line of input, decoded but not yet decided: the envelope's optional
/// fields are still optional (the caller fills them from its clock and user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub id: Option<Uuid>,
    pub recorded_at: Option<DateTime<FixedOffset>>,
    pub actor: Option<String>,
    pub note: Option<String>,
    /// The line says an identical live event is meant (two identical
    /// purchases on one day): the double-entry rule lets it through. Read
    /// at the door, never stored.
    pub allow_duplicate: bool,
    pub event: Event,
}

impl Incoming {
    /// Complete the envelope with the caller's defaults.
    pub fn into_recorded(
        self,
        new_id: impl FnOnce() -> Uuid,
        now: DateTime<FixedOffset>,
        default_actor: &str,
    ) -> Recorded {
        Recorded {
            id: self.id.unwrap_or_else(new_id),
            recorded_at: self.recorded_at.unwrap_or(now),
            actor: self.actor.unwrap_or_else(|| default_actor.to_string()),
            note: self.note,
            event: self.event,
            position: None,
        }
    }
}

/// Why a line could not be read as an event: the field and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}; {hint}", field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
pub struct DecodeError {
    pub field: Option<String>,
    pub message: String,
    pub hint: String,
}

impl DecodeError {
    fn field(field: &str, message: &str, hint: &str) -> Self {
        DecodeError {
            field: Some(field.into()),
            message: message.into(),
            hint: hint.into(),
        }
    }

    fn from_path_error(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." {
            None
        } else {
            Some(path.clone())
        };
        // serde names a missing field in its message; the path is its parent.
        if let Some(f) = inner
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            return DecodeError {
                field: Some(if path == "." {
                    f.to_string()
                } else {
                    format!("{path}.{f}")
                }),
                message: "required field is missing".into(),
                hint: "add it: interchange.md section 1 marks the required fields with *".into(),
            };
        }
        if inner.starts_with("unknown field `") {
            let f = inner
                .trim_start_matches("unknown field `")
                .split('`')
                .next()
                .unwrap_or_default();
            return DecodeError {
                field: field.or_else(|| Some(f.to_string())),
                message: "unknown field".into(),
                hint: format!("remove it or correct its spelling ({inner})"),
            };
        }
        let last = path.rsplit('.').next().unwrap_or_default();
        let hint = if COUNT_FIELDS.contains(&last) {
            "a share count is a whole non-negative JSON number like 4300 (not a string, not a fraction)".to_string()
        } else if last.ends_with("date")
            || last.ends_with("dates")
            || last == "date"
            || last == "period_end"
        {
            "dates are YYYY-MM-DD, a real calendar day, like 2022-11-07".to_string()
        } else if last.ends_with("_at") {
            "times are RFC 3339 like 2022-11-07T18:30:00+08:00".to_string()
        } else {
            "see interchange.md section 1 for the field's form".to_string()
        };
        DecodeError {
            field,
            message: inner,
            hint,
        }
    }
}

/// Fields that hold a number of shares (or options).
const COUNT_FIELDS: &[&str] = &[
    "shares",
    "options",
    "issued_shares",
    "treasury_shares",
    "issued_shares_at_resolution",
    "authorised_shares",
    "repurchased_before_ledger",
    "outstanding_options",
    "shares_issuable",
    "issued_shares_after",
    "treasury_shares_after",
    "authorised_shares_after",
    "ratio_from",
    "ratio_to",
];

/// Dates must be written exactly `YYYY-MM-DD` (chrono alone would also take
/// `2022-11-7`): the log keeps what was written, so nothing is normalised.
fn strict_dates(map: &Map<String, Value>) -> Result<(), DecodeError> {
    let is_date_key = |k: &str| k == "date" || k.ends_with("_date") || k == "publication_deadline";
    let well_formed = |s: &str| {
        s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    for (k, v) in map {
        let texts: Vec<&str> = match v {
            Value::String(s) if is_date_key(k) => vec![s.as_str()],
            Value::Array(items) if k == "trade_dates" => {
                items.iter().filter_map(Value::as_str).collect()
            }
            _ => continue,
        };
        if let Some(bad) = texts.into_iter().find(|s| !well_formed(s)) {
            return Err(DecodeError::field(
                k,
                &format!("`{bad}` is not a date written YYYY-MM-DD"),
                "dates are YYYY-MM-DD: four-digit year, two-digit month and day, like 2022-11-07",
            ));
        }
    }
    Ok(())
}

/// Read one JSON line into an [`Incoming`] event. Envelope fields (`id`,
/// `recorded_at`, `actor`, `note`) are taken out; everything else must be a
/// field of the named event type.
pub fn parse_line(line: &str) -> Result<Incoming, DecodeError> {
    let value: Value = serde_json::from_str(line).map_err(|e| DecodeError {
        field: None,
        message: format!("not valid JSON ({e})"),
        hint: "write one JSON object per line".into(),
    })?;
    no_duplicate_keys(line)?;
    let Value::Object(map) = value else {
        return Err(DecodeError {
            field: None,
            message: "not a JSON object".into(),
            hint: "write one JSON object per line, like {\"type\": \"market_closed\", ...}".into(),
        });
    };
    parse_object(map)
}

/// As [`parse_line`], from an already-parsed object.
pub fn parse_object(mut map: Map<String, Value>) -> Result<Incoming, DecodeError> {
    let type_name = match map.remove("type") {
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(DecodeError::field(
                "type",
                "must be a string",
                "like \"shares_repurchased\"",
            ))
        }
        None => {
            return Err(DecodeError::field(
                "type",
                "required field is missing",
                "every line names its event type, like \"type\": \"shares_repurchased\"",
            ))
        }
    };
    let id = match map.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Uuid::parse_str(&s).map_err(|_| {
            DecodeError::field(
                "id",
                &format!("`{s}` is not a UUID"),
                "like 3f2b8c1e-5d4a-4e8f-9a6b-1c2d3e4f5a6b",
            )
        })?),
        Some(_) => {
            return Err(DecodeError::field(
                "id",
                "must be a UUID string",
                "like \"3f2b8c1e-5d4a-4e8f-9a6b-1c2d3e4f5a6b\"",
            ))
        }
    };
    let recorded_at = match map.remove("recorded_at") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(DateTime::parse_from_rfc3339(&s).map_err(|_| {
            DecodeError::field(
                "recorded_at",
                &format!("`{s}` is not an RFC 3339 time"),
                "like 2022-11-07T18:30:00+08:00",
            )
        })?),
        Some(_) => {
            return Err(DecodeError::field(
                "recorded_at",
                "must be a string",
                "like \"2022-11-07T18:30:00+08:00\"",
            ))
        }
    };
    let text = |map: &mut Map<String, Value>, key: &str| -> Result<Option<String>, DecodeError> {
        match map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(DecodeError::field(
                key,
                "must be a string",
                "write it as text",
            )),
        }
    };
    // `log --format json` adds what the store derives; re-importing such a
    // line recomputes them, so they are accepted and not kept.
    map.remove("position");
    map.remove("hash");
    strict_dates(&map)?;
    let actor = text(&mut map, "actor")?;
    let note = text(&mut map, "note")?;
    let allow_duplicate = match map.remove("allow_duplicate") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => {
            return Err(DecodeError::field(
                "allow_duplicate",
                "must be true or false",
                "write \"allow_duplicate\": true on a line that repeats a real event",
            ))
        }
    };
    let event = decode_body(&type_name, Value::Object(map))?;
    check_bounds(&event)?;
    Ok(Incoming {
        id,
        recorded_at,
        actor,
        note,
        allow_duplicate,
        event,
    })
}

/// Refuse a JSON text in which an object names a key twice (serde_json
/// would keep the last one silently: `"shares":1000, … "shares":999999`).
/// The error names the key and its path.
pub fn no_duplicate_keys(text: &str) -> Result<(), DecodeError> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    struct Walk(String);
    impl<'de> DeserializeSeed<'de> for Walk {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Walk {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0usize;
            while seq
                .next_element_seed(Walk(format!("{}[{i}]", self.0)))?
                .is_some()
            {
                i += 1;
            }
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                let path = if self.0.is_empty() {
                    key.to_string()
                } else {
                    format!("{}.{key}", self.0)
                };
                if !seen.insert(key.into_owned()) {
                    return Err(serde::de::Error::custom(DuplicateKey(path)));
                }
                map.next_value_seed(Walk(path))?;
            }
            Ok(())
        }
    }
    struct DuplicateKey(String);
    impl fmt::Display for DuplicateKey {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "\u{0}dup:{}", self.0)
        }
    }

    let mut de = serde_json::Deserializer::from_str(text);
    match Walk(String::new()).deserialize(&mut de) {
        Ok(()) => Ok(()),
        Err(e) => {
            let msg = e.to_string();
            match msg.strip_prefix("\u{0}dup:") {
                Some(rest) => {
                    // serde_json appends " at line L column C".
                    let key = rest.split(" at line ").next().unwrap_or(rest);
                    Err(DecodeError::field(
                        key,
                        "the key appears twice in one object",
                        "write each field once: a line that names a field twice is ambiguous, so it is refused rather than one of the values kept",
                    ))
                }
                None => Err(DecodeError {
                    field: None,
                    message: format!("not valid JSON ({msg})"),
                    hint: "write one JSON object per line".into(),
                }),
            }
        }
    }
}

/// The bounds every quantity of an event must keep, checked when the event
/// is read (docs/threat-model.md, "Bounds"): share and option counts at
/// most [`crate::state::MAX_SHARES`] (10^15); every amount at most
/// [`crate::amount::MAX_AMOUNT`] (10^18) with at most 10 decimal places
/// (checked by [`Amount`]'s parser); per-share amounts (prices, par values)
/// at most [`crate::amount::MAX_PER_SHARE`] (10^13), so that a per-share
/// amount times any accepted count is an exact `Decimal`.
pub fn check_bounds(event: &Event) -> Result<(), DecodeError> {
    use crate::amount::{MAX_AMOUNT, MAX_AMOUNT_DECIMALS, MAX_PER_SHARE};
    use crate::presentation::MAX_DECIMALS;
    use crate::state::MAX_SHARES;
    use Event::*;
    let count = |field: &str, n: Option<u64>| match n {
        Some(n) if n > MAX_SHARES => Err(DecodeError::field(
            field,
            &format!("{n} is above the largest count the ledger accepts, {MAX_SHARES} (10^15)"),
            "check the figure: no issuer has that many shares",
        )),
        _ => Ok(()),
    };
    // Every amount (as read, or made by the program: a broker file's
    // totals) within the bounds (`Amount`'s parser checks only the form,
    // so that a ledger written before the bounds still reads).
    let amount = |field: &str, a: Option<&Amount>| match a {
        Some(a) if a.0 > MAX_AMOUNT || a.0.is_sign_negative() => Err(DecodeError::field(
            field,
            &format!(
                "{} is outside the amounts the ledger accepts, 0 to {MAX_AMOUNT} (10^18)",
                a.0
            ),
            "check the figure",
        )),
        Some(a) if a.0.scale() > MAX_AMOUNT_DECIMALS => Err(DecodeError::field(
            field,
            &format!("{} has more than {MAX_AMOUNT_DECIMALS} decimal places", a.0),
            "round it as the document you copy it from does",
        )),
        _ => Ok(()),
    };
    let per_share = |field: &str, a: Option<&Amount>| {
        amount(field, a)?;
        match a {
            Some(a) if a.0 > MAX_PER_SHARE => Err(DecodeError::field(
                field,
                &format!(
                    "{} is above the largest amount per share the ledger accepts, {MAX_PER_SHARE} (10^13)",
                    a.0
                ),
                "check the figure: it is an amount per share, not a total",
            )),
            _ => Ok(()),
        }
    };
    match event {
        ShareClassDefined(e) => {
            count("authorised_shares", e.authorised_shares)?;
            per_share("par_value.amount", e.par_value.as_ref().map(|m| &m.amount))?;
        }
        OpeningBalance(e) => {
            count("issued_shares", Some(e.issued_shares))?;
            count("treasury_shares", e.treasury_shares)?;
        }
        RepurchaseMandateGranted(e) => {
            count(
                "issued_shares_at_resolution",
                Some(e.issued_shares_at_resolution),
            )?;
            count("authorised_shares", e.authorised_shares)?;
            count("repurchased_before_ledger", e.repurchased_before_ledger)?;
        }
        SharesRepurchased(e) => {
            count("shares", Some(e.shares))?;
            per_share("highest_price", e.highest_price.as_ref())?;
            per_share("lowest_price", e.lowest_price.as_ref())?;
            amount("total_paid", e.total_paid.as_ref())?;
        }
        RepurchasedSharesCancelled(e) => count("shares", Some(e.shares))?,
        SharesIssued(e) => {
            count("shares", Some(e.shares))?;
            per_share("price", e.price.as_ref())?;
            per_share("previous_close", e.previous_close.as_ref())?;
            amount("amount", e.amount.as_ref())?;
        }
        SharesRedeemed(e) => {
            count("shares", Some(e.shares))?;
            per_share("price", e.price.as_ref())?;
        }
        TreasurySharesSold(e) => {
            count("shares", Some(e.shares))?;
            per_share("highest_price", Some(&e.highest_price))?;
            per_share("lowest_price", Some(&e.lowest_price))?;
            amount("total_received", Some(&e.total_received))?;
        }
        TreasurySharesTransferred(e) => count("shares", Some(e.shares))?,
        TreasurySharesCancelled(e) => count("shares", Some(e.shares))?,
        AuthorisedSharesChanged(e) => count("authorised_shares", Some(e.authorised_shares))?,
        ShareOptionSchemeAdopted(e) => count("outstanding_options", e.outstanding_options)?,
        ShareOptionsGranted(e) | ShareOptionsLapsed(e) | ShareOptionsCancelled(e) => {
            count("options", Some(e.options))?
        }
        ClosingPrice(e) => per_share("price", Some(&e.price))?,
        IssuerRegistered(self::IssuerRegistered { presentation, .. })
        | IssuerSettingsChanged(self::IssuerSettingsChanged { presentation, .. }) => {
            if let Some(p) = presentation {
                for (field, n) in [
                    ("presentation.percent_decimals", p.percent_decimals),
                    ("presentation.price_decimals", p.price_decimals),
                ] {
                    match n {
                        Some(n) if n > MAX_DECIMALS => {
                            return Err(DecodeError::field(
                                field,
                                &format!("{n} is above the most decimals a figure may be presented with, {MAX_DECIMALS}"),
                                "give 0 to 12 (the forms print percentages to a few decimals)",
                            ))
                        }
                        _ => {}
                    }
                }
            }
        }
        SharesReclassified(e) => count("shares", Some(e.shares))?,
        CapitalReorganised(e) => {
            count("ratio_from", Some(e.ratio_from))?;
            count("ratio_to", Some(e.ratio_to))?;
            count("issued_shares_after", Some(e.issued_shares_after))?;
            count("treasury_shares_after", e.treasury_shares_after)?;
            count("authorised_shares_after", e.authorised_shares_after)?;
            per_share(
                "par_value_after.amount",
                e.par_value_after.as_ref().map(|m| &m.amount),
            )?;
        }
        InstrumentIssued(e) => {
            count("shares_issuable", Some(e.shares_issuable))?;
            amount("amount", e.amount.as_ref())?;
            per_share("price", e.price.as_ref())?;
        }
        InstrumentCancelled(e) => {
            count("shares_issuable", Some(e.shares_issuable))?;
            amount("amount", e.amount.as_ref())?;
        }
        ResultsAnnouncementScheduled(_)
        | MarketClosed(_)
        | ReturnFiled(_)
        | EventVoided(_)
        | ExchangeApprovalRecorded(_) => {}
    }
    Ok(())
}
