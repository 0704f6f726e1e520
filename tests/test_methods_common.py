"""ci_inpaint.methods.common: frozen / eval_mode restore state, also after an exception."""

import pytest
import torch
from torch import nn

from ci_inpaint.methods.common import eval_mode, frozen, generator_of


def _net():
    return nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout(0.1))


def test_frozen_restores_each_flag_after_exception():
    a, b = _net(), _net()
    a[0].bias.requires_grad_(False)  # a flag that was off stays off
    with pytest.raises(RuntimeError), frozen(a, None, b):
        assert not any(p.requires_grad for p in [*a.parameters(), *b.parameters()])
        raise RuntimeError("boom")
    assert a[0].weight.requires_grad and not a[0].bias.requires_grad
    assert all(p.requires_grad for p in b.parameters())


def test_frozen_nested_and_gradient_flows_through():
    d, g = nn.Linear(2, 1), nn.Linear(2, 2)
    with frozen(d):
        with frozen(d):
            pass
        assert not d.weight.requires_grad  # the inner exit restores the outer's state
        d(g(torch.ones(1, 2))).sum().backward()
    assert d.weight.requires_grad and d.weight.grad is None and g.weight.grad is not None


def test_eval_mode_restores_each_submodule_after_exception():
    net = _net().train()
    net[1].eval()  # one submodule already in eval mode
    with pytest.raises(ValueError), eval_mode(net):
        assert not any(m.training for m in net.modules())
        raise ValueError
    assert net.training and net[0].training and not net[1].training and net[2].training
    with eval_mode(net):
        with eval_mode(net[0]):
            pass
        assert not net[0].training
    assert net[0].training


def test_generator_of():
    g = nn.Linear(1, 1)

    class M:
        G = g

    class WithSampler:
        G = nn.Linear(1, 1)
        sampler = g

    class Run:
        method = M()

    assert generator_of(g) is g and generator_of(M()) is g and generator_of(Run()) is g
    assert generator_of(WithSampler()) is g
    with pytest.raises(TypeError):
        generator_of(object())
