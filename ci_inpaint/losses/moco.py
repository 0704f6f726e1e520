"""MoCo pieces of the contrastive attention network's Siamese inference network (DAF paper, Sec. III-A).

* :func:`momentum_update` -- Eq. 2, theta_k <- m theta_k + (1 - m) theta_q, on *parameters only*
  (MoCo's code; buffers of E_k are its own), in place, one fused foreach op, no host sync.
  The paper's m = 0.9 (MoCo's usual 0.999 is a config option). m = 0 copies E_q into E_k.
* :class:`KeyQueue` -- the dictionary of keys (the paper's 65 536): a (K, D) FIFO ring whose
  write pointer stays a device tensor; :meth:`KeyQueue.enqueue` writes a batch at
  ``(ptr + arange(B)) % K`` in one indexed copy, so the oldest keys are replaced first and a
  batch may wrap around the end (K need not be a multiple of the batch, unlike MoCo's code).
  Initialised, as MoCo, with random unit vectors (seeded); ``state_dict`` / ``load_state_dict``
  carry queue and pointer for an exact resume.
* :func:`moco_loss` -- Eq. 1 on the shared InfoNCE core (:func:`ci_inpaint.losses.nce.info_nce`):
  logits [q.k+, q.queue] / tau, positive in column 0, cosines (q, k, queue L2-normalised),
  fp32 with autocast off, mean over the batch. Keys and queue carry no gradient (E_k is not
  trained by back-propagation, Sec. III-A).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ci_inpaint.losses.nce import info_nce, similarity


@torch.no_grad()
def momentum_update(key: nn.Module, query: nn.Module, m: float) -> None:
    """Eq. 2 in place: theta_k <- m theta_k + (1 - m) theta_q for every parameter (not buffers).

    ``key`` and ``query`` must have the same parameter list (E_k a copy of E_q's architecture).
    """
    if not 0.0 <= m < 1.0:
        raise ValueError(f"the momentum m must be in [0, 1), got {m}")
    pk, pq = list(key.parameters()), list(query.parameters())
    if len(pk) != len(pq) or any(a.shape != b.shape for a, b in zip(pk, pq)):
        raise ValueError("momentum_update: key and query encoders differ in their parameters")
    # lerp(k, q, 1 - m) = k + (1 - m)(q - k) = m k + (1 - m) q
    torch._foreach_lerp_([p.data for p in pk], [p.data for p in pq], 1.0 - m)


class KeyQueue:
    """A FIFO ring of K unit-norm keys of dimension D (MoCo's dictionary)."""

    def __init__(self, size: int, dim: int, device: torch.device | str = "cpu", seed: int = 0):
        if size < 1 or dim < 1:
            raise ValueError(f"KeyQueue needs size >= 1 and dim >= 1, got {size}, {dim}")
        gen = torch.Generator().manual_seed(seed)
        self.keys = F.normalize(torch.randn(size, dim, generator=gen), dim=1).to(device)
        self.ptr = torch.zeros((), dtype=torch.long, device=device)  # next slot to write

    def __len__(self) -> int:
        return self.keys.shape[0]

    @torch.no_grad()
    def enqueue(self, k: Tensor) -> None:
        """Write the batch ``k`` (B, D) over the B oldest keys (dequeue + enqueue in one copy).

        A batch larger than the queue keeps only its last K keys (the newest), as a FIFO would.
        """
        K = len(self)
        k = F.normalize(k.detach().to(self.keys.dtype), dim=1)[-K:]
        idx = (self.ptr + torch.arange(k.shape[0], device=self.keys.device)) % K
        self.keys[idx] = k
        self.ptr = (self.ptr + k.shape[0]) % K

    def state_dict(self) -> dict[str, Any]:
        return {"keys": self.keys.clone(), "ptr": self.ptr.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if tuple(state["keys"].shape) != tuple(self.keys.shape):
            raise ValueError(f"queue of shape {tuple(state['keys'].shape)} does not fit "
                             f"{tuple(self.keys.shape)}: resume with the same queue size and dim")
        self.keys = state["keys"].to(self.keys.device, self.keys.dtype).clone()
        self.ptr = state["ptr"].to(self.ptr.device).clone()


def moco_logits(q: Tensor, k: Tensor, queue: Tensor) -> Tensor:
    """Cosines (B, 1 + K): column 0 = q_i . k_i (the positive), then q_i . queue_j."""
    k, queue = k.detach(), queue.detach()
    return torch.cat([similarity(q, k[:, None]), similarity(q, queue)], dim=-1)


def moco_loss(q: Tensor, k: Tensor, queue: Tensor, tau: float = 0.07) -> Tensor:
    """Eq. 1: mean_i -log exp(q_i.k_i/tau) / (exp(q_i.k_i/tau) + sum_j exp(q_i.queue_j/tau))."""
    return info_nce(moco_logits(q, k, queue), tau=tau)


__all__ = ["KeyQueue", "moco_logits", "moco_loss", "momentum_update"]
