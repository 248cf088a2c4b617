"""GPU check: every stage on the device against the CPU, batched speed, peak memory, nothing downloaded.

For the day a GPU is lent (within about 8 minutes on one GPU): it dubs the same inputs (sample clips and
real speech + music mixtures, as ``bench/pipeline_speed.py`` builds them) with the offline profile on the
CPU and on ``--device``, and prints the agreement of each stage's output (each stage consuming its own
device's upstream): separation SDR, diarization DER, identical translations, synthesis and final dub
SNR. It then times separation and Whisper decoding batched as ``--batch-clips`` 1, 8, 32 would batch
them, on the offline weights with both translate engines (openai-whisper, and ctranslate2 at its ``auto``
compute type: float16 on CUDA, float32 on the CPU) and on a random-weight openai-whisper of large-v2's exact
dimensions (fp16 on CUDA; the paper profile's beam 5, first temperature only), with peak GPU memory (peak
RSS on the CPU).
Every step checks ``--budget-seconds`` and is skipped, saying so, once it is spent.

    .venv/bin/python bench/gpu_check.py --device cuda
    .venv/bin/python bench/gpu_check.py --device cpu --budget-seconds 120 --clips 2 --batches 1 2 --large-layers 1

With ``--device cpu`` the "device" run is a second CPU run (the agreement then shows determinism), so
the script cannot rot where no GPU is lent (``tests/test_gpu_check.py`` runs it so).

It exits 1 when the device disagrees with the CPU beyond ``TOLERANCE`` (each line printed): stems SNR of
every clip at least 40 dB; DER of every clip at most 0.05; at least 90 % of the segments' texts identical
(openai-whisper decodes in fp16 on CUDA, so a rare token may differ); syntheses of identical texts at
least 30 dB SNR; the dubs of clips whose texts all agree at least 20 dB SNR; and no clip dubbed on one
side only.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))  # tests/support: the DER of the device's diarization against the CPU's
from pipeline_speed import inputs  # noqa: E402


def peak_memory(device: str) -> str:
    """Peak GPU memory since the last reset (CUDA), else the process's peak RSS."""
    import torch

    if device.startswith("cuda"):
        return f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
    return f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Agreement of two signals in dB (``inf`` when identical); different shapes give ``nan``."""
    from baseline_dub.report.metrics import sdr

    if reference.shape != estimate.shape:
        return float("nan")
    return float("inf") if np.array_equal(reference, estimate) else sdr(reference, estimate)


class Budget:
    """Seconds left of ``--budget-seconds``; ``run`` skips a step once they are spent."""

    def __init__(self, seconds: float) -> None:
        self.end = time.perf_counter() + seconds

    def run(self, name: str, step: Callable[[], None]) -> None:
        left = self.end - time.perf_counter()
        if left <= 0:
            print(f"{name}: skipped (budget spent)")
            return
        step()


@dataclass(frozen=True)
class Tolerance:
    """How far the device may stray from the CPU (the module docstring states the values)."""

    min_stems_snr_db: float = 40.0
    max_der: float = 0.05
    min_identical_texts: float = 0.9
    min_speech_snr_db: float = 30.0
    min_dub_snr_db: float = 20.0


TOLERANCE = Tolerance()


@dataclass(frozen=True)
class Agreement:
    """The device's worst agreement with the CPU per stage; ``None`` where there was nothing to compare."""

    clips: int
    dubbed_both: int
    stems_snr_db: float | None
    der: float | None
    identical_texts: float | None
    speech_snr_db: float | None
    dub_snr_db: float | None


def disagreements(measured: Agreement, tolerance: Tolerance = TOLERANCE) -> list[str]:
    """Every way ``measured`` falls outside ``tolerance``, one line each (empty: the device agrees).

    A ``nan`` (outputs of different shapes) is a disagreement; ``None`` (nothing to compare) is not."""
    out = []
    if measured.dubbed_both < measured.clips:
        out.append(f"{measured.clips - measured.dubbed_both} of {measured.clips} clips dubbed on one side only")
    checks = [("separate: stems SNR", measured.stems_snr_db, tolerance.min_stems_snr_db, "dB", True),
              ("diarize: DER", measured.der, tolerance.max_der, "", False),
              ("translate: identical texts", measured.identical_texts, tolerance.min_identical_texts, "", True),
              ("synthesize: speech SNR", measured.speech_snr_db, tolerance.min_speech_snr_db, "dB", True),
              ("remix: dub SNR", measured.dub_snr_db, tolerance.min_dub_snr_db, "dB", True)]
    for label, value, limit, unit, at_least in checks:
        if value is None:
            continue
        if np.isnan(value) or (value < limit if at_least else value > limit):
            out.append(f"{label} {value:.3f}{unit and ' ' + unit} is {'under' if at_least else 'over'} the "
                       f"tolerance {limit:g}{unit and ' ' + unit}")
    return out


