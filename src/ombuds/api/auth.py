"""Bearer tokens: the marketplace key may do anything; a user token only what is the user's.

With the marketplace key, ``On-Behalf-Of: <user id>`` acts as that user.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from ombuds.domain.errors import DomainError
from ombuds.services.context import PLATFORM, Caller, Ombuds
from ombuds.services.users import caller_for_token, caller_for_user


class Unauthorized(DomainError):
    status = 401


async def get_caller(request: Request) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("unauthorized", "Send 'Authorization: Bearer <token>'.", "authorization")
    ombuds: Ombuds = request.app.state.ombuds
    key = request.app.state.settings.marketplace_key
    if key and hmac.compare_digest(token.encode(), key.encode()):
        on_behalf = request.headers.get("on-behalf-of")
        if not on_behalf:
            return PLATFORM
        # R42: only ASCII digits that fit in 64 bits name a user ("²" is a digit to isdigit()).
        if (not on_behalf.isascii() or not on_behalf.isdigit() or len(on_behalf) > 19
                or int(on_behalf) > 2**63 - 1
                or (caller := await caller_for_user(ombuds, int(on_behalf))) is None):
            raise DomainError("unknown_user", "On-Behalf-Of names no user.", "on-behalf-of")
        return caller
    caller = await caller_for_token(ombuds, token)
    if caller is None:
        raise Unauthorized("unauthorized", "This token is not valid.", "authorization")
    return caller


async def app_state(request: Request) -> Ombuds:  # async: no thread-pool hop per request
    return request.app.state.ombuds
