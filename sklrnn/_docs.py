"""Parameter documentation shared by RNNClassifier and RNNRegressor."""

ARCHITECTURE_PARAMS = """\
cell_type : {"rnn", "rnn_relu", "lstm", "gru"}, default="lstm"
        Recurrent cell: Elman RNN with tanh (``"rnn"``) or ReLU
        (``"rnn_relu"``) activation, LSTM, or GRU.

    hidden_size : int, default=64
        Size of the hidden state of each layer (and direction).

    num_layers : int, default=1
        Number of stacked recurrent layers.

    bidirectional : bool, default=True
        Whether each layer also reads the sequence from its end to its start.

    dropout : float, default=0.2
        Dropout probability between stacked layers and before the linear head
        (on the network's features; not on the random kernel features).

    readout : {"mean_last", "last", "mean", "max", "attention"}, \
default="mean_last"
        How the recurrent outputs become one vector per sequence:
        ``"mean_last"`` joins the mean over each sequence's valid steps with
        the hidden state at its last valid step (with ``bidirectional``, and
        the backward state at its first step), so that the linear head sees
        twice the width; ``"last"`` is the last state alone, ``"mean"`` and
        ``"max"`` the mean or maximum over the valid steps, ``"attention"`` an
        attention-weighted mean over them. Padding never enters any of them.

    readout_dropout : float, default=0.8
        Dropout probability on the recurrent readout alone, in training,
        before it joins the front end's features (and before ``dropout``).
        With a front end, the head reads the mean of the front end's
        features over each sequence's valid steps (global average pooling)
        joined with the recurrent readout, the structure of LSTM-FCN; this
        strong dropout keeps the head from leaning on the recurrent features
        alone, which on sets with few series per class memorize more than
        they generalize (see :ref:`choosing_hyperparameters`).

    conv_channels : int, default=64
        Channels of the convolutional front end between the standardized
        input and the recurrent layers: three blocks of a convolution (no
        bias), batch normalization whose statistics cover the valid steps
        only, and ReLU. The first block's convolution runs the kernel sizes
        of ``kernel_sizes_`` side by side, each with a share of the
        channels, after a 1x1 convolution to ``conv_channels`` channels where
        the input has more features; the second and third have kernels 9
        and 5. It also shortens long sequences, so that the recurrent layers
        run over at most ``recurrent_steps`` steps: the first convolution
        strides, and max pooling follows the first two blocks, by the factors
        in ``strides_``, chosen from the longest training sequence. 0 removes
        the front end: the recurrent layers read the standardized input step
        by step.

    recurrent_steps : int, default=8
        Most steps the front end leaves for the recurrent layers, for the
        longest training sequence (shorter ones get proportionally fewer: a
        warning says when the longest is over 10 times as long as 99% of
        them, and ``max_length`` bounds it). Fewer steps pool more: more
        invariance to where a local shape occurs, and faster fits; sequences
        of up to ``recurrent_steps`` steps are not shortened. Unused with
        ``conv_channels=0``."""

