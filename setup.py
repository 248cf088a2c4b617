"""Build-time layout of the wheel (all metadata is in ``pyproject.toml``).

The repository keeps its top-level ``configs/`` and ``data/sample/`` folders (the design card's layout); the
wheel carries them inside the package as ``baseline_dub/configs/`` and ``baseline_dub/sample/``, mapped here at
build time rather than copied in the repository, so that an installed package needs no checkout.
``baseline_dub.config`` finds them in either place.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["baseline_dub", "baseline_dub.*"]), "baseline_dub.configs",
              "baseline_dub.sample"],
    package_dir={"baseline_dub.configs": "configs", "baseline_dub.sample": "data/sample"},
)
