"""``uvicorn ombuds.asgi:app`` — the app built from the environment (``ombuds serve`` runs it)."""

from ombuds.bootstrap import create_app

app = create_app()
