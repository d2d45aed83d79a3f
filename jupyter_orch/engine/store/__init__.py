"""Storage of the engine's state: SQLAlchemy tables, Alembic migrations, the thread pool
that keeps database calls off the event loop."""
