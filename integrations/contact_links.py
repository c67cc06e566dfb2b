"""Signed tokens that let a notice be acknowledged where it arrived: a call's key-press URLs and the email link.

Both are itsdangerous signatures (HMAC-SHA1 over the JSON, with a timestamp) under the configured secret;
a call token is valid for CALL_TOKEN_MAX_AGE, an email link for EMAIL_LINK_MAX_AGE and once (its nonce is
recorded as a processed event on use).
"""

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

CALL_TOKEN_MAX_AGE = 3600  # seconds: a call is answered within minutes
EMAIL_LINK_MAX_AGE = 24 * 3600  # seconds


@dataclass(frozen=True, slots=True)
class AckTarget:
    """Who may acknowledge what: the incident, the person, and (email links) the single-use nonce."""

    incident_id: int
    person_id: int
    nonce: str = ""


class AckLinks:
    def __init__(self, secret: str, public_url: str) -> None:
        self._calls = URLSafeTimedSerializer(secret, salt="wareroom.call-ack")
        self._emails = URLSafeTimedSerializer(secret, salt="wareroom.email-ack")
        self.public_url = public_url.rstrip("/")

    def call_token(self, *, incident_id: int, person_id: int) -> str:
        return str(self._calls.dumps([incident_id, person_id]))

    def email_link(self, *, incident_id: int, person_id: int, key: str) -> str:
        """``{public_url}/ack/{token}``: the page that asks for the PIN."""
        return f"{self.public_url}/ack/{self._emails.dumps([incident_id, person_id, key])}"

    def read_call(self, token: str) -> AckTarget | None:
        """The target of a call token, or None when forged or expired."""
        try:
            incident_id, person_id = self._calls.loads(token, max_age=CALL_TOKEN_MAX_AGE)
        except (BadSignature, ValueError, TypeError):
            return None
        return AckTarget(int(incident_id), int(person_id))

    def read_email(self, token: str) -> AckTarget | None:
        """The target of an email link, or None when forged or expired (single use is the caller's check)."""
        try:
            incident_id, person_id, nonce = self._emails.loads(token, max_age=EMAIL_LINK_MAX_AGE)
        except (BadSignature, ValueError, TypeError):
            return None
        return AckTarget(int(incident_id), int(person_id), str(nonce))
