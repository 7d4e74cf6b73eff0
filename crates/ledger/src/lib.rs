//! # shareledger-ledger: the application layer
//!
//! One API for every front end — the command line, the web server, the
//! benchmark — over any storage engine ([`shareledger_store::EventStore`]):
//! [`Ledger`] appends, loads, produces and files returns, audits, reports
//! status, checkpoints and copies, each with a typed result and a typed
//! [`LedgerError`] that a front end maps to its own terms (an exit status, an
//! HTTP status). Nothing here prints, reads a terminal, parses a flag or
//! reads the clock: `now` and the actor come in as arguments, and progress
//! goes to a callback.
//!
//! Module map:
//! * [`append`]: the atomic append (decide every line, append all or none);
//! * [`decode`]: stored rows into recorded events (a fast path and the
//!   canonical decoder);
//! * [`replay`]: registers from the log (one issuer, every stream on threads);
//! * [`returns`]: produce a return, its digest, file it in one transaction;
//! * [`audit`]: the chain, replay, filed-return proofs, rule checks; the
//!   findings new events introduce;
//! * [`findings`]: what an append hands back of its findings, bounded;
//! * [`status`]: where an issuer stands and which returns are due;
//! * [`log`]: stored events as `log --format json` prints them;
//! * [`import`]: JSON lines and broker CSV files;
//! * [`fields`]: the fields of every event type, for forms and flags;
//! * [`time`]: the store's times, Hong Kong time, time parameters;
//! * [`access`]: the users and roles of a shared ledger, in the chain;
//! * [`error`]: [`LedgerError`] and [`Rejection`].

#![warn(missing_docs)]

pub mod access;
pub mod append;
pub mod audit;
pub mod decode;
pub mod engine;
pub mod error;
#[allow(missing_docs)]
pub mod fields;
pub mod findings;
#[allow(missing_docs)]
pub mod import;
pub mod log;
pub mod replay;
pub mod returns;
pub mod snapshot;
#[allow(missing_docs)]
pub mod status;
pub mod time;
pub mod windowed;

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate};
use shareledger_core::event::{Recorded, MARKET_STREAM};
use shareledger_core::state::Register;
use shareledger_returns::checks::Finding;
use shareledger_store::RowIter;

pub use append::{AppendOptions, AppendSummary, IntoLine, Lines};
pub use audit::{AuditOptions, AuditReport, AuditSink, AuditSummary, Chain};
pub use engine::{is_postgres, Engine};
pub use error::{LedgerError, Rejection, Result};
pub use findings::{FindingSink, FindingsDigest};
pub use returns::{Filed, FilingOptions, Produced, ReturnKind, ReturnRequest};
pub use shareledger_store::redact_url;
pub use status::Status;

/// The storage types a front end names (to open a ledger, to filter the
/// log); front ends use them through this crate, never the store directly.
pub use shareledger_store::{
    EventStore, ExpectedVersion, PgStore, ReadFilter, ReadOnly, Store, StoreError, StoredEvent,
    Verification, READ_CACHE_KIB,
};

/// The seed ledger (built only from the two real filings in
/// `shared/seeds`), embedded so the demo and the tests run anywhere.
pub const SEED_LEDGER: &str = include_str!("../../../examples/ainnovation-2022.jsonl");

/// How many threads work on streams by default: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One ledger on some engine.
#[derive(Debug)]
pub struct Ledger<S: EventStore> {
    store: S,
    /// Opened read-only ([`Ledger::open_to_read_at`]): a dry run decides in
    /// memory, without a write transaction.
    read_only: bool,
}

impl<S: EventStore> Ledger<S> {
    /// The ledger kept in `store`.
    pub fn new(store: S) -> Self {
        Ledger {
            store,
            read_only: false,
        }
    }

    /// The store, for reads the ledger does not wrap.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Where the ledger is (a path, or a URL without its password).
    pub fn location(&self) -> String {
        self.store.location()
    }

    /// Decide every line against the register as stored and append them
    /// all in one transaction, or none ([`append::append`]). A dry run on a
    /// ledger opened read-only decides in memory
    /// ([`append::dry_run_read_only`]); any other append to it fails.
    pub fn append<I>(
        &mut self,
        lines: I,
        now: DateTime<FixedOffset>,
        actor: &str,
        options: AppendOptions,
    ) -> Result<AppendSummary>
    where
        I: IntoIterator,
        I::Item: append::IntoLine,
    {
        if options.dry_run && self.read_only {
            return append::dry_run_read_only(&self.store, lines, now, actor, options);
        }
        append::append(&mut self.store, lines, now, actor, options)
    }

