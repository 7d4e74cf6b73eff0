//! Who is asking, and what they may do.
//!
//! * With no user in the ledger's access stream, the server runs for one
//!   person on their own machine: it listens only on a loopback address
//!   (`serve` refuses anything else), answers only requests addressed to a
//!   loopback host name (no DNS rebinding), and the caller is the OS user
//!   running it, with every right.
//! * With users ([`shareledger_ledger::access`]), a page needs a login (a
//!   session cookie: HttpOnly, SameSite=Strict) and the API a session cookie
//!   or HTTP Basic credentials. Passwords are argon2 hashes; failed logins
//!   are throttled per name.
//! * Every form carries a CSRF token ([`Caller::csrf`]) that a POST must
//!   echo (field `csrf`, or header `X-CSRF-Token` for the pages' scripts);
//!   requests authenticated by Basic credentials need none.
//!
//! Roles ([`Role`]): an auditor reads; a clerk also records events for their
//! issuers; an officer also voids events and marks returns filed; an admin
//! also manages users.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::HeaderMap;
use shareledger_ledger::access::{Role, User};

use crate::error::ApiError;

/// The session cookie's name.
pub const COOKIE: &str = "shareledger_session";
/// How long a session lasts without use.
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
/// Failed logins allowed per name within [`LOCKOUT`].
pub const MAX_FAILURES: u32 = 5;
/// How long a name is locked after [`MAX_FAILURES`] failures.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// Hash a password for the access stream (argon2id, random salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| format!("cannot make a salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Does `password` match the stored `hash`?
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random token (244 bits).
pub fn token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The one asking.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's name (the actor of what they record).
    pub name: String,
    /// Their role.
    pub role: Role,
    /// Their issuers (None: every issuer).
    pub issuers: Option<Vec<String>>,
    /// The CSRF token their forms carry (None: authenticated by Basic
    /// credentials, no forms).
    pub csrf: Option<String>,
    /// The server runs without users.
    pub single_user: bool,
}

impl Caller {
    /// May they see `issuer`?
    pub fn sees(&self, issuer: &str) -> bool {
        self.issuers
            .as_ref()
            .is_none_or(|l| l.iter().any(|i| i == issuer))
    }

    /// 404 for an issuer they may not see (as if it did not exist for them:
    /// a registrar's clerk learns nothing of other clients).
    pub fn must_see(&self, issuer: &str) -> Result<(), ApiError> {
        if self.sees(issuer) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "{} may not see issuer `{issuer}`",
                self.name
            )))
        }
    }

    /// May they record events for `issuer` (None: the market calendar)?
    pub fn may_record(&self, issuer: Option<&str>) -> Result<(), ApiError> {
        if self.role < Role::Clerk {
            return Err(ApiError::forbidden(format!(
                "{} is an {}: recording needs the role clerk, officer or admin",
                self.name,
                self.role.name()
            )));
        }
        match issuer {
            Some(i) => self.must_see(i),
            None if self.issuers.is_none() => Ok(()),
            None => Err(ApiError::forbidden(format!(
                "{} records only for their issuers; a market closure changes every issuer's calendar",
                self.name
            ))),
        }
    }

    /// May they void events and mark returns filed?
    pub fn may_file(&self) -> Result<(), ApiError> {
        if self.role < Role::Officer {
            return Err(ApiError::forbidden(format!(
                "{} is a {}: voiding an event and marking a return filed need the role officer or admin",
                self.name,
                self.role.name()
            )));
        }
        Ok(())
    }

    /// Is the officer's action offered to them?
    pub fn is_officer(&self) -> bool {
        self.role >= Role::Officer
    }

    /// Is recording offered to them?
    pub fn is_clerk(&self) -> bool {
        self.role >= Role::Clerk
    }
}

#[derive(Debug, Clone)]
struct Session {
    user: String,
    csrf: String,
    last_used: Instant,
}

/// Sessions and login throttling (in memory: a restart logs everyone out).
#[derive(Debug, Default)]
pub struct Auth {
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    /// The CSRF token of single-user mode (one per server start).
    single_csrf: String,
    started_with_users: bool,
}

/// The outcome of a login.
#[derive(Debug)]
pub enum Login {
    /// The session token to set as the cookie.
    Ok(String),
    /// Wrong name or password.
    Refused,
    /// Too many failures: try again later.
    Locked,
}

