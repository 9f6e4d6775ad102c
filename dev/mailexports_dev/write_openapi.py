"""`make openapi`: writes the copy of the OpenAPI document kept in the repository
(docs/openapi.json); a test fails when it differs from what the code generates.
Dev tooling, so it lives here and not in the Lambda layer."""

from __future__ import annotations

import sys
from pathlib import Path

from mailexports.api.documentation import openapi_document, render


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m mailexports_dev.write_openapi PATH", file=sys.stderr)
        return 2
    target = Path(argv[0])
    partial = target.with_suffix(".tmp")
    partial.write_text(render(openapi_document()), encoding="utf-8")
    partial.replace(target)  # never leaves a half-written document behind
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
