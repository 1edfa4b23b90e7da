"""The stateful half of youthmode: usage, spending and guardian settings, on one store interface.

- `store`        the interface: per-subject atomic read-modify-write of small JSON documents
- `sqlite_store` the embedded default (one file, WAL)
- `redis_store`  for many API instances sharing one state
- `usage`        interval arithmetic: union per subject, midnight splits, sessions
- `service`      the ledger service: usage, purchases and reservations, guardian controls,
                 and decisions that read the ledger
"""

from youthmode.ledger.service import Ledger as Ledger
from youthmode.ledger.store import Store as Store
from youthmode.ledger.store import StoreUnavailable as StoreUnavailable
from youthmode.ledger.store import open_store as open_store

__all__ = ["Ledger", "Store", "StoreUnavailable", "open_store"]
