"""Offline diarization: pyannote segmentation-3.0 (ONNX) + Resemblyzer embeddings + clustering.

Our own re-implementation of the idea of pyannote.audio's ``SpeakerDiarization`` pipeline:

1. the 16 kHz clip is cut into 10 s windows every ``window_step_seconds`` (the last one aligned to the
   end; a clip under 10 s is zero-padded), and the ONNX model gives 589 frames x 7 powerset classes
   ({}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}) per window; the most likely class per frame is decoded
   into three binary local-speaker tracks;
2. each local speaker with enough speech (``min_embedding_seconds``, its non-overlapped frames first)
   is embedded with Resemblyzer from that window's audio where it is active;
3. the embeddings are clustered by average-linkage agglomerative clustering on cosine distance, into
   exactly ``num_speakers`` clusters when the hint is given; without it the tree is cut at
   ``clustering_threshold``, then into one more cluster at a time while two local speakers of one window
   share a cluster: the segmentation model heard two voices there, so there are at least two speakers.
   (Measured on the ten J-Moshi dialogues of ``../shared/data/real/ja_dialogue``: every window holding two
   embedded local speakers is a real two-person window, every single-speaker file gives one local speaker
   per window, and the threshold alone merged seven of the ten dialogues' two voices; bench/diarization_der.py);
4. in each window, local speakers are matched to clusters one-to-one (Hungarian assignment on cosine
   similarity to the cluster centroids; a local speaker left over when there are fewer clusters goes to
   its nearest centroid, so no speech is lost), and global activity is rebuilt frame by frame: the number of
   simultaneous speakers is the rounded mean over the windows covering the frame, and that many
   clusters with the largest summed activity are kept (pyannote's ``reconstruct``);
5. runs of active frames become raw turns, which ``diarize.clean_segments`` turns into segments;
6. ``split_into_voices``: when ``num_speakers`` is given and fewer speakers survive ``clean_segments``
   (in a short clip one local speaker of the segmentation model often covers both voices, so there is
   one embedding to cluster; or a speaker's only turns are too short), ``Diarizer`` asks for a split: the
   speech frames are cut into pieces of about ``piece_seconds`` (each run of speech into equal parts), each
   piece is embedded and the pieces are clustered into ``num_speakers`` (then one fewer, ...) clusters;
   the first split whose clusters are all distinct voices (every pair of centroids under
   ``same_voice_cosine``) is returned, and ``Diarizer`` keeps it if more speakers survive its rules. If
   none is, the clip really holds fewer voices and the turns stand (``Diarizer`` says why).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np

from baseline_dub.audio import Audio
from baseline_dub.config import Config
from baseline_dub.models.store import Store
from baseline_dub.stages.diarize.runs import mask_runs
from baseline_dub.stages.speaker import SpeakerEncoder, load_speaker_encoder
from baseline_dub.stages.types import Segment

RATE = 16000
WINDOW = 160000
FRAME_STEP = 270
FRAME_SPAN = 991
N_LOCAL = 3


def powerset_to_multilabel(log_probs: np.ndarray, n_speakers: int = N_LOCAL, max_set: int = 2) -> np.ndarray:
    """Hard decoding of powerset outputs ``(..., classes)``: the argmax class as binary speaker tracks.

    Classes are ordered as pyannote's ``Powerset``: the empty set, then every single speaker, then
    every pair, ... up to ``max_set`` speakers at once.
    """
    sets = [()] + [c for k in range(1, max_set + 1) for c in combinations(range(n_speakers), k)]
    mapping = np.zeros((len(sets), n_speakers), dtype=np.float32)
    for i, members in enumerate(sets):
        mapping[i, list(members)] = 1.0
    if log_probs.shape[-1] != len(sets):
        raise ValueError(f"expected {len(sets)} powerset classes, got {log_probs.shape[-1]}")
    return mapping[np.argmax(log_probs, axis=-1)]


def window_starts(n_samples: int, step_seconds: float) -> list[int]:
    """Window starts in samples, on the model's frame grid, the last window ending at the clip end."""
    step = max(FRAME_STEP, int(round(step_seconds * RATE / FRAME_STEP)) * FRAME_STEP)
    if n_samples <= WINDOW:
        return [0]
    starts = list(range(0, n_samples - WINDOW + 1, step))
    last = int(np.ceil((n_samples - WINDOW) / FRAME_STEP)) * FRAME_STEP
    if starts[-1] < last:
        starts.append(last)
    return starts


