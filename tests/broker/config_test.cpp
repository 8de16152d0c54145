// Tests for kb::broker::parse_config / load_config: the server.properties
// syntax (comments, separators, trimming, continuations, escapes), the Kafka
// default KRaft file, overrides, embedded defaults, fallbacks between keys,
// listeners, and the error messages (file:line and key).

#include "kb/broker/config.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace kb::broker {
namespace {

constexpr std::string_view kPath = "server.properties";

// Kafka's config/kraft/server.properties (3.x), comments and all.
constexpr std::string_view kKafkaDefaultFile =
    R"(# Licensed to the Apache Software Foundation (ASF) under one or more
# contributor license agreements.  See the NOTICE file distributed with
# this work for additional information regarding copyright ownership.

#
# This configuration file is intended for use in KRaft mode, where
# Apache ZooKeeper is not present.
#

############################# Server Basics #############################

# The role of this server. Setting this puts us in KRaft mode
process.roles=broker,controller

# The node id associated with this instance's roles
node.id=1

# The connect string for the controller quorum
controller.quorum.voters=1@localhost:9093

############################# Socket Server Settings #############################

# The address the socket server listens on.
# Combined nodes (i.e. those with `process.roles=broker,controller`) must list the controller listener here at a minimum.
# If the broker listener is not defined, the default listener will use a host name that is equal to the value of java.net.InetAddress.getCanonicalHostName(),
# with PLAINTEXT listener name, and port 9092.
#   FORMAT:
#     listeners = listener_name://host_name:port
#   EXAMPLE:
#     listeners = PLAINTEXT://your.host.name:9092
listeners=PLAINTEXT://:9092,CONTROLLER://:9093

# Name of listener used for communication between brokers.
inter.broker.listener.name=PLAINTEXT

# Listener name, hostname and port the broker will advertise to clients.
# If not set, it uses the value for "listeners".
advertised.listeners=PLAINTEXT://localhost:9092

# A comma-separated list of the names of the listeners used by the controller.
# If no explicit mapping set in `listener.security.protocol.map`, default will be using PLAINTEXT protocol
# This is required if running in KRaft mode.
controller.listener.names=CONTROLLER

# Maps listener names to security protocols, the default is for them to be the same. See the config documentation for more details
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL

# The number of threads that the server uses for receiving requests from the network and sending responses to the network
num.network.threads=3

# The number of threads that the server uses for processing requests, which may include disk I/O
num.io.threads=8

# The send buffer (SO_SNDBUF) used by the socket server
socket.send.buffer.bytes=102400

# The receive buffer (SO_RCVBUF) used by the socket server
socket.receive.buffer.bytes=102400

# The maximum size of a request that the socket server will accept (protection against OOM)
socket.request.max.bytes=104857600


############################# Log Basics #############################

# A comma separated list of directories under which to store log files
log.dirs=/tmp/kraft-combined-logs

# The default number of log partitions per topic. More partitions allow greater
# parallelism for consumption, but this will also result in more files across
# the brokers.
num.partitions=1

# The number of threads per data directory to be used for log recovery at startup and flushing at shutdown.
# This value is recommended to be increased for installations with data dirs located in RAID array.
num.recovery.threads.per.data.dir=1

############################# Internal Topic Settings  #############################
# The replication factor for the group metadata internal topics "__consumer_offsets" and "__transaction_state"
# For anything other than development testing, a value greater than 1 is recommended to ensure availability such as 3.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1

############################# Log Retention Policy #############################

# The minimum age of a log file to be eligible for deletion due to age
log.retention.hours=168

# The maximum size of a log segment file. When this size is reached a new log segment will be created.
log.segment.bytes=1073741824

# The interval at which log segments are checked to see if they can be deleted according
# to the retention policies
log.retention.check.interval.ms=300000
)";

// 1-based number of the first line of `text` that starts with `prefix`.
int line_of(std::string_view text, std::string_view prefix) {
  int line = 1;
  size_t at = 0;
  while (at <= text.size()) {
    if (text.substr(at).starts_with(prefix)) return line;
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) break;
    at = nl + 1;
    ++line;
  }
  return -1;
}

BrokerConfig parse_ok(std::string_view text, const std::vector<std::string>& overrides = {}) {
  ConfigResult r = parse_config(text, kPath, overrides);
  EXPECT_TRUE(r.config.has_value()) << "unexpected error: " << r.error;
  EXPECT_EQ(r.error, "");
  return r.config.value_or(BrokerConfig{});
}

// The parse fails and the error names every one of `needles`.
void expect_error(std::string_view text, const std::vector<std::string>& needles,
                  const std::vector<std::string>& overrides = {}) {
  ConfigResult r = parse_config(text, kPath, overrides);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_NE(r.error, "");
  for (const auto& needle : needles)
    EXPECT_NE(r.error.find(needle), std::string::npos)
        << "error '" << r.error << "' does not mention '" << needle << "'";
}

