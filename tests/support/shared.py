"""Where the tests find ``../shared``: the real audio (``data/real``) and the webMUSHRA client (``clients``).

``$BASELINE_DUB_SHARED`` overrides the folder beside the checkout and ``$BASELINE_DUB_REAL_DATA`` the real audio
alone; ``make test-fast`` points both at a folder that does not exist, so that a test reading them there fails.
"""

from __future__ import annotations

import os
from pathlib import Path

from baseline_dub.config import PROJECT_ROOT

SHARED = Path(os.environ.get("BASELINE_DUB_SHARED", PROJECT_ROOT.parent / "shared"))
REAL_DIR = Path(os.environ.get("BASELINE_DUB_REAL_DATA", SHARED / "data" / "real"))
WEBMUSHRA = SHARED / "clients" / "webMUSHRA"
