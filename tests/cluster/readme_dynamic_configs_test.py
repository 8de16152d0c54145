#!/usr/bin/env python3
"""The README's table of dynamic broker configs against the code, both ways.

Every config the broker accepts in a cluster-wide change (the generated table
src/cluster/kafka_broker_configs.cpp marks it ClusterWide: Kafka's dynamic
configs, which alter_broker_configs accepts) has a row saying how it takes
effect here, and the table names nothing else. A per-broker config (refused
here) listed in the table fails too.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def code_modes():
    """Kafka's broker configs by name: their mode (ClusterWide, PerBroker, ReadOnly)."""
    text = (ROOT / "src/cluster/kafka_broker_configs.cpp").read_text()
    return dict(re.findall(r'\{"([a-z0-9._-]+)", M::k(\w+),', text))


def readme_dynamic_names():
    """The config names in the first column of the README's table."""
    text = (ROOT / "README.md").read_text()
    head = "| dynamic broker config | takes effect |"
    at = text.find(head)
    if at < 0:
        sys.exit("README.md: no table headed " + head)
    names = []
    for line in text[at:].splitlines()[2:]:
        if not line.startswith("| "):
            break
        first = line.split(" | ")[0]
        names += re.findall(r"`([^`]+)`", first)
    return names


def main():
    modes = code_modes()
    if len(modes) < 300:
        sys.exit(f"only {len(modes)} configs read from kafka_broker_configs.cpp")
    accepted = {name for name, mode in modes.items() if mode == "ClusterWide"}
    listed = readme_dynamic_names()
    problems = []
    seen = set()
    for name in listed:
        if name in seen:
            problems.append(f"{name} is listed twice")
        seen.add(name)
        if name not in modes:
            problems.append(f"{name} is listed but is not a Kafka broker config")
        elif name not in accepted:
            problems.append(f"{name} is listed but is not dynamic cluster-wide ({modes[name]})")
    for name in sorted(accepted - seen):
        problems.append(f"{name} is accepted as a dynamic config but not listed in the README")
    for p in problems:
        print(p)
    print(f"{len(accepted)} dynamic configs in the code, {len(seen)} in the README")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
