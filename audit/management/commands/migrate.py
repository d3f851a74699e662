"""`manage.py migrate`, run as the owner role when DATABASE_OWNER_URL is set (audit/dbroles.py).

The application role (DATABASE_URL) can create and alter nothing, so migrations connect as the
owner: the default connection is pointed at the owner's credentials (same database), so data
migrations that use the default connection run as the owner too, inside the same transaction.
After migrating, the application role's grants are applied again (new tables are covered by
the default privileges; a new append-only table gets its revoke here).
"""

from __future__ import annotations

import dj_database_url
from django.conf import settings
from django.core.management.commands import migrate
from django.db import connections

from audit.dbroles import grants_apply

CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


class Command(migrate.Command):
    def handle(self, *args, **options):
        owner_url = getattr(settings, "DATABASE_OWNER_URL", "")
        connection = connections[options["database"]]
        if not owner_url or connection.vendor != "postgresql":
            return super().handle(*args, **options)
        owner = dj_database_url.parse(owner_url)
        app_settings = {key: connection.settings_dict[key] for key in CREDENTIALS}
        app_user = app_settings["USER"]
        connection.close()
        # Same database (the test suite's is another name), the owner's credentials.
        connection.settings_dict.update({key: owner[key] for key in CREDENTIALS})
        try:
            super().handle(*args, **options)
            if app_user and app_user != owner["USER"]:
                with connection.cursor() as cursor:
                    grants_apply(
                        cursor,
                        database=connection.settings_dict["NAME"],
                        owner=owner["USER"],
                        app=app_user,
                        say=lambda line: self.stdout.write(line) if options["verbosity"] else None,
                    )
        finally:
            connection.close()
            connection.settings_dict.update(app_settings)
