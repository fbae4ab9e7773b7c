"""Typed configs: YAML files in ``configs/`` loaded into dataclasses, with ``key=value`` overrides.

A misspelled key is an error that lists the valid keys (never silently ignored), and the resolved
config is saved next to every run and every set of weights.

    @dataclass
    class TrainConfig:
        lr: float = 1e-4
        model: ModelConfig = field(default_factory=ModelConfig)

    cfg = load_config(TrainConfig, "configs/dfgan_synthetic.yaml", ["lr=2e-4", "model.nf=16"])

Values are checked when they are read: first against the field's type (an int field given "abc" or 2.5 is
an error), then against the field's :class:`Check` (range, choices, power of two, ...), declared once per
config class with :func:`register_checks` and applied by the loader to every section, so a bad value is
one ConfigError naming its full key ("data.synthetic.num_scenes must be >= 1, got 0") before anything runs.

    register_checks(TrainConfig, {"batch_size": Check(ge=1), "ema_decay": Check(ge=0, lt=1)})
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

import yaml

from .utils.io import atomic_write_text

C = TypeVar("C")

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


class _YAMLLoader(yaml.SafeLoader):
    """SafeLoader that reads ``2e-4`` as a float: PyYAML follows YAML 1.1, whose floats need a dot, so
    ``lr: 2e-4`` (and the override ``optimizers.d.lr=5e-5``) would otherwise be the string '2e-4'."""


_YAMLLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def safe_load_yaml(text: str) -> Any:
    """yaml.safe_load with YAML 1.2 exponent floats (no arbitrary objects: safe on untrusted files)."""
    return yaml.load(text, Loader=_YAMLLoader)


class ConfigError(ValueError):
    """A config file or override that does not fit the config's fields."""


