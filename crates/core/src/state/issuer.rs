//! One issuer: its settings, classes, schemes, results timetables, filings
//! and whole history.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::amount::Amount;
use crate::event::*;
use crate::presentation::Presentation;
use crate::refusal::{Refusal, RefusalKind as K};

use super::ClassState;

/// A share option scheme and its outstanding options.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SchemeState {
    pub adoption: ShareOptionSchemeAdopted,
    pub outstanding: u64,
}

/// Warrants, convertibles or another arrangement, and what they can still issue.
///
/// Read-only inside the register ([`IssuerState::instruments`]); a copy
/// ([`InstrumentState::new`], [`InstrumentState::take`]) lets a caller
/// follow an instrument through its uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InstrumentState {
    pub(super) issued: InstrumentIssued,
    /// Shares still issuable.
    pub(super) issuable: u64,
    /// Units or principal outstanding, when the issue gave an amount.
    pub(super) amount: Option<Decimal>,
}

impl InstrumentState {
    pub fn new(e: &InstrumentIssued) -> Self {
        InstrumentState {
            issued: e.clone(),
            issuable: e.shares_issuable,
            amount: e.amount.map(|a| a.0),
        }
    }

    /// The instrument as issued (`instrument_issued`).
    pub fn issued(&self) -> &InstrumentIssued {
        &self.issued
    }

    /// Shares still issuable.
    pub fn issuable(&self) -> u64 {
        self.issuable
    }

    /// Units or principal outstanding, when the issue gave an amount.
    pub fn amount(&self) -> Option<Decimal> {
        self.amount
    }

    /// The amount a use of `shares` takes: as `given`, else pro rata to the
    /// shares still issuable (amount × shares / issuable, rounded half away
    /// from zero to the decimals of the amount issued), and all of what is
    /// left when the last issuable shares go. `None` when the instrument has
    /// no amount.
    pub fn amount_for(&self, shares: u64, given: Option<Amount>) -> Option<Decimal> {
        if let Some(a) = given {
            return Some(a.0);
        }
        let amount = self.amount?;
        if shares >= self.issuable || self.issuable == 0 {
            return Some(amount);
        }
        let dp = self.issued.amount.map(|a| a.0.scale()).unwrap_or(0);
        amount
            .checked_mul(Decimal::from(shares))?
            .checked_div(Decimal::from(self.issuable))
            .map(|x| {
                x.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            })
    }

    /// Record a use (exercise, conversion, cancellation) of `shares`.
    pub fn take(&mut self, shares: u64, given: Option<Amount>) {
        let used = self.amount_for(shares, given);
        self.issuable -= shares;
        if let (Some(a), Some(u)) = (self.amount.as_mut(), used) {
            *a -= u.min(*a);
        }
    }
}

/// One issuer: its settings, classes, schemes, filings and whole history.
///
/// Read-only outside the register (see [`Register`](super::Register)):
///
/// ```compile_fail
/// fn edit(issuer: &mut shareledger_core::IssuerState) {
///     issuer.filings.clear();
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IssuerState {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: Option<String>,
    pub(super) primary_listing: bool,
    pub(super) signatory: Option<Signatory>,
    pub(super) presentation: Presentation,
    pub(super) classes: BTreeMap<String, Box<ClassState>>,
    pub(super) schemes: BTreeMap<String, SchemeState>,
    /// Warrants, convertibles and other arrangements, by name.
    pub(super) instruments: BTreeMap<String, InstrumentState>,
    /// The Exchange's prior approvals and waivers, in log order.
    pub(super) approvals: Vec<(Uuid, ExchangeApprovalRecorded)>,
    pub(super) results: Vec<ResultsAnnouncementScheduled>,
    pub(super) filings: Vec<(Uuid, ReturnFiled)>,
    /// Every event of the issuer in log order, corrections included. Not
    /// part of the serialised state (a snapshot, `IssuerState::state_only`):
    /// a state read back without it decides every event but a correction.
    #[serde(skip)]
    pub(super) history: Vec<Recorded>,
    /// Ids of voided events (serialised sorted: the same state, the same
    /// bytes).
    #[serde(serialize_with = "sorted")]
    pub(super) voided: HashSet<Uuid>,
    /// Its detail dated before this day is folded
    /// ([`super::Register::fold_issuer`]); `None`: the whole state (never
    /// serialised then: a snapshot is never of a folded state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) horizon: Option<NaiveDate>,
}

