"""PyTorch eager's figures for bench/cuda_train_step: the same Fashion-MNIST MLP and CNN, the
same batch, Adam, f32 and 16-mixed (torch.autocast f16 + GradScaler), timed the same way.

usage: python3 bench/peers/torch_cuda_train_step.py [--batch N] [--steps N]
"""
import argparse
import time

import torch
from torch import nn


def make_model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))


def milliseconds_per_step(name, mixed, batch, steps):
    model = make_model(name).cuda()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=mixed)
    images = torch.randn(batch, 1, 28, 28, device="cuda")
    labels = torch.randint(0, 10, (batch,), device="cuda")

    def step():
        adam.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=mixed):
            loss = nn.functional.cross_entropy(model(images), labels)
        scaler.scale(loss).backward()
        scaler.step(adam)
        scaler.update()

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1e3 / steps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    print(f"\nPyTorch {torch.__version__} eager training step on the GPU, batch {args.batch}, Adam (ms per step)\n")
    print("| model | f32 ms | 16-mixed ms | mixed speed-up |")
    print("|-------|--------|-------------|----------------|")
    for name in ("mlp", "cnn"):
        f32 = milliseconds_per_step(name, False, args.batch, args.steps)
        mixed = milliseconds_per_step(name, True, args.batch, args.steps)
        print(f"| {name:<5} | {f32:6.3f} | {mixed:11.3f} | {f32 / mixed:13.2f}x |")


if __name__ == "__main__":
    main()
