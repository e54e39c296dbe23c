#!/usr/bin/env python3
"""Whole-process `gatehouse scan` against picklescan on one dense pickle, side by side.

The pickle is pickle.dumps({f'k{i}': (i, float(i), 'v') for i in range(entries)}, protocol=4) (27 MB at 1,000,000
entries). Each round runs every scanner once, alternating, as a whole process: wall time (perf_counter around the
process), CPU (user + system of that child, from os.wait4) and peak RSS (ru_maxrss of that child). Prints one JSON
document with every run, the medians and picklescan's median wall time over each gatehouse variant's.

  dense_pickle_bench.py --pickle /tmp/dense.pkl --picklescan-src /tmp/picklescan \
      --gatehouse jit 'dotnet functions/Gatehouse.Cli/bin/Release/net10.0/gatehouse.dll' \
      --gatehouse r2r 'dotnet /tmp/cli-r2r/gatehouse.dll' --runs 3

picklescan (https://github.com/mmaitre314/picklescan) runs from its source checkout with this python3, as
PYTHONPATH=<src>/src python3 -m picklescan --path <pickle>. Standard library only.
"""

import argparse
import json
import os
import pickle
import shlex
import statistics
import subprocess
import sys
import time


def build_pickle(path, entries):
    data = pickle.dumps({f"k{i}": (i, float(i), "v") for i in range(entries)}, protocol=4)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def measure(command, env=None):
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "exit": code,
        "stderr": error[-500:] if code not in (0, 1) else "",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pickle", required=True, help="the pickle to scan; built when missing")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--gatehouse", nargs=2, action="append", metavar=("NAME", "COMMAND"), required=True,
                        help="a gatehouse CLI variant: a name and the command that runs it (scan <pickle> is appended)")
    parser.add_argument("--picklescan-src", help="picklescan's source checkout (PYTHONPATH=<it>/src); skipped when absent")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    if not os.path.exists(args.pickle):
        build_pickle(args.pickle, args.entries)
    size = os.path.getsize(args.pickle)

    commands = {name: shlex.split(command) + ["scan", args.pickle] for name, command in args.gatehouse}
    envs = {name: None for name in commands}
    if args.picklescan_src:
        env = dict(os.environ, PYTHONPATH=os.path.join(args.picklescan_src, "src"))
        commands["picklescan"] = [sys.executable, "-m", "picklescan", "--path", args.pickle]
        envs["picklescan"] = env

    load_before = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else None
    runs = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            runs[name].append(measure(command, envs[name]))

    medians = {
        name: {key: statistics.median(r[key] for r in results) for key in ("wall_s", "cpu_s", "peak_rss_mib")}
        for name, results in runs.items()
    }
    result = {
        "case": f"dense pickle: {{f'k{{i}}': (i, float(i), 'v') for i in range({args.entries:,})}}, protocol 4",
        "pickle_bytes": size,
        "runs": args.runs,
        "load_before": load_before,
        "load_after": open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else None,
        "results": runs,
        "medians": medians,
    }
    if "picklescan" in medians:
        result["picklescan_over_gatehouse_wall"] = {
            name: round(medians["picklescan"]["wall_s"] / m["wall_s"], 1) for name, m in medians.items() if name != "picklescan"
        }
    gatehouse_failed = [name for name, results in runs.items() if name != "picklescan" and any(r["exit"] != 0 for r in results)]
    result["gatehouse_verdicts_safe"] = not gatehouse_failed
    json.dump(result, sys.stdout, indent=2)
    print()
    return 1 if gatehouse_failed else 0


if __name__ == "__main__":
    sys.exit(main())
