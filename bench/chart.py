"""Draws a benchmark script's table as a PNG (the run_*.sh scripts call it through write_chart in
lib.sh when KB_BENCH_CHART names the file to write).

    chart.py TABLE_TSV OUTPUT_PNG [NOTE]

TABLE_TSV holds one or more tables, as lib.sh's chart_table and chart_row write them:

    #table<TAB>title
    #columns<TAB>row label<TAB>first figure's name (unit)<TAB>...
    label<TAB>value<TAB>...

Each figure column gets its own panel of horizontal bars (one per row), since the columns of a
table rarely share a unit; a value that is not a number (e.g. "-") leaves its bar out. NOTE is
printed under the title (the scripts say there where and how the figures were measured).
"""

import sys
from pathlib import Path


def read_tables(path):
    tables = []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if fields[0] == "#table":
            tables.append({"title": fields[1] if len(fields) > 1 else "", "columns": [], "rows": []})
        elif fields[0] == "#columns" and tables:
            tables[-1]["columns"] = fields[2:]
        elif tables:
            tables[-1]["rows"].append((fields[0], fields[1:]))
    return [t for t in tables if t["columns"] and t["rows"]]


def as_number(text):
    try:
        return float(text.strip().rstrip("%x"))
    except ValueError:
        return None


def draw(tables, output, note):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = max(len(t["columns"]) for t in tables)
    heights = [0.9 + 0.3 * len(t["rows"]) for t in tables]
    # Wide enough for the titles even when a table has a single column.
    fig = plt.figure(figsize=(max(3.4 * width + 1.8, 9.0), sum(heights) + 0.4), layout="constrained")
    subfigures = fig.subfigures(len(tables), 1, height_ratios=heights, squeeze=False)[:, 0]
    for table, subfigure in zip(tables, subfigures):
        labels = [label for label, _ in table["rows"]]
        positions = list(range(len(labels)))
        panels = subfigure.subplots(1, width, sharey=True, squeeze=False)[0]
        for index, ax in enumerate(panels):
            if index >= len(table["columns"]):
                ax.axis("off")
                continue
            values = [
                as_number(cells[index]) if index < len(cells) else None
                for _, cells in table["rows"]
            ]
            ax.barh(positions, [v if v is not None else 0 for v in values], color="#4878a8")
            for position, value in zip(positions, values):
                if value is not None:
                    ax.text(value, position, f" {value:g}", va="center", fontsize=7)
            ax.set_yticks(positions, labels, fontsize=8)
            ax.set_title(table["columns"][index], fontsize=9)
            ax.tick_params(axis="x", labelsize=7)
            ax.margins(x=0.3)
        panels[0].invert_yaxis()
        subfigure.suptitle(table["title"], fontsize=10, fontweight="bold", x=0.01, ha="left")
    if note:
        fig.suptitle(note, fontsize=8, color="#a03030")
    fig.savefig(output, dpi=100)
    plt.close(fig)


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit("usage: chart.py TABLE_TSV OUTPUT_PNG [NOTE]")
    tables = read_tables(argv[1])
    if not tables:
        sys.exit(f"chart.py: no table with rows in {argv[1]}")
    draw(tables, argv[2], argv[3] if len(argv) == 4 else "")


if __name__ == "__main__":
    main(sys.argv)
