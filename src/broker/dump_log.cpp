#include "kb/broker/dump_log.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <variant>

#include <fmt/format.h>

#include "kb/security/scram.hpp"
#include "kb/storage/compression.hpp"
#include "kb/storage/metadata_records.hpp"
#include "kb/storage/record_batch.hpp"
#include "kb/wire/reader.hpp"

namespace kb::broker {

namespace {

namespace fs = std::filesystem;
using storage::Bytes;

struct Options {
  std::vector<std::string> files;
  bool print_data = false;
  bool deep = false;
  bool metadata_decoder = false;
  bool skip_record_metadata = false;
  bool index_sanity_only = false;
  bool verify_only = false;
  int64_t max_bytes = std::numeric_limits<int32_t>::max();
  int64_t max_message_size = int64_t{5} * 1024 * 1024;
};

// Findings by file, printed after every file as Kafka's tool prints them: in
// the iteration order of its java.util.HashMap keyed by the path, filled with
// computeIfAbsent; each file's pairs in the order of their list, or of the
// TreeMap keyed by the first of each pair.
class FindingsByFile {
 public:
  enum class Order { kAsAdded, kAscending, kDescending };
  using Pairs = std::vector<std::pair<int64_t, int64_t>>;
  explicit FindingsByFile(Order order) : order_(order) {}

  void add(const std::string& file, int64_t first, int64_t second) {
    for (auto& [f, pairs] : entries_) {
      if (f == file) {
        pairs.emplace_back(first, second);
        return;
      }
    }
    entries_.emplace_back(file, Pairs{{first, second}});
  }

  template <class F>
  void for_each(F&& f) const {
    for (size_t i : java_hash_map_order()) f(entries_[i].first, ordered(entries_[i].second));
  }

 private:
  Pairs ordered(const Pairs& pairs) const {
    if (order_ == Order::kAsAdded) return pairs;
    std::map<int64_t, int64_t> by_first;  // a later pair with the same key replaces one
    for (const auto& [a, b] : pairs) by_first[a] = b;
    Pairs out(by_first.begin(), by_first.end());
    if (order_ == Order::kDescending) std::reverse(out.begin(), out.end());
    return out;
  }

  // HashMap puts a key in bucket (h ^ h >>> 16) & (capacity - 1), h being
  // String.hashCode(); the capacity doubles from 16 while the entries exceed
  // three quarters of it; computeIfAbsent puts a new key at the head of its
  // bucket.
  std::vector<size_t> java_hash_map_order() const {
    size_t capacity = 16;
    while (entries_.size() > capacity * 3 / 4) capacity *= 2;
    std::vector<std::pair<uint32_t, size_t>> order;
    order.reserve(entries_.size());
    for (size_t i = 0; i < entries_.size(); ++i) {
      uint32_t h = 0;
      for (unsigned char c : entries_[i].first) h = 31 * h + c;
      order.emplace_back((h ^ (h >> 16)) & static_cast<uint32_t>(capacity - 1), i);
    }
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    });
    std::vector<size_t> out;
    out.reserve(order.size());
    for (const auto& [bucket, i] : order) out.push_back(i);
    return out;
  }

  Order order_;
  std::vector<std::pair<std::string, Pairs>> entries_;
};

struct Findings {
  using Order = FindingsByFile::Order;
  FindingsByFile index_mismatches{Order::kDescending};
  FindingsByFile time_mismatches{Order::kAsAdded};
  FindingsByFile time_out_of_order{Order::kAsAdded};
  FindingsByFile time_not_found{Order::kAsAdded};
  FindingsByFile non_consecutive{Order::kAscending};
};

std::optional<std::vector<uint8_t>> read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::string absolute_of(const fs::path& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  return ec ? p.string() : a.lexically_normal().string();
}

// The base offset a segment file's name holds (the part before the first dot).
std::optional<int64_t> base_offset_of(const fs::path& file) {
  const std::string name = file.filename().string();
  const std::string_view digits = std::string_view(name).substr(0, name.find('.'));
  int64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    return std::nullopt;
  return v;
}

std::string_view timestamp_type_name(const storage::RecordBatchHeader& h) {
  return h.timestamp_type() == storage::TimestampType::log_append_time ? "LogAppendTime"
                                                                       : "CreateTime";
}

std::string_view codec_name(storage::Compression c) {
  switch (c) {
    case storage::Compression::none:
      return "none";
    case storage::Compression::gzip:
      return "gzip";
    case storage::Compression::snappy:
      return "snappy";
    case storage::Compression::lz4:
      return "lz4";
    case storage::Compression::zstd:
      return "zstd";
  }
  return "unknown";
}

