"""Topic config changes and retention with real clients' admin APIs.

usage: retention_clients.py BOOTSTRAP STEP
  confluent     confluent-kafka (librdkafka): produces into 'ck-retention',
                alter_configs sets retention.bytes, waits for the low watermark
                to move, consumes from the earliest offset, and checks that
                AlterConfigs replaces the topic's whole set
  kafka-python  kafka-python: alter_configs on 'kp-retention', a refused
                value, describe_configs
Prints "OK <step>" on success; any failure raises (non-zero exit).
"""
import sys
import time

TOPIC_CK = "ck-retention"
TOPIC_KP = "kp-retention"


def confluent(bootstrap):
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC_CK, 1, 1, config={"segment.bytes": "2000"})],
                        request_timeout=10)[TOPIC_CK].result(timeout=10)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(60):
        producer.produce(TOPIC_CK, value=("%04d|" % i).encode() + b"x" * 300)
        producer.flush(10)  # one batch per message: segments of a few batches

    def configs():
        resource = ConfigResource(ConfigResource.Type.TOPIC, TOPIC_CK)
        result = list(admin.describe_configs([resource]).values())[0].result(timeout=10)
        return {name: entry.value for name, entry in result.items()}

    def alter(values):
        resource = ConfigResource(ConfigResource.Type.TOPIC, TOPIC_CK, set_config=values)
        for future in admin.alter_configs([resource]).values():
            future.result(timeout=10)

    alter({"segment.bytes": "2000", "retention.bytes": "4000"})
    assert configs()["retention.bytes"] == "4000"

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ck-retention-group",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    deadline = time.time() + 15
    low, high = consumer.get_watermark_offsets(TopicPartition(TOPIC_CK, 0), timeout=10)
    while low == 0 and time.time() < deadline:
        time.sleep(0.1)
        low, high = consumer.get_watermark_offsets(TopicPartition(TOPIC_CK, 0), timeout=10)
    assert 0 < low < high == 60, (low, high)

    # A consumer from the earliest offset reads what is left, in order.
    consumer.subscribe([TOPIC_CK])
    seen = []
    while len(seen) < high - low and time.time() < deadline:
        message = consumer.poll(1.0)
        if message is None:
            continue
        if message.error():
            raise KafkaException(message.error())
        seen.append(message.offset())
        assert message.value().startswith(("%04d|" % message.offset()).encode())
    consumer.close()
    assert seen == list(range(low, high)), (low, seen)

    # AlterConfigs replaces the set: retention.bytes goes back to its default.
    alter({"retention.ms": "86400000"})
    values = configs()
    assert values["retention.ms"] == "86400000", values
    assert values["retention.bytes"] == "-1", values
    assert values["segment.bytes"] == "1073741824", values
    try:
        alter({"retention.ms": "soon"})
        raise AssertionError("a bad value was accepted")
    except KafkaException as e:
        assert "INVALID_CONFIG" in str(e), e
    assert configs()["retention.ms"] == "86400000"


def kafka_python(bootstrap):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    admin.create_topics([NewTopic(TOPIC_KP, 1, 1)])
    response = admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, TOPIC_KP,
                        configs={"retention.ms": "3600000", "cleanup.policy": "compact"})])
    (error, message, _, name), = response.resources
    assert error == 0 and name == TOPIC_KP, response
    response = admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, TOPIC_KP, configs={"retention.ms": "-5"})])
    (error, message, _, _), = response.resources
    assert error == 40 and "retention.ms" in message, response  # INVALID_CONFIG

    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC_KP)])[0]
    (error, _, _, _, entries), = described.resources
    values = {entry[0]: entry[1] for entry in entries}
    assert values["retention.ms"] == "3600000", values
    assert values["cleanup.policy"] == "compact", values
    admin.close()


def main():
    bootstrap, step = sys.argv[1], sys.argv[2]
    if step == "confluent":
        confluent(bootstrap)
    elif step == "kafka-python":
        kafka_python(bootstrap)
    else:
        raise SystemExit("unknown step " + step)
    print("OK " + step)


if __name__ == "__main__":
    main()
