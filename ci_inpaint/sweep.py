"""Moved to :mod:`ci_inpaint.toolchain.sweep`; this name stays for notebooks and scripts that
import ``ci_inpaint.sweep`` (01_divco's Fig. 7 cell)."""

from .toolchain.sweep import *  # noqa: F403
from .toolchain.sweep import __all__  # noqa: F401
