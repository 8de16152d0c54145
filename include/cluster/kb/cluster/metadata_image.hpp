#pragma once

#include "kb/cluster/broker_state.hpp"
#include "kb/storage/metadata_records.hpp"

namespace kb::cluster {

// Applies one KRaft metadata record to the broker state, as replaying
// __cluster_metadata does. Records of types the broker does not interpret are
// ignored; a record about an unknown topic is ignored with a warning.
void apply_metadata_record(BrokerState& state, const storage::MetadataRecord& record);

}  // namespace kb::cluster
