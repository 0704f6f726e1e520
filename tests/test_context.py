"""The step-context protocol: the engine and the shared test double both implement it."""

from __future__ import annotations

import torch

from ci_inpaint.config import resolve_config
from ci_inpaint.context import StepContext
from ci_inpaint.engine import Engine
from ci_inpaint.methods import get_method
from ci_inpaint.testing import FakeContext


def test_engine_and_fake_implement_the_protocol(tmp_path):
    cls = get_method("toy_regression")
    cfg = resolve_config(cls.Config, "smoke", {"progress": "off"})
    eng = Engine(cls, cfg, tmp_path / "r")
    fake = FakeContext(eng.method)
    for ctx in (eng, fake):
        assert isinstance(ctx, StepContext)
        assert ctx.step == 0 and ctx.epoch == 0


def test_fake_context_steps_and_records_terms():
    cls = get_method("toy_regression")
    cfg = resolve_config(cls.Config, "smoke", {"noise": 0.0})
    m = cls(cfg, torch.device("cpu"))
    ds = m.train_set()
    batch = {"x": ds.x[:8], "y": ds.y[:8]}
    w0 = [p.detach().clone() for p in m.head.parameters()]
    seen = []
    ctx = FakeContext(m, before_step=lambda name, terms: seen.append((name, sorted(terms))))
    m.train_step(batch, ctx)
    assert ctx.calls == ["head", "body"] and seen == [("head", ["mse"]), ("body", ["body"])]
    assert any(not torch.equal(a, b) for a, b in zip(w0, m.head.parameters()))
