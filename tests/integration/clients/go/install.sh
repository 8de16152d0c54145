#!/usr/bin/env bash
# Builds the Go lab into <cache>/go once: franz-go and Sarama at the versions
# pinned in go.mod/go.sum, from the Go module proxy into <cache>/go/mod, and
# the driver built as <cache>/go/kblab. Never upgrades a module
# (-mod=readonly) nor downloads a Go toolchain (GOTOOLCHAIN=local).
# Does nothing when the pinned files are unchanged since the last build;
# concurrent callers wait for one another.
#   install.sh <cache directory>
set -euo pipefail
source_dir="$(cd "$(dirname "$0")" && pwd)"
cache="$1"
target="$cache/go"
mkdir -p "$target"
exec 9>"$target/install.lock"
flock 9

stamp=$( (cd "$source_dir" && find . -maxdepth 1 -type f \( -name '*.go' -o -name go.mod -o \
  -name go.sum -o -name install.sh \) -print0 | sort -z | xargs -0 sha256sum
  go version) | sha256sum | cut -d' ' -f1)
if [ -f "$target/stamp" ] && [ "$(cat "$target/stamp")" = "$stamp" ] && [ -x "$target/kblab" ]; then
  exit 0
fi
rm -f "$target/stamp"

export GOMODCACHE="$target/mod" GOCACHE="$target/build-cache" GOFLAGS="-mod=readonly -buildvcs=false" \
  GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0
cd "$source_dir"
go build -trimpath -o "$target/kblab.new" .
mv "$target/kblab.new" "$target/kblab"
echo "$stamp" >"$target/stamp"
