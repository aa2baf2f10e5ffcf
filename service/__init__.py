"""Newsdesk query service."""