STANDARDIZATION_PARAMS = """\
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
        Optimizer used for training. It receives ``lr`` and
        ``weight_decay``; a subclass sets its other settings::

            class SGDMomentum(torch.optim.SGD):
                def __init__(self, params, lr, weight_decay):
                    super().__init__(params, lr=lr, weight_decay=weight_decay, momentum=0.9)

    lr : float, default=1e-3
        Peak learning rate.

    lr_schedule : {"cosine"} or None, default="cosine"
        ``"cosine"`` sets the learning rate at every batch of a ``fit``: it
        rises linearly to ``lr`` over the first 5% of the gradient steps
        (warm-up), then falls along half a cosine toward 0, which it would
        reach one step after the last: near 0 at the end of the hundreds of
        steps of the default budget, but at a quarter of ``lr`` in the last
        of four. ``partial_fit`` trains at the constant ``lr``, and so does
        None, which a learning-rate scheduler among ``callbacks`` (skorch's
        ``LRScheduler``) needs.

    weight_decay : float, default=0.01
        L2 penalty (decoupled for ``"adamw"``). ``RNNClassifier`` leaves its
        front end's convolutions out: batch normalization follows each block's
        convolutions, so that the penalty would only shrink their weights and
        speed up their learning (see :ref:`choosing_hyperparameters`).

    batch_size : int, default=32
        Largest number of sequences per gradient step. An epoch of ``n``
        sequences takes ``ceil(n / batch_size)`` steps: ``RNNClassifier``
        splits it into batches of equal size (36 sequences: two of 18), so
        that no step trains on a small remainder; ``RNNRegressor`` takes full
        batches and a smaller last one (32 and 4), which cross-validation
        favoured for regression. Prediction runs in batches of
        ``min(batch_size, 4096)``, sequences of different lengths longest
        first, in batches of lengths within a factor of 2. A partial batch
        is filled up to that size with dummy sequences when they cost little
        (at most as many sequence-steps as its own, or 512): a prediction for
        sequences of equal length is then the same to the last bit whatever
        else shares the call. Otherwise the batch runs at its own size (one
        sequence predicted alone costs one sequence's work). Where it ran
        alone, or among sequences of other lengths, a prediction may differ
        from the one it gets in another call by float32 rounding (within
        1e-6 in the tests).

    max_epochs : int or "auto", default="auto"
        Number of passes over the training data, which the learning-rate
        schedule spans. ``"auto"`` aims at about ``steps`` gradient steps,
        300 for ``RNNClassifier`` and 500 for ``RNNRegressor`` (as
        cross-validation favoured), between 30 and 300 epochs:
        ``clip(ceil(steps / batches per epoch), 30, 300)``, where an epoch's
        batches hold the sequences that train (with ``early_stopping``, not
        those of the validation split).

    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the training data, stop
        when its loss has not improved for ``n_iter_no_change`` epochs, and
        restore the weights of the best epoch. An epoch improves on the best
        so far when its loss is lower by more than 0.01% of it (skorch's
        ``EarlyStopping`` threshold); the restored epoch is the last that
        improved so, which may not be the lowest loss where the loss falls
        more slowly than that. A single training sequence trains without
        validation. False trains on all the data for the whole epoch budget.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping:
        ``ceil(validation_fraction * n_samples)`` sequences, but at most all
        of them but one; stratified by class for classifiers when possible.

    n_iter_no_change : int, default=20
        Epochs without improvement of the validation loss (by more than
        0.01%, see ``early_stopping``) before early stopping ends training.

    clip_grad_norm : float or None, default=None
        Maximum norm of the gradient of all parameters; None disables
        clipping. With ``n_networks > 1`` each network is clipped on its own,
        as if it trained alone.

    device : str, default="cpu"
        Torch device to train and predict on: ``"cpu"``, ``"cuda"``,
        ``"cuda:N"``, or ``"auto"`` for CUDA when available. Prediction runs
        where the fitted model is: a device set after fit takes effect at
        the next ``fit`` or ``partial_fit``, and
        ``load_model(path, device=...)`` loads a saved model onto another.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, dropout and the validation
        split. With an int, two fits on the CPU at the same torch thread
        count give identical models (another count rounds float32 sums
        otherwise: about 1e-7 apart). The global random state of torch is
        left as it was.

    verbose : int, default=0
        ``0`` trains silently; ``1`` prints a table of losses per epoch (and,
        with early stopping, when training stops and which epoch's weights
        are restored), in colour only when stdout is a terminal, and the
        time of the random kernel features and of the closed-form head; ``2`` or
        more also shows, on stderr, a progress bar over the batches of any
        epoch still running after 2 seconds (short epochs show none).

    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks to run during training. They see the network's
        own targets: a classifier's class indices (positions in ``classes_``,
        which its net's ``predict`` returns) and a regressor's targets
        standardized to mean 0 and variance 1. Scores that skorch's
        ``EpochScoring`` computes are therefore as for the estimator where they
        do not depend on the target's scale (accuracy, R², log-loss), and
        errors such as the mean squared error are in standardized units.
        Training runs these objects themselves, as skorch does, so that they
        keep what they recorded after ``fit`` (``est.net_.callbacks_`` lists
        them); estimators that share one callback object share its state,
        and the last fit's overwrites the others': give each its own, as
        ``clone`` and model selection do.
        The names of sklrnn's own callbacks (``"training_guard"``,
        ``"clip_grad_norm"``, ``"early_stopping"``, ``"progress_bar"``,
        ``"lr_schedule"``, ``"checkpoint"``) and of skorch's default ones
        (``"print_log"``, ``"epoch_timer"``, ``"train_loss"``,
        ``"valid_loss"``) are refused. A batch's
        loss is in the history when the batch ends, as in skorch; skorch's
        ``EpochScoring`` needs its default ``use_caching=True``. A skorch
        ``LRScheduler`` (with ``lr_schedule=None``) schedules each training
        call from its start, at ``lr``, as ``lr_schedule`` does: a warm start
        and each ``partial_fit`` call start its schedule over. The
        classifier's optimizer holds two parameter groups (the front end's
        convolutions, without weight decay, and the rest), the regressor's
        one: a scheduler's arguments per group (``LambdaLR``'s list of
        ``lr_lambda``) take one value for each. They run
        after sklrnn's own callbacks and before ``checkpoint``'s, which
        saves what they recorded; every callback sees each completed epoch,
        also the one in which a callback (early stopping) asks to stop. One
        that monitors a validation score (skorch's ``EarlyStopping`` and
        ``Checkpoint`` by default, and ``EpochScoring`` and ``BatchScoring``
        unless ``on_train=True``) needs ``early_stopping=True``, the only
        setting under which fit holds out validation data, and data enough
        to hold some out (``partial_fit`` holds out none); fit refuses it
        otherwise. With ``kernel_features`` (the default), ``fit`` solves the
        head in closed form after the callbacks' last epoch: a file that a
        callback writes at the end of training (skorch's
        ``TrainEndCheckpoint``) holds the head before that solve, and a head
        a callback froze is replaced (the ``checkpoint`` parameter's file
        holds the solved head). skorch's ``LoadInitState`` loads the random
        kernels and the input's statistics with the network, and training
        reads the loaded ones (to resume an interrupted fit, the
        ``checkpoint`` parameter is made for it). Parameters a callback froze
        stay frozen in a warm start.

    warm_start : bool, default=False
        Whether ``fit`` continues training the current model instead of
        starting from scratch, for ``max_epochs`` more epochs with a
        learning-rate schedule of their own. The training parameters in
        effect are the current ones (``lr``, ``lr_schedule``, ``optimizer``,
        ``early_stopping``, ``callbacks``...); the optimizer's state carries
        over when ``optimizer`` is unchanged. A parameter that shapes the
        network (``hidden_size``, ``cell_type``, ``kernel_features``...) must
        be as fitted, or ``fit`` raises a ``ValueError``; the front end's
        strides, which ``recurrent_steps`` and the first fit's longest
        sequence set (``strides_``), stay as fitted, and so do the
        statistics that standardize the input (and the regressor's target):
        data of another scale trains against the first fit's, as with
        ``partial_fit``; fit anew to measure them again. With ``checkpoint``
        set, it resumes from the checkpoint file (see ``checkpoint``).

    checkpoint : str, path-like or None, default=None
        File where ``fit`` saves, after every completed epoch, what is needed
        to resume training: weights, optimizer state, history, the shuffling
        and dropout random states, early-stopping and learning-rate-schedule
        state and the epochs left. A ``fit`` with
        ``warm_start=True`` on the same data then resumes the interrupted fit
        from that file (also in a new process, on a new estimator with the same
        parameters, where the interrupted fit started from scratch) and runs
        only its remaining epochs, on the interrupted
        fit's learning-rate schedule; with an int ``random_state`` the result
        equals an uninterrupted fit (unless ``callbacks`` hold state of their
        own, such as a skorch ``LRScheduler``'s steps, which the file does not
        keep: they start over). From the
        file of a finished fit, such a ``fit`` continues the weights as a new
        training call, with a learning-rate schedule of its own. The file
        records a hash of the training data and of the parameters (all but
        ``checkpoint``, ``warm_start``, ``verbose``, ``callbacks``, ``device``
        and ``max_epochs``), and a ``fit`` on other data or with other
        parameters refuses to resume from it with a ``ValueError``: clones
        that share a path, such as cross-validation folds, never start from
        each other's weights, unless they differ in those parameters alone
        (two ``max_epochs`` of a search on one split): give each fit its own
        path. A ``fit`` with ``warm_start=False`` starts over
        and overwrites the file (ended in its first epoch, interrupted or
        diverged, it removes it: no later fit then resumes the other fit in
        its place). ``partial_fit`` overwrites it too, with its epoch as a
        finished fit: resume an interrupted fit with ``fit`` before calling
        ``partial_fit``.
        The file has the format of :func:`~sklrnn.save_model` and is read as
        untrusted: a malformed
        file, or one with more epochs left than ``max_epochs``, raises a
        ``ValueError`` naming it."""

