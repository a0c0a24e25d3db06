"""Readable PyTorch source for a converted model: `model.py` (one nn.Module class) + `weights.safetensors`.

The converted model is a torch.fx GraphModule whose submodules are torch built-ins or classes from
packager.modules. From it the generator writes:

- `__init__`: one attribute per Keras layer, named after the layer. A torch built-in is rebuilt from
  its hyper-parameters as the shortest constructor call that rebuilds the same module (checked by
  building it); a packager module has its class source inlined into model.py and is constructed
  with the arguments it was built with (`packager.modules.constructor_arguments`). A `--plugin`
  file's module is inlined the same way, its arguments read back from the attributes named like
  its constructor's parameters.
- `forward`: the fx graph as plain statements. nn.Sequential is unrolled, stateless activations
  become torch.relu / torch.softmax calls, packager's fused RNN wrappers become plain
  nn.LSTM / nn.GRU / nn.RNN calls, and the channel-axis moves become transpose / permute.

Tensors that constructors take (BatchNorm scale, loop-RNN kernels) are written as `torch.zeros`
placeholders; `load()` in model.py fills every parameter and buffer from weights.safetensors, keyed
by the generated module's own state_dict names. model.py imports torch and the standard library
only (safetensors inside `load()`).
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import inspect
import keyword
import math
import operator
import re
import sys
import textwrap
import types
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import torch
import torch.fx as fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from packager import __version__
from packager.graph import TensorSpec
from packager.modules import constructor_arguments
from packager.modules.layout import to_channels_first, to_channels_last
from packager.modules.recurrent import FusedGRU, FusedLSTM, FusedRNN

SOURCE_NAME = "model.py"
WEIGHTS_NAME = "weights.safetensors"
LINE_LENGTH = 120  # the project's ruff line length; generated code passes `ruff check` with it
INDENT = "    "
# Longer Keras names are cut in model.py, so that no statement outgrows a line.
MAX_ATTRIBUTE = 48
MAX_VARIABLE = 32

# Packages model.py may import from: torch and the standard library pieces inlined code uses.
ALLOWED_IMPORTS = frozenset({"torch", "typing", "collections", "math", "functools", "itertools", "numbers", "operator"})


class CodegenError(Exception):
    """The generator met a construct it cannot write as source; the message names it."""


@dataclass
class GeneratedSource:
    """model.py's text, its class name, and the tensors of its state_dict (for weights.safetensors)."""

    text: str
    class_name: str
    tensors: dict[str, torch.Tensor]


# --------------------------------------------------------------------------------------------
# Expressions and their layout (ruff format's style: split at the outermost bracket, then one
# item per line with a trailing comma).


@dataclass
class Bracketed:
    """`head` + items + `close`, e.g. a call `nn.Conv1d(` 3, 32 `)` or a list `[` 1, 2 `]`."""

    head: str
    items: list[tuple[str, Expr]]  # (prefix such as "dim=", value)
    close: str
    one_tuple: bool = False  # a 1-tuple keeps its comma: (x,)


Expr = Union[str, Bracketed]


def flat(expr: Expr) -> str:
    if isinstance(expr, str):
        return expr
    inner = ", ".join(prefix + flat(value) for prefix, value in expr.items)
    return expr.head + inner + ("," if expr.one_tuple else "") + expr.close


def layout(expr: Expr, indent: int, head: str = "", tail: str = "") -> list[str]:
    """Lines for `head + expr + tail` at `indent` spaces, split like ruff format when too long."""
    pad = " " * indent
    one_line = pad + head + flat(expr) + tail
    if len(one_line) <= LINE_LENGTH or isinstance(expr, str) or not expr.items:
        return [one_line]
    inner = ", ".join(prefix + flat(value) for prefix, value in expr.items) + ("," if expr.one_tuple else "")
    if len(pad) + len(INDENT) + len(inner) <= LINE_LENGTH:
        return [pad + head + expr.head, pad + INDENT + inner, pad + expr.close + tail]
    lines = [pad + head + expr.head]
    for prefix, value in expr.items:
        lines += layout(value, indent + len(INDENT), prefix, ",")
    return lines + [pad + expr.close + tail]


def call(func: str, args: Sequence = (), kwargs: Sequence[tuple[str, object]] = ()) -> Bracketed:
    items = [("", a) for a in args] + [(f"{k}=", v) for k, v in kwargs]
    return Bracketed(f"{func}(", items, ")")


def literal(value) -> Expr:
    """Python source for a plain value (numbers, strings, None, tuples, lists, dicts, dtypes)."""
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if isinstance(value, torch.dtype):
        return str(value)
    if hasattr(value, "item") and hasattr(value, "dtype") and getattr(value, "shape", None) == ():
        return literal(value.item())  # numpy scalar
    if isinstance(value, tuple):
        return Bracketed("(", [("", literal(v)) for v in value], ")", one_tuple=len(value) == 1)
    if isinstance(value, list):
        return Bracketed("[", [("", literal(v)) for v in value], "]")
    if isinstance(value, dict):
        return Bracketed("{", [(f"{flat(literal(k))}: ", literal(v)) for k, v in value.items()], "}")
    raise CodegenError(f"cannot write a value of type {type(value).__name__} as source: {value!r:.80}")


def _string(text: str) -> str:
    """A string literal with double quotes where possible, as ruff format writes it."""
    written = repr(text)
    if written.startswith("'") and '"' not in text:
        return '"' + written[1:-1] + '"'
    return written


