"""The figures: pure functions of a `Book` (report, contract value, movements, retention,
series, restatement) and the keys of their JSON forms."""
