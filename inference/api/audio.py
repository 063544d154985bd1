"""Routes of the audio endpoints."""

urlpatterns: list = []
