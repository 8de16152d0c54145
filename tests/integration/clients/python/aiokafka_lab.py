"""aiokafka (asyncio) against the broker: the scenarios of lab_common.py."""

import asyncio
import time

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import CommitFailedError, KafkaError, for_code

import lab_common as lab


def raise_for(code, what):
    if code:
        raise for_code(code)(what)


async def create_topic(bootstrap, topic, partitions):
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        for name, code, *_ in response.topic_errors:
            raise_for(code, name)
    finally:
        await admin.close()


def consumer(bootstrap, *topics, **extra):
    return AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                            enable_auto_commit=False, **extra)


async def produce_values(bootstrap, topic, by_partition):
    """Sends {partition: [value, ...]} with an acks=all producer."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value.encode(), partition=partition)
                   for partition, values in by_partition.items() for value in values]
        for f in futures:
            await f
    finally:
        await producer.stop()


async def get_count(c, count):
    """Records read until there are `count`, or the deadline."""
    seen = []
    end = time.monotonic() + lab.DEADLINE_S
    while len(seen) < count and time.monotonic() < end:
        got = await c.getmany(timeout_ms=200, max_records=count - len(seen))
        for records in got.values():
            seen.extend(records)
    return seen


async def send_one_batch(producer, topic, partition, records):
    """records: (key, value, headers, timestamp_ms); one batch, as aiokafka's
    batch API builds it. Returns the batch's RecordMetadata."""
    batch = producer.create_batch()
    for key, value, headers, stamp in records:
        if batch.append(key=key, value=value, headers=headers, timestamp=stamp) is None:
            raise RuntimeError("the batch is full")
    batch.close()
    return await (await producer.send_batch(batch, topic, partition=partition))


async def version():
    print(f"aiokafka {aiokafka.__version__}")


async def produce(bootstrap, topic):
    partitions = len(lab.ACKS) * len(lab.CODECS)
    await create_topic(bootstrap, topic, partitions)
    for acks in lab.ACKS:
        for codec in lab.CODECS:
            # aiokafka is not idempotent by default; with acks=all it is made so.
            producer = AIOKafkaProducer(
                bootstrap_servers=bootstrap, acks=acks if acks == "all" else int(acks),
                enable_idempotence=acks == "all",
                compression_type=None if codec == "none" else codec)
            await producer.start()
            try:
                records = [(key, value, headers, None)
                           for key, value, headers in lab.batch_records(acks, codec)]
                sent = await send_one_batch(producer, topic, lab.partition_of(acks, codec),
                                            records)
            finally:
                await producer.stop()
            # The batch's answer is the offset of its first record; with acks=0
            # there is none.
            offsets = [None if sent is None else sent.offset + i for i in range(len(records))]
            print(f"produced acks={acks} codec={codec} offsets=" +
                  ",".join(str(o) for o in offsets))
    c = consumer(bootstrap)
    await c.start()
    try:
        c.assign([TopicPartition(topic, p) for p in range(partitions)])
        await c.seek_to_beginning()
        seen = await get_count(c, partitions * lab.RECORDS_PER_BATCH)
    finally:
        await c.stop()
    for r in sorted(seen, key=lambda r: (r.partition, r.offset)):
        print(lab.describe(r.partition, r.offset, r.key, r.value, r.headers))
    print(f"read {len(seen)}")


class Member:
    """A group member as an asyncio task: it commits what it consumed after
    each read and leaves the group when told to."""

    def __init__(self, bootstrap, topic, group, name):
        self.consumer = consumer(
            bootstrap, topic, group_id=group, client_id=name,
            session_timeout_ms=lab.SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=lab.HEARTBEAT_INTERVAL_MS)
        self.name = name
        self.values = []
        self.failed_commits = []
        self.leave = asyncio.Event()
        self.task = None

    async def run(self):
        await self.consumer.start()
        try:
            while not self.leave.is_set():
                got = await self.consumer.getmany(timeout_ms=100)
                records = [r for rs in got.values() for r in rs]
                if records:
                    try:
                        await self.consumer.commit()
                    except CommitFailedError as e:
                        self.failed_commits.append(type(e).__name__)
                    except KafkaError as e:
                        if e.errno not in lab.REBALANCE_ERRORS:
                            raise
                        self.failed_commits.append(type(e).__name__)
                self.values.extend(r.value.decode() for r in records)
        finally:
            await self.consumer.stop()

    def owned(self):
        if self.task.done():
            self.task.result()  # raises what stopped it
            return set()
        return {tp.partition for tp in self.consumer.assignment()}


