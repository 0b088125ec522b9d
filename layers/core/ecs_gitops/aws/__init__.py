"""The only package that imports boto3: one adapter per AWS service.

Adapters take clients built once per container (`clients.Clients`), turn raw
responses into the typed snapshots of `ecs_gitops.actual`, and turn botocore's
`ClientError` into `ecs_gitops.errors.AwsError`.
"""
