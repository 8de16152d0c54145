"""confluent-kafka over an SSL listener: creates a topic with the admin
client, produces records with a group consumer reading them back, the
client's certificate shown when one is given.

usage: confluent_tls.py BOOTSTRAP CA_FILE TOPIC COUNT [CERT_FILE KEY_FILE]
Prints "created", "produced N", "consumed N in order" (one fact a line).
"""

import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

DEADLINE_S = 30


def main():
    bootstrap, ca_file, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    tls = {"bootstrap.servers": bootstrap, "security.protocol": "SSL",
           "ssl.ca.location": ca_file}
    if len(sys.argv) > 6:
        tls["ssl.certificate.location"] = sys.argv[5]
        tls["ssl.key.location"] = sys.argv[6]

    admin = AdminClient(dict(tls))
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(
        DEADLINE_S)
    print("created", flush=True)

    producer = Producer(dict(tls, **{"acks": "all", "linger.ms": 5}))
    errors = []
    for i in range(count):
        producer.produce(topic, value=("value-%d-" % i + "x" * 1000).encode(), key=b"k%d" % i,
                         partition=i % 2,
                         on_delivery=lambda err, msg: errors.append(err) if err else None)
    left = producer.flush(DEADLINE_S)
    print("produced", count - left - len(errors), flush=True)

    consumer = Consumer(dict(tls, **{"group.id": "tls-group", "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    seen = {0: [], 1: []}
    got = 0
    deadline = time.monotonic() + DEADLINE_S
    while got < count and time.monotonic() < deadline:
        msg = consumer.poll(0.1)
        if msg is None or msg.error():
            continue
        seen[msg.partition()].append(int(msg.key()[1:]))
        got += 1
    consumer.commit(asynchronous=False)
    consumer.close()
    in_order = all(v == sorted(v) for v in seen.values())
    print("consumed", got, "in order" if in_order else "out of order", flush=True)


if __name__ == "__main__":
    main()