# ---------------------------------------------------------------------------------------------------
# value checks: one declarative rule per field, applied by the loader


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Check:
    """The values a config field allows beyond its type. Every part is optional:

    * ``ge`` / ``gt`` / ``le`` / ``lt``: a finite number in that range (NaN and infinities never pass);
    * ``finite``: any finite number;
    * ``power_of_two``: an integer power of two (with ``ge``: at least that);
    * ``multiple_of``: an integer multiple of it;
    * ``choices``: one of these values, or a callable returning them (a registry's names, read when checked);
    * ``each``: a :class:`Check` for every item of a list/tuple value (reported as ``key[i]``);
    * ``nonempty``: a list/tuple/string value must not be empty;
    * ``ignore_case``: ``choices`` compare strings case-insensitively (registries do);
    * ``note``: said after the rule, e.g. ``"0 = off"`` -> "must be >= 0 (0 = off), got -3".

    ``None`` always passes (whether a field may be null is its type's business)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    power_of_two: bool = False
    multiple_of: int | None = None
    choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None
    each: "Check | None" = None
    nonempty: bool = False
    ignore_case: bool = False  # choices: compare strings case-insensitively (registry names)
    finite: bool = False  # any finite number (no range)
    note: str = ""

    @property
    def numeric(self) -> bool:
        return any(v is not None for v in (self.ge, self.gt, self.le, self.lt, self.multiple_of)) or self.power_of_two or self.finite

    def allowed(self) -> list[Any]:
        choices = self.choices() if callable(self.choices) else self.choices
        return list(choices or ())

    def rule(self) -> str:
        """The rule in words: "must be in [0, 1)", "must be a power of two >= 8", "must be one of [...]"."""
        note = f" ({self.note})" if self.note else ""
        if self.choices is not None:
            return f"must be one of {self.allowed()}{note}"
        low = f"[{_show(self.ge)}" if self.ge is not None else f"({_show(self.gt)}" if self.gt is not None else ""
        high = f"{_show(self.le)}]" if self.le is not None else f"{_show(self.lt)})" if self.lt is not None else ""
        if low and high:
            bound = f"in {low}, {high}"
        elif low:
            bound = f">= {low[1:]}" if low[0] == "[" else f"> {low[1:]}"
        elif high:
            bound = f"<= {high[:-1]}" if high[-1] == "]" else f"< {high[:-1]}"
        else:
            bound = ""
        kind = "a power of two" if self.power_of_two else f"a multiple of {self.multiple_of}" if self.multiple_of else ""
        return f"must be {' '.join(x for x in (kind, bound) if x) or 'a finite number'}{note}"

    def problem(self, value: Any, where: str) -> str | None:
        """The error message for ``value`` at key ``where``, or None when it is allowed."""
        if value is None:
            return None
        if self.nonempty and isinstance(value, (list, tuple, str)) and len(value) == 0:
            return f"{where} must not be empty"
        if self.each is not None and isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                msg = self.each.problem(item, f"{where}[{i}]")
                if msg:
                    return msg
        if self.choices is not None:
            allowed = self.allowed()
            if self.ignore_case and isinstance(value, str):
                ok = value.lower() in [a.lower() if isinstance(a, str) else a for a in allowed]
            else:
                ok = any(value == a and type(value) is type(a) for a in allowed)
            if not ok:
                return f"{where} {self.rule()}, got {_show(value)}"
        if not self.numeric:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{where} {self.rule()}, got {_show(value)}"
        bad = (not math.isfinite(value)
               or (self.ge is not None and not value >= self.ge) or (self.gt is not None and not value > self.gt)
               or (self.le is not None and not value <= self.le) or (self.lt is not None and not value < self.lt))
        if self.power_of_two or self.multiple_of:
            whole = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())
            n = int(value) if whole else 0
            if not whole or (self.power_of_two and (n < 1 or n & (n - 1))) or (self.multiple_of and n % self.multiple_of):
                bad = True
        return f"{where} {self.rule()}, got {_show(value)}" if bad else None


# checks by class ("module.QualName"), so a class can be given checks by a module that may not import it
_CHECKS: dict[str, dict[str, Check]] = {}


def _class_key(target: type | str) -> str:
    return target if isinstance(target, str) else f"{target.__module__}.{target.__qualname__}"


def register_checks(target: type | str, checks: Mapping[str, Check]) -> None:
    """Declare the :class:`Check` of fields of a config class (a dataclass, or a class whose ``__init__``
    arguments are a config section); ``target`` is the class or its ``"module.QualName"``. Checks add up
    over calls and are inherited by subclasses (a subclass's own check of a field wins)."""
    if not isinstance(target, str):
        names = set(_param_types(target)) if not dataclasses.is_dataclass(target) else {f.name for f in dataclasses.fields(target)}
        unknown = sorted(set(checks) - names)
        if unknown:
            raise ValueError(f"register_checks: {target.__name__} has no field(s) {unknown}")
    _CHECKS.setdefault(_class_key(target), {}).update(checks)


def registered_checks() -> dict[str, dict[str, Check]]:
    """Every registered class key and its field checks (for tests that the declarations stay current)."""
    return {k: dict(v) for k, v in _CHECKS.items()}


def field_checks(cls: type) -> dict[str, Check]:
    """The checks of ``cls``'s fields, its base classes' included."""
    out: dict[str, Check] = {}
    for klass in reversed(getattr(cls, "__mro__", (cls,))):
        out.update(_CHECKS.get(_class_key(klass), {}))
    return out


def check_values(cls: type, values: Mapping[str, Any], where: str = "") -> None:
    """Raise a ConfigError for the first value that breaks its field's :class:`Check`."""
    checks = field_checks(cls)
    for name, value in values.items():
        check = checks.get(name)
        if check is not None:
            msg = check.problem(value, f"{where}.{name}" if where else name)
            if msg:
                raise ConfigError(msg)


def check_fields(cfg: Any, where: str = "") -> None:
    """Check every field of a config dataclass instance (not the dataclasses nested in it)."""
    check_values(type(cfg), {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}, where)


def _param_types(cls: type) -> dict[str, Any]:
    """``__init__`` argument name -> type (Any where there is no usable annotation)."""
    import inspect

    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that does not resolve: no type check for that class
        hints = {}
    return {p.name: hints.get(p.name, Any) for p in params}


def check_kwargs(cls: type, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A config section that holds ``cls.__init__`` arguments (e.g. a saliency ``model:``): each value
    checked against the argument's type and the class's checks; returns the values as typed. Unknown
    keys are the caller's business (they are passed through unchecked)."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {values!r}")
    types_ = _param_types(cls)
    typed = {k: _coerce(v, types_[k], f"{where}.{k}") if k in types_ else v for k, v in values.items()}
    check_values(cls, typed, where)
    return typed


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _coerce(value: Any, tp: Any, where: str) -> Any:
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional or tp is Any:
            return None
        raise ConfigError(f"{where}: null is not allowed (expected {getattr(tp, '__name__', tp)})")
    if dataclasses.is_dataclass(tp):
        if dataclasses.is_dataclass(value):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {value!r}")
        return _from_dict(tp, value, where)
    origin = typing.get_origin(tp)
    if origin in (list, tuple, Sequence):
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        inner = args[0] if args else Any
        items = [_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not one of {list(allowed)}")
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def _key_hint(cls: type | None, key: str) -> str:
    """A config class may say where a removed/moved key lives now: ``config_key_hint(key) -> str``."""
    hint = getattr(cls, "config_key_hint", None) if cls is not None else None
    text = hint(key) if callable(hint) else ""
    return f" ({text})" if text else ""


def checked_values(cls: type, data: dict, where: str = "") -> dict[str, Any]:
    """The values of a (possibly partial) mapping for config dataclass ``cls``, each key known, each value
    of its field's type (converted) and passing its field's :class:`Check`; ``cls`` itself is not built, so
    its own ``__post_init__`` checks (several fields together, required values) do not run."""
    types_ = _field_types(cls)
    unknown = [k for k in data if k not in types_]
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown config key {prefix}{unknown[0]!r} for {cls.__name__}; valid keys: {', '.join(sorted(types_))}"
            f"{_key_hint(cls, unknown[0])}"
        )
    kwargs = {k: _coerce(v, types_[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    check_values(cls, kwargs, where)
    return kwargs


def _from_dict(cls: type[C], data: dict, where: str = "") -> C:
    return cls(**checked_values(cls, data, where))


def config_from_dict(cls: type[C], data: dict) -> C:
    """Build a config dataclass from a (possibly partial) mapping; missing keys take defaults."""
    return _from_dict(cls, data or {})


def config_to_dict(cfg: Any) -> dict:
    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, Path):
            return str(v)
        return v

    return conv(cfg)


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. train.lr=2e-4)")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = safe_load_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_overrides(data: dict, overrides: Sequence[str], cls: type | None = None) -> dict:
    """Apply ``a.b=c`` overrides to a nested mapping, checking each key against ``cls`` if given."""
    data = json.loads(json.dumps(data, default=str))  # deep copy of plain data
    for text in overrides:
        path, value = parse_override(text)
        node, node_cls = data, cls
        for i, part in enumerate(path):
            if node_cls is not None:
                types_ = _field_types(node_cls)
                if part not in types_:
                    where = ".".join(path[:i]) or node_cls.__name__
                    raise ConfigError(
                        f"unknown config key {'.'.join(path)!r} (no {part!r} in {where}); "
                        f"valid keys: {', '.join(sorted(types_))}{_key_hint(node_cls, part)}"
                    )
                sub_tp, _ = _unwrap_optional(types_[part])
                node_cls = sub_tp if dataclasses.is_dataclass(sub_tp) else None
            if i == len(path) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"override {text!r}: {'.'.join(path[: i + 1])} is not a mapping")
    return data


def read_yaml(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = safe_load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def resolve_config_path(name_or_path: str | os.PathLike) -> Path:
    """A path, or the name of a shipped config (``dfgan_synthetic`` -> configs/dfgan_synthetic.yaml)."""
    p = Path(name_or_path)
    if p.exists():
        return p
    cand = CONFIG_DIR / (p.name if p.suffix else f"{p.name}.yaml")
    if cand.exists():
        return cand
    shipped = ", ".join(sorted(q.stem for q in CONFIG_DIR.glob("*.yaml")))
    raise ConfigError(f"config {str(name_or_path)!r} not found as a file or a shipped config; shipped: {shipped}")


def load_config(cls: type[C], path: str | os.PathLike | None = None, overrides: Sequence[str] = ()) -> C:
    """The config of a YAML file (or a shipped config's name) with ``key=value`` overrides, every value
    checked. A config class may define ``check_loaded(self)``: the checks that need the whole config (a
    section whose valid keys depend on ``system``, say); it runs here, after the fields' own checks."""
    data = read_yaml(resolve_config_path(path)) if path is not None else {}
    data = apply_overrides(data, overrides, cls)
    cfg = _from_dict(cls, data)
    check_loaded = getattr(cfg, "check_loaded", None)
    if callable(check_loaded):
        check_loaded()
    return cfg


def save_config(cfg: Any, path: str | os.PathLike) -> None:
    """Write the resolved config as YAML (or JSON when the path ends in .json), atomically."""
    data = config_to_dict(cfg) if dataclasses.is_dataclass(cfg) else cfg
    path = Path(path)
    if path.suffix == ".json":
        atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))
