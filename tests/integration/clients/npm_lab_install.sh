#!/usr/bin/env bash
# Installs one npm lab, a directory holding package.json and its pinned
# package-lock.json, into <cache>/<lab name> with `npm ci`, once: it does
# nothing when the pinned files are unchanged since the last install, and
# concurrent callers wait for one another.
#   npm_lab_install.sh <lab directory> <cache directory>
set -euo pipefail
source_dir="$(cd "$1" && pwd)"
target="$2/$(basename "$source_dir")"
mkdir -p "$target"
exec 9>"$target/install.lock"
flock 9

stamp=$(cat "$source_dir/package.json" "$source_dir/package-lock.json" "$0" | sha256sum | cut -d' ' -f1)
if [ -f "$target/stamp" ] && [ "$(cat "$target/stamp")" = "$stamp" ]; then
  exit 0
fi
rm -rf "$target/stamp" "$target/node_modules"
cp "$source_dir/package.json" "$source_dir/package-lock.json" "$target/"
cd "$target"

# @confluentinc/kafka-javascript: its prebuilt binary is a GitHub download,
# out of reach here, so node-pre-gyp builds the addon and the librdkafka inside
# the package. CKJS_LINKING=dynamic links that librdkafka against Debian's
# zlib, zstd, lz4 and OpenSSL (the default static build downloads their
# sources and fails); node-gyp takes Node's headers from the nodejs package
# rather than downloading them. No JOBS: node-gyp's parallel make races the
# librdkafka configure step.
export CKJS_LINKING=dynamic
if [ -f /usr/include/node/node.h ]; then
  export npm_config_nodedir=/usr
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$stamp" >stamp