std::string value_of(const BrokerConfig& c, const std::string& key) {
  auto it = c.properties.find(key);
  return it == c.properties.end() ? "<absent>" : it->second.value;
}

std::string origin_of(const BrokerConfig& c, const std::string& key) {
  auto it = c.properties.find(key);
  return it == c.properties.end() ? "<absent>" : it->second.origin;
}

// A file in the test's temporary directory, removed afterwards.
class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    std::string pattern = ::testing::TempDir() + "kb_config_test_XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    int fd = ::mkstemp(buf.data());
    if (fd >= 0) {
      ::close(fd);
      path_ = buf.data();
      std::ofstream(path_, std::ios::binary) << content;
    }
  }
  ~TempFile() {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ------------------------------------------------------ the Kafka default file

TEST(ConfigKafkaFile, DefaultKraftFileGivesOnePlaintextListener) {
  BrokerConfig c = parse_ok(kKafkaDefaultFile);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "PLAINTEXT");
  EXPECT_EQ(c.listeners[0].host, "");
  EXPECT_EQ(c.listeners[0].port, 9092);
  ASSERT_EQ(c.advertised_listeners.size(), 1u);
  EXPECT_EQ(c.advertised_listeners[0].name, "PLAINTEXT");
  EXPECT_EQ(c.advertised_listeners[0].host, "localhost");
  EXPECT_EQ(c.advertised_listeners[0].port, 9092);
  EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/tmp/kraft-combined-logs"});
  EXPECT_EQ(c.node_id, 1);
  EXPECT_EQ(c.socket_request_max_bytes, 104857600);
  EXPECT_EQ(c.max_connections, 100000);
}

TEST(ConfigKafkaFile, UnknownKeysAreKeptWithTheirOrigin) {
  BrokerConfig c = parse_ok(kKafkaDefaultFile);
  EXPECT_EQ(value_of(c, "process.roles"), "broker,controller");
  EXPECT_EQ(value_of(c, "controller.quorum.voters"), "1@localhost:9093");
  EXPECT_EQ(value_of(c, "inter.broker.listener.name"), "PLAINTEXT");
  EXPECT_EQ(value_of(c, "num.partitions"), "1");
  EXPECT_EQ(value_of(c, "log.segment.bytes"), "1073741824");
  EXPECT_EQ(value_of(c, "log.retention.check.interval.ms"), "300000");
  EXPECT_EQ(origin_of(c, "num.partitions"),
            "server.properties:" + std::to_string(line_of(kKafkaDefaultFile, "num.partitions=")));
  EXPECT_EQ(origin_of(c, "process.roles"),
            "server.properties:" + std::to_string(line_of(kKafkaDefaultFile, "process.roles=")));
  // Comments are not properties.
  for (const auto& [key, source] : c.properties) {
    EXPECT_NE(key.front(), '#') << key;
    EXPECT_EQ(key.find(' '), std::string::npos) << key;
  }
  EXPECT_EQ(c.properties.size(), 22u);
}

TEST(ConfigKafkaFile, LoadedFromDiskNamesTheFileInOrigins) {
  TempFile file(kKafkaDefaultFile);
  ASSERT_FALSE(file.path().empty());
  ConfigResult r = load_config(file.path(), {});
  ASSERT_TRUE(r.config.has_value()) << r.error;
  EXPECT_EQ(r.config->listeners.size(), 1u);
  EXPECT_EQ(origin_of(*r.config, "node.id"),
            file.path() + ":" + std::to_string(line_of(kKafkaDefaultFile, "node.id=")));
}

// -------------------------------------------------------------------- syntax

TEST(ConfigSyntax, CommentsAndBlankLinesAreSkipped) {
  BrokerConfig c = parse_ok(
      "# a hash comment\n"
      "! a bang comment\n"
      "\n"
      "   \t  \n"
      "   # an indented comment\n"
      "\t! another one\n"
      "#node.id=5\n"
      "a=1\n");
  EXPECT_EQ(value_of(c, "a"), "1");
  EXPECT_EQ(value_of(c, "#node.id"), "<absent>");
  EXPECT_EQ(c.node_id, 1);
  // Only a, plus the listeners default the parser fills in.
  EXPECT_EQ(c.properties.size(), 2u);
}

TEST(ConfigSyntax, HashOrBangInsideAValueIsNotAComment) {
  BrokerConfig c = parse_ok("a=b#c\nd=e!f\n");
  EXPECT_EQ(value_of(c, "a"), "b#c");
  EXPECT_EQ(value_of(c, "d"), "e!f");
}

