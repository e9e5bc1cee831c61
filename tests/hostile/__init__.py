"""Hostile test servers, reusable by any test that needs a misbehaving target."""
