#pragma once

// The transactional producer's APIs (AddPartitionsToTxn, AddOffsetsToTxn,
// EndTxn, TxnOffsetCommit) and the admin views (ListTransactions,
// DescribeTransactions), answered by the transaction coordinator
// (kb/txn/coordinator.hpp) and, for offsets, the group coordinator's pending
// transactional offsets (kb/group/txn_offsets.hpp); and WriteTxnMarkers, the
// markers an admin client writes to end a hanging transaction.

#include "kb/handlers/api_registry.hpp"
#include "kb/protocol/messages/transactions.hpp"

namespace kb::handlers {

ApiEntry add_partitions_to_txn_entry();
ApiEntry add_offsets_to_txn_entry();
ApiEntry end_txn_entry();
ApiEntry txn_offset_commit_entry();
ApiEntry list_transactions_entry();
ApiEntry describe_transactions_entry();
ApiEntry write_txn_markers_entry();

// The wall clock in milliseconds: the transaction coordinator's time.
int64_t txn_time();

}  // namespace kb::handlers
