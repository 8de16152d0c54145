#!/usr/bin/env python3
"""Tests of scripts/gen_messages.py: the made-up schemas in gen_messages/schemas
give exactly gen_messages/expected/*.hpp (which gen_fixture_test.cpp compiles and
checks byte by byte), and the generator's pieces and refusals.

  python3 tests/protocol/gen_messages_test.py

The expected headers are rewritten with
  scripts/gen_messages.py --schemas tests/protocol/gen_messages/schemas \\
    --apis tests/protocol/gen_messages/apis.json --namespace kb::protocol::gen_fixture \\
    --include-prefix protocol/gen_messages/expected/ --out tests/protocol/gen_messages/expected
"""
import importlib.util
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GENERATOR = REPO / "scripts/gen_messages.py"
FIXTURES = HERE / "gen_messages"

spec = importlib.util.spec_from_file_location("gen_messages", GENERATOR)
gen = importlib.util.module_from_spec(spec)
sys.modules["gen_messages"] = gen
spec.loader.exec_module(gen)

def run_generator(*args):
    return subprocess.run([sys.executable, str(GENERATOR), *map(str, args)],
                          capture_output=True, text=True, check=False)

class FixtureOutput(unittest.TestCase):
    def test_fixture_schemas_give_the_expected_headers(self):
        with tempfile.TemporaryDirectory() as out:
            result = run_generator("--schemas", FIXTURES / "schemas", "--apis",
                                   FIXTURES / "apis.json", "--namespace",
                                   "kb::protocol::gen_fixture", "--include-prefix",
                                   "protocol/gen_messages/expected/", "--out", out)
            self.assertEqual(result.returncode, 0, result.stderr)
            produced = sorted(p.name for p in Path(out).iterdir())
            expected = sorted(p.name for p in (FIXTURES / "expected").iterdir())
            self.assertEqual(produced, expected)
            for name in expected:
                self.assertEqual((Path(out) / name).read_text(),
                                 (FIXTURES / "expected" / name).read_text(), name)

    def test_check_mode_reports_a_changed_header(self):
        with tempfile.TemporaryDirectory() as out:
            args = ["--schemas", FIXTURES / "schemas", "--apis", FIXTURES / "apis.json",
                    "--namespace", "kb::protocol::gen_fixture", "--include-prefix",
                    "protocol/gen_messages/expected/", "--out", out]
            self.assertEqual(run_generator(*args).returncode, 0)
            self.assertEqual(run_generator(*args, "--check").returncode, 0)
            header = Path(out) / "heartbeat_fixture.hpp"
            header.write_text(header.read_text().replace("io(note);", "io(rack);"))
            result = run_generator(*args, "--check")
            self.assertEqual(result.returncode, 1)
            self.assertIn("heartbeat_fixture.hpp differs", result.stderr)

    def test_a_missing_jar_skips(self):
        result = run_generator("--check", "--jar", "/nonexistent/kafka-clients.jar")
        self.assertEqual(result.returncode, gen.EXIT_NO_SCHEMAS)
        self.assertIn("skipped", result.stderr)

class Pieces(unittest.TestCase):
    def test_snake_case(self):
        self.assertEqual(gen.snake("ThrottleTimeMs"), "throttle_time_ms")
        self.assertEqual(gen.snake("TopicId"), "topic_id")
        self.assertEqual(gen.snake("ISRNodes"), "isr_nodes")
        self.assertEqual(gen.snake("V3AndBelowProducerId"), "v3_and_below_producer_id")

    def test_versions(self):
        V = gen.Versions
        self.assertEqual(V.parse("3+"), V(3, gen.NO_VERSION))
        self.assertEqual(V.parse("1-4"), V(1, 4))
        self.assertEqual(V.parse("7"), V(7, 7))
        self.assertIsNone(V.parse("none"))
        self.assertIsNone(V(0, 2).intersect(V(3, 5)))

    def test_conditions_are_relative_to_the_enclosing_versions(self):
        V = gen.Versions
        self.assertEqual(gen.condition("v", V(0, 9), V(0, 9)), "")
        self.assertEqual(gen.condition("v", V(3, 9), V(0, 9)), "v >= 3")
        self.assertEqual(gen.condition("v", V(0, 4), V(0, 9)), "v <= 4")
        self.assertEqual(gen.condition("v", V(2, 4), V(0, 9)), "v >= 2 && v <= 4")
        self.assertEqual(gen.condition("v", V(1, 1), V(0, 9)), "v == 1")
        self.assertEqual(gen.condition("v", V(5, 9), V(5, 9)), "")

