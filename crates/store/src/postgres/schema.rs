//! The PostgreSQL schema, its versioned migrations, and the checks made
//! before anything is written to a database.
//!
//! The ledger lives in one schema: the first of the connection's
//! `search_path` (`public` unless the URL or the role says otherwise, e.g.
//! `?options=-csearch_path%3Dledger`). Opening is careful never to alter a
//! database it then refuses:
//!
//! 1. One read-only probe looks at that schema: whether it holds our
//!    `shareledger_migrations` table (then the newest version recorded
//!    there must be one this build knows), and otherwise whether it holds any
//!    other relation at all (then it is someone else's database and is
//!    refused). The database encoding must be UTF8, so every text is kept
//!    byte for byte (the hashes cover the exact text).
//! 2. Only when a step is missing does a migration transaction start: it
//!    takes a transaction-scoped advisory lock (two processes may race to
//!    initialise one database), probes again under it, runs the missing steps
//!    and records each in `shareledger_migrations`. PostgreSQL's DDL is
//!    transactional: a failed migration leaves nothing behind.
//!
//! An up-to-date ledger is opened without writing anything, so a role with
//! only `SELECT`/`INSERT`/`UPDATE` rights (see `docs/deployment.md`) can use
//! a ledger its owner created.

use postgres::Client;

use super::{pg_err, Cx};
use crate::error::StoreError;
use crate::hash::GENESIS_PREV_HASH;

/// Key of the advisory lock held while migrating: ASCII "SHLG", as
/// [`crate::APPLICATION_ID`].
const MIGRATION_LOCK: i64 = crate::APPLICATION_ID as i64;

/// The table recording which steps ran; its presence marks a ledger.
const MIGRATIONS_TABLE: &str = "CREATE TABLE shareledger_migrations (
    version     integer     PRIMARY KEY CHECK (version >= 1),
    description text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)";

/// Step 1: the events table with its append-only triggers, the one-row head
/// table, and `meta`. Every text column has collation "C": orderings and
/// indexes compare bytes, as SQLite does, whatever the database's locale.
const V1: &str = r#"
CREATE TABLE events (
    position       bigint NOT NULL PRIMARY KEY CHECK (position >= 1),
    stream         text COLLATE "C" NOT NULL CHECK (length(stream) > 0),
    version        bigint NOT NULL CHECK (version >= 1),
    id             text COLLATE "C" NOT NULL UNIQUE CHECK (length(id) > 0),
    event_type     text COLLATE "C" NOT NULL,
    schema_version bigint NOT NULL CHECK (schema_version BETWEEN 0 AND 4294967295),
    payload        text COLLATE "C" NOT NULL,
    effective_date text COLLATE "C",
    recorded_at    text COLLATE "C" NOT NULL CHECK (length(recorded_at) = 27),
    actor          text COLLATE "C" NOT NULL,
    prev_hash      text COLLATE "C" NOT NULL CHECK (length(prev_hash) = 64),
    hash           text COLLATE "C" NOT NULL CHECK (length(hash) = 64),
    UNIQUE (stream, version)
);

CREATE TABLE head (
    only_row         boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (only_row),
    last_position    bigint  NOT NULL CHECK (last_position >= 0),
    last_hash        text COLLATE "C" NOT NULL CHECK (length(last_hash) = 64),
    last_recorded_at text COLLATE "C"
);
INSERT INTO head (only_row, last_position, last_hash, last_recorded_at)
VALUES (true, 0, '@GENESIS@', NULL);

CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO meta (key, value) VALUES ('hash_scheme', 'sha256-length-prefixed-v1');

CREATE FUNCTION shareledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'shareledger %s are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'SL001',
              HINT = 'a correction is a new event (event_voided); nothing is ever changed or deleted';
END
$fn$;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION shareledger_append_only();
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION shareledger_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION shareledger_append_only();

CREATE FUNCTION shareledger_head_forward() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.last_position <= OLD.last_position THEN
        RAISE EXCEPTION 'shareledger head only moves forward: % to % refused',
            OLD.last_position, NEW.last_position USING ERRCODE = 'SL001';
    END IF;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER head_forward_only BEFORE UPDATE ON head
    FOR EACH ROW EXECUTE FUNCTION shareledger_head_forward();
CREATE TRIGGER head_no_delete BEFORE DELETE ON head
    FOR EACH STATEMENT EXECUTE FUNCTION shareledger_append_only();
CREATE TRIGGER head_no_truncate BEFORE TRUNCATE ON head
    FOR EACH STATEMENT EXECUTE FUNCTION shareledger_append_only();
"#;

/// Step 2: the snapshots table (derived state per stream, outside the hash
/// chain, updated in place: `crate::snapshot`).
const V2: &str = r#"
CREATE TABLE snapshots (
    stream   text COLLATE "C" PRIMARY KEY,
    version  bigint NOT NULL CHECK (version >= 1),
    position bigint NOT NULL CHECK (position >= 1),
    format   bigint NOT NULL CHECK (format BETWEEN 0 AND 4294967295),
    data     bytea  NOT NULL
);
"#;

/// Step 3: an index of each stream's events by effective date (the append's
/// double-entry rule looks up one issuer's events of one day).
const V3: &str = r#"
CREATE INDEX events_stream_effective_date ON events (stream, effective_date);
"#;

/// The migration steps this build knows: `(description, sql)`; step `i`
/// (from 0) is recorded as version `i + 1`.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    ("events, head, meta, append-only triggers", V1),
    ("snapshots (derived state, outside the chain)", V2),
    ("events by stream and effective date (an index)", V3),
];

