"""The package's layering, read from the source with `ast`: no import cycles among youthmode's
modules, nothing but the front doors imports the HTTP server (`youthmode.server`), and the
authoring library (`youthmode.authoring`) stays a library: no server, no CLI, no argparse."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "youthmode"
SERVER = "youthmode.server"
CLI = "youthmode.cli"
AUTHORING = "youthmode.authoring"
# The modules allowed to import the server: the server's own commands (`youthmode serve`, and
# `youthmode keys create`, which writes the server's keys file), the promised front door
# `youthmode.api`, and the re-exports that keep pre-move import paths working.
FRONT_DOORS = {
    "youthmode.api",
    "youthmode.auth",
    "youthmode.cli.keys",
    "youthmode.cli.nppa",  # `youthmode nppa report` uses the store the server would (its config)
    "youthmode.nppa.mock_http",  # the mock NPPA: an HTTP server of its own (werkzeug)
    "youthmode.cli.serve",
    "youthmode.cli.studio",  # `youthmode studio` serves the studio blueprint of the server
    "youthmode.config",
    "youthmode.server_worker",
}


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, module: str, typing_too: bool) -> set[str]:
    """The youthmode modules ``node`` imports (in functions too), by their dotted names."""
    found: set[str] = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child) and not typing_too:
            found |= {n for s in child.orelse for n in _imports(s, module, typing_too)}
            continue
        if isinstance(child, ast.Import):
            found |= {alias.name for alias in child.names}
        elif isinstance(child, ast.ImportFrom):
            found |= _from_import(child, module)
        found |= _imports(child, module, typing_too)
    return {name for name in found if name.split(".")[0] == "youthmode"}


def _from_import(node: ast.ImportFrom, module: str) -> set[str]:
    base = node.module or ""
    if node.level:  # relative: resolve against this module's package
        package = module.split(".")
        if not MODULES[module].name == "__init__.py":
            package.pop()
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([base] if base else [])])
    # `from pkg import sub` imports the module pkg.sub when there is one; else names of pkg.
    return {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names}


def import_graph(typing_too: bool) -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        graph[name] = {m for m in _imports(tree, name, typing_too) if m in MODULES and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_imports() -> None:
    graph = import_graph(typing_too=True)
    assert "youthmode.server.app" in graph["youthmode.api"]
    assert "youthmode.ledger.deciding" in graph["youthmode.ledger.core"]
    assert "youthmode.server.state" in graph["youthmode.server.caller"]  # under TYPE_CHECKING
    assert "youthmode.server.state" not in import_graph(typing_too=False)["youthmode.server.caller"]


def test_no_import_cycles_among_youthmode_modules() -> None:
    assert cycles(import_graph(typing_too=False)) == []


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_nothing_below_the_server_imports_it() -> None:
    graph = import_graph(typing_too=True)
    offenders = {
        module: sorted(m for m in imported if m == SERVER or m.startswith(SERVER + "."))
        for module, imported in graph.items()
        if not (module == SERVER or module.startswith(SERVER + ".")) and module not in FRONT_DOORS
    }
    assert {m: found for m, found in offenders.items() if found} == {}


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports anywhere in it (absolute imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add((node.module or "").split(".")[0])
    return names


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_cli_imports_the_server_only_to_serve() -> None:
    graph = import_graph(typing_too=True)
    users = sorted(
        module
        for module, imported in graph.items()
        if _within(module, CLI) and any(_within(m, SERVER) for m in imported)
    )
    # `nppa report` is a service of its own beside `serve`: it opens the store the server would
    assert users == [
        "youthmode.cli.keys",
        "youthmode.cli.nppa",
        "youthmode.cli.serve",
        "youthmode.cli.studio",
    ]


def test_nothing_but_the_entry_points_imports_the_cli() -> None:
    graph = import_graph(typing_too=True)
    users = sorted(
        module
        for module, imported in graph.items()
        if not _within(module, CLI) and any(_within(m, CLI) for m in imported)
    )
    assert users == ["youthmode.__main__"]


def test_the_authoring_library_imports_neither_the_server_nor_the_cli() -> None:
    graph = import_graph(typing_too=True)
    offenders = {
        module: sorted(m for m in imported if _within(m, SERVER) or _within(m, CLI))
        for module, imported in graph.items()
        if _within(module, AUTHORING)
    }
    assert {m: found for m, found in offenders.items() if found} == {}


def test_the_authoring_library_does_not_parse_command_lines() -> None:
    users = []
    for name, path in MODULES.items():
        if not _within(name, AUTHORING):
            continue
        if "argparse" in imported_packages(path):
            users.append(name)
    assert users == []


def test_the_core_does_not_import_flask() -> None:
    below = [m for m in MODULES if not m.startswith(SERVER) and m not in FRONT_DOORS]
    users = []
    for name in below:
        if imported_packages(MODULES[name]) & {"flask", "werkzeug", "gunicorn"}:
            users.append(name)
    assert users == []


def test_the_promised_and_pre_move_paths_still_import() -> None:
    import youthmode.api
    import youthmode.auth
    import youthmode.config
    import youthmode.server_worker
    from youthmode.server import app, auth, config, worker

    assert youthmode.api.create_app is app.create_app
    assert youthmode.config.ServerConfig is config.ServerConfig
    assert youthmode.auth.create_key is auth.create_key
    assert youthmode.auth.KeyRing is auth.KeyRing
    assert youthmode.server_worker.BufferedSyncWorker is worker.BufferedSyncWorker
    assert config.ServerConfig().worker_class == "youthmode.server.worker.BufferedSyncWorker"
