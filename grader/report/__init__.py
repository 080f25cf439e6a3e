"""Reporters: terminal table and the JSON report (other formats live beside them)."""
