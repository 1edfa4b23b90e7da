"""The decision path's Redis commands as the bytes sent (RESP: an array of bulk strings).

redis-py packs a command with hiredis's `pack_command` (when built) behind a wrapper that
looks at every argument in Python; for a decision's HMGET of a dozen fields hiredis's part
alone cost 12,657 instructions (callgrind), more than the socket calls and the reply's
parsing together. A decision's fields are one of a few tuples (`documents.decision_keys`,
cached), so their part of the command is packed once per tuple and only the subject's key
each time. The bytes are redis-py's for the same arguments (tests/test_ledger_decision_reads.py);
text that cannot be encoded as UTF-8 raises the same UnicodeEncodeError.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


def command(*args: str) -> bytes:
    """``args`` as one command."""
    return b"*%d\r\n%b" % (len(args), b"".join(map(_bulk, args)))


def hmget(key: str, fields: Sequence[str]) -> bytes:
    """HMGET of ``fields`` from the hash ``key``: a tuple's fields packed once."""
    packed = _fields(fields) if type(fields) is tuple else b"".join(map(_bulk, fields))
    return b"*%d\r\n$5\r\nHMGET\r\n%b%b" % (len(fields) + 2, _bulk(key), packed)


@lru_cache(maxsize=4096)  # as many as `decision_keys` keeps
def _fields(fields: tuple[str, ...]) -> bytes:
    return b"".join(map(_bulk, fields))


def _bulk(text: str) -> bytes:
    data = text.encode()
    return b"$%d\r\n%b\r\n" % (len(data), data)
