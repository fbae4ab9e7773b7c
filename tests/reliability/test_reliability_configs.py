"""Bad configs (unknown keys in every section, wrong types, out-of-range values, NaN/inf, broken YAML)
through ``load_config`` with the registered config classes and ``wordsight train SYSTEM --dry-run``:
every case is one ConfigError (CLI: exit 2, one line) naming the key, or a config whose values are valid."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability_helpers import assert_one_line_error, run_cli
from wordsight.config import ConfigError, _field_types, _unwrap_optional, load_config
from wordsight.training.config import TrainConfig
from wordsight.training.saliency import SaliencyTrainConfig

AREA = "configs"
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CLASSES = {"TrainConfig": (TrainConfig, "dfgan_synthetic"), "SaliencyTrainConfig": (SaliencyTrainConfig, "salgan_osie")}
BAD_VALUES = [".nan", ".inf", "-.inf", "1e999", "-1", "-1e-9", "0", "abc", "[1, 2]", "{a: 1}", "null", "true", "1.5",
              "99999999999999999999999", "''", "[]"]
# train systems and the dict sections their configs check against the system's own options
SYSTEMS = {"dfgan": ("model", "optimizers.g", "optimizers.d"), "attngan": ("model", "optimizers.g"),
           "stackgan": ("model",), "gan-int-cls": ("model",), "tagan": ("model",), "sisgan": ("model",),
           "tirg": ("model", "optimizers.retrieval"), "salgan": ("model", "objective", "discriminator", "augment"),
           "text-salgan": ("model", "objective"), "salicon": ("model", "objective")}


def _walk(cls, prefix=""):
    """(dotted key, type) of every leaf field, and the dotted names of the sections."""
    leaves, sections = [], [prefix.rstrip(".")]
    for name, tp in _field_types(cls).items():
        t, _ = _unwrap_optional(tp)
        if dataclasses.is_dataclass(t):
            sub_leaves, sub_sections = _walk(t, f"{prefix}{name}.")
            leaves += sub_leaves
            sections += sub_sections
        else:
            leaves.append((prefix + name, t))
    return leaves, sections


TREE = {name: _walk(cls) for name, (cls, _) in CLASSES.items()}
LEAVES = [(name, key, tp) for name, (leaves, _) in TREE.items() for key, tp in leaves]
SECTIONS = [(name, s) for name, (_, sections) in TREE.items() for s in sections]


def _get(cfg, key: str):
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


@settings(max_examples=300, **SETTINGS)
@given(leaf=st.sampled_from(LEAVES), raw=st.sampled_from(BAD_VALUES))
def test_leaf_values(tally, leaf, raw):
    with tally.case():
        name, key, tp = leaf
        cls, base = CLASSES[name]
        try:
            cfg = load_config(cls, base, [f"{key}={raw}"])
        except ConfigError as err:
            message = str(err)
            assert key.rsplit(".", 1)[-1] in message, message
            return
        value = _get(cfg, key)
        if value is None and raw == "null":
            return  # an optional field (its type allows null: "auto" / off)
        if isinstance(value, float):
            assert math.isfinite(value), (key, raw, value)  # NaN / inf never pass silently
        if tp is int:
            assert isinstance(value, int) and not isinstance(value, bool), (key, raw, value)
        if tp is bool:
            assert isinstance(value, bool), (key, raw, value)


@settings(max_examples=120, **SETTINGS)
@given(section=st.sampled_from(SECTIONS), key=st.from_regex(r"[a-z][a-z_]{2,12}x", fullmatch=True),
       raw=st.sampled_from(["1", "abc", ".nan", "{a: 1}"]))
def test_unknown_key_in_every_section(tally, section, key, raw):
    with tally.case():
        name, where = section
        cls, base = CLASSES[name]
        dotted = f"{where}.{key}" if where else key
        with pytest.raises(ConfigError) as err:
            load_config(cls, base, [f"{dotted}={raw}"])
        assert key in str(err.value) and "valid keys" in str(err.value)


@settings(max_examples=60, **SETTINGS)
@given(case=st.sampled_from(["unknown_top", "unknown_nested", "wrong_type", "nan", "list_top", "bad_yaml", "tabs", "empty",
                             "python_tag", "null_section"]), cls_name=st.sampled_from(sorted(CLASSES)))
def test_yaml_files(tmp_path_factory, tally, case, cls_name):
    with tally.case():
        cls, _ = CLASSES[cls_name]
        section = "data"
        text, needle = {
            "unknown_top": ("bogus_top_key: 1\n", "bogus_top_key"),
            "unknown_nested": (f"{section}:\n  bogus_nested_key: 1\n", "bogus_nested_key"),
            "wrong_type": ("batch_size: [1, 2]\n", "batch_size"),
            "nan": ("batch_size: .nan\n", "batch_size"),
            "list_top": ("- 1\n- 2\n", "top level must be a mapping"),
            "bad_yaml": ("batch_size: [1, 2\n", "cannot parse"),
            "tabs": ("data:\n\tsource: x\n", "cannot parse"),
            "empty": ("", None),
            "python_tag": ("batch_size: !!python/object/apply:os.system ['true']\n", "cannot parse"),
            "null_section": ("data: null\n", "data"),
        }[case]
        path = tmp_path_factory.mktemp("cfg") / "run.yaml"
        path.write_text(text)
        if needle is None:
            assert isinstance(load_config(cls, path), cls)  # an empty file is the defaults
            return
        with pytest.raises(ConfigError) as err:
            load_config(cls, path)
        assert needle in str(err.value), str(err.value)


@settings(max_examples=60, **SETTINGS)
@given(system=st.sampled_from(sorted(SYSTEMS)), data=st.data())
def test_train_dry_run_cli(tally, system, data):
    with tally.case():
        kind = data.draw(st.sampled_from(["unknown_section_key", "unknown_top", "nan", "wrong_type", "negative", "no_equals"]))
        cls_name = "SaliencyTrainConfig" if system in ("salgan", "text-salgan", "salicon") else "TrainConfig"
        if kind == "unknown_section_key":
            where = data.draw(st.sampled_from(SYSTEMS[system]))
            override, needle = f"{where}.bogus_option=1", "bogus_option"
        elif kind == "unknown_top":
            override, needle = "bogus_top=1", "bogus_top"
        elif kind == "nan":
            numeric = [k for n, k, t in LEAVES if n == cls_name and t in (int, float) and k.count(".") == 0]
            key = data.draw(st.sampled_from(numeric))
            override, needle = f"{key}={data.draw(st.sampled_from(['.nan', '.inf', '-.inf']))}", key
        elif kind == "wrong_type":
            override, needle = "batch_size=[1, 2]", "batch_size"
        elif kind == "negative":
            override, needle = "batch_size=-3", "batch_size"
        else:
            override, needle = "batch_size", "key=value"
        result = run_cli(["train", system, "--dry-run", override])
        assert result.code == 2, (override, result.out[-300:], result.err)
        assert_one_line_error(result, needle)
        assert re.match(r"^error: ", result.err)
