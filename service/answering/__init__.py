"""Question handling between the HTTP layer and retrieval: follow-up rewriting (more to come)."""