async def wait_until(condition, what):
    end = time.monotonic() + lab.DEADLINE_S
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("timed out waiting for " + what)
        await asyncio.sleep(0.05)


async def group(bootstrap, topic, group_id):
    await create_topic(bootstrap, topic, lab.GROUP_PARTITIONS)
    members = [Member(bootstrap, topic, group_id, f"m{i + 1}") for i in range(3)]
    for m in members:
        m.task = asyncio.create_task(m.run())
    try:
        await run_group(bootstrap, topic, members)
    finally:
        for m in members:
            m.leave.set()
        await asyncio.gather(*(m.task for m in members), return_exceptions=True)
    lab.print_group_end(members)


async def run_group(bootstrap, topic, members):
    def settled(active):
        return lambda: lab.exact_cover([m.owned() for m in active], lab.GROUP_PARTITIONS)

    def consumed(count):
        return lambda: sum(len(m.values) for m in members) >= count

    n = lab.GROUP_RECORDS_PER_PHASE
    await wait_until(settled(members), "three members to split the topic")
    print(lab.assignment_line("before", [m.owned() for m in members]))
    await produce_values(bootstrap, topic, {p: [f"g1-{i}" for i in range(n) if i % 6 == p]
                                            for p in range(lab.GROUP_PARTITIONS)})
    await wait_until(consumed(n), "the first records")
    leaving = members[2]
    leaving.leave.set()
    await leaving.task
    await wait_until(settled(members[:2]), "two members to split the topic")
    print(lab.assignment_line("after", [m.owned() for m in members[:2]]))
    await produce_values(bootstrap, topic, {p: [f"g2-{i}" for i in range(n) if i % 6 == p]
                                            for p in range(lab.GROUP_PARTITIONS)})
    await wait_until(consumed(2 * n), "the second records")


async def committed_line(c, topic):
    parts = []
    for p in sorted(lab.COMMITTED):
        parts.append(f"{p}:{await c.committed(TopicPartition(topic, p))}")
    return "committed " + " ".join(parts)


async def commit(bootstrap, topic, group_id):
    await create_topic(bootstrap, topic, len(lab.COMMITTED))
    n = lab.COMMIT_RECORDS_PER_PARTITION
    await produce_values(bootstrap, topic,
                         {p: [f"c{p}-{i}" for i in range(n)] for p in lab.COMMITTED})
    c = consumer(bootstrap, topic, group_id=group_id)
    await c.start()
    try:
        seen = await get_count(c, n * len(lab.COMMITTED))
        print(f"read {len(seen)}")
        await c.commit({TopicPartition(topic, p): o for p, o in lab.COMMITTED.items()})
        print(await committed_line(c, topic))
    finally:
        await c.stop()


async def resume(bootstrap, topic, group_id):
    c = consumer(bootstrap, topic, group_id=group_id)
    await c.start()
    try:
        print(await committed_line(c, topic))
        left = sum(lab.COMMIT_RECORDS_PER_PARTITION - o for o in lab.COMMITTED.values())
        seen = await get_count(c, left)
    finally:
        await c.stop()
    for r in sorted(seen, key=lambda r: (r.partition, r.offset)):
        print(f"{r.partition}:{r.offset} {r.value.decode()}")
    print(f"read {len(seen)}")


