#!/usr/bin/env python3
"""A small OSV API client written only from the OSV API documentation (https://google.github.io/osv.dev/api/:
POST /v1/querybatch, POST /v1/query, GET /v1/vulns/{id}), with nothing but the standard library.

It audits pinned PyPI requirements the way an auditing tool does: one querybatch for all of them (ids and modified
times only), then GET /v1/vulns/{id} for each id found. It prints one JSON object:
{"results": [{"name", "version", "vulns": [{"id", "summary", "details", "modified", "fixed": [...]}]}], "single": {...}}
where "single" is the POST /v1/query answer for the first requirement, given as a purl. It exits 1 when any
requirement has a vulnerability (like pip-audit), 0 when none has, 2 on a protocol error.

Environment: OSV_API_URL, the API root the documentation calls https://api.osv.dev (here Gatehouse's /osv);
OSV_API_TOKEN, sent as a Bearer token (Gatehouse's entitlement; osv.dev itself needs none).
Usage: osv_client.py NAME==VERSION [NAME==VERSION ...]
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

API = os.environ["OSV_API_URL"].rstrip("/")
TOKEN = os.environ.get("OSV_API_TOKEN")


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(API + path, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if TOKEN:
        request.add_header("Authorization", "Bearer " + TOKEN)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode("utf-8") or "{}")


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(2)


def fixed_versions(record, name):
    """The 'fixed' events of the record's ECOSYSTEM ranges for this PyPI package (OSV schema, affected[].ranges)."""
    fixed = []
    for affected in record.get("affected", []):
        package = affected.get("package", {})
        if package.get("ecosystem") != "PyPI" or package.get("name", "").lower() != name.lower():
            continue
        for range_ in affected.get("ranges", []):
            if range_.get("type") == "ECOSYSTEM":
                fixed += [event["fixed"] for event in range_.get("events", []) if "fixed" in event]
    return fixed


def main(requirements):
    pins = [tuple(r.split("==", 1)) for r in requirements]
    queries = [{"package": {"name": name, "ecosystem": "PyPI"}, "version": version} for name, version in pins]
    status, batch = call("POST", "/v1/querybatch", {"queries": queries})
    if status != 200:
        fail(f"querybatch answered {status}: {batch}")
    results = batch.get("results", [])
    if len(results) != len(queries):
        fail(f"querybatch answered {len(results)} results for {len(queries)} queries")
    report = []
    for (name, version), result in zip(pins, results):
        vulns = []
        for summary in result.get("vulns", []):
            status, record = call("GET", "/v1/vulns/" + urllib.parse.quote(summary["id"], safe=""))
            if status != 200:
                fail(f"GET /v1/vulns/{summary['id']} answered {status}: {record}")
            if record.get("modified") != summary.get("modified"):
                fail(f"{summary['id']}: querybatch said modified {summary.get('modified')}, the record says {record.get('modified')}")
            vulns.append({"id": record["id"], "summary": record.get("summary", ""), "details": record.get("details", ""), "modified": record["modified"],
                          "fixed": fixed_versions(record, name)})
        report.append({"name": name, "version": version, "vulns": vulns})
    name, version = pins[0]
    status, single = call("POST", "/v1/query", {"package": {"purl": f"pkg:pypi/{urllib.parse.quote(name)}@{urllib.parse.quote(version)}"}})
    if status != 200:
        fail(f"query answered {status}: {single}")
    print(json.dumps({"results": report, "single": single}, indent=1, sort_keys=True))
    return 1 if any(r["vulns"] for r in report) else 0


if __name__ == "__main__":
    if len(sys.argv) < 2 or any("==" not in a for a in sys.argv[1:]):
        fail(__doc__)
    sys.exit(main(sys.argv[1:]))