/// The newest PostgreSQL schema version this build knows.
pub const PG_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How to treat a database without a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenMode {
    /// Create the ledger in an empty schema.
    Create,
    /// The ledger must already exist.
    Existing,
}

/// What the probe found.
#[derive(Debug)]
struct Probe {
    schema: String,
    encoding: String,
    /// Newest recorded migration, when `shareledger_migrations` exists.
    version: Option<i64>,
    /// Other relations in the schema (when it is not a ledger).
    relations: Vec<String>,
}

const PROBE: &str = "SELECT current_schema()::text, \
       current_setting('server_encoding'), \
       to_regclass(quote_ident(current_schema()) || '.shareledger_migrations') IS NOT NULL, \
       COALESCE((SELECT array_agg(c.relname::text ORDER BY c.relname) \
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                  WHERE n.nspname = current_schema() \
                    AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')), '{}')";

fn probe(c: &mut impl postgres::GenericClient, cx: &Cx<'_>) -> Result<Probe, StoreError> {
    let row = c
        .query_one(PROBE, &[])
        .map_err(|e| pg_err(cx.location, "inspecting the database", e))?;
    let schema: Option<String> = row
        .try_get(0)
        .map_err(|e| pg_err(cx.location, "inspecting the database", e))?;
    let Some(schema) = schema else {
        return Err(StoreError::Postgres {
            location: cx.location.to_string(),
            doing: "inspecting the database",
            message: "no schema: the search_path names no existing schema; set it (e.g. ?options=-csearch_path%3Dpublic) or create the schema".into(),
            sqlstate: None,
        });
    };
    let get = |e| pg_err(cx.location, "inspecting the database", e);
    let encoding: String = row.try_get(1).map_err(get)?;
    let ours: bool = row.try_get(2).map_err(get)?;
    let relations: Vec<String> = row.try_get(3).map_err(get)?;
    let version = if ours {
        let v: Option<i32> = c
            .query_one("SELECT max(version) FROM shareledger_migrations", &[])
            .and_then(|r| r.try_get(0))
            .map_err(|e| pg_err(cx.location, "reading the schema version", e))?;
        Some(i64::from(v.unwrap_or(0)))
    } else {
        None
    };
    Ok(Probe {
        schema,
        encoding,
        version,
        relations,
    })
}

/// What to do after a probe: nothing, or migrate from `from` (0 = create).
fn judge(p: &Probe, cx: &Cx<'_>, mode: OpenMode, known: u32) -> Result<Option<u32>, StoreError> {
    if !p.encoding.eq_ignore_ascii_case("UTF8") {
        return Err(StoreError::PgEncoding {
            location: cx.location.to_string(),
            encoding: p.encoding.clone(),
        });
    }
    match p.version {
        Some(v) if v < 0 || v > i64::from(known) => Err(StoreError::PgTooNew {
            location: cx.location.to_string(),
            found: v,
            known,
        }),
        Some(v) if v == i64::from(known) => Ok(None),
        // Stamped with an older schema: migrate (as SQLite does), in either mode.
        Some(v) => Ok(Some(u32::try_from(v).unwrap_or(0))),
        None if !p.relations.is_empty() => Err(StoreError::PgNotALedger {
            location: cx.location.to_string(),
            schema: p.schema.clone(),
            relations: p.relations.clone(),
        }),
        None if mode == OpenMode::Existing => Err(StoreError::PgNotInitialised {
            location: cx.location.to_string(),
        }),
        None => Ok(Some(0)),
    }
}

/// Check the database and run the missing steps of `migrations`.
pub(crate) fn prepare(
    client: &mut Client,
    cx: &Cx<'_>,
    mode: OpenMode,
    migrations: &[(&str, &str)],
) -> Result<(), StoreError> {
    let known = migrations.len() as u32;
    let seen = probe(client, cx)?;
    if judge(&seen, cx, mode, known)?.is_none() {
        return Ok(());
    }
    let doing = "migrating the schema";
    let mut tx = client
        .transaction()
        .map_err(|e| pg_err(cx.location, doing, e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| pg_err(cx.location, doing, e))?;
    // Again under the lock: another process may have created or upgraded it.
    let seen = probe(&mut tx, cx)?;
    let Some(from) = judge(&seen, cx, mode, known)? else {
        return Ok(());
    };
    // A role without the right to create tables gets told who can.
    let ddl_err = |e: postgres::Error| {
        let denied = e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE);
        let mut err = pg_err(cx.location, doing, e);
        if let (true, StoreError::Postgres { message, .. }) = (denied, &mut err) {
            message.push_str(
                ": this role may not create or upgrade the ledger's tables: open the ledger \
                 once as the schema's owner (see docs/deployment.md, Roles)",
            );
        }
        err
    };
    if seen.version.is_none() {
        tx.batch_execute(MIGRATIONS_TABLE).map_err(ddl_err)?;
    }
    for (i, (description, sql)) in migrations.iter().enumerate().skip(from as usize) {
        let sql = sql.replace("@GENESIS@", GENESIS_PREV_HASH);
        tx.batch_execute(&sql).map_err(ddl_err)?;
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO shareledger_migrations (version, description) VALUES ($1, $2)",
            &[&version, description],
        )
        .map_err(|e| pg_err(cx.location, doing, e))?;
    }
    tx.commit().map_err(|e| pg_err(cx.location, doing, e))
}
