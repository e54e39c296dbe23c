#!/usr/bin/env python3
"""Writes the compact SPDX licence list that Gatehouse.Core embeds (functions/Gatehouse.Core/Licences/spdx-licenses.json).

Input: json/licenses.json and json/exceptions.json of a release of the SPDX License List
(https://github.com/spdx/license-list-data, CC0-1.0). Output keeps only what the licence code reads: per licence its
licenseId, name, isDeprecatedLicenseId, isOsiApproved and isFsfLibre (only where the list states it); per exception
its licenseExceptionId and isDeprecatedLicenseId; and the list's licenseListVersion.

    scripts/spdx-licence-list.py path/to/licenses.json path/to/exceptions.json > functions/Gatehouse.Core/Licences/spdx-licenses.json
    scripts/spdx-licence-list.py --version functions/Gatehouse.Core/Licences/spdx-licenses.json   # prints the embedded version

The test SpdxLicenceListTests pins the version and the counts, so an update shows up as a deliberate test change.
"""
import json
import sys


def compact(licenses_path, exceptions_path):
    with open(licenses_path, encoding="utf-8") as f:
        licenses = json.load(f)
    with open(exceptions_path, encoding="utf-8") as f:
        exceptions = json.load(f)
    if licenses["licenseListVersion"] != exceptions["licenseListVersion"]:
        sys.exit(f"licenses.json is {licenses['licenseListVersion']} but exceptions.json is {exceptions['licenseListVersion']}")

    def licence(entry):
        kept = {
            "licenseId": entry["licenseId"],
            "name": entry["name"],
            "isDeprecatedLicenseId": entry["isDeprecatedLicenseId"],
            "isOsiApproved": entry["isOsiApproved"],
        }
        if "isFsfLibre" in entry:
            kept["isFsfLibre"] = entry["isFsfLibre"]
        return kept

    def exception(entry):
        return {"licenseExceptionId": entry["licenseExceptionId"], "isDeprecatedLicenseId": entry["isDeprecatedLicenseId"]}

    def rows(items):
        return ",\n".join("    " + json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in items)

    by_id = lambda key: (lambda e: e[key].lower())
    out = [
        "{",
        f'  "licenseListVersion": {json.dumps(licenses["licenseListVersion"])},',
        '  "source": "https://github.com/spdx/license-list-data json/licenses.json and json/exceptions.json (CC0-1.0)",',
        '  "licenses": [',
        rows(licence(e) for e in sorted(licenses["licenses"], key=by_id("licenseId"))),
        "  ],",
        '  "exceptions": [',
        rows(exception(e) for e in sorted(exceptions["exceptions"], key=by_id("licenseExceptionId"))),
        "  ]",
        "}",
    ]
    sys.stdout.write("\n".join(out) + "\n")


def main(argv):
    if len(argv) == 3 and argv[1] == "--version":
        with open(argv[2], encoding="utf-8") as f:
            data = json.load(f)
        print(f"SPDX License List {data['licenseListVersion']}: {len(data['licenses'])} licences, {len(data['exceptions'])} exceptions")
        return
    if len(argv) != 3:
        sys.exit(__doc__)
    compact(argv[1], argv[2])


if __name__ == "__main__":
    main(sys.argv)
