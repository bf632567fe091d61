"""Webhooks: delivering the outbox's events to the app's endpoints.

    signing.py    secrets (`whsec_...`) and Standard Webhooks signatures
    schedule.py   when the next attempt is due: exponential backoff, full jitter, 3 days
    sender.py     one attempt: sign, POST through the outbound guard, record what happened
    worker.py     the loop every instance runs: fan the outbox out, claim, send, settle

The management use cases (register, rotate, resend, read attempts) live in
`broker.management.webhooks`; the outbox is written by `AuditRepo.record` in the change's
own transaction; which kinds are deliverable is `broker.model.webhook_catalogue`.
"""
