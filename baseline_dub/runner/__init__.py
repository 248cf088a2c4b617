"""The split runner: every clip of a split through the pipeline, resumably (``split``), the manifest it
writes (``manifest``) and the same over a Ray cluster (``ray_backend``)."""
