"""Export requests, tasks, their store, and the worker that turns a task into files."""
