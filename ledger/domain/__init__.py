"""The domain: the frozen `Event`, the timeline fold, money, dates, errors as values.

Pure: no SQL, no I/O, no command-line words."""
