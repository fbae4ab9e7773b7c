"""Feature extractors for FID/KID/IS, all run through torch-fidelity.

Two kinds, both described by a :class:`FeatureExtractorSpec` (what to build, and how to key caches):

- :func:`inception_extractor`: torch-fidelity's ``inception-v3-compat``, its port of the TensorFlow FID
  Inception (pool3 2048-d for FID/KID, ``logits_unbiased`` for IS). We never re-implement Inception and
  always hand torch-fidelity an explicit weights path, so it never tries to download.
- :func:`module_feature_extractor`: any torch module mapping uint8 images to features (e.g. the synthetic
  world's oracle CNN for an "oracle FID"), registered as a torch-fidelity ``FeatureExtractorBase`` so that
  the same metric code (and torch-fidelity's own ``calculate_metrics``) can use it.

The one resize: images reach the extractor as uint8 [B,3,H,W] at their stored size. The Inception extractor
resizes them to 299x299 itself, with torch-fidelity's re-implementation of TensorFlow 1.x bilinear resize
(``interpolate_bilinear_2d_like_tensorflow1x``, no antialiasing), as the original TF FID code does. wordsight
does not resize before that.
"""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import torch
from torch import nn
import torch_fidelity
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor
from torch_fidelity.utils import create_feature_extractor

from ..utils.checks import InputError
from .weights import INCEPTION_WEIGHTS_FILE, INCEPTION_WEIGHTS_SHA256_PREFIX, find_inception_weights, sha256_of_file

INCEPTION_NAME = "inception-v3-compat"
INCEPTION_RESIZE = "torch-fidelity interpolate_bilinear_2d_like_tensorflow1x to 299x299 of the uint8 input"
NO_RESIZE = "none (images reach the module at their stored size)"
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class FeatureExtractorSpec:
    """A torch-fidelity feature extractor and the facts that identify its features.

    Attributes:
        name: the name registered in torch-fidelity's feature-extractor registry.
        fingerprint: content identity of the network (weights hash, code version); part of cache keys.
        distribution_layer: the feature used for FID and KID.
        classifier_layer: the logits used for the Inception Score; None when the extractor has none.
        resize: the one resize applied to the images, in words (part of cache keys).
        build_kwargs: extra constructor arguments (e.g. the Inception weights path).
    """

    name: str
    fingerprint: str
    distribution_layer: str
    classifier_layer: str | None
    resize: str
    build_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def layers_for(self, need_distribution: bool, need_classifier: bool) -> list[str]:
        layers = []
        if need_distribution:
            layers.append(self.distribution_layer)
        if need_classifier:
            if self.classifier_layer is None:
                raise InputError(f"feature extractor {self.name!r} has no classifier logits; the Inception Score needs them")
            if self.classifier_layer not in layers:
                layers.append(self.classifier_layer)
        return layers

    def build(self, layers: Sequence[str], device: str = "cpu") -> FeatureExtractorBase:
        """Instantiate through torch-fidelity's own factory (same object ``calculate_metrics`` builds)."""
        if device not in DEVICES:
            raise InputError(f"device must be one of {DEVICES} (torch-fidelity moves models with .cuda()), got {device!r}")
        return create_feature_extractor(
            self.name, list(layers), cuda=device == "cuda", verbose=False, **dict(self.build_kwargs)
        )


def inception_extractor(weights_path: str | os.PathLike | None = None) -> FeatureExtractorSpec:
    """torch-fidelity's TensorFlow-compatible Inception, from an explicit or cached weights file.

    Raises InputError naming ``weights-inception-2015-12-05-6726825d.pth`` and the folder to put it in when
    the file is absent, or when its hash does not match.
    """
    path = find_inception_weights(weights_path, verify=False)
    digest = sha256_of_file(path)
    if not digest.startswith(INCEPTION_WEIGHTS_SHA256_PREFIX):
        raise InputError(
            f"{path}: SHA-256 {digest[:16]}... is not that of {INCEPTION_WEIGHTS_FILE} "
            f"(prefix {INCEPTION_WEIGHTS_SHA256_PREFIX}); the file is corrupt or another network"
        )
    return FeatureExtractorSpec(
        name=INCEPTION_NAME,
        fingerprint=f"{INCEPTION_NAME}:sha256={digest}:torch-fidelity={torch_fidelity.__version__}",
        distribution_layer="2048",
        classifier_layer="logits_unbiased",
        resize=INCEPTION_RESIZE,
        build_kwargs={"feature_extractor_weights_path": str(path)},
    )


