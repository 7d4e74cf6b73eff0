//! `copy_log`: a ledger moved SQLite → PostgreSQL → SQLite keeps every
//! position, id, recorded time and hash; a non-empty target, a broken source
//! and a copy that fails half-way write nothing.

mod pg;

use shareledger_store::{
    copy_log, EventRead, EventStore, EventTx, NewEvent, PgStore, ReadFilter, Store, StoreError,
    StoredEvent,
};

/// `n` generated events over a few issuers, recorded a microsecond apart,
/// with varied payloads, dates, actors and non-ASCII text.
fn generated(n: u64) -> Vec<NewEvent> {
    let streams = ["02121", "00700", "00005", "$market", "09988"];
    (1..=n)
        .map(|i| {
            let stream = streams[(i * 7 % 5) as usize];
            let (secs, micros) = (i / 1_000_000, i % 1_000_000);
            NewEvent {
                id: format!("0190a1b2-0000-7000-8000-{i:012x}"),
                stream: stream.to_string(),
                event_type: ["shares_repurchased", "shares_issued", "market_closed"]
                    [(i % 3) as usize]
                    .to_string(),
                schema_version: 1 + (i % 2) as u32,
                payload: format!(
                    r#"{{"class":"H","issuer":"{stream}","note":"第{i}號 — ünïcödé","shares":{}}}"#,
                    i * 100
                ),
                effective_date: (i % 4 != 0)
                    .then(|| format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28)),
                recorded_at: format!(
                    "2024-06-{:02}T{:02}:{:02}:{:02}.{micros:06}Z",
                    1 + (secs / 86_400) % 28,
                    (secs / 3600) % 24,
                    (secs / 60) % 60,
                    secs % 60
                ),
                actor: ["alice", "bob", "Zoë"][(i % 3) as usize].to_string(),
            }
        })
        .collect()
}

fn sqlite_with(dir: &tempfile::TempDir, name: &str, events: &[NewEvent]) -> Store {
    let mut s = Store::open(&dir.path().join(name)).unwrap();
    for chunk in events.chunks(10_000) {
        s.write(|tx| tx.append(&[], chunk)).unwrap();
    }
    s
}