impl Auth {
    /// Sessions over these users (as read at start).
    pub fn new(users: BTreeMap<String, User>) -> Self {
        Auth {
            single_csrf: token(),
            started_with_users: !users.is_empty(),
            ..Auth::default()
        }
    }

    /// Were users configured when the server started?
    pub fn has_users(&self) -> bool {
        self.started_with_users
    }

    /// Who is asking, given the users as they stand now.
    pub fn caller(
        &self,
        users: &BTreeMap<String, User>,
        headers: &HeaderMap,
    ) -> Result<Caller, ApiError> {
        if users.is_empty() {
            if self.started_with_users {
                // Every user was removed while serving beyond loopback: refuse.
                return Err(ApiError::unauthorized());
            }
            return Ok(Caller {
                name: crate::os_user(),
                role: Role::Admin,
                issuers: None,
                csrf: Some(self.single_csrf.clone()),
                single_user: true,
            });
        }
        if let Some((name, password)) = basic(headers) {
            let user = users
                .get(&name)
                .filter(|u| !u.disabled)
                .ok_or_else(ApiError::unauthorized)?;
            if self.locked(&name) || !verify_password(&password, &user.password_hash) {
                self.fail(&name);
                return Err(ApiError::unauthorized());
            }
            return Ok(caller_of(user, None));
        }
        let token = cookie(headers, COOKIE).ok_or_else(ApiError::unauthorized)?;
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let session = sessions
            .get_mut(&token)
            .filter(|s| s.last_used.elapsed() < SESSION_IDLE)
            .ok_or_else(ApiError::unauthorized)?;
        session.last_used = Instant::now();
        let user = users
            .get(&session.user)
            .filter(|u| !u.disabled)
            .ok_or_else(ApiError::unauthorized)?;
        Ok(caller_of(user, Some(session.csrf.clone())))
    }

    fn locked(&self, name: &str) -> bool {
        let f = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.get(name)
            .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < LOCKOUT)
    }

    fn fail(&self, name: &str) {
        let mut f = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let e = f.entry(name.to_string()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= LOCKOUT {
            *e = (0, Instant::now());
        }
        e.0 += 1;
        e.1 = Instant::now();
    }

    /// Check a name and password; open a session.
    pub fn login(&self, users: &BTreeMap<String, User>, name: &str, password: &str) -> Login {
        if self.locked(name) {
            return Login::Locked;
        }
        let ok = users
            .get(name)
            .filter(|u| !u.disabled)
            .is_some_and(|u| verify_password(password, &u.password_hash));
        if !ok {
            self.fail(name);
            return Login::Refused;
        }
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
        let t = token();
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                t.clone(),
                Session {
                    user: name.to_string(),
                    csrf: token(),
                    last_used: Instant::now(),
                },
            );
        Login::Ok(t)
    }

    /// End the session of these headers.
    pub fn logout(&self, headers: &HeaderMap) {
        if let Some(t) = cookie(headers, COOKIE) {
            self.sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&t);
        }
    }
}

fn caller_of(user: &User, csrf: Option<String>) -> Caller {
    Caller {
        name: user.name.clone(),
        role: user.role,
        issuers: user.issuers.clone(),
        csrf,
        single_user: false,
    }
}

/// A cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// HTTP Basic credentials.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let bytes = base64_decode(b64.trim())?;
    let text = String::from_utf8(bytes).ok()?;
    let (n, p) = text.split_once(':')?;
    Some((n.to_string(), p.to_string()))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = A.iter().position(|a| *a == c)? as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Is the request's `Host` a loopback name (single-user mode answers no
/// other, so that a web page elsewhere cannot reach it by DNS rebinding)?
pub fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return true; // HTTP/1.0 without Host: only a local client sends that
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    matches!(name, "localhost" | "127.0.0.1" | "::1") || name.starts_with("127.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert_ne!(h, hash_password("correct horse").unwrap(), "salted");
    }

    #[test]
    fn basic_credentials_decode() {
        assert_eq!(base64_decode("YWxpY2U6cHc=").unwrap(), b"alice:pw");
    }

    #[test]
    fn loopback_hosts() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert("host", v.parse().unwrap());
            loopback_host(&m)
        };
        assert!(h("127.0.0.1:8080"));
        assert!(h("localhost:8080"));
        assert!(h("[::1]:8080"));
        assert!(!h("evil.example:8080"));
    }
}
