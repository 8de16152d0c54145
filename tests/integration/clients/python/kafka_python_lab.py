"""kafka-python 3.x against the broker: the scenarios of lab_common.py."""

import threading
import time

import kafka
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

import lab_common as lab

TIMEOUT_MS = lab.DEADLINE_S * 1000


def create_topic(bootstrap, topic, partitions):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics({topic: {"num_partitions": partitions, "replication_factor": 1}},
                        wait_for_metadata=True)
    admin.close()


def consumer(bootstrap, **extra):
    return KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                         enable_auto_commit=False, **extra)


def produce_values(bootstrap, topic, by_partition):
    """Sends {partition: [value, ...]} with the default (idempotent, acks=all) producer."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    futures = [producer.send(topic, value.encode(), partition=partition)
               for partition, values in by_partition.items() for value in values]
    producer.flush(lab.DEADLINE_S)
    for f in futures:
        f.get(lab.DEADLINE_S)
    producer.close()


# poll()'s timeout: long enough for a group rejoin to finish inside one poll.
# kafka-python 3.0.12 sends its first JoinGroup before the topic's metadata is
# in, so a leader assigns nothing and rejoins once the metadata arrives; when
# that rejoin outlasts poll()'s timeout the member never completes it
# (need_rejoin() turns false once the metadata matches and the finished join
# is never taken up; Java's client fixed the like in KAFKA-9815): it reads
# nothing, its heartbeats stop and its session expires, against Kafka too.
POLL_MS = 1000


def poll_count(c, count):
    """Records polled until there are `count`, or the deadline."""
    seen = []
    end = time.monotonic() + lab.DEADLINE_S
    while len(seen) < count and time.monotonic() < end:
        for records in c.poll(timeout_ms=POLL_MS, max_records=count - len(seen)).values():
            seen.extend(records)
    return seen


def version():
    print(f"kafka-python {kafka.__version__}")


def produce(bootstrap, topic):
    create_topic(bootstrap, topic, len(lab.ACKS) * len(lab.CODECS))
    for acks in lab.ACKS:
        for codec in lab.CODECS:
            # kafka-python 3.x is idempotent by default, which needs acks=all:
            # with acks 0 or 1 it is turned off (explicitly, to avoid its warning).
            producer = KafkaProducer(
                bootstrap_servers=bootstrap, acks=acks if acks == "all" else int(acks),
                enable_idempotence=acks == "all",
                compression_type=None if codec == "none" else codec,
                # The batch's records go out together, at flush().
                linger_ms=60000)
            partition = lab.partition_of(acks, codec)
            futures = [producer.send(topic, value=value, key=key, headers=headers,
                                     partition=partition)
                       # kafka-python refuses a null header value (TypeError).
                       for key, value, headers in lab.batch_records(
                           acks, codec, null_header_values=False)]
            producer.flush(lab.DEADLINE_S)
            offsets = [f.get(lab.DEADLINE_S).offset for f in futures]
            producer.close()
            print(f"produced acks={acks} codec={codec} offsets=" +
                  ",".join(str(o) for o in offsets))
    partitions = len(lab.ACKS) * len(lab.CODECS)
    c = consumer(bootstrap)
    c.assign([TopicPartition(topic, p) for p in range(partitions)])
    c.seek_to_beginning()
    seen = poll_count(c, partitions * lab.RECORDS_PER_BATCH)
    c.close()
    for r in sorted(seen, key=lambda r: (r.partition, r.offset)):
        print(lab.describe(r.partition, r.offset, r.key, r.value, r.headers))
    print(f"read {len(seen)}")


class Member(threading.Thread):
    """A group member polling in its own thread; it commits what it consumed
    after each poll and leaves the group when told to."""

    def __init__(self, bootstrap, topic, group, name):
        super().__init__(name=name)
        self.consumer = consumer(
            bootstrap, group_id=group, client_id=name,
            session_timeout_ms=lab.SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=lab.HEARTBEAT_INTERVAL_MS)
        self.topic = topic
        self.lock = threading.Lock()
        self.owned = set()
        self.values = []
        self.failed_commits = []
        self.leave = threading.Event()
        self.error = None

    def run(self):
        try:
            self.consumer.subscribe([self.topic])
            while not self.leave.is_set():
                got = [r for records in self.consumer.poll(timeout_ms=POLL_MS).values()
                       for r in records]
                if got:
                    try:
                        self.consumer.commit()
                    except CommitFailedError as e:
                        self.failed_commits.append(type(e).__name__)
                    except KafkaError as e:
                        if e.errno not in lab.REBALANCE_ERRORS:
                            raise
                        self.failed_commits.append(type(e).__name__)
                owned = {tp.partition for tp in self.consumer.assignment()}
                with self.lock:
                    self.values.extend(r.value.decode() for r in got)
                    self.owned = owned
            self.consumer.close()
        except Exception as e:  # reported by the main thread
            self.error = e
            with self.lock:
                self.owned = set()

    def snapshot(self):
        if self.error is not None:
            raise RuntimeError(f"{self.name} failed") from self.error
        with self.lock:
            return set(self.owned), len(self.values)


def group(bootstrap, topic, group_id):
    create_topic(bootstrap, topic, lab.GROUP_PARTITIONS)
    members = [Member(bootstrap, topic, group_id, f"m{i + 1}") for i in range(3)]
    for m in members:
        m.start()
    try:
        run_group(bootstrap, topic, members)
    finally:
        for m in members:
            m.leave.set()
            m.join(lab.DEADLINE_S)
    lab.print_group_end(members)


def run_group(bootstrap, topic, members):
    def settled(active):
        return lambda: lab.exact_cover([m.snapshot()[0] for m in active], lab.GROUP_PARTITIONS)

    def consumed(count):
        return lambda: sum(m.snapshot()[1] for m in members) >= count

    n = lab.GROUP_RECORDS_PER_PHASE
    lab.wait_until(settled(members), "three members to split the topic")
    print(lab.assignment_line("before", [m.snapshot()[0] for m in members]))
    produce_values(bootstrap, topic, {p: [f"g1-{i}" for i in range(n) if i % 6 == p]
                                      for p in range(lab.GROUP_PARTITIONS)})
    lab.wait_until(consumed(n), "the first records")
    leaving = members[2]
    leaving.leave.set()
    leaving.join(lab.DEADLINE_S)
    lab.wait_until(settled(members[:2]), "two members to split the topic")
    print(lab.assignment_line("after", [m.snapshot()[0] for m in members[:2]]))
    produce_values(bootstrap, topic, {p: [f"g2-{i}" for i in range(n) if i % 6 == p]
                                      for p in range(lab.GROUP_PARTITIONS)})
    lab.wait_until(consumed(2 * n), "the second records")


def committed_line(c, topic):
    return "committed " + " ".join(
        f"{p}:{c.committed(TopicPartition(topic, p), timeout_ms=TIMEOUT_MS)}"
        for p in sorted(lab.COMMITTED))


def commit(bootstrap, topic, group_id):
    create_topic(bootstrap, topic, len(lab.COMMITTED))
    n = lab.COMMIT_RECORDS_PER_PARTITION
    produce_values(bootstrap, topic, {p: [f"c{p}-{i}" for i in range(n)] for p in lab.COMMITTED})
    c = consumer(bootstrap, group_id=group_id)
    c.subscribe([topic])
    seen = poll_count(c, n * len(lab.COMMITTED))
    print(f"read {len(seen)}")
    c.commit({TopicPartition(topic, p): OffsetAndMetadata(o, "", -1)
              for p, o in lab.COMMITTED.items()})
    print(committed_line(c, topic))
    c.close()


def resume(bootstrap, topic, group_id):
    c = consumer(bootstrap, group_id=group_id)
    print(committed_line(c, topic))
    c.subscribe([topic])
    left = sum(lab.COMMIT_RECORDS_PER_PARTITION - o for o in lab.COMMITTED.values())
    seen = poll_count(c, left)
    c.close()
    for r in sorted(seen, key=lambda r: (r.partition, r.offset)):
        print(f"{r.partition}:{r.offset} {r.value.decode()}")
    print(f"read {len(seen)}")


def times(bootstrap, topic):
    create_topic(bootstrap, topic, len(lab.CODECS))
    base = lab.time_base_ms()
    for partition, codec in enumerate(lab.CODECS):
        producer = KafkaProducer(bootstrap_servers=bootstrap,
                                 compression_type=None if codec == "none" else codec,
                                 linger_ms=60000)
        futures = [producer.send(topic, f"{codec}-{i}".encode(), partition=partition,
                                 timestamp_ms=base + i * 1000)
                   for i in range(lab.TIME_RECORDS)]
        producer.flush(lab.DEADLINE_S)
        for f in futures:
            f.get(lab.DEADLINE_S)
        producer.close()
    # A fetch at the end of the partition waits fetch_max_wait_ms on the broker.
    c = consumer(bootstrap, fetch_max_wait_ms=20)
    for partition, codec in enumerate(lab.CODECS):
        tp = TopicPartition(topic, partition)
        c.assign([tp])
        for query in lab.TIME_QUERIES:
            found = c.offsets_for_times({tp: base + query}, timeout_ms=TIMEOUT_MS)[tp]
            if found is None:
                print(f"time {codec} +{query} none")
                continue
            c.seek(tp, found.offset)
            r = poll_count(c, 1)[0]
            print(f"time {codec} +{query} offset={found.offset} "
                  f"answered=+{found.timestamp - base} read={r.offset} "
                  f"timestamp=+{r.timestamp - base} value={r.value.decode()}")
    c.close()


def admin(bootstrap, prefix):
    a, b = prefix + "-a", prefix + "-b"
    client = KafkaAdminClient(bootstrap_servers=bootstrap)

    def listed():
        return "list " + " ".join(sorted(n for n in client.list_topics()
                                         if n.startswith(prefix + "-")))

    client.create_topics({
        a: {"num_partitions": 3, "replication_factor": 1,
            "configs": {"retention.ms": "3600000"}},
        b: {"num_partitions": 1, "replication_factor": 1}})
    print(f"created {a} {b}")
    try:
        client.create_topics({b: {"num_partitions": 1, "replication_factor": 1}})
        print(f"created {b} again")
    except KafkaError as e:
        print(f"create {b} again: error {e.errno}")
    print(listed())

    client.create_partitions({a: 5})
    described = client.describe_topics([a])[0]
    print(f"partitions {a} {len(described['partitions'])}")
    try:
        client.create_partitions({a: 2})
        print(f"partitions {a} decreased")
    except KafkaError as e:
        print(f"partitions {a} 2: error {e.errno}")

    # IncrementalAlterConfigs (kafka-python picks it when the broker has it).
    client.alter_configs([ConfigResource(ConfigResourceType.TOPIC, a, configs={
        "max.message.bytes": "200000", "retention.ms": (AlterConfigOp.DELETE, None)})])
    print(f"altered {a}")
    described = client.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, a, configs=lab.DESCRIBED_CONFIGS)],
        config_filter="all")
    entries = described["topic"][a]
    for name in lab.DESCRIBED_CONFIGS:
        e = entries[name]
        print(f"config {name}={e['value']} source={e['config_source']}")

    client.delete_topics([a])
    print(f"deleted {a}")
    print(listed())
    client.delete_topics([b])
    client.close()


def features(bootstrap):
    """The features ApiVersions (v3+) carries, as describe_features reads them."""
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    for name, feature in sorted(client.describe_features().items()):
        if "supported" in feature:
            print(f"supported {name}={feature['supported'][0]}-{feature['supported'][1]}")
        if "finalized" in feature:
            print(f"finalized {name}={feature['finalized'][1]}")
    client.close()


if __name__ == "__main__":
    lab.run({"version": version, "produce": produce, "group": group, "commit": commit,
             "resume": resume, "times": times, "admin": admin, "features": features})
