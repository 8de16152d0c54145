"""confluent-kafka (librdkafka in its wheel) against the broker: the
scenarios of lab_common.py."""

import threading
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   NewPartitions, NewTopic)

import lab_common as lab


def admin_client(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(bootstrap, topic, partitions, config=None):
    client = admin_client(bootstrap)  # kept until the answer is in
    futures = client.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})])
    futures[topic].result(lab.DEADLINE_S)


def consumer(bootstrap, **extra):
    # confluent-kafka's Consumer wants a group.id even when it only assigns
    # partitions and never commits; such a group never joins.
    config = {"bootstrap.servers": bootstrap, "group.id": "lab-assigned",
              "auto.offset.reset": "earliest", "enable.auto.commit": False}
    config.update(extra)
    return Consumer(config)


def produce_values(bootstrap, topic, by_partition):
    """Sends {partition: [value, ...]} with an acks=all producer."""
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition, values in by_partition.items():
        for value in values:
            producer.produce(topic, value.encode(), partition=partition)
    if producer.flush(lab.DEADLINE_S) != 0:
        raise RuntimeError("produce did not complete")


def consume_count(c, count, seen):
    """Appends messages to `seen` until it holds `count`."""
    end = time.monotonic() + lab.DEADLINE_S
    while len(seen) < count and time.monotonic() < end:
        for m in c.consume(num_messages=count - len(seen), timeout=0.2):
            if m.error():
                raise KafkaException(m.error())
            seen.append(m)
    return seen


def version():
    print(f"confluent-kafka {confluent_kafka.version()} librdkafka {confluent_kafka.libversion()[0]}")


def produce(bootstrap, topic):
    create_topic(bootstrap, topic, len(lab.ACKS) * len(lab.CODECS))
    for acks in lab.ACKS:
        for codec in lab.CODECS:
            config = {"bootstrap.servers": bootstrap, "acks": acks, "compression.type": codec,
                      # The batch's records go out together, at flush().
                      "linger.ms": 60000}
            # librdkafka's idempotence needs acks=all; it is off by default.
            if acks == "all":
                config["enable.idempotence"] = True
            producer = Producer(config)
            partition = lab.partition_of(acks, codec)
            offsets = []

            def delivered(err, msg):
                if err is not None:
                    raise KafkaException(err)
                offsets.append(msg.offset())

            for key, value, headers in lab.batch_records(acks, codec):
                producer.produce(topic, value=value, key=key, partition=partition,
                                 headers=headers, on_delivery=delivered)
            if producer.flush(lab.DEADLINE_S) != 0:
                raise RuntimeError(f"acks={acks} codec={codec}: produce did not complete")
            print(f"produced acks={acks} codec={codec} offsets=" +
                  ",".join(str(o) for o in offsets))
    read_back(bootstrap, topic, len(lab.ACKS) * len(lab.CODECS))


def read_back(bootstrap, topic, partitions):
    c = consumer(bootstrap)
    c.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
              for p in range(partitions)])
    seen = consume_count(c, partitions * lab.RECORDS_PER_BATCH, [])
    c.close()
    for m in sorted(seen, key=lambda m: (m.partition(), m.offset())):
        print(lab.describe(m.partition(), m.offset(), m.key(), m.value(), m.headers()))
    print(f"read {len(seen)}")


