"""Intake: input files as located rows, the field rules, and admission of a batch
against the store."""