def tensor_placeholder(tensor: torch.Tensor) -> str:
    """`torch.zeros(shape)`: the value comes from weights.safetensors when load() runs."""
    dims = ", ".join(str(int(d)) for d in tensor.shape) or "()"
    dtype = "" if tensor.dtype == torch.float32 else f", dtype={tensor.dtype}"
    return f"torch.zeros({dims}{dtype})"


def safe_text(text: str) -> str:
    """Keras names inside comments and docstrings: word characters only, so no text can end them."""
    return re.sub(r"[^\w.\-]", "_", str(text))


def identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text) or "value"
    return f"v_{name}" if name[0].isdigit() or keyword.iskeyword(name) else name


def shorten(name: str, limit: int) -> str:
    """Cut a long name in the middle: its start and its end (`dense_12`, `_lstm`) tell layers apart."""
    if len(name) <= limit:
        return name
    head = limit // 3
    return f"{name[:head]}_{name[len(name) - (limit - head - 1) :]}"


def class_name_for(model_name: str) -> str:
    """seed_cnn_lstm -> SeedCnnLstm."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", model_name) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words)[:40] or "Model"
    return f"Model{name}" if name[0].isdigit() else name


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


# --------------------------------------------------------------------------------------------
# Comparing modules: the same class, hyper-parameters, children, and parameter/buffer shapes.

_MODULE_BASE_ATTRIBUTES = frozenset(vars(nn.Module()))
# torch's conv and pooling layers broadcast a scalar to every spatial dim: 2 == (2,) == [2, 2] there.
_BROADCAST_OPTIONS = frozenset({"kernel_size", "stride", "padding", "dilation", "output_padding"})


def _normal(value, broadcast: bool = False):
    if isinstance(value, nn.Module):
        return fingerprint(value)
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), value.dtype)
    if isinstance(value, (list, tuple)):
        items = tuple(_normal(v) for v in value)
        if broadcast and items and all(i == items[0] for i in items):
            return items[0]
        return items
    if isinstance(value, dict):
        return tuple(sorted((str(k), _normal(v)) for k, v in value.items()))
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if value is None or isinstance(value, (bool, int, float, str, torch.dtype)):
        return value
    return type(value).__name__  # weakrefs, functions: not hyper-parameters


def fingerprint(module: nn.Module) -> tuple:
    """What two modules must share to be interchangeable once the same weights are loaded."""
    builtin = _is_torch_builtin(type(module))
    attributes = tuple(
        (key, _normal(value, builtin and key in _BROADCAST_OPTIONS))
        for key, value in sorted(vars(module).items())
        if key not in _MODULE_BASE_ATTRIBUTES and not key.startswith("__")  # torch.jit.script adds __overloads__
    )
    tensors = tuple(
        (name, None if t is None else (tuple(t.shape), t.dtype, name not in module._non_persistent_buffers_set))
        for name, t in [*module._parameters.items(), *module._buffers.items()]
    )
    children = tuple((name, fingerprint(child)) for name, child in module._modules.items())
    return (type(module), attributes, tensors, children)


def _differences(a: tuple, b: tuple, path: str = "") -> str:
    """The first place two fingerprints differ, for error messages."""
    if a[0] is not b[0]:
        return f"{path or 'module'}: class {a[0].__name__} vs {b[0].__name__}"
    for (key, x), (_, y) in zip(a[1], b[1]):
        if x != y:
            return f"{path}{key}: {x!r:.60} vs {y!r:.60}"
    if a[2] != b[2]:
        return f"{path}tensors: {a[2]!r:.80} vs {b[2]!r:.80}"
    for (name, x), (_, y) in zip(a[3], b[3]):
        if x != y:
            return _differences(x, y, f"{path}{name}.")
    return f"{path}attributes {[k for k, _ in a[1]]} vs {[k for k, _ in b[1]]}"


def _is_torch_builtin(cls: type) -> bool:
    return cls.__module__.startswith("torch.nn.") and getattr(nn, cls.__name__, None) is cls


def _is_inlinable(obj) -> bool:
    """Code model.py copies: packager's own, or a `--plugin` file's (the user's code, loaded by packager.plugins)."""
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] == "packager" or module.startswith("packager_plugin_")


# --------------------------------------------------------------------------------------------
# Definitions: imports and the inlined source of packager classes and functions.


