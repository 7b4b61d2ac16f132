"""PyTorch's CPU times for the rows of conv_bench and kernels_bench, measured the same way.

usage: python3 bench/peers/torch_cpu_kernels.py --threads T conv N,C,H,W,OC,K,S,P,TRANSPOSED ...
       python3 bench/peers/torch_cpu_kernels.py --threads T matmul M,N,K,DTYPE ...
       python3 bench/peers/torch_cpu_kernels.py --threads T elementwise ELEMENTS

Prints one "key milliseconds" line per measurement (the median of the repeats, after a warm-up):
conv<i>_forward and conv<i>_train (forward, then backward for the input and the weight);
matmul<i>; add and relu. The bench that runs it reads those lines (bench/python_peer.h).
"""
import argparse
import statistics
import time

import torch


def median_ms(call, repeats):
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def conv(shapes, repeats):
    for i, shape in enumerate(shapes):
        n, c, h, w, oc, k, stride, padding, transposed = (int(v) for v in shape.split(","))
        x = torch.randn(n, c, h, w)
        if transposed:
            weight = torch.randn(c, oc, k, k)
            op = lambda x, weight: torch.nn.functional.conv_transpose2d(x, weight, stride=stride, padding=padding)
        else:
            weight = torch.randn(oc, c, k, k)
            op = lambda x, weight: torch.nn.functional.conv2d(x, weight, stride=stride, padding=padding)
        with torch.no_grad():
            print(f"conv{i}_forward {median_ms(lambda: op(x, weight), repeats):.4f}")
        x.requires_grad_(True)
        weight.requires_grad_(True)
        grad = torch.randn_like(op(x, weight))

        def train():
            x.grad = None
            weight.grad = None
            op(x, weight).backward(grad)

        print(f"conv{i}_train {median_ms(train, repeats):.4f}")


def matmul(shapes, repeats):
    dtypes = {"f32": torch.float32, "bf16": torch.bfloat16}
    for i, shape in enumerate(shapes):
        m, n, k, dtype = shape.split(",")
        a = torch.randn(int(m), int(k)).to(dtypes[dtype])
        b = torch.randn(int(k), int(n)).to(dtypes[dtype])
        print(f"matmul{i} {median_ms(lambda: torch.matmul(a, b), repeats):.4f}")


def elementwise(elements, repeats):
    a = torch.randn(int(elements))
    b = torch.randn(int(elements))
    print(f"add {median_ms(lambda: torch.add(a, b), repeats):.4f}")
    print(f"relu {median_ms(lambda: torch.relu(a), repeats):.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("kind", choices=["conv", "matmul", "elementwise"])
    parser.add_argument("shapes", nargs="+")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch_version_major {torch.__version__.split('.')[0]}")
    if args.kind == "conv":
        conv(args.shapes, args.repeats)
    elif args.kind == "matmul":
        matmul(args.shapes, args.repeats)
    else:
        elementwise(args.shapes[0], args.repeats)


if __name__ == "__main__":
    main()
