"""What an operator runs, never packaged into a Lambda function: ``python -m ops``.

- ``ops.cli``: the one command line (``stack``, ``reconcile``, ``policy``, ``app``, ``run``,
  ``stop``), one error style, one set of exit codes.
- ``ops.stack``: the stage's resources (execution role, table, topics, schedule group) as
  providers with read / diff / apply, planned and applied by ``Stack``.
- ``ops.policy``: each function's IAM policy and each stage's Chalice configuration,
  generated from one declaration.
- ``ops.app_stack``: the one deploy path for the app's functions, API and SNS subscription,
  the same against AWS and against an emulator: ``chalice package`` -> the deployment zip
  and the template uploaded to an artifacts bucket -> a CloudFormation stack (SAM
  transform) created or updated.
- ``ops.emulator``: the one emulator launcher (moto server, ministack), for ``make run``
  and the integration suite.
- ``ops.logs``: the functions' CloudWatch Logs, followed; a tap on the output topics.
- ``ops.run``: ``make run`` and ``make stop``.

Chalice copies ``chalicelib/`` into every function's deployment package; nothing here runs
in a function (it needs the Chalice CLI, starts processes, or changes the stage's
resources), so it lives outside it.
"""