FITTED_ATTRIBUTES = """\
n_features_in_ : int
        Number of features seen during fit: the number of columns of a 2D
        input, or the size of the last axis of 3D and list input.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a DataFrame passed to fit, or of the
        DataFrames of a list passed to fit (their features, matched by name
        afterwards). Defined only when the names are all strings.

    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch module.

    history_ : skorch.History
        Per-epoch records, including ``train_loss`` and, with early
        stopping, ``valid_loss``; when early stopping restored the weights
        of its best epoch, the last record holds that epoch's number under
        ``best_epoch``, and with ``kernel_features`` it holds
        ``head_solved=True`` when the head was solved in closed form after
        at least one epoch.
        :class:`~sklrnn.LossCurveDisplay` plots it.

    n_iter_ : int
        Number of epochs run.

    strides_ : tuple of 3 ints
        How the convolutional front end shortens sequences, chosen from the
        longest training sequence of the first ``fit``: the stride of its
        first convolution (above 1 only for sequences longer than 512 steps),
        then the max-pooling factors after its first and second blocks, so
        that the recurrent layers run over at most ``recurrent_steps`` steps.
        With ``conv_channels=0`` the recurrent layers run over every step,
        and only the first factor is used: the random kernels
        (``kernel_features``) read every ``strides_[0]``-th step.

    kernel_sizes_ : tuple of ints
        Kernel sizes of the front end's first block, chosen from the longest
        training sequence of the first ``fit``: 15, and 31 and 63 where
        they are no longer than it (after the first convolution's stride),
        at most one size per channel. Unused with ``conv_channels=0``.

    kernel_dilations_ : tuple of (int, int) pairs
        Dilations of the random kernels and each one's number of biases,
        chosen from the longest training sequence of the first ``fit``: up
        to 32 dilations from 1 to the one at which a kernel spans it. Empty
        with ``kernel_features=0``.

    n_networks_ : int
        Number of networks averaged, ``n_networks``."""