// Kafka's sequence arithmetic: past Integer.MAX_VALUE it wraps to 0.
int32_t sequence_at(int32_t base, int32_t delta) {
  if (base == storage::kNoSequence) return storage::kNoSequence;
  if (base > std::numeric_limits<int32_t>::max() - delta)
    return base - (std::numeric_limits<int32_t>::max() - delta) - 1;
  return base + delta;
}

// ---------------------------------------------------------------- JSON

// Jackson's compact form, which Kafka's JSON converters print.
class Json {
 public:
  Json& open() {
    comma();
    text_ += '{';
    first_ = true;
    return *this;
  }
  Json& close() {
    text_ += '}';
    first_ = false;
    return *this;
  }
  Json& open_array() {
    comma();
    text_ += '[';
    first_ = true;
    return *this;
  }
  Json& close_array() {
    text_ += ']';
    first_ = false;
    return *this;
  }
  Json& key(std::string_view k) {
    comma();
    string_value(k);
    text_ += ':';
    first_ = true;  // the value follows without a comma
    return *this;
  }
  Json& str(std::string_view s) {
    comma();
    string_value(s);
    return *this;
  }
  Json& num(int64_t n) {
    comma();
    text_ += std::to_string(n);
    return *this;
  }
  Json& boolean(bool b) {
    comma();
    text_ += b ? "true" : "false";
    return *this;
  }
  Json& raw(std::string_view text) {
    comma();
    text_ += text;
    return *this;
  }
  Json& null() {
    comma();
    text_ += "null";
    return *this;
  }
  Json& uuid(const wire::Uuid& id) { return str(id.to_base64()); }
  template <class T>
  Json& ints(const std::vector<T>& v) {
    open_array();
    for (T x : v) num(x);
    return close_array();
  }
  Json& uuids(const std::vector<wire::Uuid>& v) {
    open_array();
    for (const auto& x : v) uuid(x);
    return close_array();
  }
  const std::string& text() const { return text_; }

 private:
  void comma() {
    if (!first_) text_ += ',';
    first_ = false;
  }
  void string_value(std::string_view s) {
    text_ += '"';
    for (char c : s) {
      switch (c) {
        case '"':
          text_ += "\\\"";
          break;
        case '\\':
          text_ += "\\\\";
          break;
        case '\n':
          text_ += "\\n";
          break;
        case '\r':
          text_ += "\\r";
          break;
        case '\t':
          text_ += "\\t";
          break;
        case '\b':
          text_ += "\\b";
          break;
        case '\f':
          text_ += "\\f";
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20)
            text_ += fmt::format("\\u{:04X}", static_cast<unsigned>(c));
          else
            text_ += c;
      }
    }
    text_ += '"';
  }

  std::string text_;
  bool first_ = true;
};

// The record's fields as Kafka's generated JSON converters write them: schema
// order, names in camelCase, tagged fields only when not at their default.
void record_json(Json& j, const storage::RegisterBrokerRecord& r, int16_t v) {
  j.key("brokerId").num(r.broker_id);
  if (v >= 2) j.key("isMigratingZkBroker").boolean(r.is_migrating_zk_broker);
  j.key("incarnationId").uuid(r.incarnation_id);
  j.key("brokerEpoch").num(r.broker_epoch);
  j.key("endPoints").open_array();
  for (const auto& e : r.end_points) {
    j.open();
    j.key("name").str(e.name).key("host").str(e.host).key("port").num(e.port);
    j.key("securityProtocol").num(e.security_protocol);
    j.close();
  }
  j.close_array();
  j.key("features").open_array();
  for (const auto& f : r.features) {
    j.open();
    j.key("name").str(f.name).key("minSupportedVersion").num(f.min_supported_version);
    j.key("maxSupportedVersion").num(f.max_supported_version);
    j.close();
  }
  j.close_array();
  j.key("rack");
  if (r.rack)
    j.str(*r.rack);
  else
    j.null();
  j.key("fenced").boolean(r.fenced);
  if (v >= 1) j.key("inControlledShutdown").boolean(r.in_controlled_shutdown);
  if (v >= 3 && !r.log_dirs.empty()) j.key("logDirs").uuids(r.log_dirs);
  if (v >= 4 && r.cordoned_log_dirs) j.key("cordonedLogDirs").uuids(*r.cordoned_log_dirs);
}

void record_json(Json& j, const storage::TopicRecord& r, int16_t /*v*/) {
  j.key("name").str(r.name).key("topicId").uuid(r.topic_id);
}

