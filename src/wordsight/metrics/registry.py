"""The metric registry: every metric is registered by name (as in stylegan2-ada's ``metric_main``), so a
caller or the CLI can validate ``--metrics`` and list what exists before running anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..utils.checks import InputError
from ..utils.registry import Registry, RegistryError


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric.

    Attributes:
        name: registry name (``"fid"``).
        summary: one line for ``--help`` and docs.
        result_keys: keys the metric always writes into the result dict.
        needs: the evidence it reads (e.g. ``"fidelity"``, ``"reference"``, ``"damsm"``, ``"clip"``,
            ``"oracle"``); the evaluator gathers only what the requested metrics need.
        compute: ``compute(evidence, options) -> dict[str, float]``.
    """

    name: str
    summary: str
    result_keys: tuple[str, ...]
    needs: frozenset[str]
    compute: Callable[..., dict[str, float]]


METRICS: Registry[MetricSpec] = Registry("metric")


def register_metric(
    name: str, *, summary: str, result_keys: Iterable[str], needs: Iterable[str] = ()
) -> Callable[[Callable[..., dict[str, float]]], Callable[..., dict[str, float]]]:
    """Decorator: register ``compute(evidence, options) -> dict`` under ``name``."""

    def _add(compute: Callable[..., dict[str, float]]) -> Callable[..., dict[str, float]]:
        METRICS.register(name, MetricSpec(name, summary, tuple(result_keys), frozenset(needs), compute))
        return compute

    return _add


def resolve_metrics(names: Iterable[str] | str) -> list[MetricSpec]:
    """Look names up (case-insensitive, duplicates dropped); InputError lists the known names."""
    if isinstance(names, str):
        names = [names]
    specs: list[MetricSpec] = []
    for name in names:
        try:
            spec = METRICS.get(name)
        except RegistryError as exc:
            raise InputError(str(exc)) from exc
        if spec not in specs:
            specs.append(spec)
    if not specs:
        raise InputError(f"no metrics requested; known: {', '.join(METRICS.names())}")
    return specs


def list_metrics() -> list[str]:
    return METRICS.names()


def describe_metrics() -> dict[str, Any]:
    """name -> {summary, result_keys, needs}: a JSON-able table for docs and ``--help``."""
    return {
        name: {"summary": s.summary, "result_keys": list(s.result_keys), "needs": sorted(s.needs)}
        for name, s in ((n, METRICS.get(n)) for n in METRICS.names())
    }
