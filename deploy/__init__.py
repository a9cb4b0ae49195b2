"""Deploy tooling: the app onto AWS or a local emulator, and ``make run``.

- ``deploy.app_stack``: the one deploy path for the app's functions, API and SNS
  subscription, the same against AWS and against an emulator: ``chalice package`` ->
  the deployment zip and the template uploaded to an artifacts bucket -> a CloudFormation
  stack (SAM transform) created or updated. ``make deploy`` / ``make destroy`` use it after
  and before ``python -m chalicelib.cli stack deploy|destroy``.
- ``deploy.emulator``: ministack as a child process on 127.0.0.1, with a pid file.
- ``deploy.logs``: the functions' CloudWatch Logs, followed; a tap on the output topics.
- ``deploy.run``: ``make run`` and ``make stop``.

This package is not under ``chalicelib`` on purpose: Chalice copies ``chalicelib`` into
every function's deployment package, and nothing here runs in a function (it needs the
Chalice CLI and starts processes).
"""
