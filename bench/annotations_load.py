"""Load time and peak memory of a synthetic Anim-400K-sized (~266 MB) annotations JSON.

Builds the file in a temporary folder (realistic structure: show metadata, characters, episodes with
ratings, clips with Japanese/English ASR text and ``\\uXXXX``-escaped Japanese as ``json.dump`` writes
it), then loads it in fresh processes: one split, all splits, and ``Dataset.open`` with all splits.
Each child reports its wall time and peak RSS (``resource.getrusage``, ru_maxrss) above an import-only
baseline. Usage: ``python bench/annotations_load.py [--mb 266] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

CHILD = """
import resource, sys, time
from baseline_dub.data.annotations import load_annotations
from baseline_dub.data.dataset import Dataset
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
case, path = sys.argv[1], sys.argv[2]
if case == "test":
    clips, skipped = load_annotations(path, ["test"])
elif case == "all":
    clips, skipped = load_annotations(path)
else:
    ds = Dataset.open(annotations=path)
    clips, skipped = {s: ds.clips(s) for s in ds.splits()}, ds.skipped
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(elapsed, base, peak, sum(len(v) for v in clips.values()), len(skipped))
"""

JP_WORDS = ["ねえ", "今日", "一緒に", "帰ろう", "大丈夫", "本当に", "ありがとう", "待って", "先生", "やっぱり"]
EN_WORDS = ["hey", "today", "together", "home", "okay", "really", "thanks", "wait", "teacher", "right"]


def uid(rng: random.Random) -> str:
    u = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return f"{u[:2]}/{u}"


def ts(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def make_show(rng: random.Random, n: int, clips_per_episode: int) -> dict:
    episodes = {}
    for ep in range(1, 25):
        clips, pos = [], 30.0
        for _ in range(clips_per_episode):
            dur = rng.uniform(2, 9)
            jp = "、".join(rng.choices(JP_WORDS, k=rng.randint(2, 6))) + "。"
            en = " ".join(rng.choices(EN_WORDS, k=rng.randint(3, 10))).capitalize() + "."
            clips.append({"jp_clip": uid(rng), "en_clip": uid(rng), "jp_text": jp, "en_text": en,
                          "jp_start_time": ts(pos), "jp_end_time": ts(pos + dur),
                          "en_start_time": ts(pos + 0.4), "en_end_time": ts(pos + dur + 0.7),
                          "speakers": [f"SPEAKER_{rng.randint(0, 9):02d}" for _ in range(rng.choice((1, 1, 2)))]})
            pos += dur + rng.uniform(1, 20)
        episodes[str(ep)] = {"url": f"https://myanimelist.net/anime/{n}/x/episode/{ep}",
                             "ratings": {str(s): {"ratio": 20.0, "number_of_voters": 10.0} for s in range(1, 6)},
                             "jp_video_id": uid(rng), "en_video_id": uid(rng),
                             "synopsis": "An episode synopsis. " * 10, "clips": clips}
    characters = {f"Character {i}": {"description": "A character description. " * 20, "role": "Main",
                                     "pic_urls": [str(rng.getrandbits(32)) for _ in range(3)],
                                     "Voice Actors": ["Voice Actor A", "Voice Actor B"]} for i in range(15)}
    return {"show": f"Show {n}", "season": f"Show {n} Season 1", "link": f"https://myanimelist.net/anime/{n}",
            "type": "TV", "status": "Finished Airing", "genres": ["Action", "Comedy"], "themes": ["School"],
            "score": 7.5, "scored_by": 10000, "rank": n, "popularity": n, "members": 100000,
            "favorites": 1000, "episode_num": 24, "aired": "Apr 1, 2020 to Sep 20, 2020",
            "premiered": "Spring 2020", "broadcast": "Sundays at 01:00 (JST)", "producers": ["A", "B"],
            "licensors": ["Funimation"], "studios": ["Studio"], "source": "Manga", "avg_duration": "24 min.",
            "rating": "PG-13", "related_anime": {"Sequel": ["Show 2"]}, "opening_themes": ["Song"] * 2,
            "ending_themes": ["Song"] * 2, "staff": ["Person (Director)"] * 10,
            "background": "Background. " * 30, "synopsis": "Synopsis. " * 60, "characters": characters,
            "episodes": episodes}


def build(path: Path, megabytes: float) -> tuple[float, int]:
    """Write the file show by show (80/10/10 train/val/test) until it reaches ``megabytes``."""
    rng = random.Random(0)
    clips_per_episode = 90
    one = len(json.dumps(make_show(random.Random(1), 0, clips_per_episode)))
    shows = max(10, round(megabytes * 1e6 / one))
    n_clips = 0
    with path.open("w") as fh:
        fh.write("{")
        bounds = {"train": (0, int(shows * 0.8)), "val": (int(shows * 0.8), int(shows * 0.9)),
                  "test": (int(shows * 0.9), shows)}
        for k, (split, (a, b)) in enumerate(bounds.items()):
            fh.write(("," if k else "") + json.dumps(split) + ":[")
            for i in range(a, b):
                fh.write(("," if i > a else "") + json.dumps(make_show(rng, i, clips_per_episode)))
                n_clips += 24 * clips_per_episode
            fh.write("]")
        fh.write("}")
    return path.stat().st_size / 1e6, n_clips


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=266.0, help="target file size in MB (default 266)")
    parser.add_argument("--keep", type=Path, default=None, help="write the file here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = (args.keep or Path(tmp)) / "anim400k_annotations_synthetic.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        size, n_clips = build(path, args.mb)
        print(f"built {path.name}: {size:.1f} MB, {n_clips} clips in {time.perf_counter() - t:.1f} s")
        print(f"{'case':10s} {'clips':>8s} {'skipped':>8s} {'seconds':>8s} {'peak RSS MB':>12s} "
              f"{'above import MB':>16s}")
        for case in ("test", "all", "dataset"):
            out = subprocess.run([sys.executable, "-c", CHILD, case, str(path)], capture_output=True,
                                 text=True, check=True).stdout.split()
            elapsed, base, peak, count, skipped = float(out[0]), int(out[1]), int(out[2]), int(out[3]), int(out[4])
            print(f"{case:10s} {count:8d} {skipped:8d} {elapsed:8.1f} {peak / 1024:12.0f} {(peak - base) / 1024:16.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
