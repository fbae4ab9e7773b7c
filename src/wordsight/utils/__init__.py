"""Low-level helpers shared by every layer: registries, atomic writes, seeding, images, checks."""

from .checks import InputError, check_captions, check_finite, check_shape
from .registry import Registry, RegistryError

__all__ = ["InputError", "Registry", "RegistryError", "check_captions", "check_finite", "check_shape"]
