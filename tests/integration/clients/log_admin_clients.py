"""Seeking by time into compressed batches with real clients.

usage: log_admin_clients.py BOOTSTRAP STEP
  confluent     confluent-kafka (librdkafka): twenty records with timestamps
                base + i * 1000 in one batch per codec (gzip, snappy, lz4,
                zstd; a partition each of 'ck-times'), then offsets_for_times
  kafka-python  kafka-python: the same in one gzip batch of 'kp-times' (the
                only codec it has without extra modules), then offsets_for_times
                with the timestamps it reports
Prints "OK <step>" on success; any failure raises (non-zero exit).
"""
import sys

BASE = 1700000000000
# Asked for, and the offset Kafka finds (None: no record that late).
CASES = [(BASE, 0), (BASE + 500, 1), (BASE + 5000, 5), (BASE + 19000, 19), (BASE + 19001, None)]


def confluent(bootstrap):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    codecs = ["gzip", "snappy", "lz4", "zstd"]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("ck-times", len(codecs), 1)],
                        request_timeout=10)["ck-times"].result(timeout=10)
    for partition, codec in enumerate(codecs):
        producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                             "linger.ms": 5000, "batch.num.messages": 100})
        for i in range(20):
            producer.produce("ck-times", value=b"value-%d" % i, partition=partition,
                             timestamp=BASE + i * 1000)
        assert producer.flush(15) == 0, codec

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ck-times"})
    for partition, codec in enumerate(codecs):
        # One time per request: Kafka refuses a partition named twice in one.
        for ts, offset in CASES:
            asked = TopicPartition("ck-times", partition, ts)
            found = consumer.offsets_for_times([asked], timeout=10)[0]
            assert found.error is None, (codec, ts, found.error)
            assert found.offset == (offset if offset is not None else -1), (codec, ts, found)
    consumer.close()


def kafka_python(bootstrap):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic("kp-times", 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip",
                             linger_ms=5000, batch_size=1 << 20)
    for i in range(20):
        producer.send("kp-times", value=b"value-%d" % i, partition=0, timestamp_ms=BASE + i * 1000)
    producer.flush(15)
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    tp = TopicPartition("kp-times", 0)
    for ts, offset in CASES:
        found = consumer.offsets_for_times({tp: ts})[tp]
        if offset is None:
            assert found is None, (ts, found)
        else:
            # The found record's own timestamp, as Kafka answers.
            assert (found.offset, found.timestamp) == (offset, BASE + offset * 1000), (ts, found)
    consumer.close()


def main():
    bootstrap, step = sys.argv[1], sys.argv[2]
    {"confluent": confluent, "kafka-python": kafka_python}[step](bootstrap)
    print("OK " + step)


if __name__ == "__main__":
    main()
