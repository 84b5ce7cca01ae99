"""``playbill migrate``: create or upgrade a journal's schema.

For PostgreSQL it applies the migrations the database lacks, in one
transaction, and says from which version to which. A SQLite file of an older
schema is upgraded in place, in one transaction (its entries re-encoded and
verified); a current one is left alone, and a missing one is created.
"""

from __future__ import annotations

import click

from playbill.runtime import SCHEMA_VERSION, is_journal_url, migrate_journal

from ._app import Settings, make_console, pass_settings, run_async, say
from ._load import make_journal_dir


@click.command()
@pass_settings
def migrate(settings: Settings) -> None:
    """Create or upgrade the journal's schema (a SQLite file or postgresql://...).

    Safe to run again, and from several hosts at once: the migrations the
    journal lacks are applied once, in one transaction. Journals refuse to
    open on an older schema until this has run; a schema newer than this
    playbill's is refused here too (upgrade playbill instead).
    """
    console = make_console()
    if str(settings.journal) == ":memory:":
        say(console, ":memory:: a journal in memory has no schema to migrate (nothing to do).")
        return
    if not is_journal_url(settings.journal):
        run_async(make_journal_dir, settings.journal)
        done = migrate_journal(settings.journal)
        if done.changed:
            say(
                console,
                f"Migrated {settings.where} from schema version {done.from_version}"
                f" to {done.to_version}.",
            )
        else:
            say(
                console,
                f"{settings.where}: a SQLite journal; its schema is current (nothing to do).",
            )
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
