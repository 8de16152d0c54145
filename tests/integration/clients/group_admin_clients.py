"""Deleting groups and committed offsets with real clients (run by groups_clients_test.cpp).

usage: group_admin_clients.py LIB BOOTSTRAP TOPIC
  LIB: kafka-python  KafkaAdminClient.delete_consumer_groups (DeleteGroups v1)
       librdkafka    rd_kafka_DeleteGroups and rd_kafka_DeleteConsumerGroupOffsets
                     (OffsetDelete), called through ctypes: the installed
                     confluent-kafka (1.7) has no AdminClient method for either
Groups are set up with confluent-kafka consumers: "gone" and "partial" commit
outside group management (Empty groups), "busy" has a member subscribed to TOPIC.
The topic must exist with at least 2 partitions (auto-created on first produce).
Prints "OK" when every check passed; any failure exits non-zero with what failed.
"""

import ctypes
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
GROUP_SUBSCRIBED_TO_TOPIC = 86


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def consumer(bootstrap, group):
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    })


def commit_simple(bootstrap, group, topic, offsets):
    c = consumer(bootstrap, group)
    c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()],
             asynchronous=False)
    c.close()


def committed(bootstrap, group, topic, partitions):
    """The group's committed offsets by partition (-1001, librdkafka's "none", when missing)."""
    c = consumer(bootstrap, group)
    got = c.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
    c.close()
    return {tp.partition: tp.offset for tp in got}


def set_up(bootstrap, topic):
    p = Producer({"bootstrap.servers": bootstrap})
    p.produce(topic, b"x", partition=0)
    if p.flush(30) != 0:
        fail("produce did not complete")
    commit_simple(bootstrap, "gone", topic, {0: 5, 1: 6})
    commit_simple(bootstrap, "partial", topic, {0: 7, 1: 8})
    busy = consumer(bootstrap, "busy")
    busy.subscribe([topic])
    deadline = time.time() + 60
    while not busy.assignment() and time.time() < deadline:
        busy.poll(0.2)
    if not busy.assignment():
        fail("the busy group's member got no assignment")
    busy.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
    return busy


def check_deleted(bootstrap, topic):
    after = committed(bootstrap, "gone", topic, [0, 1])
    if any(offset >= 0 for offset in after.values()):
        fail(f"the deleted group still has offsets: {after}")


def run_kafka_python(bootstrap, topic):
    from kafka import KafkaAdminClient
    from kafka.errors import GroupIdNotFoundError, NoError, NonEmptyGroupError

    busy = set_up(bootstrap, topic)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    results = dict(admin.delete_consumer_groups(["gone", "busy", "missing"]))
    expected = {"gone": NoError, "busy": NonEmptyGroupError, "missing": GroupIdNotFoundError}
    if results != expected:
        fail(f"delete_consumer_groups answered {results}")
    listed = {g for g, _ in admin.list_consumer_groups()}
    if "gone" in listed or "busy" not in listed or "partial" not in listed:
        fail(f"groups listed after the deletion: {sorted(listed)}")
    admin.close()
    busy.close()
    check_deleted(bootstrap, topic)


