"""Notices: e-mail, webhook and LINE, queued in the journal with the state change behind them
and sent by the watcher (or ``pipeline notify --send``): ``events`` (the notice, its kinds,
its rows), ``build`` (the words of each), ``queue`` (enqueue, status), ``checks`` (digests,
reminders, the admin's), ``mail``, ``webhook``, ``line``, ``sender`` (retries, back-off)."""
