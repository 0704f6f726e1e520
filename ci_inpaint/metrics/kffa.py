"""KFFA, the diversity measure of the ContrasFill paper (Li et al. 2022).

For each input, the mean angle (degrees) between the L2-normalised features of its samples,
over all unordered pairs, averaged over inputs. The paper measures it with a classifier other
than the one used in training; pass such features in.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ci_inpaint.errors import UserError


def kffa(features) -> float:
    """Mean pairwise feature angle in degrees; ``features`` is (inputs, samples, D)."""
    f = torch.as_tensor(features).to(torch.float64)
    if f.ndim != 3 or f.shape[1] < 2:
        raise UserError(f"kffa needs features (inputs, samples>=2, D), got {tuple(f.shape)}: "
                        "stack the features of every sample of each input")
    f = F.normalize(f.flatten(2), dim=-1)
    cos = (f @ f.transpose(1, 2)).clamp(-1.0, 1.0)  # (I, S, S) Gram matrices
    s = f.shape[1]
    iu = torch.triu_indices(s, s, offset=1, device=f.device)
    angles = torch.acos(cos[:, iu[0], iu[1]])  # (I, S(S-1)/2)
    return float(angles.mean(1).mean() * 180.0 / math.pi)
