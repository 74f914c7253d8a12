"""``ombuds``: serve, worker, demo, migrate, clock advance, policy check."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ombuds.settings import Settings, load_policy_file

app = typer.Typer(help="Ombuds: buyer protection and dispute resolution.", no_args_is_help=True)
clock_app = typer.Typer(help="The manual clock (demo and tests).", no_args_is_help=True)
policy_app = typer.Typer(help="The operator's policy.", no_args_is_help=True)
ledger_app = typer.Typer(help="The money ledger.", no_args_is_help=True)
app.add_typer(clock_app, name="clock")
app.add_typer(policy_app, name="policy")
app.add_typer(ledger_app, name="ledger")
sweeps_app = typer.Typer(help="Rows the sweeper set aside because they failed.", no_args_is_help=True)
app.add_typer(sweeps_app, name="sweeps")
console = Console()


def _prepare_sqlite_dir(url: str) -> None:
    from sqlalchemy.engine import make_url
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from ombuds.store.migrate import upgrade
    settings = Settings()
    _prepare_sqlite_dir(settings.database_url)
    upgrade(settings.database_url)
    console.print("[green]Database is up to date.[/green]")


@app.command()
def serve(host: str = "127.0.0.1", port: int = typer.Option(8000, envvar="PORT"),
          workers: int = 1) -> None:
    """Serve the HTTP API (and, by default, sweep deadlines in-process)."""
    import uvicorn
    settings = Settings()
    _prepare_sqlite_dir(settings.database_url)
    if not settings.marketplace_key:
        console.print("[yellow]OMBUDS_MARKETPLACE_KEY is not set: only user tokens will work.[/yellow]")
    uvicorn.run("ombuds.asgi:app", host=host, port=port, workers=workers, log_level="warning",
                access_log=False)


@app.command()
def worker(interval: float = typer.Option(None, help="seconds between looks when idle and not woken "
                                                     "(SQLite); default OMBUDS_SWEEP_INTERVAL_SECONDS"),
           safety_interval: float = typer.Option(None, help="PostgreSQL: the longest an idle worker sleeps "
                                                            "between wake-ups; default OMBUDS_WAKEUP_SAFETY_SECONDS"),
           metrics_port: int = typer.Option(0, envvar="OMBUDS_WORKER_METRICS_PORT",
                                            help="serve GET /metrics on this port (0: none)"),
           metrics_host: str = typer.Option("127.0.0.1", envvar="OMBUDS_WORKER_METRICS_HOST"),
           ) -> None:
    """Apply due deadlines and dispatch the outbox forever; run as many as you like on PostgreSQL."""
    from ombuds.adapters import metrics
    from ombuds.bootstrap import build_ombuds
    from ombuds.worker import for_worker, run_forever
    settings = Settings()
    loops = for_worker(settings, interval=interval, safety_interval=safety_interval)
    if metrics_port:  # the worker's counters for Prometheus, behind OMBUDS_METRICS_TOKEN when set
        metrics.serve_in_thread(metrics_host, metrics_port, settings.metrics_token)
        console.print(f"Metrics at http://{metrics_host}:{metrics_port}/metrics")

    async def work() -> None:
        ombuds = build_ombuds(settings)
        task = asyncio.current_task()
        assert task is not None  # asyncio.run runs this coroutine as a task
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)  # stop cleanly
        try:
            await run_forever(ombuds, loops)
        except asyncio.CancelledError:
            pass
        finally:
            await ombuds.engine.dispose()
    console.print("Worker running; Ctrl-C to stop.")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(work())


DEMO_TRACKING_SECRET = "whsec_ZGVtby10cmFja2luZy1zZWNyZXQtb2Ytb21idWRz"


@app.command()
def demo(port: int = typer.Option(8000, envvar="PORT"), host: str = "127.0.0.1",
         database: Path = Path("var/demo.db"), fresh: bool = True) -> None:
    """Seed a small marketplace on SQLite with a manual clock and serve it."""
    from ombuds.demo import seed
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.parent.mkdir(parents=True, exist_ok=True)
    url = demo_environment(database, host, port)
    settings = Settings()
    from ombuds.store.migrate import upgrade
    upgrade(settings.database_url)
    people = asyncio.run(seed(settings))
    table = Table(title="Demo users (API tokens)")
    for column in ("who", "role", "id", "token"):
        table.add_column(column)
    table.add_row("the marketplace", "platform", "-", settings.marketplace_key)
    for who in people:
        table.add_row(who["name"], who["role"], str(who["id"]), who["token"])
    console.print(table)
    console.print(f"Carrier webhooks (R40): POST {url}/api/v1/tracking/events signed per Standard Webhooks "
                  f"with {settings.tracking_webhook_secret} (docs/tracking.md)")
    console.print(f"\nOmbuds demo is running at [bold]{url}[/bold]  (API docs: {url}/docs)")
    console.print(f"Try:  curl -H 'Authorization: Bearer {people[0]['token']}' {url}/api/v1/orders")
    console.print(f"Move time:  OMBUDS_CLOCK=manual OMBUDS_DATABASE_URL=sqlite:///{database} "
                  ".venv/bin/ombuds clock advance 5d")
    console.print(f"       or:  curl -X POST -H 'Authorization: Bearer {settings.marketplace_key}' "
                  f"-H 'Content-Type: application/json' -d '{{\"duration\": \"5d\"}}' {url}/api/v1/clock/advance\n")
    import uvicorn
    uvicorn.run("ombuds.asgi:app", host=host, port=port, log_level="warning", access_log=False)


def demo_environment(database: Path, host: str, port: int) -> str:
    """The demo's settings: its own SQLite file, the manual clock, and e-mail links to the port
    it serves on (unless OMBUDS_PUBLIC_URL says otherwise). Returns that URL."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{reachable}:{port}"
    os.environ.update(OMBUDS_DATABASE_URL=f"sqlite:///{database}", OMBUDS_CLOCK="manual",
                      OMBUDS_MARKETPLACE_KEY=os.environ.get("OMBUDS_MARKETPLACE_KEY", "demo-marketplace-key"))
    os.environ.setdefault("OMBUDS_PUBLIC_URL", url)
    os.environ.setdefault("OMBUDS_TRACKING_WEBHOOK_SECRET", DEMO_TRACKING_SECRET)  # R40, printed by demo
    return url