def _worst(values: list[float], worst: Callable[[list[float]], float]) -> float | None:
    return worst(values) if values else None


def agreement(cpu_dubs: list, dev_dubs: list) -> Agreement:
    """Per-stage agreement of the device's dubs with the CPU's, worst clip first (printed and returned)."""
    from support.diarization import diarization_error_rate

    pairs = [(a, b) for a, b in zip(cpu_dubs, dev_dubs, strict=True) if hasattr(a, "audio") and hasattr(b, "audio")]
    print(f"agreement over {len(pairs)} clips dubbed on both (of {len(cpu_dubs)})")
    if not pairs:
        return Agreement(len(cpu_dubs), 0, None, None, None, None, None)
    sep = [min(snr_db(a.stems.vocals.samples, b.stems.vocals.samples),
               snr_db(a.stems.backing.samples, b.stems.backing.samples)) for a, b in pairs]
    der = [diarization_error_rate(list(a.segments), list(b.segments), collar=0.0, duration=a.source.duration)
           if a.segments else float(bool(b.segments)) for a, b in pairs]
    texts = [(x == y) for a, b in pairs for x, y in zip(a.texts, b.texts, strict=False)]
    synth = [snr_db(x.audio.samples, y.audio.samples) for a, b in pairs
             for x, y, same in zip(a.syntheses, b.syntheses, map(str.__eq__, a.texts, b.texts), strict=False)
             if same and x is not None and y is not None and x.audio is not None and y.audio is not None]
    remix = [snr_db(a.audio.samples, b.audio.samples) for a, b in pairs if a.texts == b.texts]
    print(f"  separate    stems SNR, worst clip   {min(sep):8.1f} dB")
    print(f"  diarize     DER, worst clip         {max(der):8.3f}  (segments {sum(len(a.segments) for a, _ in pairs)}"
          f" vs {sum(len(b.segments) for _, b in pairs)})")
    print(f"  translate   identical texts         {sum(texts)}/{len(texts)}")
    print(f"  synthesize  speech SNR, worst       {min(synth) if synth else float('nan'):8.1f} dB over {len(synth)}"
          " (identical texts)")
    print(f"  remix       dub SNR, worst clip     {min(remix) if remix else float('nan'):8.1f} dB over {len(remix)}"
          " (clips with identical texts)")
    return Agreement(len(cpu_dubs), len(pairs), min(sep), max(der), sum(texts) / len(texts) if texts else None,
                     _worst(synth, min), _worst(remix, min))


def time_separation(pipe, clips: list, batches: list[int]) -> None:
    """Separation seconds per batch of ``B`` clips (the U-Net batches across clips)."""
    import torch

    pipe.separator.separate_batch(clips[:1])  # warm-up
    for b in batches:
        batch = [clips[i % len(clips)] for i in range(b)]
        if pipe.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        pipe.separator.separate_batch(batch)
        if pipe.device.startswith("cuda"):
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        audio = sum(c.duration for c in batch)
        print(f"  separate   --batch-clips {b:3d}: {elapsed:7.2f} s, RTF {elapsed / audio:.4f}, "
              f"{b / elapsed:6.2f} clips/s, {peak_memory(pipe.device)}")


def time_whisper(label: str, make: Callable[[object], object], config, device: str, segments: list,
                 batches: list[int]) -> None:
    """Whisper decoding seconds for ``B`` segments in one batch (``translate.batch_size`` = ``B``);
    ``make(config)`` builds the engine's translator on an already loaded model."""
    import torch

    for b in batches:
        translator = make(dataclasses.replace(config, batch_size=b, cpu_batch_size=b))
        batch = [segments[i % len(segments)] for i in range(b)]
        if device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        out = translator.translate_batch(batch)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        print(f"  {label} --batch-clips {b:3d}: {elapsed:7.2f} s, {b / elapsed:6.2f} segments/s, "
              f"{sum(bool(r.text) for r in out)}/{b} with text, {peak_memory(device)}")


