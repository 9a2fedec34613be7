"""The Engram gather kernel against MultiHeadEmbedding's own lookup, with the table on the device and on the host."""

from __future__ import annotations

import pytest
import torch

from engine.model.engram import MultiHeadEmbedding


def table_and_ids(gen, dtype=torch.float32):
    sizes = [97, 89, 83, 79]
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
    table = MultiHeadEmbedding(sizes, 16).to(dtype)
    ids = torch.stack([torch.randint(0, size, (3, 50), generator=gen) for size in sizes], dim=-1)
    return table, ids


def test_matches_embedding_lookup(device, gen):
    from engine.kernels import engram_gather

    table, ids = table_and_ids(gen)
    with torch.no_grad():
        want = table(ids)
        table.to(device)
        got = engram_gather(table.weight, table.offsets, ids.to(device))
    assert got.shape == (3, 50, 4, 16)
    assert torch.equal(got.cpu(), want)


@pytest.fixture
def host_table(gen):
    """A bf16 table moved to pinned host memory, its ids, and the rows a plain lookup gave before the move."""
    pytest.importorskip("triton")
    if not torch.cuda.is_available():
        pytest.skip("zero-copy host reads need a CUDA GPU")
    table, ids = table_and_ids(gen, torch.bfloat16)
    with torch.no_grad():
        want = table(ids)
    table.to_host()
    assert table.weight.is_pinned()
    return table, ids, want


def test_reads_a_pinned_host_table_from_the_gpu(host_table):
    from engine.kernels import engram_gather

    table, ids, want = host_table
    got = engram_gather(table.weight.detach(), table.offsets.cuda(), ids.cuda())
    assert got.is_cuda and torch.equal(got.cpu(), want)


def test_unpinned_host_table_is_a_clear_error(gen):
    pytest.importorskip("triton")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from engine.kernels import engram_gather

    table, ids = table_and_ids(gen)
    with pytest.raises(ValueError, match="pinned"):
        engram_gather(table.weight.detach(), table.offsets.cuda(), ids.cuda())


def test_a_host_table_on_a_gpu_is_read_through_the_kernel_by_default(host_table):
    table, ids, want = host_table
    with torch.no_grad():
        assert table._kernels_apply(ids.cuda())
        by_kernel = table(ids.cuda())
        table.use_kernels = False  # the CPU gather and a copy: the same rows
        by_cpu = table(ids.cuda())
    assert by_kernel.is_cuda and torch.equal(by_kernel.cpu(), want) and torch.equal(by_cpu.cpu(), want)
