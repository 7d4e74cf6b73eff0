//! Figures for docs/performance.md on the throwaway cluster (ignored by
//! default; run in release, with a durable server):
//!
//! ```sh
//! SHARELEDGER_PG_TEST_FSYNC=1 cargo test --release -p shareledger-store \
//!     --test pg_bench -- --ignored --nocapture --test-threads=1
//! ```
//!
//! Bulk import in batches of 1,000; single appends (one event per
//! transaction) with 1, 4 and 16 concurrent writers, p50/p99 latency and
//! throughput; a full chain verification; a copy back to SQLite.

mod pg;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static CLOCK: AtomicU64 = AtomicU64::new(0);

use shareledger_store::conformance::ev;
use shareledger_store::{copy_log, EventStore, EventTx, NewEvent, PgStore, Store};

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn bench_bulk_import_verify_copy() {
    let Some((_url, mut s)) = pg::fresh() else {
        return;
    };
    let n = 100_000u64;
    let events: Vec<NewEvent> = (1..=n)
        .map(|i| {
            let mut e = ev(i, ["02121", "00700", "00005", "09988"][(i % 4) as usize]);
            e.recorded_at = format!(
                "2024-01-{:02}T{:02}:{:02}:{:02}.000000Z",
                1 + i / 86_400,
                (i / 3600) % 24,
                (i / 60) % 60,
                i % 60
            );
            e
        })
        .collect();
    let t0 = Instant::now();
    for b in events.chunks(1000) {
        s.write(|tx| tx.append(&[], b)).unwrap();
    }
    let import = t0.elapsed();
    let t0 = Instant::now();
    let v = s.verify().unwrap();
    let verify = t0.elapsed();
    assert!(v.is_intact() && v.events == n);
    for page in [100usize, 10_000] {
        s.set_read_page_size(page);
        let t0 = Instant::now();
        assert!(s.verify().unwrap().is_intact());
        println!(
            "| ↳ verify with pages of {page} rows | {:.0} events/s |",
            n as f64 / t0.elapsed().as_secs_f64()
        );
    }
    s.set_read_page_size(shareledger_store::DEFAULT_PAGE_SIZE);
    let dir = tempfile::tempdir().unwrap();
    let mut back = Store::open(&dir.path().join("l.db")).unwrap();
    let t0 = Instant::now();
    copy_log(&s, &mut back).unwrap();
    let copy = t0.elapsed();
    println!(
        "| bulk import, batches of 1,000 | {n} events in {:.2} s: {:.0} events/s |",
        import.as_secs_f64(),
        n as f64 / import.as_secs_f64()
    );
    println!(
        "| verify the chain | {n} events in {:.2} s: {:.0} events/s |",
        verify.as_secs_f64(),
        n as f64 / verify.as_secs_f64()
    );
    println!(
        "| copy PostgreSQL → SQLite (verified both) | {:.2} s |",
        copy.as_secs_f64()
    );
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn bench_single_appends() {
    for writers in [1u64, 4, 16] {
        let Some((url, s)) = pg::fresh() else {
            return;
        };
        drop(s);
        let per = 2000 / writers;
        CLOCK.store(0, Ordering::SeqCst);
        let t0 = Instant::now();
        let hs: Vec<_> = (0..writers)
            .map(|w| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut s = PgStore::open_existing(&url).unwrap();
                    let stream = format!("issuer-{w}");
                    let mut lat = Vec::new();
                    for i in 0..per {
                        let t = Instant::now();
                        s.write(|tx| {
                            // "Now", taken under the head lock: in commit order.
                            let p = CLOCK.fetch_add(1, Ordering::SeqCst) + 1;
                            let mut e = ev(w * 1_000_000 + i, &stream);
                            e.recorded_at = format!(
                                "2024-01-01T{:02}:{:02}:{:02}.{:06}Z",
                                (p / 3_600_000_000) % 24,
                                (p / 60_000_000) % 60,
                                (p / 1_000_000) % 60,
                                p % 1_000_000
                            );
                            tx.append(&[], &[e])
                        })
                        .unwrap();
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut lat: Vec<Duration> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        let wall = t0.elapsed();
        lat.sort();
        println!(
            "| single appends, {writers} writer(s) | p50 {:.2} ms, p99 {:.2} ms, {:.0} appends/s |",
            pct(&lat, 0.5).as_secs_f64() * 1e3,
            pct(&lat, 0.99).as_secs_f64() * 1e3,
            lat.len() as f64 / wall.as_secs_f64()
        );
        let s = PgStore::open_existing(&url).unwrap();
        assert!(s.verify().unwrap().is_intact());
    }
}
