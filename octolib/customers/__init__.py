"""Customers and energy projects (issue 15): where they come from, how octopus links them.

- :mod:`~octolib.customers.mapping`: the mapping file (id column, email column, segment fields
  and their kinds), validated before anything is read.
- :mod:`~octolib.customers.source`: which collections hold customers and projects (octopus's
  own, or the owner's existing ones, read-only) and the stored mapping.
- :mod:`~octolib.customers.importer`: ``octo customers import`` / ``octo projects import``:
  every row checked first, then one upsert by id; a file with a bad row writes nothing.
- :mod:`~octolib.customers.link`: contacts to customers (``contacts.customer_id``).
- :mod:`~octolib.customers.projects`: campaigns to projects (``campaigns.project_id``).
- :mod:`~octolib.customers.segments_data`: the per-contact arrays the segment metrics read.
"""
