"""Benchmark the lab's composite pipeline against odc-stac, a naive loop and the raw-read limit.

``python benchmarks/run.py`` (``make bench``) runs against the offline stand-in with the ``full``
archive, starting it if it is not running and stopping it afterwards only if it started it.
``--size ci`` is a quick run on the small archive. Sections:

1. **composites** at 100 m and at 10 m over the AOI: every method on the same items (the lab's
   query), bands and grid; time and peak memory, median of ``--runs`` interleaved runs, ratios to
   odc-stac and to the raw-read limit, and the max abs difference between composites;
2. **scaling**: ours for 1, 2, 4 and 6 years of archive at 100 m, time and peak memory (+ PNG);
3. **modis**: notebook 05's loop per day, the lab's blob route vs the STAC route;
4. **notebooks**: the wall time of ``labhelpers run`` (every lab notebook, papermill).

Figures go to ``benchmarks/results/`` (``results.json``, ``tables.md``, ``scaling.png``).
How each figure is measured: :mod:`benchmarks.worker`; the methods: :mod:`benchmarks.methods`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `python benchmarks/run.py` puts benchmarks/, not the checkout, on sys.path

from benchmarks import modis_loop  # noqa: E402
from benchmarks.measure import Case, interleaved, max_abs_diff  # noqa: E402
from benchmarks.workload import Workload, aoi_bbox, save_items  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
#: The method comparison runs on the last year of the lab's query (2016-2021): every method,
#: naive loop included, 3 times at two resolutions fits in ~10 minutes; all 6 years are in the scaling.
COMPARISON_PERIOD = "2021-01-01/2021-12-31"
SCALING_YEARS = (1, 2, 4, 6)  # archive lengths, counted from 2016

#: The configuration proposed for ``labhelpers.sentinel2.stack`` (see README.md).
PROPOSED = {"overviews": True}
#: dask threads for the "tuned scheduler" rows (the default is one per core): reads wait on the
#: network, not the CPU, so more threads than cores overlap the waits.
TUNED_THREADS = 4


def composite_cases(wl: Workload) -> list[Case]:
    """The rows of one comparison table (one resolution).

    ``vs`` names the odc-stac row with the same reduction and scheduler (the time ratio);
    ``same_pixels_as`` the odc-stac row that reads the same source level (full resolution or
    overview), whose composite this one must equal.
    """
    t = {"threads": TUNED_THREADS}
    return [
        Case("ours median", "ours", wl, vs="odc-stac median", same_pixels_as="odc-stac median, no overviews"),
        Case("ours monthly", "ours", wl, {"reduce": "monthly"}, "odc-stac monthly", "odc-stac monthly, no overviews"),
        Case("ours+proposed median", "ours", wl, PROPOSED),
        Case("ours+proposed monthly", "ours", wl, {**PROPOSED, "reduce": "monthly"}, "odc-stac monthly", "odc-stac monthly"),
        Case(f"ours+proposed median, {TUNED_THREADS} threads", "ours", wl, {**PROPOSED, **t},
             vs=f"odc-stac median, {TUNED_THREADS} threads"),
        Case("odc-stac median", "odc", wl),
        Case("odc-stac monthly", "odc", wl, {"reduce": "monthly"}, "odc-stac monthly", "odc-stac monthly"),
        Case(f"odc-stac median, {TUNED_THREADS} threads", "odc", wl, t, vs=f"odc-stac median, {TUNED_THREADS} threads"),
        Case("odc-stac median, no overviews", "odc", wl, {"overviews": False},
             same_pixels_as="odc-stac median, no overviews"),
        Case("odc-stac monthly, no overviews", "odc", wl, {"reduce": "monthly", "overviews": False}, "odc-stac monthly",
             "odc-stac monthly, no overviews"),
        Case("naive loop median", "naive", wl, same_pixels_as="odc-stac median, no overviews"),
        Case("limit 1 thread", "limit", wl, {"threads": 1}, vs=None),
        Case("limit 2 threads", "limit", wl, {"threads": 2}, vs=None),
    ]


def comparison(cases: list[Case], scratch: Path) -> list[dict]:
    """Per case: medians, ratios to odc-stac and to the 2-thread limit, agreement with odc-stac on the same pixels."""
    import numpy as np

    by_name = {c.name: c for c in cases}
    limit = by_name["limit 2 threads"].median("seconds")
    assets = cases[0].runs[0]["items"] * len(cases[0].workload.assets)
    rows = []
    for c in cases:
        agree = max_abs_diff(np.load(scratch / f"{c.name}.npy"), np.load(scratch / f"{c.same_pixels_as}.npy"))
        rows.append({
            "case": c.name, "items": c.runs[0]["items"], "options": {k: str(v) for k, v in c.options.items()},
            "seconds": c.median("seconds"), "seconds_all": [r["seconds"] for r in c.runs],
            "peak_mb": c.median("peak_mb"), "added_mb": c.median("peak_mb") - c.median("base_mb"),
            "x_odc": c.median("seconds") / by_name[c.vs].median("seconds") if c.vs else None,
            "vs": c.vs, "x_limit": c.median("seconds") / limit, "same_pixels_as": c.same_pixels_as,
            "requests_per_asset": (c.runs[0]["head"] + c.runs[0]["get"]) / assets,
            "head_per_asset": c.runs[0]["head"] / assets, "mb": c.runs[0]["mb"], **agree,
        })
    return rows


def comparison_table(rows: list[dict]) -> str:
    head = ("| case | time (s) | runs (s) | × odc-stac | × limit (2 thr) | peak RSS (MB) | added (MB) "
            "| HTTP requests per asset (HEAD) | MB read | max abs diff (vs) |\n"
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
    lines = [head]
    for r in rows:
        diff = "shapes differ" if r["max_abs_diff"] is None else f"{r['max_abs_diff']:.2g}" + (
            f", {r['nan_mismatch']} NaN mismatches" if r["nan_mismatch"] else "")
        diff += f" ({r['same_pixels_as']})" if r["same_pixels_as"] != r["case"] else " (reference)"
        lines.append(
            f"| {r['case']} | {r['seconds']:.2f} | {', '.join(f'{s:.1f}' for s in r['seconds_all'])} | "
            f"{'—' if r['x_odc'] is None else format(r['x_odc'], '.2f')} | {r['x_limit']:.2f} | {r['peak_mb']:.0f} | "
            f"{r['added_mb']:.0f} | {r['requests_per_asset']:.2f} ({r['head_per_asset']:.2f}) | {r['mb']:.1f} | {diff} |")
    return "\n".join(lines)


def scaling(catalog, runs: int, scratch: Path, say) -> list[dict]:
    """Ours (as shipped and proposed) at 100 m over 1, 2, 4, 6 years from 2016: time and peak memory."""
    cases = []
    for years in SCALING_YEARS:
        path = scratch / f"items_{years}y.json"
        save_items(catalog, f"2016-01-01/{2015 + years}-12-31", path)
        wl = Workload(str(path), aoi_bbox(), 100)
        cases += [Case(f"ours {years}y", "ours", wl), Case(f"ours+proposed {years}y", "ours", wl, PROPOSED)]
    interleaved(cases, runs, scratch, say)
    return [{"case": c.name, "years": int(c.name.split()[-1][:-1]), "variant": c.name.rsplit(" ", 1)[0],
             "items": c.runs[0]["items"], "seconds": c.median("seconds"), "peak_mb": c.median("peak_mb"),
             "added_mb": c.median("peak_mb") - c.median("base_mb")} for c in cases]


def scaling_table(rows: list[dict]) -> str:
    lines = ["| variant | years | items | time (s) | s per item | peak RSS (MB) | added (MB) | peak ÷ peak at 1 y |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    first = {r["variant"]: r["peak_mb"] for r in rows if r["years"] == SCALING_YEARS[0]}
    for r in sorted(rows, key=lambda r: (r["variant"], r["years"])):
        lines.append(f"| {r['variant']} | {r['years']} | {r['items']} | {r['seconds']:.2f} | "
                     f"{r['seconds'] / r['items'] * 1000:.0f} ms | {r['peak_mb']:.0f} | {r['added_mb']:.0f} | "
                     f"{r['peak_mb'] / first[r['variant']]:.2f} |")
    return "\n".join(lines)


def scaling_plot(rows: list[dict], path: Path, title_suffix: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for variant in sorted({r["variant"] for r in rows}):
        pts = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["years"])
        years = [r["years"] for r in pts]
        ax_t.plot(years, [r["seconds"] for r in pts], marker="o", label=variant)
        ax_m.plot(years, [r["peak_mb"] for r in pts], marker="o", label=f"{variant}: peak RSS")
        ax_m.plot(years, [r["added_mb"] for r in pts], marker="x", linestyle="--", label=f"{variant}: added by the run")
    ax_t.set(title="Time to a 100 m median composite", xlabel="archive length (years from 2016)", ylabel="wall time (s)")
    ax_m.set(title="Peak memory of the process", xlabel="archive length (years from 2016)", ylabel="memory (MB)")
    ax_m.set_ylim(bottom=0)
    ax_t.set_ylim(bottom=0)
    for ax in (ax_t, ax_m):
        ax.set_xticks(SCALING_YEARS)
        ax.legend(fontsize=8)
    fig.suptitle(f"labhelpers.sentinel2.stack -> median vs archive length ({title_suffix})")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def modis(runs: int, say) -> list[dict]:
    """Both MODIS routes, ``runs`` times interleaved; median seconds per day."""
    import statistics

    results = {"blob": [], "stac": []}
    for r in range(runs):
        for route in ("blob", "stac") if r % 2 == 0 else ("stac", "blob"):
            results[route].append(modis_loop.measure(route))
            say(f"  run {r + 1}/{runs} {route}: {results[route][-1]['seconds']:.2f} s")
    return [{"route": route, "days": rs[0]["days"], "seconds": statistics.median(x["seconds"] for x in rs),
             "seconds_per_day": statistics.median(x["seconds_per_day"] for x in rs),
             "seconds_all": [x["seconds"] for x in rs]} for route, rs in results.items()]


def modis_table(rows: list[dict]) -> str:
    names = {"blob": "blob route (list + download HDF4 + open, per day)", "stac": "STAC route (search + odc-stac COGs)"}
    return "| route | days | time (s) | s per day | runs (s) |\n|---|---:|---:|---:|---|\n" + "\n".join(
        f"| {names[r['route']]} | {r['days']} | {r['seconds']:.2f} | {r['seconds_per_day']:.3f} | "
        f"{', '.join(f'{s:.2f}' for s in r['seconds_all'])} |" for r in rows)


def notebook_run(size: str, say) -> dict:
    """Wall time of ``labhelpers run`` (every lab notebook in a fresh kernel) on the running stand-in."""
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as out:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "labhelpers.cli", "run", "--size", size, "--out", out],
                              cwd=ROOT, capture_output=True, text=True)
        total = time.monotonic() - t0
    per = {m.group(1): float(m.group(2)) for m in re.finditer(r"running (\S+) \.\.\.\n\s+ok in (\d+) s", proc.stdout)}
    say(proc.stdout[-2000:])
    return {"ok": proc.returncode == 0, "seconds": total, "per_notebook": per,
            "error": None if proc.returncode == 0 else (proc.stdout + proc.stderr)[-2000:]}


def machine() -> dict:
    import psutil

    return {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def versions() -> dict:
    from importlib.metadata import version

    return {p: version(p) for p in ("stackstac", "odc-stac", "rasterio", "rioxarray", "dask", "xarray", "numpy")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("ci", "full"), default="full", help="offline archive (default: full)")
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs per case (median reported; default 3)")
    sections = ["100m", "10m", "scaling", "modis", "notebooks"]
    parser.add_argument("--sections", nargs="+", default=sections, choices=sections, help="what to run (default: all)")
    args = parser.parse_args(argv)

    from labhelpers_standin import services
    import labhelpers.stac

    say = lambda *a: print(*a, flush=True)  # noqa: E731
    report = {"machine": machine(), "versions": versions(), "size": args.size, "runs": args.runs,
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "proposed": {k: str(v) for k, v in PROPOSED.items()}}
    tables = []
    t_all = time.monotonic()
    with services.running(args.size, ports=_ports(services), say=say):
        catalog = labhelpers.stac.open_catalog("offline")
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            scratch = Path(tmp)
            items_path = scratch / "items.json"
            n = save_items(catalog, COMPARISON_PERIOD, items_path)
            say(f"{n} items: the lab's query for {COMPARISON_PERIOD} (eo:cloud_cover < 25 %) on the {args.size} archive")
            for section, resolution in (("100m", 100), ("10m", 10)):
                if section not in args.sections:
                    continue
                wl = Workload(str(items_path), aoi_bbox(), resolution)
                say(f"\n## Composites at {resolution} m ({n} items, bands {', '.join(wl.assets)})")
                cases = composite_cases(wl)
                interleaved(cases, args.runs, scratch, say)
                rows = comparison(cases, scratch)
                report[f"composites_{section}"] = rows
                tables.append(f"### Composites at {resolution} m, {n} items ({COMPARISON_PERIOD})\n\n{comparison_table(rows)}")
                say(tables[-1])
            if "scaling" in args.sections:
                say("\n## Scaling with archive length (100 m)")
                rows = scaling(catalog, args.runs, scratch, say)
                report["scaling"] = rows
                RESULTS.mkdir(parents=True, exist_ok=True)
                scaling_plot(rows, RESULTS / "scaling.png", f"{args.size} archive, median of {args.runs} runs")
                tables.append(f"### Scaling at 100 m\n\n{scaling_table(rows)}")
                say(tables[-1])
        if "modis" in args.sections:
            say("\n## MODIS loop per day (notebook 05)")
            report["modis"] = modis_rows = modis(args.runs, say)
            tables.append(f"### MODIS loop (notebook 05: {modis_loop.PRODUCT}, {modis_loop.FIRST_DAY}-"
                          f"{modis_loop.LAST_DAY})\n\n{modis_table(modis_rows)}")
            say(tables[-1])
        if "notebooks" in args.sections:
            say("\n## Whole notebook run (labhelpers run)")
            report["notebooks"] = notebook_run(args.size, say)
            nb = report["notebooks"]
            tables.append("### Notebook run\n\n| notebook | seconds |\n|---|---:|\n" + "\n".join(
                f"| {k} | {v:.0f} |" for k, v in nb["per_notebook"].items()) + f"\n| **all (wall)** | {nb['seconds']:.0f} |")
            say(tables[-1])
    report["wall_seconds"] = time.monotonic() - t_all
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    header = (f"Run {report['started']} on the `{args.size}` archive: {m['cpus']} CPUs ({m['cpu']}), "
              f"{m['memory_gb']} GB RAM, load average at start {m['load_average_at_start']}; "
              f"median of {args.runs} interleaved runs; {report['wall_seconds'] / 60:.1f} min in all.")
    (RESULTS / "tables.md").write_text(header + "\n\n" + "\n\n".join(tables) + "\n")
    say(f"\n{header}\nWrote {RESULTS / 'results.json'}, {RESULTS / 'tables.md'}")
    return 0


def _ports(services):
    """The default ports when free; otherwise (a shared machine) free ones, so the benchmark still runs."""
    import socket

    default = services.Ports.default()
    socks = []
    try:
        for port in vars(default).values():
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            socks.append(s)
        return default
    except OSError:
        for s in socks:
            s.close()
        socks = []
        for _ in vars(default):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return services.Ports(*(s.getsockname()[1] for s in socks))
    finally:
        for s in socks:
            s.close()


if __name__ == "__main__":
    sys.exit(main())
