"""skorch glue: in-memory data, batch iterator, validation split, the net.

skorch's default data path wraps every sample in a Dataset and collates
batches in Python, which costs more than the arithmetic of a small recurrent
net. Here the whole data set is a few tensors placed on the device once, and a
batch is one index operation; skorch still runs the loop, the callbacks, the
history and the device handling.
"""

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping
from sklearn.model_selection import train_test_split

__all__ = ["SequenceDataset", "BatchIterator", "ValidationSplit", "SequenceNet"]


class SequenceDataset(torch.utils.data.Dataset):
    """Padded sequences, lengths, targets and sample weights as tensors.

    ``X``, ``y`` and ``sample_weight`` live on ``device``; ``lengths`` stays on
    the CPU, where ``pack_padded_sequence`` wants it.
    """

    def __init__(self, X, lengths, y=None, sample_weight=None, device="cpu"):
        self.X = torch.as_tensor(X, dtype=torch.float32, device=device)
        self.lengths = torch.as_tensor(lengths, dtype=torch.int64)
        n = len(self.lengths)
        self.y = None if y is None else torch.as_tensor(y, device=device)
        if sample_weight is None:
            sample_weight = np.ones(n, dtype=np.float32)
        self.sample_weight = torch.as_tensor(sample_weight, dtype=torch.float32, device=device)

    def __len__(self):
        return len(self.lengths)

    def batch(self, index):
        """The batch at ``index`` (a slice or a CPU LongTensor of positions)."""
        on_device = index if isinstance(index, slice) else index.to(self.X.device)
        Xi = {
            "X": self.X[on_device],
            "lengths": self.lengths[index],
            "sample_weight": self.sample_weight[on_device],
        }
        yi = None if self.y is None else self.y[on_device]
        return Xi, yi

    def __getitem__(self, i):
        Xi, yi = self.batch(slice(i, i + 1))
        return {k: v[0] for k, v in Xi.items()}, (None if yi is None else yi[0])

    def subset(self, index):
        """A new dataset holding the samples at ``index`` (numpy integer array)."""
        new = object.__new__(SequenceDataset)
        idx = torch.as_tensor(index, dtype=torch.int64)
        on_device = idx.to(self.X.device)
        new.X = self.X[on_device]
        new.lengths = self.lengths[idx]
        new.y = None if self.y is None else self.y[on_device]
        new.sample_weight = self.sample_weight[on_device]
        return new


class BatchIterator:
    """Mini-batches of a :class:`SequenceDataset`, taken by index.

    Shuffling draws from torch's (forked, seeded) global generator, so a fit
    with a fixed ``random_state`` sees the same batches every time.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = torch.randperm(n) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                yield self.dataset.batch(slice(start, start + self.batch_size))
            else:
                yield self.dataset.batch(order[start : start + self.batch_size])


class ValidationSplit:
    """Hold out a fraction of a :class:`SequenceDataset` for validation.

    Stratified by class for classifiers when every class has at least two
    members. Returns no validation set when the data is too small to leave at
    least one sample on each side.
    """

    def __init__(self, fraction, stratified, random_state):
        self.fraction = fraction
        self.stratified = stratified
        self.random_state = random_state

    def __call__(self, dataset, y=None, **kwargs):
        n = len(dataset)
        n_valid = int(np.ceil(self.fraction * n))
        if n_valid < 1 or n - n_valid < 1:
            return dataset, None
        labels = None
        if self.stratified:
            labels = dataset.y.cpu().numpy()
            counts = np.unique(labels, return_counts=True)[1]
            if counts.min() < 2 or n_valid < len(counts) or n - n_valid < len(counts):
                labels = None
        train, valid = train_test_split(
            np.arange(n), test_size=n_valid, stratify=labels, random_state=self.random_state
        )
        return dataset.subset(np.sort(train)), dataset.subset(np.sort(valid))


class EarlyStoppingIfValid(EarlyStopping):
    """skorch's EarlyStopping, inactive in epochs without a validation loss."""

    def on_epoch_end(self, net, **kwargs):
        if self.monitor in net.history[-1]:
            super().on_epoch_end(net, **kwargs)


class SequenceNet(NeuralNet):
    """A skorch ``NeuralNet`` fed by :class:`SequenceDataset` batches.

    The criterion must use ``reduction="none"``: the loss of a batch is the
    mean of the per-sample losses times the sample weights, which the
    estimators normalize to average 1 over the training data.
    """

    def get_iterator(self, dataset, training=False):
        batch_size = self.batch_size if self.batch_size > 0 else len(dataset)
        return BatchIterator(dataset, batch_size, shuffle=training)

    def infer(self, x, **fit_params):
        return self.module_(x["X"], x["lengths"])

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = self.criterion_(y_pred, y_true)
        if loss.ndim > 1:  # several regression targets
            loss = loss.mean(dim=1)
        return (loss * X["sample_weight"]).mean()
