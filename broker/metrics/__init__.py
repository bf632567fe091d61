"""What an operator's Prometheus scrapes at `/metrics` (README, "Metrics").

    recording.py   the metrics, and one small function that records each outcome; imported
                   by the places where outcomes are decided (the login's refusals and
                   successes, the outbound guard, the bulkheads, the rate limits, the purge)
    exposition.py  what a scrape answers: this process's metrics with its database pool read
                   at scrape time, or, under `gatehouse serve --workers N`, every worker's
    listener.py    the separate metrics listener (`GATEHOUSE_METRICS_LISTEN`)
    workers.py     the directory the workers of one `gatehouse serve` share their metrics in

Nothing here imports a layer of the broker but `broker.model`, so every layer may record
(the import-linter contract "metrics know nothing of the layers that record them").
"""