@dataclass
class Definitions:
    """What model.py needs above its class: import lines and inlined packager source."""

    imports: set[str] = field(default_factory=lambda: {"import torch", "from torch import nn"})
    sources: dict[str, str] = field(default_factory=dict)  # name -> source, dependencies first
    objects: dict[str, object] = field(default_factory=dict)  # name -> the object it stands for

    def namespace(self) -> dict[str, object]:
        """Names an expression written for model.py refers to, bound to the real objects.

        Expressions hold literals, torch and inlined names only; builtins are cut to `float`
        (for float("inf")), so evaluating one can do nothing else.
        """
        return {"__builtins__": {"float": float}, "torch": torch, "nn": nn, **self.objects}

    def require(self, obj, name: str | None = None) -> str:
        """Make `obj` available in model.py under `name` (its own by default); return the name."""
        name = name or obj.__name__
        known = self.objects.get(name)
        if known is not None:
            if known is not obj:
                raise CodegenError(f"two different objects need the name {name!r} in model.py")
            return name
        if _is_inlinable(obj) and (inspect.isclass(obj) or inspect.isfunction(obj)):
            self._inline(obj, name)
        elif isinstance(obj, types.ModuleType):
            self.imports.add(_module_import(name, obj))
            self.objects[name] = obj
        elif _is_inlinable(obj) or not hasattr(obj, "__module__"):
            raise CodegenError(f"model.py would need {name!r} ({type(obj).__name__}), which is not a class or function")
        else:
            self.imports.add(_object_import(name, obj))
            self.objects[name] = obj
        return name

    def _inline(self, obj, name: str) -> None:
        if name != obj.__name__:
            raise CodegenError(f"{obj.__module__}.{obj.__name__} is referred to as {name!r}; model.py cannot rename it")
        self.objects[name] = obj
        if inspect.isclass(obj):
            for base in obj.__bases__:
                if _is_inlinable(base):
                    self.require(base)
        source = textwrap.dedent(inspect.getsource(obj))
        module_globals = vars(sys.modules[obj.__module__])
        for free in _free_names(source):
            if free in module_globals and free != name and not hasattr(builtins, free):
                value = module_globals[free]
                if _is_inlinable(value) and not (inspect.isclass(value) or inspect.isfunction(value)):
                    self.sources.setdefault(free, f"{free} = {flat(literal(value))}")
                    self.objects[free] = value
                else:
                    self.require(value, free)
        self.sources[name] = source.rstrip()

    def header(self) -> list[str]:
        """The import block, sorted as isort (ruff's `I` rules) wants it."""
        stdlib = sorted(i for i in self.imports if _top_package(i) != "torch")
        third = sorted(i for i in self.imports if _top_package(i) == "torch")
        blocks = [["from __future__ import annotations"], _isort(stdlib), _isort(third)]
        lines: list[str] = []
        for block in blocks:
            if block:
                lines += [*block, ""]
        return lines[:-1]


def _top_package(import_line: str) -> str:
    return import_line.split()[1].split(".")[0]


def _isort(lines: list[str]) -> list[str]:
    """isort's default order: `import x` lines, then one `from x import a, B` line per module."""
    plain = sorted((line for line in lines if line.startswith("import ")), key=lambda s: s.split()[1])
    names: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("from "):
            names.setdefault(line.split()[1], []).append(line.split()[3])
    froms = [f"from {module} import {', '.join(sorted(names[module], key=_by_type))}" for module in sorted(names)]
    return plain + froms


def _by_type(name: str) -> tuple[int, str]:
    """isort's order-by-type inside one import: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def _free_names(source: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def _module_import(name: str, module: types.ModuleType) -> str:
    full = module.__name__
    _check_allowed(full)
    if name == full:
        return f"import {full}"
    parent, _, last = full.rpartition(".")
    if parent and last == name:
        return f"from {parent} import {name}"
    return f"import {full} as {name}"


def _object_import(name: str, obj) -> str:
    """`from m import name` for the shortest importable module path m that has `obj` as `name`."""
    path = obj.__module__
    _check_allowed(path)
    parts = path.split(".")
    for i in range(1, len(parts) + 1):
        candidate = ".".join(parts[:i])
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            continue
        if getattr(module, name, None) is obj:
            return f"from {candidate} import {name}"
    raise CodegenError(f"cannot find a module to import {name!r} from ({path})")


def _check_allowed(module_path: str) -> None:
    if module_path.split(".")[0] not in ALLOWED_IMPORTS:
        raise CodegenError(f"model.py would import {module_path}; it may import torch and the standard library only")


# --------------------------------------------------------------------------------------------
# Constructor calls.

_EMPTY = inspect.Parameter.empty


def _init_parameters(cls: type) -> list[inspect.Parameter]:
    """The constructor's parameters users pass (no self/device/dtype/private, no *args)."""
    if issubclass(cls, nn.RNNBase):
        # nn.LSTM/GRU/RNN take (*args, **kwargs) and forward to RNNBase, which also takes `mode`.
        params = list(inspect.signature(nn.RNNBase.__init__).parameters.values())[2:]
        if cls is nn.RNN:
            params.insert(3, inspect.Parameter("nonlinearity", inspect.Parameter.KEYWORD_ONLY, default="tanh"))
    else:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [
        p
        for p in params
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in ("device", "dtype") and p.name[0] != "_"
    ]


def _stored_value(module: nn.Module, name: str):
    """The value a module keeps for constructor argument `name`, or _EMPTY when it keeps none."""
    for store in (vars(module), module._parameters, module._buffers, module._modules):
        if name in store:
            return store[name]
    return _EMPTY


