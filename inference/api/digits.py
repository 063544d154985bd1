"""Routes of the digits endpoints."""

urlpatterns: list = []
