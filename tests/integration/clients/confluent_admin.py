"""confluent-kafka (librdkafka) AdminClient against the broker.

usage: confluent_admin.py BOOTSTRAP STEP
  create  creates 'ck-admin' with 3 partitions and a config; checks Metadata
  check   checks 'ck-admin' (after a restart): 3 partitions, its config
  delete  deletes 'ck-admin' and checks it is gone
Prints "OK <step>" on success; any failure raises (non-zero exit).
"""
import sys

from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

TOPIC = "ck-admin"


def partitions(admin):
    md = admin.list_topics(timeout=10)
    topic = md.topics.get(TOPIC)
    if topic is None:
        return None
    assert topic.error is None, topic.error
    for p in topic.partitions.values():
        assert p.leader == 1 and p.replicas == [1] and p.isrs == [1], p
    return len(topic.partitions)


def topic_config(admin, name):
    futures = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, TOPIC)])
    configs = list(futures.values())[0].result(timeout=10)
    return configs[name].value


def main():
    bootstrap, step = sys.argv[1], sys.argv[2]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    if step == "create":
        futures = admin.create_topics(
            [NewTopic(TOPIC, num_partitions=3, replication_factor=1,
                      config={"retention.ms": "3600000"})],
            request_timeout=10)
        futures[TOPIC].result(timeout=10)
        assert partitions(admin) == 3
        # A second creation is refused with TOPIC_ALREADY_EXISTS.
        again = admin.create_topics([NewTopic(TOPIC, 3, 1)], request_timeout=10)
        try:
            again[TOPIC].result(timeout=10)
            raise AssertionError("created twice")
        except Exception as e:  # KafkaException
            assert "TOPIC_ALREADY_EXISTS" in str(e), e
        brokers = admin.list_topics(timeout=10).brokers
        assert list(brokers) == [1], brokers
    elif step == "check":
        assert partitions(admin) == 3
        assert topic_config(admin, "retention.ms") == "3600000"
    elif step == "delete":
        futures = admin.delete_topics([TOPIC], request_timeout=10)
        futures[TOPIC].result(timeout=10)
        assert partitions(admin) is None
    else:
        raise SystemExit("unknown step " + step)
    print("OK " + step)


if __name__ == "__main__":
    main()
