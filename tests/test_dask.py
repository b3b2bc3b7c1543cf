"""Hyperparameter search on a dask.distributed cluster through joblib."""

import joblib
import numpy as np
import pytest
from distributed import Client, LocalCluster, get_task_stream
from sklearn.model_selection import GridSearchCV

from sklrnn import RNNClassifier


@pytest.fixture(scope="module")
def client():
    # Two worker processes on this machine, as a multi-machine cluster would
    # run them; the test is the same code a user points at a remote scheduler.
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
            env=env,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_grid_search_runs_on_the_cluster(client):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(48, 8))
    y = (X[:, -2:].sum(axis=1) > 0).astype(int)
    search = GridSearchCV(
        RNNClassifier(max_epochs=3, random_state=0),
        {"cell_type": ["gru", "lstm"], "hidden_size": [4, 8]},
        cv=2,
    )
    with get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        search.fit(X, y)
    # The fits ran in the workers' processes, not in this one.
    workers = {task["worker"] for task in stream.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])
    # And they computed what a local search computes.
    local = GridSearchCV(search.estimator, search.param_grid, cv=2).fit(X, y)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert search.best_params_ == local.best_params_
    assert search.best_estimator_.predict(X).shape == (48,)


def test_dask_arrays_of_unknown_chunk_sizes_predict_as_numpy():
    # Their shape holds NaN: the chunked prediction ranged over it and failed
    # inside Python ("'float' object cannot be interpreted as an integer").
    da = pytest.importorskip("dask.array")
    X = np.random.RandomState(0).normal(size=(24, 6, 2))
    y = np.arange(24) % 2
    clf = RNNClassifier(hidden_size=3, conv_channels=2, max_epochs=2, random_state=0).fit(X, y)
    Xd = da.from_array(X, chunks=(7, 6, 2))
    unknown = Xd[Xd[:, 0, 0] > -100]  # every row, but dask does not know how many
    assert np.isnan(unknown.shape[0])
    np.testing.assert_array_equal(clf.predict_proba(unknown), clf.predict_proba(X))
    np.testing.assert_array_equal(clf.transform(unknown), clf.transform(X))
