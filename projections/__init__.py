"""Figures from event streams: point-in-time reports, movements, retention, bookings, series."""
