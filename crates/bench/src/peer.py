"""The peer of `shareledger-bench commands`: the Python `eventsourcing`
library (9.5.6) on SQLite, doing what the timed shareledger command does,
as a whole process, on the same JSON-lines file.

    python peer.py append FILE DB           # every line an event of its issuer's aggregate
    python peer.py read DB                  # every aggregate back (replayed from its events)
    python peer.py get DB ISSUER            # one aggregate back
    python peer.py record DB ISSUER N       # one aggregate back, one event more, saved

Aggregates are issuers (the `issuer` field; `$market` for events without
one), each line one event with the line's fields as its body, appended in
the file's order (interleaved as the file is) and saved every SAVE_EVERY
lines in one transaction (`Application.save` of every changed aggregate).
No rule is checked: this is the cost of an event-sourcing library's
append and replay, not of a share register. Prints one JSON line.
"""

import json
import os
import sqlite3
import sys
import time
import uuid

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

SAVE_EVERY = 100_000
NAMESPACE = uuid.UUID("6f1d9d3e-7f1e-4b8e-9a55-7e3c2b1d0a11")


class Issuer(Aggregate):
    def __init__(self, issuer: str):
        self.issuer = issuer
        self.events = 0
        self.last = None

    @staticmethod
    def create_id(issuer: str) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, issuer)

    @event("Recorded")
    def record(self, body: dict) -> None:
        self.events += 1
        self.last = body.get("type")


def app(db: str) -> Application:
    return Application(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": db}
    )


def append(path: str, db: str) -> int:
    a = app(db)
    issuers: dict = {}
    dirty: dict = {}
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            body = json.loads(line)
            key = body.get("issuer") or "$market"
            agg = issuers.get(key)
            if agg is None:
                agg = Issuer(issuer=key)
                issuers[key] = agg
            agg.record(body)
            dirty[key] = agg
            n += 1
            if n % SAVE_EVERY == 0:
                a.save(*dirty.values())
                dirty.clear()
    if dirty:
        a.save(*dirty.values())
    return n


def read(db: str) -> int:
    a = app(db)
    n = 0
    con = sqlite3.connect(db)
    ids = [
        uuid.UUID(str(r[0]))
        for r in con.execute("SELECT DISTINCT originator_id FROM stored_events")
    ]
    con.close()
    for i in ids:
        n += a.repository.get(i).events
    return n


def get(db: str, issuer: str) -> int:
    a = app(db)
    return a.repository.get(Issuer.create_id(issuer)).events


def record(db: str, issuer: str, shares: int) -> int:
    a = app(db)
    agg = a.repository.get(Issuer.create_id(issuer))
    agg.record({"type": "shares_repurchased", "issuer": issuer, "shares": shares})
    a.save(agg)
    return 1


def main() -> None:
    started = time.monotonic()
    cmd = sys.argv[1]
    if cmd == "append":
        n = append(sys.argv[2], sys.argv[3])
    elif cmd == "read":
        n = read(sys.argv[2])
    elif cmd == "get":
        n = get(sys.argv[2], sys.argv[3])
    elif cmd == "record":
        n = record(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps({"events": n, "seconds": time.monotonic() - started}))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
