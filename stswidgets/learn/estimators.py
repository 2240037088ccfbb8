"""The estimators of :mod:`stswidgets.learn` under their former module name.

The classes live in :mod:`stswidgets.learn.embedding` (:class:`SiameseEmbedding`,
:class:`AutoencoderEmbedding`) and :mod:`stswidgets.learn.score` (:class:`SimilarityScore`);
import them from :mod:`stswidgets.learn`. This module keeps ``stswidgets.learn.estimators``
imports working.
"""

from stswidgets.learn._training import NotFittedError
from stswidgets.learn.embedding import AutoencoderEmbedding, SiameseEmbedding
from stswidgets.learn.score import SimilarityScore

__all__ = ["AutoencoderEmbedding", "NotFittedError", "SiameseEmbedding", "SimilarityScore"]
