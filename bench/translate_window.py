"""Where the CTranslate2 translate stage's time goes, and what shrinking Whisper's 30 s window would buy.

Whisper's encoder always reads a 30 s log-mel window, however short the segment: on the CPU that one
pass costs more than the whole decode of a few seconds of speech. This script prints, over the same
segments as ``translate_engines.py`` (the real Japanese files, then the sample's diarized segments):

1. encoder seconds against greedy-decode seconds (the profile's prompt and token cap);
2. the encoder on a window cut to the segment (its length + 1 s, whisper.cpp's ``audio_ctx`` idea):
   seconds, and how many segments keep the 30 s window's text or turn repetitive (compression ratio
   over the profile's threshold), which is why the stage keeps the 30 s window;
3. packing: how many 30 s windows each clip's segments would fill if packed together (segments of one
   clip only: no clip may change another's result), against one window per segment now.

Usage: ``.venv/bin/python bench/translate_window.py [--profile offline]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from translate_engines import segment_sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    args = parser.parse_args(argv)

    import ctranslate2
    from whisper.tokenizer import get_tokenizer

    from baseline_dub.audio import Audio
    from baseline_dub.config import load_config
    from baseline_dub.models.store import Store
    from baseline_dub.stages.translate.base import token_cap
    from baseline_dub.stages.translate.batch import SAMPLE_RATE, WINDOW_SECONDS, compression_ratio, segment_mel
    from baseline_dub.stages.translate.ct2 import ct2_folder, open_ct2_whisper

    store = Store()
    config = load_config(args.profile, device="cpu")
    cfg = config.translate
    model = open_ct2_whisper(ct2_folder(store, cfg), "cpu", "float32")
    tokenizer = get_tokenizer(True, num_languages=model.num_languages, language=cfg.language, task=cfg.task)
    prompt = list(tokenizer.sot_sequence_including_notimestamps)
    sets = segment_sets(config, store)
    print(f"profile {config.profile}, CTranslate2 float32 on the CPU ({os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f}); {sum(len(s) for _, s in sets)} segments in {len(sets)} files/clips")

    def run(mel: np.ndarray, seconds: float, frames: int) -> tuple[float, float, str]:
        t0 = time.perf_counter()
        window = np.ascontiguousarray(mel[None, :, :frames])
        encoded = model.encode(ctranslate2.StorageView.from_array(window), to_cpu=True)
        t1 = time.perf_counter()
        result = model.generate(encoded, [prompt], beam_size=1, suppress_blank=True,
                                max_length=len(prompt) + token_cap(cfg, seconds))
        t2 = time.perf_counter()
        text = tokenizer.decode([t for t in result[0].sequences_ids[0] if t < tokenizer.eot]).strip()
        return t1 - t0, t2 - t1, text

    def mel_of(audio: Audio) -> tuple[np.ndarray, float]:
        samples = audio.to(SAMPLE_RATE, 1).samples[0][: int(WINDOW_SECONDS * SAMPLE_RATE)]
        return segment_mel(samples, model.n_mels).numpy().astype(np.float32), samples.size / SAMPLE_RATE

    full_frames = int(WINDOW_SECONDS * 100)
    run(*mel_of(sets[0][1][0]), full_frames)  # warm-up
    totals = np.zeros(3)
    same = repetitive = count = 0
    for _, segs in sets:
        for audio in segs:
            mel, seconds = mel_of(audio)
            frames = min(full_frames, 2 * int(np.ceil((seconds + 1.0) * 50)))
            enc, dec, text = run(mel, seconds, full_frames)
            short_enc, _, short_text = run(mel, seconds, frames)
            totals += (enc, dec, short_enc)
            count += 1
            same += short_text == text
            repetitive += compression_ratio(short_text) > cfg.compression_ratio_threshold
    enc, dec, short_enc = totals
    print(f"\n1. 30 s window: encoder {enc:.1f} s ({enc / count:.2f} s a segment), greedy decode {dec:.1f} s "
          f"({dec / count:.2f} s a segment): the encoder is {enc / (enc + dec):.0%} of the stage")
    print(f"2. window cut to the segment: encoder {short_enc:.1f} s ({enc / short_enc:.1f}x faster); "
          f"same text as the 30 s window {same}/{count}, repetitive {repetitive}/{count}")
    windows = 0
    clips = [(name, segs) for name, segs in sets if name.startswith("sample:")]
    for _, segs in clips:
        filled = 0.0
        windows += 1
        for audio in segs:
            if filled and filled + audio.duration > WINDOW_SECONDS:
                windows, filled = windows + 1, 0.0
            filled += audio.duration
    n = sum(len(s) for _, s in clips)
    print(f"3. packing one clip's segments: {len(clips)} sample clips, {n} segments "
          f"({n / max(1, len(clips)):.1f} a clip) would fill {windows} windows instead of {n}: "
          f"{n / max(1, windows):.2f}x fewer encoder passes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
