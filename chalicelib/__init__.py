"""Everything the Lambda zip ships besides app.py."""
