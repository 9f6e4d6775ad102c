"""mailexports: the shared package of the SAM application (shipped as a Lambda layer)."""