class Librdkafka:
    """The few librdkafka admin calls confluent-kafka 1.7 does not expose."""

    class TopicPartitionList(ctypes.Structure):
        pass

    class TopicPartition(ctypes.Structure):
        _fields_ = [
            ("topic", ctypes.c_char_p),
            ("partition", ctypes.c_int32),
            ("offset", ctypes.c_int64),
            ("metadata", ctypes.c_void_p),
            ("metadata_size", ctypes.c_size_t),
            ("opaque", ctypes.c_void_p),
            ("err", ctypes.c_int),
            ("_private", ctypes.c_void_p),
        ]

    TopicPartitionList._fields_ = [
        ("cnt", ctypes.c_int),
        ("size", ctypes.c_int),
        ("elems", ctypes.POINTER(TopicPartition)),
    ]

    def __init__(self, bootstrap):
        lib = self.lib = ctypes.CDLL("librdkafka.so.1")
        p = ctypes.c_void_p
        for name, restype, argtypes in [
            ("rd_kafka_conf_new", p, []),
            ("rd_kafka_conf_set", ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_char_p, p,
                                                 ctypes.c_size_t]),
            ("rd_kafka_new", p, [ctypes.c_int, p, ctypes.c_char_p, ctypes.c_size_t]),
            ("rd_kafka_destroy", None, [p]),
            ("rd_kafka_queue_new", p, [p]),
            ("rd_kafka_queue_destroy", None, [p]),
            ("rd_kafka_queue_poll", p, [p, ctypes.c_int]),
            ("rd_kafka_event_destroy", None, [p]),
            ("rd_kafka_event_error", ctypes.c_int, [p]),
            ("rd_kafka_event_error_string", ctypes.c_char_p, [p]),
            ("rd_kafka_DeleteGroup_new", p, [ctypes.c_char_p]),
            ("rd_kafka_DeleteGroup_destroy", None, [p]),
            ("rd_kafka_DeleteGroups", None, [p, ctypes.POINTER(p), ctypes.c_size_t, p, p]),
            ("rd_kafka_event_DeleteGroups_result", p, [p]),
            ("rd_kafka_DeleteGroups_result_groups", ctypes.POINTER(p),
             [p, ctypes.POINTER(ctypes.c_size_t)]),
            ("rd_kafka_DeleteConsumerGroupOffsets_new", p, [ctypes.c_char_p, p]),
            ("rd_kafka_DeleteConsumerGroupOffsets_destroy", None, [p]),
            ("rd_kafka_DeleteConsumerGroupOffsets", None,
             [p, ctypes.POINTER(p), ctypes.c_size_t, p, p]),
            ("rd_kafka_event_DeleteConsumerGroupOffsets_result", p, [p]),
            ("rd_kafka_DeleteConsumerGroupOffsets_result_groups", ctypes.POINTER(p),
             [p, ctypes.POINTER(ctypes.c_size_t)]),
            ("rd_kafka_group_result_name", ctypes.c_char_p, [p]),
            ("rd_kafka_group_result_error", p, [p]),
            ("rd_kafka_group_result_partitions", ctypes.POINTER(self.TopicPartitionList), [p]),
            ("rd_kafka_error_code", ctypes.c_int, [p]),
            ("rd_kafka_topic_partition_list_new", p, [ctypes.c_int]),
            ("rd_kafka_topic_partition_list_add", p, [p, ctypes.c_char_p, ctypes.c_int32]),
            ("rd_kafka_topic_partition_list_destroy", None, [p]),
        ]:
            f = getattr(lib, name)
            f.restype, f.argtypes = restype, argtypes
        conf = lib.rd_kafka_conf_new()
        lib.rd_kafka_conf_set(conf, b"bootstrap.servers", bootstrap.encode(), None, 0)
        errstr = ctypes.create_string_buffer(512)
        self.rk = lib.rd_kafka_new(0, conf, errstr, len(errstr))  # RD_KAFKA_PRODUCER
        if not self.rk:
            fail("rd_kafka_new: " + errstr.value.decode())
        self.queue = lib.rd_kafka_queue_new(self.rk)

    def close(self):
        self.lib.rd_kafka_queue_destroy(self.queue)
        self.lib.rd_kafka_destroy(self.rk)

    def _wait(self, kind, results, collect):
        """(the request's error, [collect(group result)...])"""
        event = self.lib.rd_kafka_queue_poll(self.queue, 30000)
        if not event:
            fail(kind + ": no result within 30 s")
        try:
            error = self.lib.rd_kafka_event_error(event)
            if error:
                return error, []
            count = ctypes.c_size_t()
            groups = results(event, ctypes.byref(count))
            return 0, [collect(groups[i]) for i in range(count.value)]
        finally:
            self.lib.rd_kafka_event_destroy(event)

    def _group_error(self, group_result):
        error = self.lib.rd_kafka_group_result_error(group_result)
        return self.lib.rd_kafka_error_code(error) if error else 0

    def delete_groups(self, names):
        """{group: error code}"""
        lib = self.lib
        objects = (ctypes.c_void_p * len(names))(*[lib.rd_kafka_DeleteGroup_new(n.encode())
                                                   for n in names])
        lib.rd_kafka_DeleteGroups(self.rk, objects, len(names), None, self.queue)
        for o in objects:
            lib.rd_kafka_DeleteGroup_destroy(o)
        error, answered = self._wait(
            "DeleteGroups",
            lambda e, n: lib.rd_kafka_DeleteGroups_result_groups(
                lib.rd_kafka_event_DeleteGroups_result(e), n),
            lambda g: (lib.rd_kafka_group_result_name(g).decode(), self._group_error(g)))
        if error:
            fail(f"DeleteGroups failed as a whole: {error}")
        return dict(answered)

    def delete_offsets(self, group, topic, partitions):
        """(group-level error, {partition: error code})"""
        lib = self.lib
        tps = lib.rd_kafka_topic_partition_list_new(len(partitions))
        for p in partitions:
            lib.rd_kafka_topic_partition_list_add(tps, topic.encode(), p)
        request = (ctypes.c_void_p * 1)(lib.rd_kafka_DeleteConsumerGroupOffsets_new(
            group.encode(), tps))
        lib.rd_kafka_topic_partition_list_destroy(tps)
        lib.rd_kafka_DeleteConsumerGroupOffsets(self.rk, request, 1, None, self.queue)
        lib.rd_kafka_DeleteConsumerGroupOffsets_destroy(request[0])

        def collect(g):
            parts = lib.rd_kafka_group_result_partitions(g)
            by_partition = {}
            if parts:
                for i in range(parts.contents.cnt):
                    elem = parts.contents.elems[i]
                    by_partition[elem.partition] = elem.err
            return self._group_error(g), by_partition

        # A group-level error (OffsetDelete's top-level one) fails the request as a whole.
        error, answered = self._wait(
            "DeleteConsumerGroupOffsets",
            lambda e, n: lib.rd_kafka_DeleteConsumerGroupOffsets_result_groups(
                lib.rd_kafka_event_DeleteConsumerGroupOffsets_result(e), n), collect)
        return (error, {}) if error else answered[0]