void record_json(Json& j, const storage::PartitionRecord& r, int16_t v) {
  j.key("partitionId").num(r.partition_id).key("topicId").uuid(r.topic_id);
  j.key("replicas").ints(r.replicas).key("isr").ints(r.isr);
  j.key("removingReplicas").ints(r.removing_replicas);
  j.key("addingReplicas").ints(r.adding_replicas);
  j.key("leader").num(r.leader);
  if (r.leader_recovery_state != 0) j.key("leaderRecoveryState").num(r.leader_recovery_state);
  j.key("leaderEpoch").num(r.leader_epoch).key("partitionEpoch").num(r.partition_epoch);
  if (v >= 1) j.key("directories").uuids(r.directories);
  if (v >= 2 && r.eligible_leader_replicas)
    j.key("eligibleLeaderReplicas").ints(*r.eligible_leader_replicas);
  if (v >= 2 && r.last_known_elr) j.key("lastKnownElr").ints(*r.last_known_elr);
}

void record_json(Json& j, const storage::ConfigRecord& r, int16_t /*v*/) {
  j.key("resourceType").num(r.resource_type).key("resourceName").str(r.resource_name);
  j.key("name").str(r.name).key("value");
  if (r.value)
    j.str(*r.value);
  else
    j.null();
}

void record_json(Json& j, const storage::PartitionChangeRecord& r, int16_t v) {
  j.key("partitionId").num(r.partition_id).key("topicId").uuid(r.topic_id);
  if (r.isr) j.key("isr").ints(*r.isr);
  if (r.leader != storage::kLeaderUnchanged) j.key("leader").num(r.leader);
  if (r.replicas) j.key("replicas").ints(*r.replicas);
  if (r.removing_replicas) j.key("removingReplicas").ints(*r.removing_replicas);
  if (r.adding_replicas) j.key("addingReplicas").ints(*r.adding_replicas);
  if (r.leader_recovery_state != storage::kRecoveryStateUnchanged)
    j.key("leaderRecoveryState").num(r.leader_recovery_state);
  if (v >= 1 && r.directories) j.key("directories").uuids(*r.directories);
  if (v >= 2 && r.eligible_leader_replicas)
    j.key("eligibleLeaderReplicas").ints(*r.eligible_leader_replicas);
  if (v >= 2 && r.last_known_elr) j.key("lastKnownElr").ints(*r.last_known_elr);
}

void record_json(Json& j, const storage::RemoveTopicRecord& r, int16_t /*v*/) {
  j.key("topicId").uuid(r.topic_id);
}

void record_json(Json& j, const storage::FeatureLevelRecord& r, int16_t /*v*/) {
  j.key("name").str(r.name).key("featureLevel").num(r.feature_level);
}

void record_json(Json& j, const storage::ProducerIdsRecord& r, int16_t /*v*/) {
  j.key("brokerId").num(r.broker_id).key("brokerEpoch").num(r.broker_epoch);
  j.key("nextProducerId").num(r.next_producer_id);
}

// Bytes fields as Jackson writes a byte[]: base64 with padding.
void record_json(Json& j, const storage::UserScramCredentialRecord& r, int16_t /*v*/) {
  j.key("name").str(r.name).key("mechanism").num(r.mechanism);
  j.key("salt").str(security::base64_encode(r.salt));
  j.key("storedKey").str(security::base64_encode(r.stored_key));
  j.key("serverKey").str(security::base64_encode(r.server_key));
  j.key("iterations").num(r.iterations);
}

void record_json(Json& j, const storage::RemoveUserScramCredentialRecord& r, int16_t /*v*/) {
  j.key("name").str(r.name).key("mechanism").num(r.mechanism);
}

// A double as Java's Double.toString writes it (Jackson prints doubles so):
// "1024.0" from 10^-3 up to 10^7, "1.0E7" outside.
std::string java_double(double d) {
  if (!std::isfinite(d)) return std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
  const double magnitude = std::abs(d);
  std::array<char, 64> buffer{};
  if (d == 0 || (magnitude >= 1e-3 && magnitude < 1e7)) {
    auto [end, ec] =
        std::to_chars(buffer.data(), buffer.data() + buffer.size(), d, std::chars_format::fixed);
    std::string s(buffer.data(), end);
    if (s.find('.') == std::string::npos) s += ".0";
    return s;
  }
  auto [end, ec] =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), d, std::chars_format::scientific);
  std::string s(buffer.data(), end);  // "1e+07", "1.5e-05"
  const size_t e = s.find('e');
  std::string mantissa = s.substr(0, e);
  if (mantissa.find('.') == std::string::npos) mantissa += ".0";
  const int exponent = std::stoi(s.substr(e + 1));
  return mantissa + "E" + std::to_string(exponent);
}

