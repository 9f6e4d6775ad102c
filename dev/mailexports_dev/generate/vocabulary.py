"""The words and values synthetic records are made of (display name, ASCII spelling for
headers and email addresses; reserved example domains and documentation address ranges only)."""

from __future__ import annotations

from collections.abc import Callable

FIRST_NAMES = (
    ("Ann", "Ann"), ("James", "James"), ("Maria", "Maria"), ("Wei", "Wei"),
    ("Olivia", "Olivia"), ("Noah", "Noah"), ("Zoë", "Zoe"), ("José", "Jose"),
    ("Priya", "Priya"), ("Liam", "Liam"), ("Chloé", "Chloe"), ("Björn", "Bjorn"),
    ("Fatima", "Fatima"), ("Kenji", "Kenji"), ("Amara", "Amara"), ("Lucas", "Lucas"),
    ("Sofia", "Sofia"), ("Mateo", "Mateo"), ("Hannah", "Hannah"), ("Omar", "Omar"),
    ("Emma", "Emma"), ("Ivan", "Ivan"), ("Grace", "Grace"), ("Siobhán", "Siobhan"),
)  # fmt: skip
LAST_NAMES = (
    ("Smith", "Smith"), ("Müller", "Mueller"), ("García", "Garcia"), ("Chen", "Chen"),
    ("O'Brien", "O'Brien"), ("Kowalski", "Kowalski"), ("Nguyen", "Nguyen"),
    ("Johnson", "Johnson"), ("Rossi", "Rossi"), ("Tanaka", "Tanaka"), ("Dubois", "Dubois"),
    ("Okafor", "Okafor"), ("Silva", "Silva"), ("Andersson", "Andersson"), ("Patel", "Patel"),
    ("Novak", "Novak"), ("Brown", "Brown"), ("Kim", "Kim"), ("Haddad", "Haddad"),
    ("Walsh", "Walsh"),
)  # fmt: skip
# Only reserved example domains (RFC 2606).
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
# Local-part stems; the contact id is always appended after a final dot, which keeps emails unique.
EMAIL_STYLES: tuple[Callable[[str, str], str], ...] = (
    lambda first, last: f"{first}.{last}",
    lambda first, last: f"{first}{last}",
    lambda first, last: f"{first[0]}.{last}",
    lambda first, last: f"{first}_{last}",
    lambda first, last: f"{last}.{first}",
)
LOCATIONS = (
    ("Berlin", "Germany"), ("São Paulo", "Brazil"), ("Lyon", "France"),
    ("Austin", "United States"), ("Chicago", "United States"), ("Toronto", "Canada"),
    ("Kraków", "Poland"), ("Osaka", "Japan"), ("Melbourne", "Australia"),
    ("Dublin", "Ireland"), ("Madrid", "Spain"), ("London", "United Kingdom"),
    ("Lagos", "Nigeria"), ("Pune", "India"),
)  # fmt: skip
# The custom fields, in field_id order "1", "2", ...
FIELD_NAMES = ("First Name", "Last Name", "City", "Country", "Plan")
# name, subject, URL slug; campaign k uses entry k % len.
CAMPAIGN_THEMES = (
    ("Spring sale", "Spring is here: 20% off everything", "spring-sale"),
    ("March newsletter", "What is new this month", "newsletter"),
    ("Product update", "Three features you asked for", "product-update"),
    ("Webinar invitation", "Join our live demo on Thursday", "webinar"),
    ("Customer survey", "Two minutes to help us improve?", "survey"),
    ("Summer clearance", "Last chance: summer clearance", "summer-clearance"),
    ("Welcome series", "Welcome aboard, here is how to start", "welcome"),
    ("Black Friday", "Black Friday starts now", "black-friday"),
)
# Documentation address ranges (RFC 5737): opens and clicks come from these.
IP_PREFIXES = ("192.0.2", "198.51.100", "203.0.113")
# Reading devices: (user agent of the opening mail client or image proxy, user agent of the clicking browser).
_WEBKIT = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
_CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0"
_IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"
_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
_ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8)"
DEVICES = (
    (f"{_IPHONE} {_WEBKIT} Mobile/15E148", f"{_IPHONE} {_WEBKIT} Version/17.4 Mobile/15E148 Safari/604.1"),
    (
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        f"{_WINDOWS} {_CHROME} Safari/537.36",
    ),
    (
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
        f"{_WINDOWS} {_CHROME} Safari/537.36 Edg/124.0.2478.67",
    ),
    (f"{_MAC} {_WEBKIT}", f"{_MAC} {_WEBKIT} Version/17.4 Safari/605.1.15"),
    (f"{_ANDROID} {_CHROME} Mobile Safari/537.36", f"{_ANDROID} {_CHROME} Mobile Safari/537.36"),
)
SENDER = '"Northwind News" <news@example.com>'
