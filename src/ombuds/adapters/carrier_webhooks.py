"""R40: checking that a carrier webhook really comes from the feed the operator configured.

Two formats: Ombuds' own, signed per Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``: HMAC-SHA256 with a ``whsec_`` secret, a timestamp within 5 minutes of
now), exactly like the webhooks Ombuds sends; and AfterShip's, whose ``aftership-hmac-sha256``
header is the base64 HMAC-SHA256 of the raw body with the account's webhook secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from ombuds.domain.errors import DomainError

AFTERSHIP_HEADER = "aftership-hmac-sha256"


class BadSignature(DomainError):
    status = 401

    def __init__(self, message: str, field: str):
        super().__init__("invalid_signature", message, field)


class NotConfigured(DomainError):
    status = 404

    def __init__(self, what: str, setting: str):
        super().__init__("webhook_not_configured",
                         f"The {what} webhook is not configured on this server (set {setting}).", None)


def verify_standard(secret: str, body: bytes, headers: dict[str, str]) -> object:
    """The parsed JSON body, if signed with ``secret`` per Standard Webhooks; else BadSignature."""
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except (WebhookVerificationError, ValueError) as exc:
        raise BadSignature(f"The webhook signature does not verify: {exc}. Sign "
                           "'{webhook-id}.{webhook-timestamp}.{body}' with the tracking secret "
                           "(Standard Webhooks); the timestamp must be within 5 minutes.",
                           "webhook-signature") from None
    return _json(body)


def verify_aftership(secret: str, body: bytes, signature: str | None) -> object:
    if not signature:
        raise BadSignature(f"The {AFTERSHIP_HEADER} header is missing.", AFTERSHIP_HEADER)
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise BadSignature("The AfterShip signature does not match this body and the configured secret.",
                           AFTERSHIP_HEADER)
    return _json(body)


def sign_aftership(secret: str, body: bytes) -> str:
    """What AfterShip sends in ``aftership-hmac-sha256`` (for tests and the docs)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        raise DomainError("invalid_request", "The request body is not valid JSON.", None) from None
