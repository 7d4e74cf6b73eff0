//! The SQLite backend passes the `EventStore` conformance suite.

use shareledger_store::conformance::{self, Harness};
use shareledger_store::Store;

struct Sqlite {
    dirs: Vec<tempfile::TempDir>,
}

impl Sqlite {
    fn raw(store: &Store) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(store.path()).unwrap();
        c.execute_batch(
            "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;",
        )
        .unwrap();
        c
    }
}

impl Harness for Sqlite {
    type Store = Store;
    fn fresh(&mut self) -> Store {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ledger.db")).unwrap();
        self.dirs.push(dir);
        store
    }
    fn change_row(&mut self, store: &Store, position: u64) {
        Self::raw(store)
            .execute(
                "UPDATE events SET actor = 'mallory' WHERE position = ?1",
                [position],
            )
            .unwrap();
    }
    fn delete_row(&mut self, store: &Store, position: u64) {
        Self::raw(store)
            .execute("DELETE FROM events WHERE position = ?1", [position])
            .unwrap();
    }
}

#[test]
fn sqlite_passes_the_conformance_suite() {
    conformance::run_all(&mut Sqlite { dirs: Vec::new() });
}
