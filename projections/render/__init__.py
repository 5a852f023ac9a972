"""Renderers: tables, JSON and CSV (`text`), the HTML page, SVG and PNG charts."""
