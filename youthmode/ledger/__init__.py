"""The stateful half of youthmode: usage, spending and guardian settings, on one store interface.

- `store`        the interface: per-subject atomic read-modify-write of small JSON documents
- `backends`     `open_store(url)`: a store by its URL
- `sqlite_store` the embedded default (one file, WAL)
- `redis_store`  for many API instances sharing one state
- `redis_cluster_store` the same on a Redis Cluster (`redis_transaction`: their write loop)
- `postgres_store` on a PostgreSQL the deployment already runs (`postgres_schema`: migrations)
- `buffered`     the SQL stores' transactions: rows read once, writes held until commit
- `usage`        interval arithmetic: union per subject, midnight splits, sessions
- `apps`         use per app and per ISO week (`usage.app_today_seconds`, `usage.week_seconds`)
- `service`      the ledger service: usage, purchases and reservations, guardian controls,
                 and decisions that read the ledger
- `deciding`     the one "decide with the ledger" use case (the API's and `Ledger.decide`)
"""

from youthmode.ledger.backends import open_store as open_store
from youthmode.ledger.service import Ledger as Ledger
from youthmode.ledger.store import Store as Store
from youthmode.ledger.store import StoreUnavailable as StoreUnavailable

__all__ = ["Ledger", "Store", "StoreUnavailable", "open_store"]
