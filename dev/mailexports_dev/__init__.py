"""Developer tooling: the local stack (`local`), the synthetic data generator (`generate`) and
`write_openapi`. The service (layers/mailexports) never imports this package; the
`mailexports` command only when `run` or `generate` runs."""
