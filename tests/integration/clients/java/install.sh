#!/usr/bin/env bash
# Builds the Java lab into <cache>/java once: Kafka's tools and clients at the
# versions pinned in pom.xml, from Maven Central into <cache>/m2, the driver
# compiled, and each class path written to <cache>/java/classpath-<v>.txt.
# Does nothing when the pinned files are unchanged since the last build;
# concurrent callers wait for one another.
#   install.sh <cache directory>
set -euo pipefail
source_dir="$(cd "$(dirname "$0")" && pwd)"
cache="$(mkdir -p "$1" && cd "$1" && pwd)"
target="$cache/java"
mkdir -p "$target"
exec 9>"$target/install.lock"
flock 9

stamp=$(cd "$source_dir" && find pom.xml install.sh src -type f -print0 | sort -z |
  xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ -f "$target/stamp" ] && [ "$(cat "$target/stamp")" = "$stamp" ]; then
  exit 0
fi
rm -f "$target/stamp"

mvn=(mvn -B -q -Dstyle.color=never -f "$source_dir/pom.xml" -Dmaven.repo.local="$cache/m2"
  -Dlab.build.dir="$target/build")
"${mvn[@]}" compile dependency:build-classpath -Dmdep.outputFile="$target/classpath-4.txt"
"${mvn[@]}" -P clients-3.9 dependency:build-classpath \
  -Dmdep.outputFile="$target/classpath-3.9.txt"
"${mvn[@]}" -P '!tools-4,server-4' dependency:build-classpath \
  -Dmdep.outputFile="$target/classpath-server.txt"
"${mvn[@]}" -P '!tools-4,mirror' dependency:build-classpath \
  -Dmdep.outputFile="$target/classpath-mirror.txt"
"${mvn[@]}" -P '!tools-4,connect' dependency:build-classpath \
  -Dmdep.outputFile="$target/classpath-connect.txt"
echo "$stamp" >"$target/stamp"
