"""The PyTorch module behind the estimators."""

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["RNNModule", "RNNEnsemble", "CELL_TYPES", "READOUTS"]

CELL_TYPES = ("rnn", "rnn_relu", "lstm", "gru")
READOUTS = ("last", "mean", "max", "attention")


class RNNModule(nn.Module):
    """Recurrent network with a sequence readout and a linear head.

    The input is standardized with fixed per-feature statistics (buffers set by
    the estimator), run through stacked recurrent layers as a packed batch so
    that padding never reaches the cells, summarized over the valid steps of
    each sequence, and mapped to ``n_outputs`` values.

    Parameters
    ----------
    n_features : int
        Number of features per time step.
    n_outputs : int
        Size of the output: number of classes or of regression targets.
    cell_type : {"rnn", "rnn_relu", "lstm", "gru"}, default="gru"
        Recurrent cell: Elman with tanh or ReLU, LSTM or GRU.
    hidden_size : int, default=64
        Size of the hidden state of each layer and direction.
    num_layers : int, default=1
        Number of stacked recurrent layers.
    bidirectional : bool, default=False
        Whether each layer also reads the sequence backwards.
    dropout : float, default=0.0
        Dropout between stacked layers and before the head.
    readout : {"last", "mean", "max", "attention"}, default="last"
        How the per-step outputs become one vector per sequence: the state at
        the last valid step (and, when bidirectional, the backward state at
        the first step), the mean or the max over valid steps, or an
        attention-weighted mean over valid steps.
    frame_size : int, default=1
        Number of consecutive time steps joined into one input vector of the
        recurrent layers (frame stacking): the network runs over
        ``ceil(n_timesteps / frame_size)`` steps of ``frame_size * n_features``
        values.
    standardize : bool, default=True
        Whether the input is standardized with the statistics of
        :meth:`set_standardization`; when False the input goes to the
        recurrent layers as it is.

    Examples
    --------
    >>> import torch
    >>> from sklrnn._module import RNNModule
    >>> module = RNNModule(n_features=3, n_outputs=2, cell_type="lstm")
    >>> X = torch.zeros(4, 10, 3)
    >>> lengths = torch.tensor([10, 7, 3, 1])
    >>> module(X, lengths).shape
    torch.Size([4, 2])
    """

    # Modules pickled before the standardize argument existed standardize.
    standardize = True

    def __init__(
        self,
        n_features,
        n_outputs,
        cell_type="gru",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        readout="last",
        frame_size=1,
        standardize=True,
    ):
        super().__init__()
        if cell_type not in CELL_TYPES:
            raise ValueError(f"cell_type must be one of {CELL_TYPES}, got {cell_type!r}.")
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}.")
        rnn_class = {"rnn": nn.RNN, "rnn_relu": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
        extra = {"nonlinearity": "relu"} if cell_type == "rnn_relu" else {}
        self.cell_type = cell_type
        self.readout = readout
        self.frame_size = int(frame_size)
        self.standardize = bool(standardize)
        self.rnn = rnn_class[cell_type](
            n_features * self.frame_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            **extra,
        )
        width = hidden_size * (2 if bidirectional else 1)
        self.attention = nn.Linear(width, 1) if readout == "attention" else None
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, n_outputs)
        self.register_buffer("input_mean", torch.zeros(n_features))
        self.register_buffer("input_scale", torch.ones(n_features))
        self._reset_recurrent_weights()

    def _reset_recurrent_weights(self):
        # Orthogonal recurrent matrices keep gradients from vanishing or
        # exploding early in training; a forget-gate bias of 1 lets an LSTM
        # remember by default (Jozefowicz et al., 2015).
        gates = {"lstm": 4, "gru": 3}.get(self.cell_type, 1)
        for name, param in self.rnn.named_parameters():
            if name.startswith("weight_hh"):
                for chunk in param.data.chunk(gates, dim=0):
                    nn.init.orthogonal_(chunk)
            elif name.startswith("weight_ih"):
                nn.init.xavier_uniform_(param.data)
            elif name.startswith("bias"):
                param.data.zero_()
                if self.cell_type == "lstm" and name.startswith("bias_ih"):
                    size = param.shape[0] // 4
                    param.data[size : 2 * size] = 1.0

    def set_standardization(self, mean, scale):
        """Set the per-feature input statistics.

        Parameters
        ----------
        mean : array-like of shape (n_features,)
            Subtracted from each feature before the recurrent layers.
        scale : array-like of shape (n_features,)
            Divides each feature after the mean is subtracted.
        """
        self.input_mean.copy_(torch.as_tensor(mean, dtype=self.input_mean.dtype))
        self.input_scale.copy_(torch.as_tensor(scale, dtype=self.input_scale.dtype))

    def forward(self, X, lengths, scale=None):
        """Map padded sequences to outputs.

        Parameters
        ----------
        X : Tensor of shape (batch, n_timesteps, n_features)
            Sequences; values past each sequence's length are ignored.
        lengths : Tensor of shape (batch,), int64, on the CPU
            True length of each sequence, between 1 and n_timesteps.
        scale : Tensor of shape (batch,), default=None
            Factors that multiply each sequence's deviations from the input
            mean (magnitude-scaling augmentation in training).

        Returns
        -------
        Tensor of shape (batch, n_outputs)
        """
        # The path (packed or not) is chosen in Python, and packing is skipped
        # when all sequences are equally long. One conversion of the (CPU)
        # lengths to a list costs less than reductions and int() round trips.
        values = lengths.tolist()
        shortest, longest = min(values), max(values)
        ragged = shortest != longest
        if longest < X.shape[1]:
            X = X[:, :longest]
        if scale is not None:
            X = torch.addcmul(self.input_mean, X - self.input_mean, scale[:, None, None])
        if self.standardize:
            X = (X - self.input_mean).div_(self.input_scale)
        if self.frame_size > 1:
            X, lengths = self._stack_frames(X, lengths, ragged)
            k = self.frame_size
            shortest, longest = -(-shortest // k), -(-longest // k)
            ragged = shortest != longest
        if ragged:
            packed = pack_padded_sequence(X, lengths, batch_first=True, enforce_sorted=False)
            out, state = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=longest)
        else:
            out, state = self.rnn(X)
        if self.readout == "last":
            h = state[0] if self.cell_type == "lstm" else state
            if self.rnn.bidirectional:
                summary = torch.cat([h[-2], h[-1]], dim=1)
            else:
                summary = h[-1]
        else:
            summary = self._pool(out, lengths, longest, ragged)
        if self.dropout.p:
            summary = self.dropout(summary)
        return self.head(summary)

    def _stack_frames(self, X, lengths, ragged):
        """Join every ``frame_size`` consecutive steps into one step of the RNN.

        A sequence's last frame may end past the sequence: those steps hold
        zeros, the standardized mean.
        """
        k = self.frame_size
        batch, steps, n_features = X.shape
        if ragged:
            valid = torch.arange(steps, device=X.device)[None, :] < lengths.to(X.device)[:, None]
            X = X * valid[..., None]
        if steps % k:
            X = nn.functional.pad(X, (0, 0, 0, k - steps % k))
        return X.reshape(batch, -1, k * n_features), (lengths + k - 1) // k

    def _pool(self, out, lengths, longest, ragged):
        if ragged:
            steps = torch.arange(longest, device=out.device)
            mask = steps[None, :] < lengths.to(out.device)[:, None]
        if self.readout == "mean":
            if ragged:  # pad_packed_sequence leaves zeros past each end
                return out.sum(dim=1) / lengths.to(out)[:, None]
            return out.mean(dim=1)
        if self.readout == "max":
            if ragged:
                out = out.masked_fill(~mask[..., None], float("-inf"))
            return out.max(dim=1).values
        scores = self.attention(out).squeeze(-1)
        if ragged:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        return torch.bmm(weights[:, None, :], out).squeeze(1)


