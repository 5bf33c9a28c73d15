"""The citation loop: ask engines, import exports, match cited URLs to pages, report."""
