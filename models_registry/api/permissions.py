"""Who may call the admin API and the registry API."""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.db.models import Model
from rest_framework import permissions
from rest_framework.authentication import get_authorization_header
from rest_framework.exceptions import APIException, NotAuthenticated, PermissionDenied
from rest_framework.request import Request
from rest_framework.views import APIView


class PermissionHolder(Protocol):
    """A user, the anonymous user or the admin token's AdminTokenUser: whatever `request.user` is."""

    def has_perm(self, perm: str) -> bool: ...


class AdminApiDisabled(APIException):
    status_code = 503
    default_detail = (
        "The admin API is disabled: ADMIN_TOKEN is not set. Set ADMIN_TOKEN in the environment and "
        "call with 'Authorization: Bearer <token>'."
    )
    default_code = "admin_token_unset"


class AdminToken(permissions.BasePermission):
    """The old service's rule: a valid `Authorization: Bearer $ADMIN_TOKEN`.

    Missing or malformed header: 401. Wrong token: 403 (raised by AdminTokenAuthentication).
    ADMIN_TOKEN unset: 503, except in DEBUG, where the API is open for local work.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not settings.ADMIN_TOKEN:
            if settings.DEBUG:
                return True
            raise AdminApiDisabled()
        if request.auth != "admin-token":
            if len(get_authorization_header(request).split()) == 2:  # another scheme ("Token x"): the old 403
                raise PermissionDenied("Invalid admin token.")
            raise NotAuthenticated("Send 'Authorization: Bearer <ADMIN_TOKEN>'.")
        return True


class StaffOrAdminToken(permissions.BasePermission):
    """The registry API: a logged-in staff user (session) or the admin token.

    Writes that move a pointer also need the Django permission (promote / rollback), as in the admin.
    """

    message = "Staff only: log in to the admin, or send 'Authorization: Bearer <ADMIN_TOKEN>'."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


def can_view(user: PermissionHolder, model: type[Model]) -> bool:
    """The admin's rule for reading: the model's view permission, or its change permission."""
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or user.has_perm(
        f"{opts.app_label}.change_{opts.model_name}"
    )


class StaffWithViewPermission(StaffOrAdminToken):
    """The registry API: staff (or the admin token), and to read, the view permission of what is read
    (`view.read_models`), as the Django admin requires of the same user."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in permissions.SAFE_METHODS:
            for model in getattr(view, "read_models", ()):
                if not can_view(request.user, model):
                    opts = model._meta
                    raise PermissionDenied(f"You need the permission '{opts.app_label}.view_{opts.model_name}'.")
        return True


def require_perm(request: Request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(f"You need the permission {perm!r}.")
