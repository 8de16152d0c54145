"""Batches of every kind for the dump-log test, with confluent-kafka (librdkafka).

usage: dump_log_load.py BOOTSTRAP TOPIC
Into TOPIC: keyed records with headers, batches compressed with each codec,
a committed and an aborted transaction (so commit and abort markers), and a
record with a null value; a pause after each codec's round, so that a topic
with a small segment.ms puts each in a segment of its own. Prints "OK" on success.
"""
import sys
import time

from confluent_kafka import Producer


def main(bootstrap, topic):
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
        # A long linger: each round goes as few batches (flush sends at
        # once), even on a machine too busy to produce 21 records in 5 ms.
        producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                             "linger.ms": 1000})
        for i in range(20):
            producer.produce(topic, key=b"key-%d" % i, value=(b"%s value %d " % (codec.encode(), i)) * 4,
                             headers=[("h1", b"v1"), ("h2", None)])
        producer.produce(topic, key=b"tombstone", value=None)
        assert producer.flush(10) == 0
        time.sleep(0.25)  # segment.ms=100: the next round rolls a new segment

    tx = Producer({"bootstrap.servers": bootstrap, "transactional.id": "dump-log-tx"})
    tx.init_transactions(10)
    tx.begin_transaction()
    tx.produce(topic, key=b"tx", value=b"committed")
    tx.commit_transaction(10)
    tx.begin_transaction()
    tx.produce(topic, key=b"tx", value=b"aborted")
    tx.flush(10)  # sent before the abort: the partition then gets an ABORT marker
    tx.abort_transaction(10)
    print("OK")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