class Member(threading.Thread):
    """A group member polling in its own thread; it commits what it consumed
    after each poll and leaves the group when told to."""

    def __init__(self, bootstrap, topic, group, name):
        super().__init__(name=name)
        self.topic = topic
        self.consumer = consumer(bootstrap, **{
            "group.id": group, "client.id": name,
            "session.timeout.ms": lab.SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": lab.HEARTBEAT_INTERVAL_MS})
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
                got = self.consumer.consume(num_messages=100, timeout=0.1)
                for m in got:
                    if m.error():
                        raise KafkaException(m.error())
                if got:
                    try:
                        self.consumer.commit(asynchronous=False)
                    except KafkaException as e:
                        if e.args[0].code() not in lab.REBALANCE_ERRORS:
                            raise
                        self.failed_commits.append(e.args[0].name())
                owned = {tp.partition for tp in self.consumer.assignment()}
                with self.lock:
                    self.values.extend(m.value().decode() for m in got)
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
    got = c.committed([TopicPartition(topic, p) for p in lab.COMMITTED], timeout=lab.DEADLINE_S)
    return "committed " + " ".join(f"{tp.partition}:{tp.offset}" for tp in
                                   sorted(got, key=lambda tp: tp.partition))


def commit(bootstrap, topic, group_id):
    create_topic(bootstrap, topic, len(lab.COMMITTED))
    n = lab.COMMIT_RECORDS_PER_PARTITION
    produce_values(bootstrap, topic, {p: [f"c{p}-{i}" for i in range(n)] for p in lab.COMMITTED})
    c = consumer(bootstrap, **{"group.id": group_id})
    c.subscribe([topic])
    seen = consume_count(c, n * len(lab.COMMITTED), [])
    print(f"read {len(seen)}")
    c.commit(offsets=[TopicPartition(topic, p, o) for p, o in lab.COMMITTED.items()],
             asynchronous=False)
    print(committed_line(c, topic))
    c.close()


def resume(bootstrap, topic, group_id):
    c = consumer(bootstrap, **{"group.id": group_id})
    print(committed_line(c, topic))
    c.subscribe([topic])
    left = sum(lab.COMMIT_RECORDS_PER_PARTITION - o for o in lab.COMMITTED.values())
    seen = consume_count(c, left, [])
    c.close()
    for m in sorted(seen, key=lambda m: (m.partition(), m.offset())):
        print(f"{m.partition()}:{m.offset()} {m.value().decode()}")
    print(f"read {len(seen)}")


def times(bootstrap, topic):
    create_topic(bootstrap, topic, len(lab.CODECS))
    base = lab.time_base_ms()
    for partition, codec in enumerate(lab.CODECS):
        producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                             "linger.ms": 60000})
        # The partition's leader known first: records produced while it is
        # being looked up may go out in batches of their own.
        producer.list_topics(topic, timeout=lab.DEADLINE_S)
        for i in range(lab.TIME_RECORDS):
            producer.produce(topic, f"{codec}-{i}".encode(), partition=partition,
                             timestamp=base + i * 1000)
        if producer.flush(lab.DEADLINE_S) != 0:
            raise RuntimeError(f"codec={codec}: produce did not complete")
    # A fetch at the end of the partition waits fetch.wait.max.ms on the broker,
    # and the next request on the connection waits behind it, as with Kafka.
    c = consumer(bootstrap, **{"fetch.wait.max.ms": 20})
    for partition, codec in enumerate(lab.CODECS):
        for query in lab.TIME_QUERIES:
            # librdkafka answers the offset only, -1 when no record is that late.
            found = c.offsets_for_times([TopicPartition(topic, partition, base + query)],
                                        timeout=lab.DEADLINE_S)[0]
            if found.error is not None:
                raise KafkaException(found.error)
            if found.offset < 0:
                print(f"time {codec} +{query} none")
                continue
            c.assign([TopicPartition(topic, partition, found.offset)])
            m = consume_count(c, 1, [])[0]
            _, stamp = m.timestamp()
            print(f"time {codec} +{query} offset={found.offset} read={m.offset()} "
                  f"timestamp=+{stamp - base} value={m.value().decode()}")
    c.close()


def admin(bootstrap, prefix):
    a, b = prefix + "-a", prefix + "-b"
    client = admin_client(bootstrap)

    def wait(futures):
        for name, f in sorted(futures.items(), key=lambda kv: str(kv[0])):
            f.result(lab.DEADLINE_S)

    def listed():
        names = client.list_topics(timeout=lab.DEADLINE_S).topics
        return "list " + " ".join(sorted(n for n in names if n.startswith(prefix + "-")))

    wait(client.create_topics([
        NewTopic(a, num_partitions=3, replication_factor=1, config={"retention.ms": "3600000"}),
        NewTopic(b, num_partitions=1, replication_factor=1)]))
    print(f"created {a} {b}")
    try:
        wait(client.create_topics([NewTopic(b, num_partitions=1, replication_factor=1)]))
        print(f"created {b} again")
    except KafkaException as e:
        print(f"create {b} again: error {e.args[0].code()}")
    print(listed())

    wait(client.create_partitions([NewPartitions(a, 5)]))
    described = client.list_topics(topic=a, timeout=lab.DEADLINE_S).topics[a]
    print(f"partitions {a} {len(described.partitions)}")
    try:
        wait(client.create_partitions([NewPartitions(a, 2)]))
        print(f"partitions {a} decreased")
    except KafkaException as e:
        print(f"partitions {a} 2: error {e.args[0].code()}")

    resource = ConfigResource(ConfigResource.Type.TOPIC, a, incremental_configs=[
        ConfigEntry("max.message.bytes", "200000",
                    incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
    wait(client.incremental_alter_configs([resource]))
    print(f"altered {a}")
    configs = client.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, a)])
    for _, f in configs.items():
        entries = f.result(lab.DEADLINE_S)
        for name in lab.DESCRIBED_CONFIGS:
            e = entries[name]
            print(f"config {name}={e.value} source={lab.CONFIG_SOURCES[e.source]}")

    wait(client.delete_topics([a]))
    print(f"deleted {a}")
    print(listed())
    wait(client.delete_topics([b]))


if __name__ == "__main__":
    lab.run({"version": version, "produce": produce, "group": group, "commit": commit,
             "resume": resume, "times": times, "admin": admin})
