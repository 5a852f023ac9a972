"""The application: the `Ledger` facade, what a query knows (`knowledge`), the sample ledger."""
