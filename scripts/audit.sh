#!/usr/bin/env bash
# Dependency audit: pip-audit over the installed virtualenv (what actually runs, not what we hope runs).
# pip-audit needs its vulnerability database over the network. Offline CI cannot reach it, and an
# unreachable database says nothing about our dependencies, so that case is a loud skip (exit 0);
# with the database reachable, any known vulnerability fails the run (exit 1).
# A sandbox that answers every lookup with "not found" counts as offline too: auditing zero packages
# must never print "no known vulnerabilities".
#   AUDIT_SERVICE=pypi|osv (default pypi)   AUDIT_IGNORE="GHSA-xxx PYSEC-yyy" (reviewed exceptions)
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
SERVICE=${AUDIT_SERVICE:-pypi}

if [ ! -x "$VENV/bin/pip-audit" ]; then
  echo "audit: failed: $VENV/bin/pip-audit is not installed (pip install -c constraints.txt '.[dev]')" >&2
  exit 2
fi


ignores=()
for id in ${AUDIT_IGNORE:-}; do ignores+=(--ignore-vuln "$id"); done

report=$(mktemp)
log=$(mktemp)
trap 'rm -f "$report" "$log"' EXIT
"$VENV/bin/pip-audit" --local --skip-editable --progress-spinner off --timeout 20 \
  --vulnerability-service "$SERVICE" "${ignores[@]}" --format json --output "$report" >"$log" 2>&1
status=$?

"$VENV/bin/python" - "$report" "$status" "$log" <<'PY'
import json
import re
import sys

report_path, status, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log = open(log_path, errors="replace").read()
try:
    data = json.load(open(report_path))
except (OSError, ValueError):
    data = None
if data is None:
    if re.search(r"ConnectionError|Max retries|NewConnectionError|name resolution|timed out", log, re.I):
        print("audit: skipped: no network (vulnerability service failed mid-run); dependencies were NOT audited")
        sys.exit(0)
    print(log)
    print(f"audit: FAILED: pip-audit exited {status} without a report", file=sys.stderr)
    sys.exit(2)
deps = data.get("dependencies", [])
audited = [d for d in deps if "skip_reason" not in d]
if not audited:
    print(
        f"audit: skipped: no network (the vulnerability database answered none of {len(deps)} lookups); "
        "dependencies were NOT audited"
    )
    sys.exit(0)
found = [(d, v) for d in audited for v in d.get("vulns", [])]
for dep, vuln in found:
    fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
    print(f"VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} (fixed in: {fixes})")
skipped = len(deps) - len(audited)
if found:
    print(f"audit: FAILED: {len(found)} known vulnerabilities in {len(audited)} audited packages", file=sys.stderr)
    sys.exit(1)
print(f"audit: ok: no known vulnerabilities in {len(audited)} packages ({skipped} not on the index, skipped)")
PY