class Constructors:
    """Constructor expressions for modules, each checked by building it and comparing fingerprints."""

    def __init__(self, definitions: Definitions):
        self.definitions = definitions

    def expression(self, module: nn.Module):
        cls = type(module)
        if cls in (nn.Sequential, nn.ModuleList):
            children = [self.expression(child) for child in module]
            if cls is nn.ModuleList:
                return call("nn.ModuleList", [Bracketed("[", [("", c) for c in children], "]")])
            return call("nn.Sequential", children)
        if _is_torch_builtin(cls):
            return self._builtin(module)
        if _is_inlinable(cls):
            return self._packager(module)
        raise CodegenError(f"cannot write a constructor for {cls.__module__}.{cls.__name__}")

    def value(self, value):
        """A constructor argument: modules and tensors recursively, plain values as literals."""
        if isinstance(value, nn.Module):
            return self.expression(value)
        if isinstance(value, torch.Tensor):
            return tensor_placeholder(value)
        if isinstance(value, tuple):
            return Bracketed("(", [("", self.value(v)) for v in value], ")", one_tuple=len(value) == 1)
        if isinstance(value, list):
            return Bracketed("[", [("", self.value(v)) for v in value], "]")
        if isinstance(value, dict):
            return Bracketed("{", [(f"{flat(literal(k))}: ", self.value(v)) for k, v in value.items()], "}")
        return literal(value)

    def build(self, expr) -> nn.Module:
        """Evaluate an expression this class wrote (on the meta device: shapes, no memory)."""
        source = flat(expr)
        try:
            with torch.device("meta"):
                return eval(source, self.definitions.namespace())  # our own generated literal code
        except Exception:
            return eval(source, self.definitions.namespace())  # a constructor that needs real values

    def check(self, module: nn.Module, expr) -> bool:
        try:
            return fingerprint(self.build(expr)) == fingerprint(module)
        except Exception:
            return False

    def _builtin(self, module: nn.Module):
        cls = type(module)
        func = f"nn.{cls.__name__}"
        positional, keywords = [], []
        for p in _init_parameters(cls):
            value = _stored_value(module, p.name)
            if value is _EMPTY:
                if p.default is _EMPTY:
                    raise CodegenError(f"{func}: required argument {p.name!r} is not stored on the module")
                continue
            if isinstance(p.default, bool) and (value is None or isinstance(value, torch.Tensor)):
                value = value is not None  # `bias=True` is stored as the bias Parameter (or None)
            if isinstance(value, (torch.Tensor, nn.Module)):
                raise CodegenError(f"{func}: argument {p.name!r} holds a {type(value).__name__}")
            if p.default is _EMPTY and len(positional) < 2 and not keywords:
                positional.append((p.name, value))
            elif p.default is _EMPTY or _normal(value, True) != _normal(p.default, True):
                keywords.append((p.name, value))
        required = {p.name for p in _init_parameters(cls) if p.default is _EMPTY}
        return self._shortest(module, func, positional, keywords, required)

    def _shortest(self, module: nn.Module, func: str, positional: list, keywords: list, required: set[str]):
        """The shortest call that rebuilds `module`: scalars for uniform sizes, no redundant keywords."""

        def render(args, kwargs, collapse):
            def shown(name, value):
                return literal(_collapsed(value) if collapse and name in _BROADCAST_OPTIONS else value)

            return call(func, [shown(n, v) for n, v in args], [(n, shown(n, v)) for n, v in kwargs])

        for collapse in (True, False):
            expr = render(positional, keywords, collapse)
            if self.check(module, expr):
                break
        else:
            difference = _rebuild_difference(self, module, expr)
            raise CodegenError(f"{func}: rebuilding it from its stored arguments differs ({difference})")
        kept = list(keywords)
        for item in [k for k in keywords if k[0] not in required]:
            trial = [k for k in kept if k is not item]
            if self.check(module, render(positional, trial, collapse)):
                kept = trial
        return render(positional, kept, collapse)

    def _packager(self, module: nn.Module):
        cls = type(module)
        name = self.definitions.require(cls)
        recorded = constructor_arguments(module)
        if recorded is None:
            recorded = self._arguments_from_attributes(module)
        args, kwargs = recorded
        expr = call(name, [self.value(a) for a in args], [(k, self.value(v)) for k, v in kwargs.items()])
        if not self.check(module, expr):
            raise CodegenError(
                f"{cls.__module__}.{cls.__name__}: rebuilding it from its constructor arguments gives a different "
                f"module ({_rebuild_difference(self, module, expr)})"
            )
        return expr

    def _arguments_from_attributes(self, module: nn.Module) -> tuple[tuple, dict]:
        """For a module built before its class recorded arguments (e.g. a copy): attributes named like them."""
        cls = type(module)
        kwargs = {}
        for p in _init_parameters(cls):
            value = _stored_value(module, p.name)
            if value is _EMPTY:
                if p.default is _EMPTY:
                    raise CodegenError(
                        f"{cls.__module__}.{cls.__name__}: constructor arguments were not recorded and "
                        f"{p.name!r} is not stored under that name"
                    )
                continue
            kwargs[p.name] = value
        return (), kwargs


def _collapsed(value):
    if isinstance(value, (list, tuple)) and value and all(v == value[0] for v in value):
        return value[0]
    return value


def _rebuild_difference(constructors: Constructors, module: nn.Module, expr) -> str:
    try:
        return _differences(fingerprint(constructors.build(expr)), fingerprint(module))
    except Exception as exc:
        return f"{flat(expr)[:120]} raises {type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------------------------
# forward: the fx graph as statements.

# Stateless torch modules written as a function call in forward instead of an attribute.
FUNCTIONAL = {
    nn.ReLU: lambda m, x: call("torch.relu", [x]),
    nn.Sigmoid: lambda m, x: call("torch.sigmoid", [x]),
    nn.Tanh: lambda m, x: call("torch.tanh", [x]),
    nn.Softmax: lambda m, x: call("torch.softmax", [x], [("dim", str(m.dim))]) if m.dim is not None else None,
    nn.LogSoftmax: lambda m, x: call("torch.log_softmax", [x], [("dim", str(m.dim))]) if m.dim is not None else None,
}

_OPERATORS = {
    operator.add: "+",
    operator.sub: "-",
    operator.mul: "*",
    operator.truediv: "/",
    operator.floordiv: "//",
    operator.matmul: "@",
    operator.pow: "**",
}
_SPATIAL = {1: ["steps"], 2: ["height", "width"], 3: ["depth", "height", "width"]}
_TORCH_NAMESPACES = (("torch", "torch"), ("torch.nn.functional", "F"), ("torch.special", "torch.special"))


def _functional_form(module: nn.Module, x):
    """`module(x)` as a torch function call (x itself for nn.Identity), or None for other modules."""
    render = FUNCTIONAL.get(type(module))
    if isinstance(module, nn.Identity):
        return x
    return render(module, x) if render else None


