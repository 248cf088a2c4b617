"""Parity of the PyTorch Spleeter port with ``spleeter==2.4.2`` on the same checkpoint and input.

Creates (once) a throwaway venv outside the repository (default ``/tmp/baseline-dub-spleeter-venv``)
with ``spleeter==2.4.2`` and its own tensorflow from PyPI, then in that venv:
  1. builds Spleeter's own 2stems graph (``EstimatorSpecBuilder``), randomises every batch-norm
     statistic and bias (kernels keep Spleeter's he_uniform init), saves a TF checkpoint and packs
     it like Deezer's release (``2stems.tar.gz``);
  2. separates the input with Spleeter's ``Separator`` from that checkpoint.
Back in the project's venv (no TensorFlow) the same tarball is converted by the project's converter
(``models.converters.spleeter.convert_deezer``, its own checkpoint reader), the graph's variables are
compared with Deezer's real release index (``../shared/data/real/spleeter_2stems_release``), the port
separates the same input from the converted weights, and the agreement per stem is printed as SNR in
dB (target: 40 dB or better).

Usage: ``.venv/bin/python bench/spleeter_parity.py [--seconds 8] [--venv DIR]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPLEETER_SIDE = r"""
import json, sys, tarfile
from pathlib import Path
import numpy as np
import tensorflow as tf
from spleeter.model import EstimatorSpecBuilder
from spleeter.separator import Separator
from spleeter.utils.configuration import load_configuration

work = Path(sys.argv[1])
model_dir = work / "2stems"
model_dir.mkdir()
params = load_configuration("spleeter:2stems")
params["model_dir"] = str(model_dir)
params["MWF"] = False
rng = np.random.default_rng(0)
graph = tf.Graph()
with graph.as_default():
    features = {"waveform": tf.compat.v1.placeholder(tf.float32, (None, 2)),
                "audio_id": tf.compat.v1.placeholder(tf.string)}
    EstimatorSpecBuilder(features, params).outputs  # builds the graph
    tf.compat.v1.train.get_or_create_global_step()
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        for v in tf.compat.v1.global_variables():
            name, shape = v.op.name, v.shape.as_list()
            if name.endswith("moving_variance"):
                v.load(rng.uniform(0.5, 2.0, shape), sess)
            elif name.endswith(("moving_mean", "beta", "bias")):
                v.load(rng.normal(0.0, 0.1, shape), sess)
            elif name.endswith("gamma"):
                v.load(rng.uniform(0.5, 1.5, shape), sess)
        tf.compat.v1.train.Saver().save(sess, str(model_dir / "model"))
        names = sorted(v.op.name for v in tf.compat.v1.global_variables())
(model_dir / ".probe").write_text("OK")
archive = work / "2stems.tar.gz"
with tarfile.open(archive, "w:gz") as tar:
    for f in sorted(model_dir.iterdir()):
        if f.name != ".probe":
            tar.add(f, arcname=f.name)
(work / "params.json").write_text(json.dumps(params))
wave = np.load(work / "input.npy")
out = Separator(str(work / "params.json"), MWF=False, multiprocess=False).separate(wave)
np.savez(work / "spleeter_out.npz", vocals=out["vocals"], accompaniment=out["accompaniment"])
print(json.dumps({"variables": len(names)}))
"""


def ensure_venv(venv: Path) -> Path:
    """The throwaway venv's python, creating it (spleeter==2.4.2 from PyPI) if needed."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import spleeter, tensorflow"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)  # spleeter 2.4.2 needs python < 3.12
    subprocess.run([str(python), "-m", "pip", "install", "-q", "spleeter==2.4.2"], check=True)
    return python


def test_input(seconds: float) -> np.ndarray:
    """A real mixture (Japanese speech + music, 0 dB) at 44.1 kHz stereo, ``(samples, 2)``."""
    from baseline_dub.audio import load_audio

    real = ROOT.parent / "shared" / "data" / "real"
    speech = load_audio(sorted((real / "ja_speech").glob("*.wav"))[-1]).to(44100, 2)
    music = load_audio(sorted((real / "music").glob("*.ogg"))[0]).to(44100, 2)
    n = int(seconds * 44100) + 333  # not a multiple of the hop
    s, m = speech.fit_length(n).samples, music.fit_length(n).samples
    mix = s + m * np.sqrt((s**2).mean() / (m**2).mean())
    return (0.5 * mix / np.abs(mix).max()).T.astype(np.float32)


def snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((ref - est).astype(np.float64) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "baseline-dub-spleeter-venv")
    args = parser.parse_args()

    from baseline_dub.audio import Audio
    from baseline_dub.config import SeparateConfig
    from baseline_dub.models.converters import tf_bundle
    from baseline_dub.models.converters.spleeter import convert_deezer, read_tf_checkpoint
    from baseline_dub.stages.separate import Separator, read_unet

    python = ensure_venv(args.venv)
    with tempfile.TemporaryDirectory(prefix="spleeter-parity-") as tmp:
        work = Path(tmp)
        wave = test_input(args.seconds)
        np.save(work / "input.npy", wave)
        t0 = time.perf_counter()
        proc = subprocess.run([str(python), "-c", SPLEETER_SIDE, str(work)], capture_output=True, text=True,
                              env={"PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin",
                                   "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": "1"})
        if proc.returncode != 0:
            sys.exit(f"spleeter side failed:\n{proc.stderr[-4000:]}")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"spleeter 2.4.2 graph: {info['variables']} variables; spleeter took {time.perf_counter() - t0:.1f} s")
        archive = work / "2stems.tar.gz"
        ours = {n: (a.dtype, a.shape) for n, a in read_tf_checkpoint(archive).items()}
        real = tf_bundle.read_index(ROOT.parent / "shared/data/real/spleeter_2stems_release/model.index").entries
        same = ours == {n: (e.dtype, e.shape) for n, e in real.items()}
        print(f"its variables (names, dtypes, shapes) {'equal' if same else 'DIFFER from'} Deezer's real release index")
        for stem in ("vocals", "accompaniment"):
            convert_deezer([archive], work / f"{stem}.safetensors", stem=stem)
        ref = np.load(work / "spleeter_out.npz")
        nets = [read_unet(str(work / f"{s}.safetensors")) for s in ("vocals", "accompaniment")]
        sep = Separator(nets[0], nets[1], "cpu", SeparateConfig(chunk_seconds=3600.0))
        stems = sep.separate(Audio(wave.T, 44100))
        print(f"input: {wave.shape[0] / 44100:.2f} s, 44.1 kHz stereo")
        for name, ours in (("vocals", stems.vocals), ("accompaniment", stems.backing)):
            theirs = ref[name]
            print(f"{name:13s} agreement SNR {snr_db(theirs, ours.samples.T):6.1f} dB "
                  f"(spleeter shape {theirs.shape}, port shape {ours.samples.T.shape})")


if __name__ == "__main__":
    main()
