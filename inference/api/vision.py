"""Routes of the vision endpoints."""

urlpatterns: list = []
