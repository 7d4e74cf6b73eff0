//! The returns as the ledger produces and files them: [`produce`] builds the
//! document of a [`ReturnRequest`] from a register; [`digest`] is what a
//! `return_filed` keeps and the audit proves; [`mark_filed`] takes the
//! register, the document and its digest inside the same write transaction
//! as the `return_filed` it appends, so no other writer can slip an event in
//! between (the digest is always that of the log the filing follows).

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;
use sha2::{Digest, Sha256};
use shareledger_core::calendar::BusinessCalendar;
use shareledger_core::event::{Event, Incoming, ReturnFiled, ReturnForm, MARKET_STREAM};
use shareledger_core::rules::NddrLayout;
use shareledger_core::state::IssuerState;
use shareledger_core::state::Register;
use shareledger_returns::document::{Amends, AMENDMENT, DOCUMENT_VERSION, NEW_SUBMISSION};
use shareledger_returns::monthly::{monthly_in, MonthlyRequest};
use shareledger_returns::nddr::{nddr_in, NddrRequest};
use shareledger_returns::render::{render, DocKind, Format};
use shareledger_returns::window::View;
use shareledger_store::{EventRead, EventStore, ReadFilter, StoreError};
use uuid::Uuid;

use crate::append::{append_in, AppendOptions};
use crate::decode::Decoder;
use crate::error::LedgerError;
use crate::time::{hk, parse_month};

/// Which return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnKind {
    /// The NDDR whose last event is on `date`, on `form` (default: by date).
    Nddr {
        /// The closing balance date.
        date: NaiveDate,
        /// FF304 or FF305; `None`: the form in force on `date`.
        form: Option<NddrLayout>,
    },
    /// The Monthly Return for a month.
    Monthly {
        /// The year.
        year: i32,
        /// The month, 1–12.
        month: u32,
    },
}

impl ReturnKind {
    /// An NDDR request from the API's parameters (`form` as text).
    pub fn nddr(date: NaiveDate, form: Option<&str>) -> Result<Self, LedgerError> {
        let form = form
            .map(|f| {
                NddrLayout::parse(f).ok_or_else(|| {
                    LedgerError::invalid("form", f, "is not a form: use FF304 or FF305")
                })
            })
            .transpose()?;
        Ok(ReturnKind::Nddr { date, form })
    }

    /// A Monthly Return request from `YYYY-MM`.
    pub fn monthly(month: &str) -> Result<Self, LedgerError> {
        let (year, month) = parse_month(month)?;
        Ok(ReturnKind::Monthly { year, month })
    }
}

/// A return to produce for an issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRequest {
    /// The issuer's id.
    pub issuer: String,
    /// Which return.
    pub kind: ReturnKind,
    /// The Date Submitted printed on the form (default: for a Monthly
    /// Return the first business day after the month; for an NDDR none).
    pub submitted: Option<NaiveDate>,
    /// The form's Status line (default: "New Submission", or "Amendment"
    /// for a return that corrects one already filed).
    pub status: Option<String>,
}

impl ReturnRequest {
    /// A request with the defaults.
    pub fn new(issuer: &str, kind: ReturnKind) -> Self {
        ReturnRequest {
            issuer: issuer.to_string(),
            kind,
            submitted: None,
            status: None,
        }
    }
}

/// A produced document.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Document {
    /// A Next Day Disclosure Return.
    Nddr(shareledger_returns::document::Nddr),
    /// A Monthly Return.
    Monthly(shareledger_returns::document::MonthlyReturn),
}

/// A produced return: the document, its JSON, and what a filing records.
#[derive(Debug, Clone)]
pub struct Produced {
    /// The typed document.
    pub document: Document,
    /// Its JSON (the digest is taken of this).
    pub json: String,
    /// NDDR or Monthly Return.
    pub form: ReturnForm,
    /// The form's name: FF304, FF305, FF301.
    pub layout: String,
    /// The date a filing records: the NDDR's date, the month's last day.
    pub date: NaiveDate,
}

impl Produced {
    /// The document rendered as `format` (JSON: indented, as `--format json`).
    pub fn render(&self, format: Format) -> String {
        match &self.document {
            Document::Nddr(d) => render(DocKind::Nddr, d, format),
            Document::Monthly(d) => render(DocKind::Monthly, d, format),
        }
    }

    /// The digest a `return_filed` of this document keeps.
    pub fn digest(&self) -> String {
        digest(&self.json)
    }

    /// The form's Status line.
    pub fn status(&self) -> &str {
        match &self.document {
            Document::Nddr(d) => &d.status,
            Document::Monthly(d) => &d.status,
        }
    }

    /// The filing this return amends, if it is an amended return.
    pub fn amends(&self) -> Option<&Amends> {
        match &self.document {
            Document::Nddr(d) => d.amends.as_ref(),
            Document::Monthly(d) => d.amends.as_ref(),
        }
    }

