"""How far a default fit is from its arithmetic floor, on one CPU thread.

For each set of the development collection, ``RNNClassifier()`` (every
parameter at its default) is fitted on the training split, and its time per
training step (fit CPU time / batches trained) is set against the floating
point work of one step:

* the convolutions and the head, counted by ``torch.utils.flop_counter``
  on one forward and backward pass of a full batch, the first block's
  kernel sizes each as its own convolution (the module runs them as one
  convolution of the widest size, zeros around the narrower kernels: more
  multiplications, by 0, in less time);
* the recurrent layers, which the counter does not see, counted as
  ``2 * gates * hidden * (inputs + hidden)`` per step, sequence, layer and
  direction forward, and twice that backward.

The floor is that work at the rate of a large single-precision matrix
product (``torch.mm``, 1024 x 1024) on the same thread, measured in the
same run. Every sequence of a batch counts as long as the longest, so the
work of a set of varied lengths (JapaneseVowels) is an upper bound. Run
from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_floor.py
"""

import argparse
import contextlib
import time

import numpy as np
import torch
from accuracy import CLASSIFICATION, EXTERNAL_CLASSIFICATION, filled, load, names
from torch.utils.flop_counter import FlopCounterMode

from sklrnn import RNNClassifier
from sklrnn._module import MultiKernelConv1d


def matmul_rate(n=1024, repeats=5):
    """Best single-precision matrix product rate of this thread, FLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


@contextlib.contextmanager
def _kernel_sizes_apart():
    """The first block's convolution run as one per kernel size, joined: the work it does."""
    joined = MultiKernelConv1d.forward
    MultiKernelConv1d.forward = lambda self, x: torch.cat([b(x) for b in self.branches], dim=1)
    try:
        yield
    finally:
        MultiKernelConv1d.forward = joined


def step_flops(module, X, lengths):
    """Floating point operations of one training step on the batch (X, lengths).

    The random kernels' features are computed once per fit, not per step, so
    they are computed before counting and passed in, as training does.
    """
    module.train()
    features = None
    if module.kernels is not None:
        with torch.no_grad():
            features = module.kernel_features(X, lengths)
    with FlopCounterMode(display=False) as counter, _kernel_sizes_apart():
        module(X, lengths, features).sum().backward()
    module.zero_grad()
    rnn = module.rnn
    steps = module.recurrent_states(X, lengths).shape[1]
    gates = {"LSTM": 4, "GRU": 3}.get(type(rnn).__name__, 1)
    directions = 2 if rnn.bidirectional else 1
    recurrent = 0
    for layer in range(rnn.num_layers):
        inputs = rnn.input_size if layer == 0 else rnn.hidden_size * directions
        per_step = 2 * gates * rnn.hidden_size * (inputs + rnn.hidden_size)
        recurrent += 3 * per_step * steps * len(X) * directions  # forward + backward
    return counter.get_total_flops() + recurrent


def run(name, rate):
    X, y = load(name, "TRAIN")
    start = time.process_time()
    clf = RNNClassifier(random_state=0).fit(X, y)
    seconds = time.process_time() - start
    batches = sum(row["train_batch_count"] for row in clf.history_)
    X3 = filled(X, np.shape(X)[1]).transpose(0, 2, 1)  # (n, steps, features)
    batch = torch.as_tensor(X3[: clf.batch_size], dtype=torch.float32)
    lengths = torch.full((len(batch),), batch.shape[1])
    flops = step_flops(clf.net_.module_, batch, lengths)
    step_ms = 1e3 * seconds / batches
    floor_ms = 1e3 * flops / rate
    return name, batches, flops / 1e6, step_ms, floor_ms


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        type=names(CLASSIFICATION + EXTERNAL_CLASSIFICATION),
        default=",".join(CLASSIFICATION),
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rate = matmul_rate()
    print(f"matrix product rate: {rate / 1e9:.0f} GFLOP/s on one thread\n")
    print("| data set | steps | MFLOP per step | ms per step | floor ms | ratio |")
    print("|---|---|---|---|---|---|")
    for name in args.datasets:
        name, batches, mflop, step_ms, floor_ms = run(name, rate)
        print(
            f"| {name} | {batches} | {mflop:.0f} | {step_ms:.1f} | {floor_ms:.2f} "
            f"| {step_ms / floor_ms:.1f} |"
        )


if __name__ == "__main__":
    main()