TEST(ConfigSyntax, EqualsAndColonSeparators) {
  BrokerConfig c = parse_ok(
      "equals=1\n"
      "colon: 2\n"
      "tight:3\n"
      "spaced = 4\n"
      "first.wins=a:b\n"
      "colon.first: c=d\n"
      "empty=\n");
  EXPECT_EQ(value_of(c, "equals"), "1");
  EXPECT_EQ(value_of(c, "colon"), "2");
  EXPECT_EQ(value_of(c, "tight"), "3");
  EXPECT_EQ(value_of(c, "spaced"), "4");
  EXPECT_EQ(value_of(c, "first.wins"), "a:b");
  EXPECT_EQ(value_of(c, "colon.first"), "c=d");
  EXPECT_EQ(value_of(c, "empty"), "");
}

TEST(ConfigSyntax, WhitespaceAroundKeysAndValuesIsTrimmed) {
  BrokerConfig c = parse_ok(
      "   node.id   =   7   \n"
      "\tlog.dirs\t=\t/data/a\t\n"
      "crlf=value\r\n");
  EXPECT_EQ(c.node_id, 7);
  EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/data/a"});
  EXPECT_EQ(value_of(c, "node.id"), "7");
  EXPECT_EQ(value_of(c, "crlf"), "value");
}

TEST(ConfigSyntax, LaterDuplicateKeyWins) {
  BrokerConfig c = parse_ok("node.id=1\nnode.id=2\n");
  EXPECT_EQ(c.node_id, 2);
  EXPECT_EQ(origin_of(c, "node.id"), "server.properties:2");
}

TEST(ConfigSyntax, TrailingBackslashContinuesTheLine) {
  constexpr std::string_view text =
      "listeners=PLAINTEXT://:9092,\\\n"
      "          CONTROLLER://:9093\n"
      "controller.listener.names=CONTROLLER\n"
      "three=a\\\n"
      "  b\\\n"
      "  c\n"
      "after=x\n";
  BrokerConfig c = parse_ok(text);
  EXPECT_EQ(value_of(c, "listeners"), "PLAINTEXT://:9092,CONTROLLER://:9093");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "PLAINTEXT");
  EXPECT_EQ(value_of(c, "three"), "abc");
  // A continued property comes from its first line; the next one keeps counting.
  EXPECT_EQ(origin_of(c, "listeners"), "server.properties:1");
  EXPECT_EQ(origin_of(c, "three"), "server.properties:4");
  EXPECT_EQ(origin_of(c, "after"), "server.properties:7");
}

TEST(ConfigSyntax, EvenNumberOfTrailingBackslashesDoesNotContinue) {
  BrokerConfig c = parse_ok(
      "path=C:\\\\dir\\\\\n"  // path=C:\\dir\\  (two escaped backslashes)
      "next=1\n");
  EXPECT_EQ(value_of(c, "path"), "C:\\dir\\");
  EXPECT_EQ(value_of(c, "next"), "1");
}

TEST(ConfigSyntax, ContinuationLineStartingWithHashIsNotAComment) {
  BrokerConfig c = parse_ok(
      "a=x\\\n"
      "#y\n");
  EXPECT_EQ(value_of(c, "a"), "x#y");
}

TEST(ConfigSyntax, ErrorLineNumbersCountContinuedLines) {
  expect_error(
      "a=1\\\n"
      "  2\n"
      "node.id=x\n",
      {"server.properties:3"});
}

TEST(ConfigSyntax, Escapes) {
  BrokerConfig c = parse_ok(
      "tab=a\\tb\n"
      "newline=a\\nb\n"
      "cr=a\\rb\n"
      "ff=a\\fb\n"
      "backslash=a\\\\b\n"
      "plain=\\x\\y\n"
      "my\\:key=1\n"
      "my\\=key=2\n"
      "my\\ key=3\n");
  EXPECT_EQ(value_of(c, "tab"), "a\tb");
  EXPECT_EQ(value_of(c, "newline"), "a\nb");
  EXPECT_EQ(value_of(c, "cr"), "a\rb");
  EXPECT_EQ(value_of(c, "ff"), "a\fb");
  EXPECT_EQ(value_of(c, "backslash"), "a\\b");
  EXPECT_EQ(value_of(c, "plain"), "xy");
  EXPECT_EQ(value_of(c, "my:key"), "1");
  EXPECT_EQ(value_of(c, "my=key"), "2");
  EXPECT_EQ(value_of(c, "my key"), "3");
}

// Regression (found by this test, fixed in 748345b): "\u0041" came out as
// "u0041" although the comment promised it verbatim; Java's Properties (and so
// Kafka) decode it, now to UTF-8.
TEST(ConfigSyntax, UnicodeEscapesAreDecodedToUtf8) {
  BrokerConfig c = parse_ok(
      "ascii=\\u0041\n"
      "latin=caf\\u00e9\n"
      "euro=\\u20AC\n"
      "in\\u0020key=1\n");
  EXPECT_EQ(value_of(c, "ascii"), "A");
  EXPECT_EQ(value_of(c, "latin"), "caf\xc3\xa9");
  EXPECT_EQ(value_of(c, "euro"), "\xe2\x82\xac");
  EXPECT_EQ(value_of(c, "in key"), "1");
}

