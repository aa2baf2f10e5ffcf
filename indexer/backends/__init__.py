"""Store backends: Qdrant Edge in-process (:mod:`.edge`) and qdrant-client against a server (:mod:`.server`).

Each converts Newsdesk's types (:mod:`indexer.collection`) to its engine's models in its own converters module;
nothing else imports an engine's models.
"""
