"""``zhuoyue db``: the database schema (Alembic migrations) — upgrade, current, downgrade."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from zhuoyue.cli._common import JsonOpt, err_console, handle_errors, out_console, print_json
from zhuoyue.errors import InputFileError, ParameterError

__all__ = ["DbOpt", "database_errors", "db_app", "require_schema", "shown_url"]

db_app = typer.Typer(
    name="db",
    help="The database: create or migrate its schema (SQLite by default, PostgreSQL by URL).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL, e.g. sqlite:///plant.db or postgresql://user@host/zhuoyue "
        "(default: $ZHUOYUE_DATABASE_URL, else the embedded SQLite file).",
    ),
]


def shown_url(url: str) -> str:
    """The URL with its password masked, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as given (it has no password to hide)
        return url


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """SQLAlchemy's connection and URL errors as zhuoyue errors with their exit codes.

    A URL that cannot be parsed or names an unknown driver is a usage error (2); a database that
    cannot be opened or reached is an input that cannot be read (3).
    """
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    try:
        yield
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ParameterError(
            f"--db: {shown_url(url)} is not a database URL zhuoyue can use ({exc}). Use "
            "sqlite:///PATH or postgresql://USER@HOST/DATABASE."
        ) from None
    except OperationalError as exc:
        first = str(exc.orig or exc).strip().splitlines()[0]
        raise InputFileError(f"cannot open the database {shown_url(url)}: {first}") from None


def _sqlite_missing(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist yet (``None`` otherwise)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    if u.database.startswith("file:"):
        return None
    path = Path(u.database).expanduser()
    return None if path.exists() else path


def require_schema(url: str) -> None:
    """Fail with a clear message unless the database is migrated to this version's schema."""
    from zhuoyue.store import migrate

    missing = _sqlite_missing(url)
    if missing is not None:
        raise InputFileError(
            f"there is no database at {missing}. Create it with: zhuoyue db upgrade --db {url}"
        )
    with database_errors(url):
        rev = migrate.current(url)
    head = migrate.head()
    if rev is None:
        raise InputFileError(
            f"the database {shown_url(url)} has no zhuoyue tables. Create them with: "
            f"zhuoyue db upgrade --db {shown_url(url)}"
        )
    if rev != head:
        raise InputFileError(
            f"the database {shown_url(url)} is at schema revision {rev}; this version of zhuoyue "
            f"needs {head}. Run: zhuoyue db upgrade --db {shown_url(url)}"
        )


@db_app.command("upgrade")
@handle_errors()
def upgrade(
    db: DbOpt = None,
    revision: Annotated[
        str, typer.Option("--revision", help="Target revision (default: head, the newest).")
    ] = "head",
    json_out: JsonOpt = False,
) -> None:
    """Create the tables, or migrate the database to the newest schema.

    Exit codes: 0 ok; 1 internal error; 2 bad --db URL; 3 the database cannot be opened.
    """
    from zhuoyue.store import database_url, migrate

    url = database_url(db)
    with database_errors(url):
        before = migrate.current(url)
        migrate.upgrade(url, revision)
        after = migrate.current(url)
    if json_out:
        print_json({"database": shown_url(url), "from": before, "to": after})
    elif before == after:
        err_console.print(f"{shown_url(url)}: already at revision {after}", markup=False)
    else:
        err_console.print(
            f"{shown_url(url)}: migrated from {before or 'an empty database'} to {after}",
            markup=False,
        )


@db_app.command("current")
@handle_errors()
def current(db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Show the database's schema revision and whether it is the newest.

    Exit codes: 0 ok; 1 internal error; 2 bad --db URL; 3 the database cannot be opened.
    """
    from zhuoyue.store import database_url, migrate

    url = database_url(db)
    missing = _sqlite_missing(url)
    if missing is not None:
        raise InputFileError(f"there is no database at {missing}.")
    with database_errors(url):
        rev = migrate.current(url)
    head = migrate.head()
    if json_out:
        print_json(
            {"database": shown_url(url), "revision": rev, "head": head, "up_to_date": rev == head}
        )
        return
    state = "up to date" if rev == head else f"behind: run zhuoyue db upgrade (head {head})"
    out_console.print(f"{shown_url(url)}: revision {rev or '(none)'}, {state}", markup=False)


@db_app.command("downgrade")
@handle_errors()
def downgrade(
    revision: Annotated[
        str,
        typer.Option("--revision", help='Target revision; "base" drops every zhuoyue table.'),
    ],
    db: DbOpt = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (data may be lost).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Migrate the database down to an older schema revision (may drop tables and data).

    Asks for confirmation on a terminal; elsewhere --yes is required.

    Exit codes: 0 ok; 1 internal error or not confirmed; 2 bad --db URL or no --yes off a
    terminal; 3 the database cannot be opened.
    """
    from zhuoyue.store import database_url, migrate

    url = database_url(db)
    if not yes:
        if not sys.stdin.isatty():
            raise ParameterError(
                f"downgrade to {revision} may drop tables and data of {shown_url(url)}: pass "
                "--yes to confirm."
            )
        typer.confirm(
            f"Downgrade {shown_url(url)} to {revision}? Tables and data may be dropped.",
            abort=True,
            err=True,
        )
    with database_errors(url):
        before = migrate.current(url)
        migrate.downgrade(url, revision)
        after = migrate.current(url)
    if json_out:
        print_json({"database": shown_url(url), "from": before, "to": after})
    else:
        err_console.print(
            f"{shown_url(url)}: downgraded from {before} to {after or 'base (no tables)'}",
            markup=False,
        )


@db_app.command("bootstrap")
@handle_errors()
def bootstrap(
    org: Annotated[str, typer.Option("--org", help="Code of the organization, e.g. acme-auto.")],
    name: Annotated[str, typer.Option("--name", help="Name of the organization (企业名称).")],
    username: Annotated[
        str, typer.Option("--username", help="The organization's first admin.")
    ] = "admin",
    credit_code: Annotated[
        str | None, typer.Option("--credit-code", help="统一社会信用代码 (18 characters).")
    ] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an organization and its first admin on a migrated database.

    The password is read from stdin (first line) or the environment variable
    ZHUOYUE_BOOTSTRAP_PASSWORD, never from the command line. An existing user keeps their
    password and becomes admin of the new organization.

    Exit codes: 0 ok; 2 bad option or empty password; 3 the database cannot be opened or is
    not migrated; 4 organization code taken or invalid values (credit code check digit ...).
    """
    import os

    from zhuoyue.services.accounts import bootstrap as make_org
    from zhuoyue.store import database_url, make_engine, transaction

    password = os.environ.get("ZHUOYUE_BOOTSTRAP_PASSWORD") or sys.stdin.readline().rstrip("\n")
    if not password:
        raise ParameterError(
            "No password: give it on stdin (echo … | zhuoyue db bootstrap …) or in "
            "ZHUOYUE_BOOTSTRAP_PASSWORD."
        )
    url = database_url(db)
    require_schema(url)
    engine = make_engine(url)
    try:
        with database_errors(url), transaction(engine) as session:
            organization, user = make_org(
                session,
                org_code=org,
                org_name=name,
                username=username,
                password=password,
                credit_code=credit_code,
            )
            out = {
                "org": {"id": organization.id, "code": organization.code},
                "user": {"id": user.id, "username": user.username},
            }
    finally:
        engine.dispose()
    if json_out:
        print_json(out)
    else:
        err_console.print(
            f"organization {org} created with admin {username} on {shown_url(url)}", markup=False
        )
