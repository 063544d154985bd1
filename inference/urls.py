"""Prediction endpoints, at the paths the two replaced services used."""

from inference.api import audio, digits, media, service, threat, vision

urlpatterns = [
    *digits.urlpatterns,
    *vision.urlpatterns,
    *audio.urlpatterns,
    *threat.urlpatterns,
    *media.urlpatterns,
    *service.urlpatterns,
]
