"""MoCo pieces (DAF paper Eq. 1-2): momentum update in closed form, queue FIFO order and
wraparound, InfoNCE against a brute-force loop, exact state round trip."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ci_inpaint.losses.moco import KeyQueue, moco_loss, momentum_update


def _pair():
    torch.manual_seed(0)
    q, k = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), nn.Sequential(nn.Linear(3, 4),
                                                                            nn.BatchNorm1d(4))
    k[1].running_mean.fill_(7.0)
    return q, k


def test_momentum_update_closed_form_params_only():
    q, k = _pair()
    before = [p.clone() for p in k.parameters()]
    momentum_update(k, q, 0.9)
    for pk, pq, b in zip(k.parameters(), q.parameters(), before):
        torch.testing.assert_close(pk, 0.9 * b + 0.1 * pq)
    assert torch.all(k[1].running_mean == 7.0)  # buffers untouched
    # n updates with q fixed: theta_k = m^n theta_k0 + (1 - m^n) theta_q
    for _ in range(4):
        momentum_update(k, q, 0.9)
    w = 0.9**5
    torch.testing.assert_close(k[0].weight, w * before[0] + (1 - w) * q[0].weight)


def test_momentum_zero_copies_query_and_bad_m_refused():
    q, k = _pair()
    momentum_update(k, q, 0.0)
    assert all(torch.equal(a, b) for a, b in zip(k.parameters(), q.parameters()))
    with pytest.raises(ValueError, match="momentum"):
        momentum_update(k, q, 1.0)


def test_queue_fifo_order_and_wraparound():
    Q = KeyQueue(5, 2)
    keys = torch.nn.functional.normalize(torch.randn(8, 2), dim=1)
    Q.enqueue(keys[:3])
    torch.testing.assert_close(Q.keys[:3], keys[:3])
    assert int(Q.ptr) == 3
    Q.enqueue(keys[3:6])  # wraps: slots 3, 4, 0
    torch.testing.assert_close(Q.keys, torch.stack([keys[5], keys[1], keys[2], keys[3], keys[4]]))
    assert int(Q.ptr) == 1
    Q.enqueue(keys[6:8])  # the oldest (keys[1], keys[2]) go first
    torch.testing.assert_close(Q.keys, torch.stack([keys[5], keys[6], keys[7], keys[3], keys[4]]))


def test_queue_batch_larger_than_queue_keeps_newest_and_state_round_trip():
    Q = KeyQueue(3, 2, seed=1)
    keys = torch.nn.functional.normalize(torch.randn(7, 2), dim=1)
    Q.enqueue(keys)
    torch.testing.assert_close(Q.keys, keys[4:])  # the newest K, oldest at the pointer
    assert int(Q.ptr) == 0
    R = KeyQueue(3, 2, seed=2)
    R.load_state_dict(Q.state_dict())
    assert torch.equal(R.keys, Q.keys) and torch.equal(R.ptr, Q.ptr)
    with pytest.raises(ValueError, match="same queue size"):
        KeyQueue(4, 2).load_state_dict(Q.state_dict())


def test_moco_loss_against_brute_force_loop_and_gradients():
    torch.manual_seed(0)
    q = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    k = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    queue = torch.randn(9, 6, dtype=torch.float64)
    tau = 0.07
    loss = moco_loss(q, k, queue, tau)
    ref = 0.0
    for i in range(4):
        qi = (q[i] / q[i].norm()).detach()
        pos = math.exp((qi @ k[i].detach() / k[i].norm().detach()).item() / tau)
        neg = sum(math.exp((qi @ queue[j] / queue[j].norm()).item() / tau) for j in range(9))
        ref += -math.log(pos / (pos + neg)) / 4
    assert abs(loss.item() - ref) < 1e-9
    loss.backward()
    assert q.grad.abs().sum() > 0 and k.grad is None  # keys carry no gradient
