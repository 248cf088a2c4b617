"""The pipeline's stages, one module each: separate, diarize, translate, synthesize, remix.

Each stage module defines a ``Backend`` protocol, its backends, and a ``load_*`` function that picks
the backend from the profile's configuration and loads its weights once through the model store.
The data passed between stages are the frozen dataclasses of ``baseline_dub.stages.types``.
"""
