"""Bearer-token authentication for the admin API (ADMIN_TOKEN), compared in constant time."""

from __future__ import annotations

import hmac

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request


class AdminTokenUser:
    """The identity behind a valid ADMIN_TOKEN: staff-like for the registry's API, with no database row."""

    is_authenticated = True
    is_active = True
    is_staff = True
    is_superuser = False
    is_anonymous = False
    username = "admin-api"
    pk = None

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return True


def token_matches(candidate: str) -> bool:
    expected = settings.ADMIN_TOKEN
    return bool(expected) and hmac.compare_digest(candidate.encode(), expected.encode())


class AdminTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <ADMIN_TOKEN>`. No header: not this scheme (other authenticators may
    answer). A Bearer header with the wrong token: 403. A malformed Bearer header: 401."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AdminTokenUser, str] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header; use 'Bearer <token>'.")
        if not settings.ADMIN_TOKEN:
            return None
        try:
            token = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token must be ASCII text.") from None
        if not token_matches(token):
            raise exceptions.PermissionDenied("Invalid admin token.")
        return (AdminTokenUser(), "admin-token")

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
