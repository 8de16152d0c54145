"""The report of run_kafka_side_by_side.sh: table.md, summary.md and chart.png from raw.tsv and
run.tsv.

    side_by_side_report.py RESULTS_DIR [--no-chart]

raw.tsv holds every figure of every round (server, round, key, value); run.tsv what the run was
(date, machine, load, counts). Each row of the table is the median over the rounds for this broker
("ours") and Apache Kafka, and their ratio ours / Kafka. The chart draws one pair of bars per row:
Kafka's at 1 and ours at the ratio, on a logarithmic axis, so figures in different units share it;
ours is green where it is the better of the two (higher, or lower, as the row says) and red where
it is not. summary.md is the table's first lines and a few of its rows, for the README. The chart
needs matplotlib; the tables need only the standard library.
"""

import csv
import statistics
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

HIGHER, LOWER = "higher", "lower"
# The rows of summary.md: one or two of each kind.
SUMMARY_KEYS = [
    "produce.100.1.1.records_per_sec", "produce.1024.all.8.records_per_sec",
    "produce.1024.all.8.p99_ms", "consume.1024.1.1.records_per_sec",
    "rdkafka.1024.produce_msgs_per_sec", "rdkafka.1024.consume_msgs_per_sec",
    "rdkafka.100.p99_us", "startup_ms", "rss_idle_kib", "rss_produce_kib",
    "rss_idle_connections_kib", "cpu_produce_s_per_gb", "cpu_consume_s_per_gb",
]
# Row labels in the chart start with their section's short name.
SHORT_SECTION = {"kafka-producer-perf-test": "producer-perf ", "kafka-consumer-perf-test": "consumer-perf ",
                 "librdkafka": "librdkafka "}


class Row:
    def __init__(self, section, label, key, unit, better, mb_key=None, aggregate="median"):
        self.section = section
        self.label = label
        self.key = key
        self.unit = unit
        self.better = better
        self.mb_key = mb_key  # a MB/s figure shown next to a records/s one
        self.aggregate = aggregate  # over the figures of all rounds: "median" or "max"