    /// Whether the ledger was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The register of one issuer (and the market calendar) as known at
    /// `known_at` (default: everything recorded).
    pub fn load_issuer(
        &self,
        issuer: &str,
        known_at: Option<&DateTime<FixedOffset>>,
    ) -> Result<Register> {
        replay::load_issuer(&self.store, issuer, known_at)
    }

    /// The issuers in the ledger, sorted.
    pub fn issuers(&self) -> Result<Vec<String>> {
        Ok(self
            .store
            .streams()?
            .into_iter()
            .filter(|s| s != MARKET_STREAM && access::is_register_stream(s))
            .collect())
    }

    /// The users of the ledger, by name ([`access::users`]).
    pub fn users(&self) -> Result<std::collections::BTreeMap<String, access::User>> {
        access::users(&self.store)
    }

    /// Record a change of the users ([`access::record`]); its log position.
    pub fn record_access(
        &mut self,
        event: access::AccessEvent,
        now: DateTime<FixedOffset>,
        actor: &str,
    ) -> Result<u64> {
        access::record(&mut self.store, event, now, actor)
    }

    /// Balances of `issuer`'s classes (or `class`) as of `as_of`, as known at
    /// `known_at`.
    pub fn balance(
        &self,
        issuer: &str,
        class: Option<&str>,
        as_of: NaiveDate,
        known_at: Option<&DateTime<FixedOffset>>,
    ) -> Result<shareledger_returns::document::BalanceReport> {
        let register = self.load_issuer(issuer, known_at)?;
        let state = register
            .issuer(issuer)
            .ok_or_else(|| LedgerError::NotFound(format!("no issuer `{issuer}`")))?;
        Ok(shareledger_returns::balance::balance(
            state,
            class,
            as_of,
            known_at.map(|t| time::hk(t).to_rfc3339()),
        )?)
    }

    /// The return of `req`, as known at `known_at`: a new submission, the
    /// filed return again, or the amended return that corrects it
    /// ([`returns::produce_current`]).
    pub fn produce(
        &self,
        req: &ReturnRequest,
        known_at: Option<&DateTime<FixedOffset>>,
    ) -> Result<Produced> {
        let register = self.load_issuer(&req.issuer, known_at)?;
        returns::produce_current(&register, req)
    }

    /// File the return of `req` as the ledger stands now: the document and
    /// its digest are taken inside the write transaction that appends the
    /// `return_filed` ([`returns::mark_filed`]).
    pub fn mark_filed(
        &mut self,
        req: &ReturnRequest,
        submitted_at: DateTime<FixedOffset>,
        now: DateTime<FixedOffset>,
        actor: &str,
    ) -> Result<Filed> {
        returns::mark_filed(&mut self.store, req, submitted_at, now, actor)
    }

    /// [`Ledger::mark_filed`], handing the return to `deliver` before the
    /// filing commits ([`returns::mark_filed_with`]): a failed delivery
    /// records nothing.
    pub fn mark_filed_with<E: From<LedgerError> + From<StoreError>>(
        &mut self,
        req: &ReturnRequest,
        submitted_at: DateTime<FixedOffset>,
        now: DateTime<FixedOffset>,
        actor: &str,
        options: returns::FilingOptions,
        deliver: impl FnOnce(&Produced) -> std::result::Result<(), E>,
    ) -> std::result::Result<Filed, E> {
        returns::mark_filed_with(
            &mut self.store,
            req,
            submitted_at,
            now,
            actor,
            options,
            deliver,
        )
    }

