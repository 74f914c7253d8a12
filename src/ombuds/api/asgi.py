"""``uvicorn ombuds.api.asgi:app`` — the app built from the environment."""

from ombuds.api.app import create_app

app = create_app()
