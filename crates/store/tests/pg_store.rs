//! PostgreSQL-specific guarantees of `PgStore`, beyond the conformance suite:
//! concurrent writers, abandoned and killed writers, the append-only
//! triggers, refusing foreign or newer databases, and what messages show.
//! Each test starts from a new database on the throwaway cluster.

mod pg;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use shareledger_store::conformance::ev;
use shareledger_store::{
    AppendOutcome, EventRead, EventStore, EventTx, ExpectedVersion, NewEvent, PgStore, ReadFilter,
    Store, StoreError,
};

/// A fixed-width timestamp `n` microseconds after 2024-01-01T00:00:00Z.
fn ts_us(n: u64) -> String {
    let (secs, micros) = (n / 1_000_000, n % 1_000_000);
    format!(
        "2024-01-01T{:02}:{:02}:{:02}.{micros:06}Z",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// An event whose id is made of `writer` and `i`, recorded at `at`.
fn event(writer: u64, i: u64, stream: &str, at: u64) -> NewEvent {
    NewEvent {
        id: format!("00000000-0000-4000-{writer:04}-{i:012}"),
        stream: stream.to_string(),
        event_type: "thing_happened".into(),
        schema_version: 1,
        payload: format!(r#"{{"i":{i},"w":{writer}}}"#),
        effective_date: None,
        recorded_at: ts_us(at),
        actor: format!("writer-{writer}"),
    }
}

/// The relations of the database at `url`, to show a refused open changed
/// nothing.
fn relations(url: &str) -> Vec<String> {
    pg::raw(url)
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn sqlstate(e: &postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_default()
}

const WRITERS: u64 = 16;
const APPENDS: u64 = 20;

/// 16 threads append at once, half to their own streams, half to one shared
/// stream with optimistic versions read outside the transaction; a reader
/// follows `position > cursor` meanwhile. Every append lands exactly once,
/// positions are gapless in the order readers see them, the chain verifies,
/// and every conflict names the version expected and the one found.
#[test]
fn sixteen_concurrent_writers() {
    let Some((url, store)) = pg::fresh() else {
        return;
    };
    drop(store);
    let start = Arc::new(Barrier::new(WRITERS as usize + 1));
    let done = Arc::new(AtomicBool::new(false));
    let conflicts = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (url, start, conflicts) = (url.clone(), start.clone(), conflicts.clone());
        writers.push(std::thread::spawn(move || {
            let mut s = PgStore::open_existing(&url).unwrap();
            let stream = if w < WRITERS / 2 {
                format!("own-{w}")
            } else {
                "shared".to_string()
            };
            let mut positions = Vec::new();
            start.wait();
            for i in 0..APPENDS {
                loop {
                    let seen = s.stream_version(&stream).unwrap();
                    let r = s.write(|tx| {
                        // Recorded "now": after the head lock, so in commit order.
                        let at = tx.head()?.map_or(0, |(p, _)| p) + 1;
                        tx.append(
                            &[(stream.clone(), ExpectedVersion::Exact(seen))],
                            &[event(w, i, &stream, at)],
                        )
                    });
                    match r {
                        Ok(out) => {
                            assert_eq!(out.len(), 1);
                            let AppendOutcome::Appended { position, version } = out[0] else {
                                panic!("not appended: {out:?}");
                            };
                            assert_eq!(version, seen + 1);
                            positions.push(position);
                            break;
                        }
                        Err(StoreError::VersionConflict {
                            stream: st,
                            expected,
                            actual,
                        }) => {
                            assert_eq!(st, stream);
                            assert_eq!(expected, ExpectedVersion::Exact(seen));
                            assert!(actual > seen, "expected {seen}, found {actual}");
                            assert!(w >= WRITERS / 2, "an own stream never conflicts");
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("writer {w}: {e}"),
                    }
                }
            }
            positions
        }));
    }
    // A reader following the log by position never sees a gap.
    let reader = {
        let (url, done) = (url.clone(), done.clone());
        std::thread::spawn(move || {
            let r = PgStore::open_existing(&url).unwrap();
            let mut cursor = 0u64;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let filter = ReadFilter {
                    from_position: cursor,
                    ..ReadFilter::default()
                };
                for row in r.events(&filter) {
                    let row = row.unwrap();
                    assert_eq!(row.position, cursor + 1, "the reader skipped an event");
                    cursor = row.position;
                }
                if finished {
                    return cursor;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    start.wait();
    let mut all: Vec<u64> = writers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    done.store(true, Ordering::SeqCst);
    let total = WRITERS * APPENDS;
    assert_eq!(reader.join().unwrap(), total, "the reader saw every event");
    all.sort_unstable();
    assert_eq!(all, (1..=total).collect::<Vec<_>>(), "gapless, each once");

    let s = PgStore::open_existing(&url).unwrap();
    assert_eq!(s.count().unwrap(), total);
    let v = s.verify().unwrap();
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.events, total);
    let mut ids = HashSet::new();
    for w in 0..WRITERS {
        for i in 0..APPENDS {
            let id = event(w, i, "", 0).id;
            let found = s.find_by_id(&id).unwrap().expect("every append landed");
            assert_eq!(found.actor, format!("writer-{w}"));
            assert!(ids.insert(id));
        }
    }
    assert_eq!(s.stream_version("shared").unwrap(), WRITERS / 2 * APPENDS);
    for w in 0..WRITERS / 2 {
        assert_eq!(s.stream_version(&format!("own-{w}")).unwrap(), APPENDS);
    }
    println!(
        "{} version conflicts on the shared stream, all retried",
        conflicts.load(Ordering::Relaxed)
    );
}

/// Two writers that read the same version: the second is refused with the
/// version it expected and the one it found, and writes nothing.
#[test]
fn a_stale_version_is_a_conflict_with_expected_and_actual() {
    let Some((url, mut a)) = pg::fresh() else {
        return;
    };
    let mut b = PgStore::open_existing(&url).unwrap();
    a.write(|tx| tx.append(&[], &[ev(1, "s")])).unwrap();
    let seen_a = a.stream_version("s").unwrap();
    let seen_b = b.stream_version("s").unwrap();
    a.write(|tx| {
        tx.append(
            &[("s".into(), ExpectedVersion::Exact(seen_a))],
            &[ev(2, "s")],
        )
    })
    .unwrap();
    let e = b
        .write(|tx| {
            tx.append(
                &[("s".into(), ExpectedVersion::Exact(seen_b))],
                &[ev(3, "s")],
            )
        })
        .unwrap_err();
    match e {
        StoreError::VersionConflict {
            stream,
            expected,
            actual,
        } => {
            assert_eq!(stream, "s");
            assert_eq!(expected, ExpectedVersion::Exact(1));
            assert_eq!(actual, 2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.count().unwrap(), 2);
}

/// `write` takes the head lock before its closure runs: a second writer
/// waits for the first to commit, even if the first has not appended yet,
/// so what the first read inside its transaction stayed true.
#[test]
fn write_locks_the_head_at_its_start() {
    let Some((url, mut a)) = pg::fresh() else {
        return;
    };
    a.write(|tx| tx.append(&[], &[ev(1, "s")])).unwrap();
    let in_tx = Arc::new(Barrier::new(2));
    let t = {
        let (url, in_tx) = (url.clone(), in_tx.clone());
        std::thread::spawn(move || {
            let mut b = PgStore::open_existing(&url).unwrap();
            in_tx.wait();
            let t0 = Instant::now();
            let out = b
                .write(|tx| {
                    let v = tx.stream_version("s")?;
                    tx.append(&[("s".into(), ExpectedVersion::Exact(v))], &[ev(3, "s")])
                })
                .unwrap();
            (t0.elapsed(), out)
        })
    };
    a.write(|tx| -> Result<(), StoreError> {
        let v = tx.stream_version("s")?;
        in_tx.wait();
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(tx.stream_version("s")?, v, "stable inside the transaction");
        tx.append(&[("s".into(), ExpectedVersion::Exact(v))], &[ev(2, "s")])?;
        Ok(())
    })
    .unwrap();
    let (waited, out) = t.join().unwrap();
    // B came after A (position 3, version 3: A's expected version held);
    // and it did wait, for most of A's 400 ms.
    assert!(waited >= Duration::from_millis(100), "waited {waited:?}");
    assert_eq!(
        out,
        vec![AppendOutcome::Appended {
            position: 3,
            version: 3
        }]
    );
    assert!(a.verify().unwrap().is_intact());
}

/// A writer that panics mid-transaction (its transaction is dropped) leaves
/// nothing, and the head lock is free again.
#[test]
fn an_abandoned_transaction_leaves_nothing() {
    let Some((url, mut s)) = pg::fresh() else {
        return;
    };
    s.write(|tx| tx.append(&[], &[ev(1, "a"), ev(2, "a")]))
        .unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut w = PgStore::open_existing(&url).unwrap();
        let _: Result<(), StoreError> = w.write(|tx| {
            tx.append(&[], &[ev(3, "a"), ev(4, "b")])?;
            panic!("the writer dies half-way");
        });
    }));
    assert!(r.is_err());
    assert_eq!(s.count().unwrap(), 2);
    assert_eq!(s.stream_version("b").unwrap(), 0);
    let out = s.write(|tx| tx.append(&[], &[ev(3, "a")])).unwrap();
    assert_eq!(out[0].position(), 3);
    assert!(s.verify().unwrap().is_intact());
}

const CHILD_URL: &str = "SHARELEDGER_PG_CHILD_URL";
const CHILD_MARK: &str = "SHARELEDGER_PG_CHILD_MARK";

/// Not a test on its own: the process that `a_killed_writer_leaves_nothing`
/// starts and kills while it holds an open write transaction.
#[test]
#[ignore = "helper process of a_killed_writer_leaves_nothing"]
fn child_writer_holding_a_transaction() {
    let (Ok(url), Ok(mark)) = (std::env::var(CHILD_URL), std::env::var(CHILD_MARK)) else {
        return;
    };
    let mut s = PgStore::open_existing(&url).unwrap();
    let _: Result<(), StoreError> = s.write(|tx| {
        tx.append(&[], &[ev(3, "a"), ev(4, "b")])?;
        std::fs::write(&mark, "appended").unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
}

/// A writer process killed (SIGKILL) after appending, before committing:
/// nothing of it is stored, and the next writer gets the lock and the next
/// position.
#[test]
fn a_killed_writer_leaves_nothing() {
    let Some((url, mut s)) = pg::fresh() else {
        return;
    };
    s.write(|tx| tx.append(&[], &[ev(1, "a"), ev(2, "a")]))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("appended");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writer_holding_a_transaction",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_URL, &url)
        .env(CHILD_MARK, &mark)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !mark.exists() {
        assert!(Instant::now() < deadline, "the child never appended");
        assert!(child.try_wait().unwrap().is_none(), "the child exited");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The child holds the head lock with two uncommitted rows.
    assert_eq!(s.count().unwrap(), 2, "uncommitted rows are invisible");
    let waiting: i64 = pg::raw(&url)
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state = 'idle in transaction'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(waiting, 1, "the child's transaction is open");
    child.kill().unwrap();
    child.wait().unwrap();

    let t0 = Instant::now();
    let out = s.write(|tx| tx.append(&[], &[ev(3, "a")])).unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(
        out,
        vec![AppendOutcome::Appended {
            position: 3,
            version: 3
        }]
    );
    assert_eq!(s.count().unwrap(), 3);
    assert_eq!(s.stream_version("b").unwrap(), 0);
    assert!(s.verify().unwrap().is_intact());
}

/// UPDATE, DELETE and TRUNCATE of events are refused by the triggers, even
/// for the table's owner; the head row cannot be deleted or moved back.
#[test]
fn triggers_refuse_update_delete_truncate() {
    let Some((url, mut s)) = pg::fresh() else {
        return;
    };
    s.write(|tx| tx.append(&[], &pg::events(1..=3, &["a"])))
        .unwrap();
    let mut c = pg::raw(&url);
    for sql in [
        "UPDATE events SET actor = 'mallory' WHERE position = 2",
        "DELETE FROM events WHERE position = 3",
        "TRUNCATE events",
        "DELETE FROM head",
        "TRUNCATE head",
        "UPDATE head SET last_position = 1",
    ] {
        let e = c.batch_execute(sql).unwrap_err();
        assert_eq!(sqlstate(&e), "SL001", "{sql}: {e:?}");
        let msg = e.as_db_error().unwrap().message().to_string();
        assert!(
            msg.contains("append-only") || msg.contains("only moves forward"),
            "{msg}"
        );
    }
    assert_eq!(s.count().unwrap(), 3);
    let v = s.verify().unwrap();
    assert!(v.is_intact() && v.events == 3, "{v:?}");
}

/// With the triggers lifted, a changed payload or a deleted row is found by
/// `verify` at its position.
#[test]
fn tampering_with_triggers_disabled_is_found_at_its_position() {
    let Some((url, mut s)) = pg::fresh() else {
        return;
    };
    s.write(|tx| tx.append(&[], &pg::events(1..=20, &["a", "b"])))
        .unwrap();
    pg::tamper(
        &url,
        "UPDATE events SET payload = '{\"n\":999}' WHERE position = 13",
    );
    let v = s.verify().unwrap();
    assert_eq!(v.broken_at, Some(13), "{v:?}");
    assert_eq!(v.events, 12);
    assert!(v.reason.unwrap().contains("altered row"));

    let Some((url, mut s)) = pg::fresh() else {
        return;
    };
    s.write(|tx| tx.append(&[], &pg::events(1..=20, &["a", "b"])))
        .unwrap();
    pg::tamper(&url, "DELETE FROM events WHERE position = 7");
    let v = s.verify().unwrap();
    assert_eq!(v.broken_at, Some(7), "{v:?}");
    assert!(v.reason.unwrap().contains("event 7 is missing"));
    // The head row still says 20: the next append continues the chain
    // from there, and verify keeps pointing at the hole.
    s.write(|tx| tx.append(&[], &pg::events(21..=21, &["a"])))
        .unwrap();
    assert_eq!(s.verify().unwrap().broken_at, Some(7));
    assert_eq!(s.head().unwrap().unwrap().0, 21);
}

/// A database with an unrelated table is refused, and left exactly as it
/// was; so is an empty database opened as existing.
#[test]
fn a_foreign_database_is_refused_untouched() {
    let Some(url) = pg::url() else {
        return;
    };
    pg::raw(&url)
        .batch_execute("CREATE TABLE customers (id int primary key, name text); INSERT INTO customers VALUES (1, 'x')")
        .unwrap();
    let before = relations(&url);
    for e in [
        PgStore::open(&url).unwrap_err(),
        PgStore::open_existing(&url).unwrap_err(),
    ] {
        match &e {
            StoreError::PgNotALedger {
                schema, relations, ..
            } => {
                assert_eq!(schema, "public");
                assert!(
                    relations.contains(&"customers".to_string()),
                    "{relations:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        let msg = e.to_string();
        assert!(
            msg.contains("not a shareledger ledger") && msg.contains("customers"),
            "{msg}"
        );
    }
    assert_eq!(relations(&url), before);

    let Some(empty) = pg::url() else {
        return;
    };
    let e = PgStore::open_existing(&empty).unwrap_err();
    assert!(matches!(e, StoreError::PgNotInitialised { .. }), "{e:?}");
    assert!(relations(&empty).is_empty(), "nothing created");
    // `open` then creates it, and `open_existing` accepts it.
    PgStore::open(&empty).unwrap();
    PgStore::open_existing(&empty).unwrap();
}

/// A ledger whose schema is newer than this build knows is refused
/// untouched.
#[test]
fn a_newer_schema_is_refused() {
    let Some((url, mut s)) = pg::fresh() else {
        return;
    };
    s.write(|tx| tx.append(&[], &[ev(1, "a")])).unwrap();
    drop(s);
    pg::raw(&url)
        .batch_execute(
            &format!(
                "INSERT INTO shareledger_migrations (version, description) VALUES ({}, 'from the future')",
                shareledger_store::PG_SCHEMA_VERSION + 1
            ),
        )
        .unwrap();
    let before = relations(&url);
    for e in [
        PgStore::open(&url).unwrap_err(),
        PgStore::open_existing(&url).unwrap_err(),
    ] {
        match &e {
            StoreError::PgTooNew { found, known, .. } => {
                assert_eq!(
                    (*found, *known),
                    (
                        i64::from(shareledger_store::PG_SCHEMA_VERSION) + 1,
                        shareledger_store::PG_SCHEMA_VERSION
                    )
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("upgrade shareledger"));
    }
    assert_eq!(relations(&url), before);
    let n: i64 = pg::raw(&url)
        .query_one("SELECT count(*) FROM events", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

/// A database that cannot keep every text exactly is refused.
#[test]
fn a_non_utf8_database_is_refused() {
    let Some(url) = pg::url() else {
        return;
    };
    let ascii = format!("{url}_ascii");
    let name = ascii.rsplit('/').next().unwrap().to_string();
    pg::raw(&url)
        .batch_execute(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'"
        ))
        .unwrap();
    let e = PgStore::open(&ascii).unwrap_err();
    assert!(
        matches!(&e, StoreError::PgEncoding { encoding, .. } if encoding == "SQL_ASCII"),
        "{e:?}"
    );
    assert!(relations(&ascii).is_empty());
}

/// Processes racing to create one ledger: one migrates, all open it.
#[test]
fn concurrent_first_opens_migrate_once() {
    let Some(url) = pg::url() else {
        return;
    };
    let go = Arc::new(Barrier::new(6));
    let hs: Vec<_> = (0..6)
        .map(|_| {
            let (url, go) = (url.clone(), go.clone());
            std::thread::spawn(move || {
                go.wait();
                PgStore::open(&url).map(|_| ())
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap().unwrap();
    }
    let n: i64 = pg::raw(&url)
        .query_one("SELECT count(*) FROM shareledger_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, i64::from(shareledger_store::PG_SCHEMA_VERSION));
}

/// The URL's password never shows: not in `location()`, not in errors.
#[test]
fn passwords_stay_out_of_locations_and_errors() {
    let Some(url) = pg::url() else {
        return;
    };
    // Trust authentication ignores the password, so it can be anything.
    let with_pw = url.replacen("postgres@", "postgres:hunter2@", 1);
    let s = PgStore::open(&with_pw).unwrap();
    assert!(!s.location().contains("hunter2"), "{}", s.location());
    assert_eq!(s.location(), url);
    let r = s.reader().unwrap();
    assert_eq!(r.location(), url);

    // A server that is not there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gone = format!("postgresql://clerk:hunter2@127.0.0.1:{port}/ledger");
    let e = PgStore::open(&gone).unwrap_err();
    assert!(matches!(e, StoreError::PgConnect { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(
        msg.contains(&format!("postgresql://clerk@127.0.0.1:{port}/ledger")),
        "{msg}"
    );
    assert!(msg.contains("check that the server is running"), "{msg}");
    assert!(!format!("{e:?}").contains("hunter2"));
}

/// The same events appended to SQLite and to PostgreSQL give the same rows:
/// positions, versions, prev_hash and hash.
#[test]
fn same_events_same_hashes_on_both_engines() {
    let Some((_url, mut p)) = pg::fresh() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut q = Store::open(&dir.path().join("l.db")).unwrap();
    let mut batch = pg::events(1..=50, &["02121", "00700", "$market"]);
    batch[3].effective_date = Some("2024-03-28".into());
    batch[4].payload = r#"{"name":"長江實業","note":"émoji 🎉 and \"quotes\""}"#.into();
    batch[5].actor = "Zoë Ωmega".into();
    for b in batch.chunks(7) {
        let a = p.write(|tx| tx.append(&[], b)).unwrap();
        let c = q.write(|tx| tx.append(&[], b)).unwrap();
        assert_eq!(a, c);
    }
    let pr: Vec<_> = EventRead::events(&p, &ReadFilter::default())
        .collect::<Result<_, _>>()
        .unwrap();
    let qr: Vec<_> = EventRead::events(&q, &ReadFilter::default())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(pr, qr);
    assert_eq!(EventRead::head(&p).unwrap(), EventRead::head(&q).unwrap());
    assert_eq!(p.streams().unwrap(), q.streams().unwrap(), "bytewise order");
    assert_eq!(p.verify().unwrap(), q.verify().unwrap());
}

/// A failing append inside a transaction the caller then commits writes
/// nothing of the batch, but keeps what the transaction appended before.
#[test]
fn a_failed_batch_is_rolled_back_inside_a_committed_transaction() {
    let Some((url, mut s)) = pg::fresh() else {
        return;
    };
    // The server refuses one row (as a full disk or a DBA's check would).
    pg::raw(&url)
        .batch_execute(&format!(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.id = '{}' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
               RETURN NEW; END $$; \
             CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse();",
            ev(3, "a").id
        ))
        .unwrap();
    s.write(|tx| -> Result<(), StoreError> {
        tx.append(&[], &[ev(1, "a")])?;
        let e = tx.append(&[], &[ev(2, "a"), ev(3, "a")]).unwrap_err();
        assert!(
            matches!(&e, StoreError::Postgres { message, .. } if message.contains("refused by the test")),
            "{e:?}"
        );
        assert_eq!(tx.count()?, 1, "the batch left nothing");
        tx.append(&[], &[ev(4, "a")])?;
        Ok(())
    })
    .unwrap();
    let rows: Vec<(u64, String)> = EventRead::events(&s, &ReadFilter::default())
        .map(|r| r.map(|e| (e.position, e.id)).unwrap())
        .collect();
    assert_eq!(rows, vec![(1, ev(1, "a").id), (2, ev(4, "a").id)]);
    assert!(s.verify().unwrap().is_intact());
}

/// NUL, which PostgreSQL's text cannot hold, is refused before anything is
/// written (on SQLite too, so every ledger can be copied to either engine).
#[test]
fn nul_characters_are_refused_up_front() {
    let Some((_url, mut s)) = pg::fresh() else {
        return;
    };
    let mut bad = ev(1, "a");
    bad.actor = "nul\0byte".into();
    let e = s.write(|tx| tx.append(&[], &[bad.clone()])).unwrap_err();
    assert!(
        matches!(e, StoreError::InvalidField { field: "actor", .. }),
        "{e:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut q = Store::open(&dir.path().join("l.db")).unwrap();
    let e = q.write(|tx| tx.append(&[], &[bad])).unwrap_err();
    assert!(
        matches!(e, StoreError::InvalidField { field: "actor", .. }),
        "{e:?}"
    );
}

const CHILD_WRITER: &str = "SHARELEDGER_PG_CHILD_WRITER";

/// Not a test on its own: one of the processes of
/// `concurrent_writer_processes`, appending `APPENDS` events to the shared
/// stream (retrying on conflicts) and as many to its own stream.
#[test]
#[ignore = "helper process of concurrent_writer_processes"]
fn child_appender() {
    let (Ok(url), Ok(w)) = (std::env::var(CHILD_URL), std::env::var(CHILD_WRITER)) else {
        return;
    };
    let w: u64 = w.parse().unwrap();
    let mut s = PgStore::open_existing(&url).unwrap();
    for i in 0..APPENDS {
        let stream = if i % 2 == 0 {
            "shared".to_string()
        } else {
            format!("proc-{w}")
        };
        loop {
            let seen = s.stream_version(&stream).unwrap();
            let r = s.write(|tx| {
                let at = tx.head()?.map_or(0, |(p, _)| p) + 1;
                tx.append(
                    &[(stream.clone(), ExpectedVersion::Exact(seen))],
                    &[event(w, i, &stream, at)],
                )
            });
            match r {
                Ok(_) => break,
                Err(StoreError::VersionConflict {
                    expected, actual, ..
                }) => assert!(expected == ExpectedVersion::Exact(seen) && actual > seen),
                Err(e) => panic!("process {w}: {e}"),
            }
        }
    }
}

/// 16 writer processes at once (each its own connection, as clerks on
/// several machines): every append lands once, the chain verifies.
#[test]
fn concurrent_writer_processes() {
    let Some((url, s)) = pg::fresh() else {
        return;
    };
    let children: Vec<_> = (0..WRITERS)
        .map(|w| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_appender", "--ignored"])
                .env(CHILD_URL, &url)
                .env(CHILD_WRITER, (100 + w).to_string())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a writer process failed");
    }
    let total = WRITERS * APPENDS;
    assert_eq!(s.count().unwrap(), total);
    let v = s.verify().unwrap();
    assert!(v.is_intact() && v.events == total, "{v:?}");
    assert_eq!(s.stream_version("shared").unwrap(), total / 2);
    for w in 0..WRITERS {
        for i in 0..APPENDS {
            assert!(s
                .find_by_id(&event(100 + w, i, "", 0).id)
                .unwrap()
                .is_some());
        }
    }
}

/// The roles of docs/deployment.md, as written there: the owner creates the
/// tables; the application role reads, appends and advances the head but
/// can change no row and cannot lift the triggers; row-level security
/// confines a clerk to the issuers granted; auditors verify everything.
#[test]
fn the_documented_roles_and_policies_hold() {
    let Some(url) = pg::url() else {
        return;
    };
    let db = url.rsplit('/').next().unwrap().to_string();
    let as_user = |user: &str| url.replacen("postgres@", &format!("{user}@"), 1);
    pg::raw(&url)
        .batch_execute(&format!(
            "CREATE ROLE ledger_owner NOLOGIN;
             CREATE ROLE ledger_admin LOGIN IN ROLE ledger_owner;
             CREATE ROLE shareledger_app NOLOGIN;
             CREATE ROLE shareledger_auditor NOLOGIN;
             ALTER DATABASE {db} OWNER TO ledger_owner;
             REVOKE ALL ON DATABASE {db} FROM PUBLIC;
             GRANT CONNECT ON DATABASE {db} TO shareledger_app, shareledger_auditor;
             REVOKE ALL ON SCHEMA public FROM PUBLIC;
             CREATE SCHEMA shareledger AUTHORIZATION ledger_owner;
             -- Settings of a group role are not inherited by its members: per database.
             ALTER DATABASE {db} SET search_path = shareledger;
             ALTER DATABASE {db} SET idle_in_transaction_session_timeout = '2min';
             ALTER ROLE ledger_admin IN DATABASE {db} SET role = ledger_owner;"
        ))
        .unwrap();
    // The owner's first open creates the ledger, owned by the owner role.
    PgStore::open(&as_user("ledger_admin")).unwrap();
    let owners: Vec<String> = pg::raw(&url)
        .query(
            "SELECT tableowner::text FROM pg_tables WHERE schemaname = 'shareledger'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(owners.len(), 5);
    assert!(owners.iter().all(|o| o == "ledger_owner"), "{owners:?}");
    pg::raw(&as_user("ledger_admin"))
        .batch_execute(
            "SET ROLE ledger_owner;
             GRANT USAGE ON SCHEMA shareledger TO shareledger_app, shareledger_auditor;
             GRANT SELECT, INSERT ON shareledger.events TO shareledger_app;
             GRANT SELECT, UPDATE ON shareledger.head   TO shareledger_app;
             GRANT SELECT ON shareledger.shareledger_migrations, shareledger.meta TO shareledger_app;
             GRANT SELECT, INSERT, UPDATE, DELETE ON shareledger.snapshots TO shareledger_app;
             GRANT SELECT ON ALL TABLES IN SCHEMA shareledger TO shareledger_auditor;",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    pg::raw(&url)
        .batch_execute(
            "CREATE ROLE clerk_alice LOGIN IN ROLE shareledger_app;
             CREATE ROLE kpmg_audit  LOGIN IN ROLE shareledger_auditor;",
        )
        .unwrap();

    // The application role cannot create a ledger, and is told who can.
    pg::raw(&url)
        .batch_execute(
            "CREATE SCHEMA empty_one AUTHORIZATION ledger_owner; \
             GRANT USAGE ON SCHEMA empty_one TO shareledger_app;",
        )
        .unwrap();
    let e = PgStore::open(&format!(
        "{}?options=-csearch_path%3Dempty_one",
        as_user("clerk_alice")
    ))
    .unwrap_err();
    assert!(
        matches!(&e, StoreError::Postgres { sqlstate: Some(s), message, .. }
            if s == "42501" && message.contains("as the schema's owner")),
        "{e:?}"
    );

    // The clerk appends and reads through the store.
    let mut clerk = PgStore::open_existing(&as_user("clerk_alice")).unwrap();
    clerk
        .write(|tx| tx.append(&[], &[ev(1, "02121"), ev(2, "00700"), ev(3, "$market")]))
        .unwrap();
    assert!(clerk.verify().unwrap().is_intact());
    // ... but cannot change, delete or truncate anything, nor lift a trigger.
    let mut raw = pg::raw(&as_user("clerk_alice"));
    for sql in [
        "UPDATE events SET actor = 'mallory' WHERE position = 1",
        "DELETE FROM events WHERE position = 3",
        "TRUNCATE events",
        "ALTER TABLE events DISABLE TRIGGER USER",
        "DELETE FROM head",
        "CREATE TABLE events_shadow (x int)",
    ] {
        let e = raw.batch_execute(sql).unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{sql}: {e:?}"); // insufficient_privilege
    }
    let e = raw
        .batch_execute("UPDATE head SET last_position = 1")
        .unwrap_err();
    assert_eq!(sqlstate(&e), "SL001", "{e:?}");

    // Row-level security per issuer, as sketched.
    pg::raw(&as_user("ledger_admin"))
        .batch_execute(
            r#"SET ROLE ledger_owner;
            CREATE TABLE shareledger.issuer_access (
                role_name name NOT NULL,
                stream    text COLLATE "C" NOT NULL,
                PRIMARY KEY (role_name, stream)
            );
            GRANT SELECT ON shareledger.issuer_access TO shareledger_app;
            ALTER TABLE shareledger.events ENABLE ROW LEVEL SECURITY;
            CREATE POLICY clerk_reads ON shareledger.events FOR SELECT TO shareledger_app
                USING (stream = '$market'
                       OR EXISTS (SELECT 1 FROM shareledger.issuer_access a
                                  WHERE a.role_name = current_user AND a.stream = events.stream));
            CREATE POLICY clerk_appends ON shareledger.events FOR INSERT TO shareledger_app
                WITH CHECK (EXISTS (SELECT 1 FROM shareledger.issuer_access a
                                    WHERE a.role_name = current_user AND a.stream = events.stream));
            CREATE POLICY auditors_read ON shareledger.events FOR SELECT TO shareledger_auditor
                USING (true);
            INSERT INTO shareledger.issuer_access VALUES ('clerk_alice', '02121');"#,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut clerk = PgStore::open_existing(&as_user("clerk_alice")).unwrap();
    assert_eq!(
        clerk.streams().unwrap(),
        vec!["$market".to_string(), "02121".to_string()]
    );
    clerk.write(|tx| tx.append(&[], &[ev(4, "02121")])).unwrap();
    let e = clerk
        .write(|tx| tx.append(&[], &[ev(5, "00700")]))
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Postgres { sqlstate: Some(s), .. } if s == "42501"),
        "{e:?}"
    );
    let auditor = PgStore::open_existing(&as_user("kpmg_audit")).unwrap();
    assert_eq!(auditor.count().unwrap(), 4);
    let v = auditor.verify().unwrap();
    assert!(v.is_intact() && v.events == 4, "{v:?}");
}

/// A connection the server closed (restart, failover, idle timeout) is
/// reopened on the next call; a write cut off mid-way reports an error,
/// stores nothing, and the next write succeeds.
#[test]
fn a_closed_connection_is_reopened() {
    let Some((url, mut s)) = pg::fresh() else {
        return;
    };
    s.write(|tx| tx.append(&[], &[ev(1, "a")])).unwrap();
    let kill_others = |url: &str| {
        pg::raw(url)
            .query(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .len()
    };
    assert_eq!(kill_others(&url), 1);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(s.count().unwrap(), 1, "reads reconnect");
    assert_eq!(kill_others(&url), 1);
    std::thread::sleep(Duration::from_millis(100));
    s.write(|tx| tx.append(&[], &[ev(2, "a")])).unwrap();

    let u2 = url.clone();
    let e = s
        .write(|tx| -> Result<(), StoreError> {
            tx.append(&[], &[ev(3, "a")])?;
            assert_eq!(kill_others(&u2), 1);
            std::thread::sleep(Duration::from_millis(100));
            tx.append(&[], &[ev(4, "a")])?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(e, StoreError::Postgres { .. }), "{e:?}");
    assert_eq!(s.count().unwrap(), 2, "the cut-off write stored nothing");
    let out = s.write(|tx| tx.append(&[], &[ev(3, "a")])).unwrap();
    assert_eq!(out[0].position(), 3);
    assert!(s.verify().unwrap().is_intact());
}

/// A batch larger than one INSERT statement (5,000 rows) goes in whole, in
/// one transaction, and reads back in order.
#[test]
fn a_batch_of_many_statements_is_one_append() {
    let Some((_url, mut s)) = pg::fresh() else {
        return;
    };
    let n = 12_001u64;
    let events: Vec<NewEvent> = (1..=n).map(|i| event(1, i, "big", i)).collect();
    let out = s.write(|tx| tx.append(&[], &events)).unwrap();
    assert_eq!(out.len() as u64, n);
    assert_eq!(out.last().unwrap().position(), n);
    let v = s.verify().unwrap();
    assert!(v.is_intact() && v.events == n, "{v:?}");
    assert_eq!(s.head().unwrap(), v.head);
    assert_eq!(s.stream_version("big").unwrap(), n);
    // Appending them again: all duplicates, nothing written.
    let again = s.write(|tx| tx.append(&[], &events)).unwrap();
    assert!(again.iter().enumerate().all(|(i, o)| *o
        == AppendOutcome::Duplicate {
            position: i as u64 + 1
        }));
    assert_eq!(s.count().unwrap(), n);
}

/// A writer that cannot get the head lock within its lock timeout fails
/// with `PgLocked` (saying to retry), writing nothing; once the holder
/// commits, it succeeds.
#[test]
fn a_writer_waiting_too_long_is_told_to_retry() {
    let Some((url, mut a)) = pg::fresh() else {
        return;
    };
    let mut b = PgStore::open_existing(&url).unwrap();
    b.set_lock_timeout(Duration::from_millis(200)).unwrap();
    let held = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let t = {
        let (held, release) = (held.clone(), release.clone());
        std::thread::spawn(move || {
            a.write(|tx| {
                tx.append(&[], &[ev(1, "a")])?;
                held.wait();
                release.wait();
                Ok::<_, StoreError>(())
            })
            .unwrap();
        })
    };
    held.wait();
    let t0 = Instant::now();
    let e = b.write(|tx| tx.append(&[], &[ev(2, "b")])).unwrap_err();
    let waited = t0.elapsed();
    assert!(matches!(e, StoreError::PgLocked { .. }), "{e:?}");
    assert!(e.to_string().contains("retry"), "{e}");
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    release.wait();
    t.join().unwrap();
    let out = b.write(|tx| tx.append(&[], &[ev(2, "b")])).unwrap();
    assert_eq!(out[0].position(), 2);
    assert!(b.verify().unwrap().is_intact());
}

/// A ledger lives in the first schema of `search_path`: one beside other
/// applications' tables in `public` is fine, each in its own schema.
#[test]
fn a_ledger_in_its_own_schema_beside_other_tables() {
    let Some(url) = pg::url() else {
        return;
    };
    pg::raw(&url)
        .batch_execute(
            "CREATE TABLE customers (id int); CREATE SCHEMA ledger_a; CREATE SCHEMA ledger_b;",
        )
        .unwrap();
    let a_url = format!("{url}?options=-csearch_path%3Dledger_a");
    let b_url = format!("{url}?options=-csearch_path%3Dledger_b");
    let mut a = PgStore::open(&a_url).unwrap();
    let mut b = PgStore::open(&b_url).unwrap();
    a.write(|tx| tx.append(&[], &[ev(1, "a")])).unwrap();
    b.write(|tx| tx.append(&[], &[ev(1, "b"), ev(2, "b")]))
        .unwrap();
    assert_eq!((a.count().unwrap(), b.count().unwrap()), (1, 2));
    let in_a: i64 = pg::raw(&url)
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'ledger_a'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        in_a, 5,
        "events, head, meta, snapshots, shareledger_migrations"
    );
    // `public` itself holds someone else's table: refused there.
    assert!(matches!(
        PgStore::open(&url).unwrap_err(),
        StoreError::PgNotALedger { .. }
    ));
}

/// A TCP relay between the store and the server that, once armed, passes
/// the next `COMMIT` to the server and then cuts the connection before the
/// answer comes back: the client cannot know whether it committed.
fn cutting_relay(server_port: u16, armed: Arc<AtomicBool>) -> u16 {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    // The simple-protocol query "COMMIT" (not "… READ COMMITTED").
    const COMMIT: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let server = TcpStream::connect(("127.0.0.1", server_port)).unwrap();
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_in, mut c_out) = (server, client);
            let cut = Arc::new(AtomicBool::new(false));
            let (armed, cut_in) = (armed.clone(), cut.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n) = c_in.read(&mut buf) {
                    let commit = armed.load(Ordering::SeqCst)
                        && buf[..n].windows(COMMIT.len()).any(|w| w == COMMIT);
                    if commit {
                        // No answer may reach the client from now on.
                        cut_in.store(true, Ordering::SeqCst);
                    }
                    if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    if commit {
                        std::thread::sleep(Duration::from_millis(300));
                        let _ = c_in.shutdown(Shutdown::Both);
                        let _ = s_out.shutdown(Shutdown::Both);
                        break;
                    }
                }
            });
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n) = s_in.read(&mut buf) {
                    if n == 0 || cut.load(Ordering::SeqCst) || c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// The connection lost while committing is `PgCommitUnknown`, whose message
/// says the write may or may not be stored; here the server did commit, and
/// retrying the same events is a no-op (idempotent ids).
#[test]
fn a_connection_lost_during_commit_is_reported_as_unknown() {
    let Some(url) = pg::url() else {
        return;
    };
    let server_port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let armed = Arc::new(AtomicBool::new(false));
    let relay = cutting_relay(server_port, armed.clone());
    let relayed = url.replacen(&format!(":{server_port}/"), &format!(":{relay}/"), 1);
    let mut s = PgStore::open(&relayed).unwrap();
    s.write(|tx| tx.append(&[], &[ev(1, "a")])).unwrap();
    armed.store(true, Ordering::SeqCst);
    let batch = [ev(2, "a"), ev(3, "a")];
    let e = s.write(|tx| tx.append(&[], &batch)).unwrap_err();
    armed.store(false, Ordering::SeqCst);
    assert!(matches!(e, StoreError::PgCommitUnknown { .. }), "{e:?}");
    assert!(e.to_string().contains("may or may not be stored"), "{e}");
    // The server had the COMMIT: the events are there, once (as soon as the
    // server has finished the commit it received).
    let direct = PgStore::open_existing(&url).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while direct.count().unwrap() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(direct.count().unwrap(), 3);
    // The store reconnects, and the retry the message suggests is harmless.
    let again = s.write(|tx| tx.append(&[], &batch)).unwrap();
    assert_eq!(
        again,
        vec![
            AppendOutcome::Duplicate { position: 2 },
            AppendOutcome::Duplicate { position: 3 }
        ]
    );
    assert!(s.verify().unwrap().is_intact());
}
