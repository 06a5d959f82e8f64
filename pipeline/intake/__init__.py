"""From a clerk's Excel sheet to a validated request, or to a rejection the clerk can act on."""
