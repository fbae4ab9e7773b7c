"""Loss functions (tensors in, scalar tensors out; only the training loop calls backward)."""

from .conditioning import kl_to_standard_normal
from .adversarial import bce_d_fake, bce_d_real, bce_g, hinge_d_fake, hinge_d_real, hinge_g, ma_gp, mismatched

__all__ = ["bce_d_fake", "bce_d_real", "bce_g", "hinge_d_fake", "hinge_d_real", "hinge_g", "kl_to_standard_normal", "ma_gp", "mismatched"]
