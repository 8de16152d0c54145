"""kafka-python KafkaAdminClient against the broker: create, describe_configs,
create_partitions, describe_cluster and delete. Prints "OK" on success; any
failure raises (non-zero exit).

usage: kafka_python_admin.py BOOTSTRAP
"""
import sys

from kafka.admin import (ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions,
                         NewTopic)
from kafka.errors import TopicAlreadyExistsError


def main():
    admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=10000)
    response = admin.create_topics(
        [NewTopic("py-admin", 2, 1, topic_configs={"cleanup.policy": "compact"})])
    assert all(error == 0 for _, error, *_ in response.topic_errors), response
    try:
        admin.create_topics([NewTopic("py-admin", 2, 1)])
        raise AssertionError("created twice")
    except TopicAlreadyExistsError:
        pass

    described = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, "py-admin")])[0]
    (error, _, _, name, entries), = described.resources
    assert error == 0 and name == "py-admin", described
    values = {entry[0]: entry[1] for entry in entries}
    assert values["cleanup.policy"] == "compact", values
    assert values["segment.bytes"] == "1073741824", values

    broker = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])[0]
    (error, _, _, _, entries), = broker.resources
    assert error == 0 and any(entry[0] == "num.partitions" for entry in entries), broker

    response = admin.create_partitions({"py-admin": NewPartitions(3)})
    assert response.topic_errors[0][1] == 0, response
    cluster = admin.describe_cluster()
    assert [b["node_id"] for b in cluster["brokers"]] == [1], cluster
    assert "py-admin" in admin.list_topics()

    response = admin.delete_topics(["py-admin"])
    assert response.topic_error_codes[0][1] == 0, response
    assert "py-admin" not in admin.list_topics()
    admin.close()
    print("OK")


if __name__ == "__main__":
    main()
