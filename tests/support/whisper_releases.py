"""Whisper releases as the registry fetches them, scaled down: OpenAI's ``.pt`` and faster-whisper's CTranslate2
folder of one tiny Whisper, and the registry entries that name them.

- ``write_ct2_folder``: a CTranslate2 Whisper folder written by CTranslate2's own model spec (the writer its
  converters use, so ``model.bin`` is in the released binary format), float16 as Systran's conversions are, from an
  openai-whisper checkpoint. A 99-language Whisper gets the layout of Systran's tiny ... large-v2 folders:
  ``config.json``, ``model.bin`` and the real ``tokenizer.json`` and ``vocabulary.txt`` (Systran's tiny, small and
  medium ship the very files of the packaged base, by the registry's pins); a 100-language one (large-v3's
  128 mel bins) that of large-v3: ``vocabulary.json`` and ``preprocessor_config.json`` beside them.
- ``release_registry``: the real registry with the entries of one release pointed at stand-ins: the ``.pt``
  entry's sha256 (its URL in ``whisper._MODELS`` is the test server's), the CT2 entry's per-file sha256s and
  ``sha256_tree``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from whisper.model import ModelDimensions

from baseline_dub.models.store import ModelEntry, sha256_file, sha256_tree
from support.paper_models import whisper_languages

V3_PREPROCESSOR = {"chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 128,
                   "hop_length": 160, "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000,
                   "padding_side": "right", "padding_value": 0.0, "processor_class": "WhisperProcessor",
                   "return_attention_mask": False, "sampling_rate": 16000}


def _vocabulary(base_folder: Path, languages: int) -> list[str]:
    """The CTranslate2 vocabulary of a Whisper knowing ``languages`` languages: the packaged base's for 99, else
    its 50,257 text tokens and openai-whisper's special tokens (``<|yue|>`` and ``<|nospeech|>`` for 100)."""
    import whisper.tokenizer

    base = (base_folder / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
    if languages == 99:
        return base
    encoding = whisper.tokenizer.get_tokenizer(True, num_languages=languages).encoding
    return base[:50257] + [t for t, _ in sorted(encoding._special_tokens.items(), key=lambda item: item[1])]


def _fused(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts, axis=0)


def _attention(spec, sd: dict[str, np.ndarray], prefix: str, cross: bool) -> None:
    """openai-whisper's query/key/value/out projections as CTranslate2's fused linears (no key bias)."""
    q, k, v, o = (f"{prefix}.{n}" for n in ("query", "key", "value", "out"))
    zero = np.zeros_like(sd[f"{q}.bias"])
    if cross:
        spec.linear[0].weight, spec.linear[0].bias = sd[f"{q}.weight"], sd[f"{q}.bias"]
        spec.linear[1].weight = _fused(sd[f"{k}.weight"], sd[f"{v}.weight"])
        spec.linear[1].bias = _fused(zero, sd[f"{v}.bias"])
    else:
        spec.linear[0].weight = _fused(sd[f"{q}.weight"], sd[f"{k}.weight"], sd[f"{v}.weight"])
        spec.linear[0].bias = _fused(sd[f"{q}.bias"], zero, sd[f"{v}.bias"])
    spec.linear[-1].weight, spec.linear[-1].bias = sd[f"{o}.weight"], sd[f"{o}.bias"]


def _norm(spec, sd: dict[str, np.ndarray], prefix: str) -> None:
    spec.gamma, spec.beta = sd[f"{prefix}.weight"], sd[f"{prefix}.bias"]


def _block(layer, sd: dict[str, np.ndarray], prefix: str, decoder: bool) -> None:
    _attention(layer.self_attention, sd, f"{prefix}.attn", cross=False)
    _norm(layer.self_attention.layer_norm, sd, f"{prefix}.attn_ln")
    if decoder:
        _attention(layer.attention, sd, f"{prefix}.cross_attn", cross=True)
        _norm(layer.attention.layer_norm, sd, f"{prefix}.cross_attn_ln")
    layer.ffn.linear_0.weight, layer.ffn.linear_0.bias = sd[f"{prefix}.mlp.0.weight"], sd[f"{prefix}.mlp.0.bias"]
    layer.ffn.linear_1.weight, layer.ffn.linear_1.bias = sd[f"{prefix}.mlp.2.weight"], sd[f"{prefix}.mlp.2.bias"]
    _norm(layer.ffn.layer_norm, sd, f"{prefix}.mlp_ln")


def write_ct2_folder(checkpoint: dict, folder: Path, base_folder: Path) -> Path:
    """``checkpoint`` (openai-whisper's ``{"dims", "model_state_dict"}``) as a CTranslate2 folder in ``folder``,
    laid out as the released conversion of its kind (see the module's docstring); ``base_folder`` is the packaged
    base's CTranslate2 folder (its vocabulary, tokenizer and decoding settings)."""
    import whisper.tokenizer
    from ctranslate2.specs.whisper_spec import WhisperSpec

    dims = ModelDimensions(**checkpoint["dims"])
    sd = {k: v.float().numpy() for k, v in checkpoint["model_state_dict"].items()}
    spec = WhisperSpec(dims.n_audio_layer, dims.n_audio_head, dims.n_text_layer, dims.n_text_head)
    enc, dec = spec.encoder, spec.decoder
    for conv in ("conv1", "conv2"):
        getattr(enc, conv).weight, getattr(enc, conv).bias = sd[f"encoder.{conv}.weight"], sd[f"encoder.{conv}.bias"]
    enc.position_encodings.encodings = sd["encoder.positional_embedding"]
    _norm(enc.layer_norm, sd, "encoder.ln_post")
    for i, layer in enumerate(enc.layer):
        _block(layer, sd, f"encoder.blocks.{i}", decoder=False)
    dec.embeddings.weight = sd["decoder.token_embedding.weight"]
    dec.position_encodings.encodings = sd["decoder.positional_embedding"]
    _norm(dec.layer_norm, sd, "decoder.ln")
    dec.projection.weight = sd["decoder.token_embedding.weight"]
    for i, layer in enumerate(dec.layer):
        _block(layer, sd, f"decoder.blocks.{i}", decoder=True)
    languages = whisper_languages(dims)
    tokenizer = whisper.tokenizer.get_tokenizer(True, num_languages=languages)
    base_config = json.loads((base_folder / "config.json").read_text())
    shift = languages - 99  # large-v3's one more language moves every later special token by one
    spec.config.suppress_ids = [i + shift if i >= 50358 else i for i in base_config["suppress_ids"]]
    spec.config.suppress_ids_begin = [220, tokenizer.eot]
    spec.config.lang_ids = list(tokenizer.all_language_tokens)
    spec.config.alignment_heads = [[dims.n_text_layer - 1, h] for h in range(dims.n_text_head)]
    spec.register_vocabulary(_vocabulary(base_folder, languages))
    spec.validate()
    spec.optimize(quantization="float16")
    folder.mkdir(parents=True, exist_ok=True)
    spec.save(str(folder))
    shutil.copyfile(base_folder / "tokenizer.json", folder / "tokenizer.json")
    if languages == 99:  # Systran's tiny ... large-v2: vocabulary.txt, no preprocessor_config.json
        (folder / "vocabulary.json").unlink()
        shutil.copyfile(base_folder / "vocabulary.txt", folder / "vocabulary.txt")
    else:
        (folder / "preprocessor_config.json").write_text(json.dumps(V3_PREPROCESSOR, indent=2) + "\n")
    return folder


def release_registry(registry: dict[str, ModelEntry], release: str, pt: Path | None = None,
                     ct2: Path | None = None) -> dict[str, ModelEntry]:
    """``registry`` with Whisper ``release``'s entries pinned to the stand-ins: the ``.pt`` entry's sha256 to
    ``pt``'s, the CTranslate2 folder entry's ``files`` (every file of ``ct2``, each with its sha256) and its
    ``sha256_tree``. The CT2 entry keeps its repository and revision: a test serves the files there."""
    out = dict(registry)
    for name, entry in registry.items():
        if entry.whisper != release:
            continue
        if pt is not None and entry.kind == "whisper":
            out[name] = dataclasses.replace(entry, sha256=sha256_file(pt))
        elif ct2 is not None and entry.kind == "hf":
            files = {p.name: sha256_file(p) for p in sorted(ct2.iterdir())}
            out[name] = dataclasses.replace(entry, sha256=sha256_tree(ct2), source={**entry.source, "files": files})
    return out


def save_checkpoint(checkpoint: dict, path: Path) -> Path:
    """``torch.save`` of ``checkpoint`` at ``path`` (its folder made), as OpenAI's ``.pt`` files are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path
