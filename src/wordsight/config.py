"""Typed configs: YAML files in ``configs/`` loaded into dataclasses, with ``key=value`` overrides.

A misspelled key is an error that lists the valid keys (never silently ignored), and the resolved
config is saved next to every run and every set of weights.

    @dataclass
    class TrainConfig:
        lr: float = 1e-4
        model: ModelConfig = field(default_factory=ModelConfig)

    cfg = load_config(TrainConfig, "configs/dfgan_synthetic.yaml", ["lr=2e-4", "model.nf=16"])
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Sequence, TypeVar

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


def _from_dict(cls: type[C], data: dict, where: str = "") -> C:
    types_ = _field_types(cls)
    unknown = [k for k in data if k not in types_]
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown config key {prefix}{unknown[0]!r} for {cls.__name__}; valid keys: {', '.join(sorted(types_))}"
            f"{_key_hint(cls, unknown[0])}"
        )
    kwargs = {k: _coerce(v, types_[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


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
    data = read_yaml(resolve_config_path(path)) if path is not None else {}
    data = apply_overrides(data, overrides, cls)
    return _from_dict(cls, data)


def save_config(cfg: Any, path: str | os.PathLike) -> None:
    """Write the resolved config as YAML (or JSON when the path ends in .json), atomically."""
    data = config_to_dict(cfg) if dataclasses.is_dataclass(cfg) else cfg
    path = Path(path)
    if path.suffix == ".json":
        atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))
