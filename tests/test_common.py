"""scikit-learn's own estimator checks, with default parameters."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklrnn import RNNClassifier, RNNRegressor

# float32 minibatch Adam cannot reproduce fits to the rtol=1e-7 this check asks
# of weighted versus repeated samples: measured here, the predictions of the
# two fits differ by up to ~1e-3 (relative), the expected size for float32 SGD
# noise over hundreds of steps. Sample weights are tested for their real
# meaning in test_estimators.py.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "float32 minibatch training cannot match repeated samples to rtol=1e-7"
    ),
}


@parametrize_with_checks(
    [RNNClassifier(), RNNRegressor()],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
