#!/usr/bin/env python3
"""PyTorch's Gloo all_reduce over loopback, the peer of bench/gloo_all_reduce.

Usage: torch_gloo_all_reduce.py NPROC SIZE_BYTES... ; prints "bytes seconds_per_all_reduce" per
size (rank 0), the same protocol and timing loop as the ember bench."""
import os
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def iterations(size_bytes):
    return max(3, min(50, (64 << 20) // size_bytes))


def rank_main(rank, world, init_file, sizes):
    dist.init_process_group("gloo", init_method="file://" + init_file, rank=rank, world_size=world)
    for size in sizes:
        tensor = torch.ones(size // 4, dtype=torch.float32)
        for _ in range(2):
            dist.all_reduce(tensor)
        dist.barrier()
        start = time.perf_counter()
        for _ in range(iterations(size)):
            dist.all_reduce(tensor)
        seconds = (time.perf_counter() - start) / iterations(size)
        if rank == 0:
            print(size, seconds, flush=True)
    dist.destroy_process_group()


def main():
    torch.set_num_threads(1)
    world = int(sys.argv[1])
    sizes = [int(s) for s in sys.argv[2:]]
    with tempfile.TemporaryDirectory() as directory:
        mp.spawn(rank_main, args=(world, os.path.join(directory, "store"), sizes), nprocs=world)


if __name__ == "__main__":
    main()
