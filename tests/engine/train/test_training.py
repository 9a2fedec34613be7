"""Training end to end on CPU at toy size: loss falls, arms run in lockstep, DSA phases train what they should,
and the saved checkpoint runs in the local backend."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch

from engine import FimRequest
from engine.backends.local import LocalBackend
from engine.train.data import DataSettings, PreparedData, prepare_data
from engine.train.dsa_phases import dsa_layers
from engine.train.loop import Trainer, TrainSettings
from engine.train.run import EvalSettings, run_training

from .conftest import corpus

QUICK_EVAL = EvalSettings(heldout_windows=4, line_cases=8, retrieval_distances=(), batch_size=4)


def settings(**overrides) -> TrainSettings:
    base = dict(preset="tiny", seq_len=32, batch_size=8, steps=40, lr=3e-3, warmup=0.05, minutes=60.0)
    base.update(compile=False, device="cpu", log_every=5)
    base.update(overrides)
    return TrainSettings(**base)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    info = prepare_data(folder, DataSettings(vocab_size=600, held_out_percent=20.0), files=corpus(), log=lambda _: None)
    assert info["files"]["held_out"] > 0 and info["streams"]["train.bin"]["tokens"] > 1000
    return folder


def test_prepared_folder_has_streams_of_whole_documents(data):
    prepared = PreparedData(data)
    eot = prepared.tokenizer.token_to_id("<|endoftext|>")
    assert prepared.train[-1] == eot and prepared.val[-1] == eot
    assert (prepared.train == eot).sum() == prepared.info()["streams"]["train.bin"]["documents"]
    assert {f.directory for f in prepared.heldout_files()} == {"pkg1/sub0", "pkg2/sub1"}


def test_loss_falls_and_checkpoint_completes_in_the_local_backend(data, tmp_path):
    report = run_training(tmp_path, data, settings(), evals=QUICK_EVAL, log=lambda _: None)
    arm = report["arms"]["base"]
    losses = [loss for _, loss in arm["loss_curve"]]
    assert losses[-1] < losses[0] - 1.5, losses
    assert report["run"]["steps"] == 40 and report["run"]["stopped_by"] == "steps"
    assert json.loads((tmp_path / "training.json").read_text())["arms"]["base"]["eval"]["heldout_loss"] > 0

    backend = LocalBackend.from_checkpoint(tmp_path, device="cpu")

    async def complete():
        request = FimRequest(prefix="def add(a, b):\n    ", suffix="\n", max_tokens=8)
        return [delta async for delta in backend.fim(request)]

    deltas = asyncio.run(complete())
    assert deltas[-1].finish_reason in ("stop", "length") and deltas[-1].usage.completion_tokens >= 1
    asyncio.run(backend.aclose())


def test_ablation_arms_train_in_lockstep(data, tmp_path):
    overrides = dict(preset="tiny-full", steps=6, log_every=1, sparse_start=0.5, indexer_warmup=0.2)
    report = run_training(tmp_path, data, settings(**overrides), ("base", "no-engram", "dense"), QUICK_EVAL, print)
    arms = report["arms"]
    assert set(arms) == {"base", "no-engram", "dense"}
    assert all(len(arm["loss_curve"]) == 6 for arm in arms.values())
    assert arms["base"]["loss_curve"][0] == arms["dense"]["loss_curve"][0]  # same init, same first batch
    assert [phase for _, phase in arms["base"]["phases"]] == ["dense", "indexer", "sparse"]
    assert [phase for _, phase in arms["dense"]["phases"]] == ["dense"]
    assert arms["no-engram"]["config"]["engram"] is None
    assert arms["dense"]["config"]["dsa"]["index_topk"] == 32  # never sparse at inference either
    for name in arms:
        assert (tmp_path / name / "model.safetensors").is_file()
    assert (tmp_path / "ablations.json").is_file()


def grads_by_part(trainer: Trainer) -> dict[str, bool]:
    indexer = {id(p) for mla in dsa_layers(trainer.model) for p in mla.indexer.parameters()}
    parts = {"indexer": False, "rest": False}
    for p in trainer.model.parameters():
        if p.grad is not None and p.grad.abs().sum() > 0:
            parts["indexer" if id(p) in indexer else "rest"] = True
    return parts


def test_dsa_phases_train_the_right_parameters(data):
    prepared = PreparedData(data)
    trainer = Trainer("base", settings(preset="tiny-full"), prepared.tokenizer, torch.device("cpu"))
    torch.manual_seed(0)
    batch = [(torch.randint(0, 256, (2, 32)), torch.randint(0, 256, (2, 32)))]
    expected = {0.1: {"indexer": False, "rest": True}, 0.67: {"indexer": True, "rest": False}}
    expected[0.9] = {"indexer": True, "rest": True}
    for progress, parts in expected.items():
        trainer.set_phase(progress, 0)
        trainer.step(batch, lr=1e-3)
        assert grads_by_part(trainer) == parts, (trainer.phase, grads_by_part(trainer))
    assert all(mla.detach_indexer_input for mla in dsa_layers(trainer.model))
    model = trainer.finish()
    assert not any(mla.detach_indexer_input for mla in dsa_layers(model))
    assert all(p.requires_grad for p in model.parameters())
    assert all(".mla." not in name for name in model.state_dict())


def test_dense_only_models_never_leave_the_dense_phase(data):
    trainer = Trainer("base", settings(), PreparedData(data).tokenizer, torch.device("cpu"))
    trainer.set_phase(0.95, 3)
    assert trainer.phase == "dense" and not trainer.wrappers


def test_sampler_starts_a_share_of_windows_at_the_anchors():
    import numpy as np

    from engine.train.data import BatchSampler

    tokens = np.arange(10_000, dtype=np.int64)
    anchors = np.array([100, 5000, 9990])  # the last one is too close to the end to start a window
    sampler = BatchSampler(tokens, seq_len=64, batch_size=400, seed=1, anchors=anchors, anchor_rate=0.5)
    starts = sampler.next()[0][:, 0].numpy()
    at_anchor = np.isin(starts, anchors[:2])
    assert 0.4 < at_anchor.mean() < 0.65  # half anchored (plus the odd uniform start that lands on one)
    assert not np.isin(starts, [9990]).any()
    plain = BatchSampler(tokens, seq_len=64, batch_size=400, seed=1).next()[0][:, 0].numpy()
    assert np.isin(plain, anchors).mean() < 0.05
