"""The registry's REST API and the admin API kept from the threat-intelligence service."""

urlpatterns: list = []
