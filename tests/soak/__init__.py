"""The soak: many clients, five tenants, every export type, format and dialect, against a
running local stack while the harness injects faults (duplicate queue messages, a killed
worker, a failing webhook receiver). `make soak` runs `python -m tests.soak`; a short
version runs in `make test` (tests/integration/test_soak.py)."""
