"""Alert rules on readings and KPIs, evaluated over all meters at once, delivered by
signed webhooks (generic, DingTalk, WeCom, Feishu, Slack) from a durable outbox.

Modules, one idea each:

* :mod:`~analytics.alerts.rules`: the rules file (channels and rules), validated at once
* :mod:`~analytics.alerts.conditions`: rule conditions as segments, vectorized (numpy)
* :mod:`~analytics.alerts.reads`: range reads shared by the rules of one run
* :mod:`~analytics.alerts.evaluate`: the pending → firing → resolved state machine
* :mod:`~analytics.alerts.state`: the durable SQLite state file and outbox
* :mod:`~analytics.alerts.channels`: message formats per channel kind
* :mod:`~analytics.alerts.delivery`: sending, retries with backoff, dead letters
* :mod:`~analytics.alerts.signing`: HMAC signatures (ours, DingTalk's, Feishu's)
* :mod:`~analytics.alerts.service`: the alerts process (once, follow, dry run)
* :mod:`~analytics.alerts.job`: each ``smartpark alerts`` command as one call

User documentation: ``docs/alerts.md``.
"""
