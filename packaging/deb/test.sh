#!/usr/bin/env bash
# The Debian package installs and runs on this machine: build it, dpkg -i,
# then `shareledger demo` prints both returns and `shareledger serve` answers
# its API. Run as root (CI is). Leaves the package installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
bash packaging/deb/build.sh
deb=$(ls -t "$target"/debian/shareledger_*.deb | head -1)
dpkg -i "$deb"
test -x /usr/bin/shareledger
test -f /usr/share/man/man1/shareledger.1.gz
test -f /lib/systemd/system/shareledger.service || test -f /usr/lib/systemd/system/shareledger.service
dir=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
(cd "$dir" && /usr/bin/shareledger demo > "$dir/demo.txt")
grep -q "NEXT DAY DISCLOSURE RETURN\|Next Day Disclosure Return" "$dir/demo.txt"
/usr/bin/shareledger --db "$dir/ledger.db" import examples/ainnovation-2022.jsonl 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/shareledger --db "$dir/ledger.db" serve --listen "127.0.0.1:$port" 2>"$dir/serve.log" &
pid=$!
for _ in $(seq 1 50); do
  if python3 - "$port" <<'PY' 2>/dev/null
import json, sys, urllib.request
port = sys.argv[1]
issuers = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/issuers", timeout=5))
assert issuers[0]["issuer"] == "02121", issuers
page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
assert "Qingdao AInnovation" in page
PY
  then
    echo "debian package: installed $deb; demo and serve answer"
    exit 0
  fi
  sleep 0.2
done
echo "serve did not answer:"; cat "$dir/serve.log"; exit 1