class ModuleFeatureExtractor(FeatureExtractorBase):
    """torch-fidelity adapter around a torch module; subclasses are made by :func:`module_feature_extractor`.

    Each instance runs a private deep copy of the registered module, so torch-fidelity's ``eval()``,
    ``requires_grad_(False)`` and ``.cuda()`` never touch the caller's module.
    """

    template: nn.Module
    method: str = "forward"
    input_range: tuple[float, float] | None = None
    provided_features: tuple[str, ...] = ("features",)
    default_layers: Mapping[str, str] = {}

    def __init__(self, name: str, features_list: Sequence[str], **kwargs: Any):
        super().__init__(name, list(features_list))
        self.network = copy.deepcopy(type(self).template)

    @classmethod
    def get_provided_features_list(cls) -> tuple[str, ...]:
        return cls.provided_features

    @classmethod
    def get_default_feature_layer_for_metric(cls, metric: str) -> str:
        if metric not in cls.default_layers:
            raise InputError(f"feature extractor has no layer for metric {metric!r}")
        return cls.default_layers[metric]

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, 8, 8, dtype=torch.uint8)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
            raise InputError(f"feature extractor input: expected uint8 [B,3,H,W], got {images.dtype} {tuple(images.shape)}")
        x: torch.Tensor = images
        if self.input_range is not None:
            lo, hi = self.input_range
            x = images.float() / 255.0 * (hi - lo) + lo
        out = getattr(self.network, self.method)(x)
        if isinstance(out, torch.Tensor):
            out = {self.provided_features[0]: out}
        missing = [k for k in self.features_list if k not in out]
        if missing:
            raise InputError(f"module output lacks features {missing}; it returned {sorted(out)}")
        result = []
        for key in self.features_list:
            feat = out[key]
            if feat.dim() != 2 or feat.shape[0] != images.shape[0]:
                raise InputError(f"feature {key!r}: expected [B, D] with B={images.shape[0]}, got {tuple(feat.shape)}")
            result.append(feat.float())
        return tuple(result)


def module_fingerprint(module: nn.Module, extra: Iterable[str] = ()) -> str:
    """SHA-256 over the module's class, structure (repr) and every parameter/buffer's bytes."""
    digest = hashlib.sha256()
    for text in (type(module).__module__, type(module).__qualname__, repr(module), *extra):
        digest.update(text.encode("utf-8") + b"\0")
    for key, value in module.state_dict().items():
        tensor = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{key}:{tensor.dtype}:{tuple(value.shape)}".encode("utf-8"))
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def module_feature_extractor(
    module: nn.Module,
    name: str,
    *,
    features: Sequence[str] = ("features",),
    distribution_layer: str | None = None,
    classifier_layer: str | None = None,
    method: str = "forward",
    input_range: tuple[float, float] | None = None,
    resize: str = NO_RESIZE,
) -> FeatureExtractorSpec:
    """Register ``module`` as a torch-fidelity feature extractor and describe it.

    Args:
        module: maps images [B,3,H,W] to a feature tensor [B,D], or to a dict of named [B,D] tensors.
            It is copied at registration; later changes to ``module`` do not affect this extractor.
        name: a readable name; the registered name is ``wordsight-<name>-<fingerprint[:12]>``, so two
            different networks never share a name and the same network is registered once.
        features: names of the module's outputs (a tensor output is named ``features[0]``).
        distribution_layer: feature for FID/KID (default ``features[0]``).
        classifier_layer: logits for the Inception Score, or None.
        method: the module method to call, e.g. ``"embed"`` for the scene oracle's penultimate features.
        input_range: None passes uint8 images unchanged; ``(lo, hi)`` maps 0..255 linearly to that float
            range first (``(-1, 1)`` for the wordsight generators' and oracle's convention).
        resize: what the module does to the image size, in words (recorded in cache keys).

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(8))  # doctest: +SKIP
        >>> spec = module_feature_extractor(net, "tiny", input_range=(-1.0, 1.0))  # doctest: +SKIP
    """
    if not isinstance(module, nn.Module):
        raise InputError(f"module_feature_extractor: expected a torch.nn.Module, got {type(module).__name__}")
    if not callable(getattr(module, method, None)):
        raise InputError(f"module {type(module).__name__} has no method {method!r}")
    features = tuple(features)
    if not features or len(set(features)) != len(features):
        raise InputError(f"features must be distinct names, got {features}")
    distribution_layer = distribution_layer or features[0]
    for layer in (distribution_layer, classifier_layer):
        if layer is not None and layer not in features:
            raise InputError(f"layer {layer!r} is not among the module's features {features}")
    fingerprint = module_fingerprint(module, extra=(method, repr(input_range), *features))
    registered = f"wordsight-{name}-{fingerprint[:12]}"
    if registered not in FEATURE_EXTRACTORS_REGISTRY:
        defaults = {"fid": distribution_layer, "kid": distribution_layer, "prc": distribution_layer}
        if classifier_layer is not None:
            defaults["isc"] = classifier_layer
        cls = type(
            f"ModuleFeatureExtractor_{fingerprint[:12]}",
            (ModuleFeatureExtractor,),
            {
                "template": copy.deepcopy(module).cpu(),
                "method": method,
                "input_range": input_range,
                "provided_features": features,
                "default_layers": defaults,
            },
        )
        register_feature_extractor(registered, cls)
    return FeatureExtractorSpec(
        name=registered,
        fingerprint=f"module:{name}:sha256={fingerprint}",
        distribution_layer=distribution_layer,
        classifier_layer=classifier_layer,
        resize=resize,
    )