void record_json(Json& j, const storage::ClientQuotaRecord& r, int16_t /*v*/) {
  j.key("entity").open_array();
  for (const auto& e : r.entity) {
    j.open().key("entityType").str(e.entity_type).key("entityName");
    if (e.entity_name)
      j.str(*e.entity_name);
    else
      j.null();
    j.close();
  }
  j.close_array();
  j.key("key").str(r.key).key("value").raw(java_double(r.value)).key("remove").boolean(r.remove);
}

void record_json(Json& j, const storage::AccessControlEntryRecord& r, int16_t /*v*/) {
  j.key("id").uuid(r.id).key("resourceType").num(r.resource_type);
  j.key("resourceName").str(r.resource_name).key("patternType").num(r.pattern_type);
  j.key("principal").str(r.principal).key("host").str(r.host);
  j.key("operation").num(r.operation).key("permissionType").num(r.permission_type);
}

void record_json(Json& j, const storage::RemoveAccessControlEntryRecord& r, int16_t /*v*/) {
  j.key("id").uuid(r.id);
}

// "TopicRecord" -> "TOPIC_RECORD", as Kafka's MetadataRecordType names it.
std::string upper_snake(std::string_view camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    const char c = camel[i];
    if (i > 0 && c >= 'A' && c <= 'Z') out += '_';
    out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  return out;
}

// What --cluster-metadata-decoder prints for one record value.
std::string metadata_payload(int64_t offset, std::optional<Bytes> value) {
  if (!value) return fmt::format("Error at {}, skipping. no value", offset);
  auto decoded = storage::decode_metadata_record(*value);
  if (!decoded) return fmt::format("Error at {}, skipping. {}", offset, decoded.error().message);
  uint32_t type = 0;
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, storage::UnknownMetadataRecord>)
          type = r.type;
        else
          type = R::kType;
      },
      decoded->record);
  Json j;
  j.open().key("type").str(upper_snake(storage::metadata_record_type_name(type)));
  j.key("version").num(decoded->version).key("data");
  if (std::holds_alternative<storage::UnknownMetadataRecord>(decoded->record))
    return fmt::format("Error at {}, skipping. {} is not decoded by this broker", offset,
                       storage::metadata_record_type_name(type));
  j.open();
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (!std::is_same_v<R, storage::UnknownMetadataRecord>)
          record_json(j, r, decoded->version);
      },
      decoded->record);
  j.close().close();
  return j.text();
}

// Bytes as Java's new String(bytes, UTF_8) reads them, which is how Kafka
// prints keys, values and header keys: valid UTF-8 as it is, each malformed
// sequence as one U+FFFD, a sequence measured as Java's decoder measures it
// (a bad lead byte or the lead before a bad continuation alone, an encoded
// surrogate as a whole, a truncated sequence at the end as one).
std::string bytes_text(Bytes b) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  auto continuation = [](uint8_t c) { return (c & 0xC0) == 0x80; };
  std::string out;
  out.reserve(b.size());
  size_t i = 0;
  while (i < b.size()) {
    const uint8_t b1 = b[i];
    const size_t left = b.size() - i;
    size_t good = 0;  // a valid sequence of this many bytes
    size_t bad = 1;   // else a malformed one of this many
    if (b1 < 0x80) {
      good = 1;
    } else if (b1 >= 0xC2 && b1 <= 0xDF) {
      if (left < 2)
        bad = left;
      else if (continuation(b[i + 1]))
        good = 2;
    } else if ((b1 & 0xF0) == 0xE0) {
      const bool bad_second =
          left > 1 && ((b1 == 0xE0 && (b[i + 1] & 0xE0) == 0x80) || !continuation(b[i + 1]));
      if (left < 3)
        bad = bad_second ? 1 : left;
      else if (bad_second)
        bad = 1;
      else if (!continuation(b[i + 2]))
        bad = 2;
      else if (b1 == 0xED && b[i + 1] >= 0xA0)
        bad = 3;  // a surrogate
      else
        good = 3;
    } else if ((b1 & 0xF8) == 0xF0) {
      const bool bad_second =
          b1 > 0xF4 ||
          (left > 1 && ((b1 == 0xF0 && (b[i + 1] < 0x90 || b[i + 1] > 0xBF)) ||
                        (b1 == 0xF4 && (b[i + 1] & 0xF0) != 0x80) || !continuation(b[i + 1])));
      if (bad_second)
        bad = 1;
      else if (left > 2 && !continuation(b[i + 2]))
        bad = 2;
      else if (left < 4)
        bad = left;
      else if (!continuation(b[i + 3]))
        bad = 3;
      else
        good = 4;
    }
    if (good > 0) {
      out.append(reinterpret_cast<const char*>(b.data() + i), good);
      i += good;
    } else {
      out += kReplacement;
      i += bad;
    }
  }
  return out;
}

