"""The Anim-400K data layer: annotations, audio sources (folder, ``.tar.gz``, ``.part-*``), ``Dataset`` and ``Clip``.

The lowest part above the shared foundations: it knows nothing of the stages, the pipeline or the runner.
"""

from baseline_dub.data.annotations import Clip
from baseline_dub.data.dataset import Dataset

__all__ = ["Clip", "Dataset"]
