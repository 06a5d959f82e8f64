"""The official approval form rendered from its Word template (docxtpl, then LibreOffice)."""
