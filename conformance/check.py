"""Runs the scim2-tester check set against a live scimd and prints one line per check.

Usage: check.py BASE_URL TOKEN COUNT_FILE
Prints `conformance: N passed, M failed, K skipped` last and writes N to COUNT_FILE.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
SKIPPED = {Status.SKIPPED}


def main() -> int:
    base_url, token, count_file = sys.argv[1:4]
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    passed = failed = skipped = 0
    for r in results:
        where = f"[{r.resource_type}] " if r.resource_type else ""
        reason = (r.reason or "").replace("\n", " ")[:1500]
        print(f"{r.status.name:10} {where}{r.title}: {reason}")
        if r.status in PASSED:
            passed += 1
        elif r.status in SKIPPED:
            skipped += 1
        else:
            failed += 1
    print(f"conformance: {passed} passed, {failed} failed, {skipped} skipped")
    with open(count_file, "w") as f:
        f.write(f"{passed}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
