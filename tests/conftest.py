import os
import threading
import time

import pytest

# scikit-learn runs its array-API check only when SciPy was imported with this
# set; it must come before anything imports scipy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")


@pytest.fixture
def forked_while_held():
    """Fork while another thread is inside ``held`` (a context manager that
    takes a lock); run ``work()`` in the child and return its exit code, 0
    once it returned.

    A lock copied held into the child is never released there: a child that
    has not finished in ``seconds`` is killed and fails the test.
    """

    def run(held, work, seconds=60):
        entered, done = threading.Event(), threading.Event()

        def hold():
            with held:
                entered.set()
                done.wait(seconds)

        thread = threading.Thread(target=hold)
        thread.start()
        entered.wait(seconds)
        try:
            pid = os.fork()
            if pid == 0:
                try:
                    work()
                    os._exit(0)
                except BaseException:
                    os._exit(1)
            for _ in range(10 * seconds):
                finished, status = os.waitpid(pid, os.WNOHANG)
                if finished:
                    return os.waitstatus_to_exitcode(status)
                time.sleep(0.1)
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child did not finish in {seconds} s")
        finally:
            done.set()
            thread.join()

    return run
