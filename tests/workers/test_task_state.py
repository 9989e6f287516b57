"""The worker's tasks keep no state in their modules: what a process shares between jobs
lives in its ``WorkerContext`` (the proxy table's writer, the clients), where a test can
give each case its own."""

from __future__ import annotations

import ast
from pathlib import Path

import devpush.workers.tasks

TASKS = Path(devpush.workers.tasks.__file__).parent

#: Calls whose result is mutable state: containers and synchronization objects.
MUTABLE_CALLS = frozenset(
    {
        "list",
        "dict",
        "set",
        "defaultdict",
        "OrderedDict",
        "deque",
        "Counter",
        "Lock",
        "RLock",
        "Event",
        "Condition",
        "Semaphore",
        "BoundedSemaphore",
    }
)


def _mutable(value: ast.expr | None) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in MUTABLE_CALLS
    return False


def module_state(source: str) -> list[str]:
    """Module-level mutable assignments and ``global`` statements, as ``line: text``."""
    tree = ast.parse(source)
    found = [
        f"{node.lineno}: global {', '.join(node.names)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Global)
    ]
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and _mutable(node.value):
            found.append(f"{node.lineno}: {ast.unparse(node).splitlines()[0]}")
    return found


def test_no_task_module_keeps_mutable_state() -> None:
    modules = sorted(TASKS.glob("*.py"))
    assert modules, f"no modules under {TASKS}"
    found = {path.name: state for path in modules if (state := module_state(path.read_text()))}
    assert found == {}, f"module-level state in the worker's tasks: {found}"


def test_the_check_finds_state() -> None:
    source = (
        "import threading\n"
        "LIMIT = 3\n"
        "NAMES = ('a', 'b')\n"
        "_pending: dict[str, str] = {}\n"
        "_lock = threading.Lock()\n"
        "def f():\n"
        "    global LIMIT\n"
        "    local = []\n"
    )
    assert module_state(source) == [
        "7: global LIMIT",
        "4: _pending: dict[str, str] = {}",
        "5: _lock = threading.Lock()",
    ]
