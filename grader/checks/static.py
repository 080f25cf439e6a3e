"""Static scan of a student's source: forbidden calls, autograd, and code that tampers.

This reads the source with :mod:`ast` in the grader's process; it never runs it. What counts is
what the code *does*, not which harmless module it names: ``from builtins import range``,
``from __future__ import print_function``, ``from past.builtins import xrange``, ``six``,
``typing``, ``functools``, ``itertools``, ``math`` and ``xrange = range`` pass. A finding is

- a forbidden import or call of the exercise (``torch`` in a numpy exercise, ``F.conv2d``);
- autograd (``torch.autograd``, ``.backward()``, ``requires_grad``);
- tampering: rebinding or patching what the grader relies on (assigning or deleting attributes of
  an imported module or class, ``setattr(np, ...)``, writing into a module's ``__dict__``,
  ``__builtins__``), the import machinery (``sys.modules``, ``sys.meta_path``, ``importlib``),
  tracing hooks (``sys.settrace``), frame and heap introspection (``sys._getframe``,
  ``gc.get_objects``, ``.f_back``, ``.__globals__``), process control (``os.kill``,
  ``subprocess``, ``signal``) and dynamic code (``exec``, ``eval``, ``compile``, ``__import__``).

Aliases are resolved (``import torch.nn.functional as F`` then ``F.conv2d`` is
``torch.nn.functional.conv2d``; ``m = np`` then ``m.exp = f`` patches ``numpy.exp``), and so are
``getattr(x, "literal")`` calls. Runtime guards (the import blocker and, for torch, the operator
guard in :mod:`grader.runner.guard`) catch what a scan cannot see. The scan's own cost is bounded:
sources over :data:`MAX_SOURCE_CHARS` and nesting too deep for the parser are reported as an
``unscannable`` finding naming the line, never as a grader crash.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

#: Categories of a finding: the exercise's own rules, autograd, tampering, or a file that could
#: not be read by the scan at all.
EXERCISE, AUTOGRAD_RULE, TAMPERING_RULE, UNSCANNABLE = "exercise", "autograd", "tampering", "unscannable"

#: Why each kind of tampering is forbidden, in the student's terms.
WHY = {
    "patching": "patching library functions is forbidden (the checks call them too)",
    "builtins": "rebinding builtins is forbidden (every module, the grader's included, uses them)",
    "import machinery": "the import machinery is off limits (it can load code past dlgrade's "
                        "import guard)",
    "tracing": "tracing and audit hooks are forbidden (they watch and change code that is not "
               "yours)",
    "introspection": "frame and heap introspection is forbidden (it reaches the grader's objects)",
    "process control": "process control is forbidden in graded code (signals, child processes, "
                       "threads, sockets, exiting the process)",
    "dynamic code": "dynamic code is forbidden (exec, eval, compile, __import__ and unpickling "
                    "run code this check cannot see)",
}

#: Autograd, forbidden in every exercise (absolute names need an import of torch; the suffixes
#: apply to any expression where torch tensors can exist).
AUTOGRAD = ("torch.autograd", "torch.func", "functorch", "torch.enable_grad",
            "torch.set_grad_enabled", ".backward", ".requires_grad_", ".requires_grad")
#: Dotted names (resolved through imports) or ``.attr`` suffixes, with their kind of tampering.
NAME_RULES = {
    "introspection": ("gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._getframe",
                      "sys._current_frames", "inspect.stack", "inspect.currentframe",
                      "inspect.getouterframes", "inspect.getinnerframes", "inspect.trace",
                      "ctypes", ".sys._getframe", ".f_back", ".f_locals", ".f_globals", ".f_code",
                      ".f_builtins", ".tb_frame", ".gi_frame", ".cr_frame", ".ag_frame",
                      ".__globals__", ".__code__", ".__closure__", ".__subclasses__",
                      ".__builtins__"),
    "import machinery": ("sys.modules", "sys.meta_path", "sys.path_hooks",
                         "sys.path_importer_cache", ".sys.modules", ".sys.meta_path"),
    "tracing": ("sys.settrace", "sys.setprofile", "sys.addaudithook", "sys.monitoring",
                "threading.settrace", "threading.setprofile", ".sys.settrace"),
    "process control": ("os.kill", "os.killpg", "os.getppid", "os.fork", "os.forkpty",
                        "os.setsid", "os.setpgid", "os.system", "os.popen", "os.posix_spawn",
                        "os.posix_spawnp", "os.register_at_fork", "os.pidfd_open", "os.execv",
                        "os.execve", "os.execl", "os.execle", "os.execlp", "os.execlpe",
                        "os.execvp", "os.execvpe", "os.spawnv", "os.spawnve", "os.spawnl",
                        "os.spawnle", "os.spawnlp", "os.spawnvp", "os._exit", "os.setuid",
                        "os.setgid", "os.setresuid", "os.chdir", "os.chroot", "os.unshare",
                        "os.symlink", "os.mkfifo", "os.replace", "os.rename"),
    "dynamic code": ("builtins.exec", "builtins.eval", "builtins.compile", "builtins.__import__",
                     "importlib.import_module", "importlib.__import__"),
}
#: Modules whose import alone is a finding (graded code has no use for them; a tampering student
#: needs them). Checked at the import statement, so a variable sharing the name is not one.
MODULE_RULES = {
    "import machinery": ("importlib", "imp", "runpy", "pkgutil", "zipimport"),
    "dynamic code": ("marshal", "pickle", "dill", "cloudpickle", "code", "codeop"),
    "process control": ("signal", "subprocess", "multiprocessing", "concurrent", "threading",
                        "_thread", "psutil", "pty", "resource", "socket", "shutil"),
    "introspection": ("ctypes",),
}
#: Builtins whose call is dynamic code.
DYNAMIC_BUILTINS = ("exec", "eval", "compile", "__import__")
#: Methods that change a mapping in place (a module's ``__dict__`` or ``vars(module)``).
_MUTATORS = ("update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__")
#: Settings namespaces whose attributes a notebook's header commonly assigns (display options,
#: backend flags): assigning them configures a library, it does not replace what it computes.
SETTINGS = ("pandas.options", "torch.backends", "matplotlib.rcParams")
#: Longest source the scan reads (characters); real exercise files are a few ten thousand.
MAX_SOURCE_CHARS = 2_000_000


@dataclass(frozen=True)
class Finding:
    """One forbidden use.

    Attributes:
        name: the dotted name involved (``numpy.exp``, ``torch.nn.functional.conv2d``).
        line: its line in the file (1-based).
        rule: the rule it matched: a dotted name or ``.suffix`` from the tables above, or
            ``import``, ``requires_grad``, ``dynamic code``, ``tampering``, ``patching``,
            ``builtins``, ``unscannable``.
        what: what the code does there ("assigns numpy.exp", "calls torch.nn.functional.conv2d").
        why: why that is forbidden, in the student's terms.
        category: :data:`EXERCISE`, :data:`AUTOGRAD_RULE`, :data:`TAMPERING_RULE` or
            :data:`UNSCANNABLE`.
        file: the file's name when the caller gave one (helper modules are scanned one by one).
    """

    name: str
    line: int
    rule: str
    what: str = ""
    why: str = ""
    category: str = TAMPERING_RULE
    file: str | None = None

    def describe(self) -> str:
        """``assigns numpy.exp at line 3 of ex01_sigmoid.py: patching library functions is
        forbidden (...)`` (notebooks rewrite "at line N" into their cell and line)."""
        where = f"at line {self.line}" + (f" of {self.file}" if self.file else "")
        return f"{self.what or 'uses ' + self.name} {where}: {self.why}"


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


class _Scanner:
    """One pass over a parsed module (see :func:`scan`)."""

    def __init__(self, tree, *, forbidden_imports, forbidden_calls, allowed_calls, local_modules,
                 filename):
        self.tree = tree
        self.forbidden_imports = tuple(forbidden_imports)
        self.forbidden_calls = tuple(forbidden_calls)
        self.allowed_calls = tuple(allowed_calls)
        self.local = set(local_modules)
        self.file = filename
        self.aliases: dict[str, str] = {}     # local name -> dotted name of what was imported
        self.found: list[Finding] = []
        self.line = 1
        # A numpy exercise cannot run torch: there `.backward()` is the student's own method.
        self.torch_possible = "torch" not in self.forbidden_imports

    # -- findings ---------------------------------------------------------------------------
    def add(self, name, line, rule, what, why, category=TAMPERING_RULE):
        self.found.append(Finding(name, line, rule, what, why, category, self.file))

    def check_name(self, full: str, line: int, verb: str = "uses") -> None:
        """Match a resolved dotted name against the exercise's calls, autograd and tampering."""
        if any(full == a or full.startswith(a + ".") for a in self.allowed_calls):
            return
        for rule in self.forbidden_calls:
            if _matches(full, rule):
                self.add(full, line, rule, f"{verb} {full}", "this exercise forbids it (it is "
                         "what you are asked to write yourself)", EXERCISE)
                return
        for rule in AUTOGRAD:
            if rule.startswith(".") and not self.torch_possible:
                continue
            if _matches(full, rule):
                self.add(full, line, rule, f"{verb} {full}", "autograd is forbidden: compute "
                         "the gradients with your own formulas", AUTOGRAD_RULE)
                return
        for kind, rules in NAME_RULES.items():
            for rule in rules:
                if _matches(full, rule):
                    self.add(full, line, "dynamic code" if kind == "dynamic code" else rule,
                             f"{verb} {full}", WHY[kind])
                    return

    # -- aliases ----------------------------------------------------------------------------
    def resolve(self, node) -> str | None:
        """The dotted name of ``node`` with its head resolved through the imports, or None when
        its head is not an imported name (a local variable, a call result...)."""
        name = _dotted(node)
        if not name or name.startswith("."):
            return None
        head, _, rest = name.partition(".")
        if head not in self.aliases:
            return None
        return self.aliases[head] + ("." + rest if rest else "")

    def _is_library(self, resolved: str | None) -> bool:
        return bool(resolved) and resolved.split(".")[0] not in self.local

    def collect_aliases(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom):
                if node.level:           # from . import x: the student's own package
                    for a in node.names:
                        self.local.add(a.asname or a.name)
                    if node.module:
                        self.local.add(node.module.split(".")[0])
                    continue
                for a in node.names:
                    if a.name != "*" and node.module:
                        self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        # `m = np` and `F = torch.nn.functional`: a plain name bound to an imported thing.
        for _ in range(3):
            changed = False
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Name, ast.Attribute)):
                    target = self.resolve(node.value)
                    for t in node.targets:
                        if target and isinstance(t, ast.Name) and self.aliases.get(t.id) != target:
                            self.aliases[t.id] = target
                            changed = True
            if not changed:
                break

    # -- the walk ---------------------------------------------------------------------------
    def imports(self, node) -> None:
        if isinstance(node, ast.Import):
            mods = [(a.name, a.name) for a in node.names]
        else:
            if node.level or not node.module:
                return
            mods = [(node.module, f"{node.module}.{a.name}") for a in node.names]
        for module, full in mods:
            top = module.split(".")[0]
            for kind, modules in MODULE_RULES.items():
                if top in modules:
                    self.add(module, node.lineno, "tampering", f"imports {module}", WHY[kind])
            if top in self.forbidden_imports:
                self.add(module, node.lineno, "import", f"imports {module}", "this exercise "
                         f"forbids the {top} library", EXERCISE)
            elif isinstance(node, ast.ImportFrom) or \
                    not any(al.startswith(module + ".") for al in self.allowed_calls):
                self.check_name(full, node.lineno, "imports")

    def patched(self, node, base, attr: str, verb: str) -> None:
        """An attribute of ``base`` (an AST node) is assigned/deleted: patching when ``base``
        resolves to something imported."""
        resolved = self.resolve(base)
        if self._is_library(resolved):
            full = f"{resolved}.{attr}" if attr else resolved
            if any(full == k or full.startswith(k + ".") for k in SETTINGS):
                return
            builtin = resolved.split(".")[0] == "builtins"
            self.add(full, node.lineno, "builtins" if builtin else "patching", f"{verb} {full}",
                     WHY["builtins" if builtin else "patching"])

    def namespace_of(self, node):
        """``X.__dict__`` or ``vars(X)``: the node X whose namespace this is, else None."""
        if isinstance(node, ast.Attribute) and node.attr == "__dict__":
            return node.value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "vars" and node.args:
            return node.args[0]
        return None

    def visit(self, node) -> None:
        self.line = getattr(node, "lineno", self.line)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.imports(node)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            self.patched(node, node.value, node.attr,
                         "assigns" if isinstance(node.ctx, ast.Store) else "deletes")
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            ns = self.namespace_of(node.value)
            if ns is not None:
                self.patched(node, ns, "__dict__", "writes into")
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            self.add("__builtins__", node.lineno, "builtins", "uses __builtins__", WHY["builtins"])
        elif isinstance(node, ast.Constant) and node.value == "__builtins__":
            self.add("__builtins__", node.lineno, "builtins", "names '__builtins__'",
                     WHY["builtins"])
        elif isinstance(node, ast.keyword) and node.arg == "requires_grad" and self.torch_possible:
            self.add("requires_grad=", node.value.lineno, "requires_grad",
                     "passes requires_grad=", "autograd is forbidden: compute the gradients with "
                     "your own formulas", AUTOGRAD_RULE)
        elif isinstance(node, ast.Call):
            self.call(node)

    def call(self, node) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id not in self.aliases:
            if func.id in DYNAMIC_BUILTINS:
                self.add(func.id, node.lineno, "dynamic code", f"calls {func.id}()",
                         WHY["dynamic code"])
            elif func.id in ("setattr", "delattr") and node.args:
                self.patched(node, node.args[0], _constant(node.args[1:2]),
                             "assigns" if func.id == "setattr" else "deletes")
            if func.id in ("getattr", "setattr", "delattr") and len(node.args) >= 2:
                attr = _constant(node.args[1:2])
                base = self.resolve(node.args[0])
                if attr and base:                 # getattr(os, "kill") is os.kill
                    self.check_name(f"{base}.{attr}", node.lineno)
                elif attr and _dotted(node.args[0]):   # getattr(frame, "f_back")
                    self.check_name(f"{_dotted(node.args[0])}.{attr}", node.lineno)
        elif isinstance(func, ast.Attribute):
            if func.attr in ("__setattr__", "__delattr__"):
                # object.__setattr__(np, "exp", f) or np.__setattr__("exp", f)
                owner = _dotted(func.value)
                target = node.args[0] if owner in ("object", "type") and node.args else func.value
                rest = node.args[1:2] if owner in ("object", "type") else node.args[:1]
                self.patched(node, target, _constant(rest),
                             "assigns" if func.attr == "__setattr__" else "deletes")
            elif func.attr in _MUTATORS:
                ns = self.namespace_of(func.value)
                if ns is not None:
                    self.patched(node, ns, "__dict__", "changes")

    def uses(self) -> None:
        """Every maximal attribute chain or name that is read, resolved through the imports."""
        inner = {id(n.value) for n in ast.walk(self.tree) if isinstance(n, ast.Attribute)}
        for node in ast.walk(self.tree):
            if not isinstance(node, (ast.Attribute, ast.Name)) or id(node) in inner \
                    or isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
                continue
            self.line = node.lineno
            name = _dotted(node)
            if not name:
                continue
            resolved = self.resolve(node)
            if resolved:
                self.check_name(resolved, node.lineno)
            elif name.startswith(".") or "." in name:
                # not an imported head: only the suffix rules (x.backward(), frame.f_back) apply
                suffix = "." + name.split(".", 1)[1] if not name.startswith(".") else name
                self.check_name(suffix, node.lineno)

    def run(self) -> list[Finding]:
        self.collect_aliases()
        for node in ast.walk(self.tree):
            self.visit(node)
        self.uses()
        return self.found


