"""Dead letters of the engine's two queues, for `sla-engine dlq` (cli/dlq.py): read, shown redacted, redriven.

The operations work on any boto3 session: the moto stack `local_target.open_local` builds, or a deployed stack
(cli/dlq.py finds its queues). Never packaged into a Lambda artifact.

Two queues, three message shapes (letters.py):
- IngestDeadLetterQueue: ticket events (the EventBridge event as the queue held it) that failed ingest 5 times,
  or that EventBridge could not hand to the queue (with its ERROR_CODE attributes). Redriven to the ingest
  queue (ingest_redrive.py): SQS StartMessageMoveTask where available, else received (and kept hidden
  meanwhile), sent ten at a time, each message deleted only once its copy is accepted (a copy sent twice is
  harmless: the ingest records each event id once).
- NotifierDeadLetterQueue: (1) permanent delivery failures the notifier parks (effect, channel, reason): a
  retry cannot help, so redrive leaves them for the operator; (2) the event source mapping's OnFailure
  records: a pointer to a stream batch that failed its retries (shard, sequence numbers), never the records
  themselves. Redrive (notifier_redrive.py) reads the named records again (GetShardIterator
  AT_SEQUENCE_NUMBER) while the stream keeps them (24 h) and invokes the notifier with them. Past that, the
  records are gone, but not the effects: they are the batch's OUTBOX items, still in the table without
  `delivered_at`, delivered by the ticket's next record (infra/notify/outbox.py).

Locally (local_target.py) the stack is the moto one built from template.yaml, and a file of events can be run
through it first the way the deployed event sources would (stream_engine.py): each event through the ingest
queue (its RedrivePolicy moves what fails 5 times to the DLQ), and the notifier fed from the table's stream by
a model of the template's event source mapping (stream_poller.py: its filter, batch size and retries, then the
OnFailure record to the notifier DLQ). With `outage`, the HTTP channels (PagerDuty, webhooks) answer that
status throughout the run, so deliveries fail the way they would in an outage and the dead letters are the
real ones.
"""
