"""China's NPPA anti-addiction system (网络游戏防沉迷实名认证系统): youthmode as its server side.

1. `crypto`    the wire format: AES-128-GCM bodies and the SHA-256 signature
2. `errors`    NPPA error codes as typed errors
3. `bucket`    a token bucket per API and the one-minute back-off after 1006
4. `config`    credentials from the environment, endpoints, timings checked against 180 s
5. `client`    `check`, `query`, `loginout`
6. `realname`  the real-name flow: submit, poll within 48 h, store `pi` in the ledger
7. `sessions`  log-in/log-out records derived from usage intervals
8. `shards`    the reporting state split by subject; the store's recorded shard count
9. `outbox`    the durable queue of records, in the ledger's own store, one per shard
10. `reporter`  batches of at most 128 fresh records; dead letters for the stale
11. `mock`, `mock_http`, `fixtures`, `selftest`  a mock NPPA and the eight onboarding cases
"""
