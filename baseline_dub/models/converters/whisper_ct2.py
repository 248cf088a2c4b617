"""CTranslate2 Whisper ``model.bin`` -> openai-whisper checkpoint (``{"dims", "model_state_dict"}``).

The offline profile ships Whisper ``base`` only as CTranslate2 weights. This module reads CTranslate2's
binary model format itself (no ``ctranslate2`` dependency), as written by
``python/ctranslate2/specs/model_spec.py`` (binary version 6)::

    uint32 version | string spec name | uint32 spec revision | uint32 variable count
    per variable: string name | uint8 rank | uint32 dims[rank] | uint8 dtype | uint32 nbytes | bytes
    uint32 alias count | per alias: string alias | string target

where a string is ``uint16 length (with the NUL)`` + UTF-8 bytes + NUL and integers are little-endian.
The variables are renamed to openai-whisper's ``Whisper`` module names; fused projections are split
(self-attention ``linear_0`` = q|k|v, cross-attention ``linear_1`` = k|v; Whisper's key projections have
no bias, so CTranslate2's zero key bias is checked and dropped). The checkpoint is written with
``torch.save`` into memory, then atomically, so the same input always gives the same sha256.
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from baseline_dub.atomic import atomic_write_bytes
from baseline_dub.errors import ConfigError

SUPPORTED_VERSIONS = (5, 6)
# CTranslate2 DataType ids (include/ctranslate2/types.h); bfloat16 is read as raw uint16 below.
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


def _read(fh: BinaryIO, fmt: str) -> int:
    size = struct.calcsize("<" + fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ConfigError("CTranslate2 model.bin is truncated; re-create it with `make models`")
    return struct.unpack("<" + fmt, data)[0]


def _read_string(fh: BinaryIO) -> str:
    length = _read(fh, "H")
    raw = fh.read(length)
    if len(raw) != length or not raw.endswith(b"\0"):
        raise ConfigError("CTranslate2 model.bin has a malformed string; re-create it with `make models`")
    return raw[:-1].decode("utf-8")


def read_ct2_model(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """Parse a CTranslate2 ``model.bin``: its spec name and every variable (aliases resolved) as numpy."""
    variables: dict[str, np.ndarray] = {}
    with open(path, "rb") as fh:
        version = _read(fh, "I")
        if version not in SUPPORTED_VERSIONS:
            raise ConfigError(f"{path}: CTranslate2 binary version {version} is not supported "
                              f"(known: {SUPPORTED_VERSIONS}); convert the model with a matching ctranslate2")
        spec = _read_string(fh)
        _read(fh, "I")  # spec revision
        for _ in range(_read(fh, "I")):
            name = _read_string(fh)
            shape = tuple(_read(fh, "I") for _ in range(_read(fh, "B")))
            dtype_id = _read(fh, "B")
            nbytes = _read(fh, "I")
            raw = fh.read(nbytes)
            if len(raw) != nbytes:
                raise ConfigError(f"{path}: variable {name} is truncated; re-create the file with `make models`")
            dtype = _DTYPES.get(dtype_id)
            if dtype is None:
                raise ConfigError(f"{path}: variable {name} has unknown dtype id {dtype_id}")
            if dtype == "bfloat16":
                as_u32 = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
                array = as_u32.view(np.float32)
            else:
                array = np.frombuffer(raw, dtype=dtype)
            variables[name] = array.reshape(shape)
        for _ in range(_read(fh, "I")):
            alias, target = _read_string(fh), _read_string(fh)
            variables[alias] = variables[target]
        if fh.read(1):
            raise ConfigError(f"{path}: trailing bytes after the aliases; not a CTranslate2 model.bin")
    return spec, variables


def _layer_count(variables: dict[str, np.ndarray], side: str) -> int:
    found = {int(m.group(1)) for k in variables if (m := re.match(rf"{side}/layer_(\d+)/", k))}
    if not found or found != set(range(len(found))):
        raise ConfigError(f"CTranslate2 Whisper model: {side} layers are missing or not numbered 0..N-1")
    return len(found)


def _linear(out: dict[str, np.ndarray], dst: str, var: dict[str, np.ndarray], src: str, bias: bool = True) -> None:
    out[f"{dst}.weight"] = var[f"{src}/weight"]
    if bias:
        out[f"{dst}.bias"] = var[f"{src}/bias"]


def _layer_norm(out: dict[str, np.ndarray], dst: str, var: dict[str, np.ndarray], src: str) -> None:
    out[f"{dst}.weight"] = var[f"{src}/gamma"]
    out[f"{dst}.bias"] = var[f"{src}/beta"]


def _split_fused(out: dict[str, np.ndarray], dst: str, var: dict[str, np.ndarray], src: str,
                 names: Sequence[str]) -> None:
    """Split a fused projection into ``names`` (``key`` loses its bias, which must be zero)."""
    weights = np.split(var[f"{src}/weight"], len(names), axis=0)
    biases = np.split(var[f"{src}/bias"], len(names), axis=0)
    for name, w, b in zip(names, weights, biases, strict=True):
        out[f"{dst}.{name}.weight"] = w
        if name == "key":
            if np.any(b.astype(np.float32) != 0):
                raise ConfigError(f"{src}: the fused key bias is not zero; Whisper's key projection has no bias")
        else:
            out[f"{dst}.{name}.bias"] = b


def _attention(out: dict[str, np.ndarray], dst: str, var: dict[str, np.ndarray], src: str, cross: bool) -> None:
    _layer_norm(out, f"{dst}_ln", var, f"{src}/layer_norm")
    if cross:
        _linear(out, f"{dst}.query", var, f"{src}/linear_0")
        _split_fused(out, dst, var, f"{src}/linear_1", ("key", "value"))
        _linear(out, f"{dst}.out", var, f"{src}/linear_2")
    else:
        _split_fused(out, dst, var, f"{src}/linear_0", ("query", "key", "value"))
        _linear(out, f"{dst}.out", var, f"{src}/linear_1")


def _block(out: dict[str, np.ndarray], dst: str, var: dict[str, np.ndarray], src: str, cross: bool) -> None:
    _attention(out, f"{dst}.attn", var, f"{src}/self_attention", cross=False)
    if cross:
        _attention(out, f"{dst}.cross_attn", var, f"{src}/attention", cross=True)
    _layer_norm(out, f"{dst}.mlp_ln", var, f"{src}/ffn/layer_norm")
    _linear(out, f"{dst}.mlp.0", var, f"{src}/ffn/linear_0")
    _linear(out, f"{dst}.mlp.2", var, f"{src}/ffn/linear_1")


def ct2_to_whisper(variables: dict[str, np.ndarray]) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """Map CTranslate2 Whisper variables to openai-whisper's ``dims`` and state-dict arrays."""
    try:
        out: dict[str, np.ndarray] = {}
        _linear(out, "encoder.conv1", variables, "encoder/conv1")
        _linear(out, "encoder.conv2", variables, "encoder/conv2")
        out["encoder.positional_embedding"] = variables["encoder/position_encodings/encodings"]
        n_audio_layer = _layer_count(variables, "encoder")
        for i in range(n_audio_layer):
            _block(out, f"encoder.blocks.{i}", variables, f"encoder/layer_{i}", cross=False)
        _layer_norm(out, "encoder.ln_post", variables, "encoder/layer_norm")
        out["decoder.token_embedding.weight"] = variables["decoder/embeddings/weight"]
        out["decoder.positional_embedding"] = variables["decoder/position_encodings/encodings"]
        n_text_layer = _layer_count(variables, "decoder")
        for i in range(n_text_layer):
            _block(out, f"decoder.blocks.{i}", variables, f"decoder/layer_{i}", cross=True)
        _layer_norm(out, "decoder.ln", variables, "decoder/layer_norm")
        projection = variables.get("decoder/projection/weight")
        if projection is not None and not np.array_equal(projection, variables["decoder/embeddings/weight"]):
            raise ConfigError("CTranslate2 Whisper model: the output projection is not tied to the token "
                              "embedding, which openai-whisper requires")
        dims = {
            "n_mels": int(variables["encoder/conv1/weight"].shape[1]),
            "n_audio_ctx": int(variables["encoder/position_encodings/encodings"].shape[0]),
            "n_audio_state": int(variables["encoder/conv1/weight"].shape[0]),
            "n_audio_head": int(variables["encoder/num_heads"]),
            "n_audio_layer": n_audio_layer,
            "n_vocab": int(variables["decoder/embeddings/weight"].shape[0]),
            "n_text_ctx": int(variables["decoder/position_encodings/encodings"].shape[0]),
            "n_text_state": int(variables["decoder/embeddings/weight"].shape[1]),
            "n_text_head": int(variables["decoder/num_heads"]),
            "n_text_layer": n_text_layer,
        }
        for side in ("encoder", "decoder"):
            width = variables[f"{side}/layer_0/ffn/linear_0/weight"].shape
            if width != (4 * width[1], width[1]):
                raise ConfigError(f"CTranslate2 Whisper model: {side} MLP is {width}, openai-whisper needs 4 x state")
    except KeyError as exc:
        raise ConfigError(f"CTranslate2 Whisper model lacks variable {exc}; is it a WhisperSpec model?") from None
    return dims, out


def convert_ct2_whisper(inputs: list[Path], out: Path) -> None:
    """Store converter (``kind: convert``): ``[model.bin, config.json]`` -> openai-whisper checkpoint at ``out``.

    Arrays keep their stored precision (float16, like OpenAI's own checkpoints). The checkpoint is
    serialised in memory with sorted keys and written atomically, so reruns give the same bytes.
    """
    import torch

    model_bin = inputs[0]
    spec, variables = read_ct2_model(model_bin)
    if spec != "WhisperSpec":
        raise ConfigError(f"{model_bin}: CTranslate2 spec is {spec!r}, expected 'WhisperSpec'")
    if len(inputs) > 1:
        config = json.loads(Path(inputs[1]).read_text())
        if "lang_ids" not in config:
            raise ConfigError(f"{inputs[1]}: not a CTranslate2 Whisper config.json (no lang_ids)")
    dims, arrays = ct2_to_whisper(variables)
    state = {k: torch.from_numpy(np.ascontiguousarray(arrays[k]).copy()) for k in sorted(arrays)}
    buffer = io.BytesIO()
    torch.save({"dims": dims, "model_state_dict": state}, buffer)
    atomic_write_bytes(out, buffer.getvalue())
