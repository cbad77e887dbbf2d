"""The challenge fixtures (``challenge``, ``reference_code``, ``swapped_kl_code``) live in tests/fixtures/worker.py."""
