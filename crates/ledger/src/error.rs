//! [`LedgerError`]: every way an operation of the ledger can fail, typed so
//! that each front end says it its own way — the command line as an exit
//! status and a message, the web server as an HTTP status and a JSON body
//! ([`LedgerError::http_status`]). No message here names a command-line
//! flag: a request parameter is named as the API names it (`known_at`,
//! `month`), and the command line adds its own hints.

use std::fmt;

use serde::Serialize;
use shareledger_core::event::DecodeError;
use shareledger_core::refusal::Refusal;
use shareledger_returns::ReturnError;
use shareledger_store::StoreError;

/// An input the ledger refused: where (line of the input, the event's type,
/// the field), what kind, what is wrong and how to fix it. Nothing of the
/// input was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The input line (1-based), for inputs of several lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The type of the event refused, when it was read that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The field at fault (a JSON path such as `highest_price`), if one is.
    pub field: Option<String>,
    /// What kind of refusal (a `RefusalKind` of the core, `decode`,
    /// `duplicate_id`, `recorded_at`, `input`).
    pub kind: String,
    /// What is wrong, with the figures.
    pub message: String,
    /// How to put it right.
    pub hint: Option<String>,
}

impl Rejection {
    /// A refusal of the input as a whole (no line, no field).
    pub fn input(message: impl Into<String>) -> Self {
        Rejection {
            line: None,
            event_type: None,
            field: None,
            kind: "input".into(),
            message: message.into(),
            hint: None,
        }
    }

    /// A line that could not be read as an event.
    pub fn decode(line: usize, e: DecodeError) -> Self {
        Rejection {
            line: Some(line),
            event_type: None,
            field: e.field,
            kind: "decode".into(),
            message: e.message,
            hint: Some(e.hint),
        }
    }

    /// An event the core refused.
    pub fn refused(line: Option<usize>, event_type: &str, r: Refusal) -> Self {
        Rejection {
            line,
            event_type: Some(event_type.to_string()),
            field: Some(r.field.to_string()),
            kind: format!("{:?}", r.kind),
            message: r.message,
            hint: Some(r.hint),
        }
    }

    /// A refusal of `field` on `line`.
    pub fn field(
        line: Option<usize>,
        field: &str,
        kind: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Rejection {
            line,
            event_type: None,
            field: Some(field.to_string()),
            kind: kind.to_string(),
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// The same refusal without its line: what the message says of the
    /// event itself (the command line re-words the line for a broker file).
    pub fn without_line(&self) -> String {
        let mut r = self.clone();
        r.line = None;
        r.to_string()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(t) = &self.event_type {
            write!(f, "{t}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

/// Why an operation of the ledger failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The input was refused (HTTP 422): nothing was written.
    #[error("{0}")]
    Rejected(Box<Rejection>),
    /// A request parameter is malformed (HTTP 400): `param` is its name as
    /// the API spells it.
    #[error("{param} `{value}` {message}")]
    Invalid {
        /// The parameter, as the API names it (`month`, `known_at`, …).
        param: &'static str,
        /// What was given.
        value: String,
        /// What is wrong and how to write it.
        message: String,
    },
    /// Another writer changed a stream first (HTTP 409): retry.
    #[error("{0}")]
    Conflict(StoreError),
    /// What was asked for is not in the ledger (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The return cannot be produced from the ledger as it stands (HTTP 422).
    #[error("{0}")]
    Return(#[from] ReturnError),
    /// The stored log no longer reads or replays (HTTP 500): the message
    /// names the position; `audit` says more.
    #[error("{0}")]
    Inconsistent(String),
    /// The chain is broken: the ledger was changed outside shareledger
    /// (HTTP 500). Nothing is vouched for.
    #[error("the hash chain is broken at log position {position}{}: the ledger was changed outside shareledger; nothing after position {} can be vouched for: restore it from a backup", .reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(), .position.saturating_sub(1))]
    BrokenChain {
        /// The first position that does not verify.
        position: u64,
        /// Why.
        reason: Option<String>,
    },
    /// The store failed (HTTP 500, or 409 for a conflict, 404 for a
    /// missing ledger).
    #[error("{0}")]
    Store(StoreError),
    /// Reading or writing a file or stream failed.
    #[error("{0}")]
    Io(String),
}

impl From<StoreError> for LedgerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::VersionConflict { .. } => LedgerError::Conflict(e),
            e => LedgerError::Store(e),
        }
    }
}

impl From<Rejection> for LedgerError {
    fn from(r: Rejection) -> Self {
        LedgerError::Rejected(Box::new(r))
    }
}

impl LedgerError {
    /// The HTTP status a server answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            LedgerError::Rejected(_) | LedgerError::Return(_) => 422,
            LedgerError::Invalid { .. } => 400,
            LedgerError::Conflict(_) => 409,
            LedgerError::NotFound(_) => 404,
            LedgerError::Store(StoreError::NotFound { .. }) => 404,
            LedgerError::Store(StoreError::Busy { .. }) => 503,
            LedgerError::Inconsistent(_)
            | LedgerError::BrokenChain { .. }
            | LedgerError::Store(_)
            | LedgerError::Io(_) => 500,
        }
    }

    /// The refusal, when the input was refused.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            LedgerError::Rejected(r) => Some(r),
            _ => None,
        }
    }

    pub(crate) fn invalid(param: &'static str, value: &str, message: impl Into<String>) -> Self {
        LedgerError::Invalid {
            param,
            value: value.to_string(),
            message: message.into(),
        }
    }
}

/// Results of the ledger.
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;
