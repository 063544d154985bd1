#!/usr/bin/env python
"""Django's command-line utility for Atlas."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")
    # The command line is a developer's tool: development defaults unless ATLAS_ENV says otherwise.
    # The web server (atlas/wsgi.py under gunicorn) defaults to production.
    os.environ.setdefault("ATLAS_ENV", "development")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
