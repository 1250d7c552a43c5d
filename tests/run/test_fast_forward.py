"""The fused forward (TorchScript + oneDNN Graph on CPU) equals the eager network, or is not used."""

import gc
import logging
import weakref

import pytest
import torch
import torchvision
from torch import nn

from generator.run.devices import bf16_supported
from generator.run.fast_forward import forward_for

CPU = torch.device("cpu")


def random_resnet18():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=20).eval().to(memory_format=torch.channels_last)


def batch(size, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(size, 3, 64, 64, generator=generator).contiguous(memory_format=torch.channels_last)


class CountingNetwork(nn.Module):
    """Python state in forward: a trace records the value of one call only."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x.mean(dim=(2, 3)) * self.calls


def test_fp32_fused_forward_equals_eager():
    model = random_resnet18()
    forward = forward_for(model, "fp32", CPU, (8, 3, 64, 64))
    assert isinstance(forward, torch.jit.ScriptModule)  # fused, not the eager fallback
    with torch.inference_mode():
        for seed in range(3):
            inputs = batch(8, seed=seed)
            expected = model(inputs)
            fused = forward(inputs)
            assert fused.dtype == torch.float32 and fused.shape == expected.shape
            torch.testing.assert_close(fused, expected, rtol=1e-5, atol=1e-5 * float(expected.abs().max()))
    assert forward_for(model, "fp32", CPU, (8, 3, 64, 64)) is forward  # traced once per module, precision, shape
    assert forward_for(model, "fp32", CPU, (4, 3, 64, 64)) is not forward


def test_fused_results_do_not_depend_on_what_ran_before():
    """Bit for bit: the first real call is not a profiling run, and other rows of a batch do not matter."""
    inputs = batch(8, seed=5)
    first_results = []
    for _ in range(2):
        model = random_resnet18()  # a fresh network: a fresh trace
        forward = forward_for(model, "fp32", CPU, inputs.shape)
        with torch.inference_mode():
            first_results.append(forward(inputs))
            again = forward(inputs)
            mixed = inputs.clone()
            mixed[4:] = batch(4, seed=6)
            partly_other = forward(mixed)
        assert torch.equal(first_results[-1], again)
        assert torch.equal(first_results[-1][:4], partly_other[:4])
    assert torch.equal(first_results[0], first_results[1])


@pytest.mark.skipif(not bf16_supported("cpu"), reason="this CPU has no native bfloat16")
def test_bf16_fused_forward_is_close_to_eager_autocast():
    model = random_resnet18()
    inputs = batch(8)
    forward = forward_for(model, "bf16", CPU, inputs.shape)
    assert isinstance(forward, torch.jit.ScriptModule)
    with torch.inference_mode():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            expected = model(inputs).float()
        exact = model(inputs)
        fused = forward(inputs).float()
    scale = float(exact.abs().max())
    assert float((fused - expected).abs().max()) <= 5e-2 * scale
    assert float((fused - exact).abs().max()) > 0  # it really ran in bfloat16
    assert forward is not forward_for(model, "fp32", CPU, inputs.shape)


def test_network_the_trace_cannot_capture_is_detected_and_runs_eagerly(caplog):
    model = CountingNetwork().eval()
    inputs = batch(4)
    with caplog.at_level(logging.WARNING, logger="generator.run.fast_forward"):
        forward = forward_for(model, "fp32", CPU, inputs.shape)
    assert "differs from the eager network" in caplog.text and "CountingNetwork" in caplog.text
    calls = model.calls
    with torch.inference_mode():
        torch.testing.assert_close(forward(inputs), inputs.mean(dim=(2, 3)) * (calls + 1))


def test_untraceable_network_runs_eagerly(monkeypatch, caplog):
    def fail(*args, **kwargs):
        raise RuntimeError("tracer cannot handle this")

    monkeypatch.setattr(torch.jit, "trace", fail)
    model = random_resnet18()
    inputs = batch(2)
    with caplog.at_level(logging.WARNING, logger="generator.run.fast_forward"):
        forward = forward_for(model, "fp32", CPU, inputs.shape)
    assert "cannot be traced" in caplog.text and "tracer cannot handle this" in caplog.text
    with torch.inference_mode():
        torch.testing.assert_close(forward(inputs), model(inputs))


def test_training_mode_network_is_not_traced(monkeypatch):
    monkeypatch.setattr(torch.jit, "trace", pytest.fail)
    model = random_resnet18().train()
    with torch.no_grad():
        forward = forward_for(model, "fp32", CPU, (2, 3, 64, 64))
        assert forward(batch(2)).shape == (2, 20)


def test_the_cache_does_not_keep_networks_alive():
    model = random_resnet18()
    forward_for(model, "fp32", CPU, (2, 3, 64, 64))
    eager_only = CountingNetwork().eval()
    forward_for(eager_only, "fp32", CPU, (2, 3, 64, 64))
    references = [weakref.ref(model), weakref.ref(eager_only)]
    del model, eager_only
    gc.collect()
    assert all(reference() is None for reference in references)