@clock_app.command("advance")
def clock_advance(duration: str = typer.Argument(..., help="e.g. 5d, 12h, 1d12h")) -> None:
    """Move the manual clock forward, running every deadline that falls due, in order."""
    from ombuds.bootstrap import build_ombuds
    from ombuds.domain.errors import DomainError
    from ombuds.services.clock import advance, parse_duration
    settings = Settings()
    if settings.clock != "manual":
        console.print("[red]The clock is not manual (set OMBUDS_CLOCK=manual).[/red]")
        raise typer.Exit(2)

    async def run():
        ombuds = build_ombuds(settings)
        try:
            with console.status(f"Advancing {duration} and running due deadlines…"):
                return await advance(ombuds, parse_duration(duration))
        finally:
            await ombuds.engine.dispose()
    try:
        now, fired = asyncio.run(run())
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    console.print(f"Clock is now {now:%Y-%m-%d %H:%M} UTC; {fired} deadline(s) applied.")


@policy_app.command("check")
def policy_check(file: Path) -> None:
    """Validate a policy TOML file and explain each problem."""
    import tomllib

    from ombuds.domain.policy import InvalidPolicy
    try:
        policy = load_policy_file(file)
    except FileNotFoundError:
        console.print(f"[red]No such file: {file}[/red]")
        raise typer.Exit(2) from None
    except tomllib.TOMLDecodeError as exc:
        console.print(f"[red]{file} is not valid TOML: {exc}[/red]")
        raise typer.Exit(1) from None
    except InvalidPolicy as exc:
        console.print(f"[red]{file} has {len(exc.problems)} problem(s):[/red]")
        for p in exc.problems:
            console.print(f"  • [bold]{p.where}[/bold]: {p.problem}")
        raise typer.Exit(1) from None
    defaults = type(policy)().model_dump()
    changed = [k for k, v in policy.model_dump().items() if v != defaults[k]]
    console.print(f"[green]{file} is a valid policy.[/green] "
                  f"{len(changed)} setting(s) differ from the defaults: {', '.join(changed) or 'none'}.")


@ledger_app.command("check")
def ledger_check() -> None:
    """Recompute every money invariant over the database; exit 1 naming each entry at fault."""
    from ombuds.bootstrap import build_ombuds
    from ombuds.services.ledger_check import check_ledger

    async def run():
        ombuds = build_ombuds(Settings())
        try:
            return await check_ledger(ombuds)
        finally:
            await ombuds.engine.dispose()
    with console.status("Checking the ledger…"):
        problems = asyncio.run(run())
    if problems:
        console.print(f"[red]The ledger has {len(problems)} problem(s):[/red]")
        for problem in problems:
            console.print(f"  • {problem}")
        raise typer.Exit(1)
    console.print("[green]The ledger is consistent: every entry balances, no escrow went negative, "
                  "no line was refunded beyond its price, every line settled once.[/green]")


async def _with_connection(work):
    from ombuds.store.db import make_engine
    engine = make_engine(Settings().database_url)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()


@sweeps_app.command("set-aside")
def sweeps_set_aside() -> None:
    """List the due rows the sweeper set aside, with their errors; exit 1 if there are any."""
    from ombuds.store.sweep_store import list_set_aside
    rows = asyncio.run(_with_connection(list_set_aside))
    if not rows:
        console.print("[green]No row is set aside: every due timer is being applied.[/green]")
        return
    table = Table("kind", "row", "set aside at", "error")
    for r in rows:
        table.add_row(r["kind"], str(r["row_id"]), r["set_aside_at"], r["error"])
    console.print(table)
    raise typer.Exit(1)


@sweeps_app.command("release")
def sweeps_release(kind: str = typer.Argument(..., help="order, dispute, refund_submit, refund_settle, complaint"),
                   row_id: int = typer.Argument(..., help="the row's id")) -> None:
    """Release a set-aside row once its cause is fixed: the next sweep claims it again."""
    from ombuds.store.sweep_store import release

    async def work(conn):
        return await release(conn, kind, row_id)
    if not asyncio.run(_with_connection(work)):
        console.print(f"[red]No {kind} {row_id} is set aside.[/red]")
        raise typer.Exit(2)
    console.print(f"Released {kind} {row_id}: the next sweep applies its timers again.")
