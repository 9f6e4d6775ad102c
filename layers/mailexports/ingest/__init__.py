"""SES event publishing -> marketing data: parse SNS-wrapped SES events, map them, write them."""