// What a control record's line adds, as Kafka prints each type.
std::string control_text(const storage::RecordView& record) {
  const std::optional<int16_t> type =
      record.key ? storage::parse_control_record_type(*record.key) : std::nullopt;
  if (!type) return " controlType: UNKNOWN(-1)";
  if (*type == 0 || *type == 1) {
    // The value: int16 version, int32 coordinator epoch.
    int32_t epoch = -1;
    if (record.value && record.value->size() >= 6) {
      wire::Reader r(*record.value);
      r.int16();
      epoch = r.int32();
    }
    return fmt::format(" endTxnMarker: {} coordinatorEpoch: {}", *type == 0 ? "ABORT" : "COMMIT",
                       epoch);
  }
  if (*type == 3 && record.value) {
    storage::SnapshotHeaderRecord h;
    wire::Reader r(*record.value);
    wire::decode(r, h, 0, true);
    if (r.ok())
      return fmt::format(" SnapshotHeader {{\"version\":{},\"lastContainedLogTimestamp\":{}}}",
                         h.version, h.last_contained_log_timestamp);
  }
  if (*type == 4 && record.value) {
    storage::SnapshotFooterRecord f;
    wire::Reader r(*record.value);
    wire::decode(r, f, 0, true);
    if (r.ok()) return fmt::format(" SnapshotFooter {{\"version\":{}}}", f.version);
  }
  static constexpr std::string_view kNames[] = {
      "ABORT",           "COMMIT",        "LEADER_CHANGE", "SNAPSHOT_HEADER",
      "SNAPSHOT_FOOTER", "KRAFT_VERSION", "KRAFT_VOTERS"};
  const std::string_view name = *type >= 0 && static_cast<size_t>(*type) < std::size(kNames)
                                    ? kNames[static_cast<size_t>(*type)]
                                    : "UNKNOWN";
  return fmt::format(" controlType: {}({})", name, *type);
}

// ---------------------------------------------------------------- .log

// The batches of a log file as Kafka's FileRecords reads them: every whole
// batch, whatever its CRC; reading stops where a batch does not fit.
struct RawBatch {
  storage::RecordBatchHeader header;
  Bytes bytes;
};
std::optional<RawBatch> batch_at(Bytes data, size_t position) {
  constexpr size_t kHeaderUpToMagic = 17;
  if (data.size() - position < kHeaderUpToMagic) return std::nullopt;
  auto header = storage::RecordBatchHeader::parse(data.subspan(position));
  if (!header) return std::nullopt;
  const size_t size = header->size_in_bytes();
  if (size < storage::batch_layout::kHeaderSize || size > data.size() - position)
    return std::nullopt;
  return RawBatch{*header, data.subspan(position, size)};
}

