"""The experiment layer every notebook uses: grids of runs, statistics over seeds, claims.

* :func:`run_grid` -- variants x seeds, parallel worker processes, resumable (``grid``);
  :func:`train_run` / :func:`load_run` -- train, resume or load one run (``runs``);
* :func:`aggregate` -- mean, sample std (ddof = 1), n and a Student-t 95 % interval per group
  (``stats``);
* :func:`compare`, :func:`compare_paired`, :func:`bound`, :func:`best`, :func:`fact` -- claims with a three-way verdict
  (holds / inconclusive / does not hold) from intervals, with the paper's number beside ours
  (``claims``); :class:`Spec` + :func:`decide` -- a paper's claims declared as a list and
  decided by Welch and paired tests at once, each row with its power (detectable effect, seeds
  that would decide it).

One module per paper (``divco``) holds that paper's tables, figures and claims, and no training
logic (that is in ``ci_inpaint.methods``).
"""

from .claims import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    VERDICTS,
    Claim,
    Power,
    Reference,
    Spec,
    best,
    best_paired,
    bound,
    claim_rows,
    compare,
    compare_paired,
    decide,
    fact,
    paired_values,
    tally,
    welch,
)
from .grid import Cell, cells, read_cell, run_grid
from .runs import load_run, train_run
from .stats import LEVEL, Stat, aggregate, summarize, table_rows

__all__ = ["FAILS", "HOLDS", "INCONCLUSIVE", "LEVEL", "VERDICTS", "Cell", "Claim", "Power",
           "Reference", "Spec", "Stat", "decide", "aggregate", "best", "best_paired", "bound", "cells", "claim_rows", "compare",
           "compare_paired", "fact", "load_run", "paired_values",
           "read_cell", "run_grid", "summarize", "table_rows", "tally", "train_run", "welch"]