async def times(bootstrap, topic):
    await create_topic(bootstrap, topic, len(lab.CODECS))
    base = lab.time_base_ms()
    for partition, codec in enumerate(lab.CODECS):
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap,
                                    compression_type=None if codec == "none" else codec)
        await producer.start()
        try:
            await send_one_batch(producer, topic, partition,
                                 [(None, f"{codec}-{i}".encode(), [], base + i * 1000)
                                  for i in range(lab.TIME_RECORDS)])
        finally:
            await producer.stop()
    # A fetch at the end of the partition waits fetch_max_wait_ms on the broker.
    c = consumer(bootstrap, fetch_max_wait_ms=20)
    await c.start()
    try:
        for partition, codec in enumerate(lab.CODECS):
            tp = TopicPartition(topic, partition)
            c.assign([tp])
            for query in lab.TIME_QUERIES:
                found = (await c.offsets_for_times({tp: base + query}))[tp]
                if found is None:
                    print(f"time {codec} +{query} none")
                    continue
                c.seek(tp, found.offset)
                r = (await get_count(c, 1))[0]
                print(f"time {codec} +{query} offset={found.offset} "
                      f"answered=+{found.timestamp - base} read={r.offset} "
                      f"timestamp=+{r.timestamp - base} value={r.value.decode()}")
    finally:
        await c.stop()


async def admin(bootstrap, prefix):
    a, b = prefix + "-a", prefix + "-b"
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await client.start()

    async def listed():
        return "list " + " ".join(sorted(n for n in await client.list_topics()
                                         if n.startswith(prefix + "-")))

    # aiokafka's create_topics and delete_topics hand back Kafka's answer
    # without raising on the error codes in it.
    def errors(response):
        return [code for _, code, *_ in response.topic_errors if code]

    def delete_errors(response):
        return [code for _, code, *_ in response.topic_error_codes if code]

    created = await client.create_topics([
        NewTopic(a, num_partitions=3, replication_factor=1,
                 topic_configs={"retention.ms": "3600000"}),
        NewTopic(b, num_partitions=1, replication_factor=1)])
    raise_for(next(iter(errors(created)), 0), "create")
    print(f"created {a} {b}")
    again = await client.create_topics([NewTopic(b, num_partitions=1, replication_factor=1)])
    codes = errors(again)
    print(f"create {b} again: error {codes[0]}" if codes else f"created {b} again")
    print(await listed())

    await client.create_partitions({a: NewPartitions(5)})
    described = (await client.describe_topics([a]))[0]
    print(f"partitions {a} {len(described['partitions'])}")
    try:
        await client.create_partitions({a: NewPartitions(2)})
        print(f"partitions {a} decreased")
    except KafkaError as e:
        print(f"partitions {a} 2: error {e.errno}")

    # AlterConfigs (aiokafka has no incremental form): the topic's configs
    # become exactly these, so retention.ms returns to its default.
    for response in await client.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, a, configs={"max.message.bytes": "200000"})]):
        for code, message, *_ in response.resources:
            raise_for(code, message)
    print(f"altered {a}")
    responses = await client.describe_configs([ConfigResource(
        ConfigResourceType.TOPIC, a, configs={n: None for n in lab.DESCRIBED_CONFIGS})])
    entries = {}
    for response in responses:
        for code, message, _, _, configs in response.resources:
            raise_for(code, message)
            for name, value, _, source, *_ in configs:
                entries[name] = (value, source)
    for name in lab.DESCRIBED_CONFIGS:
        value, source = entries[name]
        print(f"config {name}={value} source={lab.CONFIG_SOURCES[source]}")

    deleted = await client.delete_topics([a])
    raise_for(next(iter(delete_errors(deleted)), 0), "delete")
    print(f"deleted {a}")
    print(await listed())
    await client.delete_topics([b])
    await client.close()


if __name__ == "__main__":
    def run_async(scenario):
        return lambda *args: asyncio.run(scenario(*args))

    lab.run({name: run_async(s) for name, s in
             {"version": version, "produce": produce, "group": group, "commit": commit,
              "resume": resume, "times": times, "admin": admin}.items()})
