"""Recurring exports: schedule expressions, the stored schedules, and the sweep that runs them."""
