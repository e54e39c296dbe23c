#!/usr/bin/env python3
"""Regenerates functions/Gatehouse.Core/Names/top-pypi-projects.txt, the bundled list of the most-downloaded PyPI projects.

Input: top-pypi-packages.min.json (or top-pypi-packages-30-days.min.json) from https://github.com/hugovk/top-pypi-packages,
which lists {"project", "download_count"} rows, most downloaded first, from the public PyPI BigQuery/ClickHouse data.
Output: one PEP 503-normalised name per line, most downloaded first, after one '#' header line naming source and date.

Usage: scripts/top-pypi-list.py path/to/top-pypi-packages.min.json [count]   (count defaults to 5000)
"""
import json
import pathlib
import re
import sys

OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "functions" / "Gatehouse.Core" / "Names" / "top-pypi-projects.txt"


def normalise(name: str) -> str:
    # PEP 503: runs of '-', '_' and '.' become one '-', lower-cased.
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    source = pathlib.Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) == 3 else 5000
    data = json.loads(source.read_text(encoding="utf-8"))
    names: list[str] = []
    seen: set[str] = set()
    for row in data["rows"]:
        name = normalise(row["project"])
        if name not in seen:
            seen.add(name)
            names.append(name)
        if len(names) == count:
            break
    header = (f"# Top {len(names)} PyPI projects by downloads, PEP 503-normalised, most downloaded first. "
              f"Source: https://github.com/hugovk/top-pypi-packages {source.name}, last_update {data['last_update']}.")
    OUTPUT.write_text(header + "\n" + "\n".join(names) + "\n", encoding="utf-8", newline="\n")
    print(f"wrote {len(names)} names to {OUTPUT}")


if __name__ == "__main__":
    main()
