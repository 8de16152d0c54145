#!/usr/bin/env bash
# Makes the Python lab's virtual environment, <cache>/python/venv, once: Python
# 3.11's venv with the packages pinned (with their hashes) in requirements.txt,
# from PyPI. Does nothing when requirements.txt and this script are unchanged
# since the last install; concurrent callers wait for one another.
#   install.sh <cache directory>
set -euo pipefail
source_dir="$(cd "$(dirname "$0")" && pwd)"
cache="$1"
target="$cache/python"
mkdir -p "$target"
exec 9>"$target/install.lock"
flock 9

stamp=$(cd "$source_dir" && cat requirements.txt install.sh | sha256sum | cut -d' ' -f1)
if [ -f "$target/stamp" ] && [ "$(cat "$target/stamp")" = "$stamp" ]; then
  exit 0
fi
rm -f "$target/stamp"
rm -rf "$target/venv"
python3.11 -m venv "$target/venv"
"$target/venv/bin/python" -m pip install -q --disable-pip-version-check --no-input \
  --require-hashes -r "$source_dir/requirements.txt"
echo "$stamp" >"$target/stamp"
