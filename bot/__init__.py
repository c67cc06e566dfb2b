"""The composition root: settings, the FastAPI app, the CLI, migrations and the demo."""

import warnings

# Authlib warns at import that its httpx integration is moving to a new package; the OIDC sign-in
# (integrations/webauth/oidc.py) works as documented, and the warning on every start tells an operator
# nothing they can act on.
warnings.filterwarnings("ignore", message="The httpx module is deprecated")