def rows(run):
    partitions = int(run["partitions"])
    connections = int(run["connections"])
    result = []
    for size, size_label in ((100, "100 B"), (1024, "1 KiB")):
        for acks in ("1", "all"):
            for parts in (1, 8):
                key = f"{size}.{acks}.{parts}"
                name = f"{size_label}, acks={acks}, {parts} part."
                section = "kafka-producer-perf-test"
                result.append(Row(section, f"{name}: records/s", f"produce.{key}.records_per_sec",
                                  "records/s", HIGHER, f"produce.{key}.mb_per_sec"))
                for pct, pct_label in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")):
                    result.append(Row(section, f"{name}: {pct_label} latency",
                                      f"produce.{key}.{pct}_ms", "ms", LOWER))
    for size, size_label in ((100, "100 B"), (1024, "1 KiB")):
        for acks in ("1", "all"):
            for parts in (1, 8):
                key = f"{size}.{acks}.{parts}"
                result.append(Row("kafka-consumer-perf-test (fetch phase)",
                                  f"{size_label}, acks={acks}, {parts} part.: records/s",
                                  f"consume.{key}.records_per_sec", "records/s", HIGHER,
                                  f"consume.{key}.mb_per_sec"))
    section = f"librdkafka {run.get('rdkafka', '')} end to end (acks=1, one partition)".replace("  ", " ")
    for size, size_label in ((100, "100 B"), (1024, "1 KiB")):
        result.append(Row(section, f"{size_label}: produced msgs/s",
                          f"rdkafka.{size}.produce_msgs_per_sec", "msgs/s", HIGHER,
                          f"rdkafka.{size}.produce_mb_per_sec"))
        result.append(Row(section, f"{size_label}: consumed msgs/s",
                          f"rdkafka.{size}.consume_msgs_per_sec", "msgs/s", HIGHER,
                          f"rdkafka.{size}.consume_mb_per_sec"))
        result.append(Row(section, f"{size_label}: produce-to-consume p50 at 1,000 msgs/s",
                          f"rdkafka.{size}.p50_us", "µs", LOWER))
        result.append(Row(section, f"{size_label}: produce-to-consume p99 at 1,000 msgs/s",
                          f"rdkafka.{size}.p99_us", "µs", LOWER))
    section = "Transactions (Java producer 4.4, 100 B records, acks=all, one partition)"
    result.append(Row(section, "idempotent, no transaction: records/s",
                      "txn.plain.records_per_sec", "records/s", HIGHER))
    for size in (10, 100, 1000):
        result.append(Row(section, f"a commit every {size:,} records: records/s",
                          f"txn.txn-{size}.records_per_sec", "records/s", HIGHER))
        for pct in ("p50", "p99"):
            result.append(Row(section, f"a commit every {size:,} records: commit (EndTxn) {pct}",
                              f"txn.txn-{size}.commit_{pct}_ms", "ms", LOWER))
    section = ("A group takes in its last member (Java consumer 4.4, defaults, a partition each; "
               "every join of every round)")
    for size in (2, 8, 32, 128):
        for protocol, name in (("classic", "classic protocol"), ("consumer", "consumer protocol (KIP-848)")):
            for aggregate in ("median", "max"):
                result.append(Row(section, f"{size} members, {name}: until all own and read, {aggregate}",
                                  f"group.{protocol}.{size}.join_ms", "ms", LOWER,
                                  aggregate=aggregate))
    section = "Share group, one partition (KafkaShareConsumer 4.4, defaults, 100 B records)"
    for consumers in (1, 4, 16):
        result.append(Row(section, f"{consumers} consumer{'s' if consumers > 1 else ''}: records/s",
                          f"share.{consumers}.records_per_sec", "records/s", HIGHER))
    section = "Start-up, memory, CPU"
    result += [
        Row(section, f"start to first answer, {partitions:,} partitions", "startup_ms", "ms",
            LOWER),
        Row(section, f"RSS after that start ({partitions:,} partitions)", "startup_rss_kib",
            "MiB", LOWER),
        Row(section, "RSS idle (fresh, 5 s after start)", "rss_idle_kib", "MiB", LOWER),
        Row(section, "RSS under the producer load (highest)", "rss_produce_kib", "MiB", LOWER),
        Row(section, f"RSS with {connections:,} idle connections", "rss_idle_connections_kib",
            "MiB", LOWER),
        Row(section, "CPU seconds per GB produced (perf test)", "cpu_produce_s_per_gb", "s/GB",
            LOWER),
        Row(section, "CPU seconds per GB consumed (perf test)", "cpu_consume_s_per_gb", "s/GB",
            LOWER),
    ]
    return result


def read_run(directory):
    run = {}
    with open(directory / "run.tsv", encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            run[key] = value
    return run


class Figures:
    """Every figure of raw.tsv by (server, key); looked up as the median, or by (server, key,
    "max") as the largest."""

    def __init__(self, values):
        self.values = values

    def get(self, key, default=None):
        aggregate = key[2] if len(key) > 2 else "median"
        figures = self.values.get(key[:2])
        if not figures:
            return default
        return max(figures) if aggregate == "max" else statistics.median(figures)

    def __contains__(self, key):
        return self.get(key) is not None

    def __getitem__(self, key):
        return self.get(key)


def read_medians(directory):
    values = defaultdict(list)
    with open(directory / "raw.tsv", encoding="utf-8") as f:
        for record in csv.DictReader(f, delimiter="\t"):
            try:
                values[(record["server"], record["key"])].append(float(record["value"]))
            except ValueError:
                pass  # an empty figure (a tool that printed nothing) counts as missing
    return Figures(values)


def number(value, unit):
    if value is None:
        return "–"
    if unit == "MiB":
        value = value / 1024  # recorded in KiB
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}".rstrip("0").rstrip(".")


def cell(medians, server, row):
    value = medians.get((server, row.key, row.aggregate))
    text = number(value, row.unit)
    if value is not None and row.mb_key and (server, row.mb_key) in medians:
        text += f" ({number(medians[(server, row.mb_key)], '')} MB/s)"
    return text


