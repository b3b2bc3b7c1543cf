import os

# scikit-learn runs its array-API check only when SciPy was imported with this
# set; it must come before anything imports scipy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