    /// Set the Status line and the filing amended (neither is in the digest).
    fn set_filing(&mut self, status: String, amends: Option<Amends>) -> Result<(), LedgerError> {
        self.json = match &mut self.document {
            Document::Nddr(d) => {
                d.status = status;
                d.amends = amends;
                to_json(d)?
            }
            Document::Monthly(d) => {
                d.status = status;
                d.amends = amends;
                to_json(d)?
            }
        };
        Ok(())
    }
}

/// The filing of `(form, date)` that stands: the last one recorded that no
/// later filing amends.
pub fn current_filing(
    state: &IssuerState,
    form: ReturnForm,
    date: NaiveDate,
) -> Option<&(Uuid, ReturnFiled)> {
    state
        .filings()
        .iter()
        .rfind(|(id, f)| f.form == form && f.date == date && !is_amended(state, *id))
}

/// Whether a later filing amends the filing `id`.
pub fn is_amended(state: &IssuerState, id: Uuid) -> bool {
    state.filings().iter().any(|(_, f)| f.amends == Some(id))
}

/// The form and the date a filing of `req` records.
fn filing_key(req: &ReturnRequest) -> Result<(ReturnForm, NaiveDate), LedgerError> {
    Ok(match req.kind {
        ReturnKind::Nddr { date, .. } => (ReturnForm::Nddr, date),
        ReturnKind::Monthly { year, month } => (
            ReturnForm::Monthly,
            shareledger_returns::dates::month_end(year, month).ok_or_else(|| {
                LedgerError::invalid("month", &format!("{year}-{month:02}"), "does not exist")
            })?,
        ),
    })
}

/// [`produce`]; with `amendment`, an NDDR that a correction left with
/// nothing to disclose on its date is produced with no lines (the amended
/// return of domain.md 3.1a) instead of refused.
pub(crate) fn produce_allowing_empty(
    register: &Register,
    req: &ReturnRequest,
    amendment: bool,
) -> Result<Produced, LedgerError> {
    let issuer = register.issuer(&req.issuer).ok_or_else(|| {
        LedgerError::NotFound(format!("no issuer `{}` in the ledger", req.issuer))
    })?;
    produce_in(register, &View::new(issuer), req, amendment)
}

/// The return of `req` as a filer sees it: when the return is already
/// filed and the log as it stands now still reproduces the filing, that
/// filing (its Status line, what it amends); when the log no longer
/// reproduces it, the corrected return, as an amendment of that filing
/// (domain.md 3.1a: Status "Amendment" unless `req.status` says otherwise);
/// otherwise a new submission.
pub fn produce_current(register: &Register, req: &ReturnRequest) -> Result<Produced, LedgerError> {
    let (form, date) = filing_key(req)?;
    let state = register.issuer(&req.issuer).ok_or_else(|| {
        LedgerError::NotFound(format!("no issuer `{}` in the ledger", req.issuer))
    })?;
    let current = current_filing(state, form, date);
    let mut produced = produce_allowing_empty(register, req, current.is_some())?;
    let submitted_at = |id: Uuid| {
        state
            .filings()
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, f)| hk(&f.submitted_at).to_rfc3339())
            .unwrap_or_default()
    };
    let (status, amends) = match current {
        Some((id, filed))
            if filed
                .digest
                .as_deref()
                .is_some_and(|d| d != produced.digest()) =>
        {
            (
                req.status.clone().unwrap_or_else(|| AMENDMENT.to_string()),
                Some(Amends {
                    id: id.to_string(),
                    submitted_at: submitted_at(*id),
                }),
            )
        }
        Some((_, filed)) => (
            req.status
                .clone()
                .or_else(|| filed.status.clone())
                .unwrap_or_else(|| NEW_SUBMISSION.to_string()),
            filed.amends.map(|a| Amends {
                id: a.to_string(),
                submitted_at: submitted_at(a),
            }),
        ),
        None => (
            req.status
                .clone()
                .unwrap_or_else(|| NEW_SUBMISSION.to_string()),
            None,
        ),
    };
    produced.set_filing(status, amends)?;
    Ok(produced)
}

/// The business-day calendar with the market closures the register knows.
pub fn calendar(register: &Register) -> BusinessCalendar {
    let mut cal = BusinessCalendar::new();
    for d in register.market_closures().keys() {
        cal.add_market_closure(*d);
    }
    cal
}

/// SHA-256 of a document's JSON without what the filing itself records
/// (`date_submitted`, which the filer may set by hand, and the Status line
/// and the filing amended): what `return_filed` keeps and `audit` compares.
pub fn digest(json: &str) -> String {
    let stripped = match serde_json::from_str::<serde_json::Value>(json) {
        Ok(mut v) => {
            if let Some(map) = v.as_object_mut() {
                map.remove("date_submitted");
                map.remove("status");
                map.remove("amends");
            }
            serde_json::to_string(&v).unwrap_or_else(|_| json.to_string())
        }
        // Not JSON: digest the text as it is (never a document of ours).
        Err(_) => json.to_string(),
    };
    hex::encode(Sha256::digest(stripped.as_bytes()))
}

