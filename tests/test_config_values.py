"""The value checks of the config layer (wordsight.config.Check / register_checks), on test-local classes."""

from __future__ import annotations

import dataclasses
import importlib
import math
import typing
from dataclasses import dataclass, field
from typing import Optional

import pytest

from wordsight.config import (
    Check,
    ConfigError,
    check_kwargs,
    config_from_dict,
    field_checks,
    load_config,
    register_checks,
    registered_checks,
)


@dataclass
class Inner:
    rate: float = 0.5


@dataclass
class Outer:
    count: int = 1
    size: int = 64
    name: str = "a"
    widths: list[int] = field(default_factory=lambda: [1, 2])
    limit: Optional[int] = None
    inner: Inner = field(default_factory=Inner)


@dataclass
class Child(Outer):
    extra: bool = False


register_checks(Inner, {"rate": Check(ge=0, le=1)})
register_checks(Outer, {"count": Check(ge=1), "size": Check(power_of_two=True, ge=8), "name": Check(choices=("a", "b")),
                        "widths": Check(nonempty=True, each=Check(ge=1)), "limit": Check(ge=1)})


class Net:
    def __init__(self, width: float = 1.0, mode: str = "x", on: bool = True):
        pass


register_checks(Net, {"width": Check(gt=0), "mode": Check(choices=("x", "y"))})


@pytest.mark.parametrize("check, value, message", [
    (Check(ge=1), 0, "k must be >= 1, got 0"),
    (Check(gt=0), 0.0, "k must be > 0, got 0.0"),
    (Check(ge=0, lt=1), 1, "k must be in [0, 1), got 1"),
    (Check(gt=0.5, le=1), 0.5, "k must be in (0.5, 1], got 0.5"),
    (Check(le=3), 4, "k must be <= 3, got 4"),
    (Check(ge=0, note="0 = off"), -3, "k must be >= 0 (0 = off), got -3"),
    (Check(power_of_two=True, ge=8), 100, "k must be a power of two >= 8, got 100"),
    (Check(power_of_two=True, ge=8), 4, "k must be a power of two >= 8, got 4"),
    (Check(multiple_of=16, ge=16), 40, "k must be a multiple of 16 >= 16, got 40"),
    (Check(choices=("a", "b")), "c", "k must be one of ['a', 'b'], got 'c'"),
    (Check(choices=(1, 2)), True, "k must be one of [1, 2], got True"),  # a bool is not the int 1
    (Check(choices=lambda: ["late"]), "x", "k must be one of ['late'], got 'x'"),
    (Check(each=Check(ge=0, lt=1)), [0.5, 2], "k[1] must be in [0, 1), got 2"),
    (Check(nonempty=True), [], "k must not be empty"),
    (Check(gt=0), math.nan, "k must be > 0, got nan"),
    (Check(ge=0), math.inf, "k must be >= 0, got inf"),
    (Check(finite=True), -math.inf, "k must be a finite number, got -inf"),
    (Check(ge=1), "abc", "k must be >= 1, got 'abc'"),
    (Check(ge=1), True, "k must be >= 1, got True"),
])
def test_a_check_names_the_key_the_rule_and_the_value(check, value, message):
    assert check.problem(value, "k") == message


@pytest.mark.parametrize("check, value", [
    (Check(ge=1), 1), (Check(ge=0, lt=1), 0.0), (Check(power_of_two=True, ge=8), 8), (Check(power_of_two=True), 64.0),
    (Check(choices=("a", "b")), "b"), (Check(choices=("Oracle",), ignore_case=True), "ORACLE"), (Check(ge=1), None),
    (Check(each=Check(ge=1)), (1, 2)), (Check(finite=True), -2.5), (Check(multiple_of=16), 48),
])
def test_allowed_values_pass(check, value):
    assert check.problem(value, "k") is None


def test_the_loader_checks_every_section_with_the_full_key(tmp_path):
    with pytest.raises(ConfigError, match=r"^count must be >= 1, got 0$"):
        load_config(Outer, None, ["count=0"])
    with pytest.raises(ConfigError, match=r"^inner\.rate must be in \[0, 1\], got 1\.5$"):
        load_config(Outer, None, ["inner.rate=1.5"])
    with pytest.raises(ConfigError, match=r"^widths\[1\] must be >= 1, got 0$"):
        load_config(Outer, None, ["widths=[3, 0]"])
    with pytest.raises(ConfigError, match=r"^limit must be >= 1, got -1$"):
        load_config(Outer, None, ["limit=-1"])
    p = tmp_path / "c.yaml"
    p.write_text("size: 48\n")
    with pytest.raises(ConfigError, match=r"^size must be a power of two >= 8, got 48$"):
        load_config(Outer, p)
    # the type comes first: an int field given 2.5 or "abc" is a type error, not a range error
    with pytest.raises(ConfigError, match=r"^count: expected an integer, got 2\.5$"):
        load_config(Outer, None, ["count=2.5"])
    assert load_config(Outer, None, ["count=3", "size=128", "name=b", "limit=null"]).size == 128


def test_subclasses_inherit_the_checks_of_their_bases():
    assert set(field_checks(Child)) == {"count", "size", "name", "widths", "limit"}
    with pytest.raises(ConfigError, match="name must be one of"):
        config_from_dict(Child, {"name": "z"})


def test_init_argument_sections_are_typed_and_checked():
    assert check_kwargs(Net, {"width": 2, "on": False}, "model") == {"width": 2.0, "on": False}
    with pytest.raises(ConfigError, match=r"^model\.width: expected a number, got 'wide'$"):
        check_kwargs(Net, {"width": "wide"}, "model")
    with pytest.raises(ConfigError, match=r"^model\.on: expected true/false, got 'maybe'$"):
        check_kwargs(Net, {"on": "maybe"}, "model")
    with pytest.raises(ConfigError, match=r"^model\.mode must be one of \['x', 'y'\], got 'z'$"):
        check_kwargs(Net, {"mode": "z"}, "model")
    with pytest.raises(ConfigError, match="expected a mapping"):
        check_kwargs(Net, [1], "model")


def test_a_check_of_a_field_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="no field"):
        register_checks(Inner, {"rte": Check(ge=0)})


def _resolve(key: str) -> type:
    module, _, name = key.rpartition(".")
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def test_every_registered_check_names_a_real_class_and_field():
    import wordsight.training  # noqa: F401  (registers the training configs' checks)
    import wordsight.training.saliency  # noqa: F401

    for key, checks in registered_checks().items():
        if key.startswith(__name__):
            continue
        cls = _resolve(key)
        fields = ({f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls)
                  else set(typing.get_type_hints(cls.__init__)) | set(cls.__init__.__code__.co_varnames))
        assert set(checks) <= fields, f"{key}: checks of missing fields {sorted(set(checks) - fields)}"
