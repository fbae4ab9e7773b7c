"""Data: record types, the synthetic world, loaders for published layouts, writers and layout detection.

Importing this package registers the layouts in ``LAYOUTS``; nothing is read from disk until a loader
is opened.
"""

from .attngan import CUBDataset, CaptionVocabulary, OxfordFlowersDataset, attngan_crop_box
from .coco import COCOCaptionsDataset
from .folder import CaptionFolderDataset
from .layouts import LAYOUTS, Layout, detect_layout, inspect_layout, open_layout, register_layout
from .manifest import ManifestDataset
from .records import SALIENCY_CATEGORIES, CaptionedImage, Fixations, SaliencyRecord
from .safe_pickle import load_pickle
from .saliency import SaliencyFolderDataset
from .saliency_sets import MIT1003Dataset, OSIEDataset, SALICONDataset
from .sjtu_tis import SJTUTISDataset, sjtu_tis_to_manifest
from .splits import split_stems
from .validation import Problems

__all__ = [
    "CUBDataset", "CaptionFolderDataset", "CaptionVocabulary", "CaptionedImage", "COCOCaptionsDataset", "Fixations",
    "LAYOUTS", "Layout", "MIT1003Dataset", "ManifestDataset", "OSIEDataset", "OxfordFlowersDataset", "Problems",
    "SALICONDataset", "SALIENCY_CATEGORIES", "SJTUTISDataset", "SaliencyFolderDataset", "SaliencyRecord",
    "attngan_crop_box", "detect_layout", "inspect_layout", "load_pickle", "open_layout", "register_layout",
    "sjtu_tis_to_manifest", "split_stems",
]
