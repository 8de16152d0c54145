"""What the Python client lab's drivers share: the records each scenario
sends, how a record is printed, the scenario dispatch.

Every driver (confluent_lab.py, aiokafka_lab.py, kafka_python_lab.py) runs one
scenario per call and prints what it saw on stdout, one fact a line, for
python_clients_test.cpp to compare with what Kafka does; the clients' own
logging goes to stderr. A driver exits 0 when the scenario ran to its end
(whatever it saw), 1 with a traceback on stderr when the client raised.

  version                          the client's version
  produce  BOOTSTRAP TOPIC         a topic of 15 partitions: per acks (0, 1, all)
                                   and codec (none, gzip, snappy, lz4, zstd)
                                   one producer sends RECORDS_PER_BATCH records
                                   to its own partition in one batch; then all
                                   are read back by assignment
  group    BOOTSTRAP TOPIC GROUP   three members split a topic of 6 partitions
                                   and consume; one leaves, two split it again
                                   and consume what is produced next; a commit
                                   a rebalance refused is printed (its records
                                   come again, as Kafka's at-least-once gives)
  commit   BOOTSTRAP TOPIC GROUP   a topic of 2 partitions with 20 records each;
                                   a member reads all and commits 0:12 and 1:5
  resume   BOOTSTRAP TOPIC GROUP   (after a broker restart) a new member of the
                                   group reads from the committed offsets
  times    BOOTSTRAP TOPIC         per codec, one batch of 20 records stamped
                                   BASE + i s; offsets for times, and the record
                                   a seek to each answer reads
  admin    BOOTSTRAP PREFIX        the admin client: create, list, create
                                   partitions, alter and describe configs, delete
  features BOOTSTRAP               (kafka-python) the supported and finalized
                                   features ApiVersions carries
"""

import logging
import sys
import time

ACKS = ["0", "1", "all"]
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
DEADLINE_S = 30  # for any one wait on the broker

GROUP_PARTITIONS = 6
GROUP_RECORDS_PER_PHASE = 30
SESSION_TIMEOUT_MS = 6000  # the broker's group.min.session.timeout.ms
HEARTBEAT_INTERVAL_MS = 500

COMMIT_RECORDS_PER_PARTITION = 20
COMMITTED = {0: 12, 1: 5}

# offsets_for_times asks for BASE plus these milliseconds; the batch's records
# are stamped BASE + i * 1000 for i in 0..19. Kafka answers 0, 1, 5, 19, none.
TIME_RECORDS = 20
TIME_QUERIES = [0, 500, 5000, 19000, 19001]


# DescribeConfigs' config_source, by number (Kafka's ConfigSource ids).
CONFIG_SOURCES = {
    -1: "UNKNOWN",
    1: "DYNAMIC_TOPIC_CONFIG",
    2: "DYNAMIC_BROKER_CONFIG",
    3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
    4: "STATIC_BROKER_CONFIG",
    5: "DEFAULT_CONFIG",
    6: "DYNAMIC_BROKER_LOGGER_CONFIG",
}
# The topic configs the admin scenario prints after its changes.
DESCRIBED_CONFIGS = ["cleanup.policy", "max.message.bytes", "retention.ms"]


def time_base_ms():
    """An hour ago, on a whole second: inside any retention the broker keeps."""
    return (int(time.time()) - 3600) * 1000


def partition_of(acks, codec):
    return ACKS.index(acks) * len(CODECS) + CODECS.index(codec)


def batch_records(acks, codec, null_header_values=True):
    """(key, value, headers) of one producer's batch: four keyed records with
    headers, a null value with a key, a null key with an empty header value and
    a null one (where the client can send a null header value: Kafka's record
    format and Java client can)."""
    records = []
    for i in range(4):
        value = f"{codec}-acks{acks}-v{i}-" + "x" * 64
        headers = [("codec", codec.encode()), ("index", str(i).encode())]
        records.append((f"k{i}".encode(), value.encode(), headers))
    records.append((b"k4", None, []))
    headers = [("empty", b"")] + ([("none", None)] if null_header_values else [])
    records.append((None, f"{codec}-acks{acks}-no-key".encode(), headers))
    return records


RECORDS_PER_BATCH = len(batch_records("1", "none"))


def text(data):
    return "null" if data is None else data.decode()


def describe(partition, offset, key, value, headers):
    """One record as the test expects it: p:o key=.. value=.. h=v..."""
    line = f"{partition}:{offset} key={text(key)} value={text(value)}"
    for name, data in headers or []:
        line += f" {name}={text(data)}"
    return line


def assignment_line(label, members):
    """label m1=0,1 m2=2,3 ...: each member's partitions, sorted."""
    parts = [f"m{i + 1}=" + ",".join(str(p) for p in sorted(owned)) for i, owned in
             enumerate(members)]
    return label + " " + " ".join(parts)


# The errors with which a commit is refused while the group rebalances
# (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS): a member
# goes on, and what it read comes again to whoever owns the partition next.
REBALANCE_ERRORS = {22, 25, 27}


def print_group_end(members):
    for m in members:
        for failure in m.failed_commits:
            print(f"commit failed {failure}")
    for m in members:
        for v in m.values:
            print(f"consumed {v}")


def wait_until(condition, what, deadline_s=DEADLINE_S, step_s=0.05):
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("timed out waiting for " + what)
        time.sleep(step_s)


def exact_cover(members, partitions):
    """True when every member owns something and each partition has one owner."""
    owned = [p for m in members for p in m]
    return all(members) and sorted(owned) == list(range(partitions))


def run(scenarios):
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    name, args = sys.argv[1], sys.argv[2:]
    if name not in scenarios:
        sys.exit(f"unknown scenario {name}; known: {' '.join(scenarios)}")
    scenarios[name](*args)
    sys.stdout.flush()