// ------------------------------------------------- overrides and defaults

TEST(ConfigOverrides, OverridesWinOverTheFile) {
  BrokerConfig c =
      parse_ok(kKafkaDefaultFile, {"node.id=7", "listeners=PLAINTEXT://127.0.0.1:19092",
                                   " num.partitions = 3 ", "new.key=x=y"});
  EXPECT_EQ(c.node_id, 7);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].host, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 19092);
  EXPECT_EQ(value_of(c, "num.partitions"), "3");
  EXPECT_EQ(value_of(c, "new.key"), "x=y");
  EXPECT_EQ(origin_of(c, "node.id"), "--override");
  EXPECT_EQ(origin_of(c, "new.key"), "--override");
  // The file's advertised listener is still what is announced.
  ASSERT_EQ(c.advertised_listeners.size(), 1u);
  EXPECT_EQ(c.advertised_listeners[0].host, "localhost");
}

TEST(ConfigOverrides, LastOverrideWins) {
  BrokerConfig c = parse_ok("", {"node.id=2", "node.id=3"});
  EXPECT_EQ(c.node_id, 3);
}

TEST(ConfigDefaults, EmbeddedDefaultsWhenNoFileIsGiven) {
  ConfigResult r = load_config("", {});
  ASSERT_TRUE(r.config.has_value()) << r.error;
  const BrokerConfig& c = *r.config;
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "PLAINTEXT");
  EXPECT_EQ(c.listeners[0].host, "");
  EXPECT_EQ(c.listeners[0].port, 9092);
  ASSERT_EQ(c.advertised_listeners.size(), 1u);
  EXPECT_EQ(c.advertised_listeners[0].port, 9092);
  EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/tmp/kraft-combined-logs"});
  EXPECT_EQ(c.node_id, 1);
  EXPECT_EQ(c.socket_request_max_bytes, 104857600);
  EXPECT_EQ(c.max_connections, 100000);
}

TEST(ConfigDefaults, OverridesApplyToEmbeddedDefaults) {
  ConfigResult r = load_config("", {"node.id=4", "log.dirs=/var/kb"});
  ASSERT_TRUE(r.config.has_value()) << r.error;
  EXPECT_EQ(r.config->node_id, 4);
  EXPECT_EQ(r.config->log_dirs, std::vector<std::string>{"/var/kb"});
}

TEST(ConfigDefaults, EmptyTextGetsTheDefaultListenerAndLogDir) {
  BrokerConfig c = parse_ok("");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "PLAINTEXT");
  EXPECT_EQ(c.listeners[0].port, 9092);
  EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/tmp/kraft-combined-logs"});
  EXPECT_EQ(c.node_id, 1);
}

// ------------------------------------------------------------ key fallbacks

TEST(ConfigKeys, BrokerIdIsUsedWhenNodeIdIsAbsent) {
  EXPECT_EQ(parse_ok("broker.id=42\n").node_id, 42);
  EXPECT_EQ(parse_ok("broker.id=42\nnode.id=5\n").node_id, 5);
}

TEST(ConfigKeys, LogDirIsUsedWhenLogDirsIsAbsent) {
  EXPECT_EQ(parse_ok("log.dir=/one\n").log_dirs, std::vector<std::string>{"/one"});
  EXPECT_EQ(parse_ok("log.dir=/one\nlog.dirs=/two\n").log_dirs, std::vector<std::string>{"/two"});
}

TEST(ConfigKeys, SeveralLogDirs) {
  EXPECT_EQ(parse_ok("log.dirs=/a, /b ,,/c\n").log_dirs,
            (std::vector<std::string>{"/a", "/b", "/c"}));
}

TEST(ConfigKeys, NumericLimits) {
  BrokerConfig c = parse_ok("socket.request.max.bytes=64\nmax.connections=1\nnode.id=0\n");
  EXPECT_EQ(c.socket_request_max_bytes, 64);
  EXPECT_EQ(c.max_connections, 1);
  EXPECT_EQ(parse_ok("kb.socket.output.buffer.bytes=65536\n").socket_output_buffer_bytes, 65536);
  EXPECT_EQ(c.node_id, 0);
  EXPECT_EQ(parse_ok("node.id=2147483647\n").node_id, 2147483647);
}

// ---------------------------------------------------------------- listeners

TEST(ConfigListeners, HostsAndPorts) {
  BrokerConfig c = parse_ok("listeners=PLAINTEXT://[::1]:9092\n");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].host, "::1");
  EXPECT_EQ(c.listeners[0].port, 9092);

  c = parse_ok("listeners=PLAINTEXT://localhost:19092\n");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].host, "localhost");
  EXPECT_EQ(c.listeners[0].port, 19092);

  c = parse_ok("listeners=PLAINTEXT://0.0.0.0:0\n");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].host, "0.0.0.0");
  EXPECT_EQ(c.listeners[0].port, 0);

  c = parse_ok("listeners=PLAINTEXT://:65535\n");
  EXPECT_EQ(c.listeners.at(0).port, 65535);
}

