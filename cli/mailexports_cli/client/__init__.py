"""`mailexports export` and `mailexports exports ...`: a client of the canonical v1 API over HTTP."""