class RNNEnsemble(nn.Module):
    """Independent :class:`RNNModule` networks whose predictions are averaged.

    The networks share nothing but their input: each has its own random
    initialization and, in training, its own output and loss, so that one
    optimizer trains them as separate models (a deep ensemble, Lakshminarayanan
    et al., 2017).

    Parameters
    ----------
    n_networks : int
        Number of networks.
    average : {"probabilities", "outputs"}, default="outputs"
        How evaluation combines the networks: ``"probabilities"`` returns the
        log of the mean of their softmax probabilities (classification);
        ``"outputs"`` returns the mean of their outputs (regression).
    **params
        Parameters of each :class:`RNNModule`.

    Examples
    --------
    >>> import torch
    >>> from sklrnn._module import RNNEnsemble
    >>> ensemble = RNNEnsemble(3, average="probabilities", n_features=2, n_outputs=4)
    >>> X, lengths = torch.zeros(5, 7, 2), torch.full((5,), 7)
    >>> ensemble(X, lengths).shape  # training: one output per network
    torch.Size([5, 4, 3])
    >>> log_proba = ensemble.eval()(X, lengths)  # evaluation: the averaged probabilities
    >>> torch.allclose(log_proba.exp().sum(dim=1), torch.ones(5))
    True
    """

    def __init__(self, n_networks, average="outputs", **params):
        super().__init__()
        if average not in ("probabilities", "outputs"):
            raise ValueError(f"average must be 'probabilities' or 'outputs', got {average!r}.")
        self.average = average
        self.networks = nn.ModuleList(RNNModule(**params) for _ in range(int(n_networks)))

    def set_standardization(self, mean, scale):
        """Set the per-feature input statistics of every network."""
        for network in self.networks:
            network.set_standardization(mean, scale)

    def forward(self, X, lengths, scale=None):
        """Map padded sequences to outputs.

        Parameters
        ----------
        X, lengths
            As for :meth:`RNNModule.forward`.
        scale : Tensor of shape (batch, n_networks), default=None
            Magnitude-scaling factors, one column per network.

        Returns
        -------
        Tensor of shape (batch, n_outputs, n_networks) in training mode, each
        network's outputs; of shape (batch, n_outputs) in evaluation mode,
        the combined outputs.
        """
        outputs = torch.stack(
            [
                network(X, lengths, None if scale is None else scale[:, i])
                for i, network in enumerate(self.networks)
            ],
            dim=-1,
        )
        if self.training:
            return outputs
        if self.average == "outputs":
            return outputs.mean(dim=-1)
        log_proba = torch.log_softmax(outputs, dim=1)
        return torch.logsumexp(log_proba, dim=-1) - math.log(len(self.networks))
