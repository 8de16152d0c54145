#pragma once

// The KRaft metadata records stored as record values in __cluster_metadata-0,
// declared once with the wire serde (kb/wire/serde.hpp) for decode and encode.
// Every metadata record version is flexible: compact strings and arrays, and a
// tagged-field section after every struct.
//
// A record value is framed as
//   [uvarint frame version = 1][uvarint record type][uvarint record version][fields]

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "kb/base/byte_buffer.hpp"
#include "kb/storage/result.hpp"
#include "kb/wire/serde.hpp"
#include "kb/wire/uuid.hpp"

namespace kb::storage {

using kb::wire::Uuid;

inline constexpr uint32_t kMetadataFrameVersion = 1;

struct BrokerEndpoint {
  std::string name;
  std::string host;
  uint16_t port = 0;
  int16_t security_protocol = 0;

  template <class Io>
  void fields(Io& io) {
    io(name);
    io(host);
    io(port);
    io(security_protocol);
  }
  friend bool operator==(const BrokerEndpoint&, const BrokerEndpoint&) = default;
};

struct BrokerFeature {
  std::string name;
  int16_t min_supported_version = 0;
  int16_t max_supported_version = 0;

  template <class Io>
  void fields(Io& io) {
    io(name);
    io(min_supported_version);
    io(max_supported_version);
  }
  friend bool operator==(const BrokerFeature&, const BrokerFeature&) = default;
};

struct RegisterBrokerRecord {
  static constexpr uint32_t kType = 0;
  static constexpr int16_t kMinVersion = 0;
  static constexpr int16_t kMaxVersion = 4;  // Kafka 4.4's

  int32_t broker_id = 0;
  bool is_migrating_zk_broker = false;  // v2+
  Uuid incarnation_id;
  int64_t broker_epoch = 0;
  std::vector<BrokerEndpoint> end_points;
  std::vector<BrokerFeature> features;
  std::optional<std::string> rack;
  bool fenced = true;
  bool in_controlled_shutdown = false;                 // v1+
  std::vector<Uuid> log_dirs;                          // v3+, tag 0
  std::optional<std::vector<Uuid>> cordoned_log_dirs;  // v4+, tag 1

  template <class Io>
  void fields(Io& io) {
    io(broker_id);
    if (io.version >= 2) io(is_migrating_zk_broker);
    io(incarnation_id);
    io(broker_epoch);
    io(end_points);
    io(features);
    io(rack);
    io(fenced);
    if (io.version >= 1) io(in_controlled_shutdown);
  }
  template <class Tags>
  void tagged_fields(Tags& t) {
    if (t.version >= 3) t(0, log_dirs);
    if (t.version >= 4) t(1, cordoned_log_dirs);
  }
  friend bool operator==(const RegisterBrokerRecord&, const RegisterBrokerRecord&) = default;
};

struct TopicRecord {
  static constexpr uint32_t kType = 2;
  static constexpr int16_t kMinVersion = 0;
  static constexpr int16_t kMaxVersion = 0;

  std::string name;
  Uuid topic_id;

  template <class Io>
  void fields(Io& io) {
    io(name);
    io(topic_id);
  }
  friend bool operator==(const TopicRecord&, const TopicRecord&) = default;
};

struct PartitionRecord {
  static constexpr uint32_t kType = 3;
  static constexpr int16_t kMinVersion = 0;
  static constexpr int16_t kMaxVersion = 2;

  int32_t partition_id = -1;
  Uuid topic_id;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> removing_replicas;
  std::vector<int32_t> adding_replicas;
  int32_t leader = -1;
  int8_t leader_recovery_state = 0;  // tag 0
  int32_t leader_epoch = -1;
  int32_t partition_epoch = -1;
  std::vector<Uuid> directories;                                 // v1+
  std::optional<std::vector<int32_t>> eligible_leader_replicas;  // v2+, tag 1
  std::optional<std::vector<int32_t>> last_known_elr;            // v2+, tag 2

  template <class Io>
  void fields(Io& io) {
    io(partition_id);
    io(topic_id);
    io(replicas);
    io(isr);
    io(removing_replicas);
    io(adding_replicas);
    io(leader);
    io(leader_epoch);
    io(partition_epoch);
    if (io.version >= 1) io(directories);
  }
  // Tags in ascending order: the encoder writes them in call order.
  template <class Tags>
  void tagged_fields(Tags& t) {
    t(0, leader_recovery_state, int8_t{0});
    if (t.version >= 2) {
      t(1, eligible_leader_replicas);
      t(2, last_known_elr);
    }
  }
  friend bool operator==(const PartitionRecord&, const PartitionRecord&) = default;
};

struct ConfigRecord {
  static constexpr uint32_t kType = 4;
  static constexpr int16_t kMinVersion = 0;
  static constexpr int16_t kMaxVersion = 0;

