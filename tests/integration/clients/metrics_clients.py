"""Load for the metrics test, with confluent-kafka (librdkafka).

usage: metrics_clients.py BOOTSTRAP
Produces 50 records into 'metered', reads them all with the group
'metered-group' and commits, produces 20 more (the group's lag is then 20),
then produces one record with a 1970 timestamp into 'stale', whose
message.timestamp.before.max.ms refuses it (INVALID_TIMESTAMP).
Prints "OK" on success; any failure raises (non-zero exit).
"""
import sys

from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def main(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = [NewTopic("metered", 1, 1),
              NewTopic("stale", 1, 1, config={"message.timestamp.before.max.ms": "60000"})]
    for future in admin.create_topics(topics, request_timeout=10).values():
        future.result(timeout=10)

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(50):
        producer.produce("metered", value=b"record %d" % i)
    assert producer.flush(10) == 0

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "metered-group",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(["metered"])
    seen = 0
    while seen < 50:
        message = consumer.poll(10)
        assert message is not None, "timed out after %d records" % seen
        assert message.error() is None, message.error()
        seen += 1
    consumer.commit(asynchronous=False)
    consumer.close()

    for i in range(20):
        producer.produce("metered", value=b"later %d" % i)
    assert producer.flush(10) == 0

    errors = []
    producer.produce("stale", value=b"old", timestamp=1000,
                     on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(10) == 0
    assert len(errors) == 1 and errors[0] is not None, errors
    assert errors[0].code() == KafkaError.INVALID_TIMESTAMP, errors[0]
    print("OK")


if __name__ == "__main__":
    main(sys.argv[1])
