"""The Vertex AI resources the emulator holds, behind its HTTP layer: `state` puts them
together on one SQLite `store`. They take typed arguments, answer resource JSON and raise the
project's typed errors; they know nothing of HTTP."""