def base_engines(store, device: str) -> dict[str, Callable[[object], object]]:
    """``{label: make(config)}`` for the offline Whisper base on both engines, each model loaded once."""
    from baseline_dub.config import load_config
    from baseline_dub.stages.translate import WhisperTranslator, read_whisper_checkpoint
    from baseline_dub.stages.translate.ct2 import CT2Translator, ct2_folder, open_ct2_whisper, resolve_compute_type

    config = load_config("offline").translate
    model = read_whisper_checkpoint(store, config.model, device)
    compute = resolve_compute_type("auto", device)
    ct2 = open_ct2_whisper(ct2_folder(store, config), device, compute)
    return {"base     ": lambda cfg: WhisperTranslator(model, cfg, device),
            f"base-ct2 ({compute})": lambda cfg: CT2Translator(ct2, cfg, device, compute_type=compute)}


def large_v2_random(device: str, layers: int):
    """A random-weight Whisper of large-v2's exact dimensions (``layers`` per stack when reduced), fp16 on CUDA."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=1280, n_audio_head=20, n_audio_layer=layers,
                           n_vocab=51865, n_text_ctx=448, n_text_state=1280, n_text_head=20, n_text_layer=layers)
    torch.manual_seed(0)
    model = Whisper(dims).to(device)
    return (model.half() if device.startswith("cuda") else model).eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--budget-seconds", type=float, default=480.0)
    parser.add_argument("--clips", type=int, default=8, help="clips dubbed on both devices")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--large-layers", type=int, default=32, help="layers per stack of the large-v2 model")
    args = parser.parse_args(argv)

    import torch

    from baseline_dub.config import load_config
    from baseline_dub.pipeline import DubPipeline

    budget = Budget(args.budget_seconds)
    t0 = time.perf_counter()
    cpu = DubPipeline("offline", device="cpu", announce=False)
    dev = cpu if args.device == "cpu" else DubPipeline("offline", device=args.device, announce=False)
    name = torch.cuda.get_device_name(0) if dev.device.startswith("cuda") else "CPU"
    print(f"gpu_check: offline profile on {dev.device} ({name}) against the CPU; torch {torch.__version__}; "
          f"models loaded in {time.perf_counter() - t0:.1f} s")
    items = [item for _, item in inputs(6)][: args.clips]
    state: dict[str, list] = {}

    def dub_both() -> None:
        start = time.perf_counter()
        state["cpu"] = cpu.dub_batch(items)
        mid = time.perf_counter()
        state["dev"] = dev.dub_batch(items)
        print(f"dubbed {len(items)} clips: CPU {mid - start:.1f} s, {dev.device} {time.perf_counter() - mid:.1f} s")
        state["disagreements"] = disagreements(agreement(state["cpu"], state["dev"]))

    budget.run("agreement", dub_both)
    clips = [item.audio for item in items]
    print("separation, offline weights")
    budget.run("separation timing", lambda: time_separation(dev, clips, args.batches))
    segments = [seg for dub in state.get("cpu", []) if hasattr(dub, "audio")
                for seg in (dub.stems.vocals.slice(s.start, s.end) for s in dub.segments)] or clips
    print(f"Whisper, {len(segments)} distinct segments cycled")
    offline_translate = load_config("offline").translate
    for label, make in base_engines(dev.store, dev.device).items():
        budget.run(f"whisper {label.strip()} timing", lambda label=label, make=make: time_whisper(
            label, make, offline_translate, dev.device, segments, args.batches))
    paper = dataclasses.replace(load_config("paper").translate, temperatures=(0.0,))

    def large() -> None:
        model = large_v2_random(dev.device, args.large_layers)
        dtype = next(model.parameters()).dtype
        print(f"  random large-v2 dims ({args.large_layers} layers per stack), {dtype}, beam {paper.beam_size}")
        from baseline_dub.stages.translate import WhisperTranslator

        time_whisper("large-v2 ", lambda cfg: WhisperTranslator(model, cfg, dev.device), paper, dev.device,
                     segments, args.batches)

    budget.run("whisper large-v2 timing", large)
    print(f"gpu_check done in {time.perf_counter() - t0:.1f} s; {peak_memory(dev.device)}")
    failures = state.get("disagreements", [])
    for line in failures:
        print(f"DISAGREES: {line}")
    if "disagreements" not in state:
        print("agreement not measured (budget spent): nothing to judge")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
