"""The embedded cloud: everything ecs-gitops needs, in one process, with no account.

moto plays the AWS APIs (in-process, or as a server on 127.0.0.1 for `local up`);
`moto_patches` fills the few gaps in moto's ECS that matter to a reconciler.
This package is for laptops and tests; the Lambda functions never import it.
"""
