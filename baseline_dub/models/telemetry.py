"""Third-party usage telemetry, off unless the user opts in.

pyannote.audio 4 sends usage telemetry by default: each pipeline and model load, and, for every file a
pipeline is applied to, its duration and the speaker counts asked for, with a per-process session id, to
its authors' OpenTelemetry server (``otel.pyannote.ai``). Its switch is the environment variable
``PYANNOTE_METRICS_ENABLED``, read at every event; when it is unset, importing ``pyannote.audio`` sets it
from pyannote's own default (on). ``import baseline_dub`` sets it to ``false`` before pyannote can be
imported, unless the user has set it: ``PYANNOTE_METRICS_ENABLED=1`` (or ``true``) opts in.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

PYANNOTE_SWITCH = "PYANNOTE_METRICS_ENABLED"


def pyannote_telemetry_off(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Turn pyannote.audio's telemetry off in ``environ`` unless the user set its switch; return whether it is on.

    An explicit value is the user's choice and is kept (pyannote reads ``true`` or ``1`` as on)."""
    value = environ.setdefault(PYANNOTE_SWITCH, "false")
    return value.lower() in ("true", "1")
