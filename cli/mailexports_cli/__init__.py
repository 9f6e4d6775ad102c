"""The `mailexports` command: local stack, tenants, data generation and import."""