def _constant(args) -> str:
    if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        return args[0].value
    return ""


def _longest_line(source: str) -> int:
    lines = source.splitlines() or [""]
    return max(range(len(lines)), key=lambda i: len(lines[i])) + 1


def scan(source: str, *, forbidden_imports=(), forbidden_calls=(), allowed_calls=(),
         filename: str | None = None, local_modules=()) -> list[Finding]:
    """Find forbidden imports, calls, autograd and tampering in ``source``.

    Args:
        source: the student's Python source.
        forbidden_imports: top-level module names (``"torch"``) whose import is forbidden.
        forbidden_calls: dotted prefixes (``"torch.nn.functional"``) or ``".attr"`` suffixes.
        allowed_calls: dotted names exempt from ``forbidden_calls`` (``"torch.nn.functional.pad"``).
        filename: the file's name, carried by every finding (for helper modules).
        local_modules: top-level names of the student's own modules (assigning their attributes
            is not patching a library); relative imports count as local by themselves.

    Returns:
        The findings, in source order, at most one per line and rule. A file that does not parse
        returns no findings (the import in the student process reports the SyntaxError); a file
        too large or too deeply nested to scan returns one ``unscannable`` finding naming the
        line. Never raises for anything in ``source``.
    """
    if len(source) > MAX_SOURCE_CHARS:
        return [Finding("source", 1, "unscannable", f"is past the {MAX_SOURCE_CHARS:,} characters "
                        f"dlgrade reads (the file has {len(source):,})", "split it or remove "
                        "generated data", UNSCANNABLE, filename)]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    except (RecursionError, MemoryError, ValueError):
        # ValueError: NUL bytes in the source; the others: nesting deeper than the parser takes.
        return [Finding("source", _longest_line(source), "unscannable", "nests expressions too "
                        "deeply to be read", "simplify that expression (split it into several "
                        "statements)", UNSCANNABLE, filename)]
    scanner = _Scanner(tree, forbidden_imports=forbidden_imports, forbidden_calls=forbidden_calls,
                       allowed_calls=allowed_calls, local_modules=local_modules, filename=filename)
    try:
        found = scanner.run()
    except (RecursionError, MemoryError):
        return [Finding("source", scanner.line, "unscannable", "nests expressions too deeply "
                        "to be read", "simplify that expression", UNSCANNABLE, filename)]
    # Deduplicate (a chain is visited once per prefix) keeping the longest name per line and rule.
    best: dict[tuple[int, str], Finding] = {}
    for f in found:
        key = (f.line, f.rule)
        if key not in best or len(f.name) > len(best[key].name):
            best[key] = f
    return sorted(best.values(), key=lambda f: (f.line, f.name))


