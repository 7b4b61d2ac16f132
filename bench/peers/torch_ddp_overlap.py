#!/usr/bin/env python3
"""PyTorch's DDP overlap over Gloo, the peer of bench/ddp_overlap (same model, steps and timing).

Usage: torch_ddp_overlap.py NPROC LAYERS WIDTH BATCH WARMUP STEPS ; rank 0 prints
"key seconds" for backward, allreduce, sequential, ddp25 and ddp4 (medians)."""
import os
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def rank_main(rank, world, init_file, layers, width, batch, warmup, steps):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="file://" + init_file, rank=rank, world_size=world)
    torch.manual_seed(1)
    modules = []
    for _ in range(layers):
        modules += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    model = torch.nn.Sequential(*modules)
    inputs = torch.randn(batch, width)
    parameters = list(model.parameters())
    flat = torch.zeros(sum(p.numel() for p in parameters))

    def median(step):
        times = [step() for _ in range(warmup + steps)][warmup:]
        return sorted(times)[len(times) // 2]

    def timed_step(net, after_backward=None):
        def step():
            net.zero_grad()
            output = net(inputs)
            loss = (output * output).mean()
            dist.barrier()
            start = time.perf_counter()
            loss.backward()
            if after_backward is not None:
                after_backward()
            return time.perf_counter() - start
        return median(step)

    def all_reduce_gradients():
        with torch.no_grad():
            torch.cat([p.grad.reshape(-1) for p in parameters], out=flat)
            dist.all_reduce(flat)
            flat.div_(world)
            offset = 0
            for p in parameters:
                p.grad.copy_(flat[offset:offset + p.numel()].view_as(p))
                offset += p.numel()

    def all_reduce_alone():
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(flat)
        flat.div_(world)
        return time.perf_counter() - start

    results = {"backward": timed_step(model),
               "allreduce": median(all_reduce_alone),
               "sequential": timed_step(model, all_reduce_gradients)}
    for cap in (25, 4):
        ddp = torch.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=cap)
        results["ddp%d" % cap] = timed_step(ddp)
        del ddp
    dist.barrier()
    if rank == 0:
        for key, seconds in results.items():
            print(key, seconds, flush=True)
    dist.destroy_process_group()


def main():
    world, layers, width, batch, warmup, steps = (int(a) for a in sys.argv[1:7])
    with tempfile.TemporaryDirectory() as directory:
        mp.spawn(rank_main, args=(world, os.path.join(directory, "store"), layers, width, batch, warmup, steps),
                 nprocs=world)


if __name__ == "__main__":
    main()
