"""Per-system training objectives; importing this package imports every module in it, which registers
them in ``SYSTEMS`` (a new ``objectives/<system>.py`` registers itself with no edit here)."""

from ...utils.imports import import_submodules
from .dfgan import DFGANConfig, DFGANObjective

import_submodules(__name__, __path__)

__all__ = ["DFGANConfig", "DFGANObjective"]