/// Build the return of `req` from `register` (already replayed as known at
/// the chosen time).
pub fn produce(register: &Register, req: &ReturnRequest) -> Result<Produced, LedgerError> {
    let issuer = register.issuer(&req.issuer).ok_or_else(|| {
        LedgerError::NotFound(format!("no issuer `{}` in the ledger", req.issuer))
    })?;
    produce_in(register, &View::new(issuer), req, false)
}

/// [`produce`] (with `amendment`, [`produce_allowing_empty`]) of the issuer
/// `view` shows (its events found through the view's index, its previous
/// returns among the filings the view sees), on `register`'s calendar: the
/// one place a return is built. An NDDR with `amendment` that a correction
/// left with nothing to disclose on its date has no lines; without, that is
/// refused (the document is otherwise the same either way).
pub(crate) fn produce_in(
    register: &Register,
    view: &View<'_>,
    req: &ReturnRequest,
    amendment: bool,
) -> Result<Produced, LedgerError> {
    match &req.kind {
        ReturnKind::Nddr { date, form } => {
            let doc = nddr_in(
                view,
                &NddrRequest {
                    date: *date,
                    submitted: req.submitted,
                    layout: *form,
                },
                amendment,
            )?;
            Ok(Produced {
                json: to_json(&doc)?,
                form: ReturnForm::Nddr,
                layout: doc.form.clone(),
                date: *date,
                document: Document::Nddr(doc),
            })
        }
        ReturnKind::Monthly { year, month } => {
            let end = shareledger_returns::dates::month_end(*year, *month).ok_or_else(|| {
                LedgerError::invalid("month", &format!("{year}-{month:02}"), "does not exist")
            })?;
            let submitted = req
                .submitted
                .unwrap_or_else(|| calendar(register).next_business_day(end));
            let doc = monthly_in(
                view,
                &MonthlyRequest {
                    year: *year,
                    month: *month,
                    submitted,
                },
            )?;
            Ok(Produced {
                json: to_json(&doc)?,
                form: ReturnForm::Monthly,
                layout: doc.form.clone(),
                date: end,
                document: Document::Monthly(doc),
            })
        }
    }
}

/// A document's JSON; an error, never a panic, should it ever fail.
fn to_json<T: Serialize>(doc: &T) -> Result<String, LedgerError> {
    serde_json::to_string(doc).map_err(|e| {
        LedgerError::Inconsistent(format!("a document cannot be written as JSON: {e}"))
    })
}

/// The request that regenerates the return a `return_filed` records.
pub fn request_of(issuer: &str, filed: &ReturnFiled) -> Result<ReturnRequest, LedgerError> {
    use chrono::Datelike;
    let kind = match filed.form {
        ReturnForm::Nddr => ReturnKind::nddr(filed.date, filed.layout.as_deref())?,
        ReturnForm::Monthly => ReturnKind::Monthly {
            year: filed.date.year(),
            month: filed.date.month(),
        },
    };
    Ok(ReturnRequest::new(issuer, kind))
}

/// Regenerate the return a `return_filed` event records, from `register`,
/// and give its digest.
pub fn regenerate_digest(
    register: &Register,
    issuer: &str,
    filed: &ReturnFiled,
) -> Result<String, LedgerError> {
    if register.issuer(issuer).is_none() {
        return Err(LedgerError::NotFound(format!(
            "issuer {issuer} was not registered then"
        )));
    }
    let req = request_of(issuer, filed)?;
    Ok(produce_allowing_empty(register, &req, filed.amends.is_some())?.digest())
}

/// [`regenerate_digest`] from a view of the issuer (`view`'s issuer must be
/// `register`'s `issuer`): the audit's regenerations, each reading only the
/// events of its period through the view's index.
pub(crate) fn regenerate_digest_in(
    register: &Register,
    view: &View<'_>,
    filed: &ReturnFiled,
) -> Result<String, LedgerError> {
    let issuer = view.issuer().id();
    let req = request_of(issuer, filed)?;
    Ok(produce_in(register, view, &req, filed.amends.is_some())?.digest())
}

/// How to file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilingOptions {
    /// File even though a return of the same form dated later is already
    /// filed (a return submitted late): by default that is refused, since
    /// filing out of order is usually a mistake in the date.
    pub out_of_order: bool,
}

/// What [`mark_filed`] did.
#[derive(Debug, Clone)]
pub struct Filed {
    /// The return as filed.
    pub produced: Produced,
    /// Its digest, as recorded.
    pub digest: String,
    /// Log position of the `return_filed` event.
    pub position: u64,
}

