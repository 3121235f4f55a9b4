"""PCBA domain: demo boards as USD, the scan-grid render, ROI crops (usd2roi)."""
