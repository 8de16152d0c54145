"""confluent-kafka (librdkafka) idempotent producer, then a consumer with
assign() from the beginning: every message must come back exactly once, in
the order it was produced within its partition.

usage: confluent_idempotent.py <bootstrap> <topic> <count> [paced]

With "paced", messages go out in small steps over a few seconds and the line
"delivering" is printed once the first ones are delivered, so that the broker
can be restarted while the producer is busy.
"""
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
paced = len(sys.argv) > 4 and sys.argv[4] == "paced"

producer = Producer({
    "bootstrap.servers": bootstrap,
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 2,
    "batch.num.messages": 50,
})
failures = []
delivered = {}  # partition -> offsets in delivery order


def on_delivery(err, msg):
    if err is not None:
        failures.append(str(err))
    else:
        delivered.setdefault(msg.partition(), []).append(msg.offset())


announced = False
for i in range(count):
    producer.produce(topic, key=f"k{i % 13}", value=f"m-{i}", on_delivery=on_delivery)
    producer.poll(0)
    if paced and i % 100 == 99:
        time.sleep(0.01)
        producer.poll(0)
        if not announced and sum(len(o) for o in delivered.values()) > 0:
            print("delivering", flush=True)
            announced = True
left = producer.flush(60)
if left or failures:
    sys.exit(f"producer: {left} undelivered, errors: {failures[:5]}")
for partition, offsets in delivered.items():
    if offsets != list(range(len(offsets))):
        sys.exit(f"partition {partition}: delivered offsets are not 0..n-1: {offsets[:20]}")

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "kb-assign-only",  # required by the client; assign() uses no group
    "enable.auto.commit": False,
    "isolation.level": "read_committed",
})
partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
seen = {}
received = 0
idle = 0
while received < count and idle < 20:
    msg = consumer.poll(0.5)
    if msg is None:
        idle += 1
        continue
    if msg.error():
        sys.exit(f"consumer: {msg.error()}")
    idle = 0
    received += 1
    seen.setdefault(msg.partition(), []).append((msg.offset(), int(msg.value().decode()[2:])))
consumer.close()

values = sorted(v for msgs in seen.values() for _, v in msgs)
if values != list(range(count)):
    sys.exit(f"consumed {len(values)} messages, expected each of 0..{count - 1} once")
for partition, msgs in seen.items():
    offsets = [o for o, _ in msgs]
    order = [v for _, v in msgs]
    if offsets != list(range(len(msgs))) or order != sorted(order):
        sys.exit(f"partition {partition}: messages out of order")
print(f"ok {count} messages over {len(seen)} partitions")
