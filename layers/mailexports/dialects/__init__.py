"""Compatibility dialects: the four vendor APIs, each a thin adapter over the canonical core.

Each vendor module parses its vendor's request into the canonical ExportRequest, submits
it through the same ExportSubmitter, and words answers, errors and notification payloads
the vendor's way. Each declares one value, `DIALECT` (dialect.py); importing a module
registers nothing: the handlers compose the dialects they serve.
"""