/// File the return of `req` as the ledger stands now: inside one write
/// transaction, replay the issuer, produce the return, take its digest and
/// append the `return_filed` event. `submitted_at` is when it was submitted;
/// the form's Date Submitted is its date in Hong Kong unless `req.submitted`
/// says otherwise.
pub fn mark_filed<S: EventStore>(
    store: &mut S,
    req: &ReturnRequest,
    submitted_at: DateTime<FixedOffset>,
    now: DateTime<FixedOffset>,
    actor: &str,
) -> Result<Filed, LedgerError> {
    mark_filed_with(
        store,
        req,
        submitted_at,
        now,
        actor,
        FilingOptions::default(),
        |_| Ok(()),
    )
}

/// [`mark_filed`], handing the return to `deliver` (print it, write it,
/// send it) after the filing is appended and before it commits: if
/// `deliver` fails, the filing is rolled back and nothing is recorded; if
/// it succeeds, what it delivered is exactly what was filed.
pub fn mark_filed_with<S, E>(
    store: &mut S,
    req: &ReturnRequest,
    submitted_at: DateTime<FixedOffset>,
    now: DateTime<FixedOffset>,
    actor: &str,
    options: FilingOptions,
    deliver: impl FnOnce(&Produced) -> Result<(), E>,
) -> Result<Filed, E>
where
    S: EventStore,
    E: From<LedgerError> + From<StoreError>,
{
    // The form's Date Submitted is the day it is submitted (Hong Kong),
    // unless the filer says otherwise.
    let mut req = req.clone();
    if req.submitted.is_none() {
        req.submitted = Some(hk(&submitted_at).date_naive());
    }
    let req = &req;
    store.write(|tx| {
        let mut register = Register::new();
        for stream in [MARKET_STREAM, req.issuer.as_str()] {
            let mut decoder = Decoder::new();
            tx.scan(&ReadFilter::stream(stream), |row| {
                decoder.replay(&mut register, row)
            })
            .map_err(E::from)?;
        }
        let produced = produce_current(&register, req)?;
        let amends = produced
            .amends()
            .map(|a| {
                Uuid::parse_str(&a.id).map_err(|_| {
                    LedgerError::Inconsistent(format!("filing id {:?} is not a UUID", a.id))
                })
            })
            .transpose()?;
        // An amendment corrects an earlier date on purpose.
        if !options.out_of_order && amends.is_none() {
            check_in_order(&register, &req.issuer, &produced)?;
        }
        let digest = produced.digest();
        let event = Event::ReturnFiled(ReturnFiled {
            issuer: req.issuer.clone(),
            form: produced.form,
            date: produced.date,
            submitted_at,
            digest: Some(digest.clone()),
            layout: Some(produced.layout.clone()),
            document_version: Some(DOCUMENT_VERSION),
            amends,
            status: (produced.status() != NEW_SUBMISSION).then(|| produced.status().to_string()),
        });
        let incoming = Incoming {
            id: None,
            recorded_at: None,
            actor: None,
            note: None,
            allow_duplicate: false,
            event,
        };
        let summary = append_in(
            tx,
            vec![(1, incoming)],
            now,
            actor,
            AppendOptions::default(),
        )?;
        let position = summary
            .first_position
            .ok_or_else(|| LedgerError::Inconsistent("the filing was not appended".into()))?;
        deliver(&produced)?;
        Ok(Filed {
            produced,
            digest,
            position,
        })
    })
}

/// Refuse to file a return when a return of the same form dated later is
/// already filed, naming those filings.
fn check_in_order(
    register: &Register,
    issuer: &str,
    produced: &Produced,
) -> Result<(), LedgerError> {
    let Some(state) = register.issuer(issuer) else {
        return Ok(());
    };
    let later: Vec<String> = state
        .filings()
        .iter()
        .filter(|(_, f)| f.form == produced.form && f.date > produced.date)
        .map(|(id, f)| {
            let position = state
                .history()
                .iter()
                .find(|r| r.id == *id)
                .and_then(|r| r.position)
                .map(|p| format!(" (log position {p})"))
                .unwrap_or_default();
            format!("{}{position}", f.date)
        })
        .collect();
    if later.is_empty() {
        return Ok(());
    }
    let what = match produced.form {
        ReturnForm::Nddr => "NDDR",
        ReturnForm::Monthly => "Monthly Return",
    };
    Err(LedgerError::from(crate::error::Rejection::field(
        None,
        "date",
        "out_of_order",
        format!(
            "the {what} of {} would be filed after the {what}{} of {} already filed",
            produced.date,
            if later.len() == 1 { "" } else { "s" },
            later.join(", ")
        ),
        "check the date; if this return really was submitted late, file it with the out-of-order option",
    )))
}
