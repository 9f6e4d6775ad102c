"""What the soak's clients submit: every export type and format through the canonical API,
and each dialect's async requests; each knows how to submit itself, poll for its result in
its own dialect, and what its file must hold (computed by tests/expectations.py from the
tenant's NDJSON alone)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from tests.expectations import (
    activity_csv,
    contact_document,
    delivery_csv,
    delivery_statuses,
    newsletter_activity,
    segment_csv,
    segment_subscribers,
    selzy_report,
)
from tests.soak.http import Timings, call
from tests.soak.tenants import SoakTenant

NOT_YET = "Data not available (yet)"


@dataclass(frozen=True)
class Variant:
    """One kind of request. `dialect` is canonical, pinpointe, selzy or copernica."""

    name: str
    dialect: str
    export_type: str = ""
    format: str = "json"
    compression: str = "none"
    method: str = "POST"  # Selzy takes its requests by GET and by POST form

    # ------------------------------------------------------------------ submit
    def submit(
        self, api: str, tenant: SoakTenant, hook: str, session: requests.Session, timings: Timings
    ) -> tuple[str, str]:
        """(task_uuid, the id the dialect shows); raises AssertionError on a refusal."""
        if self.dialect == "canonical":
            body = {
                "type": self.export_type,
                "params": canonical_params(self.export_type, tenant),
                "format": self.format,
                "compression": self.compression,
                "notify": {"type": "webhook", "value": hook},
            }
            answer = call(
                session, timings, "submit", "POST", f"{api}/v1/exports", headers=tenant.bearer, json=body
            )
            assert answer.status_code == 202, f"{self.name}: {answer.status_code} {answer.text}"
            task_uuid = answer.json()["task_uuid"]
            return task_uuid, task_uuid
        if self.dialect == "pinpointe":
            answer = call(
                session,
                timings,
                "submit",
                "POST",
                f"{api}/pinpointe/apijson.php",
                json=pinpointe_request(self.export_type, tenant, hook),
            )
            assert answer.status_code == 200, f"{self.name}: {answer.status_code} {answer.text}"
            assert answer.json().get("status") == "SUCCESS", f"{self.name}: {answer.text}"
            job = str(answer.json()["data"])
            return job, job
        if self.dialect == "selzy":
            url = f"{api}/selzy/en/api/async/getCampaignDeliveryStats"
            form = [("api_key", tenant.api_key), ("campaign_id", tenant.campaign_id), ("notify_url", hook)]
            form += [("field_ids[]", f) for f in tenant.field_ids]
            if self.method == "GET":
                answer = call(session, timings, "submit", "GET", f"{url}?{urlencode(form)}")
            else:
                answer = call(session, timings, "submit", "POST", url, data=form)
            assert answer.status_code == 200, f"{self.name}: {answer.status_code} {answer.text}"
            assert "result" in answer.json(), f"{self.name}: {answer.text}"
            task_uuid = answer.json()["result"]["task_uuid"]
            return task_uuid, task_uuid
        query = urlencode({"access_token": tenant.api_key, "report": hook})
        answer = call(
            session, timings, "submit", "POST", f"{api}/copernica/v3/email/{tenant.email}/datarequest?{query}"
        )
        assert answer.status_code == 201, f"{self.name}: {answer.status_code} {answer.text}"
        identifier = answer.headers["X-Created"]
        return str(uuid.UUID(int=int(identifier))), identifier

    # ------------------------------------------------------------------ poll
    def poll(
        self, api: str, tenant: SoakTenant, shown_id: str, session: requests.Session, timings: Timings
    ) -> bytes | None:
        """The finished file's bytes (gzip undone by HTTP), or None while it is not ready."""
        if self.dialect in ("canonical", "pinpointe"):
            answer = call(
                session, timings, "status", "GET", f"{api}/v1/exports/{shown_id}", headers=tenant.bearer
            )
            assert answer.status_code == 200, f"{self.name}: status {answer.status_code} {answer.text}"
            task = answer.json()
            assert task["status"] not in ("failed", "cancelled", "expired"), f"{self.name}: {task}"
            if task["status"] != "completed":
                return None
            if task["file_to_download"] is None:  # none of the soak's exports goes to a customer bucket
                again = call(session, timings, "status", "GET", answer.url, headers=tenant.bearer).text
                raise AssertionError(f"{self.name}: completed without a file: {task}; read again: {again}")
            return download(task["file_to_download"], session, timings)
        if self.dialect == "selzy":
            query = urlencode({"api_key": tenant.api_key, "task_uuid": shown_id})
            answer = call(
                session, timings, "status", "GET", f"{api}/selzy/en/api/async/getTaskResult?{query}"
            )
            assert answer.status_code == 200, f"{self.name}: status {answer.status_code} {answer.text}"
            result = answer.json().get("result")
            assert result, f"{self.name}: {answer.text}"
            assert result["status"] in ("new", "processing", "completed"), f"{self.name}: {result}"
            if result["status"] != "completed":
                return None
            if result.get("file_to_download") is None:
                again = call(session, timings, "status", "GET", answer.url).text
                raise AssertionError(f"{self.name}: completed without a file: {result}; read again: {again}")
            return download(result["file_to_download"], session, timings)
        url = f"{api}/copernica/v3/datarequest/{shown_id}?access_token={tenant.api_key}"
        answer = call(session, timings, "status", "GET", url)
        assert answer.status_code == 200, f"{self.name}: {answer.status_code} {answer.text}"
        return None if answer.json().get("data") == NOT_YET else answer.content

    # ------------------------------------------------------------------ check
    def mismatch(self, tenant: SoakTenant, content: bytes) -> str | None:
        """Why the file is not what the tenant's data says, or None when it is."""
        got: Any
        if self.format == "csv":
            got, want = content, expected_csv(self.export_type, tenant)
        elif self.export_type == "contact_data" or self.dialect in ("selzy", "copernica"):
            got, want = json.loads(content), expected_document(self, tenant)
        elif self.format == "ndjson":
            got = [json.loads(line) for line in content.decode().splitlines()]
            want = expected_records(self.export_type, tenant)
        elif self.dialect == "pinpointe" and self.export_type == "segment_contacts":
            got, want = json.loads(content), expected_document(self, tenant)
        else:
            document = json.loads(content)
            got, want = document["records"], expected_records(self.export_type, tenant)
            if document["count"] != len(want):
                return f"{self.name}: count {document['count']}, want {len(want)}"
        if got == want:
            return None
        return f"{self.name} (tenant {tenant.index}): file differs from the expected records"