    /// The audit ([`audit::audit`]); `progress(done, total)` per issuer.
    pub fn audit(
        &self,
        options: &AuditOptions<'_>,
        now: DateTime<FixedOffset>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<AuditReport> {
        audit::audit(&self.store, options, now, progress)
    }

    /// The audit handed to `sink` as it goes ([`audit::audit_into`]): the
    /// same document as [`Self::audit`], in memory bounded whatever the
    /// findings.
    pub fn audit_into<K: audit::AuditSink>(
        &self,
        options: &AuditOptions<'_>,
        now: DateTime<FixedOffset>,
        progress: &(dyn Fn(u64, u64) + Sync),
        sink: &mut K,
    ) -> std::result::Result<audit::AuditSummary, K::Error> {
        audit::audit_into(&self.store, options, now, progress, sink)
    }

    /// Where `issuer` stands at `now`, and which returns are due.
    pub fn status(&self, issuer: &str, now: DateTime<FixedOffset>) -> Result<Status> {
        let mut market = Register::new();
        replay::replay_filter(&mut market, &self.store, &ReadFilter::stream(MARKET_STREAM))?;
        status_of(&self.store, &market, issuer, now)?
            .ok_or_else(|| LedgerError::NotFound(format!("no issuer `{issuer}`")))
    }

    /// Every issuer's status at `now` (a registrar's morning view), most
    /// urgent first: issuers with an overdue return (earliest deadline
    /// first), then those with a return due (earliest deadline first), then
    /// the rest by id. Issuers are replayed on `threads` threads.
    pub fn status_all(&self, now: DateTime<FixedOffset>, threads: usize) -> Result<Vec<Status>> {
        let mut market = Register::new();
        replay::replay_filter(&mut market, &self.store, &ReadFilter::stream(MARKET_STREAM))?;
        let issuers = self.issuers()?;
        let all = replay::for_each_stream(&self.store, &issuers, threads, |store, issuer| {
            status_of(store, &market, issuer, now)
        })?;
        let mut all: Vec<Status> = all.into_iter().flatten().collect();
        all.sort_by_cached_key(status::urgency);
        Ok(all)
    }

    /// Every issuer's lines of the registrar's view at `now`
    /// ([`status::Overview`]: the returns due, compact), most urgent first
    /// as [`Self::status_all`] orders them; memory a few dozen bytes per
    /// return due, not every issuer's whole status.
    pub fn status_overview(
        &self,
        now: DateTime<FixedOffset>,
        threads: usize,
    ) -> Result<Vec<status::Overview>> {
        let mut market = Register::new();
        replay::replay_filter(&mut market, &self.store, &ReadFilter::stream(MARKET_STREAM))?;
        let issuers = self.issuers()?;
        let all = replay::for_each_stream(&self.store, &issuers, threads, |store, issuer| {
            Ok(status_of(store, &market, issuer, now)?.map(|s| status::Overview::of(&s)))
        })?;
        let mut all: Vec<status::Overview> = all.into_iter().flatten().collect();
        all.sort_by_cached_key(status::Overview::urgency);
        Ok(all)
    }

    /// [`Self::status_all`] handed to `each` one issuer at a time, in the
    /// same order, holding a few issuers' statuses at once: the order is
    /// found first ([`Self::status_overview`]), then each issuer's status
    /// is worked out again (every issuer is replayed twice).
    pub fn status_each<E: From<LedgerError>>(
        &self,
        now: DateTime<FixedOffset>,
        threads: usize,
        mut each: impl FnMut(Status) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let order: Vec<String> = self
            .status_overview(now, threads)?
            .into_iter()
            .map(|o| o.issuer.id)
            .collect();
        let mut market = Register::new();
        replay::replay_filter(&mut market, &self.store, &ReadFilter::stream(MARKET_STREAM))
            .map_err(E::from)?;
        for chunk in order.chunks(4 * threads.max(1)) {
            let statuses =
                replay::for_each_stream(&self.store, chunk, threads, |store, issuer| {
                    status_of(store, &market, issuer, now)
                })?;
            for s in statuses.into_iter().flatten() {
                each(s)?;
            }
        }
        Ok(())
    }

    /// Findings that `events` introduce ([`audit::findings_introduced`]).
    pub fn findings_introduced(
        &self,
        events: &[Recorded],
        hypothetical: bool,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<Finding>> {
        audit::findings_introduced(&self.store, events, hypothetical, now)
    }

    /// The stored event with this id.
    pub fn find_by_id(&self, id: &str) -> Result<Option<StoredEvent>> {
        Ok(self.store.find_by_id(id)?)
    }

    /// The event a person refers to: `@N` (its log position), a whole id, or
    /// the first or last characters of an id (at least 4; `log` prints the
    /// last 8) that only one event of `stream` (an issuer, or the market
    /// calendar) has. (Ids drawn by the ledger are UUIDv7, whose first
    /// characters are a timestamp shared by every event recorded in the same
    /// minute: their last characters are random.)
    pub fn resolve_event(&self, stream: &str, reference: &str) -> Result<uuid::Uuid> {
        let reference = reference.trim();
        if let Ok(id) = uuid::Uuid::parse_str(reference) {
            return Ok(id);
        }
        let bad = |message: String, hint: &str| {
            LedgerError::from(Rejection::field(
                None,
                "voided_id",
                "event_reference",
                message,
                hint,
            ))
        };
        if let Some(p) = reference.strip_prefix('@') {
            let position: u64 = p.parse().map_err(|_| {
                bad(
                    format!("`{reference}` is not a log position"),
                    "write @ and the position `log` prints, like @15",
                )
            })?;
            let row = self
                .store
                .events(&ReadFilter {
                    from_position: position.saturating_sub(1),
                    to_position: Some(position),
                    ..ReadFilter::default()
                })
                .next()
                .transpose()?
                .ok_or_else(|| {
                    LedgerError::NotFound(format!("no event at log position {position}"))
                })?;
            if row.stream != stream {
                return Err(bad(
                    format!(
                        "the event at log position {position} is a {} of {}, not of {stream}",
                        row.event_type, row.stream
                    ),
                    "check the position with `shareledger log`",
                ));
            }
            return uuid::Uuid::parse_str(&row.id).map_err(|_| {
                LedgerError::Inconsistent(format!(
                    "log position {position}: stored id is not a UUID"
                ))
            });
        }
        let prefix = reference.to_ascii_lowercase();
        if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(bad(
                format!("`{reference}` is neither an event id, the start of one, nor a log position"),
                "give the id (or its last 8 characters) or @POSITION as `shareledger log` prints them",
            ));
        }
        let mut found: Vec<(u64, String)> = Vec::new();
        self.store
            .scan(&ReadFilter::stream(stream), |row| -> Result<()> {
                if row.id.starts_with(&prefix) || row.id.ends_with(&prefix) {
                    found.push((row.position, row.id.to_string()));
                }
                Ok(())
            })?;
        match found.as_slice() {
            [(_, id)] => uuid::Uuid::parse_str(id)
                .map_err(|_| LedgerError::Inconsistent(format!("stored id {id:?} is not a UUID"))),
            [] => Err(LedgerError::NotFound(format!(
                "no event of {stream} has an id starting or ending with `{reference}`"
            ))),
            many => Err(bad(
                format!(
                    "{} events of {stream} have ids starting or ending with `{reference}` (log positions {})",
                    many.len(),
                    many.iter().map(|(p, _)| p.to_string()).collect::<Vec<_>>().join(", ")
                ),
                "give more characters of the id, or @POSITION",
            )),
        }
    }

    /// Stored events matching `filter`, in log order, streamed.
    pub fn events(&self, filter: &ReadFilter) -> RowIter<'_> {
        self.store.events(filter)
    }

