"""Prediction endpoints, at the paths the two replaced services used."""

from inference.api import audio, digits, feedback, hippo, media, sait, service, threat, v2, vision

urlpatterns = [
    *digits.urlpatterns,
    *hippo.urlpatterns,
    *vision.urlpatterns,
    *audio.urlpatterns,
    *threat.urlpatterns,
    *media.urlpatterns,
    *sait.urlpatterns,
    *feedback.urlpatterns,
    *service.urlpatterns,
    *v2.urlpatterns,
]
