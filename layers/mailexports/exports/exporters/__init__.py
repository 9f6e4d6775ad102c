"""Exporters: each turns a task's params into the rows its file holds, resumably."""

from __future__ import annotations

from mailexports.exports.exporters.base import Exporter, Row, ShardedExporter
from mailexports.exports.exporters.campaign_activity import CampaignActivityExporter
from mailexports.exports.exporters.campaign_delivery import CampaignDeliveryExporter
from mailexports.exports.exporters.contact_data import ContactDataExporter
from mailexports.exports.exporters.segment_contacts import SegmentContactsExporter
from mailexports.exports.requests import ExportType

EXPORTERS: dict[ExportType, Exporter] = {
    ExportType.CAMPAIGN_ACTIVITY: CampaignActivityExporter(),
    ExportType.SEGMENT_CONTACTS: SegmentContactsExporter(),
    ExportType.CAMPAIGN_DELIVERY: CampaignDeliveryExporter(),
    ExportType.CONTACT_DATA: ContactDataExporter(),
}


def exporter_for(task_type: ExportType) -> Exporter:
    return EXPORTERS[task_type]


__all__ = ["EXPORTERS", "Exporter", "Row", "ShardedExporter", "exporter_for"]
