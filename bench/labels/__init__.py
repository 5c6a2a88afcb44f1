"""The trust corpus's ground truth, built independently of the scanner (``bench/trust_labels.py``)."""