def run_librdkafka(bootstrap, topic):
    busy = set_up(bootstrap, topic)
    admin = Librdkafka(bootstrap)
    results = admin.delete_groups(["gone", "busy", "missing"])
    expected = {"gone": 0, "busy": NON_EMPTY_GROUP, "missing": GROUP_ID_NOT_FOUND}
    if results != expected:
        fail(f"DeleteGroups answered {results}, expected {expected}")

    answer = admin.delete_offsets("partial", topic, [0])
    if answer != (0, {0: 0}):
        fail(f"deleting partial's offset of partition 0 answered {answer}")
    left = committed(bootstrap, "partial", topic, [0, 1])
    if left[0] >= 0 or left[1] != 8:
        fail(f"after deleting partition 0 the group has {left}")

    answer = admin.delete_offsets("busy", topic, [0])
    if answer != (0, {0: GROUP_SUBSCRIBED_TO_TOPIC}):
        fail(f"deleting the offset of a topic the busy group consumes answered {answer}")
    answer = admin.delete_offsets("missing", topic, [0])
    if answer[0] != GROUP_ID_NOT_FOUND:
        fail(f"deleting offsets of a missing group answered {answer}")
    admin.close()
    busy.close()
    if committed(bootstrap, "busy", topic, [0])[0] != 3:
        fail("the busy group lost its offset")
    check_deleted(bootstrap, topic)


def main():
    lib_name, bootstrap, topic = sys.argv[1:4]
    if lib_name == "kafka-python":
        run_kafka_python(bootstrap, topic)
    elif lib_name == "librdkafka":
        run_librdkafka(bootstrap, topic)
    else:
        fail("unknown client " + lib_name)
    print("OK", flush=True)


if __name__ == "__main__":
    main()
