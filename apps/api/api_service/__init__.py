"""The backend service: users from MySQL as JSON (see README.md)."""