    /// Verify the whole chain; a broken chain is an error naming the first
    /// position that does not verify.
    pub fn verify(&self) -> Result<Verification> {
        let v = self.store.verify()?;
        match v.broken_at {
            Some(position) => Err(LedgerError::BrokenChain {
                position,
                reason: v.reason,
            }),
            None => Ok(v),
        }
    }

    /// The head to keep elsewhere, `(position, hash)`, once the whole chain
    /// has verified (a checkpoint never vouches for a broken log); `None`
    /// for an empty ledger.
    pub fn checkpoint(&self) -> Result<Option<(u64, String)>> {
        Ok(self.verify()?.head)
    }
}

/// The status of `issuer` read from `store` (this ledger's, or a reader
/// of it on another thread), on top of the market calendar `market`.
fn status_of<S: EventStore>(
    store: &S,
    market: &Register,
    issuer: &str,
    now: DateTime<FixedOffset>,
) -> Result<Option<Status>> {
    let mut register = market.clone();
    replay::replay_filter(&mut register, store, &ReadFilter::stream(issuer))?;
    let Some(state) = register.issuer(issuer) else {
        return Ok(None);
    };
    let mut status = status::status(state, &returns::calendar(&register), now);
    let contradicted = audit::amendments_due(store, market, issuer, &register)?;
    status::add_amendments(&mut status, &contradicted, now);
    Ok(Some(status))
}

impl<S: Engine> Ledger<S> {
    /// Open an existing ledger to read (nothing there is an error).
    pub fn open_existing_at(location: &str) -> Result<Self> {
        Ok(Ledger::new(S::existing(location)?))
    }

    /// Open an existing ledger only to read, changing nothing there (see
    /// [`Engine::read_only`]).
    pub fn open_to_read_at(location: &str) -> Result<(Self, ReadOnly)> {
        let (store, mode) = S::read_only(location)?;
        Ok((
            Ledger {
                store,
                read_only: true,
            },
            mode,
        ))
    }

