"""The default channel templates, installed as package data (citecast.templates).

A site's own templates/ folder overrides them file by file; see README.md here.
"""