TEST(ConfigListeners, AdvertisedDefaultsToTheServedListeners) {
  BrokerConfig c = parse_ok(
      "listeners=PLAINTEXT://host1:9092,CONTROLLER://:9093\n"
      "controller.listener.names=CONTROLLER\n");
  ASSERT_EQ(c.advertised_listeners.size(), 1u);
  EXPECT_EQ(c.advertised_listeners[0].name, "PLAINTEXT");
  EXPECT_EQ(c.advertised_listeners[0].host, "host1");
  EXPECT_EQ(c.advertised_listeners[0].port, 9092);
}

TEST(ConfigListeners, NameMappedToPlaintextIsServed) {
  BrokerConfig c = parse_ok(
      "listeners=CLIENT://:9092,INTERNAL://:9094\n"
      "listener.security.protocol.map=CLIENT:PLAINTEXT, INTERNAL : PLAINTEXT\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].name, "CLIENT");
  EXPECT_EQ(c.listeners[1].name, "INTERNAL");
  EXPECT_EQ(c.listeners[1].port, 9094);
}

TEST(ConfigListeners, SpacesAndEmptyItemsInTheListAreIgnored) {
  BrokerConfig c = parse_ok("listeners= PLAINTEXT://:9092 , \n");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 9092);
}

// ------------------------------------------------------------------- errors

// Java's Properties.load reads every line below as an entry, and Kafka starts
// with them (keys it does not know are ignored).
TEST(ConfigSyntax, LinesWithoutSeparatorAreEntriesAsInJava) {
  BrokerConfig c = parse_ok("a=1\n# comment\nthis line has no separator\nnode.id 5\nlonely\n");
  EXPECT_EQ(value_of(c, "this"), "line has no separator");
  EXPECT_EQ(c.node_id, 5);
  EXPECT_EQ(value_of(c, "lonely"), "");
  EXPECT_EQ(origin_of(c, "node.id"), "server.properties:4");
}

TEST(ConfigSyntax, LineStartingWithSeparatorHasAnEmptyKey) {
  EXPECT_EQ(value_of(parse_ok("=value\n"), ""), "value");
  EXPECT_EQ(value_of(parse_ok("a=1\n: value\n"), ""), "value");
}

TEST(ConfigErrors, MalformedUnicodeEscape) {
  expect_error("a=1\nb=\\u12x4\n", {"server.properties", "line 2", "uxxxx"});
}

// What the CodeCrafters harness writes: no trailing newline, controller keys,
// a protocol map naming listeners that are not served.
TEST(ConfigSyntax, TheCodeCraftersFile) {
  BrokerConfig c = parse_ok(
      "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@localhost:9093\n"
      "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\n"
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,"
      "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL\nlog.dirs=/tmp/kraft-combined-logs");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 9092);
  EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/tmp/kraft-combined-logs"});
  EXPECT_EQ(c.node_id, 1);
}

TEST(ConfigErrors, NonIntegerNodeId) {
  expect_error("listeners=PLAINTEXT://:9092\nnode.id=abc\n",
               {"server.properties:2", "node.id", "abc"});
  expect_error("node.id=12x\n", {"server.properties:1", "node.id"});
  expect_error("node.id=\n", {"server.properties:1", "node.id"});
  expect_error("broker.id=one\n", {"server.properties:1", "broker.id"});
}

TEST(ConfigErrors, NodeIdOutOfRange) {
  expect_error("node.id=-1\n", {"server.properties:1", "node.id"});
  expect_error("node.id=2147483648\n", {"server.properties:1", "node.id"});
  expect_error("node.id=99999999999999999999999\n", {"server.properties:1", "node.id"});
}

TEST(ConfigErrors, PortOutOfRangeOrInvalid) {
  expect_error("\nlisteners=PLAINTEXT://:65536\n", {"server.properties:2", "listeners", "65536"});
  expect_error("listeners=PLAINTEXT://:-1\n", {"server.properties:1", "listeners"});
  expect_error("listeners=PLAINTEXT://:port\n", {"server.properties:1", "listeners"});
  expect_error("listeners=PLAINTEXT://:\n", {"server.properties:1", "listeners"});
  expect_error("listeners=PLAINTEXT://localhost\n", {"server.properties:1", "listeners"});
  expect_error("listeners=PLAINTEXT://:99999999999999999999\n",
               {"server.properties:1", "listeners"});
}

