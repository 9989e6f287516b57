"""The production stack's tests: its files checked, and the stack run for real (one per run)."""
