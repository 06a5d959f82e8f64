"""The external programs (LibreOffice, poppler), each behind one module."""
