"""wordsight: text-guided vision with GANs.

Three task families in one library: text-to-image synthesis, text-guided image manipulation and
(text-guided) saliency prediction. Importing the package does no work beyond defining names.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