TEST(ConfigErrors, ListenerWithoutScheme) {
  expect_error("listeners=PLAINTEXT:9092\n",
               {"server.properties:1", "listeners", "PLAINTEXT:9092"});
  expect_error("listeners=localhost:9092\n", {"server.properties:1", "listeners"});
  expect_error("listeners=://:9092\n", {"server.properties:1", "listeners"});
}

TEST(ConfigErrors, SaslListenersNeedAMechanism) {
  // SASL_PLAINTEXT and SASL_SSL are served, but not with Kafka's default mechanism (GSSAPI).
  expect_error("listeners=SASL_PLAINTEXT://:9093\n", {"SASL_PLAINTEXT", "GSSAPI"});
  expect_error("listeners=SASL_SSL://:9093\n", {"SASL_SSL", "GSSAPI"});
  // A name mapped to SASL_SSL.
  expect_error(
      "listeners=SECURE://:9093\n"
      "listener.security.protocol.map=SECURE:SASL_SSL\n",
      {"SECURE", "GSSAPI"});
}

TEST(ConfigListeners, SslListenersCarryTheirProtocol) {
  // Unmapped names are their own protocol; a mapped name takes its protocol.
  auto r = parse_config(
      "listeners=PLAINTEXT://:9092,SSL://:9093,SECURE://:9094\n"
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SECURE:SSL\n",
      "server.properties", {});
  ASSERT_TRUE(r.config) << r.error;
  ASSERT_EQ(r.config->listeners.size(), 3u);
  EXPECT_EQ(r.config->listeners[0].protocol, SecurityProtocol::kPlaintext);
  EXPECT_EQ(r.config->listeners[1].protocol, SecurityProtocol::kSsl);
  EXPECT_EQ(r.config->listeners[2].protocol, SecurityProtocol::kSsl);
  // An SSL listener alone is a broker.
  r = parse_config("listeners=SSL://:9093\n", "server.properties", {});
  ASSERT_TRUE(r.config) << r.error;
}

TEST(ConfigErrors, DuplicateListenerNames) {
  expect_error("listeners=PLAINTEXT://:9092,PLAINTEXT://:9093\n",
               {"server.properties:1", "listeners", "PLAINTEXT"});
}

TEST(ConfigErrors, OnlyAControllerListener) {
  expect_error(
      "listeners=CONTROLLER://:9093\n"
      "controller.listener.names=CONTROLLER\n",
      {"server.properties:1", "listeners"});
}

TEST(ConfigErrors, MalformedProtocolMap) {
  expect_error(
      "listeners=PLAINTEXT://:9092\n"
      "listener.security.protocol.map=PLAINTEXT\n",
      {"server.properties:2", "listener.security.protocol.map"});
}

TEST(ConfigErrors, BadAdvertisedListener) {
  expect_error("advertised.listeners=PLAINTEXT://localhost:70000\n",
               {"server.properties:1", "advertised.listeners"});
}

TEST(ConfigErrors, SocketRequestMaxBytesTooSmall) {
  expect_error("socket.request.max.bytes=63\n",
               {"server.properties:1", "socket.request.max.bytes", "63"});
  expect_error("socket.request.max.bytes=0\n", {"socket.request.max.bytes"});
}

TEST(ConfigErrors, MaxConnectionsZero) {
  expect_error("max.connections=0\n", {"server.properties:1", "max.connections"});
  expect_error("kb.socket.output.buffer.bytes=10\n",
               {"server.properties:1", "kb.socket.output.buffer.bytes"});
}

TEST(ConfigErrors, EmptyLogDirs) {
  expect_error("log.dirs=\n", {"server.properties:1", "log.dirs"});
  expect_error("log.dir= , \n", {"server.properties:1", "log.dir"});
}

TEST(ConfigErrors, MissingFile) {
  const std::string path = ::testing::TempDir() + "kb_config_test_no_such_file.properties";
  ConfigResult r = load_config(path, {});
  EXPECT_FALSE(r.config.has_value());
  EXPECT_NE(r.error.find(path), std::string::npos) << r.error;
}

// Regression (found by this test, fixed in 748345b): std::ifstream opens a
// directory without error on Linux and reads nothing, so a directory given by
// mistake used to start the broker on all defaults.
TEST(ConfigErrors, DirectoryInsteadOfAFile) {
  const std::string dir = ::testing::TempDir();
  ConfigResult r = load_config(dir, {});
  EXPECT_FALSE(r.config.has_value()) << "a directory was accepted as an (empty) config file";
  EXPECT_NE(r.error.find(dir), std::string::npos) << r.error;
}

