"""confluent-kafka (librdkafka) over a SASL_PLAINTEXT listener, or SASL_SSL with a CA.

usage: confluent_sasl.py BOOTSTRAP MECHANISM USER PASSWORD TOPIC [CA_PEM]
  produces two records and reads them back from the beginning; prints
  "OK <mechanism>". With a password the broker refuses, prints
  "REFUSED <the client's error>" instead (exit 0 either way; anything else raises).
"""
import sys

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient


def main():
    bootstrap, mechanism, user, password, topic = sys.argv[1:6]
    common = {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }
    if len(sys.argv) > 6:
        common["security.protocol"] = "SASL_SSL"
        common["ssl.ca.location"] = sys.argv[6]
    errors = []
    admin = AdminClient({**common, "error_cb": errors.append})
    try:
        admin.list_topics(timeout=10)
    except KafkaException as e:
        print("REFUSED", " ".join(str(x) for x in errors) or e)
        return
    producer = Producer(common)
    for value in (b"one", b"two"):
        producer.produce(topic, value)
    assert producer.flush(15) == 0, "records not delivered"
    consumer = Consumer({**common, "group.id": "sasl-" + topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got = []
    for _ in range(60):
        msg = consumer.poll(0.5)
        if msg is None:
            if len(got) == 2:
                break
            continue
        assert msg.error() is None, msg.error()
        got.append(msg.value())
        if len(got) == 2:
            break
    consumer.close()
    assert got == [b"one", b"two"], got
    print("OK", mechanism)


if __name__ == "__main__":
    main()