  int8_t resource_type = 0;  // 2 = topic, 4 = broker (Kafka's ConfigResource.Type ids)
  std::string resource_name;
  std::string name;
  std::optional<std::string> value;  // null deletes the config

  template <class Io>
  void fields(Io& io) {
    io(resource_type);
    io(resource_name);
    io(name);
    io(value);
  }
  friend bool operator==(const ConfigRecord&, const ConfigRecord&) = default;
};

// Only the changed parts of a partition are present (tagged fields); absent
// ones keep their defaults, which mean "unchanged".
struct PartitionChangeRecord {
  static constexpr uint32_t kType = 5;
  static constexpr int16_t kMinVersion = 0;
  static constexpr int16_t kMaxVersion = 2;
  static constexpr int32_t kLeaderUnchanged = -2;
  static constexpr int8_t kRecoveryStateUnchanged = -1;

  int32_t partition_id = -1;
  Uuid topic_id;
  std::optional<std::vector<int32_t>> isr;                       // tag 0
  int32_t leader = kLeaderUnchanged;                             // tag 1; -1 = no leader
  std::optional<std::vector<int32_t>> replicas;                  // tag 2
  std::optional<std::vector<int32_t>> removing_replicas;         // tag 3
  std::optional<std::vector<int32_t>> adding_replicas;           // tag 4
  int8_t leader_recovery_state = kRecoveryStateUnchanged;        // tag 5
  std::optional<std::vector<int32_t>> eligible_leader_replicas;  // v2+, tag 6
  std::optional<std::vector<int32_t>> last_known_elr;            // v2+, tag 7
  std::optional<std::vector<Uuid>> directories;                  // v1+, tag 8

  template <class Io>
  void fields(Io& io) {
    io(partition_id);
    io(topic_id);
  }
  template <class Tags>
  void tagged_fields(Tags& t) {
    t(0, isr);
    t(1, leader, kLeaderUnchanged);
    t(2, replicas);
    t(3, removing_replicas);
    t(4, adding_replicas);
    t(5, leader_recovery_state, kRecoveryStateUnchanged);
    if (t.version >= 2) {
      t(6, eligible_leader_replicas);
      t(7, last_known_elr);
    }
    if (t.version >= 1) t(8, directories);
  }
  friend bool operator==(const PartitionChangeRecord&, const PartitionChangeRecord&) = default;
};

struct RemoveTopicRecord {
  static constexpr uint32_t kType = 9;
  static constexpr int16_t kMinVersion = 0;
  static constexpr int16_t kMaxVersion = 0;

  Uuid topic_id;

  template <class Io>
  void fields(Io& io) {
    io(topic_id);
  }
  friend bool operator==(const RemoveTopicRecord&, const RemoveTopicRecord&) = default;
};

struct FeatureLevelRecord {
  static constexpr uint32_t kType = 12;
  static constexpr int16_t kMinVersion = 0;
  static constexpr int16_t kMaxVersion = 0;

  std::string name;  // e.g. "metadata.version"
  int16_t feature_level = 0;

  template <class Io>
  void fields(Io& io) {
    io(name);
    io(feature_level);
  }
  friend bool operator==(const FeatureLevelRecord&, const FeatureLevelRecord&) = default;
};

struct ProducerIdsRecord {
  static constexpr uint32_t kType = 15;
  static constexpr int16_t kMinVersion = 0;
  static constexpr int16_t kMaxVersion = 0;

  int32_t broker_id = 0;
  int64_t broker_epoch = -1;
  int64_t next_producer_id = 0;

  template <class Io>
  void fields(Io& io) {
    io(broker_id);
    io(broker_epoch);
    io(next_producer_id);
  }
  friend bool operator==(const ProducerIdsRecord&, const ProducerIdsRecord&) = default;
};

// A SCRAM user's credential for one mechanism (1 = SCRAM-SHA-256, 2 =
// SCRAM-SHA-512): never the password, only what checks it.
struct UserScramCredentialRecord {
  static constexpr uint32_t kType = 11;
  static constexpr int16_t kMinVersion = 0;
  static constexpr int16_t kMaxVersion = 0;