fn rows<S: EventStore>(s: &S) -> Vec<StoredEvent> {
    EventRead::events(s, &ReadFilter::default())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn round_trip(n: u64) {
    let Some(url) = pg::url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_with(&dir, "src.db", &generated(n));
    let mut pg_store = PgStore::open(&url).unwrap();
    let t0 = std::time::Instant::now();
    let v = copy_log(&src, &mut pg_store).unwrap();
    let to_pg = t0.elapsed();
    assert!(v.is_intact());
    assert_eq!(v.events, n);
    assert_eq!(v.head, EventRead::head(&src).unwrap());

    let mut back = Store::open(&dir.path().join("back.db")).unwrap();
    let t0 = std::time::Instant::now();
    let v2 = copy_log(&pg_store, &mut back).unwrap();
    let to_sqlite = t0.elapsed();
    assert_eq!(v2, v);
    println!("{n} events: SQLite→PostgreSQL {to_pg:?}, PostgreSQL→SQLite {to_sqlite:?}");

    if n <= 10_000 {
        let original = rows(&src);
        assert_eq!(rows(&pg_store), original, "PostgreSQL holds the same rows");
        assert_eq!(rows(&back), original, "and so does the copy back");
    } else {
        // Compare streaming, without holding three copies of the log.
        let a = EventRead::events(&src, &ReadFilter::default());
        let mut b = EventRead::events(&pg_store, &ReadFilter::default());
        let mut c = EventRead::events(&back, &ReadFilter::default());
        let mut k = 0u64;
        for x in a {
            let x = x.unwrap();
            assert_eq!(b.next().unwrap().unwrap(), x);
            assert_eq!(c.next().unwrap().unwrap(), x);
            k += 1;
        }
        assert!(b.next().is_none() && c.next().is_none());
        assert_eq!(k, n);
    }
    assert_eq!(
        pg_store.hash_at(n / 2).unwrap(),
        src.hash_at(n / 2).unwrap()
    );
    assert_eq!(back.streams().unwrap(), src.streams().unwrap());
}

/// SQLite → PostgreSQL → SQLite: identical rows, hashes and heads.
#[test]
fn sqlite_to_postgres_and_back_keeps_every_hash() {
    round_trip(5_000);
}

/// The same with 100,000 events (a few seconds in release; debug builds
/// skip it: `cargo test --release -p shareledger-store --test copy`).
#[test]
#[cfg_attr(debug_assertions, ignore = "100k events: run with --release")]
fn a_100k_ledger_round_trips() {
    round_trip(100_000);
}

/// A target that already holds an event is refused, on either engine, and
/// nothing is written to it.
#[test]
fn a_non_empty_target_is_refused_and_untouched() {
    let Some(url) = pg::url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let events = generated(30);
    let src = sqlite_with(&dir, "src.db", &events);
    let mut pg_store = PgStore::open(&url).unwrap();
    let mut other = generated(1);
    other[0].id = "other".into();
    pg_store.write(|tx| tx.append(&[], &other)).unwrap();
    let before = rows(&pg_store);
    let e = copy_log(&src, &mut pg_store).unwrap_err();
    assert!(
        matches!(e, StoreError::CopyTargetNotEmpty { events: 1, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("nothing was written"));
    assert_eq!(rows(&pg_store), before);

    let mut sqlite_target = sqlite_with(&dir, "t.db", &other);
    let e = copy_log(&pg_store, &mut sqlite_target).unwrap_err();
    assert!(matches!(e, StoreError::CopyTargetNotEmpty { .. }), "{e:?}");
    assert_eq!(rows(&sqlite_target).len(), 1);
}

/// A source whose chain is broken is not copied.
#[test]
fn a_broken_source_is_not_copied() {
    let Some(url) = pg::url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_with(&dir, "src.db", &generated(20));
    let raw = rusqlite::Connection::open(dir.path().join("src.db")).unwrap();
    raw.execute_batch(
        "DROP TRIGGER events_no_update; UPDATE events SET payload = '{}' WHERE position = 9;",
    )
    .unwrap();
    let mut target = PgStore::open(&url).unwrap();
    let e = copy_log(&src, &mut target).unwrap_err();
    assert!(
        matches!(e, StoreError::CopyMismatch { position: 9, .. }),
        "{e:?}"
    );
    assert_eq!(target.count().unwrap(), 0);
}

/// A copy that fails after thousands of rows (the server refuses one)
/// leaves the target empty: it is one transaction.
#[test]
fn a_copy_failing_half_way_writes_nothing() {
    let Some(url) = pg::url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_with(&dir, "src.db", &generated(5_000));
    let mut target = PgStore::open(&url).unwrap();
    pg::raw(&url)
        .batch_execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.position = 4321 THEN RAISE EXCEPTION 'disk full (simulated)'; END IF; \
               RETURN NEW; END $$; \
             CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .unwrap();
    let e = copy_log(&src, &mut target).unwrap_err();
    assert!(e.to_string().contains("disk full (simulated)"), "{e}");
    assert_eq!(target.count().unwrap(), 0);
    assert_eq!(target.head().unwrap(), None);
    pg::raw(&url)
        .batch_execute("DROP TRIGGER refuse ON events")
        .unwrap();
    // The same copy then succeeds.
    assert_eq!(copy_log(&src, &mut target).unwrap().events, 5_000);
}

/// Copying an empty ledger copies nothing and succeeds.
#[test]
fn an_empty_ledger_copies_to_an_empty_ledger() {
    let Some(url) = pg::url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = Store::open(&dir.path().join("src.db")).unwrap();
    let mut target = PgStore::open(&url).unwrap();
    let v = copy_log(&src, &mut target).unwrap();
    assert_eq!(v.events, 0);
    assert!(v.is_intact());
    // A write that appends nothing leaves the head as it was.
    target.write(|tx| tx.append(&[], &[])).unwrap();
    assert_eq!(target.head().unwrap(), None);
}
