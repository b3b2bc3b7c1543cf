"""Parameter documentation shared by RNNClassifier and RNNRegressor."""

ARCHITECTURE_PARAMS = """\
cell_type : {"rnn", "rnn_relu", "lstm", "gru"}, default="gru"
        Recurrent cell: Elman RNN with tanh (``"rnn"``) or ReLU
        (``"rnn_relu"``) activation, LSTM, or GRU.

    hidden_size : int, default=64
        Size of the hidden state of each layer (and direction).

    num_layers : int, default=1
        Number of stacked recurrent layers.

    bidirectional : bool, default=False
        Whether each layer also reads the sequence from its end to its start.

    dropout : float, default=0.0
        Dropout probability between stacked layers and before the linear head.

    readout : {"last", "mean", "max", "attention"}, default="last"
        How the recurrent outputs become one vector per sequence: the hidden
        state at each sequence's last valid step, the mean or maximum over its
        valid steps, or an attention-weighted mean over its valid steps.
        Padding never enters any of them.

    standardize : bool, default=True
        Whether the model standardizes each input feature with the mean and
        standard deviation measured, over all valid time steps, on the data
        passed to the first ``fit``. The statistics are part of the model, so
        they are learnt on the training data only, also inside
        cross-validation.

    max_length : int, default=None
        If set, sequences longer than this keep only their most recent
        ``max_length`` steps, in ``fit`` and in prediction."""

TRAINING_PARAMS = """\
optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
        Optimizer used for training.

    lr : float, default=1e-3
        Learning rate.

    weight_decay : float, default=0.0
        L2 penalty (decoupled for ``"adamw"``).

    batch_size : int, default=32
        Number of sequences per gradient step.

    max_epochs : int or "auto", default="auto"
        Maximum number of passes over the training data. ``"auto"`` aims at
        about 2000 gradient steps, between 20 and 500 epochs.

    early_stopping : bool, default=True
        Whether to hold out ``validation_fraction`` of the training data, stop
        when its loss has not improved for ``n_iter_no_change`` epochs, and
        restore the weights of the best epoch. Data too small to split trains
        without validation.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping; stratified
        by class for classifiers when possible.

    n_iter_no_change : int, default=20
        Epochs without improvement of the validation loss before stopping.

    clip_grad_norm : float or None, default=1.0
        Maximum norm of the gradient of all parameters; None disables
        clipping.

    device : str, default="cpu"
        Torch device to train and predict on: ``"cpu"``, ``"cuda"``,
        ``"cuda:N"``, or ``"auto"`` for CUDA when available.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, dropout and the validation
        split. With an int, two fits on the CPU give identical models. The
        global random state of torch is left as it was.

    verbose : int, default=0
        ``0`` trains silently; ``1`` prints a table of losses per epoch (and,
        with early stopping, when training stops and which epoch's weights
        are restored); ``2`` or more also shows a progress bar over the
        batches of each epoch.

    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks to run during training.

    warm_start : bool, default=False
        Whether ``fit`` continues training the current model instead of
        starting from scratch. With ``checkpoint`` set, it resumes from the
        checkpoint file (see ``checkpoint``).

    checkpoint : str, path-like or None, default=None
        File where ``fit`` saves, after every completed epoch, what is needed
        to resume training: weights, optimizer state, history, the shuffling
        state, early-stopping counters and the epochs left. A ``fit`` with
        ``warm_start=True`` on the same data then resumes the interrupted fit
        from that file (also in a new process, on a new estimator with the same
        parameters) and runs only its remaining epochs; with an int
        ``random_state`` the result equals an uninterrupted fit. A ``fit``
        with ``warm_start=False`` starts over and overwrites the file."""

FITTED_ATTRIBUTES = """\
n_features_in_ : int
        Number of features seen during fit: the number of columns of a 2D
        input, or the size of the last axis of 3D and list input.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a DataFrame passed to fit.

    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch module.

    history_ : skorch.History
        Per-epoch records, including ``train_loss`` and, with early
        stopping, ``valid_loss``; when early stopping restored the weights
        of its best epoch, the last record holds that epoch's number under
        ``best_epoch``. :class:`~sklrnn.plotting.LossCurveDisplay` plots it.

    n_iter_ : int
        Number of epochs run."""