class ForwardWriter:
    """Walks the fx graph in order and writes __init__ attributes and forward statements."""

    def __init__(self, gm: fx.GraphModule, constructors: Constructors, layer_classes: dict[str, str]):
        self.gm = gm
        self.constructors = constructors
        self.layer_classes = layer_classes
        self.init_lines: list[str] = []
        self.body: list[str] = []
        self.tensors: dict[str, torch.Tensor] = {}
        self.attributes: dict[int, str] = {}  # id(module) -> attribute holding it
        self.taken_attributes = {n.target for n in gm.graph.nodes if n.op == "call_module"} | set(dir(nn.Module))
        self.taken_names: set[str] = set()
        self.env: dict[fx.Node, object] = {}
        nodes = list(gm.graph.nodes)
        self.chain = _is_chain(nodes)

    # -- names

    def fresh(self, base: str) -> str:
        base = shorten(identifier(base), MAX_VARIABLE)
        reserved = self.taken_names | set(self.constructors.definitions.objects) | {"self", "torch", "nn", "F"}
        name, i = base, 1
        while name in reserved or hasattr(builtins, name):
            i += 1
            name = f"{base}_{i}"
        self.taken_names.add(name)
        return name

    def variable(self, hint: str) -> str:
        if self.chain:
            self.taken_names.add("x")
            return "x"
        return self.fresh(hint)

    def attribute(self, module: nn.Module, hint: str, keras_name: str | None = None) -> str:
        """`self.<name>` for `module`, declared once in __init__ (a shared layer is one attribute)."""
        if id(module) in self.attributes:
            return self.attributes[id(module)]
        too_long = len(hint) > MAX_ATTRIBUTE
        name = self._new_attribute(hint) if too_long or hint in self.attributes.values() else hint
        self.attributes[id(module)] = name
        comment = f"  # Keras {safe_text(self.layer_classes[keras_name])}" if keras_name in self.layer_classes else ""
        lines = layout(self.constructors.expression(module), 8, f"self.{name} = ", "")
        if comment and len(lines) == 1 and len(lines[0] + comment) <= LINE_LENGTH:
            lines[0] += comment
        elif comment:
            lines.insert(0, " " * 8 + comment.strip())
        self.init_lines += lines
        for key, tensor in module.state_dict().items():
            self.tensors[f"{name}.{key}"] = tensor.detach().to("cpu").contiguous().clone()
        return name

    def _new_attribute(self, base: str) -> str:
        base = shorten(identifier(base), MAX_ATTRIBUTE)
        name, i = base, 1
        while name in self.taken_attributes:
            i += 1
            name = f"{base}_{i}"
        self.taken_attributes.add(name)
        return name

    def emit(self, target: str, expr, comment: str = "") -> None:
        if comment:
            self.body.append(" " * 8 + "# " + comment)
        self.body += layout(expr, 8, f"{target} = " if target else "", "")

    # -- nodes

    def write(self, input_names: list[str]) -> list[str]:
        for node, name in zip((n for n in self.gm.graph.nodes if n.op == "placeholder"), input_names):
            self.env[node] = name
        for node in self.gm.graph.nodes:
            if node.op == "call_module":
                self.env[node] = self.call_module(node)
            elif node.op == "call_function":
                self.env[node] = self.call_function(node)
            elif node.op == "call_method":
                self.env[node] = self.call_method(node)
            elif node.op == "get_attr":
                self.env[node] = self.get_attr(node)
            elif node.op == "output":
                self.body += self.return_statement(node.args[0])
        return self.body

    def return_statement(self, value) -> list[str]:
        """`return a, b` (in parentheses, split one per line, when too long for a line)."""
        if not isinstance(value, (tuple, list)):
            return layout(self.arg(value), 8, "return ")
        items = [self.arg(v) for v in value]
        line = " " * 8 + "return " + ", ".join(items)
        if len(line) <= LINE_LENGTH:
            return [line]
        return layout(Bracketed("(", [("", i) for i in items], ")", one_tuple=len(items) == 1), 8, "return ")

    def arg(self, value) -> str:
        """Source for an fx argument: a node's expression, or a literal (possibly holding nodes)."""
        if isinstance(value, fx.Node):
            expr = self.env[value]
            if isinstance(expr, list):
                raise CodegenError(f"node {value.name} is a tuple used whole; cannot write it as one value")
            return expr
        if isinstance(value, (tuple, list)):
            items = ", ".join(self.arg(v) for v in value)
            if isinstance(value, list):
                return f"[{items}]"
            return f"({items}{',' if len(value) == 1 else ''})"
        if isinstance(value, slice):
            return _slice(value, self.arg)
        return flat(literal(value))

    def call_module(self, node: fx.Node):
        module = self.gm.get_submodule(node.target)
        args = [self.arg(a) for a in node.args]
        out = self.variable(str(node.target))
        items = _tuple_length(node)
        if isinstance(module, (FusedLSTM, FusedGRU, FusedRNN)) and not node.kwargs and _unwrappable(module, node.args):
            return self.fused_rnn(module, node, args, out)
        if isinstance(module, nn.Sequential) and len(args) == 1 and not node.kwargs and items is None:
            return self.sequential(module, str(node.target), args[0], out, node.target)
        functional = _functional_form(module, args[0]) if len(args) == 1 and not node.kwargs else None
        if functional is not None and not module.state_dict():
            if functional is args[0]:
                return args[0]
            self.emit(out, functional)
            return out
        attribute = self.attribute(module, str(node.target), str(node.target))
        kwargs = [(k, self.arg(v)) for k, v in node.kwargs.items()]
        expr = call(f"self.{attribute}", args, kwargs)
        if items is None:
            self.emit(out, expr)
            return out
        return self.unpack(expr, node, out, items)

    def unpack(self, expr, node: fx.Node, out: str, count: int) -> list[str]:
        """`a, _, c = self.m(x)` for a module returning a tuple; unused items become `_`."""
        used = _used_items(node)
        names = [(out if i == min(used) else self.fresh(f"{out}_{i}")) if i in used else "_" for i in range(count)]
        self.emit(", ".join(names), expr)
        return names

    def sequential(self, module: nn.Sequential, hint: str, x: str, out: str, keras_name) -> str:
        """Unroll an nn.Sequential: one attribute per stateful child, activations as functions."""
        children = list(module)
        main = next((c for c in children if c.state_dict()), None) or next(
            (c for c in children if _functional_form(c, "x") is None), children[0]
        )
        pending = None  # a call not yet assigned, so an activation can wrap it
        value = x
        for child in children:
            current = pending if pending is not None else value
            functional = _functional_form(child, current) if not child.state_dict() else None
            if functional is not None:
                if functional is not current:
                    pending = functional
                continue
            if pending is not None:
                self.emit(out, pending)
                value, pending = out, None
            if isinstance(child, nn.Sequential):
                value = self.sequential(child, hint, value, out, None)
                continue
            if child is main:
                attribute = self.attribute(child, hint, keras_name)
            else:
                attribute = self.attribute(child, self._new_attribute(f"{hint}_{snake(type(child).__name__)}"))
            pending = call(f"self.{attribute}", [value])
        if pending is not None:
            self.emit(out, pending)
            value = out
        return value

    def fused_rnn(self, module, node: fx.Node, args: list[str], out: str):
        """packager's FusedLSTM/GRU/RNN as the torch RNN it wraps: reverse, run, pick the last step."""
        rnn = next(iter(module.children()))
        attribute = self.attribute(rnn, str(node.target), str(node.target))
        used = _used_items(node)
        x = args[0]
        if module.go_backwards:
            self.emit(out, f"{x}.flip(1)", "go_backwards: Keras reads the sequence from its last step")
            x = out
        sequence = out if 0 in used else "_"
        h = self.fresh(f"{out}_h") if 1 in used else "_"
        if isinstance(module, FusedLSTM):
            c = self.fresh(f"{out}_c") if 2 in used else "_"
            state = f"({h}, {c})" if (h, c) != ("_", "_") else "_"
            initial = [f"({args[1]}.unsqueeze(0), {args[2]}.unsqueeze(0))"] if len(args) == 3 else []
            finals = [h, c]
        else:
            state = h
            initial = [f"{args[1]}.unsqueeze(0)"] if len(args) == 2 else []
            finals = [h]
        self.emit(f"{sequence}, {state}", call(f"self.{attribute}", [x, *initial]))
        if 0 in used and not module.return_sequences:
            self.emit(out, f"{out}[:, -1]", "last step only (return_sequences=False)")
        for final in finals:
            if final != "_":
                self.emit(final, f"{final}[0]", "final state: (layers, batch, units) -> (batch, units)")
        return [sequence, *finals]

    def call_function(self, node: fx.Node):
        fn = node.target
        if fn in (to_channels_first, to_channels_last) and len(node.args) == 1:
            return self.move_channels(node, fn is to_channels_first)
        if fn is operator.getitem:
            source = self.env.get(node.args[0]) if isinstance(node.args[0], fx.Node) else None
            if isinstance(source, list) and isinstance(node.args[1], int):
                return source[node.args[1]]
            out = self.variable(node.name)
            self.emit(out, f"{self.arg(node.args[0])}[{_subscript(node.args[1], self.arg)}]")
            return out
        args = [self.arg(a) for a in node.args]
        out = self.variable(node.name)
        if fn in _OPERATORS and len(args) == 2 and not node.kwargs:
            self.emit(out, f"{args[0]} {_OPERATORS[fn]} {args[1]}")
            return out
        kwargs = [(k, self.arg(v)) for k, v in node.kwargs.items()]
        expr = call(self.function_name(fn), args, kwargs)
        items = _tuple_length(node)
        if items is not None:
            return self.unpack(expr, node, out, items)
        self.emit(out, expr)
        return out

    def function_name(self, fn) -> str:
        name = getattr(fn, "__name__", None)
        for module_name, written in _TORCH_NAMESPACES:
            module = importlib.import_module(module_name)
            if name and getattr(module, name, None) is fn:
                if written == "F":
                    self.constructors.definitions.require(module, "F")
                return f"{written}.{name}"
        if _is_inlinable(fn) and inspect.isfunction(fn):
            return self.constructors.definitions.require(fn)
        raise CodegenError(f"cannot write a call to {getattr(fn, '__module__', '?')}.{name or fn!r}")

    def move_channels(self, node: fx.Node, to_first: bool) -> str:
        x = self.arg(node.args[0])
        rank = _rank(node.args[0])
        out = self.variable(f"{x}_cf" if to_first else f"{x}_cl")
        spatial = _SPATIAL.get(rank - 2, ["..."]) if rank else ["..."]
        keras = f"(batch, {', '.join(spatial)}, channels)"
        torch_layout = f"(batch, channels, {', '.join(spatial)})"
        if rank == 3:
            expr = call(f"{x}.transpose", ["1", "2"])
        elif rank:
            dims = [0, rank - 1, *range(1, rank - 1)] if to_first else [0, *range(2, rank), 1]
            expr = call(f"{x}.permute", [str(d) for d in dims])
        else:
            expr = call("torch.movedim", [x, "-1", "1"] if to_first else [x, "1", "-1"])
        comment = (
            f"channels first for torch: {keras} -> {torch_layout}"
            if to_first
            else f"back to Keras layout: {torch_layout} -> {keras}"
        )
        if len(comment) + 10 > LINE_LENGTH:
            comment = "channels first for torch" if to_first else "back to Keras layout (channels last)"
        self.emit(out, expr, comment)
        return out

    def call_method(self, node: fx.Node) -> str:
        args = [self.arg(a) for a in node.args]
        kwargs = [(k, self.arg(v)) for k, v in node.kwargs.items()]
        out = self.variable(node.name)
        self.emit(out, call(f"{args[0]}.{node.target}", args[1:], kwargs))
        return out

    def get_attr(self, node: fx.Node) -> str:
        if "." in node.target:
            raise CodegenError(f"cannot write a reference to nested attribute {node.target!r}")
        value = getattr(self.gm, node.target)
        if not isinstance(value, torch.Tensor):
            return flat(literal(value))
        name = self._new_attribute(node.target)
        if isinstance(value, nn.Parameter):
            self.init_lines.append(" " * 8 + f"self.{name} = nn.Parameter({tensor_placeholder(value)})")
        else:
            self.init_lines.append(" " * 8 + f'self.register_buffer("{name}", {tensor_placeholder(value)})')
        self.tensors[name] = value.detach().to("cpu").contiguous().clone()
        return f"self.{name}"


