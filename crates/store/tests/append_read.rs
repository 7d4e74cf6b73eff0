//! Appending and reading back: field round-trip, gapless positions and
//! versions, the hash chain, and the small query methods.

mod common;

use common::*;
use shareledger_store::{
    event_hash, AppendOutcome, ExpectedVersion, ReadFilter, Store, StoredEvent, GENESIS_PREV_HASH,
};

#[test]
fn append_and_read_back_round_trips_every_field() {
    let l = ledger();
    let mut s = Store::open(&l.path).unwrap();
    assert_eq!(s.count().unwrap(), 0);
    assert_eq!(s.head().unwrap(), None);
    assert_eq!(s.stream_version("a").unwrap(), 0);

    let mut e1 = ev(1, "a");
    e1.payload = r#"{"text":"naïve – ünïcödé","n":"1.000"}"#.to_string();
    e1.effective_date = Some("2024-02-29".to_string());
    let e2 = ev(2, "b");
    let mut e3 = ev(3, "a");
    e3.schema_version = 7;
    e3.actor = String::new();
    let input = vec![e1.clone(), e2.clone(), e3.clone()];

    let out = s
        .write(|tx| {
            tx.append(
                &[
                    ("a".to_string(), ExpectedVersion::NoStream),
                    ("b".to_string(), ExpectedVersion::Exact(0)),
                ],
                &input,
            )
        })
        .unwrap();
    assert_eq!(
        out,
        vec![
            AppendOutcome::Appended {
                position: 1,
                version: 1
            },
            AppendOutcome::Appended {
                position: 2,
                version: 1
            },
            AppendOutcome::Appended {
                position: 3,
                version: 2
            },
        ]
    );

    let all: Vec<StoredEvent> = s
        .events(&ReadFilter::default())
        .map(Result::unwrap)
        .collect();
    assert_eq!(all.len(), 3);
    for (stored, new) in all.iter().zip(&input) {
        assert_eq!(stored.id, new.id);
        assert_eq!(stored.stream, new.stream);
        assert_eq!(stored.event_type, new.event_type);
        assert_eq!(stored.schema_version, new.schema_version);
        assert_eq!(stored.payload, new.payload);
        assert_eq!(stored.effective_date, new.effective_date);
        assert_eq!(stored.recorded_at, new.recorded_at);
        assert_eq!(stored.actor, new.actor);
    }
    assert_eq!(
        all.iter()
            .map(|e| (e.position, e.version))
            .collect::<Vec<_>>(),
        vec![(1, 1), (2, 1), (3, 2)]
    );

    // The chain: genesis, then each prev_hash is the previous hash, and each
    // hash recomputes with the exported function.
    assert_eq!(all[0].prev_hash, GENESIS_PREV_HASH);
    for w in all.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
    }
    for e in &all {
        assert_eq!(e.hash, event_hash(&e.prev_hash, &e.fields()));
        assert_eq!(e.hash.len(), 64);
        assert!(e
            .hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    assert_eq!(s.count().unwrap(), 3);
    assert_eq!(s.head().unwrap(), Some((3, all[2].hash.clone())));
    assert_eq!(s.hash_at(2).unwrap(), Some(all[1].hash.clone()));
    assert_eq!(s.hash_at(4).unwrap(), None);
    assert_eq!(s.stream_version("a").unwrap(), 2);
    assert_eq!(s.stream_version("b").unwrap(), 1);
    assert_eq!(s.stream_version("c").unwrap(), 0);
    assert_eq!(s.streams().unwrap(), vec!["a".to_string(), "b".to_string()]);
    assert_eq!(s.find_by_id(&e2.id).unwrap().as_ref(), Some(&all[1]));
    assert_eq!(s.find_by_id("nope").unwrap(), None);
    assert_eq!(s.last_recorded_at().unwrap(), Some(e3.recorded_at.clone()));

    let v = s.verify().unwrap();
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.events, 3);
    assert_eq!(v.head, Some((3, all[2].hash.clone())));
}

#[test]
fn data_survives_reopen_and_appends_continue_the_chain() {
    let l = ledger();
    {
        filled(&l.path, 5, &["x", "y"]);
    }
    let mut s = Store::open(&l.path).unwrap();
    assert_eq!(s.count().unwrap(), 5);
    let head = s.head().unwrap().unwrap();
    let out = append(&mut s, &[ev(6, "x")]).unwrap();
    assert_eq!(
        out,
        vec![AppendOutcome::Appended {
            position: 6,
            version: 4
        }]
    );
    assert_eq!(
        s.find_by_id(&ev(6, "x").id).unwrap().unwrap().prev_hash,
        head.1
    );
    drop(s);
    let s = Store::open_existing(&l.path).unwrap();
    assert!(s.verify().unwrap().is_intact());
    assert_eq!(s.verify().unwrap().events, 6);
}

