"""The layering of STYLE.md ("A layout that shows the architecture"), checked on the source with ``ast``.

Dependency direction, lowest first: ``utils`` -> ``config``, ``hub`` -> ``text``, ``data``, ``models`` ->
``losses``, ``metrics`` -> ``pipelines``, ``training`` -> ``cli``, ``app``. A module may import its own
top-level package and the packages of *lower* layers; packages of one layer are siblings and import
neither each other nor anything above. Every import counts, also those inside functions (lazy imports
are still dependencies). Only ``training/`` imports accelerate.

Lazy imports by name (``importlib.import_module``) are not seen here; the one the library makes is
``utils.model_registry.model_class``, which imports the model packages to find a saved model's class
(see its docstring for why).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, NamedTuple

SRC = Path(__file__).resolve().parents[1] / "src" / "wordsight"
ROOT = "wordsight"  # the package itself: wordsight/__init__.py only defines __version__

LAYERS: tuple[tuple[str, ...], ...] = (
    (ROOT, "utils"),
    ("config", "hub"),
    ("text", "data", "models"),
    ("losses", "metrics"),
    ("pipelines", "training"),
    ("cli", "app"),
)
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}

# Rules on top of the layer order (importer -> packages it must not import although they are lower).
EXTRA_FORBIDDEN: dict[str, set[str]] = {
    # "generators and encoders are passed in as arguments" (STYLE.md)
    "losses": {"models", "text"},
    "metrics": {"models", "text"},
    # the web demo runs over pipelines only
    "app": {"training"},
}
# Third-party packages only some of our packages may import.
RESTRICTED_THIRD_PARTY: dict[str, set[str]] = {"accelerate": {"training"}}

# Imports that break the rules and are accepted for now, each with its reason:
#   ("<file relative to src/wordsight>", "<imported module>"): "why"
# Measured when this test was written: none (the pipelines <-> training imports and the text/data/models
# cross imports that existed were fixed). A new entry needs a reason; training <-> pipelines and
# models/metrics -> anything forbidden above never get one (test_allow_list_has_no_forbidden_pairs).
ALLOWED: dict[tuple[str, str], str] = {
    ("cli/serve.py", "wordsight.app"): "`wordsight serve` is the command line's one entry into the web demo",
}
NEVER_ALLOWED = {("pipelines", "training"), ("training", "pipelines"), ("models", "training"), ("models", "pipelines"),
                 ("models", "metrics"), ("models", "losses"), ("metrics", "models"), ("metrics", "training"),
                 ("metrics", "pipelines")}


class Import(NamedTuple):
    file: str  # relative to the package root, e.g. "pipelines/evaluation.py"
    line: int
    module: str  # absolute dotted name, e.g. "wordsight.training.damsm" or "accelerate.utils"


def _module_parts(path: Path, root: Path) -> list[str]:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def iter_imports(root: Path = SRC) -> Iterator[Import]:
    """Every import statement under ``root`` (a package folder), with relative imports made absolute."""
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        module = _module_parts(path, root)
        package = module if path.name == "__init__.py" else module[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(rel, node.lineno, alias.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    if node.level - 1 >= len(package):
                        raise AssertionError(f"{rel}:{node.lineno}: relative import above the package")
                    base = package[: len(package) - (node.level - 1)]
                else:
                    base = []
                target = base + (node.module.split(".") if node.module else [])
                if target == [root.name]:  # `from .. import models` imports a module; `__version__` is a name
                    for alias in node.names:
                        is_module = (root / f"{alias.name}.py").is_file() or (root / alias.name).is_dir()
                        yield Import(rel, node.lineno, f"{root.name}.{alias.name}" if is_module else root.name)
                else:
                    yield Import(rel, node.lineno, ".".join(target))


def top_of_file(rel: str) -> str:
    first = rel.split("/")[0]
    return ROOT if first == "__init__.py" else first.removesuffix(".py")


def top_of_module(module: str, root_name: str = ROOT) -> str | None:
    """Our top-level package of ``module`` (``ROOT`` for the package itself), None for third-party."""
    parts = module.split(".")
    if parts[0] != root_name:
        return None
    return parts[1] if len(parts) > 1 else ROOT


def violations(root: Path = SRC) -> list[str]:
    """``file:line: ...`` for every import against the rules that is not in ``ALLOWED``."""
    out = []
    for imp in iter_imports(root):
        src = top_of_file(imp.file)
        tgt = top_of_module(imp.module, root.name)
        why = None
        if src not in LAYER_OF:
            why = f"{src!r} is in no layer of tests/test_layering.py LAYERS (add it where STYLE.md puts it)"
        elif tgt is None:
            allowed = RESTRICTED_THIRD_PARTY.get(imp.module.split(".")[0])
            if allowed is not None and src not in allowed:
                why = f"only {sorted(allowed)} may import {imp.module.split('.')[0]}"
        elif tgt == src:
            continue
        elif tgt not in LAYER_OF:
            why = f"imports {tgt!r}, which is in no layer"
        elif LAYER_OF[tgt] > LAYER_OF[src]:
            why = f"upward: {src} (layer {LAYER_OF[src]}) imports {tgt} (layer {LAYER_OF[tgt]})"
        elif LAYER_OF[tgt] == LAYER_OF[src]:
            why = f"sideways: {src} imports its sibling {tgt} (layer {LAYER_OF[src]})"
        elif tgt in EXTRA_FORBIDDEN.get(src, ()):
            why = f"{src} must not import {tgt} (STYLE.md)"
        if why and (imp.file, imp.module) not in ALLOWED:
            out.append(f"{imp.file}:{imp.line}: {imp.module}: {why}")
    return out


def test_imports_follow_the_layers():
    found = violations()
    assert not found, "imports against STYLE.md's dependency direction:\n" + "\n".join(found)


def test_allow_list_has_no_forbidden_pairs_and_no_stale_entries():
    for (file, module), reason in ALLOWED.items():
        pair = (top_of_file(file), top_of_module(module))
        assert pair not in NEVER_ALLOWED, f"{file} -> {module}: {pair[0]} -> {pair[1]} is never allowed"
        assert reason.strip(), f"{file} -> {module}: give the reason"
    present = {(imp.file, imp.module) for imp in iter_imports()}
    stale = sorted(set(ALLOWED) - present)
    assert not stale, f"allow-list entries whose import is gone (remove them): {stale}"


def test_every_package_has_a_layer():
    tops = {top_of_file(p.relative_to(SRC).as_posix()) for p in SRC.rglob("*.py")}
    assert tops <= set(LAYER_OF), f"add to LAYERS: {sorted(tops - set(LAYER_OF))}"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / ROOT
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_the_checker_catches_what_it_should(tmp_path):
    """An upward, a sideways, a lazy, an absolute and an accelerate import are all reported by file:line;
    the imports the layers allow are not."""
    root = _tree(tmp_path, {
        "__init__.py": "",
        "utils/__init__.py": "",
        "hub.py": "from .utils import registry\n",
        "models/__init__.py": "from .. import hub\n",
        "models/dfgan.py": "def f():\n    from ..text import tokenizer\n",
        "pipelines/__init__.py": "from ..models import dfgan\nfrom .. import __version__\n",
        "pipelines/evaluation.py": "import torch\n\nfrom ..training import loop\n",
        "metrics/fid.py": "import wordsight.models.dfgan\nfrom wordsight import utils\n",
        "data/x.py": "import accelerate\n",
    })
    found = violations(root)
    assert any(v.startswith("pipelines/evaluation.py:3: wordsight.training: sideways") for v in found), found
    assert any(v.startswith("models/dfgan.py:2: wordsight.text: sideways") for v in found), found
    assert any(v.startswith("metrics/fid.py:1: wordsight.models.dfgan: metrics must not import models") for v in found), found
    assert any(v.startswith("data/x.py:1: accelerate: only ['training']") for v in found), found
    assert len(found) == 4, found


def test_importing_a_registering_package_imports_every_module_in_it():
    """models/ and training/objectives/ import their modules automatically, so a new file registers itself."""
    import importlib
    import pkgutil
    import sys

    for package in ("wordsight.models", "wordsight.training.objectives"):
        pkg = importlib.import_module(package)
        names = [i.name for i in pkgutil.iter_modules(pkg.__path__) if not i.name.startswith("_")]
        missing = [n for n in names if f"{package}.{n}" not in sys.modules]
        assert names and not missing, f"{package} did not import {missing}"
