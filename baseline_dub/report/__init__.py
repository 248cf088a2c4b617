"""The automatic quality report of a finished run: per-clip and per-segment ``metrics``, the ``evaluate``
pass over a run's manifest, and its ``formatting`` (tables, statistics, plots)."""
