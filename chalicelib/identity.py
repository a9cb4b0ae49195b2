"""Who is calling: the authenticated principal, as the service sees it.

The HTTP edge (``chalicelib.http.caller``) builds a ``Caller`` from what API Gateway's
authorizer passed in the request context (or, on the open ``local`` stage, from the
``X-Created-By`` header); the SNS command path builds one from the message. The service
decides what a caller may do from this alone.
"""

from __future__ import annotations

from dataclasses import dataclass

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Caller:
    """``principal`` is the owner key stored as a schedule's ``created_by`` (an IAM
    principal ARN, a Cognito ``sub``, or a name on the open local stage); ``display`` is
    what people read (a Cognito username); admins may act on every schedule."""

    principal: str
    display: str | None = None
    is_admin: bool = False

    @property
    def name(self) -> str:
        return self.display or self.principal

    def may_act_on(self, owner: str) -> bool:
        """The one ownership rule: a caller sees and changes its own schedules (``owner``:
        the record's ``created_by``); an admin, every schedule."""
        return self.is_admin or owner == self.principal


def anonymous(is_admin: bool = False) -> Caller:
    """Who names nobody; on the open local stage (``is_admin``) that is its admin."""
    return Caller(ANONYMOUS, is_admin=is_admin)