void dump_log(const std::string& arg, const Options& o, Findings& findings, std::FILE* out) {
  const fs::path file(arg);
  const std::string name = file.filename().string();
  if (name.ends_with(".log")) {
    fmt::print(out, "Log starting offset: {}\n", base_offset_of(file).value_or(0));
  } else if (name == "bootstrap.checkpoint") {
    fmt::print(out, "KRaft bootstrap snapshot\n");
  } else {
    // <20-digit end offset>-<10-digit epoch>.checkpoint
    const size_t dash = name.find('-');
    fmt::print(out, "Snapshot end offset: {}, epoch: {}\n", std::stoll(name.substr(0, dash)),
               std::stoll(name.substr(dash + 1, name.find('.') - dash - 1)));
  }
  auto data = read_whole(file);
  if (!data) {
    fmt::print(out, "cannot read {}\n", arg);
    return;
  }
  Bytes all(*data);
  if (static_cast<int64_t>(all.size()) > o.max_bytes)
    all = all.subspan(0, static_cast<size_t>(o.max_bytes));
  size_t valid = 0;
  int64_t last_offset = -1;
  while (auto raw = batch_at(all, valid)) {
    const storage::RecordBatchHeader& h = raw->header;
    const bool crc_ok = storage::compute_batch_crc(raw->bytes) == h.crc;
    fmt::print(out,
               "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} "
               "producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} "
               "isControl: {} deleteHorizonMs: {} position: {} {}: {} size: {} magic: {} "
               "compresscodec: {} crc: {} isvalid: {}\n",
               h.base_offset, h.last_offset(), h.record_count, h.base_sequence,
               sequence_at(h.base_sequence, h.last_offset_delta), h.producer_id, h.producer_epoch,
               h.partition_leader_epoch, h.is_transactional(), h.is_control(),
               h.has_delete_horizon() ? fmt::format("OptionalLong[{}]", h.base_timestamp)
                                      : std::string("OptionalLong.empty"),
               valid, timestamp_type_name(h), h.max_timestamp, raw->bytes.size(), h.magic,
               codec_name(h.compression()), h.crc, crc_ok);
    if (o.deep) {
      auto view = storage::RecordBatchView::parse(raw->bytes, storage::CrcCheck::skip);
      std::vector<uint8_t> plain;
      std::optional<storage::RecordIterator> records;
      if (view && h.compression() != storage::Compression::none) {
        auto decompressed = storage::decompress(h.compression(), view->records_section());
        if (decompressed) {
          plain = std::move(*decompressed);
          records.emplace(*view, Bytes(plain));
        }
      } else if (view) {
        records.emplace(*view);
      }
      storage::RecordView record;
      while (records && records->next(record)) {
        // As Kafka 4.4's tool counts: from -1, so a segment not starting at
        // 0 reports its first offset as following -1.
        if (record.offset != last_offset + 1)
          findings.non_consecutive.add(absolute_of(file), last_offset, record.offset);
        last_offset = record.offset;
        // Kafka's layout: "| " before the first item, " " before the others.
        std::string line;
        std::string_view prefix = "| ";
        if (!o.skip_record_metadata) {
          const int64_t timestamp = h.timestamp_type() == storage::TimestampType::log_append_time
                                        ? h.max_timestamp
                                        : record.timestamp;
          std::string keys;
          for (const auto& header : record.headers)
            keys += (keys.empty() ? "" : ",") +
                    bytes_text(Bytes(reinterpret_cast<const uint8_t*>(header.key.data()),
                                     header.key.size()));
          line = fmt::format(
              "{}offset: {} {}: {} keySize: {} valueSize: {} sequence: {} headerKeys: [{}]", prefix,
              record.offset, timestamp_type_name(h), timestamp,
              record.key ? static_cast<int64_t>(record.key->size()) : -1,
              record.value ? static_cast<int64_t>(record.value->size()) : -1,
              sequence_at(h.base_sequence, record.offset_delta), keys);
          if (h.is_control()) line += control_text(record);
          prefix = " ";
        }
        if (o.print_data && !h.is_control()) {
          if (o.metadata_decoder) {
            line += fmt::format(" payload: {}", metadata_payload(record.offset, record.value));
          } else {
            if (record.key) line += fmt::format("{}key: {}", prefix, bytes_text(*record.key));
            if (record.value) line += " payload: " + bytes_text(*record.value);
          }
        }
        fmt::print(out, "{}\n", line);
      }
    }
    valid += raw->bytes.size();
  }
  // Kafka says so only when it read the whole file (no --max-bytes).
  if (valid < all.size() && o.max_bytes == std::numeric_limits<int32_t>::max())
    fmt::print(out, "Found {} invalid bytes at the end of {}\n", all.size() - valid, name);
}

// ---------------------------------------------------------------- indexes

// The last offset of the batch at `position` of the segment, or nullopt.
std::optional<int64_t> last_offset_at(Bytes log, uint64_t position) {
  if (position > log.size()) return std::nullopt;
  auto raw = batch_at(log, static_cast<size_t>(position));
  if (!raw) return std::nullopt;
  return raw->header.last_offset();
}

fs::path sibling(const fs::path& file, std::string_view suffix) {
  const std::string name = file.filename().string();
  return file.parent_path() / (name.substr(0, name.find('.')) + std::string(suffix));
}

int32_t be32(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}
int64_t be64(const uint8_t* p) {
  return static_cast<int64_t>((uint64_t(static_cast<uint32_t>(be32(p))) << 32) |
                              static_cast<uint32_t>(be32(p + 4)));
}

