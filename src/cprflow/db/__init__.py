"""Persistence: the database and its migrations, the tables, the instance store and the event chain."""
