"""Parameter documentation shared by RNNClassifier and RNNRegressor."""

ARCHITECTURE_PARAMS = """\
cell_type : {"rnn", "rnn_relu", "lstm", "gru"}, default="gru"
        Recurrent cell: Elman RNN with tanh (``"rnn"``) or ReLU
        (``"rnn_relu"``) activation, LSTM, or GRU.

    hidden_size : int, default=32
        Size of the hidden state of each layer (and direction).

    num_layers : int, default=1
        Number of stacked recurrent layers.

    bidirectional : bool, default=True
        Whether each layer also reads the sequence from its end to its start.

    dropout : float, default=0.0
        Dropout probability between stacked layers and before the linear head.

    readout : {"last", "mean", "max", "attention"}, default="last"
        How the recurrent outputs become one vector per sequence: the hidden
        state at each sequence's last valid step (with ``bidirectional``,
        joined with the backward state at its first step), the mean or maximum
        over its valid steps, or an attention-weighted mean over its valid
        steps. Padding never enters any of them.

    standardize : bool, default=True
        Whether the model standardizes each input feature with the mean and
        standard deviation measured, over all valid time steps, on the data
        passed to the first ``fit``. The statistics are part of the model, so
        they are learnt on the training data only, also inside
        cross-validation.

    max_length : int, default=None
        If set, sequences longer than this keep only their most recent
        ``max_length`` steps, in ``fit`` and in prediction.

    frame_size : int or "auto", default="auto"
        Number of consecutive time steps joined into one input vector of the
        recurrent layers (frame stacking): the network runs over
        ``ceil(n_timesteps / frame_size)`` steps of ``frame_size *
        n_features`` values, which makes long sequences faster to train and
        easier to learn. ``"auto"`` picks the smallest frame size that leaves
        at most 32 recurrent steps for the longest training sequence (1 for
        sequences of up to 32 steps); the value used is ``frame_size_``."""

TRAINING_PARAMS = """\
optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
        Optimizer used for training.

    lr : float, default=1e-2
        Learning rate.

    lr_schedule : {"plateau"} or None, default="plateau"
        ``"plateau"`` halves the learning rate when the validation loss (the
        training loss when there is no validation split) has not improved
        for 10 epochs, down to ``lr / 1000``; within one call of ``fit`` or
        ``partial_fit``. None keeps ``lr`` constant.

    weight_decay : float, default=0.0
        L2 penalty (decoupled for ``"adamw"``).

    batch_size : int, default=32
        Number of sequences per gradient step.

    max_epochs : int or "auto", default="auto"
        Maximum number of passes over the training data. ``"auto"`` aims at
        about 2000 gradient steps, between 20 and 500 epochs.

    early_stopping : bool or "auto", default="auto"
        Whether to hold out ``validation_fraction`` of the training data, stop
        when its loss has not improved for ``n_iter_no_change`` epochs, and
        restore the weights of the best epoch. Data too small to split trains
        without validation. ``"auto"`` holds out a validation set from 1000
        training sequences on. With fewer, where the loss of a validation set
        of a few sequences is too noisy to stop on, it trains on all the data,
        stops when the training loss has not improved by 1e-4 for
        ``n_iter_no_change`` epochs, and restores the weights of the epoch
        with the lowest training loss. False trains for the whole epoch
        budget.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping; stratified
        by class for classifiers when possible.

    n_iter_no_change : int, default=20
        Epochs without improvement of the monitored loss (validation loss, or
        training loss for ``early_stopping="auto"`` without a validation
        set) before stopping.

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
        state, early-stopping and learning-rate-schedule state and the epochs
        left. A ``fit`` with
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
        Number of epochs run.

    frame_size_ : int
        Number of time steps per recurrent step, resolved from
        ``frame_size``.

    n_networks_ : int
        Number of networks averaged, resolved from ``n_networks``."""

RELIABILITY_NOTES = """Training is guarded against faults (see the user guide's reliability
    page). If a training or validation loss becomes NaN or infinite,
    training stops, the weights and optimizer state of the last epoch with
    finite losses are restored, and a ``RuntimeWarning`` says so. If training
    is interrupted inside an epoch (Ctrl-C, i.e. ``KeyboardInterrupt``), the
    estimator is wound up at its last completed epoch: history and optimizer
    state of that epoch, and its weights (with early stopping, those of the
    best completed epoch, as at any end of training). The
    ``KeyboardInterrupt`` is then raised again, so that scripts and searches
    stop; the estimator object stays
    usable for prediction and for ``warm_start``, and with ``checkpoint`` set
    a later ``fit`` resumes the interrupted one. A skorch callback that raises
    ``KeyboardInterrupt`` in ``on_epoch_end`` (skorch's way to stop, as its
    ``EarlyStopping`` does) ends training normally instead.

    Fitted estimators can be used for prediction from several threads, and
    clones fitted in parallel threads equal their sequential fits for the
    same ``random_state``. Pickles record the sklrnn, torch and skorch
    versions; loading one made with other versions emits an
    :class:`~sklrnn.InconsistentVersionWarning`, or raises a
    ``pickle.UnpicklingError`` naming the versions when the torch model
    cannot be rebuilt. A pickle holds no training data: its size does not
    grow with ``n_samples``."""


MAGNITUDE_SCALING = """\
magnitude_scaling : float in [0, 1), default={default}
        Data augmentation in training: every time a sequence is trained on,
        its standardized values (its raw values with ``standardize=False``)
        are multiplied by a factor drawn uniformly from ``[1 -
        magnitude_scaling, 1 + magnitude_scaling]``, one factor per sequence
        and network. Prediction uses the data as they are. 0 disables it.
        {why}"""


N_NETWORKS = """\
n_networks : int or "auto", default={default}
        Number of networks of this architecture trained side by side, each
        from its own random initialization and on its own loss, whose
        predictions are averaged ({average}; a deep ensemble). Fit and
        prediction time and memory grow in proportion. ``"auto"`` trains 5
        networks when ``fit`` gets fewer than 1000 sequences, where single
        networks vary most from seed to seed and a fit takes seconds, and 1
        network otherwise and in ``partial_fit``; the value used is
        ``n_networks_``.
        {why}"""
