"""Source positions of every key in a TOML file, which `tomllib` does not keep.

Runs only on text that `tomllib` has already accepted, so it can be lenient: it walks the text
once, tracks table headers, arrays of tables and inline values, and records the line and column
where each key path (`("rules", 3, "between")`) starts.
"""

from __future__ import annotations

KeyPath = tuple[str | int, ...]
Position = tuple[int, int]  # (line, column), both from 1

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class PositionIndex:
    """Maps key paths to (line, column); looks up the nearest recorded ancestor.

    The text is walked at the first look-up, not before: only a finding (an error or a
    warning) asks where a key is, and the walk was half of loading the shipped packs."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._positions: dict[KeyPath, Position] | None = None

    def find(self, path: KeyPath) -> Position | None:
        positions = self._positions
        if positions is None:
            scanner = _Scanner(self._text)
            scanner.run()
            positions = self._positions = scanner.positions
        for end in range(len(path), -1, -1):
            hit = positions.get(path[:end])
            if hit is not None:
                return hit
        return None


def index_positions(text: str) -> PositionIndex:
    """The positions of ``text``'s keys, found when first asked for."""
    return PositionIndex(text)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.col = 1
        self.positions: dict[KeyPath, Position] = {(): (1, 1)}
        self.array_counts: dict[KeyPath, int] = {}
        self.table: KeyPath = ()

    # -- low-level movement -------------------------------------------------------------
    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.text[j] if j < len(self.text) else ""

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.i >= len(self.text):
                return
            if self.text[self.i] == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
            self.i += 1

    def skip_space(self, newlines: bool = False) -> None:
        while True:
            ch = self.peek()
            if ch == "":  # end of text (and `"" in " \t\r"` would be true)
                return
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.advance()
            elif ch == "#" and newlines:
                while self.peek() not in ("\n", ""):
                    self.advance()
            else:
                return

    def skip_line(self) -> None:
        while self.peek() not in ("\n", ""):
            self.advance()
        self.advance()

    # -- statements ---------------------------------------------------------------------
    def run(self) -> None:
        while self.i < len(self.text):
            self.skip_space(newlines=True)
            if self.i >= len(self.text):
                return
            here = (self.line, self.col)
            if self.peek() == "[":
                self.header(here)
            else:
                keys = self.key()
                path = self.table + keys
                self.positions.setdefault(path, here)
                self.skip_space()
                if self.peek() == "=":
                    self.advance()
                self.value(path)
            self.skip_line()

    def header(self, here: Position) -> None:
        is_array = self.peek(1) == "["
        self.advance(2 if is_array else 1)
        self.skip_space()
        keys = self.key()
        path = self.resolve(keys)
        if is_array:
            index = self.array_counts.get(path, 0)
            self.array_counts[path] = index + 1
            self.positions.setdefault(path, here)
            path = (*path, index)
        self.positions[path] = here
        self.table = path

    def resolve(self, keys: KeyPath) -> KeyPath:
        """A header's key path, with the current index of any array of tables it passes."""
        path: KeyPath = ()
        for key in keys:
            path = (*path, key)
            count = self.array_counts.get(path)
            if count is not None and path != keys:
                path = (*path, count - 1)
        return path

    def key(self) -> KeyPath:
        parts: list[str | int] = []
        while True:
            self.skip_space()
            ch = self.peek()
            if ch in ('"', "'"):
                parts.append(self.quoted_key(ch))
            else:
                start = self.i
                while self.peek() in _BARE and self.peek() != "":
                    self.advance()
                parts.append(self.text[start : self.i])
            self.skip_space()
            if self.peek() == ".":
                self.advance()
                continue
            return tuple(parts)

    def quoted_key(self, quote: str) -> str:
        self.advance()
        out = []
        while self.peek() not in (quote, ""):
            if quote == '"' and self.peek() == "\\":
                self.advance()
            out.append(self.peek())
            self.advance()
        self.advance()
        return "".join(out)

    # -- values -------------------------------------------------------------------------
    def value(self, path: KeyPath) -> None:
        self.skip_space()
        ch = self.peek()
        if ch == "[":
            self.array(path)
        elif ch == "{":
            self.inline_table(path)
        elif ch in ('"', "'"):
            self.string(ch)
        else:
            while self.peek() not in (",", "]", "}", "\n", "#", ""):
                self.advance()

    def string(self, quote: str) -> None:
        if self.text.startswith(quote * 3, self.i):
            self.advance(3)
            while self.i < len(self.text) and not self.text.startswith(quote * 3, self.i):
                self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
            self.advance(3)
            while self.peek() == quote:  # up to two quotes may close the string
                self.advance()
            return
        self.advance()
        while self.peek() not in (quote, "\n", ""):
            self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
        self.advance()

    def array(self, path: KeyPath) -> None:
        self.advance()
        index = 0
        while True:
            self.skip_space(newlines=True)
            if self.peek() in ("]", ""):
                self.advance()
                return
            self.positions.setdefault((*path, index), (self.line, self.col))
            self.value((*path, index))
            self.skip_space(newlines=True)
            if self.peek() == ",":
                self.advance()
                index += 1

    def inline_table(self, path: KeyPath) -> None:
        self.advance()
        while True:
            self.skip_space(newlines=True)
            if self.peek() in ("}", ""):
                self.advance()
                return
            here = (self.line, self.col)
            keys = self.key()
            self.positions.setdefault(path + keys, here)
            self.skip_space()
            if self.peek() == "=":
                self.advance()
            self.value(path + keys)
            self.skip_space(newlines=True)
            if self.peek() == ",":
                self.advance()