class Emitted(unittest.TestCase):
    """What the generator writes for the less common schema features."""

    def emit(self, fields, served=(0, 3), flexible="2+", side=None, equality=False):
        schema = {"apiKey": 12, "type": "request", "name": "HeartbeatRequest",
                  "validVersions": "0-9", "flexibleVersions": flexible, "fields": fields}
        model = gen.MessageModel(schema, gen.Versions(*served), side=side, equality=equality)
        return "\n".join(gen.emit_message(model, "Heartbeat", gen.Emitter()))

    def test_tags_are_written_in_ascending_order_whatever_the_declaration_order(self):
        text = self.emit([
            {"name": "B", "type": "int32", "versions": "2+", "taggedVersions": "2+", "tag": 3},
            {"name": "A", "type": "int32", "versions": "2+", "taggedVersions": "2+", "tag": 1}])
        self.assertLess(text.index("t(1, a);"), text.index("t(3, b);"))

    def test_a_field_without_versions_has_its_tagged_versions(self):
        text = self.emit([{"name": "Hint", "type": "int64", "taggedVersions": "3+", "tag": 0,
                           "default": -1}])
        self.assertIn("if (t.version >= 3) { t(0, hint, int64_t{-1}); }", text)

    def test_a_tag_of_other_versions_is_refused_when_read(self):
        # Tagged from v3 while v2 is flexible: Kafka's reader throws for it at v2.
        text = self.emit([{"name": "E", "type": "int32", "versions": "3+",
                           "taggedVersions": "3+", "tag": 1}])
        self.assertIn("if (t.version >= 3) { t(1, e); } else { wire::invalid_tag(t, 1); }", text)
        # Only in versions not generated: refused at every generated one.
        text = self.emit([{"name": "Later", "type": "int32", "versions": "7+",
                           "taggedVersions": "7+", "tag": 4}])
        self.assertNotIn("later", text)
        self.assertIn("wire::invalid_tag(t, 4);", text)

    def test_flexible_versions_none_keeps_the_classic_form(self):
        text = self.emit([{"name": "ClientId", "type": "string", "versions": "0+",
                           "nullableVersions": "0+", "flexibleVersions": "none"}])
        self.assertIn("wire::classic(io, client_id);", text)
        # Never flexible: nothing to keep apart.
        text = self.emit([{"name": "ClientId", "type": "string", "versions": "0+",
                           "flexibleVersions": "none"}], flexible="none")
        self.assertIn("io(client_id);", text)

    def test_a_nullable_struct_is_null_by_default_only_when_its_schema_says_so(self):
        def meta(default):
            spec = {"name": "Meta", "type": "Meta", "versions": "2+", "nullableVersions": "2+",
                    "taggedVersions": "2+", "tag": 0,
                    "fields": [{"name": "Size", "type": "int32", "versions": "2+"}]}
            if default is not ...:
                spec["default"] = default
            return spec
        # No default (or JSON null, as ConsumerGroupMemberMetadataValue has): an
        # empty struct, so the empty one is left out and a null is written.
        for default in (..., None):
            text = self.emit([meta(default)], served=(2, 3))
            self.assertIn("std::optional<Meta> meta = Meta{};", text)
            self.assertIn("t(0, meta, std::optional<Meta>{Meta{}});", text)
        text = self.emit([meta("null")], served=(2, 3))
        self.assertIn("std::optional<Meta> meta;", text)
        self.assertIn("t(0, meta);", text)

    def test_records_own_their_strings_and_compare(self):
        text = self.emit([{"name": "Name", "type": "string", "versions": "0+"},
                          {"name": "Blob", "type": "bytes", "versions": "0+",
                           "nullableVersions": "0+"}], side="record", equality=True)
        self.assertIn("std::string name;", text)
        self.assertIn("std::optional<std::vector<uint8_t>> blob;", text)
        self.assertIn("bool operator==(const HeartbeatRequest&) const = default;", text)

    def test_header_versions_follow_flexible_versions_as_kafka_picks_them(self):
        schemas = {
            "ProduceRequest": {"type": "request", "name": "ProduceRequest", "apiKey": 0,
                               "validVersions": "3-13", "flexibleVersions": "9+"},
            "ApiVersionsResponse": {"type": "response", "name": "ApiVersionsResponse",
                                    "apiKey": 18, "validVersions": "0-4",
                                    "flexibleVersions": "3+"},
            "VoteRequest": {"type": "request", "name": "VoteRequest", "apiKey": 52,
                            "validVersions": "0-2", "flexibleVersions": "0+"},
            "OffsetDeleteRequest": {"type": "request", "name": "OffsetDeleteRequest",
                                    "apiKey": 47, "validVersions": "0",
                                    "flexibleVersions": "none"},
        }
        schemas["WriteTxnMarkersResponse"] = {
            "type": "response", "name": "WriteTxnMarkersResponse", "apiKey": 27,
            "validVersions": "1", "flexibleVersions": "1+"}
        request = "\n".join(gen.header_version_switch(schemas, "request"))
        self.assertIn("case ApiKey::kProduce:\nreturn version >= 9 ? 2 : 1;", request)
        self.assertIn("case ApiKey::kVote:\nreturn 2;", request)
        self.assertIn("case ApiKey::kOffsetDelete:\nreturn 1;", request)
        response = "\n".join(gen.header_version_switch(schemas, "response"))
        self.assertIn("case ApiKey::kApiVersions:\nreturn 0;", response)
        # v0, older than the pinned Kafka serves, keeps header v0.
        self.assertIn("case ApiKey::kWriteTxnMarkers:\nreturn version >= 1 ? 1 : 0;", response)

    def test_kraft_is_one_word(self):
        self.assertEqual(gen.snake("KRaftVersion"), "kraft_version")

class Refusals(unittest.TestCase):
    def schema(self, fields, **extra):
        return {"apiKey": 12, "type": "request", "name": "HeartbeatRequest",
                "validVersions": "0-3", "flexibleVersions": "2+", "fields": fields, **extra}

    def test_a_field_tagged_in_only_some_versions_is_refused(self):
        field = {"name": "X", "type": "int32", "versions": "0+", "taggedVersions": "2+", "tag": 0}
        with self.assertRaises(gen.SchemaError):
            gen.MessageModel(self.schema([field]), gen.Versions(0, 3))

    def test_a_flexible_versions_override_other_than_none_is_refused(self):
        field = {"name": "X", "type": "string", "versions": "0+", "flexibleVersions": "3+"}
        with self.assertRaises(gen.SchemaError):
            gen.MessageModel(self.schema([field]), gen.Versions(0, 3))

    def test_an_unknown_type_is_refused(self):
        field = {"name": "X", "type": "[]Nowhere", "versions": "0+"}
        with self.assertRaises(gen.SchemaError):
            gen.MessageModel(self.schema([field]), gen.Versions(0, 3))

if __name__ == "__main__":
    unittest.main()
