#!/usr/bin/env python3
"""Bar chart of an install-benchmark run: one panel per project, scenarios on the x axis, one
bar per tool (median wall time, log scale, min-max whiskers); a red ✗ where a tool failed.

Needs matplotlib. On Debian: `apt-get install python3-matplotlib` (it installs for the
system's /usr/bin/python3).

    python3 bench/chart.py results.json [-o chart.png]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TOOL_COLORS = {"lade": "#1f77b4", "npm": "#cb3837", "pnpm": "#f9ad00", "bun": "#8c6d62"}
FALLBACK_COLORS = ["#2ca02c", "#9467bd", "#17becf"]
MATPLOTLIB_HINT = "needs matplotlib: on Debian, apt-get install python3-matplotlib"


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def render(results: dict, png: Path) -> None:
    """Writes the chart for a results.json document (as written by bench/run.py) to png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta = results["meta"]
    tools = meta["tools"]
    scenarios = meta["scenarios"]
    names = {int(k): v for k, v in meta["scenario_names"].items()}
    projects = meta["projects"]
    index = {(c["project"], c["tool"], c["scenario"]): c for c in results["summary"]}

    fig, axes = plt.subplots(len(projects), 1, figsize=(max(7, 1.7 * len(scenarios) + 2),
                                                        3.6 * len(projects)), squeeze=False)
    width = 0.8 / max(1, len(tools))
    for ax, project in zip(axes[:, 0], projects):
        medians = [c["median_s"] for c in results["summary"]
                   if c["project"] == project and c["median_s"]]
        floor = min(medians) / 3 if medians else 0.01
        for i, tool in enumerate(tools):
            color = TOOL_COLORS.get(tool, FALLBACK_COLORS[i % len(FALLBACK_COLORS)])
            xs, heights, low, high, failed_x = [], [], [], [], []
            for j, s in enumerate(scenarios):
                x = j + (i - (len(tools) - 1) / 2) * width
                c = index.get((project, tool, s))
                if not c or c["median_s"] is None:
                    failed_x.append(x)
                    continue
                xs.append(x)
                heights.append(c["median_s"])
                low.append(c["median_s"] - c["min_s"])
                high.append(c["max_s"] - c["median_s"])
            ax.bar(xs, heights, width, label=tool, color=color, yerr=[low, high], capsize=2,
                   error_kw={"elinewidth": 0.8, "ecolor": "#333333"})
            for x in failed_x:
                ax.text(x, floor * 1.15, "✗", color="red", ha="center", va="bottom",
                        fontsize=12, fontweight="bold")
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)
        ax.set_xticks(range(len(scenarios)))
        ax.set_xticklabels([f"{s} {names.get(s, '')}" for s in scenarios])
        ax.set_ylabel("seconds (median, log)")
        ax.set_title(project, loc="left", fontweight="bold")
        ax.grid(axis="y", which="both", alpha=0.25)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    versions = ", ".join(f"{t} {v}" for t, v in meta["versions"].items())
    fig.suptitle(f"install time, {meta['runs']} run(s) per bar, min–max whiskers, ✗ = no "
                 f"successful run — {versions}", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="PNG bar chart of bench/run.py results")
    p.add_argument("results", type=Path, help="results.json written by bench/run.py")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="PNG path (default: chart.png beside the results)")
    args = p.parse_args(argv)
    if not matplotlib_available():
        print(f"chart.py: {MATPLOTLIB_HINT} (python used: {sys.executable})", file=sys.stderr)
        return 2
    png = args.output or args.results.with_name("chart.png")
    render(json.loads(args.results.read_text()), png)
    print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
