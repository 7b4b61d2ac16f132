"""PyTorch's figures for the rows of cuda_bench, measured the same way on the same GPU.

usage: python3 bench/peers/torch_cuda_peer.py [--elements N] [--gemm N]
Prints the same two tables with PyTorch's numbers (run by tools/gpu_check.sh).
"""
import argparse
import time

import torch


def seconds_per_call(call, repeats):
    call()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--elements", type=int, default=1 << 26)
    parser.add_argument("--gemm", type=int, default=8192)
    args = parser.parse_args()
    n, g, repeats = args.elements, args.gemm, 20
    nbytes = n * 4
    a = torch.randn(n, device="cuda")
    b = torch.randn(n, device="cuda")
    out = torch.empty_like(a)
    rows = a.view(n // 4096, 4096)
    param = torch.randn(n, device="cuda", requires_grad=True)
    param.grad = b
    adam = torch.optim.Adam([param], fused=True)
    weight = torch.ones(4096, device="cuda")
    bias = torch.zeros(4096, device="cuda")
    labels = torch.zeros(n // 4096, dtype=torch.long, device="cuda")
    print(f"\nPyTorch {torch.__version__}, same kernels (GB/s of memory traffic)\n")
    print("| kernel                       | torch GB/s |")
    print("|------------------------------|------------|")
    for name, traffic, call in [
        ("copy_ (D2D)", 2 * nbytes, lambda: out.copy_(a)),
        ("add (a + b)", 3 * nbytes, lambda: torch.add(a, b)),
        ("relu", 2 * nbytes, lambda: torch.relu(a)),
        ("cast f32 -> bf16", 1.5 * nbytes, lambda: a.to(torch.bfloat16)),
        ("softmax rows of 4096", 2 * nbytes, lambda: torch.softmax(rows, 1)),
        ("layer_norm rows of 4096", 2 * nbytes,
         lambda: torch.nn.functional.layer_norm(rows, (4096,), weight, bias)),
        ("cross-entropy rows of 4096", nbytes,
         lambda: torch.nn.functional.cross_entropy(rows, labels, reduction="none")),
        ("sum (to one value)", nbytes, lambda: a.sum()),
        ("Adam step (fused)", 7 * nbytes, adam.step),
    ]:
        print(f"| {name:<28} | {traffic / seconds_per_call(call, repeats) / 1e9:10.1f} |")
    print(f"\nGEMM {g}^3, PyTorch (TFLOP/s)\n")
    print("| dtype  | torch TFLOP/s |")
    print("|--------|---------------|")
    for label, dtype, tf32 in [("f16", torch.float16, False), ("bf16", torch.bfloat16, False),
                               ("f32", torch.float32, False), ("tf32", torch.float32, True)]:
        torch.backends.cuda.matmul.allow_tf32 = tf32
        x = torch.randn(g, g, device="cuda", dtype=dtype)
        y = torch.randn(g, g, device="cuda", dtype=dtype)
        print(f"| {label:<6} | {2 * g ** 3 / seconds_per_call(lambda: x @ y, 10) / 1e12:13.1f} |")


if __name__ == "__main__":
    main()
