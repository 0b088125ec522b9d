"""The frontend: a server-rendered page listing the users from the api (see README.md)."""
