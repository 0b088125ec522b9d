"""The decision per event: push, build finished, reconcile, deployment event, sweep.

Controllers decide; every effect goes through the ports in `ports.Ports`, so the
same code runs on AWS (adapters in `ecs_gitops.aws`), on the embedded cloud and in
tests. Each returns an `Outcome` the handler logs and returns.
"""
