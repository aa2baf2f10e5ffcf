"""Thin HTTP controllers: each translates a request into one call of the plain-Python services
(``service.context``) and the result into a response model. Dependencies are injected by name."""
