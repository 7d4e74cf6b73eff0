//! [`Engine`]: how a front end opens a ledger on each storage engine from
//! the one location string a user gives (`--db`, `SHARELEDGER_DB`): a file
//! path for the embedded SQLite default, a `postgres://` /
//! `postgresql://` URL for a PostgreSQL server (interchange.md section 2).
//! A front end picks the engine once ([`is_postgres`]) and is generic over
//! it from then on, so every command behaves the same on both.

use std::path::Path;

use shareledger_store::{EventStore, PgStore, ReadOnly, Store, StoreError, Verification};

use crate::error::LedgerError;

/// Whether `location` names a PostgreSQL ledger rather than a file.
pub fn is_postgres(location: &str) -> bool {
    shareledger_store::is_postgres_url(location)
}

/// A storage engine a ledger can be opened on.
pub trait Engine: EventStore {
    /// The engine's name, for messages.
    const NAME: &'static str;

    /// Open the ledger at `location`, creating it if need be.
    fn create(location: &str) -> Result<Self, StoreError>;

    /// Open the ledger at `location`, which must exist, to read.
    fn existing(location: &str) -> Result<Self, StoreError>;

    /// Open the ledger at `location` only to read, changing nothing there
    /// (SQLite: read-only, or immutable when its directory cannot be
    /// written — the second of the pair says which).
    fn read_only(location: &str) -> Result<(Self, ReadOnly), StoreError> {
        Ok((Self::existing(location)?, ReadOnly::Shared))
    }

    /// Whether there is anything at `location` yet (a dry run against
    /// nothing must create nothing).
    fn exists(location: &str) -> bool;

    /// A consistent copy to the new file `dest`, verified (SQLite's online
    /// backup). Other engines have their own tools.
    fn backup_file(&self, dest: &Path) -> Result<Verification, LedgerError> {
        let _ = dest;
        Err(LedgerError::NotFound(format!(
            "a {} ledger is backed up with its server's tools (docs/deployment.md), or copied whole to a file with `shareledger copy --to FILE.db`",
            Self::NAME
        )))
    }
}

impl Engine for Store {
    const NAME: &'static str = "SQLite";

    fn create(location: &str) -> Result<Self, StoreError> {
        Store::open(Path::new(location))
    }

    fn existing(location: &str) -> Result<Self, StoreError> {
        let mut store = Store::open_existing(Path::new(location))?;
        store.set_cache_size_kib(shareledger_store::READ_CACHE_KIB)?;
        Ok(store)
    }

    fn exists(location: &str) -> bool {
        Path::new(location).exists()
    }

    fn read_only(location: &str) -> Result<(Self, ReadOnly), StoreError> {
        let (mut store, mode) = Store::open_read_only(Path::new(location))?;
        store.set_cache_size_kib(shareledger_store::READ_CACHE_KIB)?;
        Ok((store, mode))
    }

    fn backup_file(&self, dest: &Path) -> Result<Verification, LedgerError> {
        Ok(self.backup_to(dest)?)
    }
}

impl Engine for PgStore {
    const NAME: &'static str = "PostgreSQL";

    fn create(location: &str) -> Result<Self, StoreError> {
        PgStore::open(location)
    }

    fn existing(location: &str) -> Result<Self, StoreError> {
        PgStore::open_existing(location)
    }

    fn exists(_location: &str) -> bool {
        // A server: opening says whether the ledger is there.
        true
    }
}