#[test]
fn several_appends_in_one_write_and_reads_inside_the_transaction() {
    let l = ledger();
    let mut s = Store::open(&l.path).unwrap();
    s.write(|tx| {
        assert_eq!(tx.stream_version("s")?, 0);
        assert_eq!(tx.last_recorded_at()?, None);
        tx.append(&[exact("s", 0)], &[ev(1, "s")])?;
        // Reads inside the transaction see the uncommitted event.
        assert_eq!(tx.stream_version("s")?, 1);
        assert_eq!(tx.count()?, 1);
        assert_eq!(tx.last_recorded_at()?, Some(ts(1)));
        assert!(tx.find_by_id(&ev(1, "s").id)?.is_some());
        tx.append(&[exact("s", 1)], &[ev(2, "s")])?;
        let seen: Vec<u64> = tx
            .events(&ReadFilter::stream("s"))
            .map(|e| e.map(|e| e.version))
            .collect::<Result<_, _>>()?;
        assert_eq!(seen, vec![1, 2]);
        assert_eq!(tx.head()?.map(|h| h.0), Some(2));
        Ok::<_, shareledger_store::StoreError>(())
    })
    .unwrap();
    assert_eq!(s.count().unwrap(), 2);
}

#[test]
fn closure_error_rolls_back_everything() {
    #[derive(Debug)]
    enum AppError {
        #[allow(dead_code)] // only read through Debug
        Store(shareledger_store::StoreError),
        Refused,
    }
    impl From<shareledger_store::StoreError> for AppError {
        fn from(e: shareledger_store::StoreError) -> Self {
            AppError::Store(e)
        }
    }
    let l = ledger();
    let mut s = filled(&l.path, 2, &["s"]);
    let r: Result<(), AppError> = s.write(|tx| {
        tx.append(&[], &[ev(3, "s"), ev(4, "s")])?;
        Err(AppError::Refused)
    });
    assert!(matches!(r, Err(AppError::Refused)));
    assert_eq!(s.count().unwrap(), 2);
    assert!(s.find_by_id(&ev(3, "s").id).unwrap().is_none());
    assert!(s.verify().unwrap().is_intact());
}

#[test]
fn equal_recorded_at_is_allowed() {
    let l = ledger();
    let mut s = Store::open(&l.path).unwrap();
    let mut a = ev(1, "s");
    let mut b = ev(2, "s");
    a.recorded_at = ts(100);
    b.recorded_at = ts(100);
    append(&mut s, &[a]).unwrap();
    append(&mut s, &[b]).unwrap();
    assert!(s.verify().unwrap().is_intact());
}

#[test]
fn bulk_append_in_one_transaction() {
    // Correctness at volume (and a rough speed signal: see `bulk_speed`).
    let l = ledger();
    let n = 20_000;
    let s = filled(&l.path, n, &["a", "b", "c"]);
    assert_eq!(s.count().unwrap(), n);
    assert_eq!(s.stream_version("a").unwrap(), n.div_ceil(3));
    let v = s.verify().unwrap();
    assert!(v.is_intact());
    assert_eq!(v.events, n);
}

/// `cargo test -p shareledger-store --release -- --ignored --nocapture bulk_speed`
#[test]
#[ignore = "timing; run in release"]
fn bulk_speed() {
    let l = ledger();
    let n: u64 = 400_000;
    // Ids in random order, like UUIDv4s, so the id index sees scattered inserts.
    let events: Vec<_> = (1..=n)
        .map(|i| {
            let mut e = ev(i, if i % 2 == 0 { "a" } else { "b" });
            let (a, b) = (splitmix(i), splitmix(i ^ 0xdead_beef));
            e.id = format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                b >> 52,
                b & 0xffff_ffff_ffff
            );
            e
        })
        .collect();
    let mut s = Store::open(&l.path).unwrap();
    let t = std::time::Instant::now();
    append(&mut s, &events).unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{n} events in {secs:.2} s = {:.0} events/s",
        n as f64 / secs
    );
    let t = std::time::Instant::now();
    let v = s.verify().unwrap();
    println!(
        "verify: {:.0} events/s",
        n as f64 / t.elapsed().as_secs_f64()
    );
    assert!(v.is_intact());
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