def _unwrappable(module, args: tuple) -> bool:
    """Called with the input and, optionally, every initial state (no mask): a plain torch RNN call."""
    expected = {FusedLSTM: (1, 3), FusedGRU: (1, 2), FusedRNN: (1, 2)}[type(module)]
    children = list(module.children())
    return (
        len(args) in expected
        and all(isinstance(a, fx.Node) for a in args)
        and len(children) == 1
        and isinstance(children[0], nn.RNNBase)
    )


def _is_chain(nodes: list[fx.Node]) -> bool:
    """One input, one output, every value used once by the next node: `x = ...` reads best then."""
    placeholders = [n for n in nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        return False
    for node, following in zip(nodes, nodes[1:]):
        if list(node.users) != [following]:
            return False
        if following.op != "output" and [a for a in following.all_input_nodes] != [node]:
            return False
    return True


def _tuple_length(node: fx.Node) -> int | None:
    meta = node.meta.get("tensor_meta")
    if isinstance(meta, (tuple, list)) and not isinstance(meta, TensorMetadata):
        return len(meta)
    if meta is None and node.users and all(u.target is operator.getitem for u in node.users):
        return max(u.args[1] for u in node.users) + 1  # no shape information: the items used
    return None


def _used_items(node: fx.Node) -> set[int]:
    return {u.args[1] for u in node.users if u.target is operator.getitem and isinstance(u.args[1], int)}


def _rank(node) -> int | None:
    meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
    return len(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _slice(value: slice, arg) -> str:
    parts = ["" if v is None else arg(v) for v in (value.start, value.stop, value.step)]
    return ":".join(parts[:2]) + (f":{parts[2]}" if parts[2] else "")


def _subscript(index, arg) -> str:
    if isinstance(index, tuple):
        return ", ".join(_subscript(i, arg) for i in index)
    if index is Ellipsis:
        return "..."
    return _slice(index, arg) if isinstance(index, slice) else arg(index)


# --------------------------------------------------------------------------------------------
# The file.


def _shape_text(shape: Sequence) -> str:
    dims = ["batch" if i == 0 else ("?" if d is None else str(d)) for i, d in enumerate(shape)]
    return "(" + ", ".join(dims) + ")"


def _example_call(inputs: list[TensorSpec]) -> str:
    tensors = []
    for spec in inputs:
        dims = ", ".join(["8", *("32" if d is None else str(d) for d in spec.shape[1:])])
        if spec.dtype.startswith("float"):
            tensors.append(f"torch.randn({dims})")
        else:
            tensors.append(f"torch.zeros({dims}, dtype=torch.{safe_text(spec.dtype)})")
    return f"outputs = model({', '.join(tensors)})"


def generate(
    gm: fx.GraphModule,
    example_inputs: list[torch.Tensor],
    *,
    model_name: str = "model",
    inputs: list[TensorSpec] | None = None,
    outputs: list[TensorSpec] | None = None,
    layer_classes: dict[str, str] | None = None,
    source_file: str | None = None,
) -> GeneratedSource:
    """model.py for `gm` (a converted model) and the state_dict its class loads.

    `example_inputs` run through `gm` once to learn tensor ranks and tuple outputs;
    `inputs`/`outputs`/`layer_classes` (attribute -> Keras class) only improve comments.
    """
    with torch.no_grad():
        ShapeProp(gm).propagate(*example_inputs)
    definitions = Definitions()
    writer = ForwardWriter(gm, Constructors(definitions), layer_classes or {})
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    input_names = [writer.fresh(str(n.target)) for n in placeholders]
    body = writer.write(input_names)

    class_name = class_name_for(model_name)
    while class_name in definitions.objects:
        class_name += "Model"
    n_outputs = len(outputs) if outputs else _output_count(gm)
    returns = "torch.Tensor" if n_outputs == 1 else f"tuple[{', '.join(['torch.Tensor'] * n_outputs)}]"
    parameters = ["self", *(f"{name}: torch.Tensor" for name in input_names)]
    init = writer.init_lines or [" " * 8 + "pass"]
    definitions.imports.add("import os")
    model_class = [
        f"class {class_name}(nn.Module):",
        f'{INDENT}"""Keras model {safe_text(model_name)[:80]} in PyTorch.',
        "",
        f"{INDENT}Attributes are named after the Keras layers they hold.",
        f'{INDENT}"""',
        "",
        f"{INDENT}def __init__(self) -> None:",
        f"{INDENT * 2}super().__init__()",
        *init,
        "",
        *layout(Bracketed("def forward(", [("", p) for p in parameters], f") -> {returns}:"), 4),
        *_forward_docstring(inputs, outputs),
        *body,
    ]
    head = [*_file_docstring(model_name, source_file, class_name, inputs), "", *definitions.header()]
    load = _load_function(class_name)
    blocks = ["\n".join(head), *definitions.sources.values(), "\n".join(model_class), "\n".join(load)]
    text = "\n\n\n".join(blocks) + "\n"
    return GeneratedSource(text=text, class_name=class_name, tensors=writer.tensors)


def _output_count(gm: fx.GraphModule) -> int:
    output = next(n for n in gm.graph.nodes if n.op == "output")
    return len(output.args[0]) if isinstance(output.args[0], (tuple, list)) else 1


def _file_docstring(model_name: str, source_file: str | None, class_name: str, inputs) -> list[str]:
    origin = f" from {safe_text(source_file)[:80]}" if source_file else ""
    example = _example_call(inputs) if inputs else ""
    if not example or len(example) > LINE_LENGTH - 4:
        example = "outputs = model(*inputs)  # one tensor per argument of forward()"
    return [
        f'"""Keras model {safe_text(model_name)[:80]} as plain PyTorch.',
        "",
        f"Written by packager {__version__}{origin}. {class_name} imports only torch;",
        f"its weights are in {WEIGHTS_NAME} beside this file:",
        "",
        "    from model import load  # or importlib, when this folder is not on sys.path",
        "",
        "    model = load()  # eval mode, on the CPU",
        f"    {example}",
        "",
        "Tensors are in Keras layout (batch first, channels last), as in the Keras model and model.pt.",
        '"""',
    ]


def _tensor_text(spec: TensorSpec) -> str:
    return f"{shorten(safe_text(spec.name), 60)}: {_shape_text(spec.shape)} {safe_text(spec.dtype)}"


def _forward_docstring(inputs, outputs) -> list[str]:
    pad = INDENT * 2
    if not inputs or not outputs:
        return [f'{pad}"""Inputs and outputs in Keras layout (batch first, channels last)."""']
    lines = [f'{pad}"""Inputs and outputs in Keras layout (batch first, channels last).', ""]
    lines += [f"{pad}{_tensor_text(s)}" for s in inputs]
    lines += [f"{pad}returns {_tensor_text(s)}" for s in outputs]
    return [*lines, f'{pad}"""']


def _load_function(class_name: str) -> list[str]:
    return [
        f'def load(weights: str | None = None, device: str = "cpu") -> {class_name}:',
        f'    """The model with its converted Keras weights ({WEIGHTS_NAME} beside this file), in eval mode."""',
        "    from safetensors.torch import load_file  # needed only to read the weights",
        "",
        f'    path = weights or os.path.join(os.path.dirname(os.path.abspath(__file__)), "{WEIGHTS_NAME}")',
        f"    model = {class_name}()",
        "    model.load_state_dict(load_file(path))",
        "    return model.to(device).eval()",
    ]


def write_source(generated: GeneratedSource, directory: Path, metadata: dict[str, str] | None = None) -> dict:
    """Write model.py and weights.safetensors into `directory`; return their manifest entry."""
    from safetensors.torch import save_file

    directory = Path(directory)
    (directory / SOURCE_NAME).write_text(generated.text)
    save_file(generated.tensors, str(directory / WEIGHTS_NAME), metadata={"format": "pt", **(metadata or {})})
    return {
        "file": SOURCE_NAME,
        "weights": WEIGHTS_NAME,
        "class_name": generated.class_name,
        "loader": "load",
        "tensors": len(generated.tensors),
    }


def load_generated(directory: Path, device: str = "cpu") -> nn.Module:
    """Import model.py from `directory` under a private module name and return load()'s model."""
    path = Path(directory) / SOURCE_NAME
    name = f"packager_generated_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # TorchScript looks classes up by module name
    spec.loader.exec_module(module)
    return module.load(str(Path(directory) / WEIGHTS_NAME), device=device)


def export_source(converted, graph, directory: Path, example_inputs: list[torch.Tensor], source_file: str) -> dict:
    """model.py + weights.safetensors for `pack export`: the manifest entry, with `error` (and no files)
    when the generator cannot write this model, which leaves the rest of the artifact valid."""
    layer_classes = {attr: graph.layers[name].class_name for name, attr in converted.attributes.items() if attr}
    try:
        generated = generate(
            converted.module,
            example_inputs,
            model_name=graph.name,
            inputs=graph.inputs,
            outputs=graph.outputs,
            layer_classes=layer_classes,
            source_file=source_file,
        )
        return write_source(generated, directory, {"model": safe_text(graph.name), "packager_version": __version__})
    except CodegenError as exc:
        reason = str(exc)
    except Exception as exc:  # model.py accompanies model.pt: a generator bug must not cost the artifact
        reason = f"internal error in packager.codegen: {type(exc).__name__}: {exc}"
    for name in (SOURCE_NAME, WEIGHTS_NAME):
        (Path(directory) / name).unlink(missing_ok=True)
    return {"file": None, "weights": None, "error": reason}