void dump_index(const std::string& arg, const Options& o, Findings& findings, std::FILE* out,
                std::FILE* err) {
  const fs::path file(arg);
  const int64_t base = base_offset_of(file).value_or(0);
  auto index = read_whole(file);
  auto log = read_whole(sibling(file, ".log"));
  if (!index || !log) {
    fmt::print(err, "cannot read {} and its segment\n", arg);
    return;
  }
  const size_t entries = index->size() / 8;
  if (entries == 0) {
    fmt::print(out, "{} is empty.\n", arg);
    return;
  }
  if (o.index_sanity_only) {
    const int64_t last = base + be32(index->data() + (entries - 1) * 8);
    if (last < base) {
      fmt::print(err,
                 "Corrupt index found, index file {} has non-zero size but the last offset is {} "
                 "which is less than the base offset {}.\n",
                 absolute_of(file), last, base);
    } else if (index->size() % 8 != 0) {
      fmt::print(err,
                 "Index file {} is corrupt, found {} bytes which is neither positive nor a "
                 "multiple of 8.\n",
                 absolute_of(file), index->size());
    } else {
      fmt::print(out, "{} passed sanity check.\n", arg);
    }
    return;
  }
  Bytes log_bytes(*log);
  for (size_t i = 0; i < entries; ++i) {
    const int64_t offset = base + be32(index->data() + i * 8);
    const auto position = static_cast<uint32_t>(be32(index->data() + i * 8 + 4));
    // A preallocated index ends in zeros: the first zero entry ends it.
    if (offset == base && i > 0) return;
    const std::optional<int64_t> found = last_offset_at(log_bytes, position);
    if (found.value_or(-1) != offset) {
      findings.index_mismatches.add(absolute_of(file), offset, found.value_or(-1));
    }
    if (!o.verify_only) fmt::print(out, "offset: {} position: {}\n", offset, position);
  }
}

void dump_time_index(const std::string& arg, const Options& o, Findings& findings, std::FILE* out,
                     std::FILE* err) {
  const fs::path file(arg);
  const int64_t base = base_offset_of(file).value_or(0);
  auto index = read_whole(file);
  auto log = read_whole(sibling(file, ".log"));
  if (!index || !log) {
    fmt::print(err, "cannot read {} and its segment\n", arg);
    return;
  }
  const size_t entries = index->size() / 12;
  if (o.index_sanity_only) {
    const int64_t last_offset = entries == 0 ? base : base + be32(index->data() + entries * 12 - 4);
    if (entries != 0 && last_offset < base) {
      fmt::print(err,
                 "Corrupt time index found, time index file ({}) has non-zero size but the last "
                 "offset is {} which is less than the first offset {}\n",
                 absolute_of(file), last_offset, base);
    } else if (index->size() % 12 != 0) {
      fmt::print(err,
                 "Time index file {} is corrupt, found {} bytes which is neither positive nor a "
                 "multiple of 12.\n",
                 absolute_of(file), index->size());
    } else {
      fmt::print(out, "{} passed sanity check.\n", arg);
    }
    return;
  }
  Bytes log_bytes(*log);
  int64_t previous = storage::kNoTimestamp;
  for (size_t i = 0; i < entries; ++i) {
    const int64_t timestamp = be64(index->data() + i * 12);
    const int64_t offset = base + be32(index->data() + i * 12 + 8);
    if (offset == base && i > 0) return;
    // The batch holding the offset, found from the start of the segment.
    std::optional<RawBatch> holding;
    size_t pos = 0;
    while (std::optional<RawBatch> raw = batch_at(log_bytes, pos)) {
      if (raw->header.last_offset() >= offset) {
        holding = raw;
        break;
      }
      pos += raw->bytes.size();
    }
    const std::string path = absolute_of(file);
    if (!holding) {
      findings.time_not_found.add(path, offset, -1);
    } else if (holding->header.last_offset() != offset) {
      findings.time_not_found.add(path, offset, holding->header.last_offset());
    } else {
      int64_t max_timestamp = storage::kNoTimestamp;
      auto view = storage::RecordBatchView::parse(holding->bytes, storage::CrcCheck::skip);
      std::vector<uint8_t> plain;
      std::optional<storage::RecordIterator> records;
      if (view && view->compression() != storage::Compression::none) {
        if (auto d = storage::decompress(view->compression(), view->records_section())) {
          plain = std::move(*d);
          records.emplace(*view, Bytes(plain));
        }
      } else if (view) {
        records.emplace(*view);
      }
      storage::RecordView record;
      const bool append_time =
          holding->header.timestamp_type() == storage::TimestampType::log_append_time;
      while (records && records->next(record))
        max_timestamp =
            std::max(max_timestamp, append_time ? holding->header.max_timestamp : record.timestamp);
      if (max_timestamp != timestamp) findings.time_mismatches.add(path, timestamp, max_timestamp);
      if (previous >= timestamp) findings.time_out_of_order.add(path, timestamp, previous);
    }
    if (!o.verify_only) fmt::print(out, "timestamp: {} offset: {}\n", timestamp, offset);
    previous = timestamp;
  }
}