TEST(ConfigErrors, ErrorInAFileOnDiskNamesThatFile) {
  TempFile file("node.id=1\nnode.id=x\n");
  ASSERT_FALSE(file.path().empty());
  ConfigResult r = load_config(file.path(), {});
  EXPECT_FALSE(r.config.has_value());
  EXPECT_NE(r.error.find(file.path() + ":2"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("node.id"), std::string::npos) << r.error;
}

TEST(ConfigErrors, BadOverride) {
  expect_error("", {"--override", "node.id"}, {"node.id"});
  expect_error("", {"--override", "=5"}, {"=5"});
  // A well-formed override with a bad value names the override and the key.
  expect_error(kKafkaDefaultFile, {"--override", "node.id", "x"}, {"node.id=x"});
  expect_error("", {"--override", "listeners"}, {"listeners=SECURE://:9093"});
}

TEST(ConfigTopicsAndLogs, DefaultsAndValues) {
  BrokerConfig d = parse_ok("listeners=PLAINTEXT://:9092\n");
  EXPECT_TRUE(d.auto_create_topics);
  EXPECT_EQ(d.num_partitions, 1);
  EXPECT_EQ(d.log.max_message_bytes, 1048588);
  EXPECT_FALSE(d.log.log_append_time);
  BrokerConfig c = parse_ok(
      "auto.create.topics.enable=false\nnum.partitions=4\nmessage.max.bytes=2000\n"
      "log.segment.bytes=4096\nlog.index.interval.bytes=100\n"
      "log.flush.interval.messages=1\nlog.message.timestamp.type=LogAppendTime\n"
      "kb.log.writeback.interval.bytes=0\nkb.log.segment.preallocate.bytes=1048576\n");
  EXPECT_FALSE(c.auto_create_topics);
  EXPECT_EQ(c.num_partitions, 4);
  EXPECT_EQ(c.log.max_message_bytes, 2000);
  EXPECT_EQ(c.log.segment_bytes, 4096u);
  EXPECT_EQ(c.log.index_interval_bytes, 100u);
  EXPECT_EQ(c.log.flush_interval_messages, 1);
  EXPECT_TRUE(c.log.log_append_time);
  EXPECT_EQ(d.log.writeback_interval_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(d.log.segment_preallocate_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(c.log.writeback_interval_bytes, 0u);
  EXPECT_EQ(c.log.segment_preallocate_bytes, 1024u * 1024);
}

TEST(ConfigTopicsAndLogs, BadValuesNameLineAndKey) {
  expect_error("num.partitions=0\n", {"server.properties:1", "num.partitions"});
  expect_error("\nauto.create.topics.enable=yes\n", {":2", "auto.create.topics.enable"});
  expect_error("log.message.timestamp.type=Now\n", {"log.message.timestamp.type"});
  expect_error("log.flush.interval.messages=0\n", {"log.flush.interval.messages"});
  expect_error("kb.log.writeback.interval.bytes=-1\n", {"kb.log.writeback.interval.bytes"});
  expect_error("log.segment.bytes=abc\n", {"log.segment.bytes"});
  expect_error("log.roll.ms=0\n", {"log.roll.ms"});
  expect_error("log.roll.hours=x\n", {"log.roll.hours"});
  expect_error("log.flush.interval.ms=-1\n", {"log.flush.interval.ms"});
  expect_error("log.message.timestamp.after.max.ms=-5\n", {"log.message.timestamp.after.max.ms"});
}

TEST(ConfigTopicsAndLogs, DurabilityKeys) {
  BrokerConfig d = parse_ok("listeners=PLAINTEXT://:9092\n");
  EXPECT_EQ(d.log.flush_interval_ms, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(d.log.flush_checkpoint_interval_ms, 60000);
  EXPECT_EQ(d.log.roll_ms, 168LL * 3600 * 1000);
  EXPECT_EQ(d.log.timestamp_before_max_ms, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(d.log.timestamp_after_max_ms, 3600000);
  BrokerConfig c = parse_ok(
      "log.flush.interval.ms=250\nlog.flush.scheduler.interval.ms=100\n"
      "log.flush.offset.checkpoint.interval.ms=5000\nlog.roll.hours=2\n"
      "log.message.timestamp.before.max.ms=1000\nlog.message.timestamp.after.max.ms=0\n");
  EXPECT_EQ(c.log.flush_interval_ms, 250);
  EXPECT_EQ(c.log.flush_scheduler_interval_ms, 100);
  EXPECT_EQ(c.log.flush_checkpoint_interval_ms, 5000);
  EXPECT_EQ(c.log.roll_ms, 2LL * 3600 * 1000);
  EXPECT_EQ(c.log.timestamp_before_max_ms, 1000);
  EXPECT_EQ(c.log.timestamp_after_max_ms, 0);
  // log.roll.ms wins over log.roll.hours.
  EXPECT_EQ(parse_ok("log.roll.hours=2\nlog.roll.ms=1500\n").log.roll_ms, 1500);
}

// Consumer groups of KIP-848: Kafka's defaults, values, and the assignors by
// name or by Kafka's class names.
TEST(ConfigGroups, ConsumerGroupKeys) {
  const BrokerConfig defaults = parse_ok("");
  EXPECT_EQ(defaults.groups.consumer_session_timeout_ms, 45000);
  EXPECT_EQ(defaults.groups.consumer_heartbeat_interval_ms, 5000);
  EXPECT_EQ(defaults.groups.consumer_assignors, (std::vector<std::string>{"uniform", "range"}));
  const BrokerConfig set = parse_ok(
      "group.consumer.session.timeout.ms=10000\ngroup.consumer.heartbeat.interval.ms=500\n"
      "group.consumer.min.session.timeout.ms=10000\ngroup.consumer.min.heartbeat.interval.ms=500\n"
      "group.consumer.max.size=3\n"
      "group.consumer.assignors=org.apache.kafka.coordinator.group.assignor.RangeAssignor, "
      "uniform\n");
  EXPECT_EQ(set.groups.consumer_session_timeout_ms, 10000);
  EXPECT_EQ(set.groups.consumer_heartbeat_interval_ms, 500);
  EXPECT_EQ(set.groups.consumer_max_size, 3);
  EXPECT_EQ(set.groups.consumer_assignors, (std::vector<std::string>{"range", "uniform"}));
  expect_error("group.consumer.assignors=sticky\n", {"group.consumer.assignors", "sticky"});
  expect_error("group.consumer.heartbeat.interval.ms=0\n",
               {"group.consumer.heartbeat.interval.ms"});
  // Kafka's migration policy: bidirectional unless set, its names in any case.
  EXPECT_EQ(defaults.groups.consumer_migration_policy, group::MigrationPolicy::kBidirectional);
  EXPECT_EQ(parse_ok("group.consumer.migration.policy=Upgrade\n").groups.consumer_migration_policy,
            group::MigrationPolicy::kUpgrade);
  EXPECT_EQ(parse_ok("group.consumer.migration.policy=disabled\n").groups.consumer_migration_policy,
            group::MigrationPolicy::kDisabled);
  expect_error("group.consumer.migration.policy=sideways\n",
               {"group.consumer.migration.policy", "sideways"});
}

// The bounds Kafka's group coordinator checks at start-up, with its words:
// a heartbeat interval below Kafka's minimum of 5 s needs the minimum lowered.
TEST(ConfigGroups, ConsumerGroupTimesWithinTheirBoundsAsKafkaRequires) {
  expect_error("group.consumer.heartbeat.interval.ms=1000\n",
               {"group.consumer.heartbeat.interval.ms must be greater than or equal to "
                "group.consumer.min.heartbeat.interval.ms"});
  EXPECT_EQ(parse_ok("group.consumer.heartbeat.interval.ms=1000\n"
                     "group.consumer.min.heartbeat.interval.ms=1000\n")
                .groups.consumer_heartbeat_interval_ms,
            1000);
  expect_error("group.consumer.heartbeat.interval.ms=20000\n",
               {"group.consumer.heartbeat.interval.ms must be less than or equal to "
                "group.consumer.max.heartbeat.interval.ms"});
  expect_error("group.consumer.max.heartbeat.interval.ms=4000\n",
               {"group.consumer.max.heartbeat.interval.ms must be greater than or equal to "
                "group.consumer.min.heartbeat.interval.ms"});
  expect_error("group.consumer.session.timeout.ms=30000\n",
               {"group.consumer.session.timeout.ms must be greater than or equal to "
                "group.consumer.min.session.timeout.ms"});
  expect_error("group.consumer.session.timeout.ms=70000\n",
               {"group.consumer.session.timeout.ms must be less than or equal to "
                "group.consumer.max.session.timeout.ms"});
  expect_error("group.consumer.max.session.timeout.ms=40000\n",
               {"group.consumer.max.session.timeout.ms must be greater than or equal to "
                "group.consumer.min.session.timeout.ms"});
  expect_error(
      "group.consumer.heartbeat.interval.ms=10000\ngroup.consumer.session.timeout.ms=10000\n"
      "group.consumer.min.session.timeout.ms=10000\n",
      {"group.consumer.heartbeat.interval.ms must be less than group.consumer.session.timeout.ms"});
}

// The log cleaner's map is shared out among its threads: Kafka refuses to
// start with 1 MiB or less a thread, and with no thread to share it among.
TEST(ConfigLogCleaner, TheMapMustGiveEachThreadMoreThanOneMebibyte) {
  parse_ok("log.cleaner.threads=4\nlog.cleaner.dedupe.buffer.size=8388608\n");
  expect_error("log.cleaner.threads=8\nlog.cleaner.dedupe.buffer.size=8388608\n",
               {"log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread."});
  expect_error("log.cleaner.dedupe.buffer.size=1048576\n",
               {"log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread."});
  expect_error("log.cleaner.threads=0\n", {"log.cleaner.threads must be at least 1"});
  expect_error("log.cleaner.threads=two\n", {"log.cleaner.threads"});
}

}  // namespace
}  // namespace kb::broker
