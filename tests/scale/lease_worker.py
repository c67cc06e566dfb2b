"""A process that contends for a lease and, while holding it, writes fenced rows without ever stopping.

``python -m tests.scale.lease_worker DATABASE_URL LEASE TTL_SECONDS``. Each row is a dead letter with
source ``lease-worker``, the holder as topic and the token as payload. The writing thread never looks
at the lease loop: once started it writes every 50 ms for good, like side work that does not notice
that its lease is gone, so only the fence keeps it from writing after a takeover. Prints ``held N``
when it takes the lease with token N and ``refused N`` for each write the fence refused.
"""

import asyncio
import sys
import threading
import time

from incidents.database import Database
from incidents.leases import HeldLease, LeaseLost, PostgresLeases, fenced, holder_id
from incidents.tables import DeadLetter
from integrations.lease_loop import LeaseLoop

SOURCE = "lease-worker"


def write_forever(database: Database, lease: HeldLease) -> None:
    refused = 0
    while True:
        try:
            with fenced(lease), database.unit_of_work() as session:
                session.add(DeadLetter(source=SOURCE, topic=lease.holder, payload=str(lease.token), reason="beat"))
        except LeaseLost:
            refused += 1
            print(f"refused {refused}", flush=True)
        time.sleep(0.05)


async def main(url: str, name: str, ttl: float) -> None:
    database = Database(url)

    async def work(lease: HeldLease) -> None:
        print(f"held {lease.token}", flush=True)
        threading.Thread(target=write_forever, args=(database, lease), daemon=True).start()
        await asyncio.Event().wait()

    holder = holder_id()
    print(f"holder {holder}", flush=True)
    await LeaseLoop(PostgresLeases(url), name=name, holder=holder, ttl_seconds=ttl, work=work).run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
