"""The CTranslate2 -> openai-whisper converter: a tiny model.bin written in CTranslate2's binary format,
and the real offline Whisper base conversion (sha256 recorded in the registry, strict key match)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from whisper.model import ModelDimensions, Whisper

from baseline_dub.errors import ConfigError
from baseline_dub.models.converters.whisper_ct2 import convert_ct2_whisper, read_ct2_model
from baseline_dub.models.store import sha256_file
from baseline_dub.stages.translate import read_whisper_checkpoint

STATE, HEADS, FFN, VOCAB, MELS, AUDIO_CTX, TEXT_CTX = 8, 2, 32, 51865, 80, 1500, 12


def _string(s: str) -> bytes:
    raw = s.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def _variable(name: str, value: np.ndarray) -> bytes:
    dtype_id = {np.dtype(np.float16): 4, np.dtype(np.float32): 0, np.dtype(np.int16): 2, np.dtype(np.int8): 1}
    out = _string(name) + struct.pack("<B", value.ndim) + b"".join(struct.pack("<I", d) for d in value.shape)
    return out + struct.pack("<BI", dtype_id[value.dtype], value.nbytes) + value.tobytes()


def _tiny_ct2_variables(rng: np.random.Generator) -> dict[str, np.ndarray]:
    def w(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.2, shape).astype(np.float16)

    v: dict[str, np.ndarray] = {"encoder/num_heads": np.array(HEADS, np.int16),
                                "decoder/num_heads": np.array(HEADS, np.int16),
                                "decoder/activation": np.array(3, np.int8)}
    v |= {"encoder/conv1/weight": w(STATE, MELS, 3), "encoder/conv1/bias": w(STATE),
          "encoder/conv2/weight": w(STATE, STATE, 3), "encoder/conv2/bias": w(STATE),
          "encoder/position_encodings/encodings": w(AUDIO_CTX, STATE),
          "decoder/embeddings/weight": w(VOCAB, STATE), "decoder/position_encodings/encodings": w(TEXT_CTX, STATE)}
    for side in ("encoder", "decoder"):
        v |= {f"{side}/layer_norm/gamma": w(STATE), f"{side}/layer_norm/beta": w(STATE)}
        p = f"{side}/layer_0"
        qkv_bias = w(3 * STATE)
        qkv_bias[STATE:2 * STATE] = 0
        v |= {f"{p}/self_attention/layer_norm/gamma": w(STATE), f"{p}/self_attention/layer_norm/beta": w(STATE),
              f"{p}/self_attention/linear_0/weight": w(3 * STATE, STATE), f"{p}/self_attention/linear_0/bias": qkv_bias,
              f"{p}/self_attention/linear_1/weight": w(STATE, STATE), f"{p}/self_attention/linear_1/bias": w(STATE),
              f"{p}/ffn/layer_norm/gamma": w(STATE), f"{p}/ffn/layer_norm/beta": w(STATE),
              f"{p}/ffn/linear_0/weight": w(FFN, STATE), f"{p}/ffn/linear_0/bias": w(FFN),
              f"{p}/ffn/linear_1/weight": w(STATE, FFN), f"{p}/ffn/linear_1/bias": w(STATE)}
    p = "decoder/layer_0/attention"
    kv_bias = w(2 * STATE)
    kv_bias[:STATE] = 0
    v |= {f"{p}/layer_norm/gamma": w(STATE), f"{p}/layer_norm/beta": w(STATE),
          f"{p}/linear_0/weight": w(STATE, STATE), f"{p}/linear_0/bias": w(STATE),
          f"{p}/linear_1/weight": w(2 * STATE, STATE), f"{p}/linear_1/bias": kv_bias,
          f"{p}/linear_2/weight": w(STATE, STATE), f"{p}/linear_2/bias": w(STATE)}
    return v


def _write_ct2(path: Path, variables: dict[str, np.ndarray]) -> None:
    blob = struct.pack("<I", 6) + _string("WhisperSpec") + struct.pack("<II", 3, len(variables))
    blob += b"".join(_variable(k, variables[k]) for k in sorted(variables))
    blob += struct.pack("<I", 1) + _string("decoder/projection/weight") + _string("decoder/embeddings/weight")
    path.write_bytes(blob)


@pytest.fixture()
def tiny_ct2(tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    variables = _tiny_ct2_variables(np.random.default_rng(0))
    model_bin, config = tmp_path / "model.bin", tmp_path / "config.json"
    _write_ct2(model_bin, variables)
    config.write_text(json.dumps({"lang_ids": [50259], "alignment_heads": [[0, 1]]}))
    return model_bin, config, variables


def test_reader_resolves_aliases(tiny_ct2) -> None:
    model_bin, _, variables = tiny_ct2
    spec, read = read_ct2_model(model_bin)
    assert spec == "WhisperSpec"
    assert np.array_equal(read["decoder/projection/weight"], variables["decoder/embeddings/weight"])
    assert set(read) == set(variables) | {"decoder/projection/weight"}


def test_tiny_conversion_loads_strictly_and_splits_fused_projections(tiny_ct2, tmp_path: Path) -> None:
    model_bin, config, v = tiny_ct2
    out = tmp_path / "whisper.pt"
    convert_ct2_whisper([model_bin, config], out)
    checkpoint = torch.load(out, weights_only=True)
    dims = ModelDimensions(**checkpoint["dims"])
    assert (dims.n_audio_layer, dims.n_text_layer, dims.n_text_head, dims.n_text_ctx) == (1, 1, HEADS, TEXT_CTX)
    model = Whisper(dims)
    result = model.load_state_dict(checkpoint["model_state_dict"], strict=False)
    assert not result.missing_keys and not result.unexpected_keys
    sd = checkpoint["model_state_dict"]
    fused = v["encoder/layer_0/self_attention/linear_0/weight"]
    assert np.array_equal(sd["encoder.blocks.0.attn.key.weight"].numpy(), fused[STATE:2 * STATE])
    assert np.array_equal(sd["encoder.blocks.0.attn.value.bias"].numpy(),
                          v["encoder/layer_0/self_attention/linear_0/bias"][2 * STATE:])
    kv = v["decoder/layer_0/attention/linear_1/weight"]
    assert np.array_equal(sd["decoder.blocks.0.cross_attn.value.weight"].numpy(), kv[STATE:])
    assert np.array_equal(sd["decoder.blocks.0.mlp.2.weight"].numpy(), v["decoder/layer_0/ffn/linear_1/weight"])
    assert np.array_equal(sd["decoder.ln.weight"].numpy(), v["decoder/layer_norm/gamma"])
    again = tmp_path / "again.pt"
    convert_ct2_whisper([model_bin, config], again)
    assert sha256_file(again) == sha256_file(out)


def test_nonzero_key_bias_and_truncation_are_refused(tiny_ct2, tmp_path: Path) -> None:
    model_bin, config, v = tiny_ct2
    v["encoder/layer_0/self_attention/linear_0/bias"][STATE] = 1.0
    bad = tmp_path / "bad.bin"
    _write_ct2(bad, v)
    with pytest.raises(ConfigError, match="key bias"):
        convert_ct2_whisper([bad, config], tmp_path / "x.pt")
    cut = tmp_path / "cut.bin"
    cut.write_bytes(model_bin.read_bytes()[:5000])
    with pytest.raises(ConfigError, match="truncated"):
        read_ct2_model(cut)


def test_real_base_conversion_matches_registry_and_loads(store, tmp_path: Path) -> None:
    inputs = [store.path("whisper-base-ct2"), store.path("whisper-base-ct2-config")]
    out = tmp_path / "base.pt"
    convert_ct2_whisper(inputs, out)
    assert sha256_file(out) == store.entry("whisper-base").sha256
    model = read_whisper_checkpoint(store, "whisper-base", "cpu")  # asserts no missing / unexpected key
    assert model.dims.n_text_layer == 6 and model.is_multilingual
    heads = model.alignment_heads.to_dense().nonzero().tolist()
    assert heads == json.loads(inputs[1].read_text())["alignment_heads"]