def message(findings: list[Finding]) -> str:
    """The student-facing message for ``findings``: each reason once, with the lines (at most
    five named, the rest counted) and the file when the findings carry one."""
    if not findings:
        return ""
    files = list(dict.fromkeys(f.file for f in findings if f.file))
    single = len(files) <= 1
    groups: dict[str, list[str]] = {}
    for f in findings[:5]:
        where = f"at line {f.line}" + ("" if single or not f.file else f" of {f.file}")
        groups.setdefault(f.why, []).append(f"{f.what or 'uses ' + f.name} {where}")
    parts = [", ".join(items) + f": {why}" for why, items in groups.items()]
    more = f" (and {len(findings) - 5} more)" if len(findings) > 5 else ""
    cats = {f.category for f in findings}
    if TAMPERING_RULE in cats:
        tail = ("dlgrade forbids in graded code whatever can tamper with grading (patching "
                "libraries, the import machinery, frame and heap introspection, process control, "
                "dynamic code); compute the answer with plain array operations")
    elif UNSCANNABLE in cats:
        tail = "dlgrade cannot clear a file it cannot read"
    else:
        tail = "Write it yourself with plain array operations"
    head = f"your code ({files[0]})" if single and files else "your code"
    return f"{head}: " + "; ".join(parts) + f"{more}. {tail}"
