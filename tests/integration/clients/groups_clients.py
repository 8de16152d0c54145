"""Group consumers of real clients against the broker (run by groups_clients_test.cpp).

usage: groups_clients.py LIB SCENARIO BOOTSTRAP TOPIC GROUP
  LIB: confluent (librdkafka) or kafka-python
  SCENARIO:
    commit  consume all, commit, a new consumer of the group resumes after the commit
    split   two members split a 4-partition topic; one leaves, the other gets all;
            one is killed, the other gets all after the session timeout
    member  (child process) a member that prints its assignment until told to leave
The topic must have 4 partitions (the broker auto-creates it with num.partitions=4).
Exits 0 when every check passed; prints what failed otherwise.
"""

import os
import signal
import subprocess
import sys
import threading
import time

SESSION_TIMEOUT_MS = 6000  # the broker's group.min.session.timeout.ms


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


class Confluent:
    def __init__(self, bootstrap):
        import confluent_kafka

        self.ck = confluent_kafka
        self.bootstrap = bootstrap

    def produce(self, topic, values, partition=None):
        p = self.ck.Producer({"bootstrap.servers": self.bootstrap})
        for v in values:
            if partition is None:
                p.produce(topic, v.encode())
            else:
                p.produce(topic, v.encode(), partition=partition)
        if p.flush(30) != 0:
            fail("produce did not complete")

    def consumer(self, group, topic):
        c = self.ck.Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": group,
                "session.timeout.ms": SESSION_TIMEOUT_MS,
                "heartbeat.interval.ms": 500,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        c.subscribe([topic])
        return c

    def poll(self, c, timeout):
        m = c.poll(timeout)
        if m is None or m.error():
            return []
        return [m.value().decode()]

    def assignment(self, c):
        return sorted(tp.partition for tp in c.assignment())

    def commit(self, c):
        c.commit(asynchronous=False)

    def close(self, c):
        c.close()


class KafkaPython:
    def __init__(self, bootstrap):
        import kafka

        self.kafka = kafka
        self.bootstrap = bootstrap

    def produce(self, topic, values, partition=None):
        p = self.kafka.KafkaProducer(bootstrap_servers=self.bootstrap)
        for v in values:
            p.send(topic, v.encode(), partition=partition)
        p.flush(30)
        p.close()

    def consumer(self, group, topic):
        return self.kafka.KafkaConsumer(
            topic,
            bootstrap_servers=self.bootstrap,
            group_id=group,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=500,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    def poll(self, c, timeout):
        out = []
        for records in c.poll(timeout_ms=int(timeout * 1000)).values():
            out.extend(r.value.decode() for r in records)
        return out

    def assignment(self, c):
        return sorted(tp.partition for tp in c.assignment())

    def commit(self, c):
        c.commit()

    def close(self, c):
        c.close()


def consume_until(lib, c, expected_count, seconds):
    got = []
    deadline = time.time() + seconds
    while len(got) < expected_count and time.time() < deadline:
        got.extend(lib.poll(c, 0.2))
    return got


def scenario_commit(lib, topic, group):
    first = [f"a{i}" for i in range(20)]
    lib.produce(topic, first)
    c = lib.consumer(group, topic)
    got = consume_until(lib, c, len(first), 60)
    if sorted(got) != sorted(first):
        fail(f"first consumer got {len(got)} of {len(first)}: {got}")
    lib.commit(c)
    lib.close(c)

    second = [f"b{i}" for i in range(5)]
    lib.produce(topic, second)
    c = lib.consumer(group, topic)
    got = consume_until(lib, c, len(second), 60)
    # Anything after the five would be a repeat of the committed ones.
    got.extend(consume_until(lib, c, 1, 2))
    lib.commit(c)
    lib.close(c)
    if sorted(got) != sorted(second):
        fail(f"after the commit the group got {got}, expected {second}")
    print("commit: ok", flush=True)


class Child:
    """A member in another process; its assignment lines are read in a thread."""

    def __init__(self, lib_name, bootstrap, topic, group):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), lib_name, "member", bootstrap, topic, group],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.assignment = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("ASSIGNED"):
                parts = line.split()[1:]
                self.assignment = sorted(int(p) for p in parts)

    def leave(self):
        self.proc.stdin.write("leave\n")
        self.proc.stdin.flush()
        self.proc.wait(30)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)


def wait_for(lib, c, condition, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        lib.poll(c, 0.2)
        if condition():
            return
    fail(f"timed out waiting for {what}; own assignment {lib.assignment(c)}")


def scenario_split(lib, lib_name, bootstrap, topic, group):
    lib.produce(topic, ["x"])  # the topic exists (4 partitions) before anyone subscribes
    a = lib.consumer(group, topic)
    wait_for(lib, a, lambda: lib.assignment(a) == [0, 1, 2, 3], 60, "the first member to get all")

    def split_with(child):
        def ok():
            mine, theirs = lib.assignment(a), child.assignment
            return (
                theirs is not None
                and len(mine) == 2
                and len(theirs) == 2
                and sorted(mine + theirs) == [0, 1, 2, 3]
            )

        wait_for(lib, a, ok, 60, "two members to split 4 partitions")

    b = Child(lib_name, bootstrap, topic, group)
    split_with(b)
    print("split: ok", flush=True)

    b.leave()
    wait_for(lib, a, lambda: lib.assignment(a) == [0, 1, 2, 3], 30, "all partitions after a leave")
    print("leave: ok", flush=True)

    b = Child(lib_name, bootstrap, topic, group)
    split_with(b)
    b.kill()
    killed_at = time.time()
    wait_for(lib, a, lambda: lib.assignment(a) == [0, 1, 2, 3], 60, "all partitions after a kill")
    took = time.time() - killed_at
    # The dead member's partitions move only once its session timed out.
    if took < SESSION_TIMEOUT_MS / 1000 - 1.5:
        fail(f"partitions moved {took:.1f} s after the kill, before the session timeout")
    print(f"kill: ok after {took:.1f} s", flush=True)
    lib.close(a)


def scenario_member(lib, topic, group):
    c = lib.consumer(group, topic)
    last = None
    stop = threading.Event()

    def watch_stdin():
        for line in sys.stdin:
            if line.strip() == "leave":
                stop.set()
                return

    threading.Thread(target=watch_stdin, daemon=True).start()
    while not stop.is_set():
        lib.poll(c, 0.2)
        now = lib.assignment(c)
        if now != last:
            last = now
            print("ASSIGNED " + " ".join(str(p) for p in now), flush=True)
    lib.close(c)


def main():
    lib_name, scenario, bootstrap, topic, group = sys.argv[1:6]
    lib = Confluent(bootstrap) if lib_name == "confluent" else KafkaPython(bootstrap)
    if scenario == "commit":
        scenario_commit(lib, topic, group)
    elif scenario == "split":
        scenario_split(lib, lib_name, bootstrap, topic, group)
    elif scenario == "member":
        scenario_member(lib, topic, group)
    else:
        fail("unknown scenario " + scenario)


if __name__ == "__main__":
    main()
