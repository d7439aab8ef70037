"""Runs the scim2-tester check set against a live scimd and prints one line per check.

Usage: check.py BASE_URL TOKEN COUNT_FILE

Prints `STATUS [ResourceType] check_name: reason` for every result scim2-tester reports, then
`conformance: N passed, M failed, K skipped` last, and writes N to COUNT_FILE.

A result passes when scim2-tester rates it SUCCESS, COMPLIANT or ACCEPTABLE; SKIPPED is
skipped; DEVIATION, ERROR and CRITICAL fail. Checks that test one attribute at a time (the
PATCH ones) report one result per attribute, and each result counts once.

scim2-tester fills resources with values drawn from Python's `random`; the draw is seeded
(SCIMD_CONFORMANCE_SEED, 0 by default) so that two runs against the same server agree.

Exit status: 0 once the checks ran, whatever they found (run.sh compares the count);
2 when the server could not be checked at all (unreachable, or its discovery endpoints
unusable, so no resource type was exercised) or the checker itself crashed.
"""

import os
import random
import sys
import traceback

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
SKIPPED = {Status.SKIPPED}


def write_count(path: str, passed: int) -> None:
    with open(path, "w") as f:
        f.write(f"{passed}\n")


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 64
    base_url, token, count_file = sys.argv[1:4]
    seed = int(os.environ.get("SCIMD_CONFORMANCE_SEED", "0"))
    random.seed(seed)
    print(f"scim2-tester against {base_url}, random seed {seed}", flush=True)
    write_count(count_file, 0)

    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    try:
        results = check_server(client)
    except Exception:
        traceback.print_exc()
        print("conformance: 0 passed, 1 failed, 0 skipped")
        return 2
    finally:
        http.close()

    passed = failed = skipped = 0
    for r in results:
        where = f"[{r.resource_type}] " if r.resource_type else ""
        reason = " ".join((r.reason or "").split())[:1500]
        print(f"{r.status.name:10} {where}{r.title}: {reason}")
        if r.status in PASSED:
            passed += 1
        elif r.status in SKIPPED:
            skipped += 1
        else:
            failed += 1
    checked = any(r.resource_type for r in results)
    if not checked:
        print(
            f"no resource type was checked: {base_url} is unreachable or its discovery "
            "endpoints are unusable",
            flush=True,
        )
    print(f"conformance: {passed} passed, {failed} failed, {skipped} skipped")
    write_count(count_file, passed)
    return 0 if checked else 2


if __name__ == "__main__":
    sys.exit(main())
