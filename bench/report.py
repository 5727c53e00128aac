"""Turn results into docs/BENCHMARKS.md (medians, ratios, targets) and the PNG plots."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.measure import MiB, parse_size

# scenario prefix -> [(compared with, target ratio blobstream/other or None)]
TARGETS: dict[str, list[tuple[str, float | None]]] = {
    "put-cl": [("nginx", 1.0), ("copyparty", 1.5)],
    "put-chunked": [("nginx", 1.0)],
    "get": [("nginx", 1.0), ("copyparty", 1.2)],
    "range-get": [("nginx", 0.9)],
    "concurrent": [("nginx", 0.9)],
    "small-get": [("flask", 1.2), ("nginx", None)],
    "small-put": [("flask", 1.2), ("flask-fsync", None), ("nginx", None)],
    "tus-patch": [("tus-node", 1.2)],
    # WebDAV (/dav/) against the native API (/blobs/) of the same server
    "webdav-put-cl": [("rest", 0.9)],
    "webdav-put-chunked": [("rest", 0.9)],
    "webdav-get": [("rest", 0.9)],
}


def medians(results: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """scenario -> server -> {median, unit, n, failed, rss (peak of the medians' runs)}."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        grouped[(r["scenario"], r["server"])].append(r)
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (scenario, server), rows in grouped.items():
        good = [r["value"] for r in rows if r["ok"]]
        cpu = [
            r["extra"]["cpu_s"] / (r["value"] * r["extra"]["wall_s"] / 1000)
            for r in rows
            if r["ok"] and r["value"] and r["extra"].get("wall_s") and "cpu_s" in r["extra"]
        ]
        out[scenario][server] = {
            "median": statistics.median(good) if good else 0.0,
            "unit": rows[0]["unit"],
            "n": len(rows),
            "failed": sum(not r["ok"] for r in rows),
            "rss": max(r["rss"] for r in rows),
            "values": [r["value"] for r in rows],
            "cpu_per_gb": statistics.median(cpu) if cpu else None,
        }
    return out


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _base(scenario: str) -> str:
    return re.split(r"[@-]\d", scenario)[0].split("@")[0]


def ratio_table(med: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = [
        "| scenario | compared with | ratio (median) | target | blobstream | other | unit "
        "| blobstream peak RSS | runs (failed) |",
        "|---|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for scenario in med:
        # blobstream as served by default, then its variants (bs-direct, other backends)
        variants = sorted(name for name in med[scenario] if name.startswith("bs-"))
        for name in ["blobstream", *variants]:
            mine = med[scenario].get(name)
            if mine is None:
                continue
            label = scenario if name == "blobstream" else f"{scenario} ({name})"
            for other, target in TARGETS.get(_base(scenario), []):
                theirs = med[scenario].get(other)
                if theirs is None or not theirs["median"]:
                    continue
                ratio = mine["median"] / theirs["median"]
                failed = mine["failed"] + theirs["failed"]
                verdict = "" if target is None else (" ✅" if ratio >= target else " ❌")
                target_text = "report" if target is None else f"≥ {target:.1f}×"
                lines.append(
                    f"| {label} | {other} | **{ratio:.2f}×**{verdict} | {target_text} "
                    f"| {_fmt(mine['median'])} | {_fmt(theirs['median'])} | {mine['unit']} "
                    f"| {mine['rss'] / MiB:.0f} MiB | {mine['n']} ({failed}) |"
                )
    return lines


def absolute_table(med: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = [
        "| scenario | server | median | unit | all runs | server CPU s/GB | peak RSS | failed |",
        "|---|---|---:|---|---|---:|---:|---:|",
    ]
    for scenario, servers in med.items():
        for server, m in sorted(servers.items()):
            runs = ", ".join(_fmt(v) for v in m["values"])
            cpu = "" if m["cpu_per_gb"] is None else f"{m['cpu_per_gb']:.2f}"
            lines.append(
                f"| {scenario} | {server} | {_fmt(m['median'])} | {m['unit']} | {runs} "
                f"| {cpu} | {m['rss'] / MiB:.0f} MiB | {m['failed']} |"
            )
    return lines


def memory_lines(med: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = []
    for verb in ("put", "get"):
        found = sorted(
            (parse_size(s.split("@")[1]), s) for s in med if s.startswith(f"memory-{verb}@")
        )
        if len(found) < 2:
            continue
        (_, small), (_, large) = found[0], found[-1]
        for server in sorted(med[small]):
            if server not in med[large]:
                continue
            a, b = med[small][server]["median"], med[large][server]["median"]
            lines.append(
                f"| {verb.upper()} | {server} | {a:.1f} MiB | {b:.1f} MiB | {b - a:+.1f} MiB "
                f"| {small.split('@')[1]} → {large.split('@')[1]} |"
            )
    if lines:
        lines = [
            "| transfer | server | peak RSS small | peak RSS large | growth | sizes |",
            "|---|---|---:|---:|---:|---|",
            *lines,
        ]
    return lines


def scaling_lines(med: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """PUT latency with few and many keys in the index, and the listing rate."""
    latency = sorted(
        (int(s.split("@")[1].split("-")[0].replace("k", "000")), s)
        for s in med
        if s.startswith("put-latency@")
    )
    lines = []
    if len(latency) >= 2:
        (few, a), (many, b) = latency[0], latency[-1]
        x, y = med[a]["blobstream"]["median"], med[b]["blobstream"]["median"]
        verdict = "✅" if y / x <= 1.2 else "❌"
        lines.append(
            f"- 4 KiB PUT latency (median of 200 sequential, keep-alive): {x:.2f} ms with "
            f"{few:,} keys, {y:.2f} ms with {many:,} keys: **{y / x:.2f}×** {verdict} "
            "(target ≤ 1.2×)."
        )
    for s in med:
        if s.startswith("list-"):
            m = med[s]["blobstream"]
            lines.append(
                f"- Listing {s.split('-')[1]} keys page by page (limit 1000, keep-alive): "
                f"median {m['median']:,.0f} keys/s, peak RSS {m['rss'] / MiB:.0f} MiB."
            )
    return lines


def plots(med: dict[str, dict[str, dict[str, Any]]], out_dir: Path) -> list[str]:
    """Throughput vs body size and vs concurrency, one PNG each; returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[str] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(s.startswith(("put-cl@", "get@")) for s in med):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, verb in zip(axes, ("put-cl", "get"), strict=True):
            for server in ("blobstream", "nginx", "copyparty"):
                points = sorted(
                    (parse_size(s.split("@")[1]), med[s][server]["median"])
                    for s in med
                    if s.startswith(f"{verb}@") and server in med[s]
                )
                if points:
                    ax.plot(
                        [p[0] / MiB for p in points], [p[1] for p in points], "o-", label=server
                    )
            ax.set_xscale("log", base=2)
            ax.set_xlabel("body size (MiB)")
            ax.set_ylabel("MB/s (median)")
            ax.set_title(f"{'PUT (Content-Length)' if verb == 'put-cl' else 'GET'} vs body size")
            ax.grid(True, alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "throughput-vs-size.png", dpi=110)
        plt.close(fig)
        made.append("throughput-vs-size.png")

    conc = [s for s in med if s.startswith("concurrent-")]
    if conc:
        fig, ax = plt.subplots(figsize=(6, 4.2))
        for server in ("blobstream", "nginx"):
            points = sorted(
                (int(s.split("-")[1].split("x")[0]), med[s][server]["median"])
                for s in conc
                if server in med[s]
            )
            ax.plot([p[0] for p in points], [p[1] for p in points], "o-", label=server)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent transfers (half PUT, half GET)")
        ax.set_ylabel("aggregate MB/s (median)")
        ax.set_title(f"Aggregate throughput vs concurrency ({conc[0].split('x')[1]} each)")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "throughput-vs-concurrency.png", dpi=110)
        plt.close(fig)
        made.append("throughput-vs-concurrency.png")
    return made


def write(
    results: list[dict[str, Any]], meta: dict[str, str], docs: Path, analysis: Path | None
) -> Path:
    med = medians(results)
    images = plots(med, docs / "bench")
    parts = [
        "# Benchmarks",
        "",
        "blobstream against nginx (the anchor) and the servers a user would pick instead, "
        "measured in one run on one machine, interleaved, order rotated every round, "
        "fresh keys and `sync` before every timed PUT, bodies in `/dev/shm`, curl or wrk "
        "as the client. The machine is shared and noisy: only the same-run **ratios** "
        "count; the absolute figures are context. MB/s is 10⁶ bytes per second.",
        "",
        "## How to reproduce",
        "",
        "```",
        meta["command"],
        "```",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in meta.items() if k != "command"),
        "",
        "## Ratios against the targets (issue 10)",
        "",
        *ratio_table(med),
        "",
    ]
    mem = memory_lines(med)
    if mem:
        parts += ["## Memory: peak RSS of the server process tree", "", *mem, ""]
    scale = scaling_lines(med)
    if scale:
        parts += ["## Index scaling", "", *scale, ""]
    parts += [f"![{name}](bench/{name})" for name in images]
    parts += ["", "## Every measurement (medians and each round)", "", *absolute_table(med), ""]
    if analysis is not None and analysis.exists():
        parts += [analysis.read_text().rstrip(), ""]
    out = docs / "BENCHMARKS.md"
    out.write_text("\n".join(parts))
    return out