    /// Whether writing to this ledger needs no upgrade of its schema first
    /// (opening it to write would run none): a SQLite file whose header
    /// says this build's schema step. Other engines: `true` (their schema
    /// is the server's). `false` when the header cannot be read.
    pub fn schema_is_current(&self) -> bool {
        use std::io::Read;
        let location = self.store.location();
        if is_postgres(&location) {
            return true;
        }
        // SQLite's header: the user_version at bytes 60..64, big-endian.
        let mut header = [0u8; 64];
        std::fs::File::open(&location)
            .and_then(|mut f| f.read_exact(&mut header))
            .is_ok()
            && u32::from_be_bytes([header[60], header[61], header[62], header[63]])
                == shareledger_store::SCHEMA_VERSION
    }

    /// Open an existing ledger for a dry run. A dry run writes nothing: on
    /// a ledger that can be written it runs in a write transaction that is
    /// rolled back (opened as [`Ledger::open_at`]; `None`). A SQLite ledger
    /// that cannot be written (a read-only directory or file: an auditor's
    /// copy), or that would have to be upgraded to a later schema step
    /// first, is opened read-only instead, with the mode it was read in,
    /// and the dry run decides in memory ([`Ledger::append`] on a read-only
    /// ledger).
    pub fn open_for_dry_run_at(location: &str) -> Result<(Self, Option<ReadOnly>)> {
        if !is_postgres(location) {
            if let Ok((ro, mode)) = Self::open_to_read_at(location) {
                let writable = std::fs::OpenOptions::new()
                    .append(true)
                    .open(location)
                    .is_ok();
                if mode == ReadOnly::Immutable || !ro.schema_is_current() || !writable {
                    return Ok((ro, Some(mode)));
                }
            }
        }
        Ok((Self::open_at(location)?, None))
    }

    /// Open (or create) a ledger to write.
    pub fn open_at(location: &str) -> Result<Self> {
        Ok(Ledger::new(S::create(location)?))
    }

    /// A consistent copy of the ledger to the new file `dest`, made only
    /// after the source chain has verified, and verified again in the copy.
    /// A broken source is refused and nothing is written.
    pub fn backup_to(&self, dest: &Path) -> Result<Verification> {
        self.verify()?;
        let v = self.store.backup_file(dest)?;
        if let Some(position) = v.broken_at {
            // Never leave a copy that does not verify where a backup should be.
            let _ = std::fs::remove_file(dest);
            return Err(LedgerError::BrokenChain {
                position,
                reason: v.reason,
            });
        }
        Ok(v)
    }

    /// Copy the whole ledger into the empty ledger `target` (another
    /// engine, or another place): same positions, ids, recorded times and
    /// hashes, both chains verified; nothing is committed to the target
    /// unless all of it is.
    pub fn copy_to<T: EventStore>(&self, target: &mut T) -> Result<Verification> {
        Ok(shareledger_store::copy_log(&self.store, target)?)
    }
}

impl Ledger<Store> {
    /// Open an existing SQLite ledger to read (a missing file is an error;
    /// a reader's small page cache).
    pub fn open_existing(path: &Path) -> Result<Self> {
        let mut store = Store::open_existing(path)?;
        store.set_cache_size_kib(shareledger_store::READ_CACHE_KIB)?;
        Ok(Ledger::new(store))
    }

    /// Open an existing SQLite ledger read-only, for operations that only
    /// read: nothing is written to the file or (immutable) beside it; how
    /// it was opened is returned for the front end to say.
    pub fn open_read_only(path: &Path) -> Result<(Self, ReadOnly)> {
        let (mut store, mode) = Store::open_read_only(path)?;
        store.set_cache_size_kib(shareledger_store::READ_CACHE_KIB)?;
        Ok((
            Ledger {
                store,
                read_only: true,
            },
            mode,
        ))
    }

    /// [`Ledger::open_read_only`], starting with `mode` (`Immutable`: never
    /// a file created beside the ledger, nothing another process is
    /// writing is seen).
    pub fn open_read_only_as(path: &Path, mode: ReadOnly) -> Result<Self> {
        let (mut store, _) = Store::open_read_only_as(path, mode)?;
        store.set_cache_size_kib(shareledger_store::READ_CACHE_KIB)?;
        Ok(Ledger {
            store,
            read_only: true,
        })
    }

    /// Open (or create) a SQLite ledger to write.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Ledger::new(Store::open(path)?))
    }
}
