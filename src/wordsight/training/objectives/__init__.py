"""Per-system training objectives; importing this package registers them in ``SYSTEMS``."""

from .dfgan import DFGANConfig, DFGANObjective

__all__ = ["DFGANConfig", "DFGANObjective"]
