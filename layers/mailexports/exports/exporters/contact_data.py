"""`contact_data`: everything known about one address but its profile, one inner
array per kind (messages with full MIME, opens, clicks, survey responses)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from pydantic import BaseModel

from mailexports.exports.exporters.base import Row
from mailexports.exports.requests import ContactDataParams
from mailexports.exports.task import ExportTask
from mailexports.marketing.reader import MarketingReader

# Fields that only repeat the address the whole file is about.
_DROP = {"email"}


def _cursor(group: int, index: int) -> str:
    return f"{group}:{index}"


class ContactDataExporter:
    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        params = ContactDataParams.model_validate(task.params)
        reader = MarketingReader(task.tenant_id)
        kinds: list[Iterable[BaseModel]] = [
            reader.contact_messages(params.email),
            reader.contact_events(params.email, "open"),
            reader.contact_events(params.email, "click"),
            reader.contact_survey_responses(params.email),
        ]
        done_group, done_index = (int(p) for p in after.split(":")) if after else (0, -1)
        for group, items in enumerate(kinds):
            if group < done_group:
                continue
            # One address's data is small: resuming re-reads the kind and skips what was written.
            skip = done_index + 1 if group == done_group else 0
            for index, item in enumerate(islice(items, skip, None), start=skip):
                record: dict[str, Any] = item.model_dump(mode="json", exclude=_DROP, exclude_none=True)
                yield Row(record, _cursor(group, index), group)
