"""Composing and verifying answers: the pieces of the question pipeline after retrieval."""
