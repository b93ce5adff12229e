"""The read side (SPEC section 8): the query service over the store, and the HTTP API in front of it."""
