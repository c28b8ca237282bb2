"""Operations: what keeps octopus running for months without attention (issue #6).

Modules, one concept each:

- :mod:`~octolib.ops.backup`: ``backup()`` writes one archive of every collection (BSON,
  with a manifest of counts and checksums); ``restore()`` checks the whole archive before
  it writes anything and refuses a damaged one.
- :mod:`~octolib.ops.export`: campaigns, contacts, events or snapshots as CSV or JSON
  Lines, filtered by date and list.
- :mod:`~octolib.ops.retention`: thins old metric snapshots to the last one per day.
- :mod:`~octolib.ops.doctor`: health checks (API key, store, indexes, last sync, disk).
- :mod:`~octolib.ops.delivery`: emails a finished report PDF to the partner's recipients and
  records who got which version when.
- :mod:`~octolib.ops.scheduler`: the long-running ``octo scheduler`` (hourly sync, scheduled
  report batches, nightly retention).

Library functions take a store, settings or plain values; only the ``octo`` commands in
:mod:`octolib.commands.ops` build settings.
"""