def ratio(medians, row):
    ours = medians.get(("ours", row.key, row.aggregate))
    kafka = medians.get(("kafka", row.key, row.aggregate))
    if ours is None or kafka is None or kafka == 0 or ours == 0:
        return None
    return ours / kafka


def table_line(medians, row, with_section):
    r = ratio(medians, row)
    label = f"{row.section.split(' (')[0]}: {row.label}" if with_section else row.label
    return (f"| {label} | {row.unit} | {row.better} | {cell(medians, 'ours', row)} | "
            f"{cell(medians, 'kafka', row)} | {'–' if r is None else f'{r:.2f}'} |")


TABLE_HEAD = ["| measure | unit | better | ours | Kafka 4.4 | ours / Kafka |",
              "| --- | --- | --- | ---: | ---: | ---: |"]


def write_table(directory, run, table_rows, medians):
    lines = [
        f"Measured {run['date']} by `bench/run_kafka_side_by_side.sh` on {run['machine']}; "
        f"{run['placement']}; median of {run['rounds']} round(s), servers alternating. "
        f"{run['load']}. Ours: {run['ours']}; {run['kafka']}. "
        f"Perf tests and librdkafka: {int(run['records'].split()[0]):,} records of 100 B and "
        f"{int(run['records'].split()[1]):,} of 1 KiB per run. A shared machine with two cores "
        "gives noisy figures: read the ratios, not the last digit.",
        "",
    ]
    section = None
    for row in table_rows:
        if row.section != section:
            section = row.section
            lines += ["", f"**{section}**", ""] + TABLE_HEAD
        lines.append(table_line(medians, row, with_section=False))
    (directory / "table.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    by_key = {row.key: row for row in table_rows if row.aggregate == "median"}
    summary = lines[:2] + TABLE_HEAD + [table_line(medians, by_key[key], with_section=True)
                                        for key in SUMMARY_KEYS]
    (directory / "summary.md").write_text("\n".join(summary) + "\n", encoding="utf-8")


def write_chart(directory, run, table_rows, medians):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(row, ratio(medians, row)) for row in table_rows]
    shown = [(row, r) for row, r in shown if r is not None]
    height = 0.3 * len(shown) + 1.6
    fig, ax = plt.subplots(figsize=(10, height))
    bar = 0.38
    for i, (row, r) in enumerate(shown):
        y = len(shown) - 1 - i
        shown_ratio = round(r, 2)  # as the label prints it: 1.00 is a tie, not a loss
        good = shown_ratio >= 1 if row.better == HIGHER else shown_ratio <= 1
        ax.barh(y + bar / 2, 1, height=bar, color="#9e9e9e")
        ax.barh(y - bar / 2, r, height=bar, color="#2e7d32" if good else "#c62828")
        ax.text(max(r, 1) * 1.06, y, f"{r:.2f}x", va="center", fontsize=7)
    labels = [f"{SHORT_SECTION.get(row.section.split(' ')[0], '')}{row.label} ({row.better} better)"
              for row, _ in shown]
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels(list(reversed(labels)), fontsize=7)
    ax.set_xscale("log")
    ax.axvline(1, color="black", linewidth=0.6)
    ax.set_xlabel("ours / Kafka 4.4 (Kafka = 1, grey; ours green where better, red where worse)")
    ax.set_ylim(-0.8, len(shown) - 0.2)
    lo = min([r for _, r in shown] + [1]) / 1.5
    hi = max([r for _, r in shown] + [1]) * 2.5
    ax.set_xlim(lo, hi)
    title = (f"kafka-broker vs Apache Kafka 4.4, {run['date']}, median of {run['rounds']} round(s), "
             f"{run['placement']}; {run['machine']}; {run['load']}")
    fig.suptitle(textwrap.fill(title, 150), fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / height))  # room for the three lines of title
    fig.savefig(directory / "chart.png", dpi=110)


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: side_by_side_report.py RESULTS_DIR [--no-chart]")
    directory = Path(argv[1])
    run = read_run(directory)
    medians = read_medians(directory)
    table_rows = rows(run)
    write_table(directory, run, table_rows, medians)
    if "--no-chart" not in argv[2:]:
        write_chart(directory, run, table_rows, medians)


if __name__ == "__main__":
    main(sys.argv)