def download(url: str, session: requests.Session, timings: Timings) -> bytes:
    answer = call(session, timings, "download", "GET", url)
    assert answer.status_code == 200, f"download {answer.status_code}: {answer.text[:200]}"
    return answer.content


# ------------------------------------------------------------------ requests
def canonical_params(export_type: str, tenant: SoakTenant) -> dict[str, Any]:
    if export_type == "campaign_activity":
        return {"stat_id": tenant.stat_id}
    if export_type == "segment_contacts":
        return {"segment_ids": tenant.segments, "include_membership": True, "custom_fields": "all"}
    if export_type == "campaign_delivery":
        return {"campaign_id": tenant.campaign_id, "field_ids": tenant.field_ids}
    return {"email": tenant.email}


def pinpointe_request(export_type: str, tenant: SoakTenant, hook: str) -> dict[str, Any]:
    notify = {"type": "webhook", "value": hook}
    common = {"username": tenant.username, "usertoken": tenant.api_key}
    if export_type == "campaign_activity":
        return common | {
            "requesttype": "Newsletters",
            "requestmethod": "GetNewsletterContactDataSummaryAsync",
            "details": {"stat": tenant.stat_id, "notify": notify},
        }
    return common | {
        "requesttype": "Segments",
        "requestmethod": "GetSegmentSubscribersAsync",
        "details": {
            "segmentid": tenant.segments,
            "status": "active",
            "include_membership": "true",
            "customfields": ["First Name"],
            "notify": notify,
        },
    }


# ------------------------------------------------------------------ expectations
def expected_records(export_type: str, tenant: SoakTenant) -> list[dict[str, Any]]:
    data = tenant.lines
    if export_type == "campaign_activity":
        return newsletter_activity(data, tenant.stat_id)
    if export_type == "segment_contacts":
        return segment_subscribers(data, tenant.segments, "any", True, "all")
    return delivery_statuses(data, tenant.campaign_id, None, tenant.field_ids)


def expected_csv(export_type: str, tenant: SoakTenant) -> bytes:
    data = tenant.lines
    if export_type == "campaign_activity":
        return activity_csv(data, tenant.stat_id)
    if export_type == "segment_contacts":
        return segment_csv(data, tenant.segments, "any", True, "all")
    return delivery_csv(data, tenant.campaign_id, None, tenant.field_ids)


def expected_document(variant: Variant, tenant: SoakTenant) -> Any:
    data = tenant.lines
    if variant.dialect == "selzy":
        return selzy_report(data, tenant.campaign_id, None, tenant.field_ids)
    if variant.dialect == "pinpointe":
        want = segment_subscribers(data, tenant.segments, "active", True, ["First Name"])
        return {"status": "SUCCESS", "data": {"subscribers": want, "count": len(want)}}
    return contact_document(data, tenant.email)


def every_variant() -> list[Variant]:
    """Every type in every format it allows (csv not for contact_data), each with and
    without gzip, then each dialect's async requests."""
    variants = []
    for export_type in ("campaign_activity", "segment_contacts", "campaign_delivery", "contact_data"):
        formats = ("json",) if export_type == "contact_data" else ("json", "ndjson", "csv")
        for fmt in formats:
            for compression in ("none", "gzip"):
                name = f"v1 {export_type} {fmt}" + (" gzip" if compression == "gzip" else "")
                variants.append(Variant(name, "canonical", export_type, fmt, compression))
    return [
        *variants,
        Variant("pinpointe 000 activity", "pinpointe", "campaign_activity"),
        Variant("pinpointe 001 segment", "pinpointe", "segment_contacts"),
        Variant("selzy delivery (GET)", "selzy", "campaign_delivery", method="GET"),
        Variant("selzy delivery (POST)", "selzy", "campaign_delivery"),
        Variant("copernica data request", "copernica", "contact_data"),
    ]
