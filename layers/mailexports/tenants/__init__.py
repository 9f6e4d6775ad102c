"""Tenants, their API keys and webhook signing secrets."""
