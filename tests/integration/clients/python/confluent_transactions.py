"""confluent-kafka (librdkafka) transactions: a consume-transform-produce loop
with send_offsets_to_transaction, aborted transactions in between, then the
output read back with read_committed.

usage: confluent_transactions.py <bootstrap> <prefix> <count> [stop-after <n> | resume]

Produces <count> messages to <prefix>-in (three partitions) unless "resume",
then a transactional loop in group <prefix>-group copies each input message
to <prefix>-out as "out-<value>" in batches of up to 50, every batch one
transaction that also commits the group's offsets; every third batch is first
written as an aborted transaction of "aborted-<value>" records. The loop
stops when the group's committed offsets reach the end of the input.
With "stop-after <n>" it stops after n committed transactions, leaving one
more transaction open (its records written, never committed), and exits at
once, printing "stopped": the broker may then be killed and restarted, and a
"resume" run continues: its producer, of the same transactional id, fences
the one before (whose open transaction is aborted).
Then a read_committed consumer reads <prefix>-out from the beginning: every
input must be there exactly once and no aborted record may be seen. Prints
"ok <n> committed, <m> aborted transactions".
"""
import sys
import time

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
import os

resume = len(sys.argv) > 4 and sys.argv[4] == "resume"
stop_after = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "stop-after" else None
source, sink, group = f"{prefix}-in", f"{prefix}-out", f"{prefix}-group"

if not resume:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(source, 3, 1), NewTopic(sink, 2, 1)]).values():
        future.result(30)
    plain = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        plain.produce(source, key=f"k{i}", value=f"{i}")
    if plain.flush(60):
        sys.exit("input not delivered")

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "isolation.level": "read_committed",
})
consumer.subscribe([source])
producer = Producer({
    "bootstrap.servers": bootstrap,
    "transactional.id": f"{prefix}-txn",
    "transaction.timeout.ms": 30000,
})
producer.init_transactions(30)

ends = {}
for p in range(3):
    low, high = consumer.get_watermark_offsets(TopicPartition(source, p), timeout=10)
    ends[p] = high


def done():
    committed = consumer.committed([TopicPartition(source, p) for p in range(3)], timeout=10)
    return all(tp.offset >= ends[tp.partition] for tp in committed)


committed_txns = aborted_txns = 0
deadline = time.time() + 120
batch = 0
while time.time() < deadline:
    messages = consumer.consume(50, 1.0)
    messages = [m for m in messages if m.error() is None]
    if not messages:
        if done():
            break
        continue
    batch += 1
    if batch % 3 == 0:
        producer.begin_transaction()
        for m in messages:
            producer.produce(sink, key=m.key(), value=b"aborted-" + m.value())
        producer.flush(30)
        producer.abort_transaction(30)
        aborted_txns += 1
    producer.begin_transaction()
    for m in messages:
        producer.produce(sink, key=m.key(), value=b"out-" + m.value())
    positions = consumer.position(consumer.assignment())
    producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
    producer.commit_transaction(30)
    committed_txns += 1
    if stop_after is not None and committed_txns >= stop_after:
        more = consumer.consume(50, 5.0)
        producer.begin_transaction()
        for m in more:
            if m.error() is None:
                producer.produce(sink, key=m.key(), value=b"aborted-" + m.value())
        producer.flush(30)
        # The consumer leaves its group (a member left behind would hold the
        # next run's rebalance for its session); the transaction stays open.
        consumer.close()
        print("stopped", flush=True)
        os._exit(0)
else:
    sys.exit("the loop did not reach the end of the input in time")
consumer.close()

reader = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": f"{prefix}-reader",
    "enable.auto.commit": False,
    "isolation.level": "read_committed",
})
parts = sorted(reader.list_topics(sink, timeout=10).topics[sink].partitions)
reader.assign([TopicPartition(sink, p, OFFSET_BEGINNING) for p in parts])
seen = {}
idle_since = time.time()
while time.time() - idle_since < 5:
    m = reader.poll(0.5)
    if m is None:
        continue
    if m.error():
        sys.exit(f"reader: {m.error()}")
    idle_since = time.time()
    value = m.value().decode()
    if not value.startswith("out-"):
        sys.exit(f"read_committed saw {value!r} at {m.partition()}/{m.offset()}")
    seen[value] = seen.get(value, 0) + 1
reader.close()
missing = [i for i in range(count) if f"out-{i}" not in seen]
doubled = {v: n for v, n in seen.items() if n > 1}
if missing or doubled:
    sys.exit(f"missing {missing[:10]} ({len(missing)}), doubled {list(doubled.items())[:10]}")
print(f"ok {len(seen)} committed, {aborted_txns} aborted transactions", flush=True)
