"""The notebook runs top to bottom (nbclient) on the sample clip with the offline profile."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from baseline_dub.config import PROJECT_ROOT

pytestmark = pytest.mark.weights  # the offline profile's weights


def test_dub_a_clip_notebook_runs():
    path = PROJECT_ROOT / "notebooks" / "dub_a_clip.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(PROJECT_ROOT)}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "mixing ratio" in text
    assert any("image/png" in o.get("data", {}) for o in outputs), "the waveform figure was not drawn"
    assert any("text/html" in o.get("data", {}) for o in outputs), "no audio player was shown"
