"""Errors a user can fix. The CLI prints them as one line (no traceback) and exits non-zero."""


class UserError(Exception):
    """A problem with the user's input, data or files; the message names the problem and the fix."""


class ConfigError(UserError):
    """Unknown method/profile/key, or a value of the wrong type."""


class DataError(UserError):
    """Missing data root, empty folder, unreadable or too-small image, bad mask."""


class CheckpointError(UserError):
    """Corrupt or incompatible checkpoint, or a run directory that is not empty."""


class WeightsMissingError(UserError):
    """A pretrained file is not where it must lie; the message names file, path and URL."""


class NonFiniteLossError(RuntimeError):
    """A loss became NaN/Inf; the message names the step and the loss term."""


class StorageError(UserError):
    """The disk is full or the run directory cannot be written; names the path and the fix."""