RELIABILITY_NOTES = """Training is guarded against faults (see the documentation's
    Reliability page). If a training or validation loss becomes NaN or infinite,
    training stops, the weights and optimizer state of the last good epoch
    kept are restored, and a ``RuntimeWarning`` says so. That state is kept
    after every epoch, or, when an epoch holds fewer than 4 batches and no
    validation pass, after every few epochs (once 4 training steps have run
    since the last). If training is interrupted inside an epoch (Ctrl-C,
    i.e. ``KeyboardInterrupt``), the estimator is wound up at that kept epoch:
    history and optimizer state of that epoch, and its weights (with early
    stopping, those of the best completed epoch, as at any end of training;
    with random kernel features, the head as training left it, not solved in
    closed form). The ``KeyboardInterrupt`` is then raised again, so that
    scripts and searches stop; the estimator object stays usable for
    prediction and for ``warm_start``, and with ``checkpoint`` set
    a later ``fit`` resumes the interrupted one (a ``RandomState``
    ``random_state`` is given back the draw of a fit that ends in an
    interrupt or an error, so that the same instance resumes it too). A
    ``KeyboardInterrupt`` that an ``EarlyStopping`` raises once its patience
    runs out, or that another callback of your own raises in
    ``on_epoch_end`` (skorch's way to stop), ends training normally instead;
    one that lands in the end-of-epoch work of sklrnn's other callbacks or
    skorch's is an interrupt.

    Fitted estimators can be used for prediction from several threads, and
    clones fitted in parallel threads equal their sequential fits for the
    same ``random_state``. Pickles record the sklrnn, torch, skorch and
    scikit-learn versions; loading one made with other versions emits an
    :class:`~sklrnn.InconsistentVersionWarning` (a subclass of
    scikit-learn's), or raises a
    ``pickle.UnpicklingError`` naming the versions when the torch model
    cannot be rebuilt. A pickle holds no training data: its size does not
    grow with ``n_samples``. Loading a pickle can run code: load only
    pickles from sources you trust, and prefer :func:`~sklrnn.save_model`
    and :func:`~sklrnn.load_model`, which never unpickle."""


