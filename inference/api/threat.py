"""Routes of the threat endpoints."""

urlpatterns: list = []
