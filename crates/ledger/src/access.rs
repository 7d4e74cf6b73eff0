//! The users of a shared ledger and their roles (`shareledger user`, the web
//! app's logins), kept in the hash-chained log itself, in the stream
//! [`ACCESS_STREAM`], so that a change of a user or a role cannot be made or
//! undone unnoticed: `audit` verifies these rows with the rest of the chain.
//!
//! These are not events of the share register: the core neither knows nor
//! decodes them (its parser refuses unknown types), so they are written
//! here as the store's opaque rows with their own types ([`ACCESS_TYPES`])
//! and read back only by [`users`]. Replays, the audit's rule checks, the
//! issuer list and `log` skip the stream (docs/decisions.md).
//!
//! A password is kept only as the hash a front end made of it (argon2 PHC
//! text); this module never sees a password.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use shareledger_store::{EventRead, EventStore, EventTx, ExpectedVersion, NewEvent, ReadFilter};
use uuid::Uuid;

use crate::error::{LedgerError, Rejection};
use crate::time::store_time;

/// The stream of user records.
pub const ACCESS_STREAM: &str = "$access";

/// The types of the rows of [`ACCESS_STREAM`].
pub const ACCESS_TYPES: &[&str] = &["user_added", "user_changed", "user_disabled"];

/// Is this stream one of the register's (an issuer, or the market calendar)?
pub fn is_register_stream(stream: &str) -> bool {
    stream != ACCESS_STREAM
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything they may see; records nothing.
    Auditor,
    /// Records events for their issuers.
    Clerk,
    /// A clerk who also voids events and marks returns filed.
    Officer,
    /// An officer who also manages users.
    Admin,
}

impl Role {
    /// Every role, weakest first.
    pub const ALL: [Role; 4] = [Role::Auditor, Role::Clerk, Role::Officer, Role::Admin];

    /// The role's name, as written on the command line and stored.
    pub fn name(self) -> &'static str {
        match self {
            Role::Auditor => "auditor",
            Role::Clerk => "clerk",
            Role::Officer => "officer",
            Role::Admin => "admin",
        }
    }

    /// A role by name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// A user as the access stream last left them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The login name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The issuers they may see (None: every issuer).
    pub issuers: Option<Vec<String>>,
    /// The password's hash (argon2 PHC text), as the front end made it.
    pub password_hash: String,
    /// Disabled users cannot log in.
    pub disabled: bool,
    /// Log position of the last change.
    pub position: u64,
}

impl User {
    /// May this user see `issuer`?
    pub fn sees(&self, issuer: &str) -> bool {
        self.issuers
            .as_ref()
            .is_none_or(|list| list.iter().any(|i| i == issuer))
    }
}

/// A change of the users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AccessEvent {
    /// A new user.
    UserAdded {
        /// The login name.
        name: String,
        /// Their role.
        role: Role,
        /// Their issuers (absent: every issuer).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issuers: Option<Vec<String>>,
        /// The password's hash.
        password_hash: String,
    },
    /// A user's role, issuers or password changed (and re-enabled).
    UserChanged {
        /// The login name.
        name: String,
        /// The new role.
        role: Role,
        /// The new issuers (absent: every issuer).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issuers: Option<Vec<String>>,
        /// A new password's hash (absent: unchanged).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password_hash: Option<String>,
    },
    /// A user can no longer log in.
    UserDisabled {
        /// The login name.
        name: String,
    },
}

impl AccessEvent {
    fn type_name(&self) -> &'static str {
        match self {
            AccessEvent::UserAdded { .. } => "user_added",
            AccessEvent::UserChanged { .. } => "user_changed",
            AccessEvent::UserDisabled { .. } => "user_disabled",
        }
    }

    fn name(&self) -> &str {
        match self {
            AccessEvent::UserAdded { name, .. }
            | AccessEvent::UserChanged { name, .. }
            | AccessEvent::UserDisabled { name } => name,
        }
    }
}

