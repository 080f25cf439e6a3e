"""Static scan of a student's source for forbidden imports and calls (readable messages).

This reads the source with :mod:`ast` in the grader's process; it never runs it. It resolves
``import x as y`` and ``from x import y as z`` aliases, so ``import torch.nn.functional as F`` then
``F.conv2d(...)`` is reported as ``torch.nn.functional.conv2d``. Runtime guards (the import blocker
and, for torch, the dispatcher guard in :mod:`grader.runner.guard`) catch what a scan cannot see.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

#: Forbidden in every exercise: autograd, and reaching into the grader's own process state.
AUTOGRAD = ("torch.autograd", "torch.func", "functorch", ".backward", ".requires_grad_",
            ".requires_grad", "torch.enable_grad", "torch.set_grad_enabled")
INTROSPECTION = ("gc.get_objects", "gc.get_referrers", "sys._getframe", "inspect.stack",
                 "inspect.currentframe", "ctypes", "sys.modules")
#: Forbidden in every exercise: names graded code has no use for and a tampering student needs -
#: frames and object internals, the import machinery (loading a file past the import guard),
#: signals and process control (killing or outliving the grader). See docs/security.md.
TAMPERING = ("gc.get_referents", "sys._current_frames", "sys.settrace", "sys.setprofile",
             "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache", "builtins",
             "__builtins__", ".sys.modules", ".sys.meta_path", ".sys._getframe",
             "inspect.getouterframes", "inspect.getinnerframes", "inspect.trace",
             ".f_back", ".f_locals", ".f_globals", ".tb_frame", ".gi_frame", ".cr_frame",
             ".__globals__", ".__code__", ".__closure__", ".__subclasses__", ".__dict__",
             "os.kill", "os.killpg", "os.getppid", "os.fork", "os.forkpty", "os.setsid",
             "os.setpgid", "os.system", "os.popen", "os.posix_spawn", "os.posix_spawnp",
             "os.register_at_fork", "os.pidfd_open", "os.execv", "os.execve", "os.execl",
             "os.execle", "os.execlp", "os.execlpe", "os.execvp", "os.execvpe", "os.spawnv",
             "os.spawnve", "os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnvp", "os._exit",
             "os.setuid", "os.setgid", "os.setresuid", "os.chdir", "os.chroot", "os.unshare",
             "os.symlink", "os.mkfifo", "os.replace", "os.rename")
#: Modules whose import alone is a finding (checked at the import statement, so a variable that
#: happens to share the name is not).
TAMPERING_MODULES = ("importlib", "imp", "runpy", "pkgutil", "zipimport", "marshal", "pickle",
                     "dill", "cloudpickle", "code", "codeop", "signal", "subprocess",
                     "multiprocessing", "concurrent", "threading", "_thread", "psutil", "pty",
                     "resource", "socket", "shutil", "builtins", "faulthandler", "sysconfig")


@dataclass(frozen=True)
class Finding:
    """One forbidden use: the dotted name and the line it is on."""

    name: str
    line: int
    rule: str


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if parts:  # e.g. (x + y).backward -> ".backward"
        return "." + ".".join(reversed(parts))
    return None


def _matches(name: str, rule: str) -> bool:
    if rule.startswith("."):
        return name.endswith(rule) or (rule[1:] + ".") in name
    return name == rule or name.startswith(rule + ".")


def scan(source: str, *, forbidden_imports=(), forbidden_calls=(), allowed_calls=()) -> list[Finding]:
    """Find forbidden imports, calls and attribute uses in ``source``.

    Args:
        source: the student's Python source.
        forbidden_imports: top-level module names (``"torch"``) whose import is forbidden.
        forbidden_calls: dotted prefixes (``"torch.nn.functional"``) or ``".attr"`` suffixes.
        allowed_calls: dotted names exempt from ``forbidden_calls`` (``"torch.nn.functional.pad"``).

    Returns:
        The findings, in source order. A file that does not parse returns no findings (the
        import in the student process reports the SyntaxError).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    aliases: dict[str, str] = {}
    found: list[Finding] = []
    rules = tuple(forbidden_calls) + AUTOGRAD + INTROSPECTION + TAMPERING

    def check_name(full: str, line: int):
        if any(full == a or full.startswith(a + ".") for a in allowed_calls):
            return
        for rule in rules:
            if _matches(full, rule):
                found.append(Finding(full, line, rule))
                return

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[(a.asname or a.name).split(".")[0] if not a.asname else a.asname] = \
                    a.name if a.asname else a.name.split(".")[0]
                if a.name.split(".")[0] in TAMPERING_MODULES:
                    found.append(Finding(a.name, node.lineno, "tampering"))
                if a.name.split(".")[0] in forbidden_imports:
                    found.append(Finding(a.name, node.lineno, "import"))
                elif not any(al.startswith(a.name + ".") for al in allowed_calls):
                    check_name(a.name, node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in TAMPERING_MODULES:
                found.append(Finding(node.module, node.lineno, "tampering"))
            if node.module.split(".")[0] in forbidden_imports:
                found.append(Finding(node.module, node.lineno, "import"))
            for a in node.names:
                full = f"{node.module}.{a.name}"
                aliases[a.asname or a.name] = full
                check_name(full, node.lineno)
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)) and id(node) not in inner \
                and not isinstance(getattr(node, "ctx", None), ast.Store):
            name = _dotted(node)
            if not name:
                continue
            head, _, rest = name.partition(".")
            if head in aliases:
                name = aliases[head] + ("." + rest if rest else "")
            check_name(name, node.lineno)
        elif isinstance(node, ast.keyword) and node.arg == "requires_grad":
            found.append(Finding("requires_grad=", node.value.lineno, "requires_grad"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("__import__", "exec", "eval", "compile"):
            found.append(Finding(node.func.id, node.lineno, "dynamic code"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("getattr", "setattr", "delattr", "hasattr") \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str):
            # getattr(os, "kill") is os.kill
            base = _dotted(node.args[0])
            if base:
                head, _, rest = base.partition(".")
                base = aliases.get(head, head) + ("." + rest if rest else "")
                check_name(f"{base}.{node.args[1].value}", node.lineno)
        elif isinstance(node, ast.Call) and _dotted(node.func) in ("importlib.import_module",):
            found.append(Finding("importlib.import_module", node.lineno, "dynamic code"))
    # Deduplicate (an attribute chain is visited once per prefix) keeping the longest name per line.
    best: dict[tuple[int, str], Finding] = {}
    for f in found:
        key = (f.line, f.rule)
        if key not in best or len(f.name) > len(best[key].name):
            best[key] = f
    return sorted(best.values(), key=lambda f: (f.line, f.name))