fn sorted<S: serde::Serializer>(set: &HashSet<Uuid>, s: S) -> Result<S::Ok, S::Error> {
    let mut v: Vec<&Uuid> = set.iter().collect();
    v.sort();
    serde::Serialize::serialize(&v, s)
}

impl IssuerState {
    pub(super) fn new(e: &IssuerRegistered) -> Self {
        let mut presentation = Presentation::default();
        if let Some(p) = &e.presentation {
            presentation.merge(p);
        }
        IssuerState {
            id: e.issuer.clone(),
            name: e.name.clone(),
            description: e.description.clone(),
            primary_listing: e.primary_listing.unwrap_or(true),
            signatory: e.signatory.clone(),
            presentation,
            classes: BTreeMap::new(),
            schemes: BTreeMap::new(),
            instruments: BTreeMap::new(),
            approvals: Vec::new(),
            results: Vec::new(),
            filings: Vec::new(),
            history: Vec::new(),
            voided: HashSet::new(),
            horizon: None,
        }
    }

    /// The day before which its detail is folded (`None`: the whole state):
    /// see [`super::Register::fold_issuer`].
    pub fn horizon(&self) -> Option<NaiveDate> {
        self.horizon
    }

    /// The latest date of its detail (movements, pending lines, mandate
    /// usage, authorised changes, closing prices, filings, results
    /// timetables, opening balances): where a horizon is counted back
    /// from.
    pub fn latest_date(&self) -> Option<NaiveDate> {
        let classes = self.classes.values().flat_map(|c| {
            [
                c.days.last_key_value().map(|(d, _)| *d),
                c.pending.last_key_value().map(|(d, _)| *d),
                c.repurchased.last_key_value().map(|(d, _)| *d),
                c.authorised_changes.last_key_value().map(|(d, _)| *d),
                c.closing_prices.last_key_value().map(|(d, _)| *d),
                c.opening.as_ref().map(|o| o.date),
            ]
        });
        classes
            .chain(self.filings.iter().map(|(_, f)| Some(f.date)))
            .chain(self.results.iter().map(|r| Some(r.board_meeting_date)))
            .flatten()
            .max()
    }

    /// Fold the detail dated before `horizon` (see
    /// [`super::Register::fold_issuer`]): each class's (`ClassState`'s
    /// `Folded`), and the filings and results timetables dated before it.
    pub(super) fn fold(&mut self, horizon: NaiveDate) {
        if self.horizon.is_some_and(|h| h >= horizon) {
            return;
        }
        self.horizon = Some(horizon);
        for class in self.classes.values_mut() {
            class.fold(horizon);
        }
        self.filings.retain(|(_, f)| f.date >= horizon);
        self.results.retain(|r| r.board_meeting_date >= horizon);
    }

    /// The issuer id (its stream).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name, without its legal description.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The legal description that follows the name on the forms.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Whether its primary listing is on the Exchange (it then owes the
    /// mandate figures and the mandate check).
    pub fn primary_listing(&self) -> bool {
        self.primary_listing
    }

    /// Who signs its returns.
    pub fn signatory(&self) -> Option<&Signatory> {
        self.signatory.as_ref()
    }

    /// Its presentation policy in force.
    pub fn presentation(&self) -> &Presentation {
        &self.presentation
    }

