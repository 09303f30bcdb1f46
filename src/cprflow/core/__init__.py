"""The core: sandboxed diagram expressions, forms, the access policy, the operators' registry, views
and errors. It imports neither Flask nor SQLAlchemy, and nothing of cprflow outside itself."""
