"""The package's structure: no import circles, inference apart from training, one definition per setting, cells short enough to read.

Imports are read from the generated modules' source (every `import`, at top level or inside a function), so a
circle through a deferred import counts as much as one at import time.
"""
import ast, json, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PKG = ROOT/"synctalk"
MODULES = sorted(p.stem for p in PKG.glob("*.py") if not p.stem.startswith("_"))
NOTEBOOKS = sorted((ROOT/"nbs").glob("*.ipynb"))
INFERENCE = tuple(m for m in ("model", "composite", "metrics", "say") if m in MODULES) # what `synctalk infer`, `evaluate` and `say` run on
MAX_CELL_LINES, MAX_TRAIN_LINES = 60, 450


def _tree(name:str) -> ast.Module: return ast.parse((PKG/f"{name}.py").read_text())

def imports_of(name:str) -> set:
    "The synctalk modules that `synctalk.<name>` imports anywhere in its source."
    found = set()
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 1: parts = mod.split(".") if mod else [a.name for a in node.names]
            elif node.level == 0 and mod.split(".")[0] == "synctalk":
                parts = mod.split(".")[1:2] if "." in mod else [a.name for a in node.names]
            else: continue
            found.update(parts[:1] if mod else parts)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("synctalk."))
    return {m for m in found if m in MODULES and m != name}

GRAPH = {m: imports_of(m) for m in MODULES}

def reachable(start:str, graph:dict=GRAPH) -> set:
    "Every module `start` imports, directly or through others."
    seen, todo = set(), list(graph[start])
    while todo:
        m = todo.pop()
        if m not in seen: seen.add(m); todo.extend(graph[m])
    return seen

def path(a:str, b:str, graph:dict=GRAPH) -> list:
    "A shortest import chain from `a` to `b` (breadth first)."
    prev, todo = {a: None}, [a]
    while todo:
        m = todo.pop(0)
        for n in sorted(graph[m]):
            if n == b: chain = [b, m]; break
            if n not in prev: prev[n] = m; todo.append(n)
        else: continue
        while prev[chain[-1]] is not None: chain.append(prev[chain[-1]])
        return chain[::-1]
    return []

def circles(graph:dict=GRAPH) -> list:
    "One import chain per group of modules that import one another in a circle."
    groups = {frozenset(m for m in graph if m == s or (m in reachable(s, graph) and s in reachable(m, graph))) for s in graph}
    return [path(min(g), min(g), graph) for g in sorted(groups, key=min) if len(g) > 1 or min(g) in graph[min(g)]]


def test_circle_finder():
    "The checker itself: it finds a circle through a deferred import, and none in a stack."
    g = dict(a={"b"}, b={"c"}, c={"a"}, d={"a"})
    assert circles(g) == [["a", "b", "c", "a"]] and reachable("d", g) == {"a", "b", "c"}
    assert circles(dict(a={"b"}, b=set(), c={"a", "b"})) == []
    assert "workspace" in GRAPH["train"] and "train" not in GRAPH["workspace"] # the graph is read from the package


def test_no_import_circles():
    found = circles()
    assert not found, "import circles: " + "; ".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("name", INFERENCE)
def test_inference_does_not_import_training(name):
    "Driving a model (`synctalk infer`, `synctalk evaluate`) needs nothing of the training module, even indirectly."
    assert "train" not in reachable(name), f"synctalk.{name} reaches synctalk.train: {' -> '.join(path(name, 'train'))}"


def test_inference_imports_leave_training_out():
    "At run time too: importing the inference modules does not load `synctalk.train`."
    code = f"import sys, {', '.join('synctalk.' + m for m in INFERENCE)}; print('synctalk.train' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "False"


def test_train_module_is_short():
    n = len((PKG/"train.py").read_text().splitlines())
    assert n < MAX_TRAIN_LINES, f"synctalk/train.py has {n} lines"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_are_short(nb):
    "No notebook cell over 60 lines: each definition stays readable next to its explanation and example."
    long = [(c.get("id"), len("".join(c["source"]).splitlines())) for c in json.loads(nb.read_text())["cells"]]
    long = [(i, n) for i, n in long if n > MAX_CELL_LINES]
    assert not long, f"{nb.name}: cells over {MAX_CELL_LINES} lines (id, lines): {long}"


# one definition per setting -------------------------------------------------------------------------------------

HOMES = dict(FPS="core", HELDOUT_FRACTION="workspace", ARTIFACTS="workspace")

def _assigned_names(name:str) -> set:
    "Names a module assigns at its top level."
    out = set()
    for node in _tree(name).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            out.update(e.id for e in ast.walk(t) if isinstance(e, ast.Name))
    return out

@pytest.mark.parametrize("name", MODULES)
def test_settings_defined_once(name):
    "The frame rate, the held-out fraction and the artifact names are defined in one module each; others import them."
    again = {s for s, home in HOMES.items() if name != home and s in _assigned_names(name)}
    assert not again, f"synctalk.{name} defines {', '.join(sorted(again))} again (the definition is in " \
                      + ", ".join(f"synctalk.{HOMES[s]}" for s in sorted(again)) + ")"


def test_single_definitions_hold():
    from synctalk.core import FPS
    from synctalk.workspace import ARTIFACTS, ArtifactNames, HELDOUT_FRACTION, heldout_start
    assert (FPS, HELDOUT_FRACTION, heldout_start(331)) == (25, 0.15, 281)
    names = [getattr(ARTIFACTS, f) for f in ArtifactNames.__dataclass_fields__]
    assert len(set(names)) == len(names)


# The modules of the renderer, inference, training, evaluation and CLI write no frame rate, held-out fraction or
# artifact file name of their own. (The front-end modules -- io, face, masks, track, audio, ave -- are moving to
# the same definitions; until they have, their literals are theirs to remove.)
CHECKED = ("core", "workspace", "nerf", "model", "train", "composite", "metrics", "cli")

def _literals(name:str):
    "(line, what) for each frame rate 25, held-out fraction 0.15 and artifact name written as a literal in the module's code."
    from synctalk.workspace import ARTIFACTS, ArtifactNames
    artifacts = {getattr(ARTIFACTS, f) for f in ArtifactNames.__dataclass_fields__}
    out = []
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in artifacts:
            out.append((node.lineno, repr(node.value)))
        elif isinstance(node, ast.keyword) and node.arg in ("fps", "holdout") and isinstance(node.value, ast.Constant):
            out.append((node.value.lineno, f"{node.arg}={node.value.value}"))
        elif isinstance(node, ast.arguments):
            args = node.posonlyargs + node.args
            pairs = list(zip(args[len(args) - len(node.defaults):], node.defaults)) + list(zip(node.kwonlyargs, node.kw_defaults))
            out += [(d.lineno, f"{a.arg}={d.value}") for a, d in pairs
                    if a.arg in ("fps", "holdout") and isinstance(d, ast.Constant) and d.value is not None]
        elif isinstance(node, ast.BinOp) and isinstance(node.right, ast.Constant) and node.right.value == 25 and name != "core":
            out.append((node.lineno, "/ 25" if isinstance(node.op, ast.Div) else "25"))
    return out

@pytest.mark.parametrize("name", CHECKED)
def test_no_setting_literals(name):
    found = [f"line {n}: {what}" for n, what in _literals(name) if not (name == "workspace" and what.startswith("'"))]
    assert not found, f"synctalk/{name}.py writes settings of its own: {'; '.join(found)}"
