"""The notebook toolchain (not for notebook authors: they import :mod:`ci_inpaint.notebooks`).

* :mod:`.runner` -- papermill runs with time limits, peak memory and the report;
* :mod:`.pairs` -- jupytext pairs: sync, checks, execute in place;
* :mod:`.cli` -- ``python -m ci_inpaint.notebooks run | sync | execute | check``.
"""