KERNEL_FEATURES = """\
kernel_features : int, default={default}
        Number of features from fixed random dilated convolutions that the
        head reads beside the network's own (the features of MiniRocket,
        Dempster et al., 2021), rounded down to a multiple of 84 (at least
        84); 0 leaves the network alone. Each of 84 kernels of length 9 (weights -1 and 2)
        runs at up to 32 dilations on a random subset of the standardized
        input's features, and each of its biases, a quantile of its outputs
        on a random training sequence, gives one feature: the fraction of
        the valid steps where the output exceeds the bias. They are drawn
        when the first ``fit`` starts, never trained, and computed once per
        ``fit``; the head reads them standardized and divided by the square
        root of their number, so that its weights on them are of the size
        of its other weights for the optimizer's steps; sequences longer
        than 512 steps are read at every ``strides_[0]``-th step. With them,
        ``fit`` ends by solving the head in closed form: a ridge regression
        on the head's standardized inputs, its penalty chosen by
        leave-one-out cross-validation among 10 values from 1e-3 to
        1e3{classifier_head}. ``partial_fit`` trains the head by gradient,
        with the rest of the network. The features
        take 4 bytes per feature and training sequence in memory (20 kB per
        sequence with 5,040), and the closed-form head, solved on the
        model's device, holds two or three float64 copies of what the head
        reads; on one CPU thread it took 1.6, 10, 34 and 45 s for 2,000, 4,000,
        8,000 and 16,000 training sequences with 5,040 features (growing as
        the square of their number up to the number of features, and in
        proportion beyond). {choice}"""

N_NETWORKS = """\
n_networks : int, default=1
        Number of networks of this architecture trained side by side, each
        from its own random initialization and on its own loss, whose
        predictions are averaged ({average}; a deep ensemble). Each network
        trains as it would alone, at the same ``lr`` and ``weight_decay``
        (the history's ``train_loss`` is their mean). Fit and prediction time
        and memory grow in proportion."""


FEATURES_NOTES = """A fitted estimator is also a transformer: :meth:`transform` returns the
    vector the network's head reads for each sequence (with ``n_networks >
    1``, the networks' vectors concatenated), named by
    :meth:`get_feature_names_out`, so that it can feed any scikit-learn model,
    also as an intermediate Pipeline step. :meth:`recurrent_states` returns
    the last recurrent layer's outputs at each step, NaN past each
    sequence's end."""