class OfflineBackend:
    """Segmentation ONNX + speaker encoder + clustering; implements ``diarize.Backend``."""

    def __init__(self, segmentation: Path, encoder: SpeakerEncoder, step_seconds: float = 2.0,
                 threshold: float = 0.7, min_embedding_seconds: float = 0.5, batch_size: int = 8,
                 piece_seconds: float = 0.75, same_voice_cosine: float = 0.8) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(segmentation), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.encoder = encoder
        self.step_seconds = step_seconds
        self.threshold = threshold
        self.min_embedding_seconds = min_embedding_seconds
        self.batch_size = max(1, batch_size)
        self.piece_seconds = piece_seconds
        self.same_voice_cosine = same_voice_cosine

    def segment(self, wav: np.ndarray) -> tuple[list[int], np.ndarray]:
        """Window starts and binary local activity ``(windows, 589, 3)`` for 16 kHz mono samples."""
        starts = window_starts(wav.size, self.step_seconds)
        padded = np.pad(wav, (0, max(0, starts[-1] + WINDOW - wav.size))).astype(np.float32)
        chunks = np.stack([padded[s:s + WINDOW] for s in starts])[:, None, :]
        outs = [self.session.run(None, {self.input_name: chunks[i:i + self.batch_size]})[0]
                for i in range(0, len(chunks), self.batch_size)]
        return starts, powerset_to_multilabel(np.concatenate(outs))

    def _embed_locals(self, wav: np.ndarray, starts: list[int], active: np.ndarray) -> tuple[list, np.ndarray]:
        """Embeddings of each (window, local speaker) with enough speech; ``keys`` say whose."""
        min_frames = self.min_embedding_seconds * RATE / FRAME_STEP
        keys: list[tuple[int, int]] = []
        audios: list[Audio] = []
        for c, start in enumerate(starts):
            alone = active[c] * (active[c].sum(axis=1, keepdims=True) == 1)
            for k in range(N_LOCAL):
                mask = alone[:, k] if alone[:, k].sum() >= min_frames else active[c, :, k]
                if mask.sum() < min_frames:
                    continue
                frames = np.flatnonzero(mask)
                samples = np.concatenate([wav[start + f * FRAME_STEP: start + (f + 1) * FRAME_STEP] for f in frames])
                if samples.size and np.any(samples):
                    keys.append((c, k))
                    audios.append(Audio(samples, RATE))
        return keys, self.encoder.embed_many(audios) if audios else np.zeros((0, 256), np.float32)

    def _cluster(self, embeddings: np.ndarray, windows: np.ndarray, num_speakers: int | None) -> np.ndarray:
        """Step 3: cluster labels of the local-speaker embeddings; ``windows`` says each one's window."""
        from scipy.cluster.hierarchy import fcluster, linkage

        if len(embeddings) == 1:
            return np.zeros(1, dtype=int)
        tree = linkage(embeddings, method="average", metric="cosine")
        if num_speakers:
            labels = fcluster(tree, t=min(num_speakers, len(embeddings)), criterion="maxclust")
        else:
            labels = fcluster(tree, t=self.threshold, criterion="distance")
            while _shares_a_window(labels, windows) and labels.max() < len(embeddings):
                labels = fcluster(tree, t=int(labels.max()) + 1, criterion="maxclust")
        return np.unique(labels, return_inverse=True)[1]

    def turns(self, vocals: Audio, num_speakers: int | None = None) -> list[Segment]:
        """Raw speaker turns (may overlap) of 16 kHz mono ``vocals``; see the module docstring."""
        from scipy.optimize import linear_sum_assignment

        wav = vocals.mono().resample(RATE).samples[0]
        if wav.size == 0:
            return []
        starts, active = self.segment(wav)
        keys, embeddings = self._embed_locals(wav, starts, active)
        if not keys:
            return []
        labels = self._cluster(embeddings, np.array([c for c, _ in keys]), num_speakers)
        n_clusters = int(labels.max()) + 1
        centroids = np.stack([embeddings[labels == j].mean(axis=0) for j in range(n_clusters)])
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)

        n_frames = int(np.ceil(wav.size / FRAME_STEP))
        offsets = [s // FRAME_STEP for s in starts]
        total = offsets[-1] + active.shape[1]
        activity = np.zeros((total, n_clusters), np.float32)
        count = np.zeros(total, np.float32)
        coverage = np.zeros(total, np.float32)
        by_window: dict[int, list[tuple[int, np.ndarray]]] = {}
        for (c, k), emb in zip(keys, embeddings, strict=True):
            by_window.setdefault(c, []).append((k, emb))
        for c, off in enumerate(offsets):
            span = slice(off, off + active.shape[1])
            count[span] += active[c].sum(axis=1)
            coverage[span] += 1
            local = by_window.get(c, [])
            if not local:
                continue
            sim = np.stack([emb for _, emb in local]) @ centroids.T
            rows, cols = linear_sum_assignment(-sim)
            target = np.argmax(sim, axis=1)
            target[rows] = cols
            for r, j in enumerate(target):
                activity[span, j] += active[c, :, local[r][0]]
        speakers_now = np.rint(count / np.maximum(coverage, 1)).astype(int)
        chosen = np.zeros_like(activity, dtype=bool)
        order = np.argsort(-activity, axis=1)
        for t in np.flatnonzero(speakers_now):
            top = order[t, : speakers_now[t]]
            chosen[t, top[activity[t, top] > 0]] = True
        chosen = chosen[:n_frames]
        return _runs_to_turns(chosen)

    def split_into_voices(self, vocals: Audio, speech: list[Segment], num_speakers: int) -> list[Segment] | None:
        """Step 6 of the module docstring: turns from pieces of ``speech`` clustered into voices.

        ``speech`` is where someone speaks (turns: any labels, may overlap; the frames they cover are cut
        into pieces, as the turns were made from frames); returns ``None`` when no split into two or more
        distinct voices exists (fewer pieces than voices, or clusters that are one voice).
        """
        from scipy.cluster.hierarchy import fcluster, linkage

        wav = vocals.mono().resample(RATE).samples[0]
        piece_frames = max(1, int(round(self.piece_seconds * RATE / FRAME_STEP)))
        mask = np.zeros(int(np.ceil(wav.size / FRAME_STEP)), dtype=bool)
        for turn in speech:
            mask[_frame_of(turn.start):_frame_of(turn.end)] = True
        spans: list[tuple[float, float]] = []
        for a, b in mask_runs(mask):
            parts = max(1, int(round((b - a) / piece_frames)))
            edges = np.linspace(a, b, parts + 1).round().astype(int)
            spans += [(_frame_start(x), _frame_start(y)) for x, y in zip(edges[:-1], edges[1:], strict=True) if y > x]
        audios = [Audio(wav[int(s * RATE):int(e * RATE)], RATE) for s, e in spans]
        keep = [i for i, a in enumerate(audios) if a.frames and np.any(a.samples)]
        if len(keep) < 2:
            return None
        embeddings = self.encoder.embed_many([audios[i] for i in keep])
        tree = linkage(embeddings, method="average", metric="cosine")
        for n in range(min(num_speakers, len(keep)), 1, -1):
            labels = np.unique(fcluster(tree, t=n, criterion="maxclust"), return_inverse=True)[1]
            centroids = np.stack([embeddings[labels == j].mean(axis=0) for j in range(int(labels.max()) + 1)])
            centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
            cosines = (centroids @ centroids.T)[np.triu_indices(len(centroids), 1)]
            if len(centroids) == n and np.all(cosines < self.same_voice_cosine):
                return [Segment(spans[i][0], spans[i][1], f"voice_{j}") for i, j in zip(keep, labels, strict=True)]
        return None



def load_offline_backend(config: Config, store: Store) -> OfflineBackend:
    """The offline backend of the profile's ``diarize`` section: the segmentation ONNX from the store and the
    shared ``speaker_model`` encoder on ``config.device``."""
    cfg = config.diarize
    return OfflineBackend(store.path(cfg.segmentation_model), load_speaker_encoder(config, store),
                          cfg.window_step_seconds, cfg.clustering_threshold, cfg.min_embedding_seconds,
                          cfg.batch_size, cfg.count_piece_seconds, cfg.count_same_voice_cosine)

def _shares_a_window(labels: np.ndarray, windows: np.ndarray) -> bool:
    """Whether two local speakers of one window (the segmentation model heard two voices) share a label."""
    return len(set(zip(windows.tolist(), labels.tolist(), strict=True))) < len(labels)


def _frame_start(frame: int) -> float:
    """Seconds at which frame ``frame``'s half-step-wide slot begins (the turns' time base)."""
    return max(0.0, (frame * FRAME_STEP + FRAME_SPAN / 2 - FRAME_STEP / 2) / RATE)


def _frame_of(seconds: float) -> int:
    """The frame whose slot begins at ``seconds`` (the inverse of ``_frame_start``), at least 0."""
    return max(0, int(round((seconds * RATE - FRAME_SPAN / 2 + FRAME_STEP / 2) / FRAME_STEP)))


def _runs_to_turns(chosen: np.ndarray) -> list[Segment]:
    """Contiguous active frames of each column -> ``Segment``s (frame centres +- half a step)."""
    turns = [Segment(_frame_start(a), _frame_start(b), f"cluster_{j}")
             for j in range(chosen.shape[1]) for a, b in mask_runs(chosen[:, j])]
    return sorted(turns, key=lambda s: (s.start, s.speaker))
