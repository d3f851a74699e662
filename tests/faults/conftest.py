"""The worlds of the fault tests are the ones the scan and reconciliation tests use."""

from tests.optimization.conftest import live, on_10_november, people  # noqa: F401
from tests.optimization.test_scan import every_signal, no_client_sign_off  # noqa: F401
