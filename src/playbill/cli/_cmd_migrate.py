"""``playbill migrate``: create or upgrade a PostgreSQL journal's schema.

A SQLite journal needs no migration (its file is created with the schema on
first use, and a file of another version is refused); the command only checks
it. For PostgreSQL it applies the migrations the database lacks, in one
transaction, and says from which version to which.
"""

from __future__ import annotations

import click

from playbill.runtime import SCHEMA_VERSION, is_journal_url, migrate_journal

from ._app import Settings, make_console, pass_settings, run_async, say
from ._load import make_journal_dir, opened_journal


@click.command()
@pass_settings
def migrate(settings: Settings) -> None:
    """Create or upgrade the journal's schema (for --journal postgresql://...).

    Safe to run again, and from several hosts at once: the migrations the
    database lacks are applied once, in one transaction. Journals refuse to
    open on an older schema until this has run; a schema newer than this
    playbill's is refused here too (upgrade playbill instead).
    """
    console = make_console()
    if not is_journal_url(settings.journal):
        run_async(_check_sqlite, settings)
        say(console, f"{settings.where}: a SQLite journal; its schema is current (nothing to do).")
        return
    done = migrate_journal(str(settings.journal))
    if done.changed:
        say(
            console,
            f"Migrated {done.journal} from schema version {done.from_version}"
            f" to {done.to_version}.",
        )
    else:
        say(console, f"{done.journal} is at schema version {SCHEMA_VERSION}; nothing to do.")


async def _check_sqlite(settings: Settings) -> None:
    await make_journal_dir(settings.journal)
    async with opened_journal(settings.journal, create=True):
        pass
