"""Telling clients their export is ready: SES email and Standard Webhooks, retried and recorded."""
