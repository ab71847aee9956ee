"""Event detection algorithms, free of Django: features, online clustering, trend scoring,
naming, categories, lifecycle and evaluation metrics. trends/pipeline.py wires them to the database.
"""
