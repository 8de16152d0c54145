"""confluent-kafka (librdkafka) with group.protocol=consumer (KIP-848).

  consumer_protocol_lab.py members <bootstrap> <topic> <group>
      four partitions, 40 records; two consumers of one group share them, one
      leaves and the other takes all four; commits; prints one fact a line.
  consumer_protocol_lab.py resume <bootstrap> <topic> <group>
      four records more, read by a new consumer of the group from its commits.
  consumer_protocol_lab.py mixed <bootstrap> <topic> <group>
      a classic consumer alone, then a consumer-protocol one joins the same
      group (which moves to the consumer protocol in place): they share the
      four partitions; the classic one leaves and the other takes all four.
"""

import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 4
STEP_SECONDS = 60


def consumer(bootstrap, group, name, protocol="consumer"):
    config = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": protocol,
        "client.id": name,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
    if protocol == "classic":
        config["heartbeat.interval.ms"] = 1000
        config["session.timeout.ms"] = 10000
    return Consumer(config)


def produce(bootstrap, topic, prefix, count):
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        producer.produce(topic, key=f"k{i}", value=f"{prefix}{i}", partition=i % PARTITIONS)
    producer.flush(30)


def poll_until(consumers, seen, done, what, nexts=None):
    """Polls every consumer in turn until done() holds (each a short poll);
    `nexts` collects, per consumer, the next offset of each partition read."""
    deadline = time.monotonic() + STEP_SECONDS
    while not done():
        if time.monotonic() > deadline:
            state = " ".join(f"{c.memberid()}={sorted(p.partition for p in c.assignment())}"
                             for c in consumers)
            raise SystemExit(f"timed out waiting for {what}: {state}")
        for c in consumers:
            msg = c.poll(0.05)
            if msg is not None and msg.error() is None:
                seen.add(msg.value().decode())
                if nexts is not None:
                    nexts.setdefault(id(c), {})[msg.partition()] = msg.offset() + 1


def partitions_of(c):
    return sorted(p.partition for p in c.assignment())


def members(bootstrap, topic, group):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        f.result(30)
    produce(bootstrap, topic, "v", 40)
    seen = set()
    a = consumer(bootstrap, group, "a")
    b = consumer(bootstrap, group, "b")
    a.subscribe([topic])
    b.subscribe([topic])

    def split():
        pa, pb = partitions_of(a), partitions_of(b)
        return len(pa) == 2 and len(pb) == 2 and sorted(pa + pb) == list(range(PARTITIONS))

    nexts = {}
    poll_until([a, b], seen, split, "two members", nexts)
    print(f"two members: {len(partitions_of(a))} {len(partitions_of(b))}")
    b.close()
    poll_until([a], seen, lambda: partitions_of(a) == list(range(PARTITIONS)), "one member",
               nexts)
    print(f"after one left: {len(partitions_of(a))}")
    poll_until([a], seen, lambda: len(seen) == 40, "every record", nexts)
    print(f"consumed {len(seen)} of 40")
    # a reads b's partitions again from the start (b committed nothing).
    poll_until([a], seen,
               lambda: all(nexts.get(id(a), {}).get(p) == 10 for p in range(PARTITIONS)),
               "a read to the end", nexts)
    a.commit(offsets=[TopicPartition(topic, p, nexts[id(a)][p]) for p in range(PARTITIONS)],
             asynchronous=False)
    committed = a.committed(a.assignment(), timeout=30)
    print(f"committed offsets summing to {sum(p.offset for p in committed)}")
    a.close()


def resume(bootstrap, topic, group):
    produce(bootstrap, topic, "w", PARTITIONS)
    seen = set()
    c = consumer(bootstrap, group, "resumed")
    c.subscribe([topic])
    poll_until([c], seen, lambda: len(seen) >= PARTITIONS, "the new records")
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:  # a record from before the commit would show now
        msg = c.poll(0.1)
        if msg is not None and msg.error() is None:
            seen.add(msg.value().decode())
    c.close()
    print("resumed with: " + " ".join(sorted(seen)))


def mixed(bootstrap, topic, group):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        f.result(30)
    produce(bootstrap, topic, "v", 40)
    seen = set()
    a = consumer(bootstrap, group, "classic", "classic")
    a.subscribe([topic])
    poll_until([a], seen, lambda: partitions_of(a) == list(range(PARTITIONS)), "the classic one")
    print(f"classic alone: {len(partitions_of(a))}")
    b = consumer(bootstrap, group, "consumer")
    b.subscribe([topic])

    def split():
        pa, pb = partitions_of(a), partitions_of(b)
        return len(pa) == 2 and len(pb) == 2 and sorted(pa + pb) == list(range(PARTITIONS))

    poll_until([a, b], seen, split, "both protocols in one group")
    print(f"mixed: {len(partitions_of(a))} {len(partitions_of(b))}")
    a.close()
    poll_until([b], seen, lambda: partitions_of(b) == list(range(PARTITIONS)),
               "the consumer-protocol one alone")
    print(f"after the classic one left: {len(partitions_of(b))}")
    poll_until([b], seen, lambda: len(seen) == 40, "every record")
    print(f"consumed {len(seen)} of 40")
    b.close()


if __name__ == "__main__":
    scenario, bootstrap, topic, group = sys.argv[1:5]
    {"members": members, "resume": resume, "mixed": mixed}[scenario](bootstrap, topic, group)