    /// Its share classes by id.
    pub fn classes(&self) -> &BTreeMap<String, Box<ClassState>> {
        &self.classes
    }

    /// Its share option schemes by name.
    pub fn schemes(&self) -> &BTreeMap<String, SchemeState> {
        &self.schemes
    }

    /// Its warrants, convertibles and other arrangements, by name.
    pub fn instruments(&self) -> &BTreeMap<String, InstrumentState> {
        &self.instruments
    }

    /// The Exchange's prior approvals and waivers recorded for it, in log
    /// order, with their ids.
    pub fn approvals(&self) -> &[(Uuid, ExchangeApprovalRecorded)] {
        &self.approvals
    }

    /// Its results timetables, in log order.
    pub fn results(&self) -> &[ResultsAnnouncementScheduled] {
        &self.results
    }

    /// Its live filings (`return_filed`), in log order, with their ids.
    pub fn filings(&self) -> &[(Uuid, ReturnFiled)] {
        &self.filings
    }

    /// Every event of the issuer in log order, corrections and voided
    /// events included (see [`Self::live_events`]).
    pub fn history(&self) -> &[Recorded] {
        &self.history
    }

    /// The ids of its voided events.
    pub fn voided(&self) -> &HashSet<Uuid> {
        &self.voided
    }

    /// The name with its legal description, as the forms print it.
    pub fn full_name(&self) -> String {
        match &self.description {
            Some(d) if !d.is_empty() => format!("{} {}", self.name, d),
            _ => self.name.clone(),
        }
    }

    pub fn class(&self, id: &str) -> Option<&ClassState> {
        self.classes.get(id).map(|c| &**c)
    }

    /// The date of the issuer's first recorded filing (the earliest date of
    /// its live `return_filed` events): filing obligations are judged from
    /// it, that date included (docs/rules.md, "Judged from").
    pub fn first_filing_date(&self) -> Option<NaiveDate> {
        self.filings.iter().map(|(_, f)| f.date).min()
    }

    /// The earliest opening balance date of its classes.
    pub fn earliest_opening_date(&self) -> Option<NaiveDate> {
        self.classes
            .values()
            .filter_map(|c| c.opening.as_ref().map(|o| o.date))
            .min()
    }

    /// The first month this issuer owes a Monthly Return for, as far as the
    /// ledger can judge ([`crate::rules::first_monthly_return_owed`]).
    pub fn first_monthly_return_owed(&self) -> Option<crate::rules::Month> {
        crate::rules::first_monthly_return_owed(
            self.first_filing_date(),
            self.earliest_opening_date(),
        )
    }

    /// The events in force: in log order, without voided events and without
    /// the corrections themselves.
    pub fn live_events(&self) -> impl Iterator<Item = &Recorded> {
        self.history
            .iter()
            .filter(|r| !self.voided.contains(&r.id) && !matches!(r.event, Event::EventVoided(_)))
    }

    pub(super) fn class_or_refuse(&self, class: &str) -> Result<&ClassState, Refusal> {
        self.classes.get(class).map(|c| &**c).ok_or_else(|| {
            let known: Vec<&str> = self.classes.keys().map(String::as_str).collect();
            Refusal::new(
                K::UnknownClass,
                "class",
                format!("issuer {} has no share class `{class}`", self.id),
                if known.is_empty() {
                    "record share_class_defined for it first".to_string()
                } else {
                    format!(
                        "use one of: {}, or record share_class_defined first",
                        known.join(", ")
                    )
                },
            )
        })
    }

    pub(super) fn scheme_or_refuse(
        &self,
        scheme: &str,
        field: &'static str,
    ) -> Result<&SchemeState, Refusal> {
        self.schemes.get(scheme).ok_or_else(|| {
            Refusal::new(
                K::UnknownScheme,
                field,
                format!("issuer {} has no share option scheme `{scheme}`", self.id),
                "record share_option_scheme_adopted for it first, or correct the name",
            )
        })
    }
}