void print_usage(std::FILE* to) {
  fmt::print(to,
             "usage: kafka-broker dump-log --files FILE[,FILE...] [options]\n"
             "Prints segment files (.log), metadata snapshots (.checkpoint), offset indexes\n"
             "(.index) and time indexes (.timeindex) as Kafka's kafka-dump-log.sh does.\n"
             "  --print-data-log            each record's key and value (implies\n"
             "                              --deep-iteration)\n"
             "  --deep-iteration            each record, not only each batch\n"
             "  --cluster-metadata-decoder  values decoded as KRaft metadata records\n"
             "                              (implies --print-data-log)\n"
             "  --skip-record-metadata      no per-record metadata\n"
             "  --index-sanity-check        only the sanity check run at start-up\n"
             "  --verify-index-only         check index entries, print none\n"
             "  --max-bytes N               read at most N bytes of each .log\n"
             "  --max-message-size N        the largest batch an index check reads\n");
}

}  // namespace

int run_dump_log(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto number = [&](int64_t& into) {
      if (i + 1 >= args.size()) return false;
      const std::string& v = args[++i];
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), into);
      return ec == std::errc() && end == v.data() + v.size() && into >= 0;
    };
    if (a == "--help" || a == "-h") {
      print_usage(out);
      return 0;
    } else if (a == "--files" && i + 1 < args.size()) {
      std::string_view list = args[++i];
      while (!list.empty()) {
        const size_t comma = list.find(',');
        o.files.emplace_back(list.substr(0, comma));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    } else if (a == "--print-data-log") {
      o.print_data = true;
    } else if (a == "--deep-iteration") {
      o.deep = true;
    } else if (a == "--cluster-metadata-decoder") {
      o.metadata_decoder = true;
      o.print_data = true;
    } else if (a == "--skip-record-metadata") {
      o.skip_record_metadata = true;
    } else if (a == "--index-sanity-check") {
      o.index_sanity_only = true;
    } else if (a == "--verify-index-only") {
      o.verify_only = true;
    } else if (a == "--max-bytes") {
      if (!number(o.max_bytes)) {
        fmt::print(err, "--max-bytes takes a number of bytes\n");
        return 2;
      }
    } else if (a == "--max-message-size") {
      if (!number(o.max_message_size)) {
        fmt::print(err, "--max-message-size takes a number of bytes\n");
        return 2;
      }
    } else {
      fmt::print(err, "unexpected argument '{}'\n", a);
      print_usage(err);
      return 2;
    }
  }
  if (o.files.empty()) {
    fmt::print(err, "Missing required argument \"[files]\"\n");
    print_usage(err);
    return 2;
  }
  o.deep = o.deep || o.print_data;

  Findings findings;
  for (const std::string& f : o.files) {
    fmt::print(out, "Dumping {}\n", f);
    const std::string name = fs::path(f).filename().string();
    const std::string suffix = name.substr(std::min(name.rfind('.'), name.size()));
    if (suffix == ".log" || suffix == ".checkpoint")
      dump_log(f, o, findings, out);
    else if (suffix == ".index")
      dump_index(f, o, findings, out, err);
    else if (suffix == ".timeindex")
      dump_time_index(f, o, findings, out, err);
    else
      fmt::print(err, "Ignoring unknown file {}\n", f);
  }
  findings.index_mismatches.for_each([&](const std::string& file, const auto& list) {
    fmt::print(err, "Mismatches in :{}\n", file);
    for (const auto& [index_offset, log_offset] : list)
      fmt::print(err, "  Index offset: {}, log offset: {}\n", index_offset, log_offset);
  });
  findings.time_mismatches.for_each([&](const std::string& file, const auto& list) {
    fmt::print(err, "Found timestamp mismatch in :{}\n", file);
    for (const auto& [index_ts, log_ts] : list)
      fmt::print(err, "  Index timestamp: {}, log timestamp: {}\n", index_ts, log_ts);
  });
  findings.time_out_of_order.for_each([&](const std::string& file, const auto& list) {
    fmt::print(err, "Found out of order timestamp in :{}\n", file);
    for (const auto& [index_ts, previous] : list)
      fmt::print(err, "  Index timestamp: {}, Previously indexed timestamp: {}\n", index_ts,
                 previous);
  });
  findings.time_not_found.for_each([&](const std::string& file, const auto& list) {
    fmt::print(err, "The following indexed offsets are not found in :{}\n", file);
    for (const auto& [indexed, found] : list)
      fmt::print(err, "Indexed offset: {}, found log offset: {}\n", indexed, found);
  });
  findings.non_consecutive.for_each([&](const std::string& file, const auto& list) {
    fmt::print(err, "Non-consecutive offsets in {}\n", file);
    for (const auto& [first, second] : list)
      fmt::print(err, "  {} is followed by {}\n", first, second);
  });
  return 0;
}

}  // namespace kb::broker
