"""Two ways to run an ensemble of 5 recurrent networks: packed or separate.

Forward and backward pass of a bidirectional GRU over 30 steps of 5 input
features, one thread, for one network of ``hidden`` units and for 5 such
networks built two ways:

* packed: one GRU layer of ``5 * hidden`` units, i.e. the 5 networks as the
  diagonal blocks of its weight matrices (the zero blocks are computed too; the
  masking a real packed ensemble needs is not timed);
* separate: 5 GRU layers of ``hidden`` units, one after the other, which is
  what ``sklrnn._module.RNNEnsemble`` does.

The three are timed interleaved in one process, best of ``--repeats`` rounds
of ``--steps`` passes each; printed in milliseconds per pass, with the ratio to
one network. ``benchmarks/README.md`` quotes a run.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_ensemble.py
    python benchmarks/bench_ensemble.py --device cuda   # cuDNN, wall time after a synchronize
"""

import argparse
import time

import torch
from accuracy import count

SIZES = [(32, 32), (32, 256), (64, 32), (128, 32), (128, 256)]  # (hidden, batch)
N_NETWORKS, STEPS, FEATURES = 5, 30, 5


def gru(hidden):
    return torch.nn.GRU(FEATURES, hidden, batch_first=True, bidirectional=True)


def pass_of(networks, X):
    def run():
        loss = sum(network(X)[0].sum() for network in networks)
        loss.backward()

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=count(), default=3)
    parser.add_argument("--steps", type=count(), default=10)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    args = parser.parse_args(argv)
    if args.device != "cpu" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine")
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print("| hidden size, batch | one network | 5 packed into one layer | 5 separate networks |")
    print("|---|---|---|---|")
    for hidden, batch in SIZES:
        X = torch.randn(batch, STEPS, FEATURES, device=device)
        runs = {
            "one": pass_of([gru(hidden).to(device)], X),
            "packed": pass_of([gru(N_NETWORKS * hidden).to(device)], X),
            "separate": pass_of([gru(hidden).to(device) for _ in range(N_NETWORKS)], X),
        }
        best = dict.fromkeys(runs, float("inf"))
        for run in runs.values():
            run()  # warm-up
        for _ in range(args.repeats):
            for name, run in runs.items():
                sync()
                start = time.perf_counter()
                for _ in range(args.steps):
                    run()
                sync()
                best[name] = min(best[name], (time.perf_counter() - start) / args.steps * 1e3)
        one = best["one"]
        print(
            f"| {hidden}, {batch} | {one:.1f} | {best['packed']:.1f} ({best['packed'] / one:.1f}x) "
            f"| {best['separate']:.1f} ({best['separate'] / one:.1f}x) |"
        )


if __name__ == "__main__":
    main()
