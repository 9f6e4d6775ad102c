"""HTTP: the canonical v1 routes, the dialect routes, and the one error mapping."""