fn refuse(field: &str, message: String, hint: &str) -> LedgerError {
    Rejection::field(None, field, "access", message, hint).into()
}

/// Every user, by name, as the access stream stands.
pub fn users<S: EventStore>(store: &S) -> Result<BTreeMap<String, User>, LedgerError> {
    let mut out: BTreeMap<String, User> = BTreeMap::new();
    for row in store.events(&ReadFilter::stream(ACCESS_STREAM)) {
        let row = row?;
        let event: AccessEvent = serde_json::from_str(&row.payload).map_err(|e| {
            LedgerError::Inconsistent(format!(
                "log position {}: a user record does not read ({e}): run `shareledger audit`",
                row.position
            ))
        })?;
        apply(&mut out, event, row.position);
    }
    Ok(out)
}

fn apply(users: &mut BTreeMap<String, User>, event: AccessEvent, position: u64) {
    match event {
        AccessEvent::UserAdded {
            name,
            role,
            issuers,
            password_hash,
        } => {
            users.insert(
                name.clone(),
                User {
                    name,
                    role,
                    issuers,
                    password_hash,
                    disabled: false,
                    position,
                },
            );
        }
        AccessEvent::UserChanged {
            name,
            role,
            issuers,
            password_hash,
        } => {
            if let Some(u) = users.get_mut(&name) {
                u.role = role;
                u.issuers = issuers;
                if let Some(h) = password_hash {
                    u.password_hash = h;
                }
                u.disabled = false;
                u.position = position;
            }
        }
        AccessEvent::UserDisabled { name } => {
            if let Some(u) = users.get_mut(&name) {
                u.disabled = true;
                u.position = position;
            }
        }
    }
}

/// Record a change of the users in the access stream, in one transaction
/// that first reads the stream (so two admins cannot add one name twice).
/// Returns the log position of the change.
pub fn record<S: EventStore>(
    store: &mut S,
    event: AccessEvent,
    now: DateTime<FixedOffset>,
    actor: &str,
) -> Result<u64, LedgerError> {
    let name = event.name().to_string();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(refuse(
            "name",
            format!("`{name}` is not a user name"),
            "use letters, digits and . _ - @ (at most 64), like xiao.lei",
        ));
    }
    store.write(|tx| {
        let mut current = BTreeMap::new();
        for row in tx.events(&ReadFilter::stream(ACCESS_STREAM)) {
            let row = row?;
            if let Ok(e) = serde_json::from_str::<AccessEvent>(&row.payload) {
                apply(&mut current, e, row.position);
            }
        }
        match (&event, current.get(&name)) {
            (AccessEvent::UserAdded { .. }, Some(_)) => {
                return Err(refuse(
                    "name",
                    format!("a user `{name}` already exists"),
                    "choose another name, or change that user",
                ))
            }
            (AccessEvent::UserChanged { .. } | AccessEvent::UserDisabled { .. }, None) => {
                return Err(LedgerError::NotFound(format!("no user `{name}`")))
            }
            _ => {}
        }
        let version = tx.stream_version(ACCESS_STREAM)?;
        let last = tx.last_recorded_at()?;
        let at = last
            .as_deref()
            .and_then(|l| DateTime::parse_from_rfc3339(l).ok())
            .map_or(now, |l| l.max(now));
        let payload = serde_json::to_string(&event)
            .map_err(|e| LedgerError::Inconsistent(format!("a user record: {e}")))?;
        let new = NewEvent {
            id: Uuid::now_v7().to_string(),
            stream: ACCESS_STREAM.to_string(),
            event_type: event.type_name().to_string(),
            schema_version: 1,
            payload,
            effective_date: None,
            recorded_at: store_time(&at),
            actor: actor.to_string(),
        };
        let expected = if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        };
        tx.append(&[(ACCESS_STREAM.to_string(), expected)], &[new])?;
        Ok(tx.head()?.map(|(p, _)| p).unwrap_or_default())
    })
}
