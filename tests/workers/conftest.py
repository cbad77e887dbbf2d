from tests.challenges.conftest import challenge, reference_code, swapped_kl_code  # noqa: F401 - shared fixtures
