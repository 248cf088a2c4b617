"""Every error a user can cause, each with a message that says what was wrong and what to do.

The command line prints ``error: <message>`` and exits non-zero for these; the split runner records
them per clip (``reason`` is a short machine-readable tag) and goes on with the next clip.
"""

from __future__ import annotations


class BaselineDubError(Exception):
    """Base class: a problem with the user's input, data, models or configuration."""

    reason = "error"

    def __init__(self, message: str, *, clip: str | None = None) -> None:
        self.clip = clip
        super().__init__(f"clip {clip}: {message}" if clip else message)


class ConfigError(BaselineDubError):
    """A configuration file or option is invalid."""

    reason = "bad_config"


class AudioError(BaselineDubError):
    """An audio file cannot be read, is empty, or cannot be written."""

    reason = "bad_audio"


class DataError(BaselineDubError):
    """The dataset (annotations, archive, sidecar) is malformed or incomplete."""

    reason = "bad_data"


class MissingAudioError(DataError):
    """A clip listed in the annotations has no audio in the data source."""

    reason = "missing_audio"


class MissingVideoError(DataError):
    """A clip has no video clip in the data source (``--video``): its audio dub is still written."""

    reason = "missing_video"


class UnsafeArchiveError(DataError):
    """An archive member would be written outside its folder (absolute path or ``..``)."""

    reason = "unsafe_archive"


class ModelMissingError(BaselineDubError):
    """One or more model weights are not in the model store."""

    reason = "model_missing"


class ChecksumError(BaselineDubError):
    """A weight file's sha256 differs from the registry: refused, never loaded."""

    reason = "checksum_mismatch"


class DownloadError(ModelMissingError):
    """A weight could not be downloaded: no network, refused, not found, interrupted (the message says which)."""

    reason = "download_failed"


class StageError(BaselineDubError):
    """A pipeline stage could not process a clip (the message says which stage and why)."""

    reason = "stage_error"