  std::string name;
  int8_t mechanism = 0;
  std::vector<uint8_t> salt;
  std::vector<uint8_t> stored_key;
  std::vector<uint8_t> server_key;
  int32_t iterations = 0;

  template <class Io>
  void fields(Io& io) {
    io(name);
    io(mechanism);
    io(salt);
    io(stored_key);
    io(server_key);
    io(iterations);
  }
  friend bool operator==(const UserScramCredentialRecord&,
                         const UserScramCredentialRecord&) = default;
};

struct RemoveUserScramCredentialRecord {
  static constexpr uint32_t kType = 22;
  static constexpr int16_t kMinVersion = 0;
  static constexpr int16_t kMaxVersion = 0;

  std::string name;
  int8_t mechanism = 0;

  template <class Io>
  void fields(Io& io) {
    io(name);
    io(mechanism);
  }
  friend bool operator==(const RemoveUserScramCredentialRecord&,
                         const RemoveUserScramCredentialRecord&) = default;
};

// A record of a type this broker does not interpret (fences, registrations of
// controllers, ACLs, ...). Callers skip it. `body` views the bytes after the
// frame (valid while the decoded value's buffer is).
struct UnknownMetadataRecord {
  uint32_t type = 0;
  std::span<const uint8_t> body;
};

using MetadataRecord =
    std::variant<UnknownMetadataRecord, RegisterBrokerRecord, TopicRecord, PartitionRecord,
                 ConfigRecord, PartitionChangeRecord, RemoveTopicRecord, FeatureLevelRecord,
                 ProducerIdsRecord, UserScramCredentialRecord, RemoveUserScramCredentialRecord>;

struct DecodedMetadataRecord {
  int16_t version = 0;
  MetadataRecord record;
};

// Kafka's name of a metadata record type (its MetadataRecordType), or
// "unknown type" for a number Kafka 4.4 does not use.
std::string_view metadata_record_type_name(uint32_t type);

// Decodes one framed record value. Errors: malformed or truncated bytes, bytes
// after the record, an unsupported frame version, or a known record type at a
// version this code does not know (its layout cannot be guessed).
Result<DecodedMetadataRecord> decode_metadata_record(std::span<const uint8_t> value);

// Appends the framed encoding of `record` at `version`. A version outside the
// record's valid range is a caller bug: throws std::invalid_argument. An
// UnknownMetadataRecord is written back as type + version + body.
void encode_metadata_record(const MetadataRecord& record, int16_t version, ByteBuffer& out);

template <class R>
std::vector<uint8_t> encode_metadata_record(const R& record, int16_t version = R::kMaxVersion) {
  ByteBuffer out;
  encode_metadata_record(MetadataRecord(record), version, out);
  return std::vector<uint8_t>(out.data(), out.data() + out.size());
}

// ---- control record values of the metadata log (read by tests and tools) ----

// Kafka's name of a control record type (ControlRecordType: the int16 after
// the key's version), or "unknown control type".
std::string_view control_record_type_name(int16_t type);

struct LeaderChangeVoter {
  int32_t voter_id = 0;
  Uuid voter_directory_id;  // v1+

  template <class Io>
  void fields(Io& io) {
    io(voter_id);
    if (io.version >= 1) io(voter_directory_id);
  }
  friend bool operator==(const LeaderChangeVoter&, const LeaderChangeVoter&) = default;
};

// The value of a leader_change control record (its own version is a field;
// Kafka writes message version 0).
struct LeaderChangeMessage {
  int16_t version = 0;
  int32_t leader_id = 0;
  std::vector<LeaderChangeVoter> voters;
  std::vector<LeaderChangeVoter> granting_voters;

  template <class Io>
  void fields(Io& io) {
    io(version);
    io(leader_id);
    io(voters);
    io(granting_voters);
  }
  friend bool operator==(const LeaderChangeMessage&, const LeaderChangeMessage&) = default;
};

struct SnapshotHeaderRecord {
  int16_t version = 0;
  int64_t last_contained_log_timestamp = 0;

  template <class Io>
  void fields(Io& io) {
    io(version);
    io(last_contained_log_timestamp);
  }
};

struct SnapshotFooterRecord {
  int16_t version = 0;

  template <class Io>
  void fields(Io& io) {
    io(version);
  }
};

// Encodes a control record value (message version 0, flexible).
template <class M>
std::vector<uint8_t> encode_control_value(const M& message) {
  ByteBuffer out;
  kb::wire::Writer w(out);
  kb::wire::encode(w, message, 0, true);
  return std::vector<uint8_t>(out.data(), out.data() + out.size());
}

}  // namespace kb::storage
