#!/usr/bin/env python3
"""Writes include/protocol/kb/protocol/messages/*.hpp from Kafka's message schemas.

The schemas are the JSON files Apache Kafka generates its own message classes
from; they ship inside the kafka-clients jar under common/message/. The Kafka
version is the one the Java lab pins (<kafka.version> in
tests/integration/clients/java/pom.xml): that one string decides the schemas.

  scripts/gen_messages.py                   # regenerate the committed headers
  scripts/gen_messages.py --check           # exit 1 if a committed header differs
  scripts/gen_messages.py --check --install # the same, installing the Java lab first
  scripts/gen_messages.py --out DIR         # write into DIR instead
  scripts/gen_messages.py --schemas DIR --apis FILE --out DIR   # the generator's tests

The jar is looked for in the Maven cache of the client labs
(<cache>/m2/org/apache/kafka/kafka-clients/<v>/), <cache> being $KB_CLIENT_CACHE_DIR
or build/client-cache; --jar names it directly. With --install, a missing jar
is fetched by installing the Java lab (tests/integration/clients/java/install.sh)
when Maven is there. Exit status 77 (ctest's "skipped"): no jar to read.

Each message becomes a `<Name>Schema` (api key, the versions this broker serves,
first flexible version) and `<Name>Request`/`<Name>Response` structs whose
`fields()` / `tagged_fields()` list the fields in wire order with their
versions, as kb/wire/serde.hpp expects. Python 3.11, standard library only.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field as dc_field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MESSAGES_DIR = REPO / "include/protocol/kb/protocol/messages"
POM = REPO / "tests/integration/clients/java/pom.xml"
JAVA_LAB_INSTALL = REPO / "tests/integration/clients/java/install.sh"
EXIT_NO_SCHEMAS = 77
# Written next to the messages' directory (kb/protocol/api_key.hpp).
API_KEY_HEADER = "../api_key.hpp"

# The APIs this broker serves: Kafka's message name, the header it goes into
# (several related APIs may share one), and the versions served. The served
# range is this broker's, not Kafka's: it may start below the pinned Kafka's
# oldest version (clients of older Kafkas) and end below its newest (versions
# not served yet).
APIS: list[tuple[str, str, tuple[int, int]]] = [
    ("Produce", "produce", (0, 13)),
    ("Fetch", "fetch", (0, 18)),
    ("ListOffsets", "list_offsets", (0, 11)),
    ("Metadata", "metadata", (0, 13)),
    ("OffsetCommit", "offset_commit", (0, 10)),
    ("OffsetFetch", "offset_fetch", (0, 10)),
    ("FindCoordinator", "find_coordinator", (0, 6)),
    ("JoinGroup", "join_group", (0, 9)),
    ("Heartbeat", "heartbeat", (0, 4)),
    ("LeaveGroup", "leave_group", (0, 5)),
    ("SyncGroup", "sync_group", (0, 5)),
    ("DescribeGroups", "describe_groups", (0, 6)),
    ("ListGroups", "list_groups", (0, 5)),
    ("ApiVersions", "api_versions", (0, 5)),
    ("CreateTopics", "create_topics", (0, 7)),
    ("DeleteTopics", "delete_topics", (0, 6)),
    ("DeleteRecords", "delete_records", (0, 2)),
    ("InitProducerId", "init_producer_id", (0, 5)),
    ("OffsetForLeaderEpoch", "offset_for_leader_epoch", (0, 4)),
    ("AddPartitionsToTxn", "transactions", (0, 5)),
    ("AddOffsetsToTxn", "transactions", (0, 4)),
    ("EndTxn", "transactions", (0, 5)),
    ("WriteTxnMarkers", "write_txn_markers", (0, 2)),
    ("TxnOffsetCommit", "transactions", (0, 6)),
    ("DescribeAcls", "acls", (0, 3)),
    ("CreateAcls", "acls", (0, 3)),
    ("DeleteAcls", "acls", (0, 3)),
    ("DescribeConfigs", "describe_configs", (0, 4)),
    ("AlterConfigs", "alter_configs", (0, 2)),
    ("DescribeLogDirs", "describe_log_dirs", (0, 5)),
    ("CreatePartitions", "create_partitions", (0, 3)),
    ("DeleteGroups", "delete_groups", (0, 3)),
    ("ElectLeaders", "elect_leaders", (0, 2)),
    ("IncrementalAlterConfigs", "incremental_alter_configs", (0, 1)),
    ("AlterPartitionReassignments", "partition_reassignments", (0, 1)),
    ("ListPartitionReassignments", "partition_reassignments", (0, 0)),
    ("OffsetDelete", "offset_delete", (0, 0)),
    ("DescribeCluster", "describe_cluster", (0, 2)),
    ("DescribeProducers", "describe_producers", (0, 0)),
    ("DescribeTransactions", "transactions", (0, 0)),
    ("ListTransactions", "transactions", (0, 2)),
    ("ConsumerGroupHeartbeat", "consumer_group_heartbeat", (0, 1)),
    ("ConsumerGroupDescribe", "consumer_group_describe", (0, 1)),
    ("ShareGroupHeartbeat", "share_group_heartbeat", (1, 1)),
    ("ShareGroupDescribe", "share_group_describe", (1, 1)),
    ("DescribeTopicPartitions", "describe_topic_partitions", (0, 0)),
    ("SaslHandshake", "sasl", (0, 1)),
    ("SaslAuthenticate", "sasl", (0, 2)),
    ("DescribeUserScramCredentials", "user_scram_credentials", (0, 0)),
    ("AlterUserScramCredentials", "user_scram_credentials", (0, 0)),
    ("DescribeClientQuotas", "client_quotas", (0, 1)),
    ("AlterClientQuotas", "client_quotas", (0, 1)),
    ("ShareFetch", "share_fetch", (1, 2)),
    ("ShareAcknowledge", "share_acknowledge", (1, 2)),
    ("DescribeShareGroupOffsets", "share_group_offsets", (0, 1)),
    ("AlterShareGroupOffsets", "share_group_offsets", (0, 0)),
    ("DeleteShareGroupOffsets", "share_group_offsets", (0, 0)),
]

# Fields of versions Kafka 4 no longer serves (KIP-896) and so dropped from its
# schemas, while this broker still serves those versions to old clients. Each
# is added back where Kafka 3.9 had it: (message, path of the enclosing struct,
# the field it follows, the field as Kafka 3.9's schema had it).
LEGACY_FIELDS: list[tuple[str, str, str, dict]] = [
    ("ListOffsetsRequest", "Topics.Partitions", "Timestamp",
     {"name": "MaxNumOffsets", "type": "int32", "versions": "0", "default": "1"}),
    ("ListOffsetsResponse", "Topics.Partitions", "ErrorCode",
     {"name": "OldStyleOffsets", "type": "[]int64", "versions": "0"}),
    ("OffsetCommitRequest", "Topics.Partitions", "CommittedLeaderEpoch",
     {"name": "CommitTimestamp", "type": "int64", "versions": "1", "default": "-1"}),
    ("DescribeConfigsResponse", "Results.Configs", "ReadOnly",
     {"name": "IsDefault", "type": "bool", "versions": "0"}),
]

# C++ names that differ from the snake_case of the schema's name:
# (message, schema path of the field) -> name.
RENAMES: dict[tuple[str, str], str] = {
    ("RequestHeader", "RequestApiKey"): "api_key",
    ("RequestHeader", "RequestApiVersion"): "api_version",
    # Kafka 4 renamed it when KIP-848 members began to send their epoch there.
    ("TxnOffsetCommitRequest", "GenerationIdOrMemberEpoch"): "generation_id",
}

# Nested struct names that differ from the schema's: (message, type) -> name.
STRUCT_RENAMES: dict[tuple[str, str], str] = {
    ("ApiVersionsResponse", "SupportedFeatureKey"): "SupportedFeature",
    ("ApiVersionsResponse", "FinalizedFeatureKey"): "FinalizedFeature",
    ("DescribeAclsResponse", "DescribeAclsResource"): "Resource",
    ("CreateAclsRequest", "AclCreation"): "Creation",
    ("CreateAclsResponse", "AclCreationResult"): "Result",
    ("DeleteAclsRequest", "DeleteAclsFilter"): "Filter",
    ("DeleteAclsResponse", "DeleteAclsFilterResult"): "FilterResult",
    ("DeleteAclsResponse", "DeleteAclsMatchingAcl"): "MatchingAcl",
}

# Hand-written headers a generated one includes: named values of its fields.
EXTRA_INCLUDES: dict[str, list[str]] = {
    "acls": ["kb/protocol/field_values.hpp"],
    "describe_cluster": ["kb/protocol/field_values.hpp"],
}

INT_TYPES = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
             "uint16": "uint16_t", "uint32": "uint32_t", "float64": "double"}
NO_VERSION = 32767


class SchemaError(Exception):
    pass


# ---------------------------------------------------------------- versions

@dataclass(frozen=True)
class Versions:
    lo: int
    hi: int  # inclusive; NO_VERSION for "N+"

    @staticmethod
    def parse(text: str | None) -> "Versions | None":
        if text is None or text == "none" or text == "":
            return None
        if text.endswith("+"):
            return Versions(int(text[:-1]), NO_VERSION)
        if "-" in text:
            lo, hi = text.split("-")
            return Versions(int(lo), int(hi))
        return Versions(int(text), int(text))

    def intersect(self, other: "Versions | None") -> "Versions | None":
        if other is None:
            return None
        lo, hi = max(self.lo, other.lo), min(self.hi, other.hi)
        return Versions(lo, hi) if lo <= hi else None

    def covers(self, other: "Versions") -> bool:
        return self.lo <= other.lo and self.hi >= other.hi

    def text(self) -> str:
        if self.hi == NO_VERSION:
            return f"v{self.lo}+"
        if self.lo == self.hi:
            return f"v{self.lo} only"
        return f"v{self.lo}-{self.hi}"


def condition(var: str, field_v: Versions, context: Versions) -> str:
    """The C++ test that `var` is in field_v, given it is always in context."""
    parts = []
    if field_v.lo == field_v.hi and context.lo < field_v.lo and context.hi > field_v.hi:
        return f"{var} == {field_v.lo}"
    if field_v.lo > context.lo:
        parts.append(f"{var} >= {field_v.lo}")
    if field_v.hi < context.hi:
        parts.append(f"{var} <= {field_v.hi}")
    return " && ".join(parts)


# ---------------------------------------------------------------- names

def snake(name: str) -> str:
    name = name.replace("KRaft", "Kraft")  # one word: kraft_version, not k_raft_version
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def cxx_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- model

@dataclass
class Field:
    name: str  # the schema's
    cxx_name: str
    kind: str  # the schema's type, e.g. "int32", "[]Foo", "Foo"
    versions: Versions  # where the enclosing struct has it
    spec_versions: Versions  # as the schema gives them
    nullable: Versions | None
    tagged: Versions | None
    tag: int | None
    default: str | None
    struct: "Struct | None" = None  # for struct and struct-array fields
    classic: bool = False  # "flexibleVersions": "none": classic form in flexible versions


@dataclass
class Struct:
    name: str
    versions: Versions
    fields: list[Field] = dc_field(default_factory=list)
    needs_equality: bool = False
    # Tags of fields the schema has in versions this struct is not generated
    # for: Kafka's readers refuse them, so ours do too.
    invalid_tags: list[int] = dc_field(default_factory=list)


def strip_comments(text: str) -> str:
    # Kafka's schema files are JSON with whole-line // comments.
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def load_schema(text: str) -> dict:
    return json.loads(strip_comments(text))


def element_type(kind: str) -> str:
    return kind[2:] if kind.startswith("[]") else kind


def is_struct_type(kind: str) -> bool:
    base = element_type(kind)
    return base not in INT_TYPES and base not in ("bool", "uuid", "string", "bytes", "records")


class MessageModel:
    """One request or response: its top-level struct and its nested structs."""

    def __init__(self, schema: dict, served: Versions, side: str | None = None,
                 equality: bool = False):
        self.name = schema["name"]
        # request: strings and bytes are views into the frame; otherwise owned.
        self.side = side or schema["type"]
        self.equality = equality  # operator== on every struct (records)
        # The structs describe the served versions only: a field of versions
        # not served yet is not there (a handler would have to fill it in).
        self.range = served
        self.flexible = Versions.parse(schema.get("flexibleVersions"))
        self.common = {c["name"]: c for c in schema.get("commonStructs", [])}
        self.structs: list[Struct] = []  # nested, in declaration order
        self.common_done: dict[str, Struct] = {}
        self.top = Struct(self.name, self.range)
        self.top.fields = self.build_fields(schema.get("fields", []), self.range, "")
        self.top.invalid_tags = self.pending_invalid_tags

    def build_fields(self, specs: list[dict], context: Versions, path: str) -> list[Field]:
        specs = list(specs)
        for message, at, after, legacy in LEGACY_FIELDS:
            if message == self.name and at == path.rstrip("."):
                index = next(i for i, s in enumerate(specs) if s["name"] == after)
                specs.insert(index + 1, legacy)
        out = []
        invalid_tags: list[int] = []
        for spec in specs:
            tagged = Versions.parse(spec.get("taggedVersions"))
            # As Kafka's generator: a field without versions has its tagged ones.
            spec_versions = Versions.parse(spec.get("versions")) or tagged
            if spec_versions is None:
                raise SchemaError(f"{self.name}: field {spec['name']} has no versions")
            versions = spec_versions.intersect(context)
            if versions is None:
                # Never present where this struct is generated; a tag of it is
                # one Kafka's reader knows and refuses at these versions.
                if spec.get("tag") is not None and tagged is not None:
                    invalid_tags.append(spec["tag"])
                continue
            fpath = path + spec["name"]
            if tagged is not None and tagged != spec_versions:
                raise SchemaError(f"{self.name}.{fpath}: tagged in only some versions")
            field_flexible = spec.get("flexibleVersions")
            if field_flexible not in (None, "", "none"):
                raise SchemaError(f"{self.name}.{fpath}: flexibleVersions {field_flexible}")
            f = Field(
                name=spec["name"],
                cxx_name=RENAMES.get((self.name, fpath), snake(spec["name"])),
                kind=spec["type"],
                versions=versions,
                spec_versions=spec_versions,
                nullable=Versions.parse(spec.get("nullableVersions")),
                tagged=tagged.intersect(context) if tagged else None,
                tag=spec.get("tag"),
                default=spec.get("default"),
                classic=field_flexible == "none",
            )
            if f.classic and element_type(f.kind) not in ("string", "bytes"):
                raise SchemaError(f"{self.name}.{fpath}: flexibleVersions on a {f.kind}")
            if is_struct_type(f.kind):
                f.struct = self.build_struct(spec, element_type(f.kind), versions, fpath)
            out.append(f)
        self.pending_invalid_tags = invalid_tags
        return out

    def build_struct(self, spec: dict, type_name: str, versions: Versions, path: str) -> Struct:
        if "fields" in spec:
            s = Struct(STRUCT_RENAMES.get((self.name, type_name), type_name), versions)
            s.fields = self.build_fields(spec["fields"], versions, path + ".")
            s.invalid_tags = self.pending_invalid_tags
            self.structs.append(s)
            return s
        if type_name in self.common_done:
            return self.common_done[type_name]
        common = self.common.get(type_name)
        if common is None:
            raise SchemaError(f"{self.name}.{path}: unknown type {type_name}")
        cv = Versions.parse(common.get("versions", "0+"))
        s = Struct(STRUCT_RENAMES.get((self.name, type_name), type_name),
                   cv.intersect(self.range) or self.range)
        self.common_done[type_name] = s
        s.fields = self.build_fields(common["fields"], s.versions, type_name + ".")
        s.invalid_tags = self.pending_invalid_tags
        self.structs.append(s)
        return s

    def mark_equality(self, s: Struct) -> None:
        s.needs_equality = True
        for f in s.fields:
            if f.struct is not None and not f.struct.needs_equality:
                self.mark_equality(f.struct)

    # --- C++ types

    def string_type(self) -> str:
        return "std::string_view" if self.side == "request" else "std::string"

    def is_nullable(self, f: Field) -> bool:
        # Optional in C++ when null may appear in any version this struct has.
        return f.nullable is not None and f.nullable.intersect(f.versions) is not None

    def cxx_type(self, f: Field, path: str) -> str:
        nullable = self.is_nullable(f)
        kind = f.kind
        if kind.startswith("[]"):
            elem = kind[2:]
            if f.struct is not None:
                inner = f.struct.name
            elif elem == "string":
                inner = self.string_type()
            elif elem in INT_TYPES:
                inner = INT_TYPES[elem]
            elif elem == "uuid":
                inner = "wire::Uuid"
            else:
                raise SchemaError(f"{self.name}.{path}: array of {elem}")
            t = f"std::vector<{inner}>"
        elif f.struct is not None:
            t = f.struct.name
        elif kind in INT_TYPES:
            t = INT_TYPES[kind]
        elif kind == "bool":
            t = "bool"
        elif kind == "uuid":
            t = "wire::Uuid"
        elif kind == "string":
            t = self.string_type()
        elif kind == "bytes":
            if self.side == "request":
                return "std::optional<wire::Bytes>" if nullable else "wire::Bytes"
            t = "std::vector<uint8_t>"
        elif kind == "records":
            return "std::optional<wire::Bytes>" if self.side == "request" else "wire::Records"
        else:
            raise SchemaError(f"{self.name}.{path}: type {kind}")
        return f"std::optional<{t}>" if nullable else t

    def default_value(self, f: Field, cxx_type: str) -> str | None:
        """The member initializer (None: the type's own default)."""
        d = None if f.default is None else str(f.default)
        if (f.struct is not None and not f.kind.startswith("[]") and self.is_nullable(f)
                and d != "null"):
            # As in Kafka: a nullable struct is null by default only when its
            # schema says "null"; otherwise it starts as an empty struct (a
            # tagged one is then left out when empty and written when null).
            return f"{f.struct.name}{{}}"
        if cxx_type.startswith("std::optional") or cxx_type.startswith("std::vector"):
            return None
        if f.kind in INT_TYPES:
            if d is None or d == "":
                return "0"
            value = int(d, 0)
            if f.kind == "int32" and value == -(2**31):
                return "INT32_MIN"
            if f.kind == "int32" and value == 2**31 - 1:
                return "INT32_MAX"
            if f.kind == "int64" and value == 2**63 - 1:
                return "INT64_MAX"
            if f.kind == "int64" and value == -(2**63):
                return "INT64_MIN"
            if d.lower().startswith("0x"):
                return d
            return str(value)
        if f.kind == "bool":
            return "true" if (d or "false").lower() == "true" else "false"
        if f.kind == "string" and d not in (None, "", "null"):
            return cxx_string(d)
        return None

    def tag_default(self, f: Field, cxx_type: str) -> str | None:
        """The third argument of a tagged field (None: its type's T{})."""
        init = self.default_value(f, cxx_type)
        if init is None or init in ("0", "false"):
            return None
        return f"{cxx_type}{{{init}}}"

    # --- equality for tagged structs

    def require_equality(self) -> None:
        if self.equality:
            for s in [self.top] + self.structs:
                s.needs_equality = True
        for s in [self.top] + self.structs:
            for f in s.fields:
                if f.tag is not None and f.struct is not None:
                    self.mark_equality(f.struct)


# ---------------------------------------------------------------- emitting

class Emitter:
    def __init__(self):
        self.includes: set[str] = set()
        self.local_includes: set[str] = set()

    def note_type(self, t: str) -> None:
        if "std::optional" in t:
            self.includes.add("<optional>")
        if "std::vector" in t:
            self.includes.add("<vector>")
        if "std::string_view" in t:
            self.includes.add("<string_view>")
        if re.search(r"std::string\b(?!_view)", t):
            self.includes.add("<string>")
        if re.search(r"INT(32|64)_M(IN|AX)", t):
            self.includes.add("<cstdint>")


def emit_struct(m: MessageModel, s: Struct, out: list[str], em: Emitter, path: str) -> None:
    flexible = m.flexible.intersect(s.versions) if m.flexible else None
    members, body, tags = [], [], []
    for f in s.fields:
        fpath = path + f.name
        t = m.cxx_type(f, fpath)
        em.note_type(t)
        init = m.default_value(f, t)
        em.note_type(init or "")
        notes = []
        if f.tag is not None:
            notes.append("tagged")
        if f.versions != s.versions:
            notes.append(f.spec_versions.text())
        if m.is_nullable(f) and f.nullable is not None and not f.nullable.covers(f.versions):
            notes.append(f"nullable {f.nullable.text()}")
        comment = f"  // {', '.join(notes)}" if notes else ""
        members.append(f"{t} {f.cxx_name}{' = ' + init if init else ''};{comment}")
        if f.tag is not None:
            if flexible is None or f.tagged is None:
                continue
            tagged = f.tagged.intersect(flexible)
            if tagged is None:
                tags.append((f.tag, f"wire::invalid_tag(t, {f.tag});"))
                continue
            cond = condition("t.version", tagged, flexible)
            d = m.tag_default(f, t)
            call = f"t({f.tag}, {f.cxx_name}{', ' + d if d else ''});"
            if cond:
                # Kafka's reader refuses the tag in the struct's other versions.
                call = f"if ({cond}) {{ {call} }} else {{ wire::invalid_tag(t, {f.tag}); }}"
            tags.append((f.tag, call))
        else:
            cond = condition("io.version", f.versions, s.versions)
            call = f"io({f.cxx_name});"
            if f.classic and flexible is not None:
                call = f"wire::classic(io, {f.cxx_name});"
            if m.is_nullable(f) and not f.nullable.covers(f.versions):
                if f.struct is not None and not f.kind.startswith("[]"):
                    raise SchemaError(f"{m.name}.{fpath}: a struct nullable in some versions")
                # Null is refused where the schema does not allow it.
                allowed = condition("io.version", f.nullable.intersect(f.versions), f.versions)
                call = f"maybe_null(io, {f.cxx_name}, {allowed});"
                em.local_includes.add("kb/protocol/nullable.hpp")
            body.append(f"if ({cond}) {call}" if cond else call)
    if flexible is not None:
        tags += [(tag, f"wire::invalid_tag(t, {tag});") for tag in s.invalid_tags]
    # The writer sends tags in ascending order, as Kafka's does.
    tags = [call for _, call in sorted(tags, key=lambda item: item[0])]
    out.extend(members)
    if members:
        out.append("")
    out.append("template <class Io>")
    if body:
        out.append("void fields(Io& io) {")
        out.extend(body)
        out.append("}")
    else:
        out.append("void fields(Io& /*io*/) {}")
    if tags:
        out.append("template <class Tags>")
        out.append("void tagged_fields(Tags& t) {")
        out.extend(tags)
        out.append("}")
    if s.needs_equality:
        out.append(f"bool operator==(const {s.name}&) const = default;")


def struct_paths(m: MessageModel) -> dict[int, str]:
    """Schema path prefix of each nested struct (for the override tables)."""
    paths: dict[int, str] = {}

    def walk(s: Struct, prefix: str) -> None:
        for f in s.fields:
            if f.struct is not None and id(f.struct) not in paths:
                paths[id(f.struct)] = prefix + f.name + "."
                walk(f.struct, prefix + f.name + ".")

    walk(m.top, "")
    return paths


def emit_message(m: MessageModel, api: str | None, em: Emitter,
                 constants: list[str] | None = None) -> list[str]:
    """One message: derived from its API's schema struct, or (api None) a
    standalone struct (headers, records) that carries `constants` itself."""
    m.require_equality()
    out = [f"struct {m.name} : {api}Schema {{" if api else f"struct {m.name} {{"]
    out += constants or []
    paths = struct_paths(m)
    for s in m.structs:
        out.append(f"struct {s.name} {{")
        emit_struct(m, s, out, em, paths.get(id(s), s.name + "."))
        out.append("};")
    if m.structs:
        out.append("")
    emit_struct(m, m.top, out, em, "")
    out.append("};")
    return out


def emit_schema(api: str, key: int, served: Versions, valid: Versions,
                flexible: Versions | None, em: Emitter) -> list[str]:
    out = [f"struct {api}Schema {{",
           f"static constexpr ApiKey kApiKey = ApiKey::k{api};  // {key}",
           f"static constexpr VersionRange kVersions{{{served.lo}, {served.hi}}};"
           f"  // Kafka: {valid.lo}-{valid.hi}"]
    if flexible is None:
        em.includes.add("<limits>")
        out.append("static constexpr int16_t kFirstFlexible = std::numeric_limits<int16_t>::max();")
    else:
        out.append(f"static constexpr int16_t kFirstFlexible = {flexible.lo};")
    out.append("};")
    return out


def generate_header(header: str, apis: list[tuple[str, tuple[int, int]]],
                    schemas: dict[str, dict], source: str, namespace: str) -> str:
    em = Emitter()
    body: list[str] = []
    for api, (lo, hi) in apis:
        served = Versions(lo, hi)
        request = schemas[api + "Request"]
        response = schemas[api + "Response"]
        valid = Versions.parse(request["validVersions"])
        flexible = Versions.parse(request.get("flexibleVersions"))
        if request["apiKey"] != response["apiKey"]:
            raise SchemaError(f"{api}: request and response api keys differ")
        body.append("")
        body += emit_schema(api, request["apiKey"], served, valid, flexible, em)
        for schema in (request, response):
            model = MessageModel(schema, served)
            body.append("")
            body += emit_message(model, api, em)
    std = sorted(em.includes | {"<cstdint>"})
    lines = [
        f"// Generated by scripts/gen_messages.py from {source}.",
        "// Do not edit: change the generator or its tables and run it again.",
        "#pragma once",
        "",
    ]
    lines += [f"#include {h}" for h in std]
    local = {"kb/protocol/api_key.hpp", "kb/wire/serde.hpp"} | em.local_includes
    local |= set(EXTRA_INCLUDES.get(header, []))
    lines += [""] + [f'#include "{h}"' for h in sorted(local)] + ["", f"namespace {namespace} {{"]
    lines += body
    lines += ["", f"}}  // namespace {namespace}", ""]
    return "\n".join(lines)


def clang_format(text: str) -> str:
    exe = shutil.which("clang-format")
    if exe is None:
        raise SchemaError("clang-format is not on PATH")
    # --assume-filename inside the repository picks up its .clang-format.
    return subprocess.run([exe, f"--assume-filename={MESSAGES_DIR / 'generated.hpp'}"],
                          input=text, capture_output=True, text=True, check=True).stdout


# ---------------------------------------------------------------- inputs

def pinned_kafka_version() -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if not match:
        raise SchemaError(f"no <kafka.version> in {POM}")
    return match.group(1).strip()


def client_cache() -> Path:
    return Path(os.environ.get("KB_CLIENT_CACHE_DIR", REPO / "build/client-cache"))


def default_jar(version: str) -> Path:
    return client_cache() / f"m2/org/apache/kafka/kafka-clients/{version}/kafka-clients-{version}.jar"


def install_java_lab() -> None:
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            print(f"gen_messages: no {tool} to install the Java lab with", file=sys.stderr)
            return
    subprocess.run([str(JAVA_LAB_INSTALL), str(client_cache())], check=False)


def schemas_from_jar(jar: Path) -> dict[str, dict]:
    out = {}
    with zipfile.ZipFile(jar) as z:
        for name in z.namelist():
            if name.startswith("common/message/") and name.endswith(".json"):
                schema = load_schema(z.read(name).decode("utf-8"))
                out[schema["name"]] = schema
    return out


def schemas_from_dir(directory: Path) -> dict[str, dict]:
    out = {}
    for p in sorted(directory.glob("*.json")):
        schema = load_schema(p.read_text(encoding="utf-8"))
        out[schema["name"]] = schema
    return out


def generate_all(schemas: dict[str, dict], apis, source: str, namespace: str = "kb::protocol",
                 include_prefix: str = "kb/protocol/messages/") -> dict[str, str]:
    by_header: dict[str, list[tuple[str, tuple[int, int]]]] = {}
    for api, header, served in apis:
        by_header.setdefault(header, []).append((api, served))
    files = {f"{header}.hpp": clang_format(generate_header(header, group, schemas, source,
                                                           namespace))
             for header, group in by_header.items()}
    files["all.hpp"] = clang_format(
        generate_list(sorted(by_header), apis, source, namespace, include_prefix))
    return files


# The header schemas (kafka-clients, common/message) and the versions
# generated. Request header v0 (no client id) is older than Kafka 4 serves; it
# is kept because it is exactly the fixed start every request header has.
HEADERS: list[tuple[str, str, tuple[int, int]]] = [
    ("RequestHeader", "request", (0, 2)),
    ("ResponseHeader", "response", (0, 1)),
]
HEADERS_FILE = "headers.hpp"
API_VERSIONS_KEY = 18  # its response header is v0 at every version (KIP-511)
CONTROLLED_SHUTDOWN_KEY = 7  # v0 had request header v0


def header_version_switch(schemas: dict[str, dict], side: str) -> list[str]:
    """The header version of every api at a version, as Kafka's ApiMessageType
    picks it: the flexible versions of the api's request (or response) use the
    newer header."""
    plain, flexible = (1, 2) if side == "request" else (0, 1)
    by_rule: dict[str, list[str]] = {}
    for schema in sorted((s for s in schemas.values() if s.get("type") == side),
                         key=lambda s: s["apiKey"]):
        key = schema["apiKey"]
        first = Versions.parse(schema.get("flexibleVersions"))
        valid = Versions.parse(schema["validVersions"])
        if side == "response" and key == API_VERSIONS_KEY:
            rule = f"return {plain};"
        elif first is None or valid.intersect(first) is None:
            rule = f"return {plain};"
        elif first.lo == 0:
            rule = f"return {flexible};"
        else:
            # Tested even where the pinned Kafka's valid versions are all
            # flexible: this broker may serve older versions (WriteTxnMarkers
            # v0 has response header v0, as in Kafka 3.9).
            rule = f"return version >= {first.lo} ? {flexible} : {plain};"
        if side == "request" and key == CONTROLLED_SHUTDOWN_KEY:
            rule = "if (version == 0) return 0;\n" + rule
        by_rule.setdefault(rule, []).append(schema["name"][:-len(side)])
    name = f"{side}_header_version"
    lines = [f"// The {side} header version of an api at a version (Kafka's ApiMessageType).",
             f"constexpr int16_t {name}(ApiKey key, int16_t version) {{",
             "switch (key) {"]
    for rule, apis in by_rule.items():
        lines += [f"case ApiKey::k{api}:" for api in apis]
        lines += [rule]
    lines += ["}", "// Not an api key of this Kafka: no header to read.", "return -1;", "}"]
    return lines


def generate_headers(schemas: dict[str, dict], source: str) -> str:
    """headers.hpp: the request and response headers, and which version of each
    every api uses."""
    em = Emitter()
    body: list[str] = []
    for name, side, (lo, hi) in HEADERS:
        schema = schemas.get(name)
        if schema is None:
            raise SchemaError(f"no {name} schema")
        valid = Versions.parse(schema["validVersions"])
        flexible = Versions.parse(schema.get("flexibleVersions"))
        constants = [f"static constexpr VersionRange kVersions{{{lo}, {hi}}};"
                     f"  // Kafka: {valid.lo}-{valid.hi}",
                     f"static constexpr int16_t kFirstFlexible = {flexible.lo};"]
        body += [""] + emit_message(MessageModel(schema, Versions(lo, hi), side=side), None,
                                    em, constants)
    for side in ("request", "response"):
        body += [""] + header_version_switch(schemas, side)
    lines = [
        f"// Generated by scripts/gen_messages.py from {source}.",
        "// Do not edit: change the generator or its tables and run it again.",
        "#pragma once",
        "",
    ]
    lines += [f"#include {h}" for h in sorted(em.includes | {"<cstdint>"})]
    local = {"kb/protocol/api_key.hpp", "kb/wire/serde.hpp"} | em.local_includes
    lines += [""] + [f'#include "{h}"' for h in sorted(local)]
    lines += ["", "namespace kb::protocol {"] + body + ["", "}  // namespace kb::protocol", ""]
    return clang_format("\n".join(lines))


# ---------------------------------------------------------------- records

# The record schemas: the Maven artifact (of the pinned Kafka version) whose
# jar holds them, the folder in the jar, and the header they go into. Their
# "apiKey" is the record's type; every version is generated.
RECORDS_DIR = REPO / "include/records/kb/records"
RECORD_SOURCES: list[tuple[str, str, str]] = [
    ("kafka-metadata", "common/metadata/", "metadata.hpp"),  # KRaft __cluster_metadata
    ("kafka-group-coordinator", "common/message/", "group_coordinator.hpp"),  # __consumer_offsets
    ("kafka-transaction-coordinator", "common/message/", "transaction_coordinator.hpp"),
    ("kafka-share-coordinator", "common/message/", "share_coordinator.hpp"),  # __share_group_state
    # Control records, raft snapshot records, the consumer protocol's and other
    # data that is neither a request nor a response.
    ("kafka-clients", "common/message/", "client_data.hpp"),
]
RECORD_TYPES = ("metadata", "coordinator-key", "coordinator-value", "data")


def record_jar(artifact: str, version: str) -> Path:
    return client_cache() / f"m2/org/apache/kafka/{artifact}/{version}/{artifact}-{version}.jar"


def record_schemas_from_jar(jar: Path, folder: str) -> list[dict]:
    out = []
    with zipfile.ZipFile(jar) as z:
        for name in sorted(z.namelist()):
            if name.startswith(folder) and name.endswith(".json") and "/" not in name[len(folder):]:
                schema = load_schema(z.read(name).decode("utf-8"))
                if schema.get("type") in RECORD_TYPES:
                    out.append(schema)
    return out


def generate_record_header(schemas: list[dict], source: str) -> tuple[str, list[str]]:
    """One header of record structs (namespace kb::records), and their names."""
    em = Emitter()
    body: list[str] = []
    names: list[str] = []
    for schema in sorted(schemas, key=lambda s: (s.get("apiKey", -1), s["name"])):
        valid = Versions.parse(schema["validVersions"])
        flexible = Versions.parse(schema.get("flexibleVersions"))
        constants = []
        if "apiKey" in schema:
            constants.append(f"static constexpr int16_t kType = {schema['apiKey']};"
                             f"  // {schema['type']}")
        constants += [f"static constexpr int16_t kMinVersion = {valid.lo};",
                      f"static constexpr int16_t kMaxVersion = {valid.hi};"]
        if flexible is None:
            em.includes.add("<limits>")
            constants.append("static constexpr int16_t kFirstFlexible = "
                             "std::numeric_limits<int16_t>::max();")
        else:
            constants.append(f"static constexpr int16_t kFirstFlexible = {flexible.lo};")
        model = MessageModel(schema, valid, side="record", equality=True)
        body += [""] + emit_message(model, None, em, constants)
        names.append(schema["name"])
    lines = [
        f"// Generated by scripts/gen_messages.py from {source}.",
        "// Do not edit: change the generator or its tables and run it again.",
        "#pragma once",
        "",
    ]
    lines += [f"#include {h}" for h in sorted(em.includes | {"<cstdint>"})]
    local = {"kb/wire/serde.hpp"} | em.local_includes
    lines += [""] + [f'#include "{h}"' for h in sorted(local)]
    lines += ["", "namespace kb::records {"] + body + ["", "}  // namespace kb::records", ""]
    return clang_format("\n".join(lines)), names


def generate_records(version: str) -> dict[Path, str] | None:
    """Every record header, and all.hpp listing them; None when a jar is missing."""
    files: dict[Path, str] = {}
    everything: list[str] = []
    for artifact, folder, header in RECORD_SOURCES:
        jar = record_jar(artifact, version)
        if not jar.is_file():
            print(f"gen_messages: no {artifact} {version} jar at {jar}", file=sys.stderr)
            return None
        source = f"Kafka {version}'s schemas ({artifact}, {folder.rstrip('/')})"
        text, names = generate_record_header(record_schemas_from_jar(jar, folder), source)
        files[RECORDS_DIR / header] = text
        everything += names
    lines = [
        f"// Generated by scripts/gen_messages.py from Kafka {version}'s record schemas.",
        "// Do not edit: change the generator or its tables and run it again.",
        "#pragma once",
        "",
    ]
    lines += [f'#include "kb/records/{h}"' for _, _, h in RECORD_SOURCES]
    lines += ["", "namespace kb::records {", "",
              "// A list of types, for tests that go over every record.",
              "template <class... Records>", "struct RecordList {};", "",
              f"using AllGeneratedRecords = RecordList<{', '.join(everything)}>;", "",
              "}  // namespace kb::records", ""]
    files[RECORDS_DIR / "all.hpp"] = clang_format("\n".join(lines))
    return files


def generate_api_keys(schemas: dict[str, dict], source: str) -> str:
    """api_key.hpp: every api key of the Kafka version, and VersionRange."""
    keys = sorted((s["apiKey"], s["name"][:-len("Request")]) for s in schemas.values()
                  if s.get("type") == "request")
    lines = [
        f"// Generated by scripts/gen_messages.py from {source}.",
        "// Do not edit: change the generator or its tables and run it again.",
        "#pragma once",
        "",
        "#include <cstdint>",
        "",
        "namespace kb::protocol {",
        "",
        "// Every api key the pinned Kafka defines (served or not).",
        "enum class ApiKey : int16_t {",
    ]
    lines += [f"k{name} = {key}," for key, name in keys]
    lines += [
        "};",
        "",
        "// Inclusive range of versions of one message.",
        "struct VersionRange {",
        "int16_t min = 0;",
        "int16_t max = 0;",
        "constexpr bool contains(int16_t v) const { return v >= min && v <= max; }",
        "};",
        "",
        "}  // namespace kb::protocol",
        "",
    ]
    return clang_format("\n".join(lines))


def generate_list(headers: list[str], apis, source: str, namespace: str,
                  include_prefix: str) -> str:
    """all.hpp: every generated header, and a list of every generated message."""
    lines = [
        f"// Generated by scripts/gen_messages.py from {source}.",
        "// Do not edit: change the generator or its tables and run it again.",
        "#pragma once",
        "",
    ]
    lines += [f'#include "{include_prefix}{h}.hpp"' for h in headers]
    names = sorted(api for api, _, _ in apis)
    types = ", ".join(f"{api}{side}" for api in names for side in ("Request", "Response"))
    lines += ["", f"namespace {namespace} {{", "",
              "// A list of types, for tests that go over every message.",
              "template <class... Messages>", "struct MessageList {};", "",
              f"using AllGeneratedMessages = MessageList<{types}>;", "",
              f"}}  // namespace {namespace}", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jar", type=Path, help="the kafka-clients jar")
    parser.add_argument("--schemas", type=Path, help="a directory of schema files instead")
    parser.add_argument("--apis", type=Path,
                        help="a JSON list of [api, header, [min, max]] instead of APIS")
    parser.add_argument("--out", type=Path, default=MESSAGES_DIR)
    parser.add_argument("--check", action="store_true",
                        help="compare with the files in --out instead of writing them")
    parser.add_argument("--install", action="store_true",
                        help="install the Java lab if the jar is missing")
    parser.add_argument("--namespace", default="kb::protocol",
                        help="C++ namespace of the generated code")
    parser.add_argument("--include-prefix", default="kb/protocol/messages/",
                        help="how all.hpp names the generated headers")
    parser.add_argument("--no-records", action="store_true",
                        help="leave out the record headers (include/records)")
    args = parser.parse_args()

    version = pinned_kafka_version()
    if args.schemas:
        schemas = schemas_from_dir(args.schemas)
        source = f"the schemas in {args.schemas.name}/"
    else:
        jar = args.jar or default_jar(version)
        if not jar.is_file() and args.install and args.jar is None:
            install_java_lab()
        if not jar.is_file():
            print(f"gen_messages: skipped, no kafka-clients {version} jar at {jar} "
                  f"(the Java lab installs it: scripts/test.sh, or --install)", file=sys.stderr)
            return EXIT_NO_SCHEMAS
        schemas = schemas_from_jar(jar)
        source = f"Kafka {version}'s schemas (kafka-clients, common/message)"
    apis = APIS
    if args.apis:
        apis = [(a, h, tuple(r)) for a, h, r in json.loads(args.apis.read_text())]
    try:
        files = generate_all(schemas, apis, source, args.namespace, args.include_prefix)
    except SchemaError as e:
        print(f"gen_messages: {e}", file=sys.stderr)
        return 1

    if not args.schemas:
        try:
            files[API_KEY_HEADER] = generate_api_keys(schemas, source)
            files[HEADERS_FILE] = generate_headers(schemas, source)
            if not args.no_records:
                records = generate_records(version)
                if records is None:
                    return EXIT_NO_SCHEMAS
                files.update(records)
        except SchemaError as e:
            print(f"gen_messages: {e}", file=sys.stderr)
            return 1

    def target(name: str | Path) -> Path:
        # Record headers have a folder of their own; with --out, a records/ in it.
        if isinstance(name, Path):
            return name if args.out == MESSAGES_DIR else args.out / "records" / name.name
        return args.out / name

    if args.check:
        differ = [target(name) for name, text in sorted(files.items(), key=lambda i: str(i[0]))
                  if not target(name).is_file()
                  or target(name).read_text(encoding="utf-8") != text]
        for path in differ:
            print(f"{path} differs from what the Kafka {version} schemas give; "
                  f"run scripts/gen_messages.py", file=sys.stderr)
        return 1 if differ else 0
    for name, text in files.items():
        target(name).parent.mkdir(parents=True, exist_ok=True)
        target(name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
