"""Delivery on a schedule (``smartpark schedule``): the monthly report and weekly
summaries, sent by e-mail (SMTP with STARTTLS and login) and webhooks when they are due,
each recipient limited to its scope, exactly once per (schedule, period, recipient).

Modules, one idea each:

* :mod:`~analytics.delivery.config`: the schedules file (mail servers, channels,
  recipients and their scopes, schedules), validated at once
* :mod:`~analytics.delivery.due`: due times and periods, from an injected clock
* :mod:`~analytics.delivery.state`: the durable SQLite state file (cursors, deliveries)
* :mod:`~analytics.delivery.content`: what is sent (report files, the weekly table)
* :mod:`~analytics.delivery.mail`: e-mail messages and SMTP
* :mod:`~analytics.delivery.webhooks`: chat robots and signed webhooks (alerts' formats)
* :mod:`~analytics.delivery.outcome`: the answer to one attempt
* :mod:`~analytics.delivery.metrics`: Prometheus metrics
* :mod:`~analytics.delivery.service`: the process (once, follow, check)
* :mod:`~analytics.delivery.job`: each ``smartpark schedule`` command as one call

Not to be confused with :mod:`analytics.schedule`, the ``kpi --follow`` loop, nor with
:mod:`analytics.alerts.delivery`, the alerts' outbox. User documentation:
``docs/schedule.md``.
"""
